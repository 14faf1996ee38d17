"""The Spotify player's decisions (soulsyncd.spotify.control) at their edges, against the fake Web API."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.catalog.store import CatalogStore
from soulsyncd.spotify.player import build_spotify_player
from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayerState, PlayerStatus, PlayIntent
from tests.spotify_support import (
    PAUSE,
    PLAY,
    SPEAKER,
    WALL0,
    Rig,
    add_tracks,
    log_in,
    make_rig,
    spotify_config,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSpotify]:
    with FakeSpotify(clock=clock.monotonic) as server:
        yield server


SPEAKER_ID = "5eaca1e5"


@pytest.fixture
def rig(fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> Rig:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    return make_rig(fake, clock, tmp_path, speaker=False)


def speaker_volume(rig: Rig) -> int:
    playback = rig.fake.playback()
    assert playback is not None
    assert playback["device"]["name"] == SPEAKER
    return int(playback["device"]["volume_percent"])


@pytest.mark.parametrize(("asked", "sent"), [(150, 100), (100, 100), (99, 99), (0, 0), (-7, 0), (1, 1)])
def test_the_volume_is_clamped_to_0_100_in_state_and_on_the_speaker(rig: Rig, asked: int, sent: int) -> None:
    rig.player.apply(PLAY)
    rig.run_for(5)
    assert rig.player.state().status is PlayerStatus.OK
    rig.player.set_output(volume=asked)
    rig.run_for(5)
    assert rig.player.state().volume == sent
    assert speaker_volume(rig) == sent


def test_a_volume_set_while_playing_goes_out_once(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(5)
    since = rig.clock.now
    rig.player.set_output(volume=42)
    rig.run_for(10)
    assert [r for r in rig.commands(since) if r[1] == "/v1/me/player/volume"] == [
        ("PUT", "/v1/me/player/volume")]
    assert speaker_volume(rig) == 42


# --- pause and resume, the move to another speaker (issue 17: the control's branches bite) --------------


def requests_to(rig: Rig, path: str, since: float) -> list[dict[str, str]]:
    return [r.query for r in rig.fake.requests if r.path == path and r.method != "GET" and r.at >= since]


def timeline(rig: Rig, since: float) -> list[tuple[str, str, float]]:
    """(method, path, seconds after ``since``) of every request from ``since`` on."""
    return [(r.method, r.path, r.at - since) for r in rig.fake.requests if r.at >= since]


def paused_rig(rig: Rig) -> float:
    """Our first track plays for 20 s, then our pause; returns the time of the pause."""
    rig.player.apply(PLAY)
    rig.run_for(20)
    assert rig.playing_uri() == rig.tracks[0].uri
    rig.player.apply(PAUSE)
    rig.run_for(0.5)
    assert rig.playing_uri() is None
    return rig.clock.now


def test_pause_goes_to_our_speaker_and_a_403_means_it_was_paused_already(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(20)
    since = rig.clock.now
    rig.fake.fail_next(1, 403, path_prefix="me/player/pause", reason="UNKNOWN")
    rig.player.apply(PAUSE)
    rig.run_for(0.5)
    assert requests_to(rig, "/v1/me/player/pause", since) == [{"device_id": SPEAKER_ID}]
    state = rig.player.state()
    assert (state.status, state.last_error, state.playing) == (PlayerStatus.IDLE, None, False)
    assert state.track == rig.tracks[0]  # ours, paused: resumed later
    rig.run_for(60)
    assert rig.commands(since + 0.5) == []  # paused is paused: nothing more goes out
    assert rig.player.state().progress_s == state.progress_s == 20.0  # the clock stops with the music


def test_resume_in_boundary_mode_plays_the_same_track_on_the_speaker_where_it_stopped(rig: Rig) -> None:
    paused_at = paused_rig(rig)
    rig.clock.now += 60
    since = rig.clock.now
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    assert requests_to(rig, "/v1/me/player/play", since) == [{"device_id": SPEAKER_ID}]
    state = rig.player.state()
    assert (state.status, state.last_error, state.playing, state.track) == (
        PlayerStatus.OK, None, True, rig.tracks[0])
    rig.run_for(1.7)  # one read, the speakers, the play; then nothing until the poll, which confirms it
    assert timeline(rig, since) == [("GET", "/v1/me/player", 0.0), ("GET", "/v1/me/player/devices", 0.0),
                                    ("PUT", "/v1/me/player/play", 0.0), ("GET", "/v1/me/player", 2.0)]
    assert 19 < state.progress_s < 21  # where it stopped, not counting the minute paused
    assert rig.picker.endings == []  # not finished: it goes on
    rig.run_for(10)
    assert requests_to(rig, "/v1/me/player/play", since) == [{"device_id": SPEAKER_ID}]
    assert rig.playing_uri() == rig.tracks[0].uri
    assert paused_at < since


def test_resume_in_immediate_mode_starts_a_new_pick(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, switch="immediate")
    paused_rig(rig)
    since = rig.clock.now
    rig.player.apply(PLAY)
    rig.run_for(2.5)
    assert timeline(rig, since) == [("GET", "/v1/me/player", 0.0), ("GET", "/v1/me/player/devices", 0.0),
                                    ("PUT", "/v1/me/player/play", 0.0), ("GET", "/v1/me/player", 2.0)]
    assert rig.playing_uri() == rig.tracks[1].uri
    assert [(t.uri, skipped) for t, _, skipped in rig.picker.endings] == [(rig.tracks[0].uri, False)]
    assert {intent for intent, _ in rig.picker.picks} == {PLAY}


def test_resume_answered_403_starts_afresh_with_a_new_pick(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.fail_next(1, 403, path_prefix="me/player/play", reason="UNKNOWN")
    since = rig.clock.now
    rig.player.apply(PLAY)
    rig.run_for(2.5)
    assert timeline(rig, since) == [("GET", "/v1/me/player", 0.0), ("GET", "/v1/me/player/devices", 0.0),
                                    ("PUT", "/v1/me/player/play", 0.0), ("PUT", "/v1/me/player/play", 0.0),
                                    ("GET", "/v1/me/player", 2.0)]
    assert rig.playing_uri() == rig.tracks[1].uri
    state = rig.player.state()
    assert (state.status, state.last_error) == (PlayerStatus.OK, None)
    assert [(t.uri, skipped) for t, _, skipped in rig.picker.endings] == [(rig.tracks[0].uri, False)]


def test_resume_answered_500_is_a_failure_not_a_new_pick(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.fail_next(1, 500, path_prefix="me/player/play")
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    assert rig.playing_uri() is None
    assert rig.player.state().status is PlayerStatus.OFFLINE
    assert rig.picker.endings == []


def test_resume_while_the_listener_plays_their_own_music_keeps_hands_off(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.listener_plays(rig.tracks[4].uri)
    since = rig.clock.now
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    assert timeline(rig, since) == [("GET", "/v1/me/player", 0.0)]  # one look, and hands off
    assert rig.playing_uri() == rig.tracks[4].uri
    assert rig.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    # 20 s of ours, then the listener's own music: a skip (under SKIP_THRESHOLD_S)
    assert [(t.uri, skipped) for t, _, skipped in rig.picker.endings] == [(rig.tracks[0].uri, True)]


def test_a_claiming_resume_while_the_listener_plays_takes_over(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.listener_plays(rig.tracks[4].uri)
    rig.player.apply(PlayIntent("play", valence=0.8, energy=0.6, reason="mode set", claim=True))
    rig.run_for(0.5)
    assert rig.playing_uri() == rig.tracks[1].uri  # their track is not ours to resume: a new pick
    assert rig.player.state().status is PlayerStatus.OK


def test_a_claiming_pause_while_other_music_plays_pauses_it_once(rig: Rig) -> None:
    rig.fake.listener_plays(rig.tracks[4].uri)
    claim = PlayIntent("pause", reason="paused by the listener", claim=True)
    rig.player.apply(claim)
    rig.run_for(5)
    assert rig.playing_uri() is None
    assert requests_to(rig, "/v1/me/player/pause", float("-inf")) == [{}]
    rig.fake.listener_plays(rig.tracks[5].uri)
    rig.run_for(30)
    assert rig.playing_uri() == rig.tracks[5].uri  # the same pause is not sent again
    assert rig.player.state().status is PlayerStatus.IDLE


def test_a_new_speaker_takes_the_music_along_playing(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(21)  # between two polls
    living = rig.fake.add_device("Living Room")
    since = rig.clock.now
    rig.player.set_output(device="Living Room")
    rig.run_for(2.5)
    assert timeline(rig, since) == [("GET", "/v1/me/player/devices", 0.0), ("PUT", "/v1/me/player", 0.0),
                                    ("GET", "/v1/me/player", 2.0)]
    assert [q for q in requests_to(rig, "/v1/me/player", since)] == [{}]
    playback = rig.fake.playback()
    assert playback is not None
    assert (playback["device"]["id"], playback["is_playing"]) == (living, True)
    rig.run_for(10)
    state = rig.player.state()
    assert (state.status, state.device, state.track) == (PlayerStatus.OK, "Living Room", rig.tracks[0])
    assert rig.commands(since + 0.5) == []  # moved once, confirmed by the poll


def test_a_speaker_named_again_while_playing_there_moves_nothing(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(20)
    since = rig.clock.now
    rig.player.set_output(device=SPEAKER.upper())  # the same speaker, by name ignoring case
    rig.run_for(10)
    assert rig.commands(since) == []
    assert rig.playing_uri() == rig.tracks[0].uri


def test_the_volume_goes_to_our_speaker(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(5)
    since = rig.clock.now
    rig.player.set_output(volume=42)
    rig.run_for(5)
    assert [q.get("device_id") for q in requests_to(rig, "/v1/me/player/volume", since)] == [
        SPEAKER_ID]


# --- skips, the natural end, a restart (exact times: the manual clock makes them exact) ------------------


def polls(rig: Rig, since: float, until: float) -> int:
    return sum(1 for r in rig.fake.requests if (r.method, r.path) == ("GET", "/v1/me/player")
               and since <= r.at < until)


@pytest.mark.parametrize(("after_s", "skipped"), [(29.5, True), (30.0, False)])
def test_a_skip_before_30_s_counts_as_skipped_at_30_s_not(rig: Rig, after_s: float, skipped: bool) -> None:
    rig.player.apply(PLAY)
    rig.run_for(after_s)
    since = rig.clock.now
    rig.player.skip()
    rig.run_for(0.5)
    after_the_poll_due_then = [r for r in timeline(rig, since) if r != ("GET", "/v1/me/player", 0.0)]
    assert after_the_poll_due_then == [("PUT", "/v1/me/player/play", 0.0)]
    assert rig.playing_uri() == rig.tracks[1].uri
    assert rig.picker.endings == [(rig.tracks[0], after_s, skipped)]
    assert [intent for intent, _ in rig.picker.picks] == [PLAY, PLAY]
    assert requests_to(rig, "/v1/me/player/play", since) == [{"device_id": SPEAKER_ID}]
    state = rig.player.state()
    assert (state.track, state.progress_s) == (rig.tracks[1], 0.0)


@pytest.mark.parametrize(("seen_at_s", "skipped"), [(28.0, True), (30.0, False)])
def test_a_listener_taking_over_before_30_s_is_a_skip(rig: Rig, seen_at_s: float, skipped: bool) -> None:
    rig.player.apply(PLAY)  # polls every 2 s from the play: the takeover is seen at seen_at_s
    rig.run_for(seen_at_s - 1)
    rig.fake.listener_plays(rig.tracks[4].uri)
    rig.run_for(1.5)
    state = rig.player.state()
    assert state.status is PlayerStatus.LISTENER_IN_CONTROL
    assert state.detail.startswith("hands off until ")
    assert rig.picker.endings == [(rig.tracks[0], seen_at_s, skipped)]


def test_a_skip_to_the_queued_track_goes_to_our_speaker_and_follows_it(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(rig.tracks[0].duration_s - 9)
    assert rig.fake.queue == [rig.tracks[1].uri]
    since = rig.clock.now
    rig.player.skip()
    rig.run_for(0.5)
    assert requests_to(rig, "/v1/me/player/next", since) == [{"device_id": SPEAKER_ID}]
    state = rig.player.state()
    assert (state.status, state.track, state.playing) == (PlayerStatus.OK, rig.tracks[1], True)
    assert polls(rig, since, since + 2.0) == 0  # the next poll is a poll interval after the skip
    rig.run_for(10)
    assert rig.commands(since + 0.5) == []
    assert rig.player.state().track == rig.tracks[1]
    assert 9 < rig.player.state().progress_s < 11


def test_a_track_that_ends_unqueued_is_followed_by_the_next_pick(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, boundary_lead_s=0.1)  # the queue is missed
    rig.player.apply(PLAY)
    rig.run_for(rig.tracks[0].duration_s + 3)
    assert rig.playing_uri() == rig.tracks[1].uri
    assert [(t, skipped) for t, _, skipped in rig.picker.endings] == [(rig.tracks[0], False)]
    assert rig.picker.endings[0][1] == rig.tracks[0].duration_s
    assert [intent for intent, _ in rig.picker.picks] == [PLAY, PLAY]
    assert rig.player.state().status is PlayerStatus.OK


# --- the takeover back-off's end --------------------------------------------------------------------------


def test_hands_off_goes_on_while_their_music_plays_and_ends_when_it_stops(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, takeover_backoff_s=60.0)
    rig.player.apply(PLAY)
    rig.run_for(20)
    rig.fake.listener_plays(rig.tracks[4].uri)
    rig.run_for(2)
    taken_at = rig.clock.now
    first = rig.player.state()
    assert first.status is PlayerStatus.LISTENER_IN_CONTROL
    assert first.retry_at is not None
    rig.run_for(61)  # the period ends, their music plays on: another period, from the recheck
    again = rig.player.state()
    assert again.status is PlayerStatus.LISTENER_IN_CONTROL
    assert again.retry_at is not None
    assert again.retry_at - first.retry_at == pytest.approx(60.0, abs=2.1)
    assert rig.playing_uri() == rig.tracks[4].uri
    rig.fake.listener_pauses()
    rig.run_for(60)  # the next recheck finds their music stopped: ours again
    state = rig.player.state()
    assert (state.status, state.retry_at, state.detail) == (PlayerStatus.OK, None, "")
    assert rig.playing_uri() == rig.tracks[1].uri
    assert taken_at < rig.clock.now



# --- the play that does not show up, the configured volume on a new play -----------------------------------


def test_a_play_that_never_shows_up_is_sent_three_times_then_the_speaker_counts_as_absent(rig: Rig) -> None:
    rig.fake.fail_next(3, 202, path_prefix="me/player/play")  # accepted, and nothing plays
    rig.player.apply(PLAY)
    rig.run_for(17.5)  # polls every 2 s; the third that does not see it sends the play again
    plays = [r.at - 1000.0 for r in rig.fake.requests if r.path == "/v1/me/player/play"]
    assert plays == [0.0, 6.0, 12.0]
    assert rig.player.state().status is PlayerStatus.OK  # still waiting for the third
    rig.run_for(1)
    state = rig.player.state()
    assert (state.status, state.last_error, state.track) == (
        PlayerStatus.NO_DEVICE, f"{SPEAKER} did not start playing", None)
    rig.run_for(30)  # after the back-off the speaker is tried again, and plays (the next pick)
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() == rig.tracks[1].uri
    assert {intent for intent, _ in rig.picker.picks} == {PLAY}


def test_a_play_seen_on_the_second_poll_is_not_sent_again(rig: Rig) -> None:
    rig.fake.fail_next(1, 202, path_prefix="me/player/play")
    rig.player.apply(PLAY)
    rig.run_for(5)  # the first play went nowhere; the poll at 2 s ...
    assert [r.at - 1000.0 for r in rig.fake.requests if r.path == "/v1/me/player/play"] == [0.0]


@pytest.mark.parametrize(("speaker_at", "sent"), [(50, [30]), (30, [])])
def test_the_configured_volume_is_set_once_the_play_shows_up_unless_the_speaker_has_it(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, speaker_at: int, sent: list[int]) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID, volume=speaker_at)
    rig = make_rig(fake, clock, tmp_path, speaker=False, volume=30)
    rig.player.apply(PLAY)
    rig.run_for(10)
    volumes = [int(r.query["volume_percent"]) for r in rig.fake.requests if r.path == "/v1/me/player/volume"]
    assert volumes == sent
    assert rig.player.state().volume == 30


# --- the mood playlists' reads failing ------------------------------------------------------------


def test_failing_playlist_reads_back_off_doubling_log_once_and_start_over_after_a_success(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    tracks = add_tracks(fake, 6)
    fake.add_playlist("Happy1", "Sunny", [t.uri for t in tracks])
    fake.fail_next(5, 503, path_prefix="playlists")
    caplog.set_level(logging.WARNING, logger="soulsyncd.spotify")
    with CatalogStore(tmp_path / "catalog.sqlite3") as store:
        rig = make_rig(fake, clock, tmp_path, tracks=tracks, store=store, speaker=False,
                       music={"happy": "spotify:playlist:Happy1"}, playlist_refresh_h=1.0)
        rig.run_for(200)
        reads = [r.at - 1000.0 for r in fake.requests if r.path.startswith("/v1/playlists")]
        assert reads[:6] == [0.0, 4.0, 12.0, 28.0, 60.0, 124.0]  # 2 s doubled from the first failure
        assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
            (logging.WARNING, "reading the mood playlists failed (Spotify error 503: Service unavailable); "
                              "the cached ones are used, next try in 4 s")]
        assert store.playlists()[0].track_count == 6
        fake.fail_next(5, 503, path_prefix="playlists")
        since = clock.now
        rig.run_for(3600)  # the next round fails again: its back-off starts from the first step again
        again = [r.at - 1000.0 for r in fake.requests if r.path.startswith("/v1/playlists") and r.at > since]
        assert again[1] - again[0] == 4.0


def test_a_newly_named_restricted_speaker_is_called_restricted_not_another_one(rig: Rig) -> None:
    rig.fake.add_device("TV", restricted=True)
    rig.player.apply(PLAY)
    rig.run_for(5)
    rig.player.set_output(device="TV")
    rig.run_for(1)
    state = rig.player.state()
    assert (state.status, state.last_error) == (
        PlayerStatus.NO_DEVICE, "speaker 'TV' is restricted (accepts no commands)")


def test_a_claiming_pause_with_nothing_playing_is_paused_as_asked(rig: Rig) -> None:
    rig.fake.fail_next(1, 403, path_prefix="me/player/pause", reason="UNKNOWN")
    rig.player.apply(PlayIntent("pause", reason="paused by the listener", claim=True))
    rig.run_for(5)
    state = rig.player.state()
    assert (state.status, state.last_error) == (PlayerStatus.IDLE, None)
    rig.fake.fail_next(1, 404, path_prefix="me/player/pause", reason="NO_ACTIVE_DEVICE")
    rig.player.apply(PlayIntent("pause", reason="paused again", claim=True))
    rig.run_for(5)
    state = rig.player.state()
    assert (state.status, state.last_error) == (PlayerStatus.IDLE, None)
    assert len(requests_to(rig, "/v1/me/player/pause", float("-inf"))) == 2


def test_a_picker_that_fails_to_take_feedback_is_logged_and_play_goes_on(
        rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(track: object, listened_s: float, skipped: bool) -> None:
        raise RuntimeError("the catalog is gone")

    monkeypatch.setattr(rig.picker, "finished", broken)
    caplog.set_level(logging.ERROR, logger="soulsyncd.spotify")
    rig.player.apply(PLAY)
    rig.run_for(10)
    rig.player.skip()
    rig.run_for(1)
    assert rig.playing_uri() == rig.tracks[1].uri
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "the track picker failed to take feedback")]


# --- mutation round three: exact timelines for the natural end, the resume that does not show up, ----------
# --- a restart's adoption of our own music, and the hands-off period with no intent yet ---------------------


def test_a_track_that_ends_unqueued_is_followed_by_the_next_pick_in_the_same_step(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, boundary_lead_s=0.1)  # the queue is missed
    rig.player.apply(PLAY)
    rig.run_for(rig.tracks[0].duration_s - 1)
    since = rig.clock.now
    rig.run_for(3.5)
    # the poll that finds it ended plays the next pick at once: no second look at playback or speakers
    assert timeline(rig, since) == [("GET", "/v1/me/player", 1.0), ("PUT", "/v1/me/player/play", 1.0),
                                    ("GET", "/v1/me/player", 3.0)]
    assert requests_to(rig, "/v1/me/player/play", since) == [{"device_id": SPEAKER_ID}]
    assert rig.playing_uri() == rig.tracks[1].uri


def test_a_resume_is_not_taken_as_seen_before_the_first_poll(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.fail_next(1, 202, path_prefix="me/player/play")  # accepted, and it stays paused
    since = rig.clock.now
    rig.player.apply(PLAY)
    rig.run_for(3)
    assert timeline(rig, since) == [("GET", "/v1/me/player", 0.0), ("GET", "/v1/me/player/devices", 0.0),
                                    ("PUT", "/v1/me/player/play", 0.0), ("GET", "/v1/me/player", 2.0)]
    state = rig.player.state()  # the first poll only confirms the track is there
    assert (state.status, state.last_error, state.track) == (PlayerStatus.OK, None, rig.tracks[0])


def test_the_polls_that_miss_a_resume_are_counted_from_zero(rig: Rig) -> None:
    rig.fake.fail_next(1, 202, path_prefix="me/player/play")
    rig.player.apply(PLAY)
    rig.run_for(2.5)  # one poll missed the play ...
    rig.fake.listener_plays(rig.tracks[0].uri, device=SPEAKER)  # ... then it shows up (a slow speaker)
    rig.run_for(20)
    assert [r.at - 1000.0 for r in rig.fake.requests if r.path == "/v1/me/player/play"] == [0.0]
    rig.player.apply(PAUSE)
    rig.run_for(0.5)
    since = rig.clock.now
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    rig.fake.listener_plays(rig.tracks[4].uri)  # not our track at the next polls: the resume is not seen
    rig.run_for(2)
    state = rig.player.state()
    assert (state.status, state.last_error) == (PlayerStatus.OK, None)
    rig.run_for(4)
    assert [r.at - since for r in rig.fake.requests if r.path == "/v1/me/player/play" and r.at >= since] == [
        0.0, 6.0]  # sent again at the third poll that missed it, not the second


def test_resume_when_the_listener_resumed_our_own_track_is_no_takeover(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.listener_plays(rig.tracks[0].uri, device=SPEAKER)  # our track again, from their phone
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    state = rig.player.state()
    assert (state.status, state.track) == (PlayerStatus.OK, rig.tracks[0])
    assert rig.playing_uri() == rig.tracks[0].uri


def test_resume_while_the_listener_plays_elsewhere_shows_their_track_and_speaker(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.add_device("Phone")
    rig.fake.listener_plays(rig.tracks[4].uri, device="Phone")
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    state = rig.player.state()
    assert (state.status, state.device, state.track) == (
        PlayerStatus.LISTENER_IN_CONTROL, "Phone", rig.tracks[4])


def test_resume_in_immediate_mode_with_nothing_left_to_play_is_idle(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, switch="immediate")
    paused_rig(rig)
    rig.picker.tracks.clear()
    rig.player.apply(PLAY)
    rig.run_for(5)
    state = rig.player.state()
    assert (state.status, state.track, state.last_error) == (
        PlayerStatus.IDLE, None, "nothing to play for this mood (are music.playlists read?)")
    assert rig.playing_uri() is None


def restarted(rig: Rig, tmp_path: Path, **player: object) -> Rig:
    """A new player (a restart, a reload) on the same account and state dir; the old one stops."""
    rig.player.close()
    return make_rig(rig.fake, rig.clock, tmp_path, tracks=rig.tracks[2:], speaker=False, **player)


def test_after_a_restart_without_an_intent_our_music_is_adopted_and_polled_on_time(
        rig: Rig, tmp_path: Path) -> None:
    rig.player.apply(PLAY)
    rig.run_for(19)  # the old player's last poll was at 18 s
    again = restarted(rig, tmp_path, volume=30)
    since = rig.clock.now
    again.run_for(4.5)
    assert timeline(again, since) == [("GET", "/v1/me/player", 0.0), ("GET", "/v1/me/player", 2.0),
                                      ("GET", "/v1/me/player", 4.0)]  # no volume: the speaker's stays
    state = again.player.state()
    assert (state.status, state.track, state.playing, state.device, state.last_error) == (
        PlayerStatus.OK, rig.tracks[0], True, SPEAKER, None)


def test_a_skip_before_the_first_poll_after_a_restart_counts_from_the_adopting_read(
        rig: Rig, tmp_path: Path) -> None:
    rig.player.apply(PLAY)
    rig.run_for(19)
    again = restarted(rig, tmp_path)
    again.run_for(1)  # adopted at 19 s, the first poll is due at 21 s
    again.player.apply(PLAY)
    again.player.skip()
    again.run_for(0.5)
    assert again.picker.endings == [(rig.tracks[0], 20.0, True)]
    assert again.playing_uri() == rig.tracks[2].uri


def test_after_a_restart_in_immediate_mode_our_music_plays_on(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, switch="immediate")
    rig.player.apply(PLAY)
    rig.run_for(20)
    again = restarted(rig, tmp_path, switch="immediate")
    since = rig.clock.now
    again.player.apply(PLAY)
    again.run_for(10)
    assert again.commands(since) == []  # carried on, not cut off for a new pick
    assert again.player.state().track == rig.tracks[0]


def test_after_a_restart_our_old_track_on_another_speaker_is_the_listeners(rig: Rig, tmp_path: Path) -> None:
    rig.player.apply(PLAY)
    rig.run_for(20)
    rig.fake.add_device("Phone")
    rig.fake.listener_plays(rig.tracks[0].uri, device="Phone")
    again = restarted(rig, tmp_path)
    again.player.apply(PLAY)
    again.run_for(1)
    state = again.player.state()
    assert (state.status, state.device) == (PlayerStatus.LISTENER_IN_CONTROL, "Phone")


def test_our_music_back_on_the_speaker_after_it_went_away_ends_the_no_device_state(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(20)
    rig.fake.remove_device(SPEAKER)
    rig.run_for(2.5)
    state = rig.player.state()
    assert (state.status, state.last_error) == (PlayerStatus.NO_DEVICE, f"{SPEAKER} stopped playing")
    assert rig.picker.endings == [(rig.tracks[0], 22.0, False)]  # gone mid-track: not a skip
    rig.fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig.fake.listener_plays(rig.tracks[0].uri, device=SPEAKER)  # the speaker came back playing our track
    rig.run_for(60)
    state = rig.player.state()
    assert (state.status, state.last_error, state.track) == (PlayerStatus.OK, None, rig.tracks[0])


@pytest.mark.parametrize("how", ["resume_control", "their music stopped"])
def test_with_no_intent_yet_the_end_of_hands_off_is_idle(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, how: str) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, takeover_backoff_s=60.0)
    rig.player.apply(PLAY)
    rig.run_for(20)
    again = restarted(rig, tmp_path, takeover_backoff_s=60.0)
    again.run_for(1)
    rig.fake.listener_plays(rig.tracks[4].uri)
    again.run_for(2)
    assert again.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    again.run_for(61)  # the period ends while their music plays: hands off for another one
    assert again.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    if how == "resume_control":
        again.player.resume_control()
    else:
        rig.fake.listener_pauses()
        again.run_for(60)
    again.run_for(1)
    state = again.player.state()
    assert (state.status, state.track, state.retry_at) == (PlayerStatus.IDLE, None, None)


def test_a_finished_playlist_read_lets_a_start_that_had_nothing_to_play_pick_again(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    tracks = add_tracks(fake, 3)
    fake.add_playlist("Happy1", "Sunny", [t.uri for t in tracks])
    with CatalogStore(tmp_path / "catalog.sqlite3") as store:
        rig = make_rig(fake, clock, tmp_path, tracks=[], store=store, speaker=False,
                       music={"happy": "spotify:playlist:Happy1"})
        rig.player.apply(PLAY)
        rig.player.run_once()  # the start comes first, and finds nothing to play yet
        state = rig.player.state()
        assert (state.status, state.last_error) == (
            PlayerStatus.IDLE, "nothing to play for this mood (are music.playlists read?)")
        rig.picker.tracks.extend(tracks)  # what the playlists bring, as the engine would see it
        rig.run_for(5)
        assert rig.playing_uri() == tracks[0].uri
        assert rig.player.state().status is PlayerStatus.OK


def test_a_move_seen_only_at_the_third_poll_is_not_sent_again(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(21)  # between two polls
    rig.fake.add_device("Living Room")
    since = rig.clock.now
    rig.player.set_output(device="Living Room")
    rig.run_for(0.5)
    rig.fake.listener_transfers(SPEAKER)  # a slow speaker: the move does not show at the next two polls
    rig.run_for(4)
    assert rig.player.state().status is PlayerStatus.OK  # not taken for the listener moving it back
    rig.fake.listener_transfers("Living Room")
    rig.run_for(2)
    assert rig.commands(since) == [("PUT", "/v1/me/player")]  # the move, once
    state = rig.player.state()
    assert (state.status, state.device, state.track) == (PlayerStatus.OK, "Living Room", rig.tracks[0])


def test_a_pause_right_after_a_resume_goes_to_the_speakers_new_id(rig: Rig) -> None:
    paused_rig(rig)
    rig.fake.set_device_id(SPEAKER, "feedbeef")  # Spotify gives the speaker a new id now and then
    since = rig.clock.now
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    rig.player.apply(PAUSE)  # before the poll that would read the new id
    rig.run_for(0.5)
    assert requests_to(rig, "/v1/me/player/play", since) == [{"device_id": "feedbeef"}]
    assert requests_to(rig, "/v1/me/player/pause", since) == [{"device_id": "feedbeef"}]
    assert rig.playing_uri() is None


# --- the listener's pause against the track's natural end (exact progress on the manual clock) -----------


def test_the_listener_pausing_our_track_keeps_it_shown_while_hands_off(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(20.5)
    rig.fake.listener_pauses()
    rig.run_for(2)
    state = rig.player.state()
    assert (state.status, state.track, state.device) == (
        PlayerStatus.LISTENER_IN_CONTROL, rig.tracks[0], SPEAKER)


def test_a_pause_in_the_first_second_of_our_track_is_the_listeners(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(0.5)
    rig.fake.listener_pauses()  # at 0.5 s into the track: not an end
    rig.run_for(4)
    assert rig.player.state().status is PlayerStatus.LISTENER_IN_CONTROL
    assert [r.path for r in rig.fake.requests if r.path == "/v1/me/player/play"] == ["/v1/me/player/play"]


@pytest.mark.parametrize(("paused_at_s", "ended"), [(1.0, False), (0.75, True)])
def test_our_track_restarted_and_paused_as_it_should_end_is_an_end_only_before_1_s(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, paused_at_s: float, ended: bool) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, boundary_lead_s=0.1)  # nothing queued
    rig.player.apply(PLAY)
    rig.run_for(178.25)  # the last poll was at 178 s
    rig.fake.listener_plays(rig.tracks[0].uri)  # back to its start, as Spotify shows an ended track
    rig.run_for(paused_at_s)
    rig.fake.listener_pauses()
    rig.run_for(2 - paused_at_s)  # the poll at 180 s: where it should have ended
    state = rig.player.state()
    if ended:
        assert (state.status, state.track) == (PlayerStatus.OK, rig.tracks[1])
    else:
        assert state.status is PlayerStatus.LISTENER_IN_CONTROL


@pytest.mark.parametrize(("paused_at_s", "ended"), [(179.0, True), (178.75, False)])
def test_our_track_paused_in_its_last_second_is_an_end(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, paused_at_s: float, ended: bool) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, boundary_lead_s=0.1)
    rig.player.apply(PLAY)
    rig.run_for(paused_at_s)
    rig.fake.listener_pauses()
    rig.run_for(180.5 - paused_at_s)  # the poll at 180 s
    state = rig.player.state()
    if ended:
        assert (state.status, state.track) == (PlayerStatus.OK, rig.tracks[1])
    else:
        assert state.status is PlayerStatus.LISTENER_IN_CONTROL


def test_the_next_track_is_queued_on_our_speaker(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(rig.tracks[0].duration_s - 9)
    assert requests_to(rig, "/v1/me/player/queue", float("-inf")) == [
        {"uri": rig.tracks[1].uri, "device_id": SPEAKER_ID}]


# --- what goes first when the playlists' read is due too; a failure's state between its retries ------------


@pytest.mark.parametrize("given", ["skip", "move", "new intent"])
def test_a_command_goes_out_before_a_due_playlist_read(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, given: str) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    fake.add_device("Living Room")
    tracks = add_tracks(fake, 6)
    fake.add_playlist("Happy1", "Sunny", [t.uri for t in tracks])
    with CatalogStore(tmp_path / "catalog.sqlite3") as store:
        rig = make_rig(fake, clock, tmp_path, tracks=tracks, store=store, speaker=False,
                       music={"happy": "spotify:playlist:Happy1"}, switch="immediate")
        rig.player.apply(PLAY)
        rig.player.run_once()  # the start; the playlists' first read is due now too
        before = len(fake.requests)
        if given == "skip":
            rig.player.skip()
        elif given == "move":
            rig.player.set_output(device="Living Room")
        else:
            rig.player.apply(PlayIntent("play", valence=0.1, energy=0.2, reason="sad"))
        rig.player.run_once()
        sent = [(r.method, r.path) for r in fake.requests[before:]]
        expected = {"skip": [("PUT", "/v1/me/player/play")],
                    "move": [("GET", "/v1/me/player/devices"), ("PUT", "/v1/me/player")],
                    "new intent": [("GET", "/v1/me/player/devices"), ("PUT", "/v1/me/player/play")]}
        assert sent == expected[given]


def test_a_failure_with_no_state_of_its_own_leaves_the_state_between_retries(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, poll_interval_s=5.0, retry_initial_s=1.0)
    rig.player.apply(PLAY)
    rig.run_for(7)
    rig.fake.fail_next(1, 400, path_prefix="me/player")  # the poll at 10 s: an error that is no state
    rig.run_for(4.5)  # the retry at 11 s has nothing to send (the next poll is at 15 s)
    state = rig.player.state()
    assert (state.status, state.last_error, state.track) == (
        PlayerStatus.OK, "Spotify error 400: Bad request", rig.tracks[0])


def test_in_immediate_mode_queueing_the_next_track_does_not_cut_this_one(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, switch="immediate")
    rig.player.apply(PLAY)
    rig.run_for(1)
    since = rig.clock.now
    rig.run_for(rig.tracks[0].duration_s + 5)
    assert rig.commands(since) == [("POST", "/v1/me/player/queue")]
    assert rig.player.state().track == rig.tracks[1]


def test_an_outage_that_ends_as_our_last_track_ends_is_idle_not_ok(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, boundary_lead_s=0.1)  # nothing queued
    rig.player.apply(PLAY)
    rig.run_for(171)
    again = restarted(rig, tmp_path, boundary_lead_s=0.1)  # no intent yet: follows our track to its end
    again.run_for(7)  # adopted at 171 s, polls at 173, 175, 177
    rig.fake.fail_next(1, 503, path_prefix="me/player")  # the poll at 179 s fails
    again.run_for(1)
    assert again.player.state().status is PlayerStatus.OFFLINE
    again.run_for(2.5)  # the retry at 181 s finds the track over
    state = again.player.state()
    assert (state.status, state.track, state.last_error) == (PlayerStatus.IDLE, None, None)


@pytest.mark.parametrize(("silent_at_s", "ended"), [(178.0, True), (176.0, False)])
def test_silence_from_the_poll_interval_before_the_end_on_is_the_end(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, silent_at_s: float, ended: bool) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, boundary_lead_s=0.1)  # nothing queued
    rig.player.apply(PLAY)
    rig.run_for(silent_at_s - 1)
    rig.fake.fail_next(1, 204, path_prefix="me/player")  # nothing plays anywhere, at the next poll
    rig.run_for(1.5)
    state = rig.player.state()
    if ended:  # 180 s long, polled every 2 s: from 178 s on, silence is its end
        assert (state.status, state.track) == (PlayerStatus.OK, rig.tracks[1])
        assert rig.picker.endings == [(rig.tracks[0], silent_at_s, False)]
        assert [intent for intent, _ in rig.picker.picks] == [PLAY, PLAY]
    else:
        assert (state.status, state.last_error) == (PlayerStatus.NO_DEVICE, f"{SPEAKER} stopped playing")


def test_the_queued_track_is_followed_from_the_poll_that_sees_it(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(rig.tracks[0].duration_s + 0.5)  # the poll at 180 s sees the queued track playing
    assert timeline(rig, 1179.0) == [("GET", "/v1/me/player", 1.0)]  # and takes it as ours: no second look
    state = rig.player.state()
    assert (state.status, state.track, state.last_error, state.playing) == (
        PlayerStatus.OK, rig.tracks[1], None, True)
    assert rig.picker.endings == [(rig.tracks[0], 180.0, False)]
    rig.clock.now += 1  # a skip before the next poll: the new track counts on from the poll that saw it
    rig.player.skip()
    rig.run_for(0.5)
    assert rig.picker.endings[1] == (rig.tracks[1], 1.5, True)


def test_a_due_poll_goes_before_a_due_playlist_read(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    tracks = add_tracks(fake, 6)
    fake.add_playlist("Happy1", "Sunny", [t.uri for t in tracks])
    with CatalogStore(tmp_path / "catalog.sqlite3") as store:
        rig = make_rig(fake, clock, tmp_path, tracks=tracks, store=store, speaker=False,
                       music={"happy": "spotify:playlist:Happy1"})
        rig.player.apply(PLAY)
        rig.player.run_once()  # the start; the playlists' first read is due now
        clock.now += 2.0  # exactly when the first poll is due
        before = len(fake.requests)
        rig.player.run_once()
        assert [(r.method, r.path) for r in fake.requests[before:]] == [("GET", "/v1/me/player")]


def test_in_immediate_mode_a_new_intent_with_nothing_to_play_is_tried_once(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, switch="immediate")
    rig.player.apply(PLAY)
    rig.run_for(5)
    rig.picker.tracks.clear()
    sad = PlayIntent("play", valence=0.1, energy=0.2, reason="sad")
    rig.player.apply(sad)
    rig.run_for(10)  # a busy loop of new tries would fail the rig
    assert [intent for intent, _ in rig.picker.picks] == [PLAY, sad]
    assert rig.player.state().last_error == "nothing to play for this mood (are music.playlists read?)"


def test_spotifys_autoplay_after_our_last_track_is_followed_by_our_next_pick(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, boundary_lead_s=0.1)  # nothing queued
    rig.player.apply(PLAY)
    rig.run_for(179.5)
    rig.fake.listener_plays(rig.tracks[4].uri)  # what Spotify's autoplay put on as ours ended
    rig.run_for(1)  # the poll at 180 s
    state = rig.player.state()
    assert (state.status, state.track) == (PlayerStatus.OK, rig.tracks[1])
    assert rig.playing_uri() == rig.tracks[1].uri
    assert rig.picker.endings == [(rig.tracks[0], 180.0, False)]


# --- round four: what plays without a catalog track; a queued track shorter than the lead ------------------


@pytest.mark.parametrize("kind", ["ad", "local file"])
def test_an_ad_or_a_local_file_on_our_speaker_mid_track_is_the_listener_taking_over(
        rig: Rig, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="soulsyncd.spotify")
    rig.player.apply(PLAY)
    rig.run_for(20.5)
    rig.fake.listener_plays_non_catalog(kind, device=SPEAKER)  # playback names no track of ours
    since = rig.clock.now
    caplog.clear()
    rig.run_for(2)  # the poll at 22 s
    state = rig.player.state()
    assert (state.status, state.last_error, state.device, state.track, state.playing, state.retry_at) == (
        PlayerStatus.LISTENER_IN_CONTROL, None, SPEAKER, None, False, WALL0 + 1022.0 + 900.0)
    assert rig.picker.endings == [(rig.tracks[0], 22.0, True)]
    assert rig.commands(since) == []
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "listener in control (something is playing): hands off for 900 s")]


def test_a_queued_track_shorter_than_the_lead_gets_its_next_one_queued_at_the_poll_that_sees_it(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    tracks = add_tracks(fake, 6, prefix="S", duration_s=6.0)  # 6, 7, 8, ... s: each under the 10 s lead
    rig = make_rig(fake, clock, tmp_path, tracks=tracks, speaker=False)
    rig.player.apply(PLAY)
    rig.run_for(6.5)  # polls at 2 (confirms), 4 (queues the next), 6 (sees it playing)
    queued = [(r.at - 1000.0, r.query["uri"]) for r in fake.requests if r.path == "/v1/me/player/queue"]
    assert queued == [(4.0, tracks[1].uri), (6.0, tracks[2].uri)]
    state = rig.player.state()
    assert (state.status, state.track, state.detail) == (
        PlayerStatus.OK, tracks[1], f"next: {tracks[2].name}")
    rig.run_for(8)  # the first ends at 6 s, the second at 13 s; polls at 8, 10, 12, 14
    queued = [(r.at - 1000.0, r.query["uri"]) for r in fake.requests if r.path == "/v1/me/player/queue"]
    assert queued == [(4.0, tracks[1].uri), (6.0, tracks[2].uri), (14.0, tracks[3].uri)]
    assert rig.player.state().track == tracks[2]
    assert [(t, skipped) for t, _, skipped in rig.picker.endings] == [(tracks[0], False), (tracks[1], False)]


def test_an_answer_of_the_wrong_shape_is_an_unexpected_error_logged_with_its_traceback_then_retried(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="soulsyncd.spotify")
    rig.player.apply(PLAY)
    rig.run_for(9)  # polls at 2, 4, 6, 8 s
    garbled = rig.fake.playback()
    assert garbled is not None
    garbled["progress_ms"] = "soon"
    rig.fake.answer_next(1, garbled, path_prefix="me/player")
    rig.run_for(2)  # the poll at 10 s cannot read the answer
    state = rig.player.state()
    error = "unexpected error: could not convert string to float: 'soon'"
    assert (state.status, state.last_error, state.track, state.retry_at) == (
        PlayerStatus.OK, error, rig.tracks[0], WALL0 + 1010.0 + 2.0)
    assert [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        (logging.ERROR, "Spotify player step failed", True),
        (logging.WARNING, f"Spotify: {error}; next try in 2 s", False)]
    assert [r.at - 1000.0 for r in rig.fake.requests if r.at >= 1009.0] == [10.0]  # nothing before the retry
    rig.run_for(1.5)  # the retry at 12 s reads playback again, and that proves it over
    state = rig.player.state()
    assert (state.status, state.last_error, state.retry_at) == (PlayerStatus.OK, None, None)
    assert [r.at - 1000.0 for r in rig.fake.requests if r.at >= 1009.0] == [10.0, 12.0]


def test_a_new_player_is_idle_on_its_speaker_with_no_error(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, volume=30)
    assert rig.player.state() == PlayerState(
        status=PlayerStatus.IDLE, device=SPEAKER, track=None, playing=False, progress_s=0.0, volume=30,
        last_error=None, retry_at=None, detail="")


def test_a_speaker_restricted_from_the_start_is_called_restricted(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, restricted=True)
    rig = make_rig(fake, clock, tmp_path, speaker=False)
    rig.player.apply(PLAY)
    rig.run_for(1)
    state = rig.player.state()
    assert (state.status, state.last_error, state.device) == (
        PlayerStatus.NO_DEVICE, f"speaker {SPEAKER!r} is restricted (accepts no commands)",
        f"{SPEAKER} (not found)")


def test_our_music_adopted_after_a_restart_plays_on_when_the_first_intent_comes(
        rig: Rig, tmp_path: Path) -> None:
    rig.player.apply(PLAY)
    rig.run_for(19)
    again = restarted(rig, tmp_path)
    again.run_for(1)  # adopted at 19 s with no intent yet; the next poll is due at 21 s
    since = rig.clock.now
    again.player.apply(PLAY)
    again.run_for(4.5)
    # polls only: no skip, no look for the speaker, no new pick
    assert timeline(again, since) == [("GET", "/v1/me/player", 1.0), ("GET", "/v1/me/player", 3.0)]
    state = again.player.state()
    assert (state.status, state.track, state.playing) == (PlayerStatus.OK, rig.tracks[0], True)
    assert (again.picker.picks, again.picker.endings) == ([], [])


def test_a_sleeping_speaker_is_woken_by_a_transfer_that_plays_nothing_then_the_play_is_sent_again(
        rig: Rig) -> None:
    rig.fake.add_device("Phone")
    rig.fake.listener_plays(rig.tracks[4].uri, device="Phone")
    rig.fake.listener_pauses()  # the listener's music from this morning, paused on their phone
    rig.fake.fail_next(1, 404, reason="NO_ACTIVE_DEVICE", path_prefix="me/player/play")  # librespot asleep
    rig.player.apply(PLAY)
    rig.run_for(1)
    assert [(r.method, r.path, r.status, r.at - 1000.0) for r in rig.fake.requests] == [
        ("GET", "/v1/me/player", 200, 0.0), ("GET", "/v1/me/player/devices", 200, 0.0),
        ("PUT", "/v1/me/player/play", 404, 0.0), ("PUT", "/v1/me/player", 204, 0.0)]
    playback = rig.fake.playback()
    assert playback is not None  # the speaker is awake and active, and plays nothing of the listener's
    assert (playback["device"]["id"], playback["item"]["uri"], playback["is_playing"]) == (
        SPEAKER_ID, rig.tracks[4].uri, False)
    assert rig.player.state().status is PlayerStatus.NO_DEVICE
    rig.run_for(2)  # the play is sent again after the back-off: the same pick
    assert rig.playing_uri() == rig.tracks[0].uri
    assert [intent for intent, _ in rig.picker.picks] == [PLAY]
    assert rig.player.state().status is PlayerStatus.OK


def test_a_picker_that_fails_is_logged_with_its_traceback_and_is_nothing_to_play(
        rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(intent: PlayIntent) -> None:
        raise RuntimeError("the catalog is gone")

    monkeypatch.setattr(rig.picker, "pick", broken)
    caplog.set_level(logging.WARNING, logger="soulsyncd.spotify")
    rig.player.apply(PLAY)
    rig.run_for(30)  # tried once: nothing is retried until something changes
    assert [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        (logging.ERROR, "the track picker failed", True),
        (logging.WARNING, "nothing to play for this mood (are music.playlists read?)", False)]
    state = rig.player.state()
    assert (state.status, state.last_error, state.track) == (
        PlayerStatus.IDLE, "nothing to play for this mood (are music.playlists read?)", None)
    assert rig.commands() == []


def test_a_player_without_a_picker_has_nothing_to_play(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    log_in(fake, tmp_path)
    player = build_spotify_player(spotify_config(fake, tmp_path), None, clock=clock,
                                  wall=lambda: WALL0 + clock.now, api_prefix=fake.api_prefix,
                                  token_url=fake.token_url, start=False)
    player.apply(PLAY)
    assert player.run_once() is None  # nothing more to do until something changes
    state = player.state()
    assert (state.status, state.last_error, state.track) == (
        PlayerStatus.IDLE, "nothing to play for this mood (are music.playlists read?)", None)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/v1/me/player"),
                                                           ("GET", "/v1/me/player/devices")]


def test_an_outage_while_hands_off_shows_offline_then_the_listener_in_control_again(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, takeover_backoff_s=60.0)
    rig.player.apply(PLAY)
    rig.run_for(20)
    rig.fake.listener_plays(rig.tracks[4].uri)
    rig.run_for(3)  # the poll at 22 s: hands off until 82 s
    rig.fake.fail_next(1, 503, path_prefix="me/player")
    rig.run_for(60)  # the recheck at 82 s fails
    state = rig.player.state()
    assert (state.status, state.last_error, state.retry_at, state.detail) == (
        PlayerStatus.OFFLINE, "Spotify error 503: Service unavailable", WALL0 + 1084.0, "")
    rig.run_for(2)  # the retry at 84 s finds their music still playing: another period, from then
    state = rig.player.state()
    until = WALL0 + 1144.0
    assert (state.status, state.last_error, state.retry_at, state.detail, state.device, state.track) == (
        PlayerStatus.LISTENER_IN_CONTROL, None, until,
        f"hands off until {time.strftime('%H:%M', time.localtime(until))}", SPEAKER, rig.tracks[4])
    assert rig.commands() == [("PUT", "/v1/me/player/play")]  # ours, at the start; nothing since


def test_a_pause_while_our_speaker_is_gone_leaves_the_speaker_not_found(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(20)
    rig.fake.remove_device(SPEAKER)
    rig.run_for(2.5)  # the poll at 22 s: it stopped playing mid-track
    since = rig.clock.now
    rig.player.apply(PAUSE)  # nothing of ours plays: nothing to pause, and nothing shows the speaker back
    rig.run_for(120)
    state = rig.player.state()
    assert (state.status, state.last_error, state.device) == (
        PlayerStatus.NO_DEVICE, f"{SPEAKER} stopped playing", f"{SPEAKER} (not found)")
    assert rig.requests(since) == []


def test_the_state_names_the_speaker_as_spotify_does_not_as_configured(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    fake.add_device(SPEAKER, id=SPEAKER_ID)
    rig = make_rig(fake, clock, tmp_path, speaker=False, device=SPEAKER.lower())
    rig.player.apply(PLAY)
    rig.run_for(5)
    state = rig.player.state()
    assert (state.status, state.device, state.track) == (PlayerStatus.OK, SPEAKER, rig.tracks[0])
