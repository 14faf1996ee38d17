"""The one way into the core: commands on a thread-safe queue, drained on the analysis loop's thread.

Outside threads (MQTT callbacks, signal handlers, the player's network thread) never touch the
loop's objects. They call :meth:`CommandQueue.submit` with one of the value types below; the loop
takes them off at the start of every tick and runs each through its table of command -> handler
(Frigate's dispatcher). A command that cannot be applied is logged and reported in the state's
``last_error``; it never raises into the caller or the loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

Mode = Literal["off", "match", "shift"]
MODES: tuple[Mode, ...] = ("off", "match", "shift")


@dataclass(frozen=True)
class SetMode:
    """Match the mood, shift it toward the target, or leave the music alone."""

    mode: Mode


@dataclass(frozen=True)
class SetTarget:
    """The mood shift mode steers toward: a name or ``"valence,energy"`` (:mod:`soulsyncd.mood.targets`)."""

    target: str


@dataclass(frozen=True)
class Pause:
    """The listener paused: pause the music and ask for none until :class:`Resume`."""


@dataclass(frozen=True)
class Resume:
    """Undo :class:`Pause`: the mood decides the music again."""


@dataclass(frozen=True)
class Skip:
    """Go to the next track now."""


@dataclass(frozen=True)
class SetCamera:
    """The privacy switch: off stops capture and releases the camera device; on opens it again."""

    enabled: bool


@dataclass(frozen=True)
class SetDevice:
    """Play on the Spotify Connect speaker of this name from now on."""

    name: str


@dataclass(frozen=True)
class SetVolume:
    """Speaker volume in percent (0-100)."""

    percent: int


LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Restart:
    """End the daemon cleanly so its supervisor (systemd) starts it afresh."""


@dataclass(frozen=True)
class SetLogLevel:
    """The lowest level logged from now on (until the next start or reload: the file decides then)."""

    level: LogLevel


Command = (SetMode | SetTarget | Pause | Resume | Skip | SetCamera | SetDevice | SetVolume | Restart
           | SetLogLevel)
"""Anything the core accepts from outside. (Reloading the config is the app's job: it rebuilds.)"""


class CommandQueue:
    """Thread-safe, bounded, never blocks a producer.

    A flood of commands (a broken automation, a fuzzer) must not grow memory or stall the MQTT thread:
    when the queue is full the *oldest* command is dropped, so the listener's newest wish still gets
    through. Drops are counted and logged at most once per ``DROP_LOG_INTERVAL_S``.
    """

    DROP_LOG_INTERVAL_S = 60.0

    def __init__(self, maxsize: int = 256) -> None:
        self._queue: queue.Queue[Command] = queue.Queue(maxsize=maxsize)
        self._lock = threading.Lock()
        self.dropped = 0
        self._dropped_unlogged = 0
        self._last_drop_log = -self.DROP_LOG_INTERVAL_S

    def submit(self, command: Command) -> bool:
        """Queue ``command`` for the analysis loop; False if an older command had to make room."""
        with self._lock:  # producers on several threads: make room and put as one step
            made_room = False
            while True:
                try:
                    self._queue.put_nowait(command)
                    break
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        continue
                    self.dropped += 1
                    self._dropped_unlogged += 1
                    made_room = True
            if made_room:
                now = time.monotonic()
                if now - self._last_drop_log >= self.DROP_LOG_INTERVAL_S:
                    log.warning("command queue full: dropped the %d oldest commands", self._dropped_unlogged)
                    self._dropped_unlogged = 0
                    self._last_drop_log = now
        return not made_room

    def empty(self) -> bool:
        return self._queue.empty()

    def drain(self, limit: int = 1024) -> list[Command]:
        """The queued commands (up to ``limit`` taken), coalesced: of each kind only the newest, in
        the order those newest arrived (called by the loop each tick). A dashboard toggled fast, or
        a retained command replayed, then costs one camera reopen per tick, not one per message."""
        commands: list[Command] = []
        while len(commands) < limit:
            try:
                commands.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return coalesce(commands)


def _kind(command: Command) -> type:
    """Commands that undo each other are one kind: the newest of a pause and a resume wins."""
    return Pause if isinstance(command, Resume) else type(command)


def coalesce(commands: list[Command]) -> list[Command]:
    """Of each kind of command, the newest only, in the order those arrived."""
    newest: dict[type, int] = {}
    for index, command in enumerate(commands):
        newest[_kind(command)] = index
    return [commands[index] for index in sorted(newest.values())]


class RejectionLog:
    """Rejected commands: the first is logged, the rest only counted, their number logged at most
    once per ``interval_s`` (a flood of bad commands must not flood the journal)."""

    def __init__(self, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._last_log: float | None = None
        self._unlogged = 0

    def rejected(self, message: str) -> None:
        now = self._clock()
        if self._last_log is None or now - self._last_log >= self._interval_s:
            if self._unlogged and self._last_log is not None:  # counted since a line: there was one
                log.warning("%s (and %d more commands rejected in the last %.0f s)",
                            message, self._unlogged, now - self._last_log)
            else:
                log.warning("%s", message)
            self._last_log, self._unlogged = now, 0
        else:
            self._unlogged += 1

    def flush(self) -> None:
        """Log the count still unlogged (at stop)."""
        if self._unlogged:
            log.warning("%d more commands rejected, not logged one by one", self._unlogged)
            self._unlogged = 0
