"""Logging for a daemon: to the journal with structured fields under systemd, to stderr otherwise,
and never a secret in either.

:func:`setup_logging` picks the output once at start:

* ``journal``: under systemd (``$INVOCATION_ID`` or ``$JOURNAL_STREAM`` set) with the
  ``systemd-python`` bindings importable (Debian's ``python3-systemd``): records go through
  ``systemd.journal.JournalHandler``, and every ``SOULSYNC_*`` attribute of a record (``extra=``)
  becomes a journal field, so ``journalctl -u soulsyncd SOULSYNC_EVENT=mood`` works.
* ``stderr-journal``: stderr is the journal's stream (``$JOURNAL_STREAM`` names it) but the
  bindings are missing: each line starts with a ``<N>`` syslog priority, which journald turns into
  the entry's priority (``SyslogLevelPrefix=yes``, the default); no timestamp, the journal has one.
* ``stderr``: run by hand: time, level, message.

The logger's name (``soulsyncd.vision.sources: ``) precedes the message only at level DEBUG.

Every handler carries a :class:`RedactFilter`: it formats the message (and any traceback) itself and
masks bearer tokens, ``password=…``/``"access_token": "…"`` style pairs, passwords in URLs, OAuth
codes in query strings, and the literal values of the credentials this process was given
(``$CREDENTIALS_DIRECTORY/*`` and secret-named ``SOULSYNC_*`` variables), before any handler sees it.

:class:`EventLog` is the journal's publisher: it subscribes to the core's events and logs each as
one line carrying ``SOULSYNC_EVENT=`` and the event's values as fields.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from soulsyncd.core.handle import CoreHandle
from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.types import CameraStatus, PlayerStatus

FIELD_PREFIX = "SOULSYNC_"
REDACTED = "[REDACTED]"
IDENTIFIER = "soulsyncd"  # SYSLOG_IDENTIFIER, so `journalctl -t soulsyncd` works outside the unit too
MAX_CREDENTIAL_BYTES = 64 * 1024  # larger files in the credentials directory are not secrets we log

# syslog priorities (sd-daemon.h): what journald stores as PRIORITY=.
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))

# A key whose value is secret: any identifier containing one of these words (access_token,
# client_secret, SOULSYNC_MQTT_PASSWORD, api-key, ...), then = or :, maybe quoted, then the value.
_SECRET_PAIR = re.compile(
    r"""(?ix)
    (?P<key>[\w.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|apikey)[\w.-]*)
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<value>(?!\[REDACTED\])[^\s"'&,;}\]]+)
    """
)
# Case-sensitive: "Basic" as the HTTP scheme, not "basic settings".
_BEARER = re.compile(
    r"\b(?P<scheme>[Bb]earer|BEARER|Basic)\s+(?P<value>(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{4,})")
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*):(?P<value>[^@\s/]+)@", re.IGNORECASE)
_QUERY_CODE = re.compile(r"(?P<head>[?&](?:code|state)=)(?P<value>[^&\s\"']+)")
_SECRET_ENV = re.compile(r"(?i)token|secret|passw|key|credential")


def priority(levelno: int) -> int:
    """The syslog priority for a logging level (DEBUG and below: 7)."""
    for level, value in _PRIORITIES:
        if levelno >= level:
            return value
    return 7


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secret values and anything that looks like a credential masked."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    text = _QUERY_CODE.sub(lambda m: f"{m['head']}{REDACTED}", text)
    return _SECRET_PAIR.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)


def credential_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets this process was handed: each file in ``$CREDENTIALS_DIRECTORY`` and each
    ``SOULSYNC_*`` variable whose name says secret/password/token/key. Longest first (so a
    secret containing another is masked whole); values under 4 characters are skipped, since
    masking them would mangle ordinary words."""
    env = os.environ if environ is None else environ
    values: set[str] = set()
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory:
        try:
            entries = list(Path(directory).iterdir())
        except OSError:
            entries = []
        for entry in entries:
            try:
                if entry.is_file() and entry.stat().st_size <= MAX_CREDENTIAL_BYTES:
                    values.add(entry.read_text(encoding="utf-8", errors="replace").strip())
            except OSError:
                continue
    for name, value in env.items():
        if name.startswith(FIELD_PREFIX) and _SECRET_ENV.search(name[len(FIELD_PREFIX):]):
            values.add(value.strip())
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


class RedactFilter(logging.Filter):
    """Masks secrets in a record before any handler formats it.

    The message is formatted here (``msg % args``) and the traceback rendered to text, both
    redacted; ``args`` and ``exc_info`` are then cleared, so no handler (the journal's sends
    ``args`` and ``exc_info`` as fields of their own) can reach the unredacted values.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self._formatter = logging.Formatter()

    def add_secret(self, value: str) -> None:
        """Also mask this literal value from now on (e.g. a token obtained at run time)."""
        if len(value) >= 4:
            with self._lock:
                self._secrets = sorted({*self._secrets, value}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_soulsync_redacted", False):
            return True  # a second handler sees the same record
        secrets = self._secrets
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must still log something, not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        for key, value in list(vars(record).items()):
            if key.startswith(FIELD_PREFIX) and isinstance(value, str):
                setattr(record, key, redact(value, secrets))
        record._soulsync_redacted = True
        return True


def _debugging() -> bool:
    return logging.getLogger().getEffectiveLevel() <= logging.DEBUG


class NamedAtDebugFormatter(logging.Formatter):
    """``fmt`` with ``logger: `` before the message only while the root level is DEBUG.

    A person reading ``camera: absent`` does not need ``soulsyncd.service.logs`` in front of it;
    whoever turned on DEBUG to chase a fault does. Decided per record, so a reload that changes
    ``logging.level`` changes the format too.
    """

    def __init__(self, fmt: str = "%(message)s", datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._plain = logging.Formatter(fmt, datefmt)
        self._named = logging.Formatter(fmt.replace("%(message)s", "%(name)s: %(message)s"), datefmt)

    def format(self, record: logging.LogRecord) -> str:
        return (self._named if _debugging() else self._plain).format(record)


class PriorityFormatter(NamedAtDebugFormatter):
    """``<N>message`` on every line, for stderr that journald reads (SyslogLevelPrefix=); the
    logger's name before the message at DEBUG."""

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{priority(record.levelno)}>"
        # Each line of a traceback becomes an entry of its own: give it the record's priority too.
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def stderr_is_journal(environ: Mapping[str, str], stream: TextIO) -> bool:
    """True when ``stream`` is the journal's stream connection (``$JOURNAL_STREAM`` = its dev:inode)."""
    value = environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in value.split(":"))
        stat = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


