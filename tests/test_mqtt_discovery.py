"""Home Assistant discovery payloads (pure: compared as dicts) and ``soulsyncd mqtt-discovery``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soulsyncd.cli import main
from soulsyncd.mood import targets
from soulsyncd.mqtt import events as ev
from soulsyncd.mqtt.discovery import (
    DiscoveryInfo,
    board_model,
    device_payload,
    discovery_messages,
    entities,
    entity_payload,
    is_config_topic,
    removal_messages,
    triggers,
)
from soulsyncd.mqtt.settings import MqttConfig
from soulsyncd.types import EMOTION_LABELS

INFO = DiscoveryInfo(device_id="living-room", base_topic="soulsync/living-room", name="SoulSync living room",
                     suggested_area="Living Room", sw_version="1.2.3", support_url="https://example.org/ss",
                     hw_version=None)

EXPECTED = {  # component.key -> name: what the issue asks for, and no more entities than these
    "sensor.mood": "Mood", "sensor.valence": "Valence", "sensor.arousal": "Arousal",
    "binary_sensor.face": "Face present", "sensor.faces": "Faces", "sensor.now_playing": "Now playing",
    "sensor.player_status": "Player status", "select.mode": "Mode", "select.target": "Shift target",
    "sensor.shift_progress": "Shift progress", "switch.camera": "Camera", "button.skip": "Skip",
    "button.pause": "Pause", "button.resume": "Resume", "binary_sensor.paused": "Paused",
    "text.speaker": "Speaker", "number.volume": "Volume", "sensor.camera_status": "Camera status",
    "sensor.analysis_fps": "Analysed frames/s", "sensor.inference_ms": "Inference time",
    "sensor.detector_ms": "Detector time", "sensor.cpu": "CPU", "sensor.memory": "Memory",
    "sensor.uptime": "Last start", "sensor.last_error": "Last error",
    "button.restart": "Restart", "select.log_level": "Log level",
    "event.mood_changed": "Mood changed", "event.track_started": "Track started",
    "event.listener": "Listener", "event.camera_changed": "Camera changed",
}
DIAGNOSTIC = {"camera_status", "analysis_fps", "inference_ms", "detector_ms", "cpu", "memory", "uptime",
              "last_error", "restart", "log_level"}
CONFIG = {"speaker", "volume"}
HIDDEN = {"inference_ms", "detector_ms", "cpu", "memory", "uptime"}  # enabled_by_default: false
TRIGGERS = {f"mood_{mood}" for mood in (*EMOTION_LABELS, "absent")} | {
    "track_started_trigger", "listener_took_over", "listener_handed_back"}


def payloads(info: DiscoveryInfo = INFO, *, with_triggers: bool = False) -> dict[str, dict[str, object]]:
    result = {}
    for topic, payload, retain in discovery_messages(info):
        if topic.startswith("homeassistant/device_automation/") and not with_triggers:
            continue
        assert retain is True
        assert payload is not None
        component, node, key, tail = topic.split("/")[1:]
        assert topic.startswith("homeassistant/")
        assert node == info.device_id
        assert tail == "config"
        result[f"{component}.{key}"] = payload
    return result


def test_every_entity_of_the_issue_with_its_name() -> None:
    assert {key: p["name"] for key, p in payloads().items()} == EXPECTED


def test_the_mood_sensor_in_full() -> None:
    """One payload compared whole: ids, both object_id and default_entity_id, device, origin, availability."""
    assert payloads()["sensor.mood"] == {
        "name": "Mood",
        "unique_id": "soulsync_living_room_mood",
        "object_id": "soulsync_living_room_mood",
        "default_entity_id": "sensor.soulsync_living_room_mood",
        "state_topic": "soulsync/living-room/mood",
        "value_template": "{{ value_json.emotion if value_json.emotion is defined and "
                          "value_json.emotion is not none else 'unknown' }}",
        "json_attributes_topic": "soulsync/living-room/mood",
        "device_class": "enum",
        "options": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "absent", "unknown"],
        "icon": "mdi:emoticon-outline",
        "availability": [{"topic": "soulsync/living-room/availability", "payload_available": "online",
                          "payload_not_available": "offline"}],
        "device": {"identifiers": ["soulsync_living_room"], "name": "SoulSync living room",
                   "model": "soulsyncd", "manufacturer": "SoulSync", "sw_version": "1.2.3",
                   "suggested_area": "Living Room"},
        "origin": {"name": "soulsyncd", "sw_version": "1.2.3", "support_url": "https://example.org/ss"},
    }


def test_controls_point_at_their_command_topics() -> None:
    p = payloads()
    assert p["select.mode"]["command_topic"] == "soulsync/living-room/mode/set"
    assert p["select.mode"]["options"] == ["off", "match", "shift"]
    assert p["select.target"]["options"] == list(targets.NAMES)  # every target the policy accepts by name
    assert "sad" in p["select.target"]["options"]
    assert p["switch.camera"]["command_topic"] == "soulsync/living-room/camera/set"
    assert p["button.skip"]["payload_press"] == "PRESS"
    assert (p["number.volume"]["min"], p["number.volume"]["max"]) == (0, 100)
    assert p["text.speaker"]["command_topic"] == "soulsync/living-room/device/set"


def test_every_entity_is_well_formed() -> None:
    """Name, unique ids, one shared device block, availability; diagnostics marked as such."""
    all_payloads = payloads()
    unique_ids = [p["unique_id"] for p in all_payloads.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    devices = {json.dumps(p["device"], sort_keys=True) for p in all_payloads.values()}
    assert len(devices) == 1
    for key, p in all_payloads.items():
        component, object_key = key.split(".")
        assert p["object_id"] == p["unique_id"] == f"soulsync_living_room_{object_key}"
        assert p["default_entity_id"] == f"{component}.{p['object_id']}"
        assert p["availability"][0]["topic"] == "soulsync/living-room/availability"  # type: ignore[index]
        assert (p.get("entity_category") == "diagnostic") == (object_key in DIAGNOSTIC)
        assert (p.get("entity_category") == "config") == (object_key in CONFIG)
        assert (p.get("enabled_by_default") is False) == (object_key in HIDDEN)
        assert "state_topic" in p or "command_topic" in p


def test_two_rooms_share_no_topic_or_unique_id() -> None:
    kitchen = DiscoveryInfo.from_config(MqttConfig(device_id="kitchen"))
    living = DiscoveryInfo.from_config(MqttConfig(device_id="living-room"))
    topics = [m.topic for m in discovery_messages(kitchen)], [m.topic for m in discovery_messages(living)]
    assert not set(topics[0]) & set(topics[1])
    ids = [{p["unique_id"] for p in payloads(info).values()} for info in (kitchen, living)]
    assert not ids[0] & ids[1]
    states = [{str(v) for p in payloads(info).values() for k, v in p.items() if k.endswith("topic")}
              for info in (kitchen, living)]
    assert not states[0] & states[1]


def test_no_suggested_area_or_support_url_when_not_set() -> None:
    info = DiscoveryInfo(device_id="x", base_topic="soulsync/x", support_url=None)
    p = payloads(info)["sensor.mood"]
    assert "suggested_area" not in p["device"]  # type: ignore[operator]
    assert "support_url" not in p["origin"]  # type: ignore[operator]


def test_removal_is_an_empty_retained_payload_per_topic_of_one_form_or_both() -> None:
    entity_topics = [m.topic for m in discovery_messages(INFO)]
    assert [m.topic for m in removal_messages(INFO, device=False)] == entity_topics
    device_topic = "homeassistant/device/living-room/config"
    assert [m.topic for m in removal_messages(INFO, device=True)] == [device_topic]
    both = removal_messages(INFO)
    assert [m.topic for m in both] == [*entity_topics, device_topic]
    assert all(m.payload is None and m.retain and m.encoded() == b"" for m in both)
    assert len(entities(INFO)) == len(EXPECTED)


# --- typed states -----------------------------------------------------------------------------------


def test_enum_sensors_offer_every_value_and_unknown() -> None:
    """Mood, player status and camera status are enums whose options cover every value the daemon sends."""
    p = payloads()
    assert p["sensor.mood"]["options"] == [*EMOTION_LABELS, "absent", "unknown"]
    assert p["sensor.player_status"]["options"] == [
        "idle", "ok", "dry run", "no device", "premium required", "login required", "listener in control",
        "rate limited", "offline", "unknown"]
    assert p["sensor.camera_status"]["options"] == ["starting", "ok", "absent", "disabled", "error", "ended",
                                                    "unknown"]
    for key in ("sensor.mood", "sensor.player_status", "sensor.camera_status"):
        assert p[key]["device_class"] == "enum"
        assert "state_class" not in p[key]
        assert "unit_of_measurement" not in p[key]
        assert "'unknown'" in str(p[key]["value_template"])


def test_valence_and_arousal_are_unitless_measurements() -> None:
    p = payloads()
    for key in ("sensor.valence", "sensor.arousal"):
        assert p[key]["state_class"] == "measurement"
        assert "unit_of_measurement" not in p[key]
        assert "device_class" not in p[key]


def test_uptime_is_the_timestamp_of_the_last_start() -> None:
    uptime = payloads()["sensor.uptime"]
    assert uptime["device_class"] == "timestamp"
    assert uptime["value_template"] == "{{ value_json.started_at }}"
    assert "state_class" not in uptime
    assert "unit_of_measurement" not in uptime


def test_restart_button_and_log_level_select() -> None:
    p = payloads()
    assert p["button.restart"]["command_topic"] == "soulsync/living-room/restart/set"
    assert p["button.restart"]["device_class"] == "restart"
    assert p["select.log_level"]["options"] == ["debug", "info", "warning", "error"]
    assert p["select.log_level"]["state_topic"] == "soulsync/living-room/log_level"
    assert p["select.log_level"]["command_topic"] == "soulsync/living-room/log_level/set"


# --- events and device triggers ---------------------------------------------------------------------


def test_event_entities_name_their_topic_and_types() -> None:
    p = payloads()
    assert {k: (v["state_topic"], v["event_types"]) for k, v in p.items() if k.startswith("event.")} == {
        "event.mood_changed": ("soulsync/living-room/event/mood", [*EMOTION_LABELS, "absent"]),
        "event.track_started": ("soulsync/living-room/event/track", ["started"]),
        "event.listener": ("soulsync/living-room/event/listener", ["took_over", "handed_back"]),
        "event.camera_changed": ("soulsync/living-room/event/camera",
                                 ["starting", "ok", "absent", "disabled", "error", "ended"]),
    }


def test_device_triggers_match_the_event_type() -> None:
    all_payloads = payloads(with_triggers=True)
    found = {key.split(".", 1)[1]: p for key, p in all_payloads.items()
             if key.startswith("device_automation.")}
    assert set(found) == TRIGGERS
    assert found["mood_sad"] == {
        "automation_type": "trigger", "topic": "soulsync/living-room/event/mood", "type": "mood",
        "subtype": "sad", "payload": "sad", "value_template": "{{ value_json.event_type }}",
        "device": all_payloads["sensor.mood"]["device"], "origin": all_payloads["sensor.mood"]["origin"],
    }
    assert found["listener_took_over"]["payload"] == ev.TOOK_OVER
    assert found["listener_took_over"]["topic"] == "soulsync/living-room/event/listener"
    for trigger in found.values():  # each subtype once per type: the editor lists them by the pair
        assert trigger["payload"] in ev.EVENT_TYPES[str(trigger["topic"]).rsplit("/", 1)[1]]
    pairs = [(t["type"], t["subtype"]) for t in found.values()]
    assert len(set(pairs)) == len(pairs)


# --- the device form --------------------------------------------------------------------------------


def test_device_form_is_one_message_with_every_entity_and_trigger_as_a_component() -> None:
    """Same keys as the entity form (Home Assistant's discovery id ``<device_id> <key>`` matches), same
    fields; device, origin and availability once at the top."""
    messages = discovery_messages(INFO, device=True)
    assert len(messages) == 1
    topic, payload, retain = messages[0]
    assert (topic, retain) == ("homeassistant/device/living-room/config", True)
    assert payload is not None
    assert set(payload) == {"device", "origin", "availability", "components"}
    per_entity = {e.key: (e.component, entity_payload(INFO, e)) for e in (*entities(INFO), *triggers(INFO))}
    assert set(payload["components"]) == set(per_entity)
    for key, component in payload["components"].items():
        platform, single = per_entity[key]
        expected = {k: v for k, v in single.items() if k not in ("device", "origin", "availability")}
        assert component == {"platform": platform, **expected}
        assert single["device"] == payload["device"]
        assert single["origin"] == payload["origin"]
        if platform != "device_automation":
            assert single["availability"] == payload["availability"]
    assert payload == device_payload(INFO)


def test_the_device_form_keeps_every_entity_and_trigger_each_under_its_own_key() -> None:
    """The components map is keyed by ``<key>``: the event entity "Track started" and its device trigger
    once shared ``track_started``, and the device form (Home Assistant 2025.4) had no Track started
    entity. Every key is unique, so both forms announce the same 42 configs."""
    keys = [e.key for e in (*entities(INFO), *triggers(INFO))]
    assert len(keys) == len(set(keys)) == 42
    components = device_payload(INFO)["components"]
    assert len(components) == len(discovery_messages(INFO)) == 42
    assert components["track_started"]["platform"] == "event"
    assert components["track_started"]["default_entity_id"] == "event.soulsync_living_room_track_started"
    assert components["track_started_trigger"] == {
        "platform": "device_automation", "automation_type": "trigger",
        "topic": "soulsync/living-room/event/track", "type": "track", "subtype": "started",
        "payload": "started", "value_template": "{{ value_json.event_type }}"}
    assert [m.topic for m in discovery_messages(INFO) if "track_started" in m.topic] == [
        "homeassistant/event/living-room/track_started/config",
        "homeassistant/device_automation/living-room/track_started_trigger/config"]


def test_config_topics_of_each_form() -> None:
    assert is_config_topic(INFO, "homeassistant/device/living-room/config", device=True)
    assert not is_config_topic(INFO, "homeassistant/device/living-room/config", device=False)
    assert is_config_topic(INFO, "homeassistant/sensor/living-room/mood/config", device=False)
    assert is_config_topic(INFO, "homeassistant/sensor/living-room/gone_in_v2/config", device=False)
    assert not is_config_topic(INFO, "homeassistant/sensor/kitchen/mood/config", device=False)
    assert not is_config_topic(INFO, "homeassistant/device/kitchen/config", device=True)
    assert not is_config_topic(INFO, "soulsync/living-room/mood", device=False)


# --- device information -----------------------------------------------------------------------------


def test_device_block_has_board_and_page_when_known() -> None:
    info = DiscoveryInfo(device_id="x", base_topic="soulsync/x", sw_version="1", support_url=None,
                         hw_version="Raspberry Pi 4 Model B Rev 1.5", configuration_url="http://pi.lan:8080/")
    device = payloads(info)["sensor.mood"]["device"]
    assert device == {"identifiers": ["soulsync_x"], "name": "SoulSync", "model": "soulsyncd",
                      "manufacturer": "SoulSync", "sw_version": "1",
                      "hw_version": "Raspberry Pi 4 Model B Rev 1.5", "configuration_url": "http://pi.lan:8080/"}
    assert device_payload(info)["device"] == device


def test_board_model_from_the_device_tree(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.5\x00")  # the kernel ends it with a NUL
    assert board_model(str(model)) == "Raspberry Pi 4 Model B Rev 1.5"
    assert board_model(str(tmp_path / "absent")) is None
    (tmp_path / "empty").write_bytes(b"\x00")
    assert board_model(str(tmp_path / "empty")) is None


def test_support_url_comes_from_the_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """origin.support_url is read at run time from the installed metadata's Project-URL lines, which
    pyproject.toml's [project.urls] writes."""
    import email.message
    import tomllib

    from soulsyncd.mqtt import discovery

    urls = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    meta = email.message.Message()
    for label, url in urls.items():
        meta["Project-URL"] = f"{label}, {url}"
    monkeypatch.setattr(discovery.metadata, "metadata", lambda _name: meta)
    assert discovery.project_url() == next(iter(urls.values()))
    assert discovery.project_url().startswith("https://")  # type: ignore[union-attr]


@pytest.mark.parametrize(("mode", "ha_version", "device"), [
    ("entity", None, False), ("entity", "2026.1", False), ("device", None, True),
    ("device", "2024.3.3", True), ("auto", None, False), ("auto", "2024.10.4", False),
    ("auto", "2024.11", True), ("auto", "2024.11.0b1", True),
    ("auto", "2025.1.2", True), ("auto", "2026.11.0", True), ("auto", "2023.12", False),
])
def test_discovery_mode_picks_the_form(mode: str, ha_version: str | None, device: bool) -> None:
    config = MqttConfig(device_id="x", discovery_mode=mode, ha_version=ha_version)  # type: ignore[arg-type]
    assert config.device_discovery is device


@pytest.mark.parametrize(("bad", "message"), [
    *((bad, f"must look like 2024.11 or 2024.11.2, got {bad!r}")
      for bad in ("11.2024", "latest", "2024", "2024.x")),
    (2025.1, 'quote the version (ha_version: "2025.1"): unquoted, YAML reads it as a number'),
])
def test_a_bad_ha_version_is_a_config_error(bad: object, message: str) -> None:
    from soulsyncd.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as info:
        parse_config({"mqtt": {"device_id": "x", "ha_version": bad}})
    assert info.value.errors == [f"mqtt.ha_version: {message}"]


def test_an_unquoted_version_names_the_key_and_line(tmp_path: Path) -> None:
    """YAML reads 2025.10 as 2025.1: the error says to quote it, with the key and line (exit 78)."""
    from soulsyncd.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    path.write_text("mqtt:\n  discovery_mode: auto\n  ha_version: 2025.10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml:3: mqtt\.ha_version: quote") as info:
        load_config(path)
    assert "2025.1" in str(info.value)


def test_cli_prints_every_discovery_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``mqtt-discovery`` prints topic and JSON per line, no broker needed (MQTT may even be disabled)."""
    config = tmp_path / "soulsync.yaml"
    config.write_text("mqtt:\n  device_id: den\n  suggested_area: Den\n", encoding="utf-8")
    assert main(["mqtt-discovery", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    info = DiscoveryInfo.from_config(MqttConfig(device_id="den", suggested_area="Den"))
    expected = discovery_messages(info)
    assert len(lines) == len(expected)
    for line, message in zip(lines, expected, strict=True):
        topic, _, payload = line.partition(" ")
        assert topic == message.topic
        assert json.loads(payload) == message.payload


def test_cli_prints_the_device_form_when_configured(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "soulsync.yaml"
    config.write_text("mqtt:\n  device_id: den\n  discovery_mode: device\n", encoding="utf-8")
    assert main(["mqtt-discovery", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    topic, _, payload = lines[0].partition(" ")
    assert topic == "homeassistant/device/den/config"
    assert "components" in json.loads(payload)


def test_cli_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "soulsync.yaml"
    config.write_text("mqtt:\n  device_id: Not A Slug\n", encoding="utf-8")
    assert main(["mqtt-discovery", "--config", str(config)]) == 78
    assert "mqtt.device_id" in capsys.readouterr().err
