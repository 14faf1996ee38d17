"""The dry-run player with the mood engine: real tracks at boundaries, on a manual clock."""

from __future__ import annotations

import logging
import threading

import pytest

from soulsyncd.catalog.store import CatalogTrack
from soulsyncd.mood.engine import MoodEngine
from soulsyncd.player import DryRunPlayer
from soulsyncd.testing import ManualClock
from soulsyncd.types import PlayerStatus, PlayIntent, Track

SAD = PlayIntent(action="play", valence=0.15, energy=0.3, mode="match", emotion="sad", reason="match sad")
HAPPY = PlayIntent(action="play", valence=0.9, energy=0.7, mode="match", emotion="happy",
                   reason="match happy")


def catalog() -> list[CatalogTrack]:
    tracks = []
    for k in range(40):
        v = 0.1 + (k % 20) * 0.04
        tracks.append(CatalogTrack(f"spotify:track:c{k:02d}", f"Song {k}", (f"Band {k % 13}",), 180.0 + k,
                                   v, 0.25 if k < 20 else 0.7))
    return tracks


class RecordingPicker:
    """Wraps the engine to see the calls the player makes."""

    def __init__(self, engine: MoodEngine) -> None:
        self.engine = engine
        self.finished_calls: list[tuple[str, float, bool]] = []
        self.intents: list[PlayIntent] = []

    def pick(self, intent: PlayIntent) -> Track | None:
        self.intents.append(intent)
        return self.engine.pick(intent)

    def finished(self, track: Track, listened_s: float, skipped: bool) -> None:
        self.finished_calls.append((track.uri, listened_s, skipped))
        self.engine.finished(track, listened_s, skipped)


def player_with(clock: ManualClock, track_s: float | None = None) -> tuple[DryRunPlayer, RecordingPicker]:
    engine = MoodEngine(catalog(), clock=clock, mood_now=lambda: None)
    picker = RecordingPicker(engine)
    player = DryRunPlayer(picker, clock=clock, track_s=track_s, describe_choice=engine.describe_last_choice,
                          background=False)
    return player, picker


def test_the_first_play_intent_starts_a_track_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    player, _ = player_with(clock)
    with caplog.at_level(logging.DEBUG, "soulsyncd.player"):
        player.apply(SAD)
    state = player.state()
    assert state.status is PlayerStatus.DRY_RUN
    assert state.playing
    assert state.track is not None
    assert state.detail == "match sad"
    assert "would play 'Song" in caplog.text
    assert f"(valence {state.track.valence:.2f}, energy 0.25) — match sad" in caplog.text


def test_tracks_change_only_at_boundaries_and_follow_the_newest_intent() -> None:
    clock = ManualClock()
    player, picker = player_with(clock)
    player.apply(SAD)
    first = player.state().track
    assert first is not None
    clock.advance(first.duration_s / 2)
    player.apply(HAPPY)  # the mood changed mid-track
    player.poll()
    assert player.state().track == first  # honoured at the next boundary, not now
    assert player.state().progress_s == pytest.approx(first.duration_s / 2, abs=0.1)
    clock.advance(first.duration_s / 2)
    player.poll()
    second = player.state().track
    assert second is not None
    assert second != first
    assert (second.energy, picker.intents[-1]) == (0.7, HAPPY)
    assert picker.finished_calls == [(first.uri, first.duration_s, False)]


def test_track_s_shortens_every_track_and_a_long_stall_catches_up() -> None:
    clock = ManualClock()
    player, picker = player_with(clock, track_s=8.0)
    player.apply(SAD)
    clock.advance(8.0 * 3 + 1.0)
    player.poll()
    assert [listened for _, listened, _ in picker.finished_calls] == [8.0, 8.0, 8.0]
    assert len(player.played) == 4
    assert [p.at for p in player.played] == [0.0, 8.0, 16.0, 24.0]


def test_skip_reports_the_skip_and_plays_the_next() -> None:
    clock = ManualClock()
    player, picker = player_with(clock)
    player.apply(SAD)
    first = player.state().track
    clock.advance(12.0)
    player.skip()
    assert picker.finished_calls == [(first.uri, 12.0, True)]  # type: ignore[union-attr]
    assert player.state().track not in (None, first)


def test_pause_ends_the_track_and_a_new_play_intent_starts_one() -> None:
    clock = ManualClock()
    player, picker = player_with(clock)
    player.apply(SAD)
    clock.advance(30.0)
    player.apply(PlayIntent(action="pause", reason="listener left"))
    assert player.state().track is None
    assert not player.state().playing
    assert picker.finished_calls[-1][1:] == (30.0, False)
    clock.advance(600.0)
    player.poll()
    assert player.state().track is None  # nothing plays to an empty room
    player.apply(SAD)
    assert player.state().track is not None


def test_no_track_is_a_dry_run_decision_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    engine = MoodEngine([], clock=ManualClock(), mood_now=lambda: None)
    player = DryRunPlayer(engine, clock=ManualClock(), describe_choice=engine.describe_last_choice,
                          background=False)
    with caplog.at_level(logging.DEBUG, "soulsyncd.player"):
        player.apply(SAD)
    assert player.state().track is None
    assert "no track to play" in caplog.text
    assert "would play music with valence 0.15, energy 0.30" in caplog.text


class ExplodingPicker:
    def pick(self, intent: PlayIntent) -> Track | None:
        raise RuntimeError("boom")

    def finished(self, track: Track, listened_s: float, skipped: bool) -> None:
        raise RuntimeError("boom")


def test_a_failing_picker_never_raises_out_of_the_player(caplog: pytest.LogCaptureFixture) -> None:
    player = DryRunPlayer(ExplodingPicker(), clock=ManualClock(), background=False)
    player.apply(SAD)
    player.skip()
    player.poll()
    assert player.state().track is None
    assert "choosing a track failed" in caplog.text


def test_without_a_picker_it_logs_intents_as_before(caplog: pytest.LogCaptureFixture) -> None:
    player = DryRunPlayer()
    with caplog.at_level(logging.DEBUG, "soulsyncd.player"):
        player.apply(SAD)
    assert "would play music with valence 0.15, energy 0.30 (match sad)" in caplog.text
    assert player.state().playing
    assert player.history == [SAD]
    player.close()


def test_the_background_thread_advances_tracks_and_stops_on_close() -> None:
    clock = ManualClock()
    engine = MoodEngine(catalog(), clock=clock, mood_now=lambda: None)
    advanced = threading.Event()

    class Signalling(RecordingPicker):
        def finished(self, track: Track, listened_s: float, skipped: bool) -> None:
            super().finished(track, listened_s, skipped)
            advanced.set()

    player = DryRunPlayer(Signalling(engine), clock=clock, track_s=5.0, poll_s=0.01)
    player.apply(SAD)
    clock.advance(5.0)
    assert advanced.wait(2.0)
    player.close()
