"""The catalog store over a real SQLite file: restarts, migrations, trust order, feedback, bad files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from soulsyncd.catalog.schema import MIGRATIONS, SCHEMA_VERSION
from soulsyncd.catalog.store import CatalogError, CatalogStore, CatalogTrack, catalog_path
from soulsyncd.config import parse_config


def uri(n: int) -> str:
    return f"spotify:track:{n:022d}"


def track(n: int, valence: float | None = 0.5, energy: float | None = 0.5, **kw: object) -> CatalogTrack:
    return CatalogTrack(uri=uri(n), name=f"Song {n}", artists=(f"Artist {n % 3}",), duration_s=200.0,
                        valence=valence, energy=energy, **kw)  # type: ignore[arg-type]


def test_tracks_playlists_and_feedback_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "catalog.sqlite3"
    with CatalogStore(path) as store:
        assert store.upsert_tracks([track(1, 0.9, 0.8, tempo=128.0), track(2)], source="csv:test") == 2
        store.set_playlist("spotify:playlist:p", name="Happy", tag="happy", valence=0.8, energy=0.7,
                           tracks=[track(3, None, None), track(1)])
        store.record_play(uri(1), context="sad", listened_s=12.0, skipped=True, valence_change=-0.1,
                          arousal_change=0.05, at=1000.0)
        store.record_play(uri(2), context="sad", listened_s=200.0, skipped=False, valence_change=None,
                          arousal_change=None, at=1200.0)
    with CatalogStore(path) as store:
        assert store.count() == 3
        assert store.track(uri(1)) == CatalogTrack(uri(1), "Song 1", ("Artist 1",), 200.0, 0.9, 0.8, 128.0,
                                                   "csv:test")
        assert [t.uri for t in store.playlist_tracks("spotify:playlist:p")] == [uri(3), uri(1)]
        (info,) = store.playlists()
        assert (info.name, info.tag, info.track_count) == ("Happy", "happy", 2)
        fb = store.feedback("sad")
        assert (fb[uri(1)].skips, fb[uri(1)].full_plays, fb[uri(1)].affect_samples) == (1, 0, 1)
        assert fb[uri(1)].mean_valence_change == pytest.approx(-0.1)
        played = fb[uri(2)]
        assert (played.full_plays, played.affect_samples, played.mean_valence_change) == (1, 0, 0.0)
        assert store.feedback("happy") == {}
        plays = store.recent_plays(10)
        assert [(p.uri, p.skipped, p.artists) for p in plays] == [
            (uri(2), False, ("Artist 2",)), (uri(1), True, ("Artist 1",))]


def test_a_playlist_tag_is_a_prior_that_never_replaces_better_features() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1, 0.1, 0.2)], source="csv:x")
    store.set_playlist("spotify:playlist:p", name="P", tag="happy", valence=0.8, energy=0.7,
                       tracks=[track(1, None, None), track(2, None, None)])
    assert (store.track(uri(1)) or track(0)).feature_source == "csv:x"
    t2 = store.track(uri(2))
    assert t2 is not None
    assert (t2.valence, t2.energy, t2.feature_source) == (0.8, 0.7, "playlist-tag:happy")
    # A look-up service outranks the prior but not the CSV; a later CSV replaces the service.
    store.upsert_tracks([track(1, 0.5, 0.5), track(2, 0.4, 0.3)], source="reccobeats")
    assert (store.track(uri(1)) or track(0)).valence == 0.1
    assert (store.track(uri(2)) or track(0)).feature_source == "reccobeats"
    store.upsert_tracks([track(2, 0.6, 0.6)], source="csv:y")
    assert (store.track(uri(2)) or track(0)).feature_source == "csv:y"
    # Name-only updates keep features; featureless tracks are left out of tracks().
    store.upsert_tracks([CatalogTrack(uri(2), "Renamed", ())], source="spotify")
    renamed = CatalogTrack(uri(2), "Renamed", ("Artist 2",), 200.0, 0.6, 0.6, None, "csv:y")
    assert store.track(uri(2)) == renamed
    store.upsert_tracks([track(9, None, None)], source="csv:z")
    assert uri(9) not in {t.uri for t in store.tracks()}
    assert uri(9) in {t.uri for t in store.tracks(with_features=False)}


def test_replacing_a_playlist_replaces_its_items_in_order() -> None:
    store = CatalogStore(":memory:")
    store.set_playlist("p", name="P", tag=None, valence=None, energy=None, tracks=[track(1), track(2)])
    store.set_playlist("p", name="P2", tag="calm", valence=0.4, energy=0.2, tracks=[track(3), track(1)])
    assert [t.uri for t in store.playlist_tracks("p")] == [uri(3), uri(1)]
    assert store.playlists()[0].name == "P2"


def test_stats_summarise_catalog_and_learning() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1), track(2), track(3, None, None)], source="csv:a")
    store.record_play(uri(1), context="happy", listened_s=5, skipped=True, valence_change=None,
                      arousal_change=None, at=1.0)
    stats = store.stats()
    assert stats["tracks"] == 3
    assert stats["with_features"] == 2
    assert stats["features_by_source"] == {"csv:a": 2}
    assert stats["plays"] == 1
    assert stats["skips"] == 1
    assert stats["contexts"] == {"happy": {"tracks": 1, "plays": 1, "full_plays": 0, "skips": 1,
                                           "affect_samples": 0}}
    assert stats["schema_version"] == SCHEMA_VERSION


def test_a_version_1_file_is_migrated_keeping_its_tracks(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO tracks (uri, name, artists, duration_s, valence, energy, added_at)"
                 " VALUES (?, 'Old', '[\"A\"]', 180, 0.3, 0.4, 5)", (uri(1),))
    conn.execute("INSERT INTO tracks (uri, name) VALUES (?, 'No features')", (uri(2),))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with CatalogStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.track(uri(1)) == CatalogTrack(uri(1), "Old", ("A",), 180.0, 0.3, 0.4, None, "legacy")
        assert (store.track(uri(2)) or track(0)).valence is None
        # The legacy features rank below everything but still above nothing.
        store.upsert_tracks([track(1, 0.9, 0.9)], source="playlist-tag:happy")
        assert (store.track(uri(1)) or track(0)).feature_source == "playlist-tag:happy"
        store.record_play(uri(1), context="x", listened_s=1, skipped=True, valence_change=None,
                          arousal_change=None, at=1)


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    CatalogStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CatalogError, match=rf"{path}: written by a newer soulsyncd"):
        CatalogStore(path)


def test_a_corrupt_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"this is not a database, just junk bytes\x00\x01\x02" * 100)
    with pytest.raises(CatalogError, match=rf"{path}: not a usable SQLite database"):
        CatalogStore(path)


def test_a_locked_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    CatalogStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CatalogError, match=rf"{path}: locked by another process"):
            CatalogStore(path, timeout_s=0.05)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_write_blocked_by_another_writer_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    store = CatalogStore(path, timeout_s=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        assert store.count() == 0  # WAL: reading goes on while another process writes
        with pytest.raises(CatalogError, match=rf"{path}: locked by another process"):
            store.upsert_tracks([track(1)], source="csv:x")
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.upsert_tracks([track(1)], source="csv:x")
    store.close()


def test_one_store_is_shared_by_threads() -> None:
    store = CatalogStore(":memory:")
    errors: list[BaseException] = []

    def work(base: int) -> None:
        try:
            for i in range(50):
                store.upsert_tracks([track(base + i)], source="csv:x")
                store.record_play(uri(base + i), context="c", listened_s=1, skipped=False,
                                  valence_change=0.0, arousal_change=0.0, at=float(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert store.count() == 200
    assert len(store.feedback("c")) == 200


def test_catalog_path_is_in_the_state_dir(tmp_path: Path) -> None:
    config = parse_config({"state": {"dir": str(tmp_path)}})
    assert catalog_path(config) == tmp_path / "catalog.sqlite3"


def test_a_new_catalog_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state" / "catalog.sqlite3"
    store = CatalogStore(path)
    store.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_upserting_writes_every_batch_in_one_transaction_or_none(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with CatalogStore(path) as store:
        store.upsert_tracks([track(1)], source="reccobeats")
        with store.upserting(source="csv:big") as write:
            write([track(1, 0.9), track(2)])
            write([track(3)])
            with CatalogStore(path) as reader:  # another process sees nothing until the commit
                assert reader.count() == 1
        assert store.count() == 3
        assert store.track(uri(1)) == CatalogTrack(uri(1), "Song 1", ("Artist 1",), 200.0, 0.9, 0.5, None,
                                                   "csv:big")

        def fail_half_way() -> None:
            with store.upserting(source="csv:bad") as write:
                write([track(4)])
                raise RuntimeError("stop")

        with pytest.raises(RuntimeError):
            fail_half_way()
        assert store.count() == 3
        assert store.track(uri(4)) is None


def test_a_read_catalog_holds_each_artists_tuple_and_source_once() -> None:
    # A 100,000-track catalog is held in the engine for the daemon's life: per track it must cost the
    # track's own fields, not a dict of attributes and a copy of what it shares with its artist's others.
    store = CatalogStore(":memory:")
    artists = [("Ann", "Bo")] * 3 + [("Cy",)] * 2
    store.upsert_tracks([CatalogTrack(uri=uri(n), name=f"Song {n}", artists=a, valence=0.5, energy=0.5)
                         for n, a in enumerate(artists)], source="csv:test")
    tracks = store.tracks()
    assert [t.artists for t in tracks] == [("Ann", "Bo")] * 3 + [("Cy",)] * 2
    assert tracks[0].artists is tracks[1].artists is tracks[2].artists
    assert tracks[3].artists is tracks[4].artists
    assert all(t.feature_source is tracks[0].feature_source for t in tracks)
    assert all(t.valence is tracks[0].valence and t.energy is tracks[0].valence for t in tracks)
    assert not hasattr(tracks[0], "__dict__")
