"""A stand-in for the daemon's core, for the adapters around it (MQTT, a future web page) and their tools.

:class:`FakeCore` has the real command queue and the real broadcaster, and one thread that drains
the queue and applies each command to the state the way the analysis loop does (mode, target,
pause, camera switch, speaker, volume, skip), then publishes the new snapshot with an event. Tests
set anything else (a mood, a player status) with :meth:`FakeCore.update`.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from soulsyncd.core.commands import (
    Command,
    CommandQueue,
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
from soulsyncd.core.progress import Progress
from soulsyncd.core.state import Broadcaster, DaemonState, EventKind, Subscriber
from soulsyncd.types import CameraStatus, PlayerState, PlayerStatus, Track


class FakeCore:
    """Satisfies :class:`~soulsyncd.core.handle.CoreHandle`; call :meth:`close` when done."""

    def __init__(self, initial: DaemonState | None = None, queue_size: int = 256) -> None:
        self.queue = CommandQueue(maxsize=queue_size)
        self.broadcaster = Broadcaster(initial or DaemonState(
            camera=CameraStatus.OK,
            player=PlayerState(status=PlayerStatus.OK, device="Kitchen", volume=40, playing=True,
                               track=Track("spotify:track:1", "First", ("Artist",), 200.0)),
        ))
        self.received: list[Command] = []
        self.applied = threading.Condition()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._skips = 0
        self.restarts = 0
        self._thread = threading.Thread(target=self._run, name="fake-core", daemon=True)
        self._thread.start()

    # --- CoreHandle ---------------------------------------------------------------------------------

    def submit(self, command: Command) -> bool:
        queued = self.queue.submit(command)
        self._wake.set()
        return queued

    def latest(self) -> DaemonState:
        return self.broadcaster.latest()

    def subscribe(self, name: str, callback: Subscriber) -> None:
        self.broadcaster.subscribe(name, callback)

    def progress(self) -> Progress:
        return Progress(last_tick_at=None, last_frame_at=None, capture_alive=True, frames_expected=False)

    # --- for tests ----------------------------------------------------------------------------------

    def update(self, kind: EventKind = EventKind.CONTROL, **changes: Any) -> DaemonState:
        """Replace fields of the snapshot and publish it with an event of ``kind``."""
        with self._lock:
            state = dataclasses.replace(self.broadcaster.latest(), **changes)
            self.broadcaster.publish(kind, state)
        return state

    def wait_received(self, count: int, timeout_s: float = 5.0) -> bool:
        """Wait until at least ``count`` commands have been applied."""
        with self.applied:
            return self.applied.wait_for(lambda: len(self.received) >= count, timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(2.0)
        self.broadcaster.close()

    # --- the "loop" ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            for command in self.queue.drain():
                kind, changes = self._apply(command)
                self.update(kind, **changes)
                with self.applied:
                    self.received.append(command)
                    self.applied.notify_all()

    def _apply(self, command: Command) -> tuple[EventKind, dict[str, Any]]:  # noqa: PLR0911 -- one per command
        state = self.broadcaster.latest()
        player = state.player
        match command:
            case SetMode(mode):
                return EventKind.CONTROL, {"mode": mode}
            case SetTarget(target):
                return EventKind.CONTROL, {"target": target}
            case Pause():
                return EventKind.CONTROL, {"paused": True}
            case Resume():
                return EventKind.CONTROL, {"paused": False}
            case SetCamera(enabled):
                return EventKind.CAMERA, {"camera": CameraStatus.OK if enabled else CameraStatus.DISABLED}
            case SetDevice(name):
                return EventKind.PLAYER, {"player": dataclasses.replace(player, device=name)}
            case SetVolume(percent):
                return EventKind.PLAYER, {"player": dataclasses.replace(player, volume=percent)}
            case SetLogLevel(level):
                return EventKind.CONTROL, {"log_level": level}
            case Restart():
                self.restarts += 1  # the real loop asks the Daemon to exit; here it is only counted
                return EventKind.CONTROL, {}
            case Skip():
                self._skips += 1
                track = Track(f"spotify:track:skip{self._skips}", f"Skipped to {self._skips}", ("Artist",))
                return EventKind.PLAYER, {"player": dataclasses.replace(player, track=track)}
        raise AssertionError(f"unhandled command {command!r}")
