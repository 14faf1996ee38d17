"""The mood playlists read into the SQLite catalog on the player's thread: at start, every few hours,
bad ones named and skipped, and the cache kept (and played from) while Spotify's playlists fail."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.catalog.store import CatalogStore
from soulsyncd.mood.targets import DEFAULT_POINTS
from soulsyncd.testing import ListPicker, ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayerStatus
from tests.spotify_support import PLAY, add_tracks, make_rig

MUSIC = {
    "happy": ["spotify:playlist:Happy1", "spotify:playlist:Theirs1"],
    "calm": "https://open.spotify.com/playlist/Calm1",
    "evening": {"uris": ["spotify:track:T0000"], "valence": 0.3, "energy": 0.2},
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSpotify]:
    with FakeSpotify(clock=clock.monotonic) as server:
        tracks = add_tracks(server, 130)
        server.add_playlist("Happy1", "Sunny", [t.uri for t in tracks[:120]])
        server.add_playlist("Theirs1", "A friend's", [t.uri for t in tracks[120:]], owned=False)
        server.add_playlist("Calm1", "Slow", [t.uri for t in tracks[120:]])
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CatalogStore]:
    with CatalogStore(tmp_path / "catalog.sqlite3") as catalog:
        yield catalog


def playlist_requests(fake: FakeSpotify) -> list[str]:
    return [r.path for r in fake.requests if r.path.startswith("/v1/playlists")]


def test_playlists_are_read_at_start_page_by_page_and_bad_ones_named(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, store: CatalogStore,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    rig = make_rig(fake, clock, tmp_path, store=store, music=MUSIC)
    rig.run_for(1)
    infos = {p.uri: p for p in store.playlists()}
    assert set(infos) == {"spotify:playlist:Happy1", "spotify:playlist:Calm1"}
    happy, calm = infos["spotify:playlist:Happy1"], infos["spotify:playlist:Calm1"]
    assert (happy.track_count, happy.tag) == (120, "happy")
    assert (calm.valence, calm.energy) == DEFAULT_POINTS["calm"]  # the engine's own calm
    assert playlist_requests(fake).count("/v1/playlists/Happy1/items") == 3  # 50 + 50 + 20
    assert "music.playlists.happy: spotify:playlist:Theirs1 is not yours" in caplog.text
    assert "music.playlists.evening: spotify:track:T0000 is not a playlist URI" in caplog.text
    assert rig.player.state().status is PlayerStatus.IDLE  # a bad playlist is a warning, not a state
    assert rig.player.state().last_error is None


def test_playlists_are_read_again_every_few_hours_and_not_in_between(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, store: CatalogStore) -> None:
    rig = make_rig(fake, clock, tmp_path, store=store, music={"calm": "spotify:playlist:Calm1"},
                   playlist_refresh_h=6)
    rig.run_for(1)
    first = len(playlist_requests(fake))
    fake.add_playlist("Calm1", "Slower", [t.uri for t in rig.tracks[:3]])
    rig.run_for(6 * 3600 - 2)
    assert len(playlist_requests(fake)) == first
    rig.run_for(2)
    [info] = store.playlists()
    assert (info.name, info.track_count) == ("Slower", 3)


def test_playback_goes_on_from_the_cache_while_the_playlists_fail(
        fake: FakeSpotify, clock: ManualClock, tmp_path: Path, store: CatalogStore) -> None:
    first = make_rig(fake, clock, tmp_path, store=store, music={"happy": "spotify:playlist:Happy1"})
    first.run_for(1)
    first.player.close()
    # A restart while Spotify's playlist endpoints fail: the player reads nothing new...
    fake.fail_next(1000, 503, path_prefix="playlists")
    cached = [t.to_track() for t in store.playlist_tracks("spotify:playlist:Happy1")]
    assert len(cached) == 120
    rig = make_rig(fake, clock, tmp_path, store=store, music={"happy": "spotify:playlist:Happy1"},
                   tracks=cached, speaker=False)
    rig.player.apply(PLAY)
    rig.run_for(600)
    # ...and plays from what the catalog had, the playlists retried with a back-off in between.
    assert rig.player.state().status is PlayerStatus.OK
    assert rig.playing_uri() in {t.uri for t in cached}
    assert len(rig.picker.endings) >= 2
    assert store.playlists()[0].track_count == 120
    failed = [r for r in fake.requests if r.path.startswith("/v1/playlists") and r.at >= clock.now - 600]
    assert 2 <= len(failed) <= 10


def test_a_round_tells_the_listener(fake: FakeSpotify, clock: ManualClock, tmp_path: Path,
                                    store: CatalogStore) -> None:
    from soulsyncd.spotify.player import build_spotify_player
    from tests.spotify_support import log_in, spotify_config

    log_in(fake, tmp_path)
    reports = []
    player = build_spotify_player(
        spotify_config(fake, tmp_path, music={"calm": "spotify:playlist:Calm1"}), ListPicker([]),
        store=store, on_synced=reports.append, clock=clock, api_prefix=fake.api_prefix,
        token_url=fake.token_url, start=False)
    for _ in range(3):  # one request a step: the name, the one page, then the end of the pages
        player.run_once()
    assert [r.stored for r in reports] == [{"spotify:playlist:Calm1": 10}]


def test_the_daemon_wiring_reloads_the_mood_engine_after_a_sync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """app.build_player: the Spotify player reads the playlists into the catalog, then the engine
    chooses from them (here: their tag point is all the features the tracks have)."""
    import threading

    from soulsyncd import app
    from soulsyncd.mood.factory import build_engine
    from soulsyncd.spotify import player as spotify_player
    from tests.spotify_support import log_in, spotify_config

    with FakeSpotify() as server:
        tracks = add_tracks(server, 12)
        server.add_playlist("Calm1", "Slow", [t.uri for t in tracks])
        real = spotify_player.build_spotify_player

        def aimed(*args: object, **kwargs: object) -> object:
            return real(*args, api_prefix=server.api_prefix, token_url=server.token_url, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(spotify_player, "build_spotify_player", aimed)
        log_in(server, tmp_path)
        config = spotify_config(server, tmp_path, music={"calm": "spotify:playlist:Calm1"})
        with CatalogStore(tmp_path / "catalog.sqlite3") as catalog:
            engine = build_engine(config, store=catalog, mood_now=lambda: None)
            assert engine.catalog_size == 0
            built = app.build_player(config, engine, catalog)
            try:
                tick = threading.Event()
                for _ in range(1000):  # up to 20 s for the player's thread to read and store them
                    if engine.catalog_size == 12 or tick.wait(0.02):
                        break
                assert engine.catalog_size == 12
            finally:
                built.close()
