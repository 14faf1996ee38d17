"""The core's one way in (commands) and one way out (snapshots, events), and its player worker."""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from soulsyncd.core import loop as loop_module
from soulsyncd.core.commands import (
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
from soulsyncd.core.limits import ANALYSIS_FPS_MAX, ANALYSIS_FPS_MIN, PLAYER_MIN_INTERVAL_S_MAX
from soulsyncd.core.loop import HISTORY, RepeatedErrorLog, SoulSync
from soulsyncd.core.playback import PlayerWorker, ThrottledPlayer, describe
from soulsyncd.core.progress import Progress
from soulsyncd.core.state import Broadcaster, DaemonState, Event, EventKind, Stats
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.testing import ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.types import (
    CameraStatus,
    Emotion,
    FaceBox,
    Frame,
    Framing,
    PlayerState,
    PlayerStatus,
    PlayIntent,
    ShiftProgress,
    Track,
)
from tests.doubles import RacedQueue

TICK_S = 0.2


class FixedDetector:
    """One face in the middle of every non-blank frame (a blank frame: nobody there)."""

    def detect(self, frame: Frame) -> list[FaceBox]:
        return [] if not frame.image.any() else [FaceBox(8, 8, 48, 48)]


class FixedClassifier:
    """Always the same emotion, with certainty."""

    def __init__(self, emotion: Emotion = Emotion.HAPPY) -> None:
        self.emotion = emotion

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        probabilities = np.zeros((len(faces), 7), np.float32)
        probabilities[:, int(self.emotion)] = 1.0
        return probabilities


FACE = np.full((64, 64, 3), 128, np.uint8)
EMPTY = np.zeros((64, 64, 3), np.uint8)


def make_core(frames: list[np.ndarray], clock: ManualClock, *, player: object | None = None,
              mode: str = "match", factory: object | None = None,
              classifier: FixedClassifier | None = None) -> SoulSync:
    return SoulSync(
        source=ReplaySource(frames, clock),
        detector=FixedDetector(),
        classifier=classifier or FixedClassifier(),
        smoother=MoodSmoother(),
        policy=MoodPolicy(mode=mode),
        player=player if player is not None else RecordingPlayer(clock),  # type: ignore[arg-type]
        clock=clock,
        source_factory=factory,  # type: ignore[arg-type]
    )


def drive(core: SoulSync, clock: ManualClock, ticks: int, *, wait_player: bool = True) -> None:
    for _ in range(ticks):
        clock.advance(TICK_S)
        core.tick()
        if wait_player:
            assert core.wait_player_idle(5.0)


class BlockingPlayer(RecordingPlayer):
    """A player whose every apply() blocks until released: a Spotify call under load, or worse."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def apply(self, intent: PlayIntent) -> None:
        self.entered.set()
        self.release.wait(30)
        super().apply(intent)


def test_a_player_that_blocks_never_slows_the_analysis_or_fakes_a_pause() -> None:
    """With the player stuck in a call, every frame is still analysed and no false pause goes out."""
    clock = ManualClock()
    player = BlockingPlayer()
    core = make_core([FACE] * 100, clock, player=player)
    drive(core, clock, 20, wait_player=False)
    assert player.entered.wait(5)  # the first play is stuck inside the player
    drive(core, clock, 80, wait_player=False)
    assert core.stats.frames_analysed == 100  # 100 % of the analysis rate
    assert core.stats.frames_with_face == 100
    assert [intent.action for _, intent in core.stats.decisions] == ["play"]
    player.release.set()
    assert core.wait_player_idle(5)
    assert [intent.action for intent in player.intents] == ["play"]
    core.close()


def test_player_errors_become_state_not_exceptions() -> None:
    class FailingPlayer(RecordingPlayer):
        def apply(self, intent: PlayIntent) -> None:
            raise ConnectionError("speaker unreachable")

    clock = ManualClock()
    core = make_core([FACE] * 20, clock, player=FailingPlayer())
    drive(core, clock, 20)
    drive(core, clock, 1)  # the tick after the failure reads the worker's state
    assert core.latest().player.last_error == "player failed to play music with valence 0.90, energy 0.70 " \
        "(match happy): speaker unreachable"
    core.close()


def test_commands_from_other_threads_never_race_the_policy() -> None:
    """Mode and target changes hammered from four threads while the loop ticks: no error, last wins."""
    clock = ManualClock()
    core = make_core([FACE] * 400, clock)
    stop = threading.Event()
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not stop.is_set():
                if rng.random() < 0.5:
                    core.submit(SetMode(rng.choice(["match", "shift", "off"])))
                else:
                    core.submit(SetTarget(rng.choice(["happy", "calm", "energetic", "neutral"])))
        except BaseException as exc:  # pragma: no cover - would fail the test below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    try:
        drive(core, clock, 400, wait_player=False)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors
    assert core.latest().last_error is None
    core.submit(SetMode("shift"))
    core.submit(SetTarget("energetic"))
    drive(core, clock, 5)  # up to 256 queued commands, 64 handled a tick
    assert core.commands.empty()
    assert (core.latest().mode, core.latest().target) == ("shift", "energetic")
    assert (core.policy.mode, core.policy.target) == ("shift", "energetic")
    core.close()


def test_a_bad_command_is_rejected_reported_and_changes_nothing() -> None:
    clock = ManualClock()
    core = make_core([FACE] * 10, clock)
    seen: list[Event] = []
    got_error = threading.Event()

    def listener(event: Event) -> None:
        seen.append(event)
        if event.kind is EventKind.ERROR:
            got_error.set()

    core.subscribe("test", listener)
    core.submit(SetTarget("ecstatic"))
    core.submit(SetVolume(140))
    drive(core, clock, 1)
    assert got_error.wait(5)
    core.close()  # delivers every queued event
    errors = [str(e.state.last_error) for e in seen if e.kind is EventKind.ERROR]
    assert len(errors) == 2
    assert "ecstatic" in errors[0]
    assert "volume must be 0..100, got 140" in errors[1]
    assert core.latest().target == "calm"


@pytest.mark.parametrize(("percent", "accepted"), [(0, True), (100, True), (-1, False), (101, False)])
def test_the_volume_is_accepted_from_0_to_100_inclusive(percent: int, accepted: bool) -> None:
    clock = ManualClock()
    player = RecordingPlayer(clock)
    core = make_core([FACE] * 10, clock, player=player)
    core.submit(SetVolume(percent))
    drive(core, clock, 1)
    assert player.outputs == ([(None, percent)] if accepted else [])
    assert (core.latest().last_error is None) is accepted
    core.close()


def test_pause_resume_skip_device_and_volume_reach_the_player() -> None:
    clock = ManualClock()
    player = RecordingPlayer(clock)
    classifier = FixedClassifier(Emotion.HAPPY)
    core = make_core([FACE] * 120, clock, player=player, classifier=classifier)
    drive(core, clock, 20)
    assert [i.action for i in player.intents] == ["play"]
    core.submit(Pause())
    drive(core, clock, 10)
    assert player.intents[-1].action == "pause"
    assert core.latest().paused
    classifier.emotion = Emotion.SAD  # unpaused, this asks for sad music (the test below)
    drive(core, clock, 50)
    mood = core.latest().mood
    assert mood is not None
    assert mood.emotion is Emotion.SAD
    assert len(player.intents) == 2  # while paused, the mood asks for nothing
    core.submit(SetMode("shift"))  # a control change while paused asks for nothing either
    drive(core, clock, 1)
    assert len(player.intents) == 2
    core.submit(Resume())
    core.submit(Skip())
    core.submit(SetDevice("Kitchen"))
    core.submit(SetVolume(35))
    drive(core, clock, 1)
    assert player.intents[-1].action == "play"
    assert player.intents[-1].claim  # the listener asked: take playback back
    assert not core.latest().paused
    assert player.skips == 1
    assert player.outputs == [("Kitchen", None), (None, 35)]
    core.close()


def test_log_level_and_restart_commands() -> None:
    """SetLogLevel changes the root logger's level and the state says so; Restart only raises the flag the
    Daemon ends the process on (the loop itself goes on until told to stop)."""
    clock = ManualClock()
    root = logging.getLogger()
    before = root.level
    core = make_core([FACE] * 10, clock)
    try:
        root.setLevel(logging.INFO)
        events: list[Event] = []
        core.subscribe("test", events.append)
        core.submit(SetLogLevel("debug"))
        drive(core, clock, 1)
        assert root.level == logging.DEBUG
        assert core.latest().log_level == "debug"
        assert not core.restart_requested.is_set()
        core.submit(Restart())
        drive(core, clock, 1)
        assert core.restart_requested.is_set()
        assert core.latest().last_error is None
    finally:
        root.setLevel(before)
        core.close()


def test_unpaused_a_change_of_mood_asks_for_other_music() -> None:
    """The control for the paused case above: the same change of mood, not paused, asks for music."""
    clock = ManualClock()
    player = RecordingPlayer(clock)
    classifier = FixedClassifier(Emotion.HAPPY)
    core = make_core([FACE] * 120, clock, player=player, classifier=classifier)
    drive(core, clock, 30)
    assert [i.action for i in player.intents] == ["play"]
    classifier.emotion = Emotion.SAD
    drive(core, clock, 50)
    assert len(player.intents) > 1
    assert (player.intents[-1].action, player.intents[-1].emotion) == ("play", "sad")
    core.close()


def test_set_mode_is_applied_at_once_and_claims_playback() -> None:
    clock = ManualClock()
    player = RecordingPlayer(clock)
    core = make_core([FACE] * 30, clock, player=player, mode="off")
    drive(core, clock, 20)
    assert player.intents == []
    core.submit(SetMode("match"))
    drive(core, clock, 1)
    assert len(player.intents) == 1
    assert player.intents[0].claim
    assert core.latest().mode == "match"
    core.close()


class TrackedSource(ReplaySource):
    instances: ClassVar[list[TrackedSource]] = []

    def __init__(self, images: Sequence[np.ndarray | None], clock: ManualClock) -> None:
        super().__init__(images, clock)
        TrackedSource.instances.append(self)


def test_camera_off_releases_the_source_and_on_opens_a_fresh_one() -> None:
    clock = ManualClock()
    TrackedSource.instances = []
    core = make_core([], clock, factory=lambda: TrackedSource([FACE] * 10, clock))
    first = TrackedSource([FACE] * 50, clock)
    core.source = first
    drive(core, clock, 5)
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 3)
    assert first.stopped
    assert core.source is None
    assert core.latest().camera is CameraStatus.DISABLED
    analysed = core.stats.frames_analysed
    drive(core, clock, 5)
    assert core.stats.frames_analysed == analysed  # nothing is captured while off
    assert core.progress().frames_expected is False
    core.submit(SetCamera(enabled=True))
    drive(core, clock, 3)
    second = TrackedSource.instances[-1]
    assert second is not first
    assert second.started
    assert core.stats.frames_analysed > analysed
    core.close()
    assert second.stopped


def test_events_reach_subscribers_and_a_failing_or_slow_one_stalls_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    core = make_core([EMPTY] * 20 + [FACE] * 30, clock)
    blocked = threading.Event()
    moods: list[str] = []
    got_happy = threading.Event()

    def slow(event: Event) -> None:
        blocked.wait(30)

    failures: list[Event] = []
    failed_twice = threading.Event()  # its thread logged the first failure before taking the second

    def failing(event: Event) -> None:
        failures.append(event)
        if len(failures) >= 2:
            failed_twice.set()
        raise RuntimeError("subscriber bug")

    def good(event: Event) -> None:
        if event.kind is EventKind.MOOD and event.state.mood is not None:
            moods.append(event.state.mood.label)
            if event.state.mood.label == "happy":
                got_happy.set()

    core.subscribe("slow", slow)
    core.subscribe("failing", failing)
    core.subscribe("good", good)
    with caplog.at_level(logging.ERROR):
        drive(core, clock, 50)
        assert got_happy.wait(5)
        assert failed_twice.wait(5)
    assert core.stats.frames_analysed == 50
    assert moods == ["absent", "happy"]
    assert "event subscriber failing failed" in caplog.text
    blocked.set()
    core.close()


def test_snapshots_carry_the_mood_faces_and_figures() -> None:
    clock = ManualClock()
    core = make_core([FACE] * 30, clock)
    drive(core, clock, 30)
    state = core.latest()
    assert state.mood is not None
    assert state.mood.label == "happy"
    assert state.faces == 1
    assert state.stats.frames_analysed == 30
    assert state.stats.analysis_fps == pytest.approx(5.0, rel=0.05)
    assert state.last_intent is not None
    assert state.last_intent.action == "play"
    core.close()


def test_progress_is_healthy_only_while_frames_flow() -> None:
    clock = ManualClock()
    core = make_core([FACE] * 5, clock)
    assert not core.progress().healthy(clock.monotonic(), 2.0)  # never ticked
    drive(core, clock, 5)
    assert core.progress().healthy(clock.monotonic(), 2.0)
    drive(core, clock, 15)  # the source has nothing more: the loop ticks, but no frame arrives
    assert not core.progress().healthy(clock.monotonic(), 2.0)
    stuck = Progress(last_tick_at=10.0, last_frame_at=10.0, capture_alive=False, frames_expected=True)
    assert not stuck.healthy(10.5, 2.0)
    disabled = Progress(last_tick_at=10.0, last_frame_at=1.0, capture_alive=True, frames_expected=False)
    assert disabled.healthy(10.5, 2.0)
    core.close()


def test_histories_are_bounded() -> None:
    clock = ManualClock()
    frames = ([FACE] * 20 + [EMPTY] * 20) * 40  # 80 mood changes ...
    core = make_core(frames, clock)
    for intent_number in range(HISTORY + 100):  # ... and more decisions than the ring holds
        core._act(PlayIntent("play", reason=str(intent_number)))
    drive(core, clock, len(frames), wait_player=False)
    assert len(core.stats.decisions) == HISTORY
    assert core.stats.decisions_made > HISTORY
    assert core.stats.mood_changes == 81  # the first "absent" and 80 changes
    assert core.stats.timeline.maxlen == HISTORY
    core.close()


def test_a_repeated_error_is_logged_once_then_counted(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    errors = RepeatedErrorLog(clock, interval_s=60)
    with caplog.at_level(logging.ERROR):
        for _ in range(300):  # a minute of a fault on every tick at 5 per second
            errors.error("analysis tick failed", ValueError("bad frame"))
            clock.advance(0.2)
        errors.error("analysis tick failed", ValueError("bad frame"))
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    assert any("repeated 300 more times" in r.getMessage() for r in caplog.records)


def test_the_command_queue_drops_the_oldest_of_a_flood_and_keeps_the_newest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = CommandQueue(maxsize=10)
    with caplog.at_level(logging.WARNING):
        accepted = [queue.submit(SetVolume(n)) for n in range(50)]
    assert accepted.count(True) == 10
    assert queue.dropped == 40
    assert queue.drain() == [SetVolume(49)]  # the listener's newest wish survives (coalesced)
    assert len([r for r in caplog.records if "command queue full" in r.getMessage()]) == 1


def test_the_broadcaster_keeps_the_newest_for_a_slow_subscriber() -> None:
    broadcaster = Broadcaster(queue_size=4)
    gate = threading.Event()
    received: list[int] = []
    done = threading.Event()

    def slow(event: Event) -> None:
        gate.wait(10)
        received.append(event.state.faces)
        if event.state.faces == 99:
            done.set()

    broadcaster.subscribe("slow", slow)
    for faces in range(100):
        broadcaster.publish(EventKind.STATS, DaemonState(faces=faces))
    gate.set()
    assert done.wait(5)
    assert received[-1] == 99
    assert len(received) <= 6
    assert broadcaster.dropped >= 90
    broadcaster.close()


def test_player_worker_hands_the_newest_intent_and_pauses_win() -> None:
    player = BlockingPlayer()
    worker = PlayerWorker(player)
    worker.apply(PlayIntent("play", reason="first"))
    assert player.entered.wait(5)
    worker.apply(PlayIntent("play", reason="second"))
    worker.apply(PlayIntent("pause", reason="listener left"))
    player.release.set()
    assert worker.wait_idle(5)
    assert [i.reason for i in player.intents] == ["first", "listener left"]
    assert isinstance(worker.state(), PlayerState)
    worker.close()
    assert player.closed


def test_an_intent_held_by_the_interval_goes_out_on_a_later_tick_by_itself() -> None:
    """The throttle's held intent is flushed by the loop, without any new decision to push it."""
    clock = ManualClock()
    player = RecordingPlayer(clock)
    core = SoulSync(
        source=ReplaySource([FACE] * 20 + [EMPTY] * 20 + [FACE] * 200, clock),
        detector=FixedDetector(), classifier=FixedClassifier(), smoother=MoodSmoother(),
        policy=MoodPolicy(mode="match"), player=player, player_min_interval_s=20.0, clock=clock,
    )
    drive(core, clock, 60)  # play, pause (pauses are never held), play again: held by the interval
    assert [i.action for i in player.intents] == ["play", "pause"]
    decisions = len(core.stats.decisions)
    drive(core, clock, 100)  # 20 s later, with no new decision
    assert len(core.stats.decisions) == decisions
    assert [i.action for i in player.intents] == ["play", "pause", "play"]
    core.close()


def test_stopping_the_loop_joins_the_capture_thread(tmp_path: Path) -> None:
    import cv2

    from soulsyncd.vision.files import FileSource

    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index}.png"), FACE)
    source = FileSource(folder, loop=True, fps=30.0)
    core = SoulSync(source=source, detector=FixedDetector(), classifier=FixedClassifier(),
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=RecordingPlayer())
    stop = threading.Event()
    core.subscribe("stop-after-a-mood", lambda event: stop.set() if event.kind is EventKind.MOOD else None)
    core.run(stop)
    assert core.stats.frames_analysed >= 1
    assert not source.alive  # the device is closed and its thread gone, not left running