def under_systemd(environ: Mapping[str, str]) -> bool:
    """Started by systemd (a unit or ``systemd-run``): it sets ``$INVOCATION_ID`` and, for a journal
    stdout/stderr, ``$JOURNAL_STREAM``."""
    return bool(environ.get("INVOCATION_ID") or environ.get("JOURNAL_STREAM"))


def _journal_handler() -> logging.Handler | None:
    try:
        from systemd.journal import JournalHandler  # python3-systemd; optional, so imported here
    except ImportError:
        return None
    handler: logging.Handler = JournalHandler(SYSLOG_IDENTIFIER=IDENTIFIER)
    return handler


def setup_logging(level: str = "info", *, environ: Mapping[str, str] | None = None,
                  stream: TextIO | None = None, journal: bool = True) -> str:
    """Configure the root logger for the daemon; returns the output chosen.

    Args:
        level: the lowest level logged (``debug``, ``info``, ``warning``, ``error``).
        environ: the environment to judge by (default ``os.environ``).
        stream: where the stderr outputs write (default ``sys.stderr``).
        journal: False to never use the journal bindings (tests).

    Returns:
        ``"journal"``, ``"stderr-journal"`` or ``"stderr"`` (see the module's docstring).

    Replaces any handlers on the root logger; safe to call again (a reload with a new level).
    """
    env = os.environ if environ is None else environ
    out = sys.stderr if stream is None else stream
    handler: logging.Handler | None = _journal_handler() if journal and under_systemd(env) else None
    if handler is not None:
        mode = "journal"
        handler.setFormatter(NamedAtDebugFormatter())  # the journal has LOGGER= for the name anyway
    else:
        handler = logging.StreamHandler(out)
        if stderr_is_journal(env, out):
            mode = "stderr-journal"
            handler.setFormatter(PriorityFormatter())
        else:
            mode = "stderr"
            handler.setFormatter(NamedAtDebugFormatter(
                "%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S"))
    handler.addFilter(RedactFilter(credential_values(env)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    logging.captureWarnings(True)
    return mode


def fields(event: str, **values: object) -> dict[str, str]:
    """``extra=`` for a log call: ``SOULSYNC_EVENT=event`` and ``SOULSYNC_<KEY>=value`` per value.

    None values are left out; floats are written with 3 decimals.
    """
    extra = {f"{FIELD_PREFIX}EVENT": event}
    for key, value in values.items():
        if value is None:
            continue
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        extra[f"{FIELD_PREFIX}{key.upper()}"] = text
    return extra


Described = tuple[int, str, dict[str, str]]  # level, message, journal fields


def _mood(state: DaemonState) -> Described | None:
    mood = state.mood
    if mood is None:
        if state.camera in (CameraStatus.OK, CameraStatus.STARTING):
            return None  # not analysed yet: nothing to say
        return logging.INFO, f"mood unknown (camera {state.camera.value})", fields(
            "mood", emotion="unknown", faces=0, camera=state.camera.value)
    if mood.absent:
        return logging.INFO, f"mood at {state.stats.uptime_s:5.1f} s: absent (nobody there)", fields(
            "mood", emotion="absent", faces=0)
    return logging.INFO, (
        f"mood at {state.stats.uptime_s:5.1f} s: {mood.label} (confidence {mood.confidence:.2f}, "
        f"valence {mood.valence:+.2f}, arousal {mood.arousal:+.2f}, "
        f"{state.faces} face{'' if state.faces == 1 else 's'})"
    ), fields("mood", emotion=mood.label, confidence=mood.confidence, valence=mood.valence,
              arousal=mood.arousal, faces=state.faces)


def _decision(state: DaemonState) -> Described | None:
    from soulsyncd.core.playback import describe

    intent = state.last_intent
    if intent is None:
        return None
    return logging.INFO, f"decision: {describe(intent)}", fields(
        "decision", action=intent.action, mode=intent.mode, emotion=intent.emotion,
        target=intent.target, valence=intent.valence, energy=intent.energy, reason=intent.reason or None)


_CAMERA_FINE = {CameraStatus.OK, CameraStatus.STARTING, CameraStatus.DISABLED, CameraStatus.ENDED}


def _camera(state: DaemonState) -> Described:
    detail = f" ({state.camera_detail})" if state.camera_detail else ""
    level = logging.INFO if state.camera in _CAMERA_FINE else logging.WARNING
    return level, f"camera: {state.camera.value}{detail}", fields(
        "camera", camera=state.camera.value, detail=state.camera_detail or None)


def _player(state: DaemonState) -> Described:
    from soulsyncd.player import describe_track

    player = state.player
    track = player.track
    if track is None:
        what = f"{player.status.value}, nothing playing"
    elif player.status is PlayerStatus.DRY_RUN:
        what = f"would play {describe_track(track)}"
    else:
        what = f"{'playing' if player.playing else 'paused'} {describe_track(track)}"
    device = f" on {player.device}" if player.device else ""
    detail = f" — {player.detail}" if player.detail and track is not None else ""
    quiet = track is None or player.status in (PlayerStatus.OK, PlayerStatus.DRY_RUN)
    status = "" if quiet else f" [{player.status.value}]"
    error = f" ({player.last_error})" if player.last_error else ""
    level = logging.WARNING if player.last_error else logging.INFO
    return level, f"player: {what}{device}{detail}{status}{error}", fields(
        "player", player=player.status.value, device=player.device,
        track=track.uri if track is not None else None, error=player.last_error)


def _control(state: DaemonState) -> Described:
    paused = "paused" if state.paused else "not paused"
    return logging.INFO, f"control: mode {state.mode}, target {state.target}, {paused}", fields(
        "control", mode=state.mode, target=state.target, paused=str(state.paused).lower())


def _error(state: DaemonState) -> Described | None:
    if not state.last_error:
        return None
    return logging.WARNING, f"error: {state.last_error}", fields("error", error=state.last_error)


def _stats(state: DaemonState) -> Described:
    stats = state.stats
    return logging.DEBUG, (
        f"stats: {stats.analysis_fps:.1f} frames/s, detect {stats.detector_ms:.1f} ms, "
        f"classify {stats.inference_ms:.1f} ms, {stats.frames_analysed} frames analysed"
    ), fields("stats", fps=stats.analysis_fps, detector_ms=stats.detector_ms,
              inference_ms=stats.inference_ms, frames=stats.frames_analysed)


_DESCRIBERS: dict[EventKind, Callable[[DaemonState], Described | None]] = {
    EventKind.MOOD: _mood,
    EventKind.DECISION: _decision,
    EventKind.CAMERA: _camera,
    EventKind.PLAYER: _player,
    EventKind.CONTROL: _control,
    EventKind.ERROR: _error,
    EventKind.STATS: _stats,
}


def describe_event(event: Event) -> Described | None:
    """The level, message and journal fields for one core event; None for events not logged."""
    describer = _DESCRIBERS.get(event.kind)
    return describer(event.state) if describer is not None else None


def _player_key(state: DaemonState) -> tuple[Any, ...]:
    player = state.player
    return (player.status, player.device, player.track.uri if player.track else None, player.last_error)


class EventLog:
    """A :class:`~soulsyncd.core.handle.Service` that logs the core's events with journal fields.

    One line per mood change, decision, camera change, control change and error; a player event
    only when its status, device, track or error changed (not its position); statistics at DEBUG.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("soulsyncd.events")
        self._active = False
        self._last_player: tuple[Any, ...] | None = None

    def start(self, core: CoreHandle) -> None:
        self._active = True
        self._last_player = _player_key(core.latest())
        core.subscribe("event-log", self._on_event)

    def stop(self) -> None:
        self._active = False  # the core's subscriptions end with the core itself

    def _on_event(self, event: Event) -> None:
        if not self._active:
            return
        if event.kind is EventKind.PLAYER:
            key = _player_key(event.state)
            if key == self._last_player:
                return
            self._last_player = key
        described = describe_event(event)
        if described is not None:
            level, message, extra = described
            self.log.log(level, "%s", message, extra=extra)
