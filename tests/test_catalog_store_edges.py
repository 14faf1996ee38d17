"""The catalog store at its edges (issue 17, mutation round two): the full-play share's boundary, values
that are not numbers, the exact summary, the look-up service's memory, and the plain-words reasons."""

from __future__ import annotations

import logging
import math
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from soulsyncd.catalog.store import (
    FULL_PLAY_FRACTION,
    CatalogError,
    CatalogStore,
    CatalogTrack,
    Feedback,
)


def uri(n: int) -> str:
    return f"spotify:track:{n:022d}"


def track(n: int, valence: float | None = 0.5, energy: float | None = 0.5, duration_s: float = 200.0,
          **kw: object) -> CatalogTrack:
    return CatalogTrack(uri=uri(n), name=f"Song {n}", artists=(f"Artist {n % 3}", "Ütsi"),
                        duration_s=duration_s, valence=valence, energy=energy, **kw)  # type: ignore[arg-type]


def play(store: CatalogStore, n: int, listened_s: float, *, skipped: bool = False, context: str = "c",
         at: float = 1.0, full: bool | None = None, dv: float | None = None, da: float | None = None) -> None:
    store.record_play(uri(n), context=context, listened_s=listened_s, skipped=skipped, valence_change=dv,
                      arousal_change=da, at=at, full=full)


