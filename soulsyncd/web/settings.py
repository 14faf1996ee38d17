"""Config section ``web``: the local status page (:mod:`soulsyncd.web.server`).

The password is never here: :func:`soulsyncd.config.read_secret` reads it (``web-password``) from a
systemd credential or ``SOULSYNC_WEB_PASSWORD`` when the page starts. Listening on anything but a
loopback address without one is refused at start-up (exit 78).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Annotated

from msgspec import Meta

from soulsyncd.settings import FieldError, Section

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


class WebConfig(Section, frozen=True, kw_only=True):
    """The local status page: live mood, timeline, framing check (no pixels) and controls."""

    enabled: Annotated[bool, Meta(description="Serve the status page at all.")] = False
    listen: Annotated[str, Meta(
        min_length=1, max_length=253,
        description="Address to listen on: 127.0.0.1 (this machine only), an address of the Pi, or 0.0.0.0 "
        "/ :: for every interface; beyond loopback the credential web-password is required.",
    )] = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535, description="TCP port of the page.")] = 8088
    hosts: Annotated[tuple[str, ...], Meta(
        max_length=32,
        description="Host names the page may be reached by (Host header), besides localhost, 127.0.0.1, "
        "[::1], this machine's name, <name>.local and the listen address; guards against DNS rebinding.",
    )] = ()
    history_days: Annotated[int, Meta(
        ge=0, le=HISTORY_DAYS_MAX,
        description="Days of mood/track history kept in the state dir for the timeline (0: none kept on "
        "disk); never any image.",
    )] = 7
    max_clients: Annotated[int, Meta(
        ge=1, le=MAX_CLIENTS_MAX,
        description="Most open connections (pages' live streams included); more are refused.",
    )] = 64

    def __post_init__(self) -> None:
        if self.listen != "localhost":
            try:
                ipaddress.ip_address(self.listen)
            except ValueError:
                raise FieldError("listen", "must be an IP address (127.0.0.1, 0.0.0.0, ::, 192.168.1.20) or "
                                 "localhost") from None
        for host in self.hosts:
            if not _HOST_NAME.match(host):
                try:
                    ipaddress.ip_address(host.strip("[]"))
                except ValueError:
                    raise FieldError(
                        "hosts", f"{host!r} is not a host name or address (no port, no scheme)") from None

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
