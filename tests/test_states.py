"""States that never lie: what the core publishes when it cannot see, how fast it really analyses,
what the mood's probabilities are, and what the players show (the real core with its test doubles)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from soulsyncd.cli import print_summary
from soulsyncd.core.commands import SetCamera, SetMode, SetVolume
from soulsyncd.core.loop import RunStats, SoulSync
from soulsyncd.core.state import Event, EventKind
from soulsyncd.mood import shift
from soulsyncd.mood.engine import EngineSettings, MoodEngine
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.player import DryRunPlayer
from soulsyncd.service.logs import EventLog
from soulsyncd.service.notify import status_line
from soulsyncd.testing import ListPicker, ManualClock, RecordingPlayer, ReplaySource
from soulsyncd.types import CameraStatus, Emotion, Frame, Framing, Track
from tests.test_core import EMPTY, FACE, TICK_S, FixedClassifier, FixedDetector, drive, make_core
from tests.test_engine_shift import SETTINGS, grid, shift_intent


class StateSource(ReplaySource):
    """A replay source whose ``state`` the test sets, as a real capture source reports its own."""

    def __init__(self, images: Sequence[np.ndarray | None], clock: ManualClock) -> None:
        super().__init__(images, clock)
        self.state = "ok"
        self.last_error: str | None = None

    def latest(self) -> Frame | None:
        return super().latest() if self.state == "ok" else None  # a retrying or ended source has none


class Recorder:
    """Collects a core's events; ``wait`` blocks until one matches (events arrive on another thread)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._condition = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._condition:
            self.events.append(event)
            self._condition.notify_all()

    def wait(self, predicate: object, timeout_s: float = 5.0) -> bool:
        with self._condition:
            return self._condition.wait_for(
                lambda: any(predicate(e) for e in self.events), timeout_s)  # type: ignore[operator]


def happy_core(clock: ManualClock) -> tuple[SoulSync, StateSource]:
    source = StateSource([FACE] * 500, clock)
    core = make_core([], clock)
    core.source = source
    drive(core, clock, 25)  # 5 s of a happy face
    state = core.latest()
    assert state.mood is not None
    assert (state.mood.label, state.faces) == ("happy", 1)
    return core, source


# --- camera off, absent, ended: faces 0, mood unknown ------------------------------------------------


def test_camera_off_makes_the_mood_unknown_and_faces_zero_at_once() -> None:
    clock = ManualClock()
    core, _ = happy_core(clock)
    events = Recorder()
    core.subscribe("test", events)
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 1)  # one tick: 0.2 s
    state = core.latest()
    assert (state.mood, state.faces, state.probabilities) == (None, 0, None)
    assert events.wait(lambda e: e.kind is EventKind.MOOD and e.state.mood is None)
    assert status_line(state).startswith("mood unknown, ")
    core.close()


@pytest.mark.parametrize(("status", "error", "camera"), [
    ("retrying", "cannot open camera 0", CameraStatus.ABSENT), ("ended", None, CameraStatus.ENDED)])
def test_an_absent_or_ended_camera_makes_the_mood_unknown(
        status: str, error: str | None, camera: CameraStatus) -> None:
    clock = ManualClock()
    core, source = happy_core(clock)
    source.state, source.last_error = status, error
    drive(core, clock, 1)
    state = core.latest()
    assert state.camera is camera
    assert (state.mood, state.faces, state.probabilities) == (None, 0, None)
    core.close()


def test_back_from_unknown_the_mood_is_published_again_but_the_timeline_has_no_repeat() -> None:
    clock = ManualClock()
    core, source = happy_core(clock)
    source.state = "retrying"
    drive(core, clock, 5)
    source.state = "ok"
    drive(core, clock, 5)
    state = core.latest()
    assert state.mood is not None
    assert (state.mood.label, state.faces) == ("happy", 1)
    assert [c.mood.label for c in core.stats.timeline] == ["absent", "happy"]
    core.close()


