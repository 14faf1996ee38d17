"""The track catalog: one SQLite file in the state directory (``catalog.sqlite3``).

It holds the tracks the mood engine can choose from, each with its valence/energy/tempo and where
those came from; the mood-tagged playlists and their items; every play the daemon made with how
the listener took it; and per (track, context) totals of that feedback, which the engine scores by.

Features arrive from several places, and a more trusted source is never overwritten by a less
trusted one (see :func:`source_rank`): an imported CSV of audio features > a look-up service
(ReccoBeats) > what was learned from the listener > the tag point of a mood playlist the track is
on (a prior, better than nothing). A source of equal or higher trust replaces the features.

The schema is versioned (``PRAGMA user_version``) and migrated forward on open, one step at a time
from :data:`MIGRATIONS`; a file written by a newer soulsyncd is refused rather than damaged.

Threading: one connection, shared by the player thread and the CLI, every use under one lock.
Every SQLite failure surfaces as :class:`CatalogError` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soulsyncd.catalog.schema import (
    HAS_FEATURES,
    MIGRATIONS,
    SCHEMA_VERSION,
    TRACK_COLUMNS,
    UPSERT_TRACK,
    source_rank,
)
from soulsyncd.types import Track

if TYPE_CHECKING:
    from soulsyncd.settings import WithState

__all__ = [
    "CatalogError",
    "CatalogStore",
    "CatalogTrack",
    "Feedback",
    "PlayRecord",
    "PlaylistInfo",
    "catalog_path",
    "source_rank",
]

log = logging.getLogger(__name__)

CATALOG_FILE_NAME = "catalog.sqlite3"
TRACK_URI_PREFIX = "spotify:track:"

# How far a listen must go, as a share of the track, to count as a full play when the caller does
# not say (tracks of unknown length: any listen that was not a skip).
FULL_PLAY_FRACTION = 0.8


def catalog_path(config: WithState) -> Path:
    """Where the catalog of this configuration lives: ``<state.dir>/catalog.sqlite3``."""
    return Path(config.state.dir) / CATALOG_FILE_NAME


class CatalogError(Exception):
    """The catalog file can't be used; the message names the file and what is wrong with it
    (not a SQLite database, locked by another process, written by a newer version, ...)."""


# --- value types ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)  # slots: the engine holds one per track (100,000 in a big catalog)
class CatalogTrack:
    """A track in the catalog, with its mood features (None: unknown) and where they came from.

    ``valence`` and ``energy`` are in [0, 1] (Spotify's scale); ``tempo`` in beats per minute.
    A track "has features" when both valence and energy are known.
    """

    uri: str  # spotify:track:<id>
    name: str
    artists: tuple[str, ...]
    duration_s: float = 0.0
    valence: float | None = None
    energy: float | None = None
    tempo: float | None = None
    feature_source: str | None = None  # "csv:kaggle-2023", "playlist-tag:happy", "reccobeats", "learned"

    @property
    def track_id(self) -> str:
        """The Spotify id: the part of the uri after the last ':'."""
        return self.uri.rsplit(":", 1)[-1]

    @property
    def has_features(self) -> bool:
        return self.valence is not None and self.energy is not None

    def to_track(self) -> Track:
        """The player's view of this track."""
        return Track(
            uri=self.uri,
            name=self.name,
            artists=self.artists,
            duration_s=self.duration_s,
            valence=self.valence,
            energy=self.energy,
        )


@dataclass(frozen=True)
class PlaylistInfo:
    """A mood playlist as stored: its tag and tag point (valence/energy in [0, 1]) and size.

    ``refreshed_at`` is wall-clock (epoch) seconds of the last :meth:`CatalogStore.set_playlist`.
    """

    uri: str
    name: str
    tag: str | None
    valence: float | None
    energy: float | None
    track_count: int
    refreshed_at: float


@dataclass(frozen=True)
class Feedback:
    """What one track did in one context (e.g. a mood), summed over all its plays there.

    ``valence_change_sum``/``arousal_change_sum`` add up the change of the listener's smoothed
    valence/arousal while the track played, over the ``affect_samples`` plays that measured it.
    """

    plays: int = 0
    full_plays: int = 0
    skips: int = 0
    valence_change_sum: float = 0.0
    arousal_change_sum: float = 0.0
    affect_samples: int = 0

    @property
    def mean_valence_change(self) -> float:
        """Mean change of the listener's valence while this track played (0.0 when never measured)."""
        return self.valence_change_sum / self.affect_samples if self.affect_samples else 0.0

    @property
    def mean_arousal_change(self) -> float:
        """Mean change of the listener's arousal while this track played (0.0 when never measured)."""
        return self.arousal_change_sum / self.affect_samples if self.affect_samples else 0.0

    @property
    def skip_rate(self) -> float:
        """Share of plays that were skips (0.0 when never played)."""
        return self.skips / self.plays if self.plays else 0.0


@dataclass(frozen=True)
class PlayRecord:
    """One play: which track (and its artists, for the variety rules), in what context, when
    (``at``, the caller's clock: wall-clock seconds in the daemon), how long, and whether skipped."""

    uri: str
    artists: tuple[str, ...]
    context: str
    at: float
    listened_s: float
    skipped: bool



def _track_from_row(row: Sequence[Any], shared: dict[Any, Any] | None = None) -> CatalogTrack:
    """The track of one ``tracks`` row. ``shared``: one dict for a whole read, so the values that
    repeat across rows are held once: artists tuples (an artist's every track), feature sources, and
    valence and energy (a few thousand distinct values at the CSVs' three decimals). Only tuples,
    strings, floats and None go in it (no ints, which would be equal to floats)."""
    artists = tuple(json.loads(row[2]))
    source, valence, energy = row[7], row[4], row[5]
    if shared is not None:
        artists = shared.setdefault(artists, artists)
        source = shared.setdefault(source, source)
        valence = shared.setdefault(valence, valence)
        energy = shared.setdefault(energy, energy)
    return CatalogTrack(
        uri=row[0],
        name=row[1],
        artists=artists,
        duration_s=row[3],
        valence=valence,
        energy=energy,
        tempo=row[6],
        feature_source=source,
    )


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


class CatalogStore:
    """The catalog file: tracks, mood playlists, plays and learned feedback (see the module doc).

    Safe to share between threads: every method holds the store's lock for its whole use of the
    one connection. Every method raises :class:`CatalogError` (naming the file) when SQLite fails:
    the file is corrupt, locked by another process beyond ``timeout_s``, or the disk is full.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        timeout_s: float = 5.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Open (creating it and its directory if needed) and migrate the catalog at ``path``.

        Args:
            path: The SQLite file, or ``":memory:"`` for a throw-away catalog.
            timeout_s: How long to wait for another process's lock before giving up.
            now: Wall clock for ``added_at``/``refreshed_at`` stamps (epoch seconds).

        Raises:
            CatalogError: The file is not a SQLite database, stays locked, can't be created, or
                was written by a newer soulsyncd (its schema version is above :data:`SCHEMA_VERSION`).
        """
        self.path = str(path)
        self._now = now
        self._lock = threading.RLock()
        self._timeout_s = timeout_s
        self._memory = self.path == ":memory:"
        if not self._memory:
            self._create_file(set_aside_empty=True)
        self._conn = self._connect()
        self._identity = self._file_identity()

    def _create_file(self, *, set_aside_empty: bool) -> None:
        """Make the directory and an empty 0600 file; a zero-byte file found at open is damaged (a
        real catalog is never empty): it is moved aside, logged, and a new catalog begins."""
        path = Path(self.path)
        try:
            # What the listener skipped and how their mood moved is personal: owner-only, even
            # outside systemd (whose UMask=0077 does the same).
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if set_aside_empty and path.is_file() and path.stat().st_size == 0:
                aside = path.with_name(f"{path.name}.damaged-{int(self._now())}")
                os.replace(path, aside)
                log.warning("catalog %s was an empty file (damaged, not a catalog): moved it to %s "
                            "and started a new catalog", path, aside.name)
            if not path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            reason = exc.strerror or exc
            raise CatalogError(f"{self.path}: cannot create its directory: {reason}") from exc

    def _connect(self) -> sqlite3.Connection:
        try:
            # Autocommit (isolation_level=None): transactions are explicit, in _transaction().
            conn = sqlite3.connect(
                self.path, timeout=self._timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise CatalogError(f"{self.path}: cannot open the catalog: {exc}") from exc
        self._conn = conn
        try:
            with self._errors("open"):
                conn.execute("PRAGMA foreign_keys = ON")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise CatalogError(
                        f"{self.path}: written by a newer soulsyncd (schema version {version}, this one "
                        f"knows up to {SCHEMA_VERSION}); upgrade soulsyncd or use another state.dir"
                    )
                self._tune(conn)
                self._migrate(version)
        except BaseException:
            conn.close()
            raise
        return conn

    def _tune(self, conn: sqlite3.Connection) -> None:
        if not self._memory:
            # WAL: the CLI can read while the daemon writes; NORMAL is durable enough in WAL
            # (a power cut loses at most the last transactions, never the file).
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")

    # --- the file under us --------------------------------------------------------------------------

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def _check_file(self) -> None:
        """Before every write: is the open file still the one at :attr:`path`? SQLite would go on
        writing into a removed file (the state dir deleted, the file replaced) and lose it all at
        close. Removed: recreated from the open connection (everything learned is kept). Replaced
        by another file: that file is used from now on (someone restored a backup). Logged once."""
        if self._memory:
            return
        identity = self._file_identity()
        if identity == self._identity:
            return
        self._identity = identity  # logged once, whichever way it goes
        # Copy what the open (removed or replaced) file holds into memory, then close it: closing
        # checkpoints its WAL into the old file and removes the -wal/-shm beside the path, which a
        # new connection at the path would otherwise read as its own.
        snapshot = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._conn.backup(snapshot)
        self._conn.close()
        self._conn = snapshot
        for suffix in ("-wal", "-shm"):  # SQLite leaves them when its file moved: they are the old one's
            with contextlib.suppress(OSError):
                os.unlink(self.path + suffix)
        if identity is None:
            self._recreate(snapshot)
            return
        try:
            self._connect()
        except CatalogError as exc:
            self._conn = snapshot
            log.error("catalog %s was replaced by a file that is not a usable catalog (%s); what was "
                      "open is kept in memory until the next start", self.path, exc)
            return
        snapshot.close()
        log.warning("catalog %s was replaced by another file while running; using that file now",
                    self.path)

    def _recreate(self, snapshot: sqlite3.Connection) -> None:
        try:
            self._create_file(set_aside_empty=False)
            new = sqlite3.connect(self.path, timeout=self._timeout_s, isolation_level=None,
                                  check_same_thread=False)
            try:
                snapshot.backup(new)
                new.execute("PRAGMA foreign_keys = ON")
                self._tune(new)
            except BaseException:
                new.close()
                raise
        except (OSError, sqlite3.Error, CatalogError) as exc:
            # The copy in memory goes on; writes stay there until the next start.
            log.error("catalog %s vanished while running and cannot be recreated (%s); what is learned "
                      "is kept in memory until the next start", self.path, exc)
            return
        snapshot.close()
        self._conn = new
        self._identity = self._file_identity()
        log.warning("catalog %s vanished while running (state dir removed?); recreated it from the "
                    "open copy, nothing learned is lost", self.path)

    # --- plumbing -----------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{self.path}: {_explain(exc)} (while trying to {doing})") from exc
        except sqlite3.Error as exc:
            raise CatalogError(f"{self.path}: {exc} (while trying to {doing})") from exc

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors(doing):
            self._check_file()
            # IMMEDIATE: take the write lock up front, so a busy file fails here (after the busy
            # timeout) rather than half-way through.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors(doing):
            yield self._conn

    def _migrate(self, version: int) -> None:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript runs statements one by one; the explicit transaction makes each step
            # all-or-nothing, version stamp included.
            script = f"BEGIN IMMEDIATE;\n{MIGRATIONS[target - 1]}\nPRAGMA user_version = {target};\nCOMMIT;"
            try:
                self._conn.executescript(script)
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        with self._reading("read the schema version") as conn:
            version: int = conn.execute("PRAGMA user_version").fetchone()[0]
            return version

    def close(self) -> None:
        """Close the file. The store can't be used afterwards; closing twice is harmless."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- tracks -------------------------------------------------------------------------------------

    def _track_params(self, track: CatalogTrack, source: str, now: float) -> tuple[object, ...]:
        valence = _finite_or_none(track.valence)
        energy = _finite_or_none(track.energy)
        complete = valence is not None and energy is not None
        feature_source = (track.feature_source or source) if complete else None
        return (
            track.uri,
            track.name,
            json.dumps(list(track.artists), ensure_ascii=False),
            float(track.duration_s) if track.duration_s and math.isfinite(track.duration_s) else 0.0,
            valence if complete else None,
            energy if complete else None,
            _finite_or_none(track.tempo),
            feature_source,
            source_rank(feature_source) if feature_source else 0,
            now,
            now,
        )

    def upsert_tracks(self, tracks: Iterable[CatalogTrack], *, source: str) -> int:
        """Add tracks, or update the ones already there, in one transaction.

        Name, artists and duration are updated when the incoming ones are given (non-empty,
        non-zero). Features (valence and energy, both needed; tempo rides along) are written only
        when at least as trusted as the stored ones (:func:`source_rank`): an imported CSV is never
        overwritten by a look-up service or a playlist's tag prior.

        Args:
            tracks: The tracks; a track's own ``feature_source`` wins over ``source``.
            source: Where these features came from, e.g. ``"csv:kaggle-2023"`` or ``"reccobeats"``.

        Returns:
            How many of them were new to the catalog.
        """
        now = self._now()
        rows = [self._track_params(track, source, now) for track in tracks]
        with self._transaction("add tracks") as conn:
            before: int = conn.execute("SELECT count(*) FROM tracks").fetchone()[0]
            conn.executemany(UPSERT_TRACK, rows)
            after: int = conn.execute("SELECT count(*) FROM tracks").fetchone()[0]
        return after - before

    @contextmanager
    def upserting(self, *, source: str) -> Iterator[Callable[[Iterable[CatalogTrack]], None]]:
        """Add or update tracks batch by batch inside one transaction (a large import).

        Yields a function that writes one batch with the same rules as :meth:`upsert_tracks`.
        Leaving the block normally commits every batch; an exception rolls all of them back, so
        the catalog has the whole import or none of it. The store's lock is held throughout.
        """
        with self._transaction("add tracks") as conn:
            now = self._now()

            def write(tracks: Iterable[CatalogTrack]) -> None:
                conn.executemany(UPSERT_TRACK, [self._track_params(t, source, now) for t in tracks])

            yield write

    def track(self, uri: str) -> CatalogTrack | None:
        """One track by uri, or None when it is not in the catalog."""
        with self._reading("read a track") as conn:
            row = conn.execute(f"SELECT {TRACK_COLUMNS} FROM tracks WHERE uri = ?", (uri,)).fetchone()
        return None if row is None else _track_from_row(row)

    def tracks(self, *, with_features: bool = True) -> list[CatalogTrack]:
        """Every track (only those with valence and energy when ``with_features``), in uri order."""
        where = f"WHERE {HAS_FEATURES}" if with_features else ""
        with self._reading("read the tracks") as conn:
            # Row by row, not fetchall(): the rows of a large catalog and its tracks never all at once.
            shared: dict[Any, Any] = {}
            rows = conn.execute(f"SELECT {TRACK_COLUMNS} FROM tracks {where} ORDER BY uri")
            return [_track_from_row(row, shared) for row in rows]

    def count(self) -> int:
        """How many tracks the catalog holds (with features or not)."""
        with self._reading("count the tracks") as conn:
            n: int = conn.execute("SELECT count(*) FROM tracks").fetchone()[0]
            return n

    # --- mood playlists -----------------------------------------------------------------------------

    def set_playlist(
        self,
        uri: str,
        *,
        name: str,
        tag: str | None,
        valence: float | None,
        energy: float | None,
        tracks: Sequence[CatalogTrack],
    ) -> None:
        """Store a mood playlist and replace its items (in the given order), adding its tracks.

        Tracks that come without features get the playlist's tag point (``valence``, ``energy``)
        as a prior, with source ``"playlist-tag:<tag>"``; it never replaces better features.
        """
        now = self._now()
        prior = f"playlist-tag:{tag or 'untagged'}"
        rows = []
        for given in tracks:
            track = given
            if not given.has_features and valence is not None and energy is not None:
                track = replace(given, valence=valence, energy=energy, feature_source=prior)
            rows.append(self._track_params(track, prior, now))
        with self._transaction("store a playlist") as conn:
            conn.executemany(UPSERT_TRACK, rows)
            conn.execute(
                "INSERT INTO playlists (uri, name, tag, valence, energy, refreshed_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (uri) DO UPDATE SET name = excluded.name, tag = excluded.tag,"
                " valence = excluded.valence, energy = excluded.energy, refreshed_at = excluded.refreshed_at",
                (uri, name, tag, valence, energy, now),
            )
            conn.execute("DELETE FROM playlist_items WHERE playlist_uri = ?", (uri,))
            conn.executemany(
                "INSERT INTO playlist_items (playlist_uri, position, track_uri) VALUES (?, ?, ?)",
                [(uri, position, track.uri) for position, track in enumerate(tracks)],
            )

    def playlists(self) -> list[PlaylistInfo]:
        """Every stored playlist, by name."""
        with self._reading("read the playlists") as conn:
            rows = conn.execute(
                "SELECT p.uri, p.name, p.tag, p.valence, p.energy,"
                " (SELECT count(*) FROM playlist_items i WHERE i.playlist_uri = p.uri), p.refreshed_at"
                " FROM playlists p ORDER BY p.name, p.uri"
            ).fetchall()
        return [PlaylistInfo(*row) for row in rows]

    def playlist_tracks(self, uri: str) -> list[CatalogTrack]:
        """A playlist's tracks in its own order (empty when the playlist is unknown)."""
        columns = ", ".join(f"t.{c.strip()}" for c in TRACK_COLUMNS.split(","))
        with self._reading("read a playlist") as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM playlist_items i JOIN tracks t ON t.uri = i.track_uri"
                " WHERE i.playlist_uri = ? ORDER BY i.position",
                (uri,),
            ).fetchall()
        return [_track_from_row(row) for row in rows]

    # --- plays and learned feedback -----------------------------------------------------------------

    def record_play(
        self,
        uri: str,
        *,
        context: str,
        listened_s: float,
        skipped: bool,
        valence_change: float | None,
        arousal_change: float | None,
        at: float,
        full: bool | None = None,
    ) -> None:
        """Record one play and add it to the track's feedback in ``context``.

        Args:
            uri: The track played.
            context: What the feedback is about, e.g. the listener's mood ("sad"); the engine decides.
            listened_s: How long it played.
            skipped: Whether the listener skipped it (the caller applies its own rule, e.g. < 30 s).
            valence_change: Change of the listener's smoothed valence while it played (None: not
                measured, e.g. nobody in view).
            arousal_change: The same for arousal.
            at: When it started, on the caller's clock (wall-clock seconds in the daemon, so
                "last H hours" survives restarts).
            full: Whether it was a full play; None: not skipped and at least
                :data:`FULL_PLAY_FRACTION` of the track's known duration (any length if unknown).
        """
        measured = valence_change is not None or arousal_change is not None
        dv = _finite_or_none(valence_change) or 0.0
        da = _finite_or_none(arousal_change) or 0.0
        with self._transaction("record a play") as conn:
            if full is None:
                row = conn.execute("SELECT duration_s FROM tracks WHERE uri = ?", (uri,)).fetchone()
                duration = row[0] if row else 0.0
                full = not skipped and (duration <= 0 or listened_s >= FULL_PLAY_FRACTION * duration)
            conn.execute(
                "INSERT INTO plays (uri, context, at, listened_s, skipped, full_play, valence_change,"
                " arousal_change) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (uri, context, at, listened_s, int(skipped), int(full), valence_change, arousal_change),
            )
            conn.execute(
                "INSERT INTO feedback (context, uri, plays, full_plays, skips, valence_change_sum,"
                " arousal_change_sum, affect_samples) VALUES (?, ?, 1, ?, ?, ?, ?, ?)"
                " ON CONFLICT (context, uri) DO UPDATE SET plays = plays + 1,"
                " full_plays = full_plays + excluded.full_plays, skips = skips + excluded.skips,"
                " valence_change_sum = valence_change_sum + excluded.valence_change_sum,"
                " arousal_change_sum = arousal_change_sum + excluded.arousal_change_sum,"
                " affect_samples = affect_samples + excluded.affect_samples",
                (context, uri, int(full), int(skipped), dv, da, int(measured)),
            )

    def feedback(self, context: str) -> dict[str, Feedback]:
        """Every track's feedback in ``context``, by uri (tracks never played there are absent)."""
        with self._reading("read feedback") as conn:
            rows = conn.execute(
                "SELECT uri, plays, full_plays, skips, valence_change_sum, arousal_change_sum, affect_samples"
                " FROM feedback WHERE context = ?",
                (context,),
            ).fetchall()
        return {row[0]: Feedback(*row[1:]) for row in rows}

    def contexts(self) -> list[str]:
        """Every context that has feedback, sorted."""
        with self._reading("read contexts") as conn:
            rows = conn.execute("SELECT DISTINCT context FROM feedback ORDER BY context").fetchall()
        return [row[0] for row in rows]

    def recent_plays(self, limit: int) -> list[PlayRecord]:
        """The last ``limit`` plays, newest first, with each track's artists (empty if unknown)."""
        with self._reading("read recent plays") as conn:
            rows = conn.execute(
                "SELECT p.uri, coalesce(t.artists, '[]'), p.context, p.at, p.listened_s, p.skipped"
                " FROM plays p LEFT JOIN tracks t ON t.uri = p.uri ORDER BY p.at DESC, p.id DESC LIMIT ?",
                (max(0, limit),),
            ).fetchall()
        return [
            PlayRecord(uri=r[0], artists=tuple(json.loads(r[1])), context=r[2], at=r[3], listened_s=r[4],
                       skipped=bool(r[5]))
            for r in rows
        ]

    # --- the feature look-up's memory ---------------------------------------------------------------

    def ids_to_enrich(self, *, service: str, limit: int | None = None) -> list[str]:
        """Spotify ids of tracks a look-up ``service`` could improve and was never asked about:
        no features, or features less trusted than the service's (e.g. only a playlist's tag)."""
        rank = source_rank(service)
        sql = (
            "SELECT uri FROM tracks WHERE (valence IS NULL OR energy IS NULL OR feature_rank < ?)"
            " AND substr(uri, ?) NOT IN (SELECT track_id FROM enrich_asked WHERE service = ?)"
            " AND uri LIKE ? ORDER BY uri"
        )
        params: list[object] = [rank, len(TRACK_URI_PREFIX) + 1, service, TRACK_URI_PREFIX + "%"]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading("find tracks to look up") as conn:
            rows = conn.execute(sql, params).fetchall()
        return [row[0][len(TRACK_URI_PREFIX):] for row in rows]

    def mark_enrich_asked(self, track_ids: Iterable[str], *, service: str, found: Iterable[str]) -> None:
        """Remember that ``service`` was asked about these ids (and which it knew), so each is asked once."""
        known = set(found)
        now = self._now()
        with self._transaction("remember looked-up ids") as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO enrich_asked (track_id, service, asked_at, found)"
                " VALUES (?, ?, ?, ?)",
                [(track_id, service, now, int(track_id in known)) for track_id in track_ids],
            )

    # --- summary ------------------------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        """A summary for ``soulsyncd library stats`` (JSON-ready): tracks, features by source,
        playlists, plays and skips, and per context what was learned."""
        with self._reading("summarise the catalog") as conn:
            tracks = conn.execute("SELECT count(*) FROM tracks").fetchone()[0]
            by_source = dict(
                conn.execute(
                    f"SELECT feature_source, count(*) FROM tracks WHERE {HAS_FEATURES}"
                    " GROUP BY feature_source ORDER BY count(*) DESC, feature_source"
                ).fetchall()
            )
            plays, skips = conn.execute("SELECT count(*), coalesce(sum(skipped), 0) FROM plays").fetchone()
            contexts = {
                row[0]: {"tracks": row[1], "plays": row[2], "full_plays": row[3], "skips": row[4],
                         "affect_samples": row[5]}
                for row in conn.execute(
                    "SELECT context, count(*), sum(plays), sum(full_plays), sum(skips), sum(affect_samples)"
                    " FROM feedback GROUP BY context ORDER BY context"
                )
            }
            playlists = conn.execute("SELECT count(*) FROM playlists").fetchone()[0]
            asked, found = conn.execute(
                "SELECT count(*), coalesce(sum(found), 0) FROM enrich_asked"
            ).fetchone()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        with_features = sum(by_source.values())
        return {
            "path": self.path,
            "schema_version": version,
            "tracks": tracks,
            "with_features": with_features,
            "without_features": tracks - with_features,
            "features_by_source": by_source,
            "playlists": playlists,
            "plays": plays,
            "skips": skips,
            "contexts": contexts,
            "enrich_asked": asked,
            "enrich_found": found,
        }


def _explain(exc: sqlite3.Error) -> str:
    """A plain-words reason for the common ways a catalog file goes wrong."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"not a usable SQLite database, corrupt or not a catalog ({text}); move it away to start anew"
    if "locked" in text or "busy" in text:
        return f"locked by another process ({text}); is another soulsyncd using the same state.dir?"
    if "readonly" in text or "read-only" in text:
        return f"read-only ({text}); check the state directory's permissions"
    return text