def test_the_tracks_the_player_starts_are_kept_for_the_summary() -> None:
    from soulsyncd.types import Track

    class TrackPlayer(RecordingPlayer):
        def state(self) -> PlayerState:
            if not self.intents:
                return PlayerState()
            return PlayerState(track=Track(uri=f"spotify:track:{len(self.intents)}", name="Song"),
                               detail="shift step 1 of 3 toward happy")

    clock = ManualClock()
    core = make_core([FACE] * 20 + [EMPTY] * 20 + [FACE] * 20, clock, player=TrackPlayer(clock))
    drive(core, clock, 60)
    drive(core, clock, 1)
    uris = [track.uri for _, track, _ in core.stats.tracks]
    assert uris == ["spotify:track:1", "spotify:track:2", "spotify:track:3"]
    assert core.stats.tracks_started == 3
    core.close()


def test_camera_off_and_on_with_the_listener_there_does_not_pause_the_music() -> None:
    """Minutes with the privacy switch off are not an empty room: no pause when the camera returns."""
    clock = ManualClock()
    core = make_core([], clock, factory=lambda: ReplaySource([FACE] * 30, clock))
    core.source = ReplaySource([FACE] * 30, clock)
    player = core._worker._player  # type: ignore[union-attr]
    drive(core, clock, 25)
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 100)  # 20 s with the camera off
    core.submit(SetCamera(enabled=True))
    drive(core, clock, 25)
    assert [i.action for i in player.intents] == ["play"]
    assert [c.mood.label for c in core.stats.timeline] == ["absent", "happy"]
    core.close()


