"""Config section ``web``: the local status page (:mod:`soulsyncd.web.server`).

The password is never here: :func:`soulsyncd.config.read_secret` reads it (``web-password``) from a
systemd credential or ``SOULSYNC_WEB_PASSWORD`` when the page starts. Listening on anything but a
loopback address without one is refused at start-up (exit 78).
"""

from __future__ import annotations

import ipaddress
import re
import socket

from pydantic import Field, field_validator

from soulsyncd.settings import Section

HISTORY_DAYS_MAX = 365
MAX_CLIENTS_MAX = 256
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$")


PASSWORD_CREDENTIAL = "web-password"


def lan_without_password(listen: str) -> str:
    """Why ``web.listen`` beyond loopback without a password is refused (worded so that the log's
    redaction, which masks what follows "password:", leaves it whole)."""
    return (f"{listen} is reachable from other machines, which needs a password; set the credential "
            f"{PASSWORD_CREDENTIAL} (LoadCredential=/SetCredential= in the unit, or SOULSYNC_WEB_PASSWORD), "
            "or listen on 127.0.0.1")


def is_loopback(listen: str) -> bool:
    """True for an address only this machine can reach (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if listen == "localhost":
        return True
    try:
        return ipaddress.ip_address(listen).is_loopback
    except ValueError:
        return False


class WebConfig(Section):
    """The local status page: live mood, timeline, framing check (no pixels) and controls."""

    enabled: bool = Field(default=False, description="Serve the status page at all.")
    listen: str = Field(
        default="127.0.0.1", min_length=1, max_length=253,
        description="Address to listen on: 127.0.0.1 (this machine only), an address of the Pi, or 0.0.0.0 "
        "/ :: for every interface; beyond loopback the credential web-password is required.",
    )
    port: int = Field(default=8088, ge=1, le=65535, description="TCP port of the page.")
    hosts: tuple[str, ...] = Field(
        default=(), max_length=32,
        description="Host names the page may be reached by (Host header), besides localhost, 127.0.0.1, "
        "[::1], this machine's name, <name>.local and the listen address; guards against DNS rebinding.",
    )
    history_days: int = Field(
        default=7, ge=0, le=HISTORY_DAYS_MAX,
        description="Days of mood/track history kept in the state dir for the timeline (0: none kept on "
        "disk); never any image.",
    )
    max_clients: int = Field(
        default=64, ge=1, le=MAX_CLIENTS_MAX,
        description="Most open connections (pages' live streams included); more are refused.",
    )

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        if value != "localhost":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError("must be an IP address (127.0.0.1, 0.0.0.0, ::, 192.168.1.20) or "
                                 "localhost") from None
        return value

    @field_validator("hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not _HOST_NAME.match(host):
                try:
                    ipaddress.ip_address(host.strip("[]"))
                except ValueError:
                    raise ValueError(f"{host!r} is not a host name or address (no port, no scheme)") from None
        return value

    @property
    def loopback(self) -> bool:
        return is_loopback(self.listen)


def configuration_url(settings: WebConfig, host: str | None = None) -> str | None:
    """The page's address for Home Assistant's device info (``configuration_url``) when the page is on
    and reachable from the LAN; None otherwise (a loopback page is of no use to another machine).

    ``host`` defaults to ``web.listen``, or this machine's ``<name>.local`` when that is every interface.
    """
    if not settings.enabled or settings.loopback:
        return None
    if host is None:
        host = settings.listen
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname().split(".")[0].lower() + ".local"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"
