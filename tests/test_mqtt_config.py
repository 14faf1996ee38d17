"""The ``mqtt`` config section: defaults, device id, topics, TLS rules, and the password never in YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from soulsyncd.config import ConfigError, load_config, parse_config
from soulsyncd.mqtt.settings import MqttConfig, default_device_id, slugify


def test_defaults_are_off_and_named_after_the_host() -> None:
    """MQTT is off by default; the device id is the slugified host name, the base topic soulsync/<id>."""
    config = MqttConfig()
    assert config.enabled is False
    assert config.device_id == default_device_id()
    assert config.topic == f"soulsync/{config.device_id}"
    assert config.effective_client_id == f"soulsyncd-{config.device_id}"
    assert config.discovery_prefix == "homeassistant"
    assert config.protocol == "3.1.1"
    assert config.diagnostics_interval_s == 60.0


@pytest.mark.parametrize(("text", "slug"), [
    ("Living Room.lan", "living-room-lan"), ("pi_kitchen", "pi-kitchen"), ("ÄÖÜ", "soulsync"), ("--x--", "x"),
])
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_base_topic_and_names_can_be_set() -> None:
    config = MqttConfig(device_id="kitchen", base_topic="home/music/kitchen", name="Kitchen music",
                        client_id="k1")
    assert config.topic == "home/music/kitchen"
    assert config.device_name == "Kitchen music"
    assert config.effective_client_id == "k1"


def mqtt_errors(**section: object) -> list[str]:
    """What validating an ``mqtt`` section of these values reports."""
    with pytest.raises(ConfigError) as info:
        parse_config({"mqtt": section})
    return info.value.errors


@pytest.mark.parametrize("device_id", ["Living Room", "a/b", "a+b", "", "-x", "x" * 64])
def test_device_id_must_be_a_slug(device_id: str) -> None:
    assert mqtt_errors(device_id=device_id) == [
        "mqtt.device_id: must be 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit; got "
        f"{device_id!r} (e.g. {slugify(device_id)!r})"
    ]


@pytest.mark.parametrize("topic", ["/soulsync", "soulsync/", "a//b", "a/+/b", "a/#", ""])
def test_topics_must_not_have_wildcards_or_empty_levels(topic: str) -> None:
    why = ("must not contain the wildcards '+' or '#'" if "+" in topic or "#" in topic
           else "must be a non-empty topic without leading, trailing or double '/'")
    assert mqtt_errors(base_topic=topic) == [f"mqtt.base_topic: base_topic {why}"]
    assert mqtt_errors(discovery_prefix=topic) == [f"mqtt.discovery_prefix: discovery_prefix {why}"]


@pytest.mark.parametrize(("field", "limit"), [
    ("discovery_prefix", 128), ("base_topic", 128), ("client_id", 64), ("name", 100), ("suggested_area", 100),
    ("host", 253), ("username", 256),
])
def test_names_and_topics_are_bounded(field: str, limit: int) -> None:
    """A 70,000-character prefix passed check-config and then failed every subscription at run time."""
    assert getattr(parse_config({"mqtt": {field: "a" * limit}}).mqtt, field) == "a" * limit
    too_long = [f"mqtt.{field}: must be at most {limit} characters long"]
    assert mqtt_errors(**{field: "a" * (limit + 1)}) == too_long
    assert mqtt_errors(**{field: "a" * 70_000}) == too_long


@pytest.mark.parametrize("topic", ["a\nb", "a\tb", "a\x7fb", "a\x85b"])
def test_topics_must_not_have_control_characters(topic: str) -> None:
    assert mqtt_errors(base_topic=topic) == [
        "mqtt.base_topic: base_topic must not contain control characters"]
    assert mqtt_errors(discovery_prefix=topic) == [
        "mqtt.discovery_prefix: discovery_prefix must not contain control characters"]


def test_tls_files_need_tls_and_cert_needs_key() -> None:
    assert mqtt_errors(ca_file="/ca.pem") == ["mqtt: ca_file, certfile and keyfile need tls: true"]
    assert mqtt_errors(tls=True, certfile="/c.pem") == [
        "mqtt: certfile and keyfile go together: set both or neither"]
    config = parse_config(
        {"mqtt": {"tls": True, "ca_file": "/ca.pem", "certfile": "/c.pem", "keyfile": "/k.pem"}})
    assert (config.mqtt.ca_file, config.mqtt.keyfile) == (Path("/ca.pem"), Path("/k.pem"))


def test_yaml_section_with_relative_tls_paths(tmp_path: Path) -> None:
    """The section loads from YAML; TLS paths are relative to the config file."""
    path = tmp_path / "soulsync.yaml"
    path.write_text("mqtt:\n  enabled: true\n  host: broker.lan\n  port: 8883\n  tls: true\n"
                    "  ca_file: certs/ca.pem\n  device_id: living-room\n  protocol: '5'\n", encoding="utf-8")
    config = load_config(path).mqtt
    assert config.enabled
    assert config.host == "broker.lan"
    assert config.port == 8883
    assert config.ca_file == tmp_path / "certs" / "ca.pem"
    assert config.protocol == "5"


def test_password_in_yaml_is_refused(tmp_path: Path) -> None:
    """The password comes from the credential mqtt-password; the YAML key is an error that says so."""
    path = tmp_path / "soulsync.yaml"
    path.write_text("mqtt:\n  username: soulsync\n  password: hunter2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mqtt\.password"):
        load_config(path)
