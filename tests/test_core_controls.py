"""The listener's choices in the core: what a reload carries over, what pause/resume claim and emit,
the repeated-error log, and the watchdog's proof of life."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from soulsyncd.core.commands import Pause, Resume, SetDevice, SetMode, SetTarget, SetVolume, Skip
from soulsyncd.core.loop import Controls, RepeatedErrorLog, SoulSync
from soulsyncd.core.state import Event, EventKind
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.testing import ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.types import CameraStatus, FaceBox, Frame, PlayIntent

FACE = np.full((64, 64, 3), 128, np.uint8)


class OneFace:
    def detect(self, frame: Frame) -> list[FaceBox]:
        return [FaceBox(8, 8, 48, 48)]


class Happy:
    def classify(self, faces: object) -> np.ndarray:
        probabilities = np.zeros((1, 7), np.float32)
        probabilities[:, 3] = 1.0
        return probabilities


def make(clock: ManualClock, player: RecordingPlayer) -> SoulSync:
    return SoulSync(source=ReplaySource([FACE] * 200, clock), detector=OneFace(), classifier=Happy(),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=player, clock=clock)


def drive(core: SoulSync, clock: ManualClock, ticks: int) -> None:
    for _ in range(ticks):
        clock.advance(0.2)
        core.tick()
        assert core.wait_player_idle(5.0)


def test_controls_replay_only_what_differs_from_the_new_file_in_a_fixed_order() -> None:
    assert Controls().commands("match", "calm") == []
    same = Controls(mode="match", target="calm")
    assert same.commands("match", "calm") == []
    chosen = Controls(mode="shift", target="energetic", paused=True, device="Kitchen", volume=0)
    assert chosen.commands("match", "calm") == [SetMode("shift"), SetTarget("energetic"), Pause(),
                                                 SetDevice("Kitchen"), SetVolume(0)]
    assert Controls(target="sad").commands("match", "calm") == [SetTarget("sad")]
    assert Controls(mode="off").commands("match", "calm") == [SetMode("off")]


def test_the_core_reports_the_listeners_choices_for_a_reload() -> None:
    clock = ManualClock()
    core = make(clock, RecordingPlayer(clock))
    assert core.controls() == Controls(mode="match", target="calm", paused=False, camera_enabled=True)
    for command in (SetMode("shift"), SetTarget("energetic"), Pause(), SetDevice("Kitchen"), SetVolume(35)):
        core.submit(command)
    drive(core, clock, 1)
    assert core.controls() == Controls(mode="shift", target="energetic", paused=True, camera_enabled=True,
                                       device="Kitchen", volume=35)
    core.close()


def test_a_core_started_with_the_camera_off_says_so() -> None:
    clock = ManualClock()
    core = make(clock, RecordingPlayer(clock))
    core.start_with_camera_off()
    assert core.ready.is_set()
    assert core.source is None
    state = core.latest()
    assert (state.camera, state.camera_detail) == (CameraStatus.DISABLED, "privacy switch")
    assert not core.controls().camera_enabled
    assert not core.progress().frames_expected
    core.close()


def test_pause_and_resume_claim_playback_and_emit_a_control_event() -> None:
    clock = ManualClock()
    player = RecordingPlayer(clock)
    core = make(clock, player)
    controls: list[bool] = []
    got = threading.Event()

    def listener(event: Event) -> None:
        if event.kind is EventKind.CONTROL:
            controls.append(event.state.paused)
            if len(controls) == 2:
                got.set()

    core.subscribe("test", listener)
    drive(core, clock, 30)
    assert player.intents[-1].action == "play"
    core.submit(Pause())
    drive(core, clock, 1)
    assert player.intents[-1] == PlayIntent(action="pause", reason="paused by the listener", claim=True)
    core.submit(Resume())
    drive(core, clock, 1)
    assert (player.intents[-1].action, player.intents[-1].claim) == ("play", True)
    assert got.wait(5)
    assert controls == [True, False]
    core.submit(Skip())
    drive(core, clock, 1)
    assert player.skips == 1
    core.close()


def test_the_repeated_error_log_counts_repeats_per_interval_and_starts_over_when_cleared(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(1000.0)
    errors = RepeatedErrorLog(clock, interval_s=10)
    caplog.set_level(logging.ERROR, logger="soulsyncd.core.loop")
    assert errors.error("reading", ValueError("bad")) == "reading: ValueError: bad"
    clock.advance(5)
    errors.error("reading", ValueError("bad"))  # 5 s: counted, not logged
    clock.advance(5)
    errors.error("reading", ValueError("bad"))  # exactly the interval: the count goes out
    errors.error("reading", ValueError("bad"))  # a new interval starts: counted
    errors.error("reading", OSError("gone"))  # another error: the count, then the new one in full
    errors.clear()
    errors.error("reading", OSError("gone"))  # after clear, the same error is news again
    lines = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert lines == [("reading: ValueError: bad", True),
                     ("reading: ValueError: bad (repeated 2 more times)", False),
                     ("reading: ValueError: bad (repeated 1 more times)", False),
                     ("reading: OSError: gone", True),
                     ("reading: OSError: gone", True)]


class DeadSource(ReplaySource):
    alive = False


def test_progress_reports_a_dead_capture_and_an_off_camera_as_alive() -> None:
    clock = ManualClock()
    core = SoulSync(source=DeadSource([FACE], clock), detector=OneFace(), classifier=Happy(),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock), clock=clock)
    assert not core.progress().capture_alive
    core.start_with_camera_off()  # no source at all: nothing to be dead
    assert core.progress().capture_alive
    core.close()


class Catalog:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_resources_are_found_by_kind_and_closed_with_the_core() -> None:
    clock = ManualClock()
    catalog = Catalog()
    core = SoulSync(source=ReplaySource([FACE], clock), detector=OneFace(), classifier=Happy(),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer(clock), clock=clock,
                    resources=[catalog])
    assert core.resource(Catalog) is catalog
    assert core.resource(DeadSource) is None
    core.close()
    assert catalog.closed


def test_progress_expects_frames_only_while_the_camera_runs() -> None:
    clock = ManualClock()
    core = make(clock, RecordingPlayer(clock))
    assert core.progress().capture_alive
    drive(core, clock, 2)
    progress = core.progress()
    assert progress.frames_expected
    assert progress.last_tick_at == clock.now
    assert progress.last_frame_at == clock.now
    core.close()


def test_mode_and_target_emit_control_events_and_are_answered_at_once() -> None:
    """A control change is answered in the same tick, even when no new frame arrives in it; a new
    target does not take playback back from the listener (a new mode does)."""
    clock = ManualClock()
    player = RecordingPlayer(clock)
    core = SoulSync(source=ReplaySource([FACE] * 30, clock), detector=OneFace(), classifier=Happy(),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=player, clock=clock)
    kinds: list[tuple[str, str]] = []
    got = threading.Event()

    def listener(event: Event) -> None:
        if event.kind is EventKind.CONTROL:
            kinds.append((event.state.mode, event.state.target))
            if len(kinds) == 2:
                got.set()

    core.subscribe("test", listener)
    drive(core, clock, 40)  # the frames ran out: later ticks analyse nothing
    before = len(player.intents)
    core.submit(SetMode("shift"))
    drive(core, clock, 1)
    assert len(player.intents) == before + 1
    assert (player.intents[-1].mode, player.intents[-1].claim) == ("shift", True)
    core.submit(SetTarget("sad"))
    drive(core, clock, 1)
    assert len(player.intents) == before + 2
    assert (player.intents[-1].target, player.intents[-1].claim) == ("sad", False)
    assert got.wait(5)
    assert kinds == [("shift", "calm"), ("shift", "sad")]
    core.close()


def test_an_unknown_command_is_rejected_by_name() -> None:
    clock = ManualClock()
    core = make(clock, RecordingPlayer(clock))
    core.submit("reboot")  # type: ignore[arg-type]
    drive(core, clock, 1)
    assert core.latest().last_error == "command reboot rejected: unknown command 'reboot'"
    core.close()