def on_another_thread(write: Callable[[], object]) -> list[BaseException]:
    """Run ``write`` on a thread of its own (SQLite connections are per thread) and return what it raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            write()
        except BaseException as exc:  # returned to the test
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the write did not finish within 10 s"
    return errors

def test_a_full_play_starts_at_exactly_the_share_of_a_known_length() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1), track(2, duration_s=0.0)], source="csv:x")
    play(store, 1, FULL_PLAY_FRACTION * 200.0)
    play(store, 1, FULL_PLAY_FRACTION * 200.0 - 0.01)
    play(store, 1, 200.0, skipped=True)  # a skip is never a full play
    play(store, 2, 0.5)  # length unknown: any listen that is not a skip
    play(store, 3, 0.5)  # not in the catalog at all: the same
    play(store, 1, 1.0, full=True)  # the caller's word wins
    feedback = store.feedback("c")
    assert (feedback[uri(1)].plays, feedback[uri(1)].full_plays, feedback[uri(1)].skips) == (4, 2, 1)
    assert (feedback[uri(2)].full_plays, feedback[uri(3)].full_plays) == (1, 1)


def test_affect_changes_add_up_only_where_measured_and_not_a_number_counts_as_zero() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1)], source="csv:x")
    play(store, 1, 10, dv=0.25, da=-0.5)
    play(store, 1, 10, dv=None, da=0.25)  # half measured: a sample, the missing half adds 0
    play(store, 1, 10)  # nothing measured: no sample
    play(store, 1, 10, dv=math.nan, da=math.inf)
    fb = store.feedback("c")[uri(1)]
    assert (fb.plays, fb.affect_samples, fb.valence_change_sum, fb.arousal_change_sum) == (4, 3, 0.25, -0.25)
    assert fb.mean_valence_change == pytest.approx(0.25 / 3)
    assert fb.mean_arousal_change == pytest.approx(-0.25 / 3)


def test_feedback_means_and_rates_at_zero_and_above() -> None:
    assert (Feedback().mean_valence_change, Feedback().mean_arousal_change, Feedback().skip_rate) == (0, 0, 0)
    fb = Feedback(plays=4, skips=1, valence_change_sum=1.0, arousal_change_sum=-2.0, affect_samples=2)
    assert (fb.mean_valence_change, fb.mean_arousal_change, fb.skip_rate) == (0.5, -1.0, 0.25)


def test_values_that_are_not_numbers_are_stored_as_unknown() -> None:
    store = CatalogStore(":memory:")
    assert store.upsert_tracks([
        track(1, math.nan, 0.5, duration_s=math.inf, tempo=math.inf),
        track(2, 0.5, None, tempo=120.0),  # half the features: none, and no source
        track(3, 0.25, 0.75, duration_s=-0.0, tempo=90),
    ], source="csv:x") == 3
    one = store.track(uri(1))
    assert one == CatalogTrack(uri(1), "Song 1", ("Artist 1", "Ütsi"), 0.0, None, None, None, None)
    two = CatalogTrack(uri(2), "Song 2", ("Artist 2", "Ütsi"), 200.0, None, None, 120.0, None)
    assert store.track(uri(2)) == two
    three = store.track(uri(3))
    assert three is not None
    assert (three.valence, three.energy, three.tempo, three.feature_source) == (0.25, 0.75, 90.0, "csv:x")
    assert isinstance(three.tempo, float)
    assert three.track_id == "0" * 21 + "3"
    assert three.to_track().duration_s == 0.0
    assert [t.uri for t in store.tracks()] == [uri(3)]
    assert store.upsert_tracks([track(3), track(4)], source="csv:x") == 1  # only the new one counts


def test_a_features_own_source_wins_over_the_batch_source() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1, feature_source="learned")], source="csv:x")
    assert (store.track(uri(1)) or track(0)).feature_source == "learned"
    store.upsert_tracks([track(1, 0.9, 0.9)], source="reccobeats")  # more trusted than learned
    assert (store.track(uri(1)) or track(0)).valence == 0.9


def test_playlists_list_by_name_with_their_size_point_and_time(tmp_path: Path) -> None:
    now = [5000.0]
    store = CatalogStore(tmp_path / "c.sqlite3", now=lambda: now[0])
    store.set_playlist("spotify:playlist:b", name="Zed", tag=None, valence=None, energy=None,
                       tracks=[track(1, None, None)])
    now[0] = 6000.0
    store.set_playlist("spotify:playlist:a", name="Alpha", tag="calm", valence=0.4, energy=0.2,
                       tracks=[track(2, None, None), track(3)])
    alpha, zed = store.playlists()
    assert (alpha.uri, alpha.name, alpha.tag, alpha.valence, alpha.energy, alpha.track_count,
            alpha.refreshed_at) == ("spotify:playlist:a", "Alpha", "calm", 0.4, 0.2, 2, 6000.0)
    assert (zed.name, zed.tag, zed.track_count, zed.refreshed_at) == ("Zed", None, 1, 5000.0)
    prior = store.track(uri(2))
    assert prior is not None
    assert (prior.valence, prior.energy, prior.feature_source) == (0.4, 0.2, "playlist-tag:calm")
    assert (store.track(uri(1)) or track(0)).feature_source is None  # no tag point: no prior
    own = store.track(uri(3))
    assert own is not None
    assert (own.valence, own.energy, own.feature_source) == (0.5, 0.5, "playlist-tag:calm")  # its own point
    store.set_playlist("spotify:playlist:c", name="Untagged", tag=None, valence=0.1, energy=0.9,
                       tracks=[track(4, None, None)])
    four = store.track(uri(4))
    assert four is not None
    assert (four.valence, four.energy, four.feature_source) == (0.1, 0.9, "playlist-tag:untagged")
    assert store.playlist_tracks("spotify:playlist:none") == []
    store.close()


def test_recent_plays_newest_first_ties_by_order_and_a_limit_below_one() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1), track(2)], source="csv:x")
    play(store, 1, 5, at=10.0, skipped=True)
    play(store, 2, 6, at=20.0)
    play(store, 1, 7, at=20.0, context="d")
    play(store, 9, 8, at=5.0)  # a track not in the catalog: no artists
    recent = store.recent_plays(3)
    assert [(p.uri, p.context, p.at, p.listened_s, p.skipped) for p in recent] == [
        (uri(1), "d", 20.0, 7, False), (uri(2), "c", 20.0, 6, False), (uri(1), "c", 10.0, 5, True)]
    assert recent[0].artists == ("Artist 1", "Ütsi")
    assert store.recent_plays(10)[-1].artists == ()
    assert store.recent_plays(0) == []
    assert store.recent_plays(-5) == []
    assert store.contexts() == ["c", "d"]


def test_the_look_up_service_is_asked_once_about_what_it_could_improve() -> None:
    store = CatalogStore(":memory:", now=lambda: 77.0)
    store.upsert_tracks([track(1, None, None), track(2, feature_source="playlist-tag:happy"),
                         track(3, feature_source="csv:x"), track(4, None, None)], source="csv:x")
    store.upsert_tracks([CatalogTrack("spotify:episode:e1", "An episode", ())], source="x")
    ids = [uri(n)[len("spotify:track:"):] for n in (1, 2, 4)]
    assert store.ids_to_enrich(service="reccobeats") == ids
    assert store.ids_to_enrich(service="reccobeats", limit=2) == ids[:2]
    assert store.ids_to_enrich(service="reccobeats", limit=0) == []
    store.mark_enrich_asked(ids[:2], service="reccobeats", found=[ids[1]])
    assert store.ids_to_enrich(service="reccobeats") == ids[2:]
    store.mark_enrich_asked(["0" * 22], service="other", found=[])
    assert store.ids_to_enrich(service="other") == ids  # what one service was asked, another was not
    stats = store.stats()
    assert (stats["enrich_asked"], stats["enrich_found"]) == (3, 1)


def test_the_summary_counts_every_part() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1), track(2), track(3, None, None)], source="csv:a")
    store.upsert_tracks([track(4)], source="reccobeats")
    store.set_playlist("p", name="P", tag="happy", valence=0.5, energy=0.5, tracks=[track(1)])
    play(store, 1, 200, context="happy", dv=0.1)
    play(store, 2, 5, context="happy", skipped=True)
    play(store, 2, 5, context="sad", skipped=True)
    play(store, 2, 200, context="sad")
    assert store.stats() == {
        "path": ":memory:", "schema_version": store.schema_version, "tracks": 4, "with_features": 3,
        "without_features": 1, "features_by_source": {"csv:a": 2, "reccobeats": 1}, "playlists": 1,
        "plays": 4, "skips": 2,
        "contexts": {"happy": {"tracks": 2, "plays": 2, "full_plays": 1, "skips": 1, "affect_samples": 1},
                     "sad": {"tracks": 1, "plays": 2, "full_plays": 1, "skips": 1, "affect_samples": 0}},
        "enrich_asked": 0, "enrich_found": 0,
    }
    assert list(store.stats()["features_by_source"]) == ["csv:a", "reccobeats"]  # most first


def test_an_empty_catalog_sums_to_zero() -> None:
    stats = CatalogStore(":memory:").stats()
    assert (stats["plays"], stats["skips"], stats["enrich_asked"], stats["enrich_found"]) == (0, 0, 0, 0)


def test_a_read_only_file_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    CatalogStore(path).close()
    store = CatalogStore(path)
    store._conn.execute("PRAGMA query_only = ON")  # SQLite's own read-only refusal
    with pytest.raises(CatalogError, match=rf"^{path}: read-only \(.*\); check the state directory's "
                                          r"permissions \(while trying to add tracks\)$"):
        store.upsert_tracks([track(1)], source="csv:x")


def test_a_corrupt_file_names_the_file_the_reason_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"junk" * 1000)
    with pytest.raises(CatalogError) as info:
        CatalogStore(path)
    assert str(info.value) == (f"{path}: not a usable SQLite database, corrupt or not a catalog (file is "
                               "not a database); move it away to start anew (while trying to open)")


def test_an_unexplained_sqlite_error_keeps_its_own_words(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "c.sqlite3")
    store.close()
    with pytest.raises(CatalogError, match=r"^.*c\.sqlite3: Cannot operate on a closed database\. "
                                           r"\(while trying to count the tracks\)$"):
        store.count()
    store.close()  # twice is harmless


def test_a_directory_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CatalogError, match=r"^.*/file/catalog\.sqlite3: cannot create its directory: "
                                           r"File exists$"):  # strerror, not the whole OSError
        CatalogStore(blocker / "catalog.sqlite3")
    deep = tmp_path / "a" / "b" / "catalog.sqlite3"  # every missing level is made
    with CatalogStore(deep) as store:
        assert store.count() == 0


def test_an_empty_file_is_set_aside_under_the_time_it_was_found(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.touch()
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    with CatalogStore(path, now=lambda: 1234.9) as store:
        assert store.count() == 0
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, f"catalog {path} was an empty file (damaged, not a catalog): moved it to "
                          "catalog.sqlite3.damaged-1234 and started a new catalog")]
    assert (tmp_path / "catalog.sqlite3.damaged-1234").read_bytes() == b""
    assert path.stat().st_size > 0
    with CatalogStore(path, now=lambda: 99.0):
        pass
    damaged = sorted(p.name for p in tmp_path.iterdir() if "damaged" in p.name)
    assert damaged == ["catalog.sqlite3.damaged-1234"]



def _upserting(store: CatalogStore) -> None:
    with store.upserting(source="csv:x") as write:
        write([track(1)])


@pytest.mark.parametrize(("doing", "use"), [
    ("read the schema version", lambda s: s.schema_version),
    ("add tracks", lambda s: s.upsert_tracks([track(1)], source="csv:x")),
    ("add tracks", _upserting),
    ("read a track", lambda s: s.track(uri(1))),
    ("read the tracks", lambda s: s.tracks()),
    ("count the tracks", lambda s: s.count()),
    ("store a playlist", lambda s: s.set_playlist("p", name="P", tag=None, valence=None, energy=None,
                                                  tracks=[])),
    ("read the playlists", lambda s: s.playlists()),
    ("read a playlist", lambda s: s.playlist_tracks("p")),
    ("record a play", lambda s: play(s, 1, 10)),
    ("read feedback", lambda s: s.feedback("c")),
    ("read contexts", lambda s: s.contexts()),
    ("read recent plays", lambda s: s.recent_plays(5)),
    ("find tracks to look up", lambda s: s.ids_to_enrich(service="reccobeats")),
    ("remember looked-up ids", lambda s: s.mark_enrich_asked(["a"], service="reccobeats", found=[])),
    ("summarise the catalog", lambda s: s.stats()),
])
def test_every_operation_names_what_it_was_doing_when_sqlite_failed(
        tmp_path: Path, doing: str, use: Callable[[CatalogStore], object]) -> None:
    store = CatalogStore(tmp_path / "c.sqlite3")
    store.close()
    with pytest.raises(CatalogError, match=rf"^{tmp_path}/c\.sqlite3: .* \(while trying to {doing}\)$"):
        use(store)


# --- the file under the store's feet: the exact lines an operator reads ------------------------------------


def test_a_vanished_catalog_is_recreated_with_one_warning_and_stays_usable_from_any_thread(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "state"
    path = state / "catalog.sqlite3"
    store = CatalogStore(path)
    store.upsert_tracks([track(1)], source="csv:x")
    shutil.rmtree(state)
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    store.upsert_tracks([track(2)], source="csv:x")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, f"catalog {path} vanished while running (state dir removed?); recreated it from "
                          "the open copy, nothing learned is lost")]
    assert on_another_thread(lambda: play(store, 1, 10)) == []
    store.close()
    with CatalogStore(path) as reopened:
        assert reopened.count() == 2
        assert reopened.feedback("c")[uri(1)].plays == 1


def test_a_vanished_catalog_that_cannot_be_recreated_is_kept_in_memory_with_one_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "state"
    path = state / "catalog.sqlite3"
    store = CatalogStore(path)
    store.upsert_tracks([track(1)], source="csv:x")
    shutil.rmtree(state)
    state.write_text("a file where the state dir was")
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    store.upsert_tracks([track(2)], source="csv:x")
    store.upsert_tracks([track(3)], source="csv:x")
    assert store.count() == 3
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(f"catalog {path} vanished while running and cannot be recreated ("
                                          f"{path}: cannot create its directory: ")
    assert record.getMessage().endswith("); what is learned is kept in memory until the next start")
    store.close()


def test_a_malformed_file_is_explained_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    with CatalogStore(path) as store:
        store.upsert_tracks([track(n) for n in range(300)], source="csv:x")
    raw = bytearray(path.read_bytes())
    raw[4096:len(raw)] = b"\xff" * (len(raw) - 4096)  # every page after the first is garbage
    path.write_bytes(bytes(raw))
    with pytest.raises(CatalogError, match=r": not a usable SQLite database, corrupt or not a catalog "
                                           r"\(.*malformed.*\); move it away to start anew"):
        CatalogStore(path).count()


def test_a_catalog_replaced_while_running_is_used_or_refused_with_one_exact_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "catalog.sqlite3"
    store = CatalogStore(path)
    store.upsert_tracks([track(1)], source="csv:x")
    restored = tmp_path / "backup.sqlite3"
    with CatalogStore(restored) as other:
        other.upsert_tracks([track(2), track(3)], source="csv:x")
    restored.replace(path)
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    store.upsert_tracks([track(4)], source="csv:x")
    assert store.count() == 3  # the restored file, and the new write in it
    junk = tmp_path / "junk"
    junk.write_bytes(b"junk" * 1000)
    junk.replace(path)
    store.upsert_tracks([track(5)], source="csv:x")
    assert store.count() == 4  # kept in memory
    warning, error = caplog.records
    assert (warning.levelno, warning.getMessage()) == (
        logging.WARNING, f"catalog {path} was replaced by another file while running; using that file now")
    assert error.levelno == logging.ERROR
    assert error.getMessage().startswith(f"catalog {path} was replaced by a file that is not a usable "
                                         f"catalog ({path}: not a usable SQLite database")
    assert error.getMessage().endswith("); what was open is kept in memory until the next start")
    store.close()


# --- mutation round three: the connection's settings, the in-memory copy, a failed migration -------------


def busy_timeout_ms(store: CatalogStore) -> int:
    """How long the store's connection waits for another writer (SQLite's own figure)."""
    value: int = store._conn.execute("PRAGMA busy_timeout").fetchone()[0]
    return value


def test_the_lock_wait_is_5_s_unless_configured(tmp_path: Path) -> None:
    with CatalogStore(tmp_path / "a.sqlite3") as store:
        assert busy_timeout_ms(store) == 5000
    with CatalogStore(tmp_path / "b.sqlite3", timeout_s=0.25) as store:
        assert busy_timeout_ms(store) == 250


def test_a_recreated_catalog_waits_for_another_writer_only_as_long_as_configured(tmp_path: Path) -> None:
    import sqlite3
    import time

    state = tmp_path / "state"
    path = state / "catalog.sqlite3"
    store = CatalogStore(path, timeout_s=0.05)
    store.upsert_tracks([track(1)], source="csv:x")
    shutil.rmtree(state)
    store.upsert_tracks([track(2)], source="csv:x")  # recreated here
    assert busy_timeout_ms(store) == 50
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(CatalogError, match=rf"^{path}: locked by another process \(database is locked\); "
                                               r"is another soulsyncd using the same state\.dir\? "
                                               r"\(while trying to add tracks\)$"):
            store.upsert_tracks([track(3)], source="csv:x")
        assert time.monotonic() - started < 2.5  # not SQLite's default of 5 s
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.close()


def test_a_catalog_is_usable_from_another_thread_than_the_one_that_opened_it(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "c.sqlite3")
    assert on_another_thread(lambda: store.upsert_tracks([track(1)], source="csv:x")) == []
    assert store.count() == 1
    store.close()


def test_a_throw_away_catalog_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with CatalogStore(":memory:") as store:
        store.upsert_tracks([track(1)], source="csv:x")
        assert store.count() == 1
    assert list(tmp_path.iterdir()) == []


def test_the_in_memory_copy_of_a_catalog_that_cannot_be_recreated_writes_no_file_and_serves_any_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"
    store = CatalogStore(state / "catalog.sqlite3")
    store.upsert_tracks([track(1)], source="csv:x")
    shutil.rmtree(state)
    state.write_text("a file where the state dir was")
    store.upsert_tracks([track(2)], source="csv:x")
    assert on_another_thread(lambda: play(store, 1, 10)) == []
    assert store.feedback("c")[uri(1)].plays == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]  # the copy is in memory only
    assert len(caplog.records) == 1  # and the error is logged once, not at every write
    store.close()


def test_a_catalog_replaced_twice_logs_each_replacement_once_and_leaves_no_stale_wal_files(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "catalog.sqlite3"
    store = CatalogStore(path)
    store.upsert_tracks([track(1)], source="csv:x")
    restored = tmp_path / "backup.sqlite3"
    with CatalogStore(restored) as other:
        other.upsert_tracks([track(2)], source="csv:x")
    restored.replace(path)
    caplog.set_level(logging.WARNING, logger="soulsyncd.catalog.store")
    play(store, 2, 10)
    play(store, 2, 10)
    assert store.feedback("c")[uri(2)].plays == 2
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    junk = tmp_path / "junk"
    junk.write_bytes(b"junk" * 1000)
    junk.replace(path)
    play(store, 2, 10)
    play(store, 2, 10)
    assert store.feedback("c")[uri(2)].plays == 4  # in memory now
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.ERROR]
    # The replaced catalog's -wal and -shm are gone: they must not be read as the junk file's own.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.sqlite3"]
    store.close()


def test_a_track_without_features_is_stored_with_no_source_and_the_lowest_rank(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "c.sqlite3"
    with CatalogStore(path) as store:
        store.upsert_tracks([track(1, None, None), track(2, 0.5, None), track(3)], source="csv:x")
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT uri, feature_source, feature_rank FROM tracks ORDER BY uri").fetchall()
    conn.close()
    assert rows == [(uri(1), None, 0), (uri(2), None, 0), (uri(3), "csv:x", 40)]


def test_a_migration_that_fails_half_way_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    import sqlite3

    from soulsyncd.catalog.schema import MIGRATIONS

    path = tmp_path / "catalog.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("ALTER TABLE tracks ADD COLUMN feature_rank INTEGER")  # the third step of v2 fails on it
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError) as info:
        CatalogStore(path)
    assert str(info.value) == f"{path}: duplicate column name: feature_rank (while trying to open)"
    conn = sqlite3.connect(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(tracks)")]
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert columns == ["uri", "name", "artists", "duration_s", "valence", "energy", "added_at",
                       "feature_rank"]
    assert (tables, version) == (["tracks"], 1)


def test_a_catalog_path_that_is_a_directory_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        CatalogStore(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot open the catalog: unable to open database file"


@pytest.mark.parametrize(("message", "reason"), [
    ("database is locked", "locked by another process (database is locked); is another soulsyncd using "
                           "the same state.dir?"),
    ("the file is busy", "locked by another process (the file is busy); is another soulsyncd using "
                         "the same state.dir?"),
    ("attempt to write a readonly database", "read-only (attempt to write a readonly database); check the "
                                             "state directory's permissions"),
    ("a read-only file system", "read-only (a read-only file system); check the state directory's "
                                "permissions"),
    ("database disk image is malformed", "not a usable SQLite database, corrupt or not a catalog (database "
                                         "disk image is malformed); move it away to start anew"),
    ("disk I/O error", "disk I/O error"),
])
def test_each_kind_of_failure_is_explained_in_plain_words(message: str, reason: str) -> None:
    import sqlite3

    from soulsyncd.catalog.store import _explain

    assert _explain(sqlite3.OperationalError(message)) == reason


def test_every_track_read_in_one_go_keeps_its_own_feature_source() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1), track(3)], source="csv:x")
    store.upsert_tracks([track(2), track(4, feature_source="learned")], source="reccobeats")
    assert [(t.uri, t.feature_source) for t in store.tracks()] == [
        (uri(1), "csv:x"), (uri(2), "reccobeats"), (uri(3), "csv:x"), (uri(4), "learned")]


def test_a_catalog_file_is_written_ahead_and_synced_normally(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "c.sqlite3"
    with CatalogStore(path) as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # kept in the file
    conn.close()


@pytest.mark.parametrize(("listened_s", "full"), [(0.79, False), (0.8, True)])
def test_a_one_second_track_is_full_from_its_share_like_any_other(listened_s: float, full: bool) -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks([track(1, duration_s=1.0)], source="csv:x")
    play(store, 1, listened_s)
    assert store.feedback("c")[uri(1)].full_plays == int(full)
