"""Home Assistant discovery payloads (pure: compared as dicts) and ``soulsyncd mqtt-discovery``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soulsyncd.cli import main
from soulsyncd.mood import targets
from soulsyncd.mqtt.discovery import DiscoveryInfo, discovery_messages, entities, removal_messages
from soulsyncd.mqtt.settings import MqttConfig

INFO = DiscoveryInfo(device_id="living-room", base_topic="soulsync/living-room", name="SoulSync living room",
                     suggested_area="Living Room", sw_version="1.2.3", support_url="https://example.org/ss")

EXPECTED = {  # component.key -> name: what the issue asks for, and no more entities than these
    "sensor.mood": "Mood", "sensor.valence": "Valence", "sensor.arousal": "Arousal",
    "binary_sensor.face": "Face present", "sensor.faces": "Faces", "sensor.now_playing": "Now playing",
    "sensor.player_status": "Player status", "select.mode": "Mode", "select.target": "Shift target",
    "sensor.shift_progress": "Shift progress", "switch.camera": "Camera", "button.skip": "Skip",
    "button.pause": "Pause", "button.resume": "Resume", "binary_sensor.paused": "Paused",
    "text.speaker": "Speaker", "number.volume": "Volume", "sensor.camera_status": "Camera status",
    "sensor.analysis_fps": "Analysed frames/s", "sensor.inference_ms": "Inference time",
    "sensor.detector_ms": "Detector time", "sensor.cpu": "CPU", "sensor.memory": "Memory",
    "sensor.uptime": "Uptime", "sensor.last_error": "Last error",
}
DIAGNOSTIC = {"camera_status", "analysis_fps", "inference_ms", "detector_ms", "cpu", "memory", "uptime",
              "last_error"}


def payloads(info: DiscoveryInfo = INFO) -> dict[str, dict[str, object]]:
    result = {}
    for topic, payload, retain in discovery_messages(info):
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
        "value_template": "{{ value_json.emotion if value_json.emotion is not none else 'unknown' }}",
        "json_attributes_topic": "soulsync/living-room/mood",
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


def test_removal_is_an_empty_retained_payload_per_entity() -> None:
    removal = removal_messages(INFO)
    assert [m.topic for m in removal] == [m.topic for m in discovery_messages(INFO)]
    assert all(m.payload is None and m.retain and m.encoded() == b"" for m in removal)
    assert len(entities(INFO)) == len(EXPECTED)


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


def test_cli_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "soulsync.yaml"
    config.write_text("mqtt:\n  device_id: Not A Slug\n", encoding="utf-8")
    assert main(["mqtt-discovery", "--config", str(config)]) == 78
    assert "mqtt.device_id" in capsys.readouterr().err