def test_a_mode_set_while_nobody_is_there_claims_the_first_music_after() -> None:
    clock = ManualClock()
    player = RecordingPlayer(clock)
    core = make_core([EMPTY] * 20 + [FACE] * 20, clock, player=player, mode="off")
    drive(core, clock, 5)
    core.submit(SetMode("match"))
    drive(core, clock, 15)
    assert player.intents == []  # nobody there: nothing to play yet
    drive(core, clock, 20)
    assert [(i.action, i.claim) for i in player.intents] == [("play", True)]
    core.close()


@pytest.mark.parametrize(
    ("last_tick_at", "last_frame_at", "capture_alive", "frames_expected", "healthy"),
    [
        (None, 10.0, True, True, False),  # never ticked
        (8.0, 8.0, True, True, True),  # both exactly max_age_s old: still healthy
        (7.5, 10.0, True, True, False),  # the tick too old
        (10.0, 7.5, True, True, False),  # the frame too old
        (10.0, None, True, True, False),  # no frame yet, one expected
        (10.0, None, True, False, True),  # no frame, none expected (camera off)
        (10.0, 1.0, True, False, True),  # an old frame, none expected
        (7.5, None, True, False, False),  # none expected, but the tick too old
        (10.0, 10.0, False, True, False),  # the capture thread died
        (10.0, 10.0, False, False, False),  # ... even with no frames expected
    ],
)
def test_progress_needs_a_recent_tick_a_live_capture_and_a_recent_frame_if_one_is_expected(
        last_tick_at: float | None, last_frame_at: float | None, capture_alive: bool, frames_expected: bool,
        healthy: bool) -> None:
    progress = Progress(last_tick_at=last_tick_at, last_frame_at=last_frame_at, capture_alive=capture_alive,
                        frames_expected=frames_expected)
    assert progress.healthy(10.0, 2.0) is healthy


