"""The ``mqtt`` config section: defaults, device id, topics, TLS rules, and the password never in YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from soulsyncd.config import ConfigError, load_config
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


@pytest.mark.parametrize("device_id", ["Living Room", "a/b", "a+b", "", "-x", "x" * 64])
def test_device_id_must_be_a_slug(device_id: str) -> None:
    with pytest.raises(ValidationError, match="device_id"):
        MqttConfig(device_id=device_id)


@pytest.mark.parametrize("topic", ["/soulsync", "soulsync/", "a//b", "a/+/b", "a/#", ""])
def test_topics_must_not_have_wildcards_or_empty_levels(topic: str) -> None:
    why = "wildcards" if "+" in topic or "#" in topic else "non-empty topic without leading, trailing"
    with pytest.raises(ValidationError, match=f"base_topic must .*{why}"):
        MqttConfig(base_topic=topic)
    with pytest.raises(ValidationError, match=f"discovery_prefix must .*{why}"):
        MqttConfig(discovery_prefix=topic)


@pytest.mark.parametrize(("field", "limit"), [
    ("discovery_prefix", 128), ("base_topic", 128), ("client_id", 64), ("name", 100), ("suggested_area", 100),
    ("host", 253), ("username", 256),
])
def test_names_and_topics_are_bounded(field: str, limit: int) -> None:
    """A 70,000-character prefix passed check-config and then failed every subscription at run time."""
    MqttConfig(**{field: "a" * limit})
    with pytest.raises(ValidationError, match=field):
        MqttConfig(**{field: "a" * (limit + 1)})
    with pytest.raises(ValidationError, match=field):
        MqttConfig(**{field: "a" * 70_000})


@pytest.mark.parametrize("topic", ["a\nb", "a\tb", "a\x7fb", "a\x85b"])
def test_topics_must_not_have_control_characters(topic: str) -> None:
    with pytest.raises(ValidationError, match="control"):
        MqttConfig(base_topic=topic)
    with pytest.raises(ValidationError, match="control"):
        MqttConfig(discovery_prefix=topic)


def test_tls_files_need_tls_and_cert_needs_key() -> None:
    with pytest.raises(ValidationError, match="need tls"):
        MqttConfig(ca_file=Path("/ca.pem"))
    with pytest.raises(ValidationError, match="go together"):
        MqttConfig(tls=True, certfile=Path("/c.pem"))
    MqttConfig(tls=True, ca_file=Path("/ca.pem"), certfile=Path("/c.pem"), keyfile=Path("/k.pem"))


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
