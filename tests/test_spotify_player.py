"""The Spotify player against the fake Web API, stepped on a manual clock shared with the fake:
devices by name, boundary switching, the listener in charge, and every error as a state."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.spotify.auth import token_path
from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayerStatus, PlayIntent
from tests.spotify_support import PAUSE, PLAY, SPEAKER, WALL0, Rig, add_tracks, log_in, make_rig

SAD = PlayIntent("play", valence=0.15, energy=0.3, reason="sad")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSpotify]:
    with FakeSpotify(clock=clock.monotonic) as server:
        yield server


@pytest.fixture
def rig(fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> Rig:
    return make_rig(fake, clock, tmp_path)


def start_playing(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(5)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() == rig.tracks[0].uri


# --- starting, devices ------------------------------------------------------------------------------


def test_play_wakes_the_named_speaker_and_confirms_before_the_next_command(rig: Rig) -> None:
    """The first intent: look up the speaker by name, play on it (waking it); the next command
    (the volume) waits until a poll has seen the track there."""
    rig.fake.add_device("Phone", type="Smartphone")
    rig.player.set_output(volume=35)
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    assert rig.requests() == [("GET", "/v1/me/player"), ("GET", "/v1/me/player/devices"),
                              ("PUT", "/v1/me/player/play")]
    state = rig.player.state()
    assert (state.status, state.device, state.track, state.playing) == (
        PlayerStatus.OK, SPEAKER, rig.tracks[0], True)
    rig.run_for(2.5)
    assert rig.requests()[3:] == [("GET", "/v1/me/player"), ("PUT", "/v1/me/player/volume")]
    playback = rig.fake.playback()
    assert playback is not None
    assert (playback["device"]["name"], playback["device"]["volume_percent"]) == (SPEAKER, 35)


def test_the_speaker_is_found_by_name_after_it_reappears_with_a_new_id(rig: Rig) -> None:
    start_playing(rig)
    rig.fake.remove_device(SPEAKER)
    rig.run_for(3)
    assert rig.player.state().status is PlayerStatus.NO_DEVICE
    rig.run_for(30)  # retried with a back-off, still not there
    assert rig.player.state().status is PlayerStatus.NO_DEVICE
    new_id = rig.fake.add_device(SPEAKER)
    rig.run_for(70)  # the back-off is bounded (a minute at most)
    state = rig.player.state()
    assert state.status is PlayerStatus.OK
    playback = rig.fake.playback()
    assert playback is not None
    assert playback["device"]["id"] == new_id
    assert playback["is_playing"]


def test_an_unknown_speaker_lists_the_visible_ones(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake.add_device("Living Room")
    fake.add_device("TV", restricted=True)
    rig = make_rig(fake, clock, tmp_path, speaker=False, device="Kitchn")
    caplog.set_level(logging.WARNING)
    rig.player.apply(PLAY)
    rig.run_for(1)
    state = rig.player.state()
    assert state.status is PlayerStatus.NO_DEVICE
    assert state.last_error is not None
    assert "'Kitchn' not found" in state.last_error
    assert "'Living Room', 'TV' (restricted)" in caplog.text
    assert state.retry_at == pytest.approx(WALL0 + clock.now - 1 + 2.0)  # retry_initial_s later


def test_a_restricted_speaker_is_skipped(fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, restricted=True)
    rig = make_rig(fake, clock, tmp_path, speaker=False)
    rig.player.apply(PLAY)
    rig.run_for(1)
    assert rig.player.state().status is PlayerStatus.NO_DEVICE
    assert "restricted" in (rig.player.state().last_error or "")
    assert rig.commands() == []


def test_set_output_moves_playback_to_another_speaker(rig: Rig) -> None:
    start_playing(rig)
    rig.fake.add_device("Living Room")
    rig.player.set_output(device="Living Room")
    rig.run_for(3)
    assert ("PUT", "/v1/me/player") in rig.commands()
    playback = rig.fake.playback()
    assert playback is not None
    assert playback["device"]["name"] == "Living Room"
    rig.run_for(4)
    assert rig.player.state().status is PlayerStatus.OK  # its own move is not a takeover
    assert rig.player.state().device == "Living Room"


def test_a_play_the_device_did_not_take_is_sent_again(rig: Rig) -> None:
    """202 with an empty body (device temporarily unavailable): polls show nothing, play goes again."""
    rig.fake.fail_next(1, 202, path_prefix="me/player/play")
    rig.player.apply(PLAY)
    rig.run_for(10)
    assert rig.commands().count(("PUT", "/v1/me/player/play")) == 2
    assert rig.playing_uri() == rig.tracks[0].uri
    assert rig.player.state().status is PlayerStatus.OK


# --- track boundaries ---------------------------------------------------------------------------------


def test_a_new_mood_starts_at_the_track_boundary_not_mid_song(rig: Rig) -> None:
    start_playing(rig)
    first = rig.tracks[0]
    started = rig.clock.now - 5
    rig.run_for(30)
    rig.player.apply(SAD)
    rig.run_for(first.duration_s - 40 - 25)  # until 25 s before the end
    assert rig.commands() == [("PUT", "/v1/me/player/play")]  # nothing touched mid-song
    assert rig.playing_uri() == first.uri
    rig.run_for(20)  # into the lead window: the next track is queued, once
    queued = [r for r in rig.fake.requests if r.path == "/v1/me/player/queue"]
    assert len(queued) == 1
    assert started + first.duration_s - 10 - 2 <= queued[0].at <= started + first.duration_s - 10
    assert rig.picker.picks[-1] == (SAD, rig.tracks[1])
    rig.clock.now = started + first.duration_s + 1  # the fake moves on by itself at the end
    assert rig.playing_uri() == rig.tracks[1].uri
    playback = rig.fake.playback()
    assert playback is not None
    assert playback["progress_ms"] == pytest.approx(1000, abs=1)
    rig.run_for(2)
    assert rig.player.state().track == rig.tracks[1]
    assert rig.picker.endings == [(first, first.duration_s, False)]
    assert rig.commands().count(("PUT", "/v1/me/player/play")) == 1  # seamless: no second play


def test_immediate_switch_plays_the_new_mood_at_once(fake: FakeSpotify, clock: ManualClock,
                                                     tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path, switch="immediate")
    start_playing(rig)
    rig.run_for(60)
    rig.player.apply(SAD)
    rig.run_for(0.5)
    assert rig.playing_uri() == rig.tracks[1].uri
    assert rig.picker.endings[0][0] == rig.tracks[0]
    assert rig.picker.endings[0][2] is False  # the daemon moved on, not the listener


def test_the_next_track_follows_even_when_the_queue_was_missed(rig: Rig) -> None:
    """Offline through the lead window: after the track ended silently, the next pick is played."""
    start_playing(rig)
    rig.run_for(rig.tracks[0].duration_s - 30)
    rig.fake.go_down()
    rig.run_for(40)
    assert rig.player.state().status is PlayerStatus.OFFLINE
    rig.fake.come_up()
    rig.run_for(40)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() == rig.tracks[1].uri


def test_skip_plays_the_next_pick_and_reports_an_early_skip(rig: Rig) -> None:
    start_playing(rig)
    rig.run_for(10)
    rig.player.skip()
    rig.run_for(0.5)
    assert rig.playing_uri() == rig.tracks[1].uri
    track, listened, skipped = rig.picker.endings[0]
    assert (track, skipped) == (rig.tracks[0], True)
    assert listened == pytest.approx(15, abs=2.5)


def test_skip_goes_to_the_queued_track(rig: Rig) -> None:
    start_playing(rig)
    rig.run_for(rig.tracks[0].duration_s - 12)
    assert rig.fake.queue == [rig.tracks[1].uri]
    rig.player.skip()
    rig.run_for(3)
    assert ("POST", "/v1/me/player/next") in rig.commands()
    assert rig.playing_uri() == rig.tracks[1].uri
    assert rig.fake.queue == []
    assert rig.picker.endings[0][2] is False  # listened well past 30 s


# --- pause ----------------------------------------------------------------------------------------------


def test_pause_at_once_then_no_requests_until_the_listener_is_back(rig: Rig) -> None:
    start_playing(rig)
    rig.run_for(20)
    rig.player.apply(PAUSE)
    rig.run_for(0.1)
    assert rig.commands()[-1] == ("PUT", "/v1/me/player/pause")
    assert rig.player.state().status is PlayerStatus.IDLE
    assert rig.player.state().playing is False
    paused_at = rig.clock.now
    rig.run_for(30 * 60)
    assert rig.requests(since=paused_at) == []
    rig.player.apply(PLAY)
    rig.run_for(3)
    assert rig.playing_uri() == rig.tracks[0].uri  # the same track, resumed where it stopped
    playback = rig.fake.playback()
    assert playback is not None
    assert 20_000 < playback["progress_ms"] < 30_000


# --- the listener in charge -----------------------------------------------------------------------------


@pytest.mark.parametrize("takeover", ["plays", "pauses", "transfers"])
def test_listener_takeover_means_hands_off_until_the_back_off_ends(rig: Rig, takeover: str) -> None:
    start_playing(rig)
    rig.fake.add_device("Phone", type="Smartphone")
    rig.run_for(20)
    if takeover == "plays":
        rig.fake.listener_plays(rig.tracks[4].uri)
    elif takeover == "pauses":
        rig.fake.listener_pauses()
    else:
        rig.fake.listener_transfers("Phone")
    rig.run_for(2.5)
    state = rig.player.state()
    assert state.status is PlayerStatus.LISTENER_IN_CONTROL
    assert rig.picker.endings == [(rig.tracks[0], pytest.approx(25, abs=3), True)]
    since = rig.clock.now
    rig.player.apply(SAD)  # a new mood does not take control back
    rig.run_for(899 - 2.5)
    assert rig.requests(since=since) == []
    assert rig.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    if takeover == "pauses":
        rig.run_for(5)  # nothing plays after the back-off: the daemon plays again
        assert rig.player.state().status is PlayerStatus.OK
        assert rig.playing_uri() == rig.tracks[1].uri


def test_after_the_back_off_a_listener_still_playing_keeps_control(rig: Rig) -> None:
    """Their playlist still plays when the back-off ends: one look, no command, another period."""
    theirs = add_tracks(rig.fake, 8, prefix="L")
    rig.fake.add_playlist("Theirs", "Their evening", [t.uri for t in theirs])
    start_playing(rig)
    rig.fake.listener_plays("spotify:playlist:Theirs")
    rig.run_for(3)
    assert rig.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    since = rig.clock.now
    rig.run_for(905)
    assert rig.requests(since=since) == [("GET", "/v1/me/player")]
    assert rig.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    rig.fake.listener_pauses()
    rig.run_for(900)
    assert rig.player.state().status is PlayerStatus.OK  # their music stopped: ours again


def test_setting_the_mode_takes_control_back_at_once(rig: Rig) -> None:
    start_playing(rig)
    rig.fake.listener_plays(rig.tracks[5].uri)
    rig.run_for(3)
    assert rig.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    rig.player.apply(PlayIntent("play", valence=0.8, energy=0.6, reason="mode set", claim=True))
    rig.run_for(0.5)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() == rig.tracks[1].uri


def test_pause_from_the_dashboard_pauses_the_listeners_music_once(rig: Rig) -> None:
    start_playing(rig)
    rig.fake.listener_plays(rig.tracks[5].uri)
    rig.run_for(3)
    assert rig.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    rig.player.apply(PlayIntent("pause", reason="paused by the listener", claim=True))
    rig.run_for(600)
    assert rig.commands(since=rig.clock.now - 600) == [("PUT", "/v1/me/player/pause")]
    assert rig.playing_uri() is None
    assert rig.player.state().status is PlayerStatus.IDLE


def test_resume_control_ends_the_back_off(rig: Rig) -> None:
    start_playing(rig)
    rig.fake.listener_pauses()
    rig.run_for(3)
    rig.player.resume_control()
    rig.run_for(0.5)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() is not None


def test_after_a_restart_its_own_music_is_not_the_listeners(rig: Rig, tmp_path: Path) -> None:
    """A new player (restart, reload) carries on with the track the old one started, boundary included."""
    start_playing(rig)
    rig.run_for(rig.tracks[0].duration_s - 12)
    assert rig.fake.queue == [rig.tracks[1].uri]  # the old player queued the next one, then stopped
    rig.player.close()
    again = make_rig(rig.fake, rig.clock, tmp_path, tracks=rig.tracks[2:], speaker=False)
    since = rig.clock.now
    again.player.apply(SAD)
    again.run_for(30)  # past the boundary: the track the old player had queued plays on
    assert again.player.state().status is PlayerStatus.OK
    assert again.player.state().track == rig.tracks[1]
    assert again.commands(since=since) == [("POST", "/v1/me/player/queue")]  # no play: nothing cut off
    assert [(t, skipped) for t, _, skipped in again.picker.endings] == [(rig.tracks[0], False)]  # ended
    again.run_for(rig.tracks[1].duration_s)
    assert again.playing_uri() == rig.tracks[2].uri  # and the new player's own pick follows
    assert again.player.state().status is PlayerStatus.OK
    assert rig.fake.queue == []  # one queued ahead at most, even across the restart


# --- every error is a state, and recovers ----------------------------------------------------------------


def test_rate_limit_waits_out_retry_after_sending_nothing(rig: Rig) -> None:
    start_playing(rig)
    rig.fake.fail_next(1, 429, retry_after=120, path_prefix="me/player")
    rig.run_for(2.5)
    state = rig.player.state()
    assert state.status is PlayerStatus.RATE_LIMITED
    limited_at = rig.fake.requests[-1].at
    assert state.retry_at == pytest.approx(WALL0 + limited_at + 120)
    rig.player.apply(SAD)
    rig.player.skip()
    rig.run_for(limited_at + 119 - rig.clock.now)
    assert rig.requests(since=limited_at + 0.001) == []
    rig.run_for(4)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.player.state().retry_at is None


def test_an_hour_long_retry_after_is_clamped(fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path, max_retry_after_s=600)
    fake.fail_next(1, 429, retry_after=7200, reason="QUOTA_EXCEEDED")
    rig.player.apply(PLAY)
    rig.run_for(1)
    state = rig.player.state()
    assert state.status is PlayerStatus.RATE_LIMITED
    assert "quota" in (state.last_error or "")
    assert state.retry_at == pytest.approx(WALL0 + 1000 + 600)
    rig.run_for(600)
    assert rig.player.state().status is PlayerStatus.OK


@pytest.mark.parametrize("fault", ["500", "503", "refused"])
def test_offline_backs_off_exponentially_and_recovers(rig: Rig, fault: str) -> None:
    start_playing(rig)
    if fault == "refused":
        rig.fake.go_down()
    else:
        rig.fake.fail_next(5, int(fault))
    failed_at = len(rig.delays)
    rig.run_for(2 + 2 + 4 + 8 + 16 - 1)
    assert rig.player.state().status is PlayerStatus.OFFLINE
    assert rig.delays[failed_at:][1:5] == [2.0, 4.0, 8.0, 16.0]  # after the poll that failed
    rig.fake.come_up()
    rig.run_for(40)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.player.state().last_error is None


def test_premium_required_is_a_state_without_a_retry_storm(rig: Rig) -> None:
    rig.fake.premium = False
    rig.player.apply(PLAY)
    rig.run_for(10 * 60)
    assert rig.player.state().status is PlayerStatus.PREMIUM_REQUIRED
    assert len(rig.commands()) <= 3  # one try, then one every retry_max_s (5 min)


def test_expired_access_token_is_refreshed_once_and_the_rotated_token_saved(rig: Rig, tmp_path: Path) -> None:
    start_playing(rig)
    before = json.loads(token_path(tmp_path).read_text())
    rig.fake.expire_access_tokens()
    rig.run_for(2.5)
    assert rig.player.state().status is PlayerStatus.OK
    after = json.loads(token_path(tmp_path).read_text())
    assert after["refresh_token"] != before["refresh_token"]  # single-use: the new one is kept
    assert [r.status for r in rig.fake.requests if r.path == "/api/token"] == [200]
    rig.fake.expire_access_tokens()
    rig.run_for(2)
    assert rig.player.state().status is PlayerStatus.OK  # the rotated token refreshes again


def test_a_revoked_login_is_login_required_until_the_user_logs_in_again(
        rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    start_playing(rig)
    rig.fake.expire_access_tokens()
    rig.fake.revoke_refresh_tokens()
    caplog.set_level(logging.ERROR)
    rig.run_for(2.5)
    assert rig.player.state().status is PlayerStatus.LOGIN_REQUIRED
    assert "spotify-login" in caplog.text
    log_in(rig.fake, tmp_path)  # the user ran spotify-login while the daemon runs
    rig.run_for(301)
    assert rig.player.state().status is PlayerStatus.OK


def test_a_corrupt_token_cache_is_login_required(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path)
    token_path(tmp_path).write_text('{"access_token": "x", "refr', encoding="utf-8")
    rig.player.apply(PLAY)
    rig.run_for(1)
    state = rig.player.state()
    assert state.status is PlayerStatus.LOGIN_REQUIRED
    assert "spotify-login" in (state.last_error or "")


def test_no_active_device_error_recovers(rig: Rig) -> None:
    rig.fake.fail_next(2, 404, reason="NO_ACTIVE_DEVICE", path_prefix="me/player/play")
    rig.player.apply(PLAY)
    rig.run_for(1)
    assert rig.player.state().status is PlayerStatus.NO_DEVICE
    rig.run_for(10)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() == rig.tracks[0].uri


def test_nothing_to_play_is_reported_and_does_not_spin(fake: FakeSpotify, clock: ManualClock,
                                                        tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path, tracks=[])
    add_tracks(fake, 1)
    rig.player.apply(PLAY)
    rig.run_for(600)
    state = rig.player.state()
    assert state.status is PlayerStatus.IDLE
    assert "nothing to play" in (state.last_error or "")
    assert rig.commands() == []


# --- the request budget ---------------------------------------------------------------------------------


def test_steady_playback_stays_under_forty_requests_a_minute(rig: Rig) -> None:
    start_playing(rig)
    t0 = rig.clock.now
    rig.run_for(30 * 60)
    per_minute = [len(rig.fake.requests_between(t0 + 60 * m, t0 + 60 * (m + 1))) for m in range(30)]
    assert max(per_minute) <= 40
    assert rig.player.state().status is PlayerStatus.OK
    assert len(rig.picker.endings) >= 9  # ~3-minute tracks came and went on their own


# --- a failure stands until a request proves it over (QA: outages flapped offline -> ok) ------------------


def statuses_over(rig: Rig, seconds: float, every: float = 0.25) -> list[PlayerStatus]:
    """The status after each of many steps (more often than due: extra steps must change nothing)."""
    seen = []
    end = rig.clock.now + seconds
    while rig.clock.now < end:
        rig.run_for(min(every, end - rig.clock.now))
        seen.append(rig.player.state().status)
    return seen


def test_an_outage_stays_offline_and_backs_off_until_a_request_succeeds(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rig = make_rig(fake, clock, tmp_path, retry_initial_s=1, retry_max_s=5)
    start_playing(rig)
    caplog.set_level(logging.INFO, logger="soulsyncd.spotify")
    rig.fake.go_down()
    seen = statuses_over(rig, 20)
    first = seen.index(PlayerStatus.OFFLINE)
    assert set(seen[first:]) == {PlayerStatus.OFFLINE}  # no "ok" between the failed tries
    assert "reachable again" not in caplog.text
    assert caplog.text.count("cannot connect to Spotify") == 1  # one line for the whole outage
    rig.fake.come_up()
    rig.run_for(5 + 2)
    state = rig.player.state()
    assert (state.status, state.last_error, state.retry_at) == (PlayerStatus.OK, None, None)
    assert caplog.text.count("reachable again") == 1


def test_the_back_off_grows_over_an_outage(fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    """The waits between failed tries double up to retry_max_s (not reset by steps that sent nothing)."""
    rig = make_rig(fake, clock, tmp_path, retry_initial_s=1, retry_max_s=5)
    start_playing(rig)
    rig.fake.go_down()
    retries: list[float] = []
    end = rig.clock.now + 25
    while rig.clock.now < end:
        rig.run_for(0.25)
        retry_at = rig.player.state().retry_at
        if retry_at is not None and (not retries or retry_at != retries[-1]):
            retries.append(retry_at)
    waits = [round(b - a) for a, b in itertools.pairwise(retries)]
    # Tries at t, t+2 (the next poll: the 1 s wait had passed), t+4, t+8, t+13, t+18, each with its
    # wait (1, 2, 4, 5, 5 s): retry_at moves t+1, t+4, t+8, t+13, t+18.
    assert waits[:4] == [3, 4, 5, 5]


def test_premium_required_stays_until_a_command_succeeds(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Polls (GETs) work without Premium: they do not prove it is back; a command does."""
    rig = make_rig(fake, clock, tmp_path, retry_initial_s=1, retry_max_s=5)
    start_playing(rig)
    rig.run_for(10)
    rig.fake.premium = False
    caplog.set_level(logging.INFO, logger="soulsyncd.spotify")
    rig.player.skip()
    seen = statuses_over(rig, 60, every=1.0)
    assert set(seen) == {PlayerStatus.PREMIUM_REQUIRED}
    assert "reachable again" not in caplog.text
    rig.fake.premium = True
    rig.player.set_output(volume=30)  # the next command goes out after the back-off, and works
    rig.run_for(5 + 3)
    state = rig.player.state()
    assert (state.status, state.last_error) == (PlayerStatus.OK, None)
    playback = rig.fake.playback()
    assert playback is not None
    assert playback["device"]["volume_percent"] == 30