def test_a_fresh_snapshot_says_what_is_known_before_the_first_frame() -> None:
    assert Stats() == Stats(frames_analysed=0, frames_with_face=0, analysis_fps=0.0, inference_ms=0.0,
                            detector_ms=0.0, uptime_s=0.0, commands_dropped=0)
    assert DaemonState() == DaemonState(
        mood=None, probabilities=None, faces=0, mode="match", target="calm", paused=False,
        camera=CameraStatus.STARTING, camera_detail="", player=PlayerState(), shift=None, last_intent=None,
        stats=Stats(), last_error=None, framing=Framing(), log_level="info")
    # The names publishers and the event log show.
    assert [kind.value for kind in EventKind] == [
        "mood", "decision", "camera", "player", "control", "error", "stats"]


def test_the_broadcaster_starts_from_the_given_snapshot_and_set_latest_sends_no_event() -> None:
    assert Broadcaster().latest() == DaemonState()
    broadcaster = Broadcaster(DaemonState(faces=3))
    assert broadcaster.latest() == DaemonState(faces=3)
    events: list[Event] = []
    broadcaster.subscribe("test", events.append)
    broadcaster.set_latest(DaemonState(faces=4))
    assert broadcaster.latest().faces == 4
    broadcaster.publish(EventKind.MOOD, DaemonState(faces=5))
    assert broadcaster.latest().faces == 5
    broadcaster.close()  # delivers what is queued, then ends the thread
    assert events == [Event(EventKind.MOOD, DaemonState(faces=5))]


def test_each_subscriber_queue_holds_64_events_by_default_and_drops_the_oldest() -> None:
    broadcaster = Broadcaster()
    entered = threading.Event()
    gate = threading.Event()
    last = threading.Event()
    received: list[int] = []
    threads: list[threading.Thread] = []

    def slow(event: Event) -> None:
        threads.append(threading.current_thread())
        received.append(event.state.faces)
        entered.set()
        if event.state.faces == 99:
            last.set()
        gate.wait(10)

    broadcaster.subscribe("slow", slow)
    broadcaster.publish(EventKind.STATS, DaemonState(faces=0))
    assert entered.wait(5)  # event 0 is in the callback; the queue is empty again
    for faces in range(1, 100):
        broadcaster.publish(EventKind.STATS, DaemonState(faces=faces))
    assert broadcaster.dropped == 99 - 64  # 1..64 filled the queue, 65..99 each pushed out the oldest
    gate.set()
    assert last.wait(5)
    assert received == [0, *range(36, 100)]
    assert threads[0].name == "events-slow"
    assert threads[0].daemon
    broadcaster.close()
    assert not threads[0].is_alive()


def test_the_stop_marker_makes_room_in_a_full_queue() -> None:
    """Closing never blocks on a full queue: the marker takes the oldest event's place."""
    broadcaster = Broadcaster(queue_size=2)
    entered = threading.Event()
    gate = threading.Event()
    received: list[int] = []

    def slow(event: Event) -> None:
        received.append(event.state.faces)
        entered.set()
        gate.wait(10)

    broadcaster.subscribe("slow", slow)
    subscription = broadcaster._subscriptions[0]
    broadcaster.publish(EventKind.STATS, DaemonState(faces=0))
    assert entered.wait(5)
    for faces in range(1, 4):
        broadcaster.publish(EventKind.STATS, DaemonState(faces=faces))
    assert broadcaster.dropped == 1  # event 1
    subscription.offer_stop()  # the queue is full (2, 3): event 2 makes room
    gate.set()
    subscription.thread.join(5)
    assert not subscription.thread.is_alive()
    assert received == [0, 3]
    broadcaster.close()
    assert broadcaster.dropped == 0  # closed: no subscriptions left to count


def test_a_failing_subscriber_is_logged_with_its_name_and_the_event(caplog: pytest.LogCaptureFixture) -> None:
    broadcaster = Broadcaster()
    calls: list[EventKind] = []

    def failing(event: Event) -> None:
        calls.append(event.kind)
        raise RuntimeError("subscriber bug")

    broadcaster.subscribe("bad", failing)
    with caplog.at_level(logging.ERROR):
        broadcaster.publish(EventKind.MOOD, DaemonState())
        broadcaster.publish(EventKind.ERROR, DaemonState())
        broadcaster.close()
    assert calls == [EventKind.MOOD, EventKind.ERROR]
    assert [r.getMessage() for r in caplog.records] == [
        "event subscriber bad failed on mood", "event subscriber bad failed on error"]
    assert all(r.exc_info is not None for r in caplog.records)


def test_close_waits_about_a_second_for_a_stuck_subscriber() -> None:
    broadcaster = Broadcaster()
    entered = threading.Event()
    gate = threading.Event()

    def stuck(event: Event) -> None:
        entered.set()
        gate.wait(10)

    broadcaster.subscribe("stuck", stuck)
    broadcaster.publish(EventKind.STATS, DaemonState())
    assert entered.wait(5)
    started = time.monotonic()
    broadcaster.close()
    assert 0.9 <= time.monotonic() - started < 1.8
    gate.set()


# --- the player worker and the throttle (mutation round, issue 17 item 6) -------------------------


def test_describe_gives_one_readable_line_per_intent() -> None:
    assert describe(PlayIntent("pause")) == "pause"
    assert describe(PlayIntent("pause", reason="listener left")) == "pause (listener left)"
    assert (describe(PlayIntent("play", valence=0.125, energy=0.9))
            == "play music with valence 0.12, energy 0.90")
    assert (describe(PlayIntent("play", valence=1.0, energy=0.0, reason="match happy"))
            == "play music with valence 1.00, energy 0.00 (match happy)")


