"""The timeline's memory: mood samples and tracks in SQLite in the state directory, bounded by days.

Only numbers and words are kept (mood, confidence, valence, arousal, paused, camera status, track
titles and why they were chosen), never an image. ``days=0`` keeps nothing on disk: the page's plot
then shows what this run saw (in memory, the last :data:`MEMORY_KEEP_S`). Used from the web server's
own thread only.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "web-history.sqlite"
SAMPLE_S = 10.0  # a sample at least this often while running ...
MIN_GAP_S = 1.0  # ... and at most one a second, however many events arrive
MEMORY_KEEP_S = 24 * 3600.0  # what an in-memory history (days 0) keeps
PRUNE_EVERY_S = 3600.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (t REAL NOT NULL, mood TEXT NOT NULL, confidence REAL, valence REAL,
    arousal REAL, paused INTEGER NOT NULL, camera TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS samples_t ON samples (t);
CREATE TABLE IF NOT EXISTS tracks (t REAL NOT NULL, title TEXT NOT NULL, artists TEXT NOT NULL,
    why TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tracks_t ON tracks (t);
"""


@dataclass(frozen=True)
class Sample:
    """The mood and the controls at wall-clock time ``t`` (epoch seconds)."""

    t: float
    mood: str  # a mood label, "absent", or "unknown" before the first analysed frame
    confidence: float | None
    valence: float | None
    arousal: float | None
    paused: bool
    camera: str  # CameraStatus value


@dataclass(frozen=True)
class TrackMark:
    t: float
    title: str
    artists: str
    why: str


class History:
    """Append samples and tracks; read a time range; drop what is older than the kept days."""

    def __init__(self, state_dir: Path | None, days: int) -> None:
        self.keep_s = days * 86400.0 if days > 0 else MEMORY_KEEP_S
        self.path: Path | None = None
        if days > 0 and state_dir is not None:
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
                self.path = state_dir / FILE_NAME
            except OSError as exc:
                log.warning("web: cannot use %s for the timeline's history (%s); keeping it in memory",
                            state_dir, exc)
        self._db = self._open()
        self._identity = self._file_identity()
        self._last_sample_t = float("-inf")
        self._last_track: tuple[str, str] | None = None
        self._pruned_at = float("-inf")
        self._dirty = False

    def _open(self) -> sqlite3.Connection:
        if self.path is not None:
            try:
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                return db
            except sqlite3.Error as exc:
                log.warning("web: cannot open %s (%s); keeping the timeline in memory", self.path, exc)
                self.path = None
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        db.executescript(_SCHEMA)
        return db

    def due(self, now: float) -> bool:
        """A periodic sample is due (nothing recorded for :data:`SAMPLE_S`)."""
        return now - self._last_sample_t >= SAMPLE_S

    def add_sample(self, sample: Sample) -> bool:
        """Record ``sample`` unless one was recorded less than :data:`MIN_GAP_S` ago."""
        if sample.t - self._last_sample_t < MIN_GAP_S:
            return False
        self._last_sample_t = sample.t
        self._execute("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (sample.t, sample.mood, sample.confidence, sample.valence, sample.arousal,
                       int(sample.paused), sample.camera))
        self._prune(sample.t)
        return True

    def add_track(self, mark: TrackMark) -> bool:
        """Record a track that started (the same title and artists again in a row is one track)."""
        if self._last_track == (mark.title, mark.artists):
            return False
        self._last_track = (mark.title, mark.artists)
        self._execute("INSERT INTO tracks VALUES (?, ?, ?, ?)", (mark.t, mark.title[:200], mark.artists[:200],
                                                                  mark.why[:200]))
        return True

    def samples(self, start: float, end: float) -> list[Sample]:
        rows = self._query("SELECT t, mood, confidence, valence, arousal, paused, camera FROM samples "
                           "WHERE t >= ? AND t <= ? ORDER BY t", (start, end))
        return [Sample(t, m, c, v, a, bool(p), cam) for t, m, c, v, a, p, cam in rows]

    def tracks(self, start: float, end: float) -> list[TrackMark]:
        rows = self._query("SELECT t, title, artists, why FROM tracks WHERE t >= ? AND t <= ? ORDER BY t",
                           (start, end))
        return [TrackMark(t, title, artists, why) for t, title, artists, why in rows]

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def _prune(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        cutoff = now - self.keep_s
        self._execute("DELETE FROM samples WHERE t < ?", (cutoff,))
        self._execute("DELETE FROM tracks WHERE t < ?", (cutoff,))

    def _file_identity(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def _check_file(self) -> None:
        """The file removed or replaced under us (the state dir deleted): carry what the open one holds
        into a new file at the path, logged once, as the catalog does."""
        if self.path is None or self._file_identity() == self._identity:
            return
        snapshot = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        try:
            self._db.backup(snapshot)
            self._db.close()
            for suffix in ("-wal", "-shm"):  # the old file's, if SQLite left them beside the path
                with contextlib.suppress(OSError):
                    Path(f"{self.path}{suffix}").unlink()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open()
            snapshot.backup(self._db)
            log.warning("web: the timeline's history %s vanished while running; recreated it, nothing "
                        "lost", self.path)
        except (OSError, sqlite3.Error) as exc:
            log.warning("web: the timeline's history %s vanished and cannot be recreated (%s); keeping "
                        "it in memory", self.path, exc)
            self._db, snapshot = snapshot, self._db
            self.path = None
        finally:
            with contextlib.suppress(sqlite3.Error):
                snapshot.close()
        self._identity = self._file_identity()

    def _execute(self, sql: str, values: tuple[object, ...]) -> None:
        try:
            self._check_file()
            self._db.execute(sql, values)
        except sqlite3.Error as exc:  # a full disk must not take the page down: the plot has a gap
            log.warning("web: history write failed: %s", exc)

    def _query(self, sql: str, values: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return list(self._db.execute(sql, values))
        except sqlite3.Error as exc:
            log.warning("web: history read failed: %s", exc)
            return []
