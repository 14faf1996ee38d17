"""The mood engine: chooses concrete tracks at track boundaries (the player's TrackPicker).

**Match** plays the track nearest the mood's point (:mod:`soulsyncd.mood.targets`), inside the
mood's region (``radius``) whenever the catalog has an eligible track there. **Shift** plays toward
a target one waypoint per track (:mod:`soulsyncd.mood.shift`), re-planned at every pick from the
listener's latest smoothed mood. Either way a track is eligible only if it was not played in the
last ``recent_tracks`` picks nor in the last ``recent_hours``, its artists have had fewer than
``max_per_artist`` of the last ``artist_window - 1`` picks, it was not skipped early twice in this
context, and (shift) it is within ``step`` of the previous track; among the eligible tracks in the
region the lowest cost wins (distance blended with what was learned: :mod:`soulsyncd.mood.learning`).

When nothing eligible is near enough, the rules relax one at a time (the step bound, then the
artist rule, then recency, never a ban), then the mood playlist nearest the point is played in its
own order, then :meth:`MoodEngine.pick` returns None (the player logs a dry-run decision). It never
raises for bad data: a catalog that can't be read counts as empty, a feedback store that fails is
logged and the engine goes on learning in memory.

Thread-safe (one lock; the player calls it from its own thread). Pure apart from the injected clock
(wall-clock seconds in the daemon, so "last H hours" survives restarts), ``mood_now`` and the
feedback store. Choosing costs one vectorised distance over the catalog plus a few candidates:
about a millisecond on 100,000 tracks (``tools/engine_bench.py``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from soulsyncd.catalog.store import CatalogTrack, Feedback
from soulsyncd.interfaces import Clock
from soulsyncd.mood import learning, shift
from soulsyncd.mood.learning import FeedbackStore, Weights
from soulsyncd.mood.targets import DEFAULT_POINTS, Point, distance, mood_to_music, resolve
from soulsyncd.types import PlayIntent, ShiftProgress, Track

log = logging.getLogger(__name__)

MoodNow = Callable[[], tuple[float, float] | None]
"""The listener's latest smoothed (valence, arousal) on the circumplex, or None (nobody there)."""

_POOL_MIN = 8  # nearest eligible tracks always scored; learned ones in the region are added
_PENDING_MAX = 64


@dataclass(frozen=True)
class EngineSettings:
    """The engine's rules and weights (from the ``engine`` and ``policy`` config sections)."""

    recent_tracks: int = 50
    recent_hours: float = 3.0
    max_per_artist: int = 2
    artist_window: int = 10
    radius: float = 0.15
    max_distance: float = 0.35
    skip_window_s: float = 30.0
    ban_after_skips: int = 2
    weights: Weights = field(default_factory=Weights)
    shift: shift.ShiftSettings = field(default_factory=shift.ShiftSettings)
    restart_after_s: float = 900.0
    points: Mapping[str, Point] = field(default_factory=lambda: dict(DEFAULT_POINTS))


@dataclass(frozen=True)
class MoodPlaylist:
    """A mood-tagged playlist the engine falls back to, in its own order."""

    name: str
    tag: str | None
    point: Point
    tracks: tuple[CatalogTrack, ...]


@dataclass(frozen=True)
class Choice:
    """One pick, as the engine saw it (for the log, ``simulate`` and tests)."""

    track: Track | None
    mode: str
    context: str
    wanted: Point  # the point the track was chosen for (the mood's point or the shift's waypoint)
    listener: Point | None  # the listener's point at the pick (music space), when known
    plan: shift.ShiftPlan | None
    source: str  # "catalog", "relaxed:<rule>", "playlist:<name>" or "none"
    description: str
    choice_ms: float


