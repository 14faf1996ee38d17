"""The analysis loop's pacing (SoulSync.run) on a simulated clock: a tick rate, no burst after a stall."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from soulsyncd.core.loop import SoulSync
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.testing import ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.types import FaceBox, Frame

FACE = np.full((64, 64, 3), 128, np.uint8)


class SimulatedStop(threading.Event):
    """A stop event whose waits pass simulated time on ``clock``, and that stops after ``waits`` waits."""

    def __init__(self, clock: ManualClock, waits: int) -> None:
        super().__init__()
        self.clock, self.left, self.timeouts = clock, waits, list[float]()

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout or 0.0)
        self.clock.advance(timeout or 0.0)
        self.left -= 1
        return self.left < 0


class StallingClassifier:
    """Happy every time; the ``stall_at``-th call takes ``stall_s`` of the simulated clock."""

    def __init__(self, clock: ManualClock, stall_at: int, stall_s: float) -> None:
        self.clock, self.stall_at, self.stall_s, self.calls = clock, stall_at, stall_s, 0

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.stall_at:
            self.clock.advance(self.stall_s)
        probabilities = np.zeros((len(faces), 7), np.float32)
        probabilities[:, 3] = 1.0
        return probabilities


class OneFace:
    def detect(self, frame: Frame) -> list[FaceBox]:
        return [FaceBox(8, 8, 48, 48)]


def run_with_stall(stall_s: float, waits: int = 30) -> list[float]:
    clock = ManualClock(100.0)
    core = SoulSync(source=ReplaySource([FACE] * 200, clock), detector=OneFace(),
                    classifier=StallingClassifier(clock, stall_at=5, stall_s=stall_s),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock),
                    clock=clock, analysis_fps=5.0)
    stop = SimulatedStop(clock, waits)
    core.run(stop)
    core.close()
    return stop.timeouts


def test_ticks_are_paced_at_the_analysis_rate() -> None:
    timeouts = run_with_stall(0.0)
    assert all(abs(t - 0.2) < 1e-9 for t in timeouts[1:]), timeouts


def test_after_a_stall_the_loop_does_not_catch_up_with_a_burst_of_ticks() -> None:
    timeouts = run_with_stall(2.0)  # ten ticks' worth of time in one slow frame
    immediate = [t for t in timeouts[1:] if t < 1e-9]
    assert len(immediate) <= 2, timeouts  # not ten
    assert all(abs(t - 0.2) < 1e-9 for t in timeouts[-10:]), timeouts  # then the rate again