class FailingPlayer(RecordingPlayer):
    """A player whose calls raise while ``failing`` is set (a network down, an API error)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = True
        self.state_fails = False
        self.threads: list[threading.Thread] = []

    def apply(self, intent: PlayIntent) -> None:
        self.threads.append(threading.current_thread())
        if self.failing:
            raise RuntimeError("network down")
        super().apply(intent)

    def skip(self) -> None:
        if self.failing:
            raise RuntimeError("no device")
        super().skip()

    def state(self) -> PlayerState:
        if self.state_fails:
            raise RuntimeError("no answer")
        return PlayerState(status=PlayerStatus.OK, device="Kitchen", playing=True, volume=40)

    def close(self) -> None:
        super().close()
        raise RuntimeError("already gone")


def test_the_worker_reports_a_failing_call_once_as_state_until_a_call_succeeds(
        caplog: pytest.LogCaptureFixture) -> None:
    player = FailingPlayer()
    worker = PlayerWorker(player)
    with caplog.at_level(logging.ERROR):
        worker.apply(PlayIntent("play", valence=0.25, energy=0.75, reason="match happy"))
        assert worker.wait_idle(5)
        failed = "player failed to play music with valence 0.25, energy 0.75 (match happy): network down"
        # The player's own state is kept; only the error is added to it.
        assert worker.state() == PlayerState(status=PlayerStatus.OK, device="Kitchen", playing=True,
                                             volume=40, last_error=failed)
        worker.apply(PlayIntent("play", valence=0.25, energy=0.75, reason="match happy"))
        assert worker.wait_idle(5)
        worker.skip()
        assert worker.wait_idle(5)
        assert worker.state().last_error == "player failed to command: no device"
        player.state_fails = True
        worker.skip()
        assert worker.wait_idle(5)
        # The player's own error (no state at all) says more than the call's.
        assert worker.state() == PlayerState(last_error="player state unavailable: no answer")
        player.failing = False
        player.state_fails = False
        worker.apply(PlayIntent("pause"))
        assert worker.wait_idle(5)
        assert worker.state() == PlayerState(status=PlayerStatus.OK, device="Kitchen", playing=True,
                                             volume=40)
        worker.close()
    assert player.skips == 0
    assert [i.action for i in player.intents] == ["pause"]
    # The same failure twice is logged once, with its traceback; each new one is logged.
    assert [r.getMessage() for r in caplog.records] == [
        failed, "player failed to command: no device", "player failed to close: already gone"]
    assert all(r.exc_info is not None for r in caplog.records)
    assert player.closed
    assert {t.name for t in player.threads} == {"player"}
    assert all(t.daemon for t in player.threads)


def test_the_worker_runs_skips_and_outputs_in_order_and_holds_at_most_32() -> None:
    player = BlockingPlayer()
    worker = PlayerWorker(player, name="speaker")
    worker.apply(PlayIntent("play", reason="first"))
    assert player.entered.wait(5)
    assert not worker.wait_idle(0.01)  # a call in progress is not idle
    worker.set_output(device="Kitchen")
    worker.set_output(volume=35)
    worker.set_output(device="Hall", volume=5)
    for _ in range(40):  # a flood of skips while the player is stuck
        worker.skip()
    player.release.set()
    assert worker.wait_idle(5)
    assert player.outputs == [("Kitchen", None), (None, 35), ("Hall", 5)]
    assert player.skips == 32 - 3
    assert [i.reason for i in player.intents] == ["first"]
    worker.close()
    assert player.closed


def test_the_worker_re_reads_the_players_state_every_half_second_while_idle() -> None:
    reads: list[float] = []
    second = threading.Event()

    class Counting(RecordingPlayer):
        def state(self) -> PlayerState:
            reads.append(time.monotonic())
            if len(reads) >= 3:
                second.set()
            return super().state()

    worker = PlayerWorker(Counting())
    assert second.wait(5)
    assert worker.state() == PlayerState(status=PlayerStatus.OK)  # the player's own, no error added
    started = time.monotonic()
    worker.close()
    assert time.monotonic() - started < 0.5  # an idle worker ends at once
    assert not worker._thread.is_alive()
    gaps = [later - earlier for earlier, later in itertools.pairwise(reads)]
    assert all(0.45 <= gap < 1.2 for gap in gaps[:2]), gaps


def test_closing_the_worker_beside_a_stuck_call_still_closes_the_player() -> None:
    player = BlockingPlayer()
    worker = PlayerWorker(player)
    worker.apply(PlayIntent("play"))
    assert player.entered.wait(5)
    started = time.monotonic()
    worker.close()
    assert 0.9 <= time.monotonic() - started < 1.8  # about a second's wait for the call
    assert player.closed
    player.release.set()


def test_the_throttle_sends_pauses_and_claims_at_once_and_holds_plays_for_the_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(100.0)
    player = RecordingPlayer(clock)
    throttle = ThrottledPlayer(player, min_interval_s=10.0, clock=clock)
    throttle.flush()  # nothing held: nothing sent
    throttle.apply(PlayIntent("play", reason="first"))  # the first goes out at once
    clock.advance(1.0)
    throttle.apply(PlayIntent("play", reason="held"))
    throttle.apply(PlayIntent("play", reason="newer"))
    clock.advance(8.5)
    throttle.flush()  # 9.5 s since the last: still held
    clock.advance(0.5)
    throttle.flush()  # exactly 10 s: due
    throttle.flush()
    clock.advance(1.0)
    throttle.apply(PlayIntent("pause", reason="listener left"))  # pauses are never held
    clock.advance(1.0)
    throttle.apply(PlayIntent("play", reason="asked", claim=True))  # nor what the listener asked for
    clock.advance(1.0)
    throttle.apply(PlayIntent("play", reason="after the claim"))
    clock.advance(9.0)
    throttle.flush()
    assert [(i.reason, t) for i, t in zip(player.intents, player.times, strict=True)] == [
        ("first", 100.0), ("newer", 110.0), ("listener left", 111.0), ("asked", 112.0),
        ("after the claim", 122.0)]
    throttle.skip()
    throttle.set_output(device="Kitchen", volume=20)
    assert player.skips == 1
    assert player.outputs == [("Kitchen", 20)]
    assert throttle.state() == PlayerState(status=PlayerStatus.OK, playing=True)
    throttle.close()
    assert player.closed


def test_the_throttle_logs_a_failing_player_and_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    player = FailingPlayer()
    throttle = ThrottledPlayer(player, min_interval_s=10.0)  # the system clock
    with caplog.at_level(logging.ERROR):
        throttle.apply(PlayIntent("pause", reason="listener left"))
    assert [r.getMessage() for r in caplog.records] == ["player failed to apply pause (listener left)"]
    assert caplog.records[0].exc_info is not None
    player.failing = False
    throttle.apply(PlayIntent("play", reason="back"))  # held: sent 10 s after the failed pause
    throttle.flush()
    assert player.intents == []


# --- the snapshot's figures on a manual clock (mutation round, issue 17 item 6) -------------------


class PerfCounter:
    """Stands in for the ``time`` module in soulsyncd.core.loop: a perf_counter the doubles move."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


