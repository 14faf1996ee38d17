"""Home Assistant MQTT discovery, as pure functions returning ``(topic, payload, retain)``.

Two forms (``mqtt.discovery_mode``). *Entity*: one config message per entity on
``<prefix>/<component>/<device_id>/<key>/config``. *Device* (Home Assistant 2024.11 and later): one
message on ``<prefix>/device/<device_id>/config`` whose ``components`` map holds every entity under the
same ``<key>``, so Home Assistant's discovery id (``<device_id> <key>``) is the same in both forms and a
switch replaces entities rather than adding a second set. All retained; an empty retained payload
removes what its topic announced. Every entity carries a name, a ``unique_id`` and
``object_id`` built from the device id, the newer ``default_entity_id`` next to ``object_id`` (HA
2025.10 deprecates ``object_id``; older HA ignores the unknown key, so both work from 2024.x on), the
``origin``, one shared ``device`` block and the availability topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, NamedTuple

from soulsyncd import __version__
from soulsyncd.core.commands import LOG_LEVELS, MODES
from soulsyncd.mood import targets
from soulsyncd.mqtt import events as ev
from soulsyncd.mqtt import state as st
from soulsyncd.mqtt.commands import DEVICE_NAME_MAX, PRESS
from soulsyncd.mqtt.settings import MqttConfig
from soulsyncd.types import CameraStatus, PlayerStatus

MODEL = "soulsyncd"
MANUFACTURER = "SoulSync"
DIAGNOSTIC = "diagnostic"
CONFIG = "config"
UNKNOWN = "unknown"
DEVICE_TRIGGER = "device_automation"
BOARD_MODEL_FILE = "/proc/device-tree/model"


def board_model(path: str = BOARD_MODEL_FILE) -> str | None:
    """The board, e.g. "Raspberry Pi 4 Model B Rev 1.5" (the device tree's model), or None off such boards."""
    try:
        with open(path, "rb") as model:
            text = model.read(200).rstrip(b"\0\n ").decode("utf-8", errors="replace")
    except OSError:
        return None
    return text or None


def project_url() -> str | None:
    """The package's home page from its metadata (``[project.urls]``), or None when it names none."""
    try:
        meta = metadata.metadata("soulsyncd")
    except metadata.PackageNotFoundError:
        return None
    for entry in meta.get_all("Project-URL") or []:
        url = str(entry).partition(",")[2].strip()
        if url.startswith(("https://", "http://")):
            return url
    home = meta.get_all("Home-page") or []
    return next((str(url) for url in home if str(url).startswith(("https://", "http://"))), None)


class DiscoveryMessage(NamedTuple):
    """One discovery message; ``payload`` None is the empty payload that removes the entity."""

    topic: str
    payload: dict[str, Any] | None
    retain: bool

    def encoded(self) -> bytes:
        """The payload as sent: compact JSON, or empty bytes for a removal."""
        if self.payload is None:
            return b""
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class DiscoveryInfo:
    """What the discovery payloads are made of."""

    device_id: str
    base_topic: str
    prefix: str = "homeassistant"
    name: str = "SoulSync"
    suggested_area: str | None = None
    sw_version: str = __version__
    support_url: str | None = field(default_factory=project_url)
    hw_version: str | None = field(default_factory=board_model)
    configuration_url: str | None = None

    @classmethod
    def from_config(cls, config: MqttConfig, *, configuration_url: str | None = None) -> DiscoveryInfo:
        """The info for ``config``; ``configuration_url`` is the local web page, when one is served."""
        return cls(device_id=config.device_id, base_topic=config.topic, prefix=config.discovery_prefix,
                   name=config.device_name, suggested_area=config.suggested_area,
                   configuration_url=configuration_url)

    @property
    def id_stem(self) -> str:
        """``soulsync_<device_id>`` with '-' as '_' (entity ids allow only ``[a-z0-9_]``)."""
        return "soulsync_" + self.device_id.replace("-", "_")


@dataclass(frozen=True)
class Entity:
    """One entity: its component, key (unique within the device), name and component-specific fields."""

    component: str
    key: str
    name: str
    fields: dict[str, Any]


def _json_value(attr: str) -> str:
    return f"{{{{ value_json.{attr} }}}}"


def _enum(*values: str) -> list[str]:
    """An enum sensor's options: every value it can show, ``unknown`` included, each once."""
    return list(dict.fromkeys([*values, UNKNOWN]))


MOOD_OPTIONS = _enum(*ev.MOOD_TYPES)
PLAYER_OPTIONS = _enum(*(status.value for status in PlayerStatus))
CAMERA_OPTIONS = _enum(*(status.value for status in CameraStatus))


def _known(attr: str) -> str:
    """A template for an enum sensor: the JSON field, or ``unknown`` when it is null or missing."""
    return f"{{{{ value_json.{attr} if value_json.{attr} is defined and value_json.{attr} is not none " \
           f"else '{UNKNOWN}' }}}}"


def entities(info: DiscoveryInfo) -> list[Entity]:
    """Every entity this daemon offers, with topics under ``info.base_topic``."""
    base = info.base_topic

    def t(name: str) -> str:
        return f"{base}/{name}"

    def diagnostic_sensor(key: str, name: str, attr: str, **extra: Any) -> Entity:
        return Entity("sensor", key, name, {
            "state_topic": t(st.DIAGNOSTICS), "value_template": _json_value(attr),
            "entity_category": DIAGNOSTIC, **extra,
        })

    def event(key: str, name: str, topic_name: str, icon: str) -> Entity:
        return Entity("event", key, name, {
            "state_topic": ev.topic(base, topic_name), "event_types": list(ev.EVENT_TYPES[topic_name]),
            "icon": icon,
        })

    measurement = {"state_class": "measurement"}
    chatty = {"enabled_by_default": False}  # only for debugging: off until someone turns it on
    return [
        Entity("sensor", "mood", "Mood", {
            # Before the first frame the emotion is null: "unknown", one of the options.
            "state_topic": t(st.MOOD), "value_template": _known("emotion"),
            "json_attributes_topic": t(st.MOOD), "device_class": "enum", "options": MOOD_OPTIONS,
            "icon": "mdi:emoticon-outline",
        }),
        Entity("sensor", "valence", "Valence", {
            "state_topic": t(st.MOOD), "value_template": _json_value("valence"), "icon": "mdi:emoticon-happy",
            **measurement,
        }),
        Entity("sensor", "arousal", "Arousal", {
            "state_topic": t(st.MOOD), "value_template": _json_value("arousal"), "icon": "mdi:lightning-bolt",
            **measurement,
        }),
        Entity("binary_sensor", "face", "Face present", {
            "state_topic": t(st.FACES), "value_template": "{{ 'ON' if value | int(0) > 0 else 'OFF' }}",
            "device_class": "occupancy",
        }),
        Entity("sensor", "faces", "Faces", {
            "state_topic": t(st.FACES), "icon": "mdi:account-group", **measurement,
        }),
        Entity("sensor", "now_playing", "Now playing", {
            "state_topic": t(st.PLAYING), "value_template": _json_value("text"),
            "json_attributes_topic": t(st.PLAYING), "icon": "mdi:music",
        }),
        Entity("sensor", "player_status", "Player status", {
            "state_topic": t(st.PLAYER), "value_template": _known("status"),
            "json_attributes_topic": t(st.PLAYER), "device_class": "enum", "options": PLAYER_OPTIONS,
            "icon": "mdi:speaker-wireless",
        }),
        Entity("select", "mode", "Mode", {
            "state_topic": t(st.MODE), "command_topic": t("mode/set"), "options": list(MODES),
            "icon": "mdi:tune-variant",
        }),
        Entity("select", "target", "Shift target", {
            "state_topic": t(st.TARGET), "command_topic": t("target/set"), "options": list(targets.NAMES),
            "icon": "mdi:target",
        }),
        Entity("sensor", "shift_progress", "Shift progress", {
            "state_topic": t(st.SHIFT), "value_template": _json_value("percent"),
            "json_attributes_topic": t(st.SHIFT), "unit_of_measurement": "%", "icon": "mdi:progress-check",
        }),
        Entity("switch", "camera", "Camera", {
            "state_topic": t(st.CAMERA), "command_topic": t("camera/set"),
            "value_template": "{{ 'ON' if value_json.enabled else 'OFF' }}",
            "payload_on": "ON", "payload_off": "OFF", "icon": "mdi:cctv",
        }),
        Entity("button", "skip", "Skip", {
            "command_topic": t("skip/set"), "payload_press": PRESS, "icon": "mdi:skip-next",
        }),
        Entity("button", "pause", "Pause", {
            "command_topic": t("pause/set"), "payload_press": PRESS, "icon": "mdi:pause",
        }),
        Entity("button", "resume", "Resume", {
            "command_topic": t("resume/set"), "payload_press": PRESS, "icon": "mdi:play",
        }),
        Entity("binary_sensor", "paused", "Paused", {
            "state_topic": t(st.PAUSED), "icon": "mdi:pause-circle-outline",
        }),
        Entity("text", "speaker", "Speaker", {
            "state_topic": t(st.DEVICE), "command_topic": t("device/set"), "min": 0,
            "max": DEVICE_NAME_MAX, "entity_category": CONFIG, "icon": "mdi:speaker",
        }),
        Entity("number", "volume", "Volume", {
            "state_topic": t(st.VOLUME), "command_topic": t("volume/set"), "min": 0, "max": 100,
            "step": 1, "mode": "slider", "unit_of_measurement": "%", "entity_category": CONFIG,
            "icon": "mdi:volume-high",
        }),
        Entity("sensor", "camera_status", "Camera status", {
            "state_topic": t(st.CAMERA), "value_template": _known("status"),
            "json_attributes_topic": t(st.CAMERA), "device_class": "enum", "options": CAMERA_OPTIONS,
            "entity_category": DIAGNOSTIC, "icon": "mdi:camera",
        }),
        diagnostic_sensor("analysis_fps", "Analysed frames/s", "analysis_fps",
                          unit_of_measurement="fps", icon="mdi:speedometer", **measurement),
        diagnostic_sensor("inference_ms", "Inference time", "inference_ms", unit_of_measurement="ms",
                          device_class="duration", **measurement, **chatty),
        diagnostic_sensor("detector_ms", "Detector time", "detector_ms", unit_of_measurement="ms",
                          device_class="duration", **measurement, **chatty),
        diagnostic_sensor("cpu", "CPU", "cpu_percent", unit_of_measurement="%", icon="mdi:cpu-64-bit",
                          **measurement, **chatty),
        diagnostic_sensor("memory", "Memory", "rss_mb", unit_of_measurement="MB", device_class="data_size",
                          **measurement, **chatty),
        # When the process last started (stable between reports), not a counter that changes every time.
        diagnostic_sensor("uptime", "Last start", "started_at", device_class="timestamp", **chatty),
        Entity("sensor", "last_error", "Last error", {
            "state_topic": t(st.DIAGNOSTICS), "value_template": "{{ value_json.last_error or 'none' }}",
            "json_attributes_topic": t(st.DIAGNOSTICS), "entity_category": DIAGNOSTIC,
            "icon": "mdi:alert-circle-outline",
        }),
        Entity("button", "restart", "Restart", {
            "command_topic": t("restart/set"), "payload_press": PRESS, "device_class": "restart",
            "entity_category": DIAGNOSTIC,
        }),
        Entity("select", "log_level", "Log level", {
            "state_topic": t(st.LOG_LEVEL), "command_topic": t("log_level/set"), "options": list(LOG_LEVELS),
            "entity_category": DIAGNOSTIC, "icon": "mdi:math-log",
        }),
        event("mood_changed", "Mood changed", ev.MOOD, "mdi:emoticon-outline"),
        event("track_started", "Track started", ev.TRACK, "mdi:music-note"),
        event("listener", "Listener", ev.LISTENER, "mdi:account-music"),
        event("camera_changed", "Camera changed", ev.CAMERA, "mdi:cctv"),
    ]


def triggers(info: DiscoveryInfo) -> list[Entity]:
    """Device triggers for the automation editor ("SoulSync: mood happy", "track started", ...): they
    fire on the same event messages as the ``event`` entities, matched on ``event_type``."""
    base = info.base_topic

    def trigger(key: str, topic_name: str, kind: str, subtype: str, event_type: str) -> Entity:
        return Entity(DEVICE_TRIGGER, key, f"{kind} {subtype}", {
            "automation_type": "trigger", "topic": ev.topic(base, topic_name), "type": kind,
            "subtype": subtype, "payload": event_type, "value_template": "{{ value_json.event_type }}",
        })

    return [
        *(trigger(f"mood_{mood}", ev.MOOD, "mood", mood, mood) for mood in ev.MOOD_TYPES),
        # Not "track_started": that is the event entity's key, and the device form keys its components
        # map by key alone (one of the two would be left out).
        trigger("track_started_trigger", ev.TRACK, "track", "started", "started"),
        trigger("listener_took_over", ev.LISTENER, "listener", "took over", ev.TOOK_OVER),
        trigger("listener_handed_back", ev.LISTENER, "listener", "handed back", ev.HANDED_BACK),
    ]


def device_block(info: DiscoveryInfo) -> dict[str, Any]:
    device: dict[str, Any] = {
        "identifiers": [info.id_stem],
        "name": info.name,
        "model": MODEL,
        "manufacturer": MANUFACTURER,
        "sw_version": info.sw_version,
    }
    if info.hw_version:
        device["hw_version"] = info.hw_version
    if info.configuration_url:
        device["configuration_url"] = info.configuration_url
    if info.suggested_area:
        device["suggested_area"] = info.suggested_area
    return device


def origin_block(info: DiscoveryInfo) -> dict[str, Any]:
    origin: dict[str, Any] = {"name": "soulsyncd", "sw_version": info.sw_version}
    if info.support_url:  # Home Assistant checks it is a URL: sent only when the package names one
        origin["support_url"] = info.support_url
    return origin


def availability(info: DiscoveryInfo) -> list[dict[str, str]]:
    return [{"topic": f"{info.base_topic}/{st.AVAILABILITY}", "payload_available": st.ONLINE,
             "payload_not_available": st.OFFLINE}]


def config_topic(info: DiscoveryInfo, entity: Entity) -> str:
    return f"{info.prefix}/{entity.component}/{info.device_id}/{entity.key}/config"


def device_topic(info: DiscoveryInfo) -> str:
    return f"{info.prefix}/device/{info.device_id}/config"


def _component(info: DiscoveryInfo, entity: Entity) -> dict[str, Any]:
    """What an entity's config says about itself (no device, origin or availability)."""
    if entity.component == DEVICE_TRIGGER:  # a trigger has no name, id or availability of its own
        return dict(entity.fields)
    object_id = f"{info.id_stem}_{entity.key}"
    return {
        "name": entity.name,
        "unique_id": object_id,
        "object_id": object_id,
        "default_entity_id": f"{entity.component}.{object_id}",
        **entity.fields,
    }


def entity_payload(info: DiscoveryInfo, entity: Entity) -> dict[str, Any]:
    """The discovery payload of one entity (entity form)."""
    payload = _component(info, entity)
    if entity.component != DEVICE_TRIGGER:
        payload["availability"] = availability(info)
    return {**payload, "device": device_block(info), "origin": origin_block(info)}


def device_payload(info: DiscoveryInfo) -> dict[str, Any]:
    """The one discovery payload of the device form: device, origin, availability and every component."""
    return {
        "device": device_block(info),
        "origin": origin_block(info),
        "availability": availability(info),
        "components": {e.key: {"platform": e.component, **_component(info, e)}
                       for e in (*entities(info), *triggers(info))},
    }


def entity_messages(info: DiscoveryInfo) -> list[DiscoveryMessage]:
    """The entity form: every entity's and trigger's retained config message."""
    return [DiscoveryMessage(config_topic(info, e), entity_payload(info, e), True)
            for e in (*entities(info), *triggers(info))]


def discovery_messages(info: DiscoveryInfo, *, device: bool = False) -> list[DiscoveryMessage]:
    """The retained config messages of one form: per entity, or (``device``) the one device message."""
    if device:
        return [DiscoveryMessage(device_topic(info), device_payload(info), True)]
    return entity_messages(info)


def removal_messages(info: DiscoveryInfo, *, device: bool | None = None) -> list[DiscoveryMessage]:
    """Empty retained payloads on the config topics of one form (``device`` True/False) or of both
    (None): Home Assistant removes what they announced."""
    forms = (False, True) if device is None else (device,)
    return [DiscoveryMessage(m.topic, None, True)
            for form in forms for m in discovery_messages(info, device=form)]


def is_config_topic(info: DiscoveryInfo, topic: str, *, device: bool) -> bool:
    """Whether ``topic`` is one of this device's discovery topics in the given form (including
    entities an older version announced: any ``<prefix>/<component>/<device_id>/<key>/config``)."""
    if device:
        return topic == device_topic(info)
    parts = topic.removeprefix(info.prefix + "/").split("/")
    return (topic.startswith(info.prefix + "/") and len(parts) == 4 and parts[1] == info.device_id
            and parts[3] == "config" and parts[0] != "device")
