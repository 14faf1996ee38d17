"""The one way out of the core: immutable state snapshots and events, delivered off the loop's thread.

The analysis loop builds a new :class:`DaemonState` whenever something changes and hands it to the
:class:`Broadcaster`, which keeps the newest one for readers (``latest()``) and puts an
:class:`Event` on each subscriber's own bounded queue, drained by that subscriber's own thread. A
slow subscriber loses its oldest events (counted), a failing one is logged; neither can stall or
kill the loop.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from soulsyncd.types import CameraStatus, Framing, Mood, PlayerState, PlayIntent, ShiftProgress

__all__ = [
    "Broadcaster", "DaemonState", "Event", "EventKind", "Framing", "ShiftProgress", "Stats", "Subscriber",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stats:
    """Running figures for diagnostics (medians over the last window of ticks)."""

    frames_analysed: int = 0
    frames_with_face: int = 0
    analysis_fps: float = 0.0
    inference_ms: float = 0.0
    detector_ms: float = 0.0
    uptime_s: float = 0.0
    commands_dropped: int = 0


@dataclass(frozen=True)
class DaemonState:
    """Everything a publisher shows, at one moment. Safe to share between threads."""

    mood: Mood | None = None  # None until the first analysed frame
    probabilities: tuple[float, ...] | None = None  # the smoothed window's, FER2013 order
    faces: int = 0
    mode: str = "match"
    target: str = "calm"
    paused: bool = False  # by the listener (a Pause command), not by an empty room
    camera: CameraStatus = CameraStatus.STARTING
    camera_detail: str = ""
    player: PlayerState = field(default_factory=PlayerState)
    shift: ShiftProgress | None = None
    last_intent: PlayIntent | None = None
    stats: Stats = field(default_factory=Stats)
    last_error: str | None = None
    framing: Framing = field(default_factory=Framing)  # unknown until a frame, and with the camera off
    log_level: str = "info"  # the root logger's level in effect (a command may change it)


class EventKind(enum.StrEnum):
    MOOD = "mood"  # the stable mood changed
    DECISION = "decision"  # the policy asked the player for something new
    CAMERA = "camera"  # the camera status changed
    PLAYER = "player"  # the player's state changed
    CONTROL = "control"  # mode, target, pause or camera switch changed (usually by a command)
    ERROR = "error"  # a command was rejected or a stage failed; ``state.last_error`` says why
    STATS = "stats"  # periodic diagnostics


@dataclass(frozen=True)
class Event:
    kind: EventKind
    state: DaemonState


Subscriber = Callable[[Event], None]


class _Subscription:
    def __init__(self, name: str, callback: Subscriber, maxsize: int) -> None:
        self.name = name
        self.callback = callback
        self.queue: queue.Queue[Event | None] = queue.Queue(maxsize=maxsize)
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, name=f"events-{name}", daemon=True)

    def offer(self, event: Event) -> None:
        while True:
            try:
                self.queue.put_nowait(event)
                return
            except queue.Full:
                try:  # the newest state matters more than an old one: drop the oldest
                    self.queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while (event := self.queue.get()) is not None:
            try:
                self.callback(event)
            except Exception:  # a subscriber's bug is its own; the others and the loop go on
                log.exception("event subscriber %s failed on %s", self.name, event.kind)

    def offer_stop(self) -> None:
        while True:
            try:
                self.queue.put_nowait(None)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.queue.get_nowait()


class Broadcaster:
    """Keeps the newest snapshot and fans events out to subscribers, each on its own thread."""

    def __init__(self, initial: DaemonState | None = None, queue_size: int = 64) -> None:
        self._latest = initial or DaemonState()
        self._queue_size = queue_size
        self._subscriptions: list[_Subscription] = []
        self._lock = threading.Lock()

    def latest(self) -> DaemonState:
        """The newest snapshot (an immutable value: read it from any thread)."""
        return self._latest

    def subscribe(self, name: str, callback: Subscriber) -> None:
        """Call ``callback(event)`` for every event from now on, on a thread of its own."""
        subscription = _Subscription(name, callback, self._queue_size)
        with self._lock:
            self._subscriptions.append(subscription)
        subscription.thread.start()

    def publish(self, kind: EventKind, state: DaemonState) -> None:
        """Store ``state`` as the newest and hand ``Event(kind, state)`` to every subscriber."""
        self._latest = state
        event = Event(kind, state)
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(event)

    def set_latest(self, state: DaemonState) -> None:
        """Update the snapshot without an event (figures that change every tick)."""
        self._latest = state

    @property
    def dropped(self) -> int:
        with self._lock:
            return sum(s.dropped for s in self._subscriptions)

    def close(self, timeout_s: float = 1.0) -> None:
        """Stop every subscriber's thread after it has handled what is queued (bounded wait)."""
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.offer_stop()
        for subscription in subscriptions:
            subscription.thread.join(timeout_s)
