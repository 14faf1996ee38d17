"""Building the mood engine from the config and the catalog: the one path ``run`` and ``simulate`` share.

``soulsyncd run`` (``soulsyncd.app``) and ``soulsyncd simulate`` both call :func:`build_engine`, so
the simulation exercises the very engine the daemon plays with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from soulsyncd.catalog.store import CatalogError, CatalogStore, CatalogTrack, catalog_path
from soulsyncd.interfaces import Clock
from soulsyncd.mood.engine import EngineSettings, MoodEngine, MoodNow, MoodPlaylist
from soulsyncd.mood.learning import Weights
from soulsyncd.mood.shift import ShiftSettings
from soulsyncd.mood.targets import merged_points

if TYPE_CHECKING:
    from soulsyncd.mood.settings import EngineConfig, PolicyConfig
    from soulsyncd.settings import StateSection
    from soulsyncd.types import Mood


class MoodSections(Protocol):
    """What the mood area reads of the daemon's config (:class:`soulsyncd.config.Config` is one)."""

    @property
    def engine(self) -> EngineConfig: ...

    @property
    def policy(self) -> PolicyConfig: ...

    @property
    def state(self) -> StateSection: ...


class WithMood(Protocol):
    """A state snapshot with the smoothed mood (the core's ``DaemonState`` is one)."""

    @property
    def mood(self) -> Mood | None: ...

log = logging.getLogger(__name__)


class WallClock:
    """Wall-clock (epoch) seconds behind the :class:`~soulsyncd.interfaces.Clock` protocol: the
    engine stamps plays with it, so "not in the last H hours" holds across restarts."""

    def monotonic(self) -> float:
        return time.time()


def engine_settings(config: MoodSections) -> EngineSettings:
    """The engine's rules from the ``engine`` and ``policy`` sections."""
    engine, step = config.engine, config.policy.step
    max_lead = 2 * step if engine.max_lead is None else max(engine.max_lead, step)
    weights = engine.weights
    return EngineSettings(
        recent_tracks=engine.recent_tracks,
        recent_hours=engine.recent_hours,
        max_per_artist=engine.max_per_artist,
        artist_window=engine.artist_window,
        radius=engine.radius,
        max_distance=engine.max_distance,
        skip_window_s=engine.skip_window_s,
        ban_after_skips=engine.ban_after_skips,
        weights=Weights(distance=weights.distance, feedback=weights.feedback, affect=weights.affect,
                        novelty=weights.novelty),
        shift=ShiftSettings(step=step, max_lead=max_lead, follow_radius=engine.follow_radius,
                            holds_before_back=engine.holds_before_back),
        restart_after_s=engine.restart_after_s,
        points=merged_points(engine.emotion_points),
    )


def latest_mood(read_state: Callable[[], WithMood | None]) -> MoodNow:
    """``mood_now`` for the engine from the core's latest snapshot: the smoothed (valence, arousal),
    or None before the first mood and while nobody is there."""

    def mood_now() -> tuple[float, float] | None:
        state = read_state()
        mood = None if state is None else state.mood
        if mood is None or mood.absent:
            return None
        return (mood.valence, mood.arousal)

    return mood_now


def open_catalog(config: MoodSections) -> CatalogStore | None:
    """The catalog at ``<state.dir>/catalog.sqlite3``, with ``engine.import_csv`` imported into it
    when it holds no tracks. None (logged, naming the file) when it can't be opened: the daemon
    then plays without a catalog (mood playlists and dry-run decisions)."""
    try:
        store = CatalogStore(catalog_path(config))
    except CatalogError as exc:
        log.error("mood engine: %s; choosing without a catalog", exc)
        return None
    csv_path = config.engine.import_csv
    if csv_path is not None:
        try:
            if store.count() == 0:
                from soulsyncd.catalog.importer import CsvImportError, import_csv

                try:
                    report = import_csv(csv_path, store)
                except CsvImportError as exc:
                    log.error("mood engine: engine.import_csv: %s", exc)
                else:
                    log.info("mood engine: imported %d tracks from %s (%d rows rejected)",
                             report.imported, csv_path, report.rejected_count)
        except CatalogError as exc:
            log.error("mood engine: importing %s: %s", csv_path, exc)
    return store


def read_catalog(store: CatalogStore | None) -> tuple[list[CatalogTrack], list[MoodPlaylist]]:
    """The tracks with features and the tagged playlists, as far as they can be read (a failure is
    logged and counts as empty: the engine works from what it could read)."""
    if store is None:
        return [], []
    try:
        tracks = store.tracks(with_features=True)
    except CatalogError as exc:
        log.error("mood engine: %s; choosing from the mood playlists only", exc)
        tracks = []
    playlists: list[MoodPlaylist] = []
    try:
        for info in store.playlists():
            if info.valence is None or info.energy is None:
                continue
            playlists.append(MoodPlaylist(name=info.name, tag=info.tag, point=(info.valence, info.energy),
                                          tracks=tuple(store.playlist_tracks(info.uri))))
    except CatalogError as exc:
        log.error("mood engine: %s; no mood playlists to fall back to", exc)
    return tracks, playlists


def build_engine(
    config: MoodSections, *, store: CatalogStore | None, mood_now: MoodNow, clock: Clock | None = None
) -> MoodEngine:
    """The mood engine for ``config`` over ``store`` (which also keeps what it learns).

    Args:
        config: the daemon's configuration (``engine`` and ``policy.step``).
        store: the catalog (None: none could be opened; the engine then returns None for every pick).
        mood_now: the listener's latest smoothed (valence, arousal) (see :func:`latest_mood`).
        clock: wall-clock seconds (default :class:`WallClock`; ``simulate`` passes a manual clock).
    """
    tracks, playlists = read_catalog(store)
    engine = MoodEngine(tracks, clock=clock or WallClock(), mood_now=mood_now, feedback=store,
                        settings=engine_settings(config), playlists=playlists)
    # At DEBUG: the daemon's start line says how big the catalog is.
    log.debug("mood engine: %d tracks with features, %d mood playlists", engine.catalog_size, len(playlists))
    return engine


def refresh(engine: MoodEngine, store: CatalogStore | None) -> None:
    """Re-read the catalog into a running engine (after the mood playlists were synced into it)."""
    tracks, playlists = read_catalog(store)
    engine.reload(tracks, playlists)
    log.info("mood engine: reloaded %d tracks with features, %d mood playlists", engine.catalog_size,
             len(playlists))
