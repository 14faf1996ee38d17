"""The privacy switch in the core: what the listener sees when the camera goes off and on again."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from soulsyncd.core.commands import SetCamera
from soulsyncd.core.loop import SoulSync
from soulsyncd.core.state import Event, EventKind
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.testing import ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.types import CameraStatus, FaceBox, Frame

FACE = np.full((64, 64, 3), 128, np.uint8)


class ResettableDetector:
    def __init__(self) -> None:
        self.resets = 0

    def detect(self, frame: Frame) -> list[FaceBox]:
        return [FaceBox(8, 8, 48, 48)]

    def reset(self) -> None:
        self.resets += 1


class Happy:
    def classify(self, faces: object) -> np.ndarray:
        probabilities = np.zeros((1, 7), np.float32)
        probabilities[:, 3] = 1.0
        return probabilities


class GapSmoother(MoodSmoother):
    def __init__(self) -> None:
        super().__init__()
        self.gaps: list[float] = []

    def skip_gap(self, seconds: float) -> None:
        self.gaps.append(seconds)
        super().skip_gap(seconds)


class Rig:
    def __init__(self, *, reopen: bool = True,
                 kind: Callable[[list[np.ndarray], ManualClock], ReplaySource] = ReplaySource) -> None:
        self.clock = ManualClock(500.0)
        self.sources: list[ReplaySource] = []
        self.kind = kind  # what a reopen makes (the first camera is a plain replay)
        self.detector = ResettableDetector()
        self.smoother = GapSmoother()
        first = ReplaySource([FACE] * 100, self.clock)
        self.sources.append(first)
        self.core = SoulSync(source=first, detector=self.detector, classifier=Happy(), smoother=self.smoother,
                             policy=MoodPolicy(), player=RecordingPlayer(self.clock), clock=self.clock,
                             source_factory=self.open if reopen else None)
        self.cameras: list[tuple[CameraStatus, str]] = []
        self.seen = threading.Condition()
        self.core.subscribe("camera", self.on_event)
        first.start()

    def open(self) -> ReplaySource:
        source = self.kind([FACE] * 100, self.clock)
        self.sources.append(source)
        return source

    def on_event(self, event: Event) -> None:
        if event.kind is EventKind.CAMERA:
            with self.seen:
                self.cameras.append((event.state.camera, event.state.camera_detail))
                self.seen.notify_all()

    def switch(self, enabled: bool, ticks: int = 1) -> None:
        self.core.submit(SetCamera(enabled))
        for _ in range(ticks):
            self.clock.advance(0.2)
            self.core.tick()

    def wait_camera(self, wanted: tuple[CameraStatus, str]) -> None:
        with self.seen:
            assert self.seen.wait_for(lambda: wanted in self.cameras, timeout=5), self.cameras


def test_off_releases_the_camera_and_says_privacy_switch_once() -> None:
    rig = Rig()
    rig.switch(True)  # already on: nothing happens
    assert len(rig.sources) == 1
    assert rig.core.source is rig.sources[0]
    assert not rig.sources[0].stopped
    rig.switch(False)
    rig.switch(False)  # already off: nothing more
    assert rig.sources[0].stopped
    assert rig.core.source is None
    state = rig.core.latest()
    assert (state.camera, state.camera_detail) == (CameraStatus.DISABLED, "privacy switch")
    rig.wait_camera((CameraStatus.DISABLED, "privacy switch"))
    rig.core.close()
    assert [c for c, _ in rig.cameras].count(CameraStatus.DISABLED) == 1


def test_on_opens_a_fresh_camera_resets_the_detector_and_skips_the_gap() -> None:
    rig = Rig()
    rig.switch(False)
    rig.clock.advance(60.0)
    with rig.seen:
        rig.cameras.clear()
    rig.switch(True)
    assert len(rig.sources) == 2
    assert rig.sources[1].started
    assert rig.core.source is rig.sources[1]
    assert rig.detector.resets == 1
    assert rig.smoother.gaps == [pytest.approx(60.2)]  # off from one tick to the next, plus the minute
    rig.wait_camera((CameraStatus.STARTING, ""))
    rig.clock.advance(5.0)  # past the reopen back-off (issue 17: a toggle flood never reopens faster)
    rig.switch(False)
    rig.switch(True)
    assert len(rig.smoother.gaps) == 2
    assert rig.smoother.gaps[1] == pytest.approx(0.2)  # measured from the second off, not the first
    rig.core.close()


def test_a_camera_that_cannot_be_reopened_is_rejected_and_stays_off() -> None:
    rig = Rig(reopen=False)
    rig.switch(False)
    rig.switch(True)
    assert rig.core.source is None
    expected = "command SetCamera(enabled=True) rejected: this camera cannot be reopened"
    assert rig.core.latest().last_error == expected
    rig.core.close()


def test_a_core_started_with_the_camera_off_publishes_it_and_skips_the_gap_when_switched_on() -> None:
    rig = Rig()
    rig.core.start_with_camera_off()
    rig.wait_camera((CameraStatus.DISABLED, "privacy switch"))
    rig.clock.advance(30.0)
    rig.switch(True)
    assert rig.smoother.gaps == [pytest.approx(30.2)]
    rig.core.close()


class PlainDetector:
    """A detector without memory (no ``reset``)."""

    def detect(self, frame: Frame) -> list[FaceBox]:
        return [FaceBox(8, 8, 48, 48)]


def test_a_detector_without_memory_needs_no_reset() -> None:
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE] * 10, clock), detector=PlainDetector(), classifier=Happy(),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock), clock=clock,
                    source_factory=lambda: ReplaySource([FACE] * 10, clock))
    for enabled in (False, True):
        core.submit(SetCamera(enabled))
        clock.advance(0.2)
        core.tick()
    assert core.source is not None
    assert core.latest().last_error is None
    core.close()


# --- the reopen back-off, to the tick (mutation round four) -------------------------------------------


def step(rig: Rig, seconds: float, *enabled: bool) -> None:
    """Queue these switch commands, move the clock (binary fractions: exact times) and tick once."""
    for on in enabled:
        rig.core.submit(SetCamera(on))
    rig.clock.advance(seconds)
    rig.core.tick()


def test_a_reopen_waits_for_the_1_s_back_off_and_happens_on_the_tick_it_ends() -> None:
    rig = Rig()  # a source without a back-off of its own: 1 s between two opens
    step(rig, 0.25, False)
    step(rig, 0.25, True)  # 500.5: opened
    assert len(rig.sources) == 2
    step(rig, 0.25, False)
    step(rig, 0.5, True)  # 501.25: 0.75 s after the open, so it waits
    assert (len(rig.sources), rig.core.source) == (2, None)
    step(rig, 0.25)  # 501.5: exactly 1 s after the open, with no new command
    assert len(rig.sources) == 3
    assert rig.core.source is rig.sources[2]
    assert rig.sources[2].started
    rig.core.close()


def test_an_off_while_a_reopen_waits_cancels_it() -> None:
    """A dashboard toggled on, off, on, off fast: the camera stays off (the last word was off)."""
    rig = Rig()
    step(rig, 0.25, False)
    step(rig, 0.25, True)  # opened
    step(rig, 0.25, False)
    step(rig, 0.25, True)  # waits for the back-off
    step(rig, 0.25, False)  # cancels it
    for _ in range(8):
        step(rig, 0.25)
    assert (len(rig.sources), rig.core.source) == (2, None)
    assert rig.core.latest().camera is CameraStatus.DISABLED
    rig.core.close()


class SlowRetrySource(ReplaySource):
    retry_initial_s = 2.5  # the source's own back-off between opens


def test_the_back_off_is_the_sources_own_retry_time() -> None:
    rig = Rig(kind=SlowRetrySource)
    step(rig, 0.25, False)
    step(rig, 0.25, True)  # 500.5: opened, a source that retries after 2.5 s
    step(rig, 0.25, False)
    step(rig, 1.75, True)  # 502.5: 2 s after the open
    assert (len(rig.sources), rig.core.source) == (2, None)
    step(rig, 0.25)  # 502.75: still 0.25 s short
    assert len(rig.sources) == 2
    step(rig, 0.25)  # 503.0: 2.5 s
    assert len(rig.sources) == 3
    assert rig.core.source is rig.sources[2]
    rig.core.close()


def test_a_camera_that_fails_to_open_is_rejected_once_not_retried_at_every_tick() -> None:
    opens: list[float] = []

    def broken(images: list[np.ndarray], clock: ManualClock) -> ReplaySource:
        opens.append(clock.now)
        raise OSError("no camera at /dev/video0")

    rig = Rig(kind=broken)
    step(rig, 0.25, False)
    step(rig, 0.25, True)
    for _ in range(12):
        step(rig, 0.25)
    assert opens == [500.5]
    assert rig.core.source is None
    expected = "command SetCamera(enabled=True) rejected: no camera at /dev/video0"
    assert rig.core.latest().last_error == expected
    rig.core.close()


def test_a_core_started_with_the_camera_off_keeps_it_off_until_asked() -> None:
    rig = Rig()
    rig.core.start_with_camera_off()
    for _ in range(10):
        step(rig, 0.25)
    assert (len(rig.sources), rig.core.source) == (1, None)
    assert rig.core.latest().camera is CameraStatus.DISABLED
    rig.core.close()
