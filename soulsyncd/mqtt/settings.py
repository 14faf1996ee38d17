"""Config section ``mqtt``: the broker connection and how this daemon names itself there.

The password is never here: :func:`soulsyncd.config.read_secret` reads it (``mqtt-password``) from a
systemd credential or ``SOULSYNC_MQTT_PASSWORD`` when the bridge starts. Keys stay one level deep
(``mqtt.ca_file``, not ``mqtt.tls.ca_file``) so every key is a ``section.key`` in the README's table.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from soulsyncd.settings import FieldError, Section

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


def _check_topic(value: str, what: str) -> None:
    if not value or value.startswith("/") or value.endswith("/") or "//" in value:
        raise FieldError(what, f"{what} must be a non-empty topic without leading, trailing or double '/'")
    if _TOPIC_WILDCARDS.search(value):
        raise FieldError(what, f"{what} must not contain the wildcards '+' or '#'")
    if _CONTROL.search(value):
        raise FieldError(what, f"{what} must not contain control characters")


class MqttConfig(Section, frozen=True, kw_only=True):
    """Publish state to an MQTT broker, take commands from it, and announce entities to Home Assistant."""

    enabled: Annotated[bool, Meta(description="Connect to the broker at all.")] = False
    host: Annotated[str, Meta(
        min_length=1, max_length=253, description="Broker host name or address.",
    )] = "localhost"
    port: Annotated[int, Meta(ge=1, le=65535, description="Broker port (usually 8883 with TLS).")] = 1883
    tls: Annotated[bool, Meta(description="Connect with TLS (certificate checked).")] = False
    ca_file: Annotated[Path | None, Meta(
        description="CA certificate(s) for TLS (PEM); None: the system's trusted CAs.",
    )] = None
    certfile: Annotated[Path | None, Meta(description="Client certificate for TLS (PEM), optional.")] = None
    keyfile: Annotated[Path | None, Meta(description="Private key of the client certificate (PEM).")] = None
    username: Annotated[Annotated[str, Meta(max_length=256)] | None, Meta(
        description="Broker user; the password comes from the credential mqtt-password, never the YAML.",
    )] = None
    client_id: Annotated[Annotated[str, Meta(max_length=64)] | None, Meta(
        description="MQTT client id (None: soulsyncd-<device_id>).",
    )] = None
    protocol: Annotated[Literal["3.1.1", "5"], Meta(description="MQTT protocol version.")] = "3.1.1"
    keepalive: Annotated[int, Meta(
        ge=5, le=3600, description="Seconds between keep-alive pings; the broker's will fires "
        "after 1.5x this without one.",
    )] = 60
    reconnect_max_s: Annotated[float, Meta(
        ge=1, le=600,
        description="Longest wait between reconnect attempts (back-off from 1 s, doubling); a restarted "
        "broker gets the full state again within about this long.",
    )] = 4.0
    device_id: Annotated[str, Meta(
        description="Names this daemon on the broker and in Home Assistant (default: the host name, "
        "slugified). Unique per room.",
    )] = msgspec.field(default_factory=default_device_id)
    name: Annotated[Annotated[str, Meta(max_length=100)] | None, Meta(
        description="Device name shown in Home Assistant (None: SoulSync <device_id>).",
    )] = None
    base_topic: Annotated[Annotated[str, Meta(max_length=TOPIC_PREFIX_MAX)] | None, Meta(
        description="Prefix of every state and command topic (None: soulsync/<device_id>).",
    )] = None
    discovery: Annotated[bool, Meta(description="Announce the entities to Home Assistant.")] = True
    discovery_prefix: Annotated[str, Meta(
        max_length=TOPIC_PREFIX_MAX,
        description="Home Assistant's discovery prefix (its birth topic is <prefix>/status).",
    )] = "homeassistant"
    suggested_area: Annotated[Annotated[str, Meta(max_length=100)] | None, Meta(
        description="Area Home Assistant puts the new device in, e.g. Living Room.",
    )] = None
    diagnostics_interval_s: Annotated[float, Meta(
        ge=1, le=3600, description="Seconds between diagnostics messages.",
    )] = 60.0
    discovery_mode: Annotated[Literal["entity", "device", "auto"], Meta(
        description="entity: one discovery config per entity (every Home Assistant); device: one config "
        "for the whole device (Home Assistant 2024.11 or later); auto: device when ha_version says "
        "2024.11 or later, else entity. Switching removes the other form's configs.",
    )] = "auto"
    ha_version: Annotated[Annotated[str, Meta(max_length=20)] | None, Meta(
        description="The Home Assistant version in use (e.g. 2025.1), for discovery_mode: auto; None: "
        "unknown.",
    )] = None

    @classmethod
    def check_written(cls, data: Mapping[str, object]) -> None:
        value = data.get("ha_version")
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML reads 2025.10 as the number 2025.1: only a quoted version is what was meant.
            raise FieldError("ha_version", f'quote the version (ha_version: "{value}"): unquoted, YAML reads '
                             "it as a number")

    def __post_init__(self) -> None:
        if not DEVICE_ID_PATTERN.match(self.device_id):
            raise FieldError(
                "device_id",
                f"must be 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit; got "
                f"{self.device_id!r} (e.g. {slugify(self.device_id)!r})"
            )
        if self.base_topic is not None:
            _check_topic(self.base_topic, "base_topic")
        _check_topic(self.discovery_prefix, "discovery_prefix")
        if self.ha_version is not None and not HA_VERSION_PATTERN.match(self.ha_version):
            raise FieldError("ha_version", f"must look like 2024.11 or 2024.11.2, got {self.ha_version!r}")
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("certfile and keyfile go together: set both or neither")
        if not self.tls and (self.ca_file or self.certfile):
            raise ValueError("ca_file, certfile and keyfile need tls: true")

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