class TrackIndex:
    """The tracks with features as numpy arrays, so one choice is one vectorised distance."""

    def __init__(self, tracks: Iterable[CatalogTrack]) -> None:
        kept: list[CatalogTrack] = []
        seen: set[str] = set()
        for track in tracks:
            if track.valence is None or track.energy is None or track.uri in seen:
                continue
            if not (math.isfinite(track.valence) and math.isfinite(track.energy)):
                continue
            seen.add(track.uri)
            kept.append(track)
        self.tracks: tuple[CatalogTrack, ...] = tuple(kept)
        self.valence = np.array([t.valence for t in kept], dtype=np.float64)
        self.energy = np.array([t.energy for t in kept], dtype=np.float64)
        self.position: dict[str, int] = {t.uri: i for i, t in enumerate(kept)}
        # One frozenset per distinct artists tuple (the store shares the tuples), not one per track.
        keys: dict[tuple[str, ...], frozenset[str]] = {}
        self.artists: tuple[frozenset[str], ...] = tuple(
            keys[t.artists] if t.artists in keys else keys.setdefault(t.artists, _artist_keys(t.artists))
            for t in kept
        )

    def __len__(self) -> int:
        return len(self.tracks)

    def point(self, i: int) -> Point:
        return (float(self.valence[i]), float(self.energy[i]))

    def squared_distances(self, point: Point) -> np.ndarray:
        """Squared distance of every track to ``point`` (a fresh array; squares spare the root,
        which is slow in numpy on some machines)."""
        dv = self.valence - point[0]
        de = self.energy - point[1]
        dv *= dv
        de *= de
        dv += de
        return dv


def _artist_keys(artists: Iterable[str]) -> frozenset[str]:
    return frozenset(a.strip().casefold() for a in artists if a.strip())


def _nearest(d2: np.ndarray, radius: float) -> Iterator[int]:
    """Indices by increasing squared distance ``d2`` (ties by index), those within ``radius`` first
    (the usual case: the rest is never looked at), stopping at the first infinite one."""
    limit = radius * radius + shift.EPSILON
    inside = d2 <= limit
    yield from _by_distance(d2, np.flatnonzero(inside))
    yield from _by_distance(d2, np.flatnonzero(~inside & np.isfinite(d2)))


def _by_distance(d2: np.ndarray, candidates: np.ndarray) -> Iterator[int]:
    values = d2[candidates]
    n = len(values)
    k, start = min(64, n), 0
    while start < n:
        if k < n:
            # Every candidate up to the k-th smallest distance, ties included: a prefix of the whole
            # order by (distance, index), so a tie across two rounds is neither repeated nor skipped.
            bound = np.partition(values, k - 1)[k - 1]
            part = np.flatnonzero(values <= bound)
        else:
            part = np.arange(n)
        part = part[np.lexsort((candidates[part], values[part]))]
        for j in part[start:]:
            yield int(candidates[j])
        start, k = len(part), min(n, max(k * 4, len(part) + 1))


@dataclass
class _Pending:
    context: str
    mood: tuple[float, float] | None
    at: float
    duration_s: float


