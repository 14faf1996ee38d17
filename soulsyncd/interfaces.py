"""The small Protocols at every hardware and network edge.

The core (``soulsyncd.app``) takes these as keyword arguments; anything that has the methods fits,
including the test doubles in ``soulsyncd.testing``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from soulsyncd.types import FaceBox, Frame, PlayIntent


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
    def apply(self, intent: PlayIntent) -> None:
        """Make playback follow the intent; errors are the player's to log and survive."""
        ...

    def close(self) -> None: ...
