"""Test doubles the daemon can also run with: a manual clock, a replay frame source, a recording player.

They satisfy the Protocols in :mod:`soulsyncd.interfaces`, so tests drive the real core with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from soulsyncd.types import Frame, PlayerState, PlayerStatus, PlayIntent, Track


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ReplaySource:
    """Hands out a fixed list of images, one per ``latest()`` call, stamped with the given clock."""

    def __init__(self, images: Sequence[np.ndarray | None], clock: ManualClock) -> None:
        self._images = list(images)
        self._clock = clock
        self._next = 0
        self.started = False
        self.stopped = False

    def start(self) -> None:
        self.started = True

    def latest(self) -> Frame | None:
        if self._next >= len(self._images):
            return None
        image = self._images[self._next]
        self._next += 1
        if image is None:  # a gap: no new frame this tick
            return None
        return Frame(image=image, timestamp=self._clock.monotonic(), index=self._next - 1)

    @property
    def exhausted(self) -> bool:
        return self._next >= len(self._images)

    def stop(self) -> None:
        self.stopped = True


class RecordingPlayer:
    """Remembers every intent it was given, with the time it arrived."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self._clock = clock
        self.intents: list[PlayIntent] = []
        self.times: list[float] = []
        self.skips = 0
        self.outputs: list[tuple[str | None, int | None]] = []
        self.closed = False

    def apply(self, intent: PlayIntent) -> None:
        self.intents.append(intent)
        self.times.append(self._clock.monotonic() if self._clock else 0.0)

    def skip(self) -> None:
        self.skips += 1

    def set_output(self, device: str | None = None, volume: int | None = None) -> None:
        self.outputs.append((device, volume))

    def state(self) -> PlayerState:
        playing = bool(self.intents) and self.intents[-1].action == "play"
        return PlayerState(status=PlayerStatus.OK, playing=playing)

    def close(self) -> None:
        self.closed = True


class ListPicker:
    """A :class:`~soulsyncd.interfaces.TrackPicker` that hands out a fixed list of tracks in turn
    (``None`` once ``cycle`` is False and the list is used up) and records every call."""

    def __init__(self, tracks: Sequence[Track], *, cycle: bool = True) -> None:
        import threading

        self._lock = threading.Lock()
        self.tracks = list(tracks)
        self.cycle = cycle
        self.picks: list[tuple[PlayIntent, Track | None]] = []
        self.endings: list[tuple[Track, float, bool]] = []  # (track, listened_s, skipped)
        self._next = 0

    def pick(self, intent: PlayIntent) -> Track | None:
        with self._lock:
            track = None
            if self.tracks and (self.cycle or self._next < len(self.tracks)):
                track = self.tracks[self._next % len(self.tracks)]
                self._next += 1
            self.picks.append((intent, track))
            return track

    def finished(self, track: Track, listened_s: float, skipped: bool) -> None:
        with self._lock:
            self.endings.append((track, listened_s, skipped))
