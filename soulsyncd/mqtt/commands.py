"""Incoming MQTT commands: the one table of topic -> handler, and the validation every payload passes.

A command topic is ``<base>/<thing>/set``. :func:`parse_request` checks the payload (size, UTF-8, no
control characters, then type and range for that thing) and returns the core command to queue, or
raises :class:`Rejected` with the reason and the state topics a dashboard should be re-sent so it
snaps back to the truth. Nothing here touches the core: the bridge puts the command on the core's queue.

Loose payloads are taken where the meaning is clear (what Node-RED, a shell or an automation sends):
words case-insensitively, ``ON``/``true``/``1``/``PRESS`` for a button, ``40``/``40.0``/``40 %`` for the
volume, a JSON string (``"match"``), and a JSON object ``{"value": ..., "correlation_id": ...}`` whose
id comes back in the answer on ``<base>/response``. The table is in docs/home-assistant.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from soulsyncd.core.commands import (
    LOG_LEVELS,
    MODES,
    Command,
    Pause,
    Restart,
    Resume,
    SetCamera,
    SetDevice,
    SetLogLevel,
    SetMode,
    SetTarget,
    SetVolume,
    Skip,
)
from soulsyncd.mood import targets
from soulsyncd.mqtt import state as topics

MAX_PAYLOAD_BYTES = 256
"""Longest accepted payload; anything longer is a mistake or an attack, never a command."""
DEVICE_NAME_MAX = 100
PRESS = "PRESS"  # what Home Assistant's MQTT button sends

_TRUE = frozenset({"on", "true", "1", "yes"})
_FALSE = frozenset({"off", "false", "0", "no"})
_PRESS_WORDS = frozenset({"press", *_TRUE})
CORRELATION_ID_MAX = 64


class Rejected(Exception):  # noqa: N818 -- a verdict, not a programming error
    """A payload or topic that is not a valid command.

    Attributes:
        reason: why, for the log.
        affects: the state topics (suffixes of the base topic) to re-publish.
    """

    def __init__(self, reason: str, affects: tuple[str, ...] = (), *, thing: str | None = None,
                 correlation_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.affects = affects
        self.thing = thing
        self.correlation_id = correlation_id


@dataclass(frozen=True)
class Request:
    """A valid command message: which thing, the core command, and the id to echo in the answer."""

    thing: str
    command: Command
    correlation_id: str | None = None


@dataclass(frozen=True)
class CommandSpec:
    """One row of the table: how to turn a checked text payload into a command, and what it affects."""

    parse: Callable[[str], Command]
    affects: tuple[str, ...]
    help: str


def _mode(text: str) -> Command:
    mode = text.lower()
    for known in MODES:
        if mode == known:
            return SetMode(known)
    raise ValueError(f"unknown mode {text!r}; expected one of {', '.join(MODES)}")


def _target(text: str) -> Command:
    target = text.strip().lower()
    if not targets.is_target(target):  # the policy's own rule: a mood name or "valence,energy"
        raise ValueError(f"unknown target {text!r}; expected one of {', '.join(targets.NAMES)} "
                         "or 'valence,energy' in [0, 1]")
    return SetTarget(target)


def _switch(text: str) -> bool:
    word = text.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"expected ON or OFF, got {text!r}")


def _press(command: Command) -> Callable[[str], Command]:
    def parse(text: str) -> Command:
        if text.lower() not in _PRESS_WORDS:
            raise ValueError(f"expected {PRESS} (or ON, true, 1), got {text!r}")
        return command

    return parse


def _device(text: str) -> Command:
    if not text:
        raise ValueError("empty speaker name")
    if len(text) > DEVICE_NAME_MAX:
        raise ValueError(f"speaker name longer than {DEVICE_NAME_MAX} characters")
    return SetDevice(text)


def _log_level(text: str) -> Command:
    level = text.lower()
    for known in LOG_LEVELS:
        if level == known:
            return SetLogLevel(known)
    raise ValueError(f"unknown log level {text!r}; expected one of {', '.join(LOG_LEVELS)}")


def _volume(text: str) -> Command:
    text = text.removesuffix("%").strip()  # "40 %" from a dashboard that shows the unit
    if not text.isascii():  # float() would take Arabic-Indic and other Unicode digits
        raise ValueError(f"volume must be a number 0-100, got {text!r}")
    try:
        value = float(text)  # Home Assistant's number sends "40" or "40.0"
    except ValueError:
        raise ValueError(f"volume must be a number 0-100, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"volume must be 0-100, got {text!r}")
    return SetVolume(round(value))


COMMANDS: dict[str, CommandSpec] = {
    "mode": CommandSpec(_mode, (topics.MODE,), "off | match | shift"),
    "target": CommandSpec(_target, (topics.TARGET, topics.SHIFT),
                          " | ".join(targets.NAMES) + " | valence,energy"),
    "camera": CommandSpec(lambda t: SetCamera(_switch(t)), (topics.CAMERA,),
                          "ON | OFF (OFF stops capture and releases the camera device)"),
    "pause": CommandSpec(_press(Pause()), (topics.PAUSED,), PRESS),
    "resume": CommandSpec(_press(Resume()), (topics.PAUSED,), PRESS),
    "skip": CommandSpec(_press(Skip()), (topics.PLAYING,), PRESS),
    "device": CommandSpec(_device, (topics.DEVICE, topics.PLAYING),
                          f"Spotify Connect speaker name (1-{DEVICE_NAME_MAX} characters)"),
    "volume": CommandSpec(_volume, (topics.VOLUME,), "0-100 (percent)"),
    "restart": CommandSpec(_press(Restart()), (), f"{PRESS} (a clean exit that systemd restarts)"),
    "log_level": CommandSpec(_log_level, (topics.LOG_LEVEL,), " | ".join(LOG_LEVELS)),
}
"""The one table: ``<base>/<thing>/set`` -> how its payload becomes a core command."""


def decode(payload: bytes) -> str:
    """The payload as stripped text, or :class:`Rejected` if it is too long, not UTF-8 or has control
    characters."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Rejected(f"payload of {len(payload)} bytes (at most {MAX_PAYLOAD_BYTES})")
    try:
        text = payload.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Rejected("payload is not UTF-8 text") from None
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text.strip()):
        raise Rejected("payload contains control characters")
    return text.strip()


