"""The small Protocols at every hardware and network edge.

The core (``soulsyncd.app``) takes these as keyword arguments; anything that has the methods fits,
including the test doubles in ``soulsyncd.testing``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from soulsyncd.types import FaceBox, Frame, PlayerState, PlayIntent, Track


class Clock(Protocol):
    """Monotonic seconds; injected so pure logic can be driven by a manual clock in tests."""

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()


class FrameSource(Protocol):
    """A camera or file that captures in its own thread and hands out only the newest frame."""

    def start(self) -> None: ...

    def latest(self) -> Frame | None:
        """The newest frame not handed out before, or None if no new frame has arrived."""
        ...

    def stop(self) -> None: ...


class FaceDetector(Protocol):
    def detect(self, frame: Frame) -> list[FaceBox]:
        """Face boxes in full-frame coordinates, largest first."""
        ...


class Classifier(Protocol):
    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities (n, 7) in FER2013 class order for n grey face crops."""
        ...


class Player(Protocol):
    """Turns intents into music. Every method returns at once: network work runs on the player's own
    thread (or behind :class:`soulsyncd.player.PlayerWorker`), so the analysis loop never waits on it,
    and the player's errors become :class:`PlayerState`, never exceptions."""

    def apply(self, intent: PlayIntent) -> None:
        """Make playback follow the intent (the newest intent wins over any not yet acted on)."""
        ...

    def skip(self) -> None:
        """Go to the next track (the engine's next choice)."""
        ...

    def set_output(self, device: str | None = None, volume: int | None = None) -> None:
        """Play on the speaker of this name from now on and/or set its volume (percent); None: unchanged."""
        ...

    def state(self) -> PlayerState:
        """The newest snapshot of playback."""
        ...

    def close(self) -> None:
        """Stop the player's thread; the music itself is left as it is."""
        ...


class TrackPicker(Protocol):
    """Chooses concrete tracks for an intent (the mood engine); players call it at track boundaries.

    Called from the player's thread; implementations keep their own lock.
    """

    def pick(self, intent: PlayIntent) -> Track | None:
        """The next track for this intent, or None when the catalog has nothing for it."""
        ...

    def finished(self, track: Track, listened_s: float, skipped: bool) -> None:
        """How a chosen track ended: played for ``listened_s``, skipped by the listener or not."""
        ...


class Lifecycle(Protocol):
    """Told by the app when the daemon is ready, reloading or stopping (systemd's sd_notify)."""

    def ready(self, status: str) -> None: ...

    def reloading(self) -> None: ...

    def stopping(self) -> None: ...