class TimedDetector(FixedDetector):
    """Each detection takes the next of ``seconds`` on the perf counter."""

    def __init__(self, perf: PerfCounter, seconds: list[float]) -> None:
        self.perf, self.seconds = perf, seconds

    def detect(self, frame: Frame) -> list[FaceBox]:
        self.perf.now += self.seconds.pop(0)
        return super().detect(frame)


class TimedClassifier(FixedClassifier):
    def __init__(self, perf: PerfCounter, seconds: list[float]) -> None:
        super().__init__()
        self.perf, self.seconds = perf, seconds

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        self.perf.now += self.seconds.pop(0)
        return super().classify(faces)


def test_the_snapshot_figures_are_exact_on_a_manual_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames per second over the window up to now, median stage times, uptime, drops, the shift."""
    perf = PerfCounter()
    monkeypatch.setattr(loop_module, "time", perf)
    clock = ManualClock(50.0)
    shift = ShiftProgress(target="happy", step=2, steps=5)
    # Binary fractions of a second, so the milliseconds are exact: 15.625, 62.5, 15.625 ms to detect
    # (the empty frame too), 3.90625 ms twice to classify (the frames with a face).
    detector = TimedDetector(perf, [1 / 64, 1 / 16, 1 / 64])
    classifier = TimedClassifier(perf, [1 / 256, 1 / 256])
    core = SoulSync(source=ReplaySource([FACE, EMPTY, FACE, None], clock), detector=detector,
                    classifier=classifier, smoother=MoodSmoother(), policy=MoodPolicy(), player=None,
                    clock=clock, shift_progress=lambda: shift)
    assert core.latest().stats == Stats()
    for _ in range(300):
        core.submit(SetVolume(50))  # 44 more than the queue holds
    for _ in range(3):
        clock.advance(0.25)
        core.tick()
    assert core.latest().stats == Stats(
        frames_analysed=3, frames_with_face=2, analysis_fps=4.0,  # 2 intervals in 0.5 s
        inference_ms=3.91, detector_ms=15.62, uptime_s=0.8, commands_dropped=44)
    assert core.latest().shift == shift
    clock.advance(0.25)  # a tick without a frame: only an event builds a snapshot now
    core.submit(SetMode("shift"))
    core.tick()
    stats = core.latest().stats
    # Up to now, not up to the last frame: 2 intervals in the 0.75 s since the first frame.
    assert (stats.uptime_s, stats.analysis_fps, stats.frames_analysed) == (1.0, 2.67, 3)
    clock.advance(0.75)
    core.submit(SetMode("match"))
    core.tick()
    stats = core.latest().stats
    assert (stats.uptime_s, stats.analysis_fps) == (1.8, 1.33)  # 1.75 s up; 2 intervals in 1.5 s
    core.close()


def test_without_analysis_the_stage_times_are_0() -> None:
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE] * 3, clock), detector=None, classifier=None,
                    smoother=MoodSmoother(), policy=MoodPolicy(), player=None, clock=clock)
    for _ in range(3):
        clock.advance(0.25)
        core.tick()
    stats = core.latest().stats
    assert (stats.detector_ms, stats.inference_ms, stats.frames_analysed) == (0.0, 0.0, 3)
    assert stats.analysis_fps == 4.0
    assert core.latest().shift is None
    core.close()


@dataclass(frozen=True)
class Bogus:
    """Not a command the core knows (a newer sender, a bug)."""


def test_a_rejected_command_is_an_error_event_with_the_reason() -> None:
    clock = ManualClock()
    core = make_core([FACE] * 10, clock)
    events: list[tuple[EventKind, str | None]] = []
    core.subscribe("test", lambda event: events.append((event.kind, event.state.last_error)))
    core.submit(Bogus())  # type: ignore[arg-type]
    core.submit(SetVolume(140))
    drive(core, clock, 1)
    core.close()
    introduced: list[tuple[EventKind, str | None]] = []  # the event that brought each error
    for kind, error in events:
        if error is not None and (not introduced or introduced[-1][1] != error):
            introduced.append((kind, error))
    assert introduced == [
        (EventKind.ERROR, "command Bogus() rejected: unknown command Bogus()"),
        (EventKind.ERROR, "command SetVolume(percent=140) rejected: volume must be 0..100, got 140"),
    ]


def test_wait_player_idle_sends_what_is_due_and_says_whether_the_player_caught_up() -> None:
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE], clock), detector=FixedDetector(),
                    classifier=FixedClassifier(), smoother=MoodSmoother(), policy=MoodPolicy(), clock=clock)
    assert core.wait_player_idle() is True  # no player: nothing to wait for
    core.close()
    player = RecordingPlayer(clock)
    core = SoulSync(source=ReplaySource([FACE], clock), detector=FixedDetector(),
                    classifier=FixedClassifier(), smoother=MoodSmoother(), policy=MoodPolicy(), player=player,
                    player_min_interval_s=10.0, clock=clock)
    core._act(PlayIntent("play", reason="first"))
    core._act(PlayIntent("play", reason="held"))
    assert core.wait_player_idle()
    assert [i.reason for i in player.intents] == ["first"]
    clock.advance(10.0)
    assert core.wait_player_idle()  # due now: sent without waiting for a tick
    assert [i.reason for i in player.intents] == ["first", "held"]
    core.close()
    stuck = BlockingPlayer()
    core = make_core([FACE], clock, player=stuck)
    core._act(PlayIntent("play"))
    assert stuck.entered.wait(5)
    assert core.wait_player_idle(0.01) is False
    stuck.release.set()
    assert core.wait_player_idle(5.0) is True
    core.close()


class TwoFaces(FixedDetector):
    def detect(self, frame: Frame) -> list[FaceBox]:
        return [] if not frame.image.any() else [FaceBox(4, 4, 20, 20), FaceBox(36, 30, 24, 24)]


def test_a_tick_counts_frames_with_faces_not_faces_and_shows_their_boxes() -> None:
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE, FACE, EMPTY, FACE], clock), detector=TwoFaces(),
                    classifier=FixedClassifier(), smoother=MoodSmoother(), policy=MoodPolicy(), clock=clock)
    assert not core.ready.is_set()
    seen: list[tuple[int, int, tuple[tuple[int, int, int, int], ...], float | None]] = []
    for _ in range(4):
        clock.advance(0.25)
        core.tick()
        assert core.ready.is_set()  # the first analysed frame
        state = core.latest()
        seen.append((state.faces, state.stats.frames_with_face, state.framing.boxes, state.framing.face_rate))
    boxes = ((4, 4, 20, 20), (36, 30, 24, 24))
    assert seen == [(2, 1, boxes, 1.0), (2, 2, boxes, 1.0), (0, 2, (), 0.667), (2, 3, boxes, 0.75)]
    assert (core.latest().framing.width, core.latest().framing.height) == (64, 64)
    core.close()


def test_stats_events_go_out_every_5_s_of_ticks() -> None:
    clock = ManualClock()
    core = make_core([FACE] * 60, clock)
    uptimes: list[float] = []
    core.subscribe("stats", lambda event: uptimes.append(event.state.stats.uptime_s)
                   if event.kind is EventKind.STATS else None)
    for _ in range(60):
        clock.advance(0.25)  # exact in binary: the 20th tick is at 5.0 s
        core.tick()
    core.close()
    assert uptimes == [5.0, 10.0, 15.0]


def test_the_worker_hands_an_intent_over_at_once_not_at_its_next_state_refresh() -> None:
    arrived = threading.Event()

    class Signalling(RecordingPlayer):
        def apply(self, intent: PlayIntent) -> None:
            super().apply(intent)
            arrived.set()

    worker = PlayerWorker(Signalling())  # its thread is now waiting out a fresh 0.5 s refresh
    worker.apply(PlayIntent("play"))
    assert arrived.wait(0.25)
    worker.close()


def test_a_fresh_worker_is_idle_and_a_running_skip_is_not() -> None:
    player = BlockingPlayer()
    skipping = threading.Event()

    def stuck_skip() -> None:
        skipping.set()
        player.release.wait(30)

    player.skip = stuck_skip  # type: ignore[method-assign]
    worker = PlayerWorker(player)
    assert worker.wait_idle(0)  # nothing handed over yet
    worker.skip()
    assert skipping.wait(5)
    assert not worker.wait_idle(0.01)  # a command in progress is work too
    player.release.set()
    assert worker.wait_idle(5)
    worker.close()


def test_the_stop_marker_gets_in_when_the_queue_was_drained_meanwhile() -> None:
    broadcaster = Broadcaster()
    broadcaster.subscribe("test", lambda event: None)
    subscription = broadcaster._subscriptions[0]
    real = subscription.queue
    raced = RacedQueue()
    subscription.queue = raced  # type: ignore[assignment]
    subscription.offer_stop()
    assert raced.items == [None]
    subscription.queue = real
    broadcaster.close()


def test_a_mood_change_is_logged_at_debug_with_its_face_count(caplog: pytest.LogCaptureFixture) -> None:
    """For whoever drives the core without the event log: one line per change, faces counted."""
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE] * 30, clock), detector=TwoFaces(),
                    classifier=FixedClassifier(), smoother=MoodSmoother(), policy=MoodPolicy(), clock=clock)
    with caplog.at_level(logging.DEBUG, logger="soulsyncd.core.loop"):
        for _ in range(30):
            clock.advance(0.25)
            core.tick()
    core.close()
    changes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mood at")]
    assert changes[-1].startswith("mood at ")
    assert changes[-1].endswith(", 2 faces)")


class HeldThread(threading.Thread):
    """A thread whose start() waits until the test lets it go (it is started by release())."""

    def start(self) -> None:
        pass

    def release(self) -> None:
        super().start()


def test_a_worker_is_idle_before_its_thread_first_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "Thread", HeldThread)
    worker = PlayerWorker(RecordingPlayer())
    monkeypatch.undo()
    assert worker.wait_idle(0)  # nothing handed over: idle, whether or not the thread has looped yet
    held = worker._thread
    assert isinstance(held, HeldThread)
    held.release()
    worker.close()
    assert not held.is_alive()


# --- the loop's defaults, limits, log level, close and figures (mutation round four) ---------------


def bare_core(clock: ManualClock, images: Sequence[np.ndarray | None] = (), **options: object) -> SoulSync:
    """A core without analysis or player: only the loop's own bookkeeping runs."""
    return SoulSync(source=ReplaySource(images, clock), detector=None, classifier=None,  # type: ignore[arg-type]
                    smoother=MoodSmoother(), clock=clock, **{"policy": MoodPolicy(), **options})