def test_an_unknown_speaker_stays_no_device_until_it_appears(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """set_output to a name nobody has: "no device" (the music plays on where it was), the visible
    speakers listed once; the right name moves the music at once, and the error is gone."""
    start_playing(rig)
    rig.fake.add_device("Living Room")
    caplog.set_level(logging.INFO, logger="soulsyncd.spotify")
    rig.player.set_output(device="Nowhere")
    seen = statuses_over(rig, 90, every=1.0)
    assert set(seen) == {PlayerStatus.NO_DEVICE}
    assert caplog.text.count("'Nowhere' not found (visible: 'Kitchen', 'Living Room')") == 1
    # The speaker asked for is named as not found, with where the music still plays.
    assert rig.player.state().device == f"Nowhere (not found; still on {SPEAKER})"
    assert rig.playing_uri() == rig.tracks[0].uri
    caplog.clear()
    rig.player.set_output(device="Living Room")
    rig.run_for(0.5)  # not after the rest of a back-off of up to a minute: the name is news
    state = rig.player.state()
    assert (state.status, state.last_error, state.retry_at, state.device) == (
        PlayerStatus.OK, None, None, "Living Room")
    assert [r.levelno for r in caplog.records] == [logging.INFO] * len(caplog.records)
    assert "speaker is back" in caplog.text
    playback = rig.fake.playback()
    assert playback is not None
    assert playback["device"]["name"] == "Living Room"


def test_a_paused_player_resumes_on_the_fixed_speaker_without_a_stale_error(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    start_playing(rig)
    rig.fake.add_device("Living Room")
    rig.player.apply(PAUSE)
    rig.run_for(1)
    rig.player.set_output(device="Nowhere")
    rig.player.apply(PLAY)
    seen = statuses_over(rig, 30, every=1.0)
    assert set(seen) == {PlayerStatus.NO_DEVICE}
    caplog.set_level(logging.INFO, logger="soulsyncd.spotify")
    caplog.clear()
    rig.player.set_output(device="Living Room")
    rig.run_for(3)
    state = rig.player.state()
    assert (state.status, state.last_error, state.device) == (PlayerStatus.OK, None, "Living Room")
    assert rig.playing_uri() == rig.tracks[0].uri
    assert all(r.levelno == logging.INFO for r in caplog.records)


def test_listener_in_control_is_one_steady_state_on_the_device_that_plays(rig: Rig) -> None:
    """No countdown in the state (it is published retained on every change): the deadline is
    retry_at, the detail says until when; the device is where the listener's music plays."""
    start_playing(rig)
    rig.fake.add_device("Phone", type="Smartphone")
    rig.run_for(10)
    rig.fake.listener_transfers("Phone")
    rig.run_for(2.5)
    first = rig.player.state()
    assert (first.status, first.device) == (PlayerStatus.LISTENER_IN_CONTROL, "Phone")
    assert first.retry_at is not None
    assert 900 - 2.5 <= first.retry_at - (WALL0 + rig.clock.now) <= 900
    assert first.detail.startswith("hands off until ")
    for _ in range(60):
        rig.run_for(5)
        assert rig.player.state() == first
    rig.player.apply(PlayIntent("play", valence=0.8, energy=0.6, reason="mode set", claim=True))
    rig.run_for(0.5)
    state = rig.player.state()
    assert (state.status, state.device, state.retry_at) == (PlayerStatus.OK, SPEAKER, None)