def test_the_policy_does_not_act_on_a_stale_mood_while_the_camera_is_off() -> None:
    """A mode set with the camera off must not start music for the last mood seen."""
    clock = ManualClock()
    player = RecordingPlayer(clock)
    core = make_core([FACE] * 25, clock, player=player, mode="off")
    drive(core, clock, 25)
    assert player.intents == []
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 2)
    core.submit(SetMode("match"))
    drive(core, clock, 10)
    assert player.intents == []
    core.close()


def test_the_shift_waits_while_the_mood_is_unknown() -> None:
    """The engine re-plans at a track boundary: with the mood unknown it holds its waypoint."""
    moods: list[tuple[float, float] | None] = [(-0.7, -0.4)]
    engine = MoodEngine(grid(), clock=ManualClock(1_767_225_600.0), mood_now=lambda: moods[-1],
                        settings=EngineSettings(shift=SETTINGS))
    engine.pick(shift_intent())
    first = engine.last_choice()
    assert first is not None
    assert first.plan is not None
    moods.append(None)
    for _ in range(3):
        engine.pick(shift_intent())
        choice = engine.last_choice()
        assert choice is not None
        assert choice.plan is not None
        assert (choice.plan.action, choice.plan.step, choice.plan.waypoint) == (
            "wait", 0, first.plan.waypoint)
    assert "(mood unknown)" in engine.describe_last_choice()
    assert shift.wait(first.plan).holds == first.plan.holds  # waiting is not the listener refusing


# --- frames/s: frames analysed, not ticks --------------------------------------------------------------


def test_frames_per_second_counts_analysed_frames_not_ticks() -> None:
    clock = ManualClock()
    every_other = [FACE if i % 2 == 0 else None for i in range(100)]
    core = make_core(every_other, clock)
    drive(core, clock, 50)  # 5 ticks/s, a frame on every other tick
    assert core.latest().stats.analysis_fps == pytest.approx(2.5, rel=0.1)
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 40)  # 8 s of ticks without a frame: the STATS event refreshes the figure
    state = core.latest()
    assert state.stats.analysis_fps == 0.0
    assert "0.0 frames/s" in status_line(state)
    core.close()


def test_the_camera_switched_off_is_0_frames_per_second_at_once() -> None:
    """Seen in a Trixie box: `camera disabled` with `4.0 frames/s` in STATUS a second after the switch
    (the 5 s window still held the frames from before); none is analysed from the switch on."""
    clock = ManualClock()
    core, _ = happy_core(clock)
    assert core.latest().stats.analysis_fps > 4
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 1)
    state = core.latest()
    assert state.stats.analysis_fps == 0.0
    assert status_line(state).startswith("mood unknown, 0.0 frames/s, camera disabled")
    core.close()


def test_the_run_summary_gives_frames_analysed_per_second() -> None:
    clock = ManualClock()
    source = StateSource([FACE if i % 2 == 0 else None for i in range(20)], clock)
    core = make_core([], clock)
    core.source = source
    stop = threading.Event()
    ticks = 0

    def tick_and_count() -> None:  # the run loop on the manual clock: advance, stop after 20 ticks
        nonlocal ticks
        ticks += 1
        clock.advance(TICK_S)
        if ticks >= 20:
            stop.set()

    original = core.tick
    core.tick = lambda: (tick_and_count(), original())[1]  # type: ignore[method-assign]
    stats = core.run(stop)
    assert stats.frames_analysed == 10
    assert stats.elapsed_s == pytest.approx(4.0)
    assert stats.analysis_fps == pytest.approx(2.5)


def test_print_summary_says_frames_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    print_summary(RunStats(frames_analysed=10, frames_with_face=4, elapsed_s=4.0))
    assert capsys.readouterr().out.startswith("analysed 10 frames in 4.0 s (2.5 frames/s), a face in 4")