def test_a_fresh_core_ticks_5_times_a_second_and_its_first_snapshot_is_the_policys_and_the_loggers(
) -> None:
    """Before any tick: the policy's mode and target and the root logger's level, nothing measured yet."""
    clock = ManualClock(40.0)
    root = logging.getLogger()
    before = root.level
    try:
        root.setLevel(logging.DEBUG)
        core = bare_core(clock, policy=MoodPolicy(mode="shift", target="happy"))
    finally:
        root.setLevel(before)
    assert core.interval_s == 0.2
    assert core.latest() == DaemonState(mode="shift", target="happy", log_level="debug")
    assert core.progress() == Progress(last_tick_at=None, last_frame_at=None, capture_alive=True,
                                       frames_expected=True)
    core.close()


@pytest.mark.parametrize(("level", "word"), [
    (logging.DEBUG, "debug"), (logging.INFO, "info"), (logging.WARNING, "warning"), (logging.ERROR, "error"),
    (logging.CRITICAL, "info"), (15, "info"), (logging.NOTSET, "info"),
])
def test_the_snapshot_gives_the_root_loggers_level_as_a_config_word(level: int, word: str) -> None:
    """The four words the config and the log-level command know; anything between or beyond is "info"."""
    clock = ManualClock()
    root = logging.getLogger()
    before = root.level
    try:
        root.setLevel(level)
        core = bare_core(clock)
    finally:
        root.setLevel(before)
    assert core.latest().log_level == word
    core.close()


@pytest.mark.parametrize("fps", [ANALYSIS_FPS_MIN, 1.0, ANALYSIS_FPS_MAX])
def test_the_analysis_rate_is_accepted_at_both_ends_of_its_range(fps: float) -> None:
    core = bare_core(ManualClock(), analysis_fps=fps)
    assert core.interval_s == 1.0 / fps
    core.close()


