"""What every doctor check reports (:class:`Check`), systemd's view of the unit (:class:`Unit`), and the
few facts about the installed service that the local and the network checks share."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from soulsyncd.service.installed import INSTALLED_CONFIG, SERVICE_USER, StateWrite

if TYPE_CHECKING:
    from soulsyncd.config import Config

Status = Literal["ok", "warn", "fail", "off"]
MARKS: dict[Status, str] = {"ok": "✓", "warn": "!", "fail": "✗", "off": "-"}
@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it stands, what was seen and what to do."""

    name: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        fix = f"\n    fix: {self.fix}" if self.fix else ""
        return f"{MARKS[self.status]} {self.name}: {self.detail}{fix}"


@dataclass(frozen=True)
class Unit:
    """systemd's view of the installed unit (None fields: not known)."""

    active: str
    sub: str
    result: str
    enabled: str
    status_text: str
    exec_status: str
    restarts: str
    started_monotonic_us: int

    @property
    def running(self) -> bool:
        return self.active in ("active", "activating", "reloading")


@contextmanager
def as_service(directory: Path) -> Iterator[None]:
    """Whatever SQLite or a token refresh leaves in ``directory`` stays its owner's (root only)."""
    access = StateWrite(directory)
    if os.geteuid() == 0:
        access.check()
    try:
        yield
    finally:
        access.finish()


def sudo_form(command: str) -> str:
    return command if os.geteuid() == 0 and not installed() else f"sudo {command}"


def installed() -> bool:
    return INSTALLED_CONFIG.is_file()


def service_uid(config: Config) -> int | None:
    """The uid the service runs as, when this machine has the installed service user."""
    try:
        return pwd.getpwnam(SERVICE_USER).pw_uid
    except KeyError:
        return None


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