# --- probabilities: the smoothed window's ---------------------------------------------------------------


class AlternatingClassifier:
    """Happy, sad, happy, ... one certain answer per call."""

    def __init__(self) -> None:
        self.calls = 0

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        emotion = (Emotion.HAPPY, Emotion.SAD)[self.calls % 2]
        self.calls += 1
        return FixedClassifier(emotion).classify(faces)


def test_the_published_probabilities_are_the_smoothed_windows() -> None:
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE] * 10, clock), detector=FixedDetector(),
                    classifier=AlternatingClassifier(), smoother=MoodSmoother(), policy=MoodPolicy(),
                    clock=clock)
    drive(core, clock, 10)
    probabilities = core.latest().probabilities
    assert probabilities is not None
    assert probabilities[Emotion.HAPPY] == pytest.approx(0.5)
    assert probabilities[Emotion.SAD] == pytest.approx(0.5)
    mood = core.latest().mood
    assert mood is not None
    assert mood.confidence == pytest.approx(probabilities[int(mood.emotion)])  # type: ignore[arg-type]
    core.close()


# --- the players --------------------------------------------------------------------------------------


def test_the_dry_run_player_shows_the_speaker_and_volume_it_took(caplog: pytest.LogCaptureFixture) -> None:
    player = DryRunPlayer()
    assert (player.state().device, player.state().volume) == (None, None)
    with caplog.at_level(logging.DEBUG, "soulsyncd.player"):
        player.set_output(device="Kitchen")
        player.set_output(volume=40)
    assert (player.state().device, player.state().volume) == ("Kitchen", 40)
    assert "None" not in caplog.text
    assert "would set speaker Kitchen" in caplog.text


def test_the_cores_state_carries_the_dry_run_players_volume() -> None:
    clock = ManualClock()
    core = make_core([FACE] * 10, clock, player=DryRunPlayer(clock=clock))
    core.submit(SetVolume(35))
    drive(core, clock, 5)
    assert core.latest().player.volume == 35
    core.close()


def test_each_track_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    tracks = [Track(uri=f"spotify:track:{n}", name=f"Song {n}", artists=("Band",), duration_s=2.0,
                    valence=0.8, energy=0.6) for n in range(3)]
    player = DryRunPlayer(ListPicker(tracks), clock=clock, background=False)
    core = make_core([FACE] * 60, clock, player=player)
    EventLog().start(core)
    with caplog.at_level(logging.INFO):
        for _ in range(60):
            drive(core, clock, 1)
            player.poll()
        core.close()  # the event log's thread has written everything queued when this returns
    played = {track.name for _, track, _ in core.stats.tracks}  # the tracks the core saw start
    assert played
    for name in played:
        lines = [r.getMessage() for r in caplog.records if f"'{name}'" in r.getMessage()]
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"player: would play '{name}' by Band (valence 0.80, energy 0.60)")
    assert "None" not in caplog.text


def test_systemd_status_says_mood_unknown_within_2_s_of_the_camera_going_off() -> None:
    from soulsyncd.service.notify import NotifySocket, SystemdNotifier, socket_address
    from tests.test_service_notify import Listener

    listener = Listener(abstract=True)
    clock = ManualClock()
    core, _ = happy_core(clock)
    notifier = SystemdNotifier(NotifySocket(socket_address(listener.env_value)), watchdog_s=600.0,
                               clock=clock)
    notifier.start(core)
    try:
        first = listener.wait_for(lambda m: m.fields.get("STATUS", "").startswith("mood happy"), 2)
        core.submit(SetCamera(enabled=False))
        drive(core, clock, 1)
        listener.wait_for(lambda m: m.fields.get("STATUS", "").startswith("mood unknown, "), 2,
                          after=first + 1)
    finally:
        notifier.stop()
        core.close()
        listener.close()


# --- the camera's status, word by word, and the mood forgotten once (mutation round four) ------------


