"""Issue 17: commands coalesce per tick (the newest of each kind wins), the camera is never reopened
faster than its back-off, and rejected commands are counted, not logged one by one."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from soulsyncd.core import commands
from soulsyncd.core.commands import (
    CommandQueue,
    Pause,
    RejectionLog,
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
from tests.doubles import RacedQueue

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


# --- the queue and the rejection log on their own (mutation round, issue 17 item 6) ---------------


class FakeTime:
    """Stands in for the ``time`` module inside soulsyncd.core.commands: a monotonic clock we move."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


def test_the_queue_holds_256_commands_by_default_and_the_257th_drops_the_oldest() -> None:
    queue = CommandQueue()
    assert queue.empty()
    assert all(queue.submit(SetVolume(n % 100)) for n in range(255))
    assert queue.submit(Skip())  # the 256th still fits
    assert queue.dropped == 0
    assert not queue.submit(SetMode("shift"))  # the 257th makes room
    assert queue.dropped == 1
    assert not queue.empty()


def test_a_drop_is_logged_at_once_then_the_count_at_most_once_a_minute(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime(30.0)  # a daemon started at boot: the first drop is logged all the same
    monkeypatch.setattr(commands, "time", fake)
    queue = CommandQueue(maxsize=2)
    caplog.set_level(logging.WARNING)
    for n in range(2):
        assert queue.submit(SetVolume(n))
    assert not queue.submit(SetVolume(2))  # the first drop: logged at once
    fake.now += 59.9
    for n in range(3, 8):  # five more drops within the minute: counted only
        assert not queue.submit(SetVolume(n))
    fake.now += 0.1  # a minute after the last line
    assert not queue.submit(SetVolume(8))
    assert not queue.submit(SetVolume(9))  # and nothing again until the next minute
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["command queue full: dropped the 1 oldest commands",
                        "command queue full: dropped the 6 oldest commands"]
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    assert queue.dropped == 8
    assert queue.drain() == [SetVolume(9)]


def test_a_drain_takes_at_most_1024_commands_and_leaves_the_rest_for_the_next_tick() -> None:
    queue = CommandQueue(maxsize=2000)
    for n in range(1024):
        queue.submit(SetVolume(n % 101))
    queue.submit(Skip())  # the 1,025th
    assert queue.drain() == [SetVolume(1023 % 101)]
    assert not queue.empty()
    assert queue.drain() == [Skip()]
    assert queue.empty()
    for n in range(5):
        queue.submit(SetVolume(n))
    queue.submit(Skip())
    assert queue.drain(limit=5) == [SetVolume(4)]
    assert queue.drain(limit=5) == [Skip()]


def test_the_rejection_log_logs_the_first_then_counts_for_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(500.0)
    rejections = RejectionLog(clock=clock.monotonic)
    caplog.set_level(logging.WARNING)
    rejections.rejected("volume must be 0..100, got 140")
    for _ in range(3):
        clock.advance(19.75)
        rejections.rejected("volume must be 0..100, got 141")  # 59.25 s after the first: counted
    clock.advance(0.75)  # exactly a minute after the first line
    rejections.rejected("volume must be 0..100, got 142")
    clock.advance(59.0)
    rejections.rejected("volume must be 0..100, got 143")
    clock.advance(60.0)
    rejections.rejected("volume must be 0..100, got 144")  # nothing unlogged since the last line
    rejections.flush()  # nothing left
    clock.advance(1.0)
    rejections.rejected("volume must be 0..100, got 145")
    rejections.rejected("volume must be 0..100, got 146")
    rejections.flush()
    rejections.flush()  # the count was reset: said once
    rejections.rejected("volume must be 0..100, got 147")  # still within the minute: counted again
    rejections.flush()
    assert [r.getMessage() for r in caplog.records] == [
        "volume must be 0..100, got 140",
        "volume must be 0..100, got 142 (and 3 more commands rejected in the last 60 s)",
        "volume must be 0..100, got 144 (and 1 more commands rejected in the last 119 s)",
        "2 more commands rejected, not logged one by one",
        "1 more commands rejected, not logged one by one",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_the_rejection_logs_default_interval_is_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(10.0)
    rejections = RejectionLog(clock=clock.monotonic)
    caplog.set_level(logging.WARNING)
    rejections.flush()  # nothing rejected yet: nothing to say
    rejections.rejected("first")
    clock.advance(60.0)
    rejections.rejected("second")
    assert [r.getMessage() for r in caplog.records] == ["first", "second"]



def test_the_seconds_since_the_last_line_are_right_on_a_clock_that_started_at_0(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()  # the first rejection at 0.0 s: still a time, not "no time"
    rejections = RejectionLog(clock=clock.monotonic)
    caplog.set_level(logging.WARNING)
    rejections.rejected("first")
    rejections.rejected("counted")
    clock.advance(61.0)
    rejections.rejected("third")
    assert [r.getMessage() for r in caplog.records] == [
        "first", "third (and 1 more commands rejected in the last 61 s)"]


def test_a_queue_drained_between_full_and_making_room_still_takes_the_command() -> None:
    queue = CommandQueue()
    raced = RacedQueue()
    queue._queue = raced  # type: ignore[assignment]
    assert queue.submit(Skip())  # nothing was dropped
    assert raced.items == [Skip()]
    assert queue.dropped == 0
