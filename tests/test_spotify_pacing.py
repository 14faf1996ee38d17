"""Issue 17: Spotify pacing from the answer. Back-offs and Retry-After count from when the answer
arrived; the start-up playlist sync stays under 25 requests per 10 s whatever the playlists; the
absent-speaker message names the right cause. Manual clock throughout: the fake answers "late" by
advancing it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.catalog.store import CatalogStore
from soulsyncd.spotify.client import Device
from soulsyncd.spotify.errors import NoDeviceError
from soulsyncd.spotify.rules import choose_device
from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayerStatus
from tests.spotify_support import PLAY, add_tracks, make_rig


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSpotify]:
    with FakeSpotify(clock=clock.monotonic) as server:
        yield server


def most_in_any_window(times: list[float], window_s: float = 10.0) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + window_s) for t in times), default=0)


def test_twenty_playlists_of_500_tracks_are_read_under_25_requests_per_10_s(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    tracks = add_tracks(fake, 500)
    uris = [t.uri for t in tracks]
    for n in range(20):
        fake.add_playlist(f"Big{n:02d}", f"Big {n}", uris)
    music = {"happy": [f"spotify:playlist:Big{n:02d}" for n in range(20)]}
    with CatalogStore(tmp_path / "catalog.sqlite3") as store:
        rig = make_rig(fake, clock, tmp_path, tracks=tracks, store=store, music=music)
        start = clock.now
        rig.player.apply(PLAY)
        rig.run_for(400)
        times = [r.at for r in fake.requests if r.path.startswith("/v1/")]
        assert most_in_any_window(times) <= 25
        assert len(store.playlists()) == 20  # and all were read
        assert all(p.track_count == 500 for p in store.playlists())
        # The music did not wait for the playlists: playing within the first seconds.
        plays = [r.at for r in fake.requests if r.method == "PUT" and r.path == "/v1/me/player/play"]
        assert plays
        assert plays[0] - start < 5


def _requests_after(fake: FakeSpotify, t: float) -> list[float]:
    return [r.at for r in fake.requests if r.at > t and r.path.startswith("/v1/")]


def test_a_429_answered_late_is_waited_for_from_the_answer(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path)
    rig.player.apply(PLAY)
    rig.run_for(1)
    t0 = clock.now
    fake.fail_next(1, 429, retry_after=5)
    fake.answer_late(1, 8.0, clock.advance)
    rig.player.apply(PLAY.__class__("play", valence=0.1, energy=0.1, reason="sad"))
    rig.player.skip()
    rig.run_for(30)
    assert rig.player.state().status is not PlayerStatus.RATE_LIMITED
    failed = next(r for r in fake.requests if r.status == 429)
    assert failed.at >= t0
    answered_at = failed.at + 8.0
    later = _requests_after(fake, failed.at)
    assert later, "nothing was tried again"
    assert min(later) >= answered_at + 5.0 - 1e-6  # Retry-After from the answer, not the start


def test_a_503_answered_late_backs_off_from_the_answer(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path)
    rig.player.apply(PLAY)
    rig.run_for(1)
    fake.fail_next(1, 503)
    fake.answer_late(1, 8.0, clock.advance)
    rig.player.skip()
    rig.run_for(30)
    failed = next(r for r in fake.requests if r.status == 503)
    later = _requests_after(fake, failed.at)
    assert later
    assert min(later) >= failed.at + 8.0 + 2.0 - 1e-6  # retry_initial_s, counted from the answer


def _device(name: str, id: str, *, restricted: bool = False) -> Device:
    return Device(id=id, name=name, type="Speaker", active=False, restricted=restricted, volume=50)


def test_a_restricted_namesake_of_an_absent_speaker_is_not_called_the_speaker() -> None:
    namesake = _device("Kitchen", "other", restricted=True)
    with pytest.raises(NoDeviceError) as absent:
        choose_device([namesake, _device("TV", "tv")], "Kitchen", known_id="kitchen-id")
    assert "not found" in absent.value.message
    assert "is restricted" not in absent.value.message
    # The speaker itself restricted (same id), or never seen: "is restricted" is the right word.
    with pytest.raises(NoDeviceError, match="is restricted"):
        choose_device([_device("Kitchen", "kitchen-id", restricted=True)], "Kitchen", known_id="kitchen-id")
    with pytest.raises(NoDeviceError, match="is restricted"):
        choose_device([namesake], "Kitchen")


def test_the_player_remembers_its_speaker_and_names_the_absence(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> None:
    rig = make_rig(fake, clock, tmp_path)
    rig.player.apply(PLAY)
    rig.run_for(5)
    assert rig.playing_uri() is not None
    fake.remove_device("Kitchen")
    fake.add_device("Kitchen", restricted=True)
    rig.player.skip()
    rig.run_for(20)
    state = rig.player.state()
    assert state.status is PlayerStatus.NO_DEVICE, state
    assert "not found" in (state.last_error or "")