@pytest.mark.parametrize(("status", "error", "camera", "detail", "ready"), [
    ("ok", None, CameraStatus.OK, "", False),
    ("starting", None, CameraStatus.STARTING, "", False),
    ("ended", None, CameraStatus.ENDED, "", True),
    ("retrying", "cannot open camera 0", CameraStatus.ABSENT, "cannot open camera 0", True),
    ("retrying", "device unplugged", CameraStatus.ERROR, "device unplugged", True),
])
def test_the_camera_status_and_reason_come_from_the_source_and_only_a_missing_camera_is_ready(
        status: str, error: str | None, camera: CameraStatus, detail: str, ready: bool) -> None:
    """"cannot open" is a camera that never appeared; any other reason, one that failed after opening.
    systemd stops waiting for a camera that is absent, failed or ended (no frame will come)."""
    clock = ManualClock()
    core = make_core([], clock)
    source = StateSource([], clock)  # no frame: ready only by the camera's status
    source.state, source.last_error = status, error
    core.source = source
    events = Recorder()
    core.subscribe("test", events)
    drive(core, clock, 3)
    state = core.latest()
    assert (state.camera, state.camera_detail, core.ready.is_set()) == (camera, detail, ready)
    core.close()  # delivers what is queued
    published = [(e.kind, e.state.camera, e.state.camera_detail) for e in events.events
                 if e.kind is not EventKind.STATS]
    expected = [] if camera is CameraStatus.STARTING else [(EventKind.CAMERA, camera, detail)]
    assert published == expected  # once, not at every tick


def test_a_new_reason_with_the_same_status_is_published() -> None:
    clock = ManualClock()
    core = make_core([], clock)
    source = StateSource([], clock)
    source.state, source.last_error = "retrying", "cannot open camera 0"
    core.source = source
    drive(core, clock, 1)
    source.last_error = "cannot open camera 1"
    drive(core, clock, 1)
    state = core.latest()
    assert (state.camera, state.camera_detail) == (CameraStatus.ABSENT, "cannot open camera 1")
    core.close()


def test_an_ended_camera_forgets_the_mood_once_with_its_faces_and_framing() -> None:
    clock = ManualClock()
    core, source = happy_core(clock)
    assert core.latest().framing.boxes  # the face was framed
    events = Recorder()
    core.subscribe("test", events)
    source.state = "ended"
    drive(core, clock, 5)
    core.close()  # delivers what is queued
    moods = [e.state for e in events.events if e.kind is EventKind.MOOD]
    assert [(s.mood, s.faces, s.probabilities, s.framing) for s in moods] == [(None, 0, None, Framing())]
    assert core.latest().framing == Framing()


def test_the_camera_switched_off_in_an_empty_room_makes_the_mood_unknown_not_absent() -> None:
    """"absent" is a mood seen (nobody there); with the camera off nobody can tell."""
    clock = ManualClock()
    core = make_core([EMPTY] * 50, clock)
    drive(core, clock, 10)
    before = core.latest()
    assert before.mood is not None
    assert (before.mood.label, before.probabilities) == ("absent", None)
    events = Recorder()
    core.subscribe("test", events)
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 3)
    assert (core.latest().mood, core.latest().camera) == (None, CameraStatus.DISABLED)
    core.close()
    assert [e.state.mood for e in events.events if e.kind is EventKind.MOOD] == [None]


def test_the_camera_off_event_shows_no_face_boxes() -> None:
    """The snapshot that says "camera disabled" does not still frame the listener's face."""
    clock = ManualClock()
    core, _ = happy_core(clock)
    events = Recorder()
    core.subscribe("test", events)
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 1)
    core.close()
    cameras = [e.state for e in events.events if e.kind is EventKind.CAMERA]
    assert [(s.camera, s.camera_detail, s.framing) for s in cameras] == [
        (CameraStatus.DISABLED, "privacy switch", Framing())]
