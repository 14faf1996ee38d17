"""The Spotify player's state across a standing failure and across a reload: a failure keeps its status,
error and a future retry until the right request succeeds; a fresh player reads what plays at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayerStatus
from tests.spotify_support import PAUSE, PLAY, SPEAKER, WALL0, Rig, make_rig


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSpotify]:
    with FakeSpotify(clock=clock.monotonic) as server:
        yield server


def start_playing(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(5)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() == rig.tracks[0].uri


def test_premium_required_keeps_its_status_error_and_a_future_retry_over_retries(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    """The skip's play fails; the retries only read playback (our own track, adopted): that proves
    nothing, so the state stays "premium required" with its error and the next retry ahead."""
    rig = make_rig(fake, clock, tmp_path, retry_initial_s=1, retry_max_s=5)
    start_playing(rig)
    rig.fake.premium = False
    rig.player.skip()
    for _ in range(120):
        rig.run_for(0.5)
        state = rig.player.state()
        assert state.status is PlayerStatus.PREMIUM_REQUIRED
        assert "Premium" in (state.last_error or "")
        assert (state.retry_at or 0.0) >= WALL0 + rig.clock.now
    rig.fake.premium = True
    rig.player.skip()
    rig.run_for(6)
    state = rig.player.state()
    assert (state.status, state.last_error, state.retry_at) == (PlayerStatus.OK, None, None)


def test_a_reloaded_player_shows_and_watches_its_own_music_before_any_intent(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    """A fresh player (daemon reload) with no intent yet (camera off) reads playback at start-up,
    shows its own remembered track, and keeps watching it: a listener's takeover is seen."""
    rig = make_rig(fake, clock, tmp_path)
    start_playing(rig)
    rig.run_for(20)
    rig.player.close()
    again = make_rig(fake, clock, tmp_path, tracks=rig.tracks[2:], speaker=False)
    again.run_for(1)
    state = again.player.state()
    assert (state.status, state.track, state.playing, state.device) == (
        PlayerStatus.OK, rig.tracks[0], True, SPEAKER)
    assert again.commands() == rig.commands()  # only read: nothing sent
    again.run_for(10)
    assert again.player.state().progress_s > 20
    fake.listener_plays(rig.tracks[5].uri)
    again.run_for(5)
    state = again.player.state()
    assert state.status is PlayerStatus.LISTENER_IN_CONTROL
    assert state.track == rig.tracks[5]  # the listener's track, not "nothing"


def test_a_reloaded_player_whose_first_intent_is_a_pause_pauses_its_own_music(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path)
    start_playing(rig)
    rig.player.close()
    again = make_rig(fake, clock, tmp_path, tracks=rig.tracks[2:], speaker=False)
    again.player.apply(PAUSE)
    again.run_for(2)
    assert again.playing_uri() is None
    assert again.player.state().track == rig.tracks[0]


def test_a_reloaded_player_without_an_intent_lets_its_track_end_and_idles(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    """No intent: nothing is queued or played at the boundary; the state goes idle, and stepping stops."""
    rig = make_rig(fake, clock, tmp_path)
    start_playing(rig)
    rig.player.close()
    again = make_rig(fake, clock, tmp_path, tracks=rig.tracks[2:], speaker=False)
    since = clock.now
    again.run_for(rig.tracks[0].duration_s + 10)
    assert again.commands(since=since) == []
    state = again.player.state()
    assert (state.status, state.track) == (PlayerStatus.IDLE, None)
    assert again.delays[-1] is None


def test_the_listeners_track_is_shown_while_they_are_in_control(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path)
    start_playing(rig)
    rig.fake.listener_plays(rig.tracks[4].uri)
    rig.run_for(3)
    state = rig.player.state()
    assert (state.status, state.track) == (PlayerStatus.LISTENER_IN_CONTROL, rig.tracks[4])