class MoodEngine:
    """Chooses the next track for a play intent; learns from how each one ended.

    Implements :class:`soulsyncd.interfaces.TrackPicker`.

    Args:
        tracks: the catalog (tracks without valence and energy are ignored).
        clock: seconds for the recency rules and play stamps; wall-clock (epoch) in the daemon.
        mood_now: the listener's latest smoothed (valence, arousal), read at every pick and end.
        feedback: where plays are recorded and learned feedback read (the catalog); None: in memory
            only.
        settings: rules and weights.
        playlists: mood playlists to fall back to when the catalog has nothing near a point.
    """

    def __init__(
        self,
        tracks: Iterable[CatalogTrack],
        *,
        clock: Clock,
        mood_now: MoodNow,
        feedback: FeedbackStore | None = None,
        settings: EngineSettings | None = None,
        playlists: Sequence[MoodPlaylist] = (),
    ) -> None:
        self.settings = settings or EngineSettings()
        self._clock = clock
        self._mood_now = mood_now
        self._store = feedback
        self._lock = threading.RLock()
        self._index = TrackIndex(tracks)
        self._playlists = tuple(p for p in playlists if p.tracks)
        self._playlist_cursor: dict[str, int] = {}
        self._recent: deque[str] = deque(maxlen=max(0, self.settings.recent_tracks))
        self._played_at: dict[str, float] = {}
        self._recent_artists: deque[frozenset[str]] = deque(maxlen=max(0, self.settings.artist_window - 1))
        self._feedback: dict[str, dict[str, Feedback]] = {}
        self._pending: dict[str, _Pending] = {}
        self._plan: shift.ShiftPlan | None = None
        self._shift_key: str | None = None
        self._last_pick_at: float | None = None
        self._last_point: Point | None = None
        self._last_choice: Choice | None = None
        self._store_failed = False
        self._seed_recent()

    # --- the TrackPicker protocol -------------------------------------------------------------------

    def pick(self, intent: PlayIntent) -> Track | None:
        """The next track for ``intent`` (see the module doc), or None when there is nothing at all."""
        with self._lock:
            started = time.perf_counter()
            if intent.action != "play":
                return None
            now = self._clock.monotonic()
            mood = self._read_mood()
            listener = mood_to_music(*mood) if mood is not None else (intent.valence, intent.energy)
            plan: shift.ShiftPlan | None = None
            step_from: Point | None = None
            target_point = self._shift_target(intent)
            if target_point is not None and intent.target is not None:
                plan, step_from = self._replan(intent.target, target_point, listener, now,
                                               known=mood is not None)
                wanted, context = plan.waypoint, f"shift:{intent.target}"
                direction = learning.unit((target_point[0] - listener[0], target_point[1] - listener[1]))
                radius = min(self.settings.radius, self.settings.shift.step / 2)
                mode = "shift"
            else:
                self._plan, self._shift_key = None, None
                label = intent.emotion or "point"
                wanted = self.settings.points.get(label, (intent.valence, intent.energy))
                context, direction, radius, mode = f"match:{label}", (1.0, 0.0), self.settings.radius, "match"
            index, source = self._choose(wanted, context, radius=radius, direction=direction,
                                         step_from=step_from, now=now)
            chosen: CatalogTrack | None
            if index is not None:
                chosen = self._index.tracks[index]
                self._last_point = self._index.point(index)
            else:
                chosen, source = self._from_playlist(wanted, context)
                self._last_point = None
            track = None if chosen is None else chosen.to_track()
            description = self._describe(plan, context, wanted=wanted, source=source, track=track)
            if chosen is not None:
                self._remember(chosen, context, mood, now)
            else:
                log.warning("mood engine: %s", description)
            self._last_pick_at = now
            self._last_choice = Choice(
                track=track, mode=mode, context=context, wanted=wanted,
                listener=listener, plan=plan, source=source, description=description,
                choice_ms=(time.perf_counter() - started) * 1000.0,
            )
            return track

    def finished(self, track: Track, listened_s: float, skipped: bool) -> None:
        """Learn from how ``track`` ended: an early skip against it, a full play for it, and the
        listener's mood change over it; recorded in the feedback store (and in memory)."""
        with self._lock:
            pending = self._pending.pop(track.uri, None)
            if pending is None:
                return  # not one of ours (or already reported)
            result = learning.outcome(
                listened_s, skipped, duration_s=pending.duration_s or track.duration_s,
                skip_window_s=self.settings.skip_window_s, mood_start=pending.mood,
                mood_end=self._read_mood(),
            )
            cache = self._feedback_for(pending.context)
            cache[track.uri] = learning.add(cache.get(track.uri), result)
            if self._store is None:
                return
            try:
                self._store.record_play(
                    track.uri, context=pending.context, listened_s=listened_s, skipped=result.early_skip,
                    valence_change=result.valence_change, arousal_change=result.arousal_change,
                    at=pending.at, full=result.full,
                )
            except Exception as exc:  # learning in memory goes on; the music must not stop
                self._store_trouble("record a play", exc)

    # --- what the core and the player show ----------------------------------------------------------

    def shift_progress(self) -> ShiftProgress | None:
        """Where the shift stands after the last pick (None when not shifting)."""
        with self._lock:
            plan = self._plan
            if plan is None:
                return None
            return ShiftProgress(target=plan.target_name, step=plan.step, steps=plan.steps)

    def describe_last_choice(self) -> str:
        """A short phrase about the last pick, e.g. "shift step 2 of 5 toward happy"."""
        with self._lock:
            return self._last_choice.description if self._last_choice else "nothing chosen yet"

    def last_choice(self) -> Choice | None:
        """The last pick with its reasons (None before the first)."""
        with self._lock:
            return self._last_choice

    def reload(self, tracks: Iterable[CatalogTrack], playlists: Sequence[MoodPlaylist] = ()) -> None:
        """Choose from these tracks and playlists from the next pick on (e.g. after the mood
        playlists were synced into the catalog); what was played and learned is kept."""
        index = TrackIndex(tracks)
        kept = tuple(p for p in playlists if p.tracks)
        with self._lock:
            self._index, self._playlists = index, kept

    def region_size(self, point: Point) -> int:
        """How many tracks lie in the region (``radius``) around ``point``."""
        with self._lock:
            d2 = self._index.squared_distances(point)
            return int(np.count_nonzero(d2 <= self.settings.radius**2 + shift.EPSILON))

    @property
    def catalog_size(self) -> int:
        """How many tracks with features the engine chooses from."""
        return len(self._index)

    # --- internals ----------------------------------------------------------------------------------

    def _read_mood(self) -> tuple[float, float] | None:
        try:
            return self._mood_now()
        except Exception:  # a broken mood source means "unknown", not a dead player
            log.exception("mood engine: reading the listener's mood failed")
            return None

    def _shift_target(self, intent: PlayIntent) -> Point | None:
        if intent.mode != "shift" or not intent.target:
            return None
        try:
            return resolve(intent.target, self.settings.points)
        except ValueError as exc:
            log.warning("mood engine: %s; matching instead", exc)
            return None

    def _replan(
        self, name: str, target: Point, listener: Point, now: float, *, known: bool = True
    ) -> tuple[shift.ShiftPlan, Point | None]:
        settings = self.settings.shift
        stale = self._last_pick_at is None or now - self._last_pick_at > self.settings.restart_after_s
        if self._plan is None or self._shift_key != name or stale:
            self._plan, self._shift_key = shift.start(listener, name, target, settings), name
            return self._plan, None
        if not known:
            # The mood is unknown (camera off): nobody can say whether the listener followed, so the
            # shift waits at its waypoint rather than stepping on the last mood seen.
            self._plan = shift.wait(self._plan)
            return self._plan, self._last_point
        self._plan = shift.replan(self._plan, listener, settings, heard=self._last_point)
        if self._plan.action == "skip ahead":
            # The listener is already past the music: the next track is one step from *them*.
            return self._plan, listener
        return self._plan, self._last_point

    def _choose(
        self, wanted: Point, context: str, *, radius: float, direction: Point, step_from: Point | None,
        now: float,
    ) -> tuple[int | None, str]:
        if len(self._index) == 0:
            return None, "none"
        feedback = self._feedback_for(context)
        d2 = self._index.squared_distances(wanted)
        banned = [self._index.position[uri] for uri, fb in feedback.items()
                  if fb.skips >= self.settings.ban_after_skips and uri in self._index.position]
        if banned:
            d2[banned] = np.inf
        fresh = d2.copy()
        recent = self._recent_indices(now)
        if recent:
            fresh[recent] = np.inf
        attempts: tuple[tuple[str, np.ndarray, bool, Point | None], ...] = (
            ("catalog", fresh, True, step_from),
            ("relaxed:step", fresh, True, None),
            ("relaxed:artist", fresh, False, None),
            ("relaxed:recency", d2, False, None),
        )
        for source, distances, artist_rule, near in attempts:
            if source == "relaxed:step" and step_from is None:
                continue
            index = self._best(distances, feedback, radius=radius, direction=direction,
                               artist_rule=artist_rule, near=near)
            if index is not None:
                if source != "catalog":
                    log.info("mood engine: nothing eligible near %s in %s, %s", _fmt(wanted), context, source)
                return index, source
        return None, "none"

    def _best(
        self, d2: np.ndarray, feedback: Mapping[str, Feedback], *, radius: float, direction: Point,
        artist_rule: bool, near: Point | None,
    ) -> int | None:
        capped = self._capped_artists() if artist_rule else frozenset()
        step = self.settings.shift.step + shift.EPSILON

        def eligible(i: int) -> bool:
            if capped and not capped.isdisjoint(self._index.artists[i]):
                return False
            return near is None or distance(self._index.point(i), near) <= step

        pool: list[int] = []
        unlearned = False
        inside = radius * radius + shift.EPSILON
        for i in _nearest(d2, radius):
            if d2[i] > inside:
                if pool:
                    break
                if d2[i] > self.settings.max_distance**2 + shift.EPSILON:
                    return None  # the catalog has nothing for this point
                if eligible(i):
                    return i  # the region is empty: the nearest eligible track beyond it
                continue
            if not eligible(i):
                continue
            pool.append(i)
            unlearned = unlearned or self._index.tracks[i].uri not in feedback
            if len(pool) >= _POOL_MIN and unlearned:
                break
        if not pool:
            return None
        chosen = set(pool)
        for uri in feedback:
            learned = self._index.position.get(uri)
            if learned is not None and learned not in chosen and d2[learned] <= inside and eligible(learned):
                pool.append(learned)
        weights = self.settings.weights
        typical = learning.baseline(feedback.values())

        def cost(i: int) -> tuple[float, int]:
            learned = feedback.get(self._index.tracks[i].uri)
            return (learning.cost(math.sqrt(d2[i]), learned, direction, weights, typical), i)

        return min(pool, key=cost)

    def _capped_artists(self) -> frozenset[str]:
        counts: dict[str, int] = {}
        for artists in self._recent_artists:
            for artist in artists:
                counts[artist] = counts.get(artist, 0) + 1
        return frozenset(a for a, n in counts.items() if n >= self.settings.max_per_artist)

    def _recent_indices(self, now: float) -> list[int]:
        horizon = now - self.settings.recent_hours * 3600.0
        uris = set(self._recent)
        uris.update(uri for uri, at in self._played_at.items() if at > horizon)
        return [self._index.position[uri] for uri in uris if uri in self._index.position]

    def _from_playlist(self, wanted: Point, context: str) -> tuple[CatalogTrack | None, str]:
        if not self._playlists:
            return None, "none"
        playlist = min(self._playlists, key=lambda p: distance(p.point, wanted))
        feedback = self._feedback_for(context)
        recent = set(self._recent)
        tracks = playlist.tracks
        cursor = self._playlist_cursor.get(playlist.name, 0)
        order = [(cursor + k) % len(tracks) for k in range(len(tracks))]
        usable = [j for j in order
                  if (fb := feedback.get(tracks[j].uri)) is None or fb.skips < self.settings.ban_after_skips]
        if not usable:
            return None, "none"
        j = next((j for j in usable if tracks[j].uri not in recent), usable[0])
        self._playlist_cursor[playlist.name] = j + 1
        return tracks[j], f"playlist:{playlist.name}"

    def _remember(
        self, track: CatalogTrack, context: str, mood: tuple[float, float] | None, now: float
    ) -> None:
        self._recent.append(track.uri)
        self._played_at[track.uri] = now
        self._recent_artists.append(_artist_keys(track.artists))
        if len(self._played_at) > 4 * max(self.settings.recent_tracks, 256):
            horizon = now - self.settings.recent_hours * 3600.0
            self._played_at = {u: t for u, t in self._played_at.items() if t > horizon}
        self._pending[track.uri] = _Pending(context, mood, now, track.duration_s)
        while len(self._pending) > _PENDING_MAX:
            self._pending.pop(next(iter(self._pending)))

    def _seed_recent(self) -> None:
        """Recent plays from the store, so a restart neither repeats them nor forgets the artists."""
        if self._store is None:
            return
        try:
            limit = max(self.settings.recent_tracks, self.settings.artist_window, 500)
            plays = self._store.recent_plays(limit)
        except Exception as exc:
            self._store_trouble("read recent plays", exc)
            return
        for play in reversed(plays):  # oldest first, so the newest end up last
            self._played_at[play.uri] = max(play.at, self._played_at.get(play.uri, play.at))
        for play in reversed(plays[: self.settings.recent_tracks]):
            self._recent.append(play.uri)
        for play in reversed(plays[: self.settings.artist_window - 1]):
            self._recent_artists.append(_artist_keys(play.artists))

    def _feedback_for(self, context: str) -> dict[str, Feedback]:
        cache = self._feedback.get(context)
        if cache is None:
            cache = {}
            if self._store is not None:
                try:
                    cache = dict(self._store.feedback(context))
                except Exception as exc:
                    self._store_trouble("read feedback", exc)
            self._feedback[context] = cache
        return cache

    def _store_trouble(self, doing: str, exc: Exception) -> None:
        # Logged in full once; later failures quietly, so a broken disk doesn't flood the journal.
        if not self._store_failed:
            log.error("mood engine: could not %s (%s); learning goes on in memory", doing, exc)
            self._store_failed = True
        else:
            log.debug("mood engine: could not %s (%s)", doing, exc)

    def _describe(
        self, plan: shift.ShiftPlan | None, context: str, *, wanted: Point, source: str, track: Track | None
    ) -> str:
        text = plan.describe() if plan is not None else f"match {context.split(':', 1)[1]}"
        if track is None:
            return f"{text}: nothing to play near {_fmt(wanted)} (no track or mood playlist)"
        if source.startswith("playlist:"):
            name = source.split(":", 1)[1]
            return f"{text}, from playlist {name!r} in its own order (the catalog has nothing near)"
        if source.startswith("relaxed:"):
            return f"{text} ({source.split(':', 1)[1]} rule relaxed: region thin)"
        return text


def _fmt(point: Point) -> str:
    return f"valence {point[0]:.2f}, energy {point[1]:.2f}"
