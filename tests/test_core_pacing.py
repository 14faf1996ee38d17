"""The analysis loop's pacing (SoulSync.run) on a simulated clock: a tick rate, no burst after a stall."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from soulsyncd.core.loop import SoulSync
from soulsyncd.core.state import EventKind
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.testing import ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.types import FaceBox, Frame, PlayIntent

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


class FailingOnce(StallingClassifier):
    """Happy, except that the ``stall_at``-th call raises."""

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        if self.calls + 1 == self.stall_at:
            self.calls += 1
            raise ValueError("bad frame")
        return super().classify(faces)


def test_a_failing_tick_is_an_error_state_and_the_loop_runs_on() -> None:
    clock = ManualClock(100.0)
    classifier = FailingOnce(clock, stall_at=3, stall_s=0.0)
    core = SoulSync(source=ReplaySource([FACE] * 200, clock), detector=OneFace(), classifier=classifier,
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock),
                    clock=clock, analysis_fps=5.0)
    errors: list[str | None] = []
    got = threading.Event()
    core.subscribe("errors", lambda event: (errors.append(event.state.last_error), got.set())
                   if event.kind is EventKind.ERROR else None)
    stats = core.run(SimulatedStop(clock, 10))
    assert classifier.calls == 10  # every tick after the failing one analysed its frame
    assert stats.frames_analysed == 9
    assert got.wait(5)
    assert errors == ["analysis tick failed: ValueError: bad frame"]
    core.close()


def test_the_loop_ends_when_the_input_has_finished_and_nothing_is_left() -> None:
    clock = ManualClock(100.0)
    finished = threading.Event()
    core = SoulSync(source=ReplaySource([FACE] * 3, clock), detector=OneFace(),
                    classifier=StallingClassifier(clock, stall_at=0, stall_s=0.0),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock),
                    clock=clock, analysis_fps=5.0, finished=finished)
    finished.set()
    stop = SimulatedStop(clock, 100)
    stats = core.run(stop)
    assert stats.frames_analysed == 3
    assert len(stop.timeouts) == 4  # three frames, then one tick that found nothing: done
    core.close()


def test_decisions_and_mood_changes_are_timed_from_the_start() -> None:
    clock = ManualClock(100.0)
    core = SoulSync(source=ReplaySource([FACE] * 200, clock), detector=OneFace(),
                    classifier=StallingClassifier(clock, stall_at=0, stall_s=0.0),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock),
                    clock=clock, analysis_fps=5.0)
    stats = core.run(SimulatedStop(clock, 40))
    assert stats.decisions_made == len(stats.decisions) == 1
    assert 0.0 < stats.decisions[0][0] < 10.0  # seconds since start, not the clock's 100 s
    assert stats.mood_changes == len(stats.timeline) >= 1
    assert all(0.0 <= change.at_s < 10.0 for change in stats.timeline)
    core.close()


class AlwaysFailing:
    def __init__(self) -> None:
        self.calls = 0

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        self.calls += 1
        raise ValueError("bad frame")


def test_a_finished_input_whose_last_tick_fails_ends_at_that_tick() -> None:
    """A failed tick counts as "nothing analysed": with the input finished and no command queued,
    the loop ends there rather than ticking on."""
    clock = ManualClock(100.0)
    finished = threading.Event()
    classifier = AlwaysFailing()
    core = SoulSync(source=ReplaySource([FACE] * 50, clock), detector=OneFace(), classifier=classifier,
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock),
                    clock=clock, analysis_fps=5.0, finished=finished)
    finished.set()
    stop = SimulatedStop(clock, 100)
    stats = core.run(stop)
    assert (classifier.calls, len(stop.timeouts), stats.frames_analysed) == (1, 1, 0)
    assert stats.elapsed_s == 0.0  # no simulated time passed: the first wait was 0 s


def test_the_run_says_how_long_it_ran() -> None:
    clock = ManualClock(100.0)
    core = SoulSync(source=ReplaySource([FACE] * 50, clock), detector=OneFace(),
                    classifier=StallingClassifier(clock, stall_at=0, stall_s=0.0),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock),
                    clock=clock, analysis_fps=4.0)
    stats = core.run(SimulatedStop(clock, 10))  # waits of 0 s, then ten of 0.25 s, the last says stop
    assert stats.elapsed_s == 2.5
    assert stats.frames_analysed == 10
    core.close()


def test_a_decision_is_timed_from_the_start_and_published_as_a_decision_event() -> None:
    clock = ManualClock(100.0)
    core = SoulSync(source=ReplaySource([FACE] * 200, clock), detector=OneFace(),
                    classifier=StallingClassifier(clock, stall_at=0, stall_s=0.0),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock),
                    clock=clock, analysis_fps=5.0)
    events: list[tuple[EventKind, PlayIntent | None]] = []
    core.subscribe("test", lambda event: events.append((event.kind, event.state.last_intent)))
    clock.advance(2.5)
    intent = PlayIntent("play", reason="asked")
    core._act(intent)
    assert core.stats.decisions[-1] == (2.5, intent)
    assert core.latest().last_intent == intent
    core.close()  # delivers the queued events
    assert events == [(EventKind.DECISION, intent)]
