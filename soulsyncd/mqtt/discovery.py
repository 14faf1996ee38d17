"""Home Assistant MQTT discovery, as pure functions returning ``(topic, payload, retain)``.

One config message per entity on ``<prefix>/<component>/<device_id>/<key>/config``, retained; an
empty retained payload removes the entity. Every entity carries a name, a ``unique_id`` and
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
from soulsyncd.core.commands import MODES
from soulsyncd.mood import targets
from soulsyncd.mqtt import state as st
from soulsyncd.mqtt.commands import DEVICE_NAME_MAX, PRESS
from soulsyncd.mqtt.settings import MqttConfig

MODEL = "soulsyncd"
MANUFACTURER = "SoulSync"
DIAGNOSTIC = "diagnostic"


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

    @classmethod
    def from_config(cls, config: MqttConfig) -> DiscoveryInfo:
        return cls(device_id=config.device_id, base_topic=config.topic, prefix=config.discovery_prefix,
                   name=config.device_name, suggested_area=config.suggested_area)

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

    measurement = {"state_class": "measurement"}
    return [
        Entity("sensor", "mood", "Mood", {
            # Before the first frame the emotion is null; a text sensor would show "None" literally.
            "state_topic": t(st.MOOD),
            "value_template": "{{ value_json.emotion if value_json.emotion is not none else 'unknown' }}",
            "json_attributes_topic": t(st.MOOD), "icon": "mdi:emoticon-outline",
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
            "state_topic": t(st.PLAYER), "value_template": _json_value("status"),
            "json_attributes_topic": t(st.PLAYER), "icon": "mdi:speaker-wireless",
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
            "max": DEVICE_NAME_MAX, "icon": "mdi:speaker",
        }),
        Entity("number", "volume", "Volume", {
            "state_topic": t(st.VOLUME), "command_topic": t("volume/set"), "min": 0, "max": 100,
            "step": 1, "mode": "slider", "unit_of_measurement": "%", "icon": "mdi:volume-high",
        }),
        Entity("sensor", "camera_status", "Camera status", {
            "state_topic": t(st.CAMERA), "value_template": _json_value("status"),
            "json_attributes_topic": t(st.CAMERA), "entity_category": DIAGNOSTIC, "icon": "mdi:camera",
        }),
        diagnostic_sensor("analysis_fps", "Analysed frames/s", "analysis_fps",
                          unit_of_measurement="fps", icon="mdi:speedometer", **measurement),
        diagnostic_sensor("inference_ms", "Inference time", "inference_ms", unit_of_measurement="ms",
                          device_class="duration", **measurement),
        diagnostic_sensor("detector_ms", "Detector time", "detector_ms", unit_of_measurement="ms",
                          device_class="duration", **measurement),
        diagnostic_sensor("cpu", "CPU", "cpu_percent", unit_of_measurement="%", icon="mdi:cpu-64-bit",
                          **measurement),
        diagnostic_sensor("memory", "Memory", "rss_mb", unit_of_measurement="MB", device_class="data_size",
                          **measurement),
        diagnostic_sensor("uptime", "Uptime", "uptime_s", unit_of_measurement="s", device_class="duration",
                          **measurement),
        Entity("sensor", "last_error", "Last error", {
            "state_topic": t(st.DIAGNOSTICS), "value_template": "{{ value_json.last_error or 'none' }}",
            "json_attributes_topic": t(st.DIAGNOSTICS), "entity_category": DIAGNOSTIC,
            "icon": "mdi:alert-circle-outline",
        }),
    ]


def device_block(info: DiscoveryInfo) -> dict[str, Any]:
    device: dict[str, Any] = {
        "identifiers": [info.id_stem],
        "name": info.name,
        "model": MODEL,
        "manufacturer": MANUFACTURER,
        "sw_version": info.sw_version,
    }
    if info.suggested_area:
        device["suggested_area"] = info.suggested_area
    return device


def origin_block(info: DiscoveryInfo) -> dict[str, Any]:
    origin: dict[str, Any] = {"name": "soulsyncd", "sw_version": info.sw_version}
    if info.support_url:  # Home Assistant checks it is a URL: sent only when the package names one
        origin["support_url"] = info.support_url
    return origin


def config_topic(info: DiscoveryInfo, entity: Entity) -> str:
    return f"{info.prefix}/{entity.component}/{info.device_id}/{entity.key}/config"


def entity_payload(info: DiscoveryInfo, entity: Entity) -> dict[str, Any]:
    """The discovery payload of one entity."""
    object_id = f"{info.id_stem}_{entity.key}"
    return {
        "name": entity.name,
        "unique_id": object_id,
        "object_id": object_id,
        "default_entity_id": f"{entity.component}.{object_id}",
        **entity.fields,
        "availability": [{"topic": f"{info.base_topic}/{st.AVAILABILITY}",
                          "payload_available": st.ONLINE, "payload_not_available": st.OFFLINE}],
        "device": device_block(info),
        "origin": origin_block(info),
    }


def discovery_messages(info: DiscoveryInfo) -> list[DiscoveryMessage]:
    """Every entity's retained config message."""
    return [DiscoveryMessage(config_topic(info, e), entity_payload(info, e), True) for e in entities(info)]


def removal_messages(info: DiscoveryInfo) -> list[DiscoveryMessage]:
    """Empty retained payloads on every config topic: Home Assistant removes the entities."""
    return [DiscoveryMessage(config_topic(info, e), None, True) for e in entities(info)]
