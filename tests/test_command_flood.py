"""Issue 17: commands coalesce per tick (the newest of each kind wins), the camera is never reopened
faster than its back-off, and rejected commands are counted, not logged one by one."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from soulsyncd.core.commands import (
    Pause,
    Resume,
    SetCamera,
    SetMode,
    SetVolume,
    Skip,
    coalesce,
)
from soulsyncd.core.loop import SoulSync
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.testing import ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.types import Emotion, FaceBox, Frame

TICK_S = 0.2
FACE = np.full((64, 64, 3), 128, np.uint8)


class FaceDetector:
    def detect(self, frame: Frame) -> list[FaceBox]:
        return [FaceBox(8, 8, 48, 48)]


class HappyClassifier:
    def classify(self, faces: object) -> np.ndarray:
        probabilities = np.zeros((len(faces), 7), np.float32)  # type: ignore[arg-type]
        probabilities[:, int(Emotion.HAPPY)] = 1.0
        return probabilities


class Opens:
    """A source factory that counts the opens (a USB camera can only be opened once at a time)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sources: list[ReplaySource] = []

    def __call__(self) -> ReplaySource:
        source = ReplaySource([FACE] * 2000, self.clock)
        self.sources.append(source)
        return source


def make_core(clock: ManualClock, factory: Opens | None) -> SoulSync:
    return SoulSync(
        source=ReplaySource([FACE] * 2000, clock), detector=FaceDetector(),  # type: ignore[arg-type]
        classifier=HappyClassifier(), smoother=MoodSmoother(), policy=MoodPolicy(mode="match"),  # type: ignore[arg-type]
        player=RecordingPlayer(clock), clock=clock, source_factory=factory,
    )


def test_coalesce_keeps_the_newest_of_each_kind_in_arrival_order() -> None:
    commands = [SetMode("shift"), Pause(), SetVolume(10), Skip(), SetMode("match"), Resume(), Skip(),
                SetVolume(90)]
    assert coalesce(commands) == [SetMode("match"), Resume(), Skip(), SetVolume(90)]
    assert coalesce([Resume(), Pause()]) == [Pause()]  # a pause and a resume undo each other
    assert coalesce([]) == []


def test_a_flood_of_camera_toggles_ending_on_keeps_the_frames_flowing() -> None:
    """A retained command replayed, a dashboard toggled fast: 1,000 on/off in 20 s, newest on."""
    clock = ManualClock()
    opens = Opens(clock)
    core = make_core(clock, opens)
    core.source.start()  # type: ignore[union-attr]
    for _ in range(100):  # 20 s of ticks, 10 toggles each
        for n in range(10):
            core.submit(SetCamera(enabled=n % 2 == 1))
        clock.advance(TICK_S)
        core.tick()
    assert opens.sources == []  # the newest was always "on": the camera never closed
    assert core.stats.frames_analysed >= 95
    core.close()


def test_toggles_ending_off_and_on_by_turns_reopen_at_most_once_per_back_off() -> None:
    clock = ManualClock()
    opens = Opens(clock)
    core = make_core(clock, opens)
    core.source.start()  # type: ignore[union-attr]
    for tick in range(100):  # 20 s; each tick ends with the other state
        for n in range(10):
            core.submit(SetCamera(enabled=(n + tick) % 2 == 0))
        clock.advance(TICK_S)
        core.tick()
    # One open per tick would be 50; the back-off (1 s for a source without its own) allows 20.
    assert 1 <= len(opens.sources) <= 21
    # The last wish wins once the back-off has passed: switched on, frames flow again.
    core.submit(SetCamera(enabled=True))
    for _ in range(10):
        clock.advance(TICK_S)
        core.tick()
    analysed = core.stats.frames_analysed
    for _ in range(5):
        clock.advance(TICK_S)
        core.tick()
    assert core.stats.frames_analysed > analysed
    core.close()


def test_rejected_commands_are_counted_and_logged_at_most_once_a_minute(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    core = make_core(clock, None)  # no factory: "camera on" after "off" is rejected
    caplog.set_level(logging.WARNING)
    core.submit(SetCamera(enabled=False))
    clock.advance(TICK_S)
    core.tick()
    for tick in range(1000):  # 200 s of rejected "on" commands
        core.submit(SetCamera(enabled=True))
        if tick % 2:
            core.submit(SetVolume(500))  # out of range: rejected too
        clock.advance(TICK_S)
        core.tick()
    core.close()
    lines = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert 1 <= len(lines) <= 5, lines  # one at once, then one a minute with the count, one at stop
    assert any("more commands rejected" in line for line in lines)
    assert any("cannot be reopened" in line for line in lines)