def thing_of(topic: str, base: str) -> str:
    """The ``<thing>`` of ``<base>/<thing>/set``, or :class:`Rejected` for any other topic."""
    prefix = base + "/"
    rest = topic[len(prefix):] if topic.startswith(prefix) else None
    if rest is None or not rest.endswith("/set") or rest.count("/") != 1:
        raise Rejected(f"not a command topic (expected {base}/<thing>/set)")
    thing = rest[: -len("/set")]
    if thing not in COMMANDS:
        raise Rejected(f"unknown command {thing!r}; known: {', '.join(COMMANDS)}")
    return thing


def _scalar(value: object) -> str:
    """A JSON value as the text a plain payload would carry (``true`` -> ``true``, ``40`` -> ``40``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return repr(value)
    raise ValueError(f"expected a word or a number, got {json.dumps(value)[:40]}")


def unwrap(text: str) -> tuple[str, str | None]:
    """(value, correlation id) of a payload: a JSON object ``{"value": ..., "correlation_id": ...}``,
    a JSON string, or the plain text itself (what does not parse as either stays plain text)."""
    if not text.startswith(("{", '"')):
        return text, None
    try:
        data = json.loads(text)
    except ValueError:
        return text, None
    if isinstance(data, str):
        return data.strip(), None
    if not isinstance(data, dict):
        return text, None
    raw_id = data.get("correlation_id")
    correlation_id = None if raw_id is None or isinstance(raw_id, bool | dict | list) else str(raw_id)
    if correlation_id is not None and len(correlation_id) > CORRELATION_ID_MAX:
        raise Rejected(f"correlation_id longer than {CORRELATION_ID_MAX} characters")
    if "value" not in data:
        raise Rejected('a JSON payload needs a "value"', correlation_id=correlation_id)
    try:
        return _scalar(data["value"]), correlation_id
    except ValueError as exc:
        raise Rejected(str(exc), correlation_id=correlation_id) from None


def parse_request(topic: str, payload: bytes, base: str) -> Request:
    """The thing, core command and correlation id for a message on ``topic``.

    Raises:
        Rejected: the topic is not a command topic, or the payload is not valid for it; ``affects``
            names the state topics to re-publish, ``thing`` and ``correlation_id`` what the answer
            names (when known).
    """
    thing = thing_of(topic, base)
    spec = COMMANDS[thing]
    correlation_id = None
    try:
        text, correlation_id = unwrap(decode(payload))
        if not text:
            raise Rejected("empty payload")
        return Request(thing, spec.parse(text), correlation_id)
    except Rejected as exc:
        known = exc.correlation_id if exc.correlation_id is not None else correlation_id
        raise Rejected(exc.reason, spec.affects, thing=thing, correlation_id=known) from None
    except ValueError as exc:
        raise Rejected(str(exc), spec.affects, thing=thing, correlation_id=correlation_id) from None


def parse(topic: str, payload: bytes, base: str) -> Command:
    """The core command for a message on ``topic`` (:func:`parse_request` without the id).

    Raises:
        Rejected: as :func:`parse_request`.
    """
    return parse_request(topic, payload, base).command