@pytest.mark.parametrize(("fps", "message"), [
    (0.09, "analysis_fps must be 0.1..60.0, got 0.09"),
    (60.5, "analysis_fps must be 0.1..60.0, got 60.5"),
])
def test_an_analysis_rate_out_of_range_is_refused_with_the_range(fps: float, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        bare_core(ManualClock(), analysis_fps=fps)


@pytest.mark.parametrize("seconds", [0.0, PLAYER_MIN_INTERVAL_S_MAX])
def test_the_players_interval_is_accepted_at_both_ends_of_its_range(seconds: float) -> None:
    bare_core(ManualClock(), player_min_interval_s=seconds).close()


@pytest.mark.parametrize(("seconds", "message"), [
    (-0.5, "player_min_interval_s must be 0..3600.0, got -0.5"),
    (3600.5, "player_min_interval_s must be 0..3600.0, got 3600.5"),
])
def test_a_players_interval_out_of_range_is_refused_with_the_range(seconds: float, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        bare_core(ManualClock(), player_min_interval_s=seconds)


class FailingStore:
    def close(self) -> None:
        raise OSError("disk gone")


class ClosingStore:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_a_resource_that_fails_to_close_is_logged_by_its_type_and_the_others_still_close(
        caplog: pytest.LogCaptureFixture) -> None:
    kept = ClosingStore()
    core = bare_core(ManualClock(), resources=[kept, FailingStore()])
    with caplog.at_level(logging.ERROR, logger="soulsyncd.core.loop"):
        core.close()
    records = [r for r in caplog.records if r.name == "soulsyncd.core.loop"]
    assert [(r.levelno, r.getMessage()) for r in records] == [(logging.ERROR, "closing FailingStore failed")]
    assert records[0].exc_info is not None
    assert str(records[0].exc_info[1]) == "disk gone"
    assert kept.closed


@pytest.mark.parametrize("with_detector", [True, False])
def test_analysis_needs_both_the_detector_and_the_classifier(with_detector: bool) -> None:
    """With only one of the two every frame counts as "no face", and nothing is timed."""
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE] * 3, clock),
                    detector=FixedDetector() if with_detector else None,
                    classifier=None if with_detector else FixedClassifier(),
                    smoother=MoodSmoother(), policy=MoodPolicy(), clock=clock)
    for _ in range(3):
        clock.advance(0.25)
        core.tick()
    state = core.latest()
    assert state.mood is not None
    assert (state.mood.absent, state.faces, state.probabilities) == (True, 0, None)
    assert (state.stats.frames_analysed, state.stats.frames_with_face) == (3, 0)
    assert (state.stats.detector_ms, state.stats.inference_ms) == (0.0, 0.0)
    core.close()


def test_the_stage_times_are_the_median_of_the_last_50_frames_in_whole_milliseconds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """60 slow frames, then 50 fast ones: the medians are the fast ones' (all 110 would give the slow)."""
    perf = PerfCounter()
    monkeypatch.setattr(loop_module, "time", perf)
    clock = ManualClock()
    detector = TimedDetector(perf, [1 / 16] * 60 + [1 / 64] * 50)  # 62.5 ms, then 15.625 ms
    classifier = TimedClassifier(perf, [1 / 2] * 60 + [1 / 4] * 50)  # 500 ms, then 250 ms
    core = SoulSync(source=ReplaySource([FACE] * 110, clock), detector=detector, classifier=classifier,
                    smoother=MoodSmoother(), policy=MoodPolicy(), clock=clock)
    for _ in range(110):
        clock.advance(0.25)
        core.tick()
    stats = core.latest().stats
    assert (stats.detector_ms, stats.inference_ms) == (15.62, 250.0)
    core.close()


def frames_at(clock: ManualClock, core: SoulSync, steps: Sequence[float]) -> float:
    """A frame analysed after each step of the clock; the snapshot's frames/s after the last."""
    for step in steps:
        clock.advance(step)
        core.tick()
    return core.latest().stats.analysis_fps


def test_two_frames_a_second_apart_are_1_frame_per_second() -> None:
    clock = ManualClock(50.0)
    core = bare_core(clock, [FACE] * 2)
    assert frames_at(clock, core, [1.0, 1.0]) == 1.0
    core.close()


def test_two_frames_at_the_same_instant_are_0_frames_per_second_not_a_division_by_zero() -> None:
    clock = ManualClock(50.0)
    core = bare_core(clock, [FACE] * 2)
    assert frames_at(clock, core, [1.0, 0.0]) == 0.0
    assert core.stats.frames_analysed == 2
    core.close()


@pytest.mark.parametrize(("last_step", "fps"), [(4.0, 0.4), (4.5, 0.22)])
def test_a_frame_exactly_5_s_old_is_still_in_the_window(last_step: float, fps: float) -> None:
    """Frames at 51, 52 and 56 s: 2 intervals in 5 s. At 56.5 s the first has left: 1 in 4.5 s."""
    clock = ManualClock(50.0)
    core = bare_core(clock, [FACE] * 3)
    assert frames_at(clock, core, [1.0, 1.0, last_step]) == fps
    core.close()


class TrackPlayer(RecordingPlayer):
    """Plays track n for its n-th play intent; a pause keeps the track, stopped."""

    def state(self) -> PlayerState:
        plays = sum(intent.action == "play" for intent in self.intents)
        if not plays:
            return PlayerState()
        return PlayerState(playing=self.intents[-1].action == "play", detail="for happy",
                           track=Track(uri=f"spotify:track:{plays}", name="Song"))


def test_a_track_is_kept_once_with_the_time_it_was_seen_and_a_pause_of_it_is_no_new_track() -> None:
    clock = ManualClock(100.0)
    player = TrackPlayer(clock)
    core = make_core([FACE] * 100, clock, player=player)
    for _ in range(60):
        clock.advance(0.25)
        core.tick()
        assert core.wait_player_idle(5.0)
        if player.intents:
            break
    assert [intent.action for intent in player.intents] == ["play"]
    clock.advance(0.25)
    core.tick()  # the tick after the play sees the player's new track
    seen_at = clock.now - 100.0
    core.submit(Pause())
    for _ in range(2):
        clock.advance(0.25)
        core.tick()
        assert core.wait_player_idle(5.0)
    assert core.latest().player.playing is False
    assert list(core.stats.tracks) == [(seen_at, Track(uri="spotify:track:1", name="Song"), "for happy")]
    assert core.stats.tracks_started == 1
    core.close()


def test_the_log_level_and_restart_commands_are_control_events() -> None:
    clock = ManualClock()
    root = logging.getLogger()
    before = root.level
    core = bare_core(clock)
    events: list[Event] = []
    core.subscribe("test", events.append)
    try:
        core.submit(SetLogLevel("warning"))
        clock.advance(0.25)
        core.tick()
        core.submit(Restart())
        clock.advance(0.25)
        core.tick()
    finally:
        root.setLevel(before)
        core.close()  # delivers what is queued, then stops the subscriber
    unlisted = {EventKind.MOOD, EventKind.CAMERA, EventKind.STATS}
    assert [(e.kind, e.state.log_level) for e in events if e.kind not in unlisted] == [
        (EventKind.CONTROL, "warning"), (EventKind.CONTROL, "warning")]
    assert core.restart_requested.is_set()
