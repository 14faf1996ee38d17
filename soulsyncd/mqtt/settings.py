"""Config section ``mqtt``: the broker connection and how this daemon names itself there.

The password is never here: :func:`soulsyncd.config.read_secret` reads it (``mqtt-password``) from a
systemd credential or ``SOULSYNC_MQTT_PASSWORD`` when the bridge starts. Keys stay one level deep
(``mqtt.ca_file``, not ``mqtt.tls.ca_file``) so every key is a ``section.key`` in the README's table.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from soulsyncd.settings import Section, resolve_path

DEVICE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""What a device id may look like: safe in an MQTT topic, a Home Assistant node id and a unique_id."""

TOPIC_PREFIX_MAX = 128
"""Longest base topic or discovery prefix, in characters. MQTT allows 65,535 bytes per topic, but a
prefix that long cannot have anything appended (paho refuses the subscription at run time); 128 is
far more than any real prefix."""

HA_VERSION_PATTERN = re.compile(r"^(20\d\d)\.(\d{1,2})(\.\d+)?([a-z0-9.]*)$")
"""A Home Assistant version: year.month[.patch], maybe with a pre-release suffix (2024.11.0b1)."""
DEVICE_DISCOVERY_SINCE = (2024, 11)
"""The first Home Assistant release with device-based discovery (``<prefix>/device/<id>/config``)."""

_TOPIC_WILDCARDS = re.compile(r"[+#]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def slugify(text: str) -> str:
    """``text`` lower-cased with every run of other characters as one ``-`` (``Living Room.lan`` ->
    ``living-room-lan``); ``soulsync`` when nothing is left."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return slug or "soulsync"


def default_device_id() -> str:
    """This machine's host name, slugified (the short name: ``pi-kitchen.lan`` -> ``pi-kitchen``)."""
    return slugify(socket.gethostname().split(".")[0])


def _check_topic(value: str, what: str) -> str:
    if not value or value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{what} must be a non-empty topic without leading, trailing or double '/'")
    if _TOPIC_WILDCARDS.search(value):
        raise ValueError(f"{what} must not contain the wildcards '+' or '#'")
    if _CONTROL.search(value):
        raise ValueError(f"{what} must not contain control characters")
    return value


class MqttConfig(Section):
    """Publish state to an MQTT broker, take commands from it, and announce entities to Home Assistant."""

    enabled: bool = Field(default=False, description="Connect to the broker at all.")
    host: str = Field(default="localhost", min_length=1, max_length=253,
                      description="Broker host name or address.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (usually 8883 with TLS).")
    tls: bool = Field(default=False, description="Connect with TLS (certificate checked).")
    ca_file: Path | None = Field(
        default=None, description="CA certificate(s) for TLS (PEM); None: the system's trusted CAs."
    )
    certfile: Path | None = Field(default=None, description="Client certificate for TLS (PEM), optional.")
    keyfile: Path | None = Field(default=None, description="Private key of the client certificate (PEM).")
    username: str | None = Field(
        default=None, max_length=256,
        description="Broker user; the password comes from the credential mqtt-password, never the YAML.",
    )
    client_id: str | None = Field(
        default=None, max_length=64, description="MQTT client id (None: soulsyncd-<device_id>)."
    )
    protocol: Literal["3.1.1", "5"] = Field(default="3.1.1", description="MQTT protocol version.")
    keepalive: int = Field(
        default=60, ge=5, le=3600, description="Seconds between keep-alive pings; the broker's will fires "
        "after 1.5x this without one."
    )
    reconnect_max_s: float = Field(
        default=4.0, ge=1, le=600,
        description="Longest wait between reconnect attempts (back-off from 1 s, doubling); a restarted "
        "broker gets the full state again within about this long.",
    )
    device_id: str = Field(
        default_factory=default_device_id,
        description="Names this daemon on the broker and in Home Assistant (default: the host name, "
        "slugified). Unique per room.",
    )
    name: str | None = Field(
        default=None, max_length=100, description="Device name shown in Home Assistant (None: "
        "SoulSync <device_id>)."
    )
    base_topic: str | None = Field(
        default=None, max_length=TOPIC_PREFIX_MAX,
        description="Prefix of every state and command topic (None: soulsync/<device_id>).",
    )
    discovery: bool = Field(default=True, description="Announce the entities to Home Assistant.")
    discovery_prefix: str = Field(
        default="homeassistant", max_length=TOPIC_PREFIX_MAX,
        description="Home Assistant's discovery prefix (its birth topic is <prefix>/status).",
    )
    suggested_area: str | None = Field(
        default=None, max_length=100,
        description="Area Home Assistant puts the new device in, e.g. Living Room.",
    )
    diagnostics_interval_s: float = Field(
        default=60.0, ge=1, le=3600, description="Seconds between diagnostics messages."
    )
    discovery_mode: Literal["entity", "device", "auto"] = Field(
        default="auto",
        description="entity: one discovery config per entity (every Home Assistant); device: one config "
        "for the whole device (Home Assistant 2024.11 or later); auto: device when ha_version says "
        "2024.11 or later, else entity. Switching removes the other form's configs.",
    )
    ha_version: str | None = Field(
        default=None, max_length=20,
        description="The Home Assistant version in use (e.g. 2025.1), for discovery_mode: auto; None: "
        "unknown.",
    )

    @field_validator("ca_file", "certfile", "keyfile")
    @classmethod
    def _relative_to_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)

    @field_validator("device_id")
    @classmethod
    def _device_id_is_a_slug(cls, value: str) -> str:
        if not DEVICE_ID_PATTERN.match(value):
            raise ValueError(
                f"must be 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit; got {value!r} "
                f"(e.g. {slugify(value)!r})"
            )
        return value

    @field_validator("base_topic", "discovery_prefix")
    @classmethod
    def _topic(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_topic(value, info.field_name or "topic")

    @field_validator("ha_version", mode="before")
    @classmethod
    def _ha_version_is_text(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML reads 2025.10 as the number 2025.1: only a quoted version is what was meant.
            raise ValueError(f'quote the version (ha_version: "{value}"): unquoted, YAML reads it as a '
                             "number")
        return value

    @field_validator("ha_version")
    @classmethod
    def _ha_version(cls, value: str | None) -> str | None:
        if value is not None and not HA_VERSION_PATTERN.match(value):
            raise ValueError(f"must look like 2024.11 or 2024.11.2, got {value!r}")
        return value

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> MqttConfig:
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("certfile and keyfile go together: set both or neither")
        if not self.tls and (self.ca_file or self.certfile):
            raise ValueError("ca_file, certfile and keyfile need tls: true")
        return self

    @property
    def topic(self) -> str:
        """The base topic in effect: ``base_topic`` or ``soulsync/<device_id>``."""
        return self.base_topic or f"soulsync/{self.device_id}"

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"soulsyncd-{self.device_id}"

    @property
    def device_discovery(self) -> bool:
        """Whether discovery goes out in the device form (``discovery_mode``, ``auto`` by ``ha_version``)."""
        if self.discovery_mode != "auto":
            return self.discovery_mode == "device"
        match = HA_VERSION_PATTERN.match(self.ha_version or "")
        return match is not None and (int(match[1]), int(match[2])) >= DEVICE_DISCOVERY_SINCE

    @property
    def device_name(self) -> str:
        return self.name or f"SoulSync {self.device_id}"
