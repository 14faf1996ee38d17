"""The mood engine's match, variety rules, learning and fallbacks, over values and a manual clock."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from soulsyncd.catalog.store import CatalogError, CatalogStore, CatalogTrack, Feedback
from soulsyncd.mood import shift
from soulsyncd.mood.engine import EngineSettings, MoodEngine, MoodPlaylist, _nearest
from soulsyncd.mood.learning import Weights
from soulsyncd.mood.shift import ShiftSettings
from soulsyncd.mood.targets import DEFAULT_POINTS, distance
from soulsyncd.testing import ManualClock
from soulsyncd.types import PlayIntent, Track

EPOCH = 1_767_225_600.0


def grid(step: float = 0.05, artists: int = 40) -> list[CatalogTrack]:
    """Tracks on a regular valence/energy grid, artists cycling so no artist clusters in one place."""
    values = [round(i * step, 4) for i in range(round(1 / step) + 1)]
    tracks = []
    for k, (v, e) in enumerate(itertools.product(values, values)):
        tracks.append(CatalogTrack(uri=f"spotify:track:t{k:04d}", name=f"Track {k}",
                                   artists=(f"Artist {(k * 7) % artists}",), duration_s=200.0,
                                   valence=v, energy=e))
    return tracks


def match(emotion: str) -> PlayIntent:
    return PlayIntent(action="play", valence=0.5, energy=0.5, mode="match", emotion=emotion)


def engine_over(tracks: list[CatalogTrack], clock: ManualClock | None = None, *,
                store: CatalogStore | None = None, settings: EngineSettings | None = None,
                playlists: tuple[MoodPlaylist, ...] = (),
                mood: tuple[float, float] | None = None) -> MoodEngine:
    return MoodEngine(tracks, clock=clock or ManualClock(EPOCH), mood_now=lambda: mood, feedback=store,
                      settings=settings, playlists=playlists)


def play(engine: MoodEngine, intent: PlayIntent, clock: ManualClock, n: int, *,
         skip: bool = False) -> list[Track]:
    """n picks, each played to the end (or skipped after 10 s), the clock moving with them."""
    chosen = []
    for _ in range(n):
        track = engine.pick(intent)
        assert track is not None
        chosen.append(track)
        listened = 10.0 if skip else track.duration_s
        clock.advance(listened)
        engine.finished(track, listened, skip)
    return chosen


# --- match ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("emotion", ["happy", "sad", "angry", "calm", "neutral"])
def test_match_plays_inside_the_moods_region(emotion: str) -> None:
    clock = ManualClock(EPOCH)
    engine = engine_over(grid(), clock)
    point = DEFAULT_POINTS[emotion]
    tracks = play(engine, match(emotion), clock, 20)
    assert all(distance((t.valence or 0, t.energy or 0), point) <= 0.15 + 1e-9 for t in tracks)
    assert engine.describe_last_choice() == f"match {emotion}"
    assert engine.shift_progress() is None


def test_match_takes_the_nearest_track_first() -> None:
    engine = engine_over(grid())
    track = engine.pick(match("happy"))
    assert track is not None
    assert (track.valence, track.energy) == (0.85, 0.7)


def test_match_without_an_emotion_plays_the_intents_point() -> None:
    engine = engine_over(grid())
    track = engine.pick(PlayIntent(action="play", valence=0.3, energy=0.9))
    assert track is not None
    assert (track.valence, track.energy) == (0.3, 0.9)


def test_emotion_points_can_be_overridden() -> None:
    settings = EngineSettings(points={**DEFAULT_POINTS, "happy": (0.95, 0.95)})
    track = engine_over(grid(), settings=settings).pick(match("happy"))
    assert track is not None
    assert (track.valence, track.energy) == (0.95, 0.95)


def test_pause_intent_picks_nothing() -> None:
    assert engine_over(grid()).pick(PlayIntent(action="pause")) is None


def test_a_thin_region_falls_back_to_the_nearest_tracks_beyond_it() -> None:
    """Two tracks near happy, the rest far but within max_distance: after the two, the nearest others."""
    near = [CatalogTrack(f"spotify:track:n{i}", f"N{i}", (f"A{i}",), 200.0, 0.85, 0.7 - i * 0.01)
            for i in range(2)]
    beyond = [CatalogTrack(f"spotify:track:b{i}", f"B{i}", (f"B{i}",), 200.0, 0.85 - 0.2 - i * 0.01, 0.7)
              for i in range(10)]
    clock = ManualClock(EPOCH)
    engine = engine_over(near + beyond, clock)
    tracks = play(engine, match("happy"), clock, 5)
    assert {t.uri for t in tracks[:2]} == {"spotify:track:n0", "spotify:track:n1"}
    assert [t.uri for t in tracks[2:]] == ["spotify:track:b0", "spotify:track:b1", "spotify:track:b2"]


# --- variety ----------------------------------------------------------------------------------------


def test_no_track_repeats_within_the_recent_window() -> None:
    clock = ManualClock(EPOCH)
    engine = engine_over(grid(), clock)
    tracks = play(engine, match("sad"), clock, 120)
    uris = [t.uri for t in tracks]
    for i, uri in enumerate(uris):
        assert uri not in uris[max(0, i - 50):i]


def test_at_most_two_tracks_per_artist_in_any_ten() -> None:
    # Few artists, so the rule has to bite: 9 artists over the whole grid.
    clock = ManualClock(EPOCH)
    engine = engine_over(grid(artists=9), clock)
    tracks = play(engine, match("happy"), clock, 60)
    for start in range(len(tracks) - 9):
        window = [t.artists[0] for t in tracks[start:start + 10]]
        assert max(window.count(a) for a in window) <= 2


def test_recent_hours_keep_a_track_out_even_beyond_the_track_window() -> None:
    """Two tracks only, recent_tracks 1: the hours rule alone decides; after it, the track returns."""
    tracks = [CatalogTrack("spotify:track:a", "A", ("X",), 200.0, 0.85, 0.7),
              CatalogTrack("spotify:track:b", "B", ("Y",), 200.0, 0.8, 0.7)]
    clock = ManualClock(EPOCH)
    engine = engine_over(tracks, clock, settings=EngineSettings(recent_tracks=1, recent_hours=1.0))
    first = engine.pick(match("happy"))
    clock.advance(60)
    second = engine.pick(match("happy"))
    assert first is not None
    assert second is not None
    assert (first.uri, second.uri) == ("spotify:track:a", "spotify:track:b")
    clock.advance(60)
    relaxed = engine.pick(match("happy"))  # both within the hour: the recency rule is relaxed
    assert relaxed is not None
    assert engine.last_choice() is not None
    assert engine.last_choice().source == "relaxed:recency"  # type: ignore[union-attr]
    clock.advance(3600)
    again = engine.pick(match("happy"))
    assert again is not None
    assert engine.last_choice().source == "catalog"  # type: ignore[union-attr]


# --- learning ---------------------------------------------------------------------------------------


def test_early_skips_and_full_plays_are_recorded_per_context() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks(grid(), source="test")
    clock = ManualClock(EPOCH)
    engine = engine_over(store.tracks(), clock, store=store)
    full = play(engine, match("happy"), clock, 1)[0]
    skipped = play(engine, match("happy"), clock, 1, skip=True)[0]
    late = engine.pick(match("happy"))
    assert late is not None
    engine.finished(late, 45.0, True)  # a skip after 30 s is neither for nor against
    feedback = store.feedback("match:happy")
    assert (feedback[full.uri].full_plays, feedback[full.uri].skips) == (1, 0)
    assert (feedback[skipped.uri].full_plays, feedback[skipped.uri].skips) == (0, 1)
    assert (feedback[late.uri].full_plays, feedback[late.uri].skips) == (0, 0)
    assert store.feedback("match:sad") == {}


def test_a_track_skipped_twice_in_a_context_is_not_chosen_there_again_but_elsewhere() -> None:
    store = CatalogStore(":memory:")
    tracks = grid()
    clock = ManualClock(EPOCH)
    settings = EngineSettings(recent_tracks=0, recent_hours=0.0)  # repeats allowed: the ban alone decides
    engine = engine_over(tracks, clock, store=store, settings=settings)
    first = play(engine, match("happy"), clock, 2, skip=True)
    assert first[0].uri == first[1].uri  # the nearest, skipped twice
    later = play(engine, match("happy"), clock, 30)
    assert first[0].uri not in {t.uri for t in later}
    # Another context has its own record: there the track is still welcome.
    other = MoodEngine(tracks, clock=clock, mood_now=lambda: None, feedback=store,
                       settings=EngineSettings(recent_tracks=0, recent_hours=0.0,
                                               points={**DEFAULT_POINTS, "surprise": (0.85, 0.7)}))
    assert other.pick(match("surprise")) == first[0]


def test_affective_feedback_is_the_moods_change_over_the_track() -> None:
    store = CatalogStore(":memory:")
    mood = [(-0.6, -0.4)]
    clock = ManualClock(EPOCH)
    engine = MoodEngine(grid(), clock=clock, mood_now=lambda: mood[0], feedback=store)
    track = engine.pick(match("sad"))
    assert track is not None
    mood[0] = (-0.2, -0.1)  # the listener brightened while it played
    engine.finished(track, 200.0, False)
    feedback = store.feedback("match:sad")[track.uri]
    assert feedback.mean_valence_change == pytest.approx(0.4)
    assert feedback.mean_arousal_change == pytest.approx(0.3)


def test_nobody_in_view_means_no_affective_sample() -> None:
    store = CatalogStore(":memory:")
    engine = MoodEngine(grid(), clock=ManualClock(EPOCH), mood_now=lambda: None, feedback=store)
    track = engine.pick(match("sad"))
    assert track is not None
    engine.finished(track, 200.0, False)
    assert store.feedback("match:sad")[track.uri].affect_samples == 0


def test_a_track_that_lifted_the_listener_is_preferred_in_that_context() -> None:
    """Two tracks equally near; the one after which the mood rose wins once the recency rule allows."""
    tracks = [CatalogTrack("spotify:track:a", "A", ("X",), 200.0, 0.15, 0.26),
              CatalogTrack("spotify:track:b", "B", ("Y",), 200.0, 0.15, 0.24)]
    store = CatalogStore(":memory:")
    mood = [(0.0, 0.0)]
    clock = ManualClock(EPOCH)
    settings = EngineSettings(recent_tracks=0, recent_hours=0.0)
    engine = MoodEngine(tracks, clock=clock, mood_now=lambda: mood[0], feedback=store, settings=settings)
    seen = []
    for _ in range(4):  # each played twice: b lifts the mood, a does not
        mood[0] = (-0.7, -0.4)
        track = engine.pick(match("sad"))
        assert track is not None
        seen.append(track.uri)
        mood[0] = (-0.3, -0.3) if track.uri == "spotify:track:b" else (-0.7, -0.4)
        engine.finished(track, 200.0, False)
    assert set(seen) == {"spotify:track:a", "spotify:track:b"}
    mood[0] = (-0.7, -0.4)
    assert [engine.pick(match("sad")).uri for _ in range(3)] == ["spotify:track:b"] * 3  # type: ignore[union-attr]


def test_what_was_learned_and_played_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    tracks = grid()
    clock = ManualClock(EPOCH)
    with CatalogStore(path) as store:
        engine = engine_over(tracks, clock, store=store, settings=EngineSettings(recent_hours=0.0))
        skipped = play(engine, match("happy"), clock, 1, skip=True)[0]
        played = play(engine, match("happy"), clock, 10)
    with CatalogStore(path) as store:
        again = engine_over(tracks, clock, store=store, settings=EngineSettings(recent_hours=0.0))
        after = play(again, match("happy"), clock, 10)
    assert not {t.uri for t in after} & {t.uri for t in [skipped, *played]}  # recent plays were read back


# --- fallbacks --------------------------------------------------------------------------------------


def playlist(name: str, point: tuple[float, float], n: int) -> MoodPlaylist:
    return MoodPlaylist(name=name, tag=name, point=point, tracks=tuple(
        CatalogTrack(f"spotify:track:{name}{i}", f"{name} {i}", ("P",), 200.0) for i in range(n)))


def test_an_empty_catalog_plays_the_nearest_mood_playlist_in_its_own_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lists = (playlist("sad", (0.15, 0.25), 3), playlist("happy", (0.85, 0.7), 3))
    engine = engine_over([], ManualClock(EPOCH), playlists=lists)
    with caplog.at_level(logging.WARNING):
        tracks = [engine.pick(match("sad")) for _ in range(4)]
    assert [t.uri if t else None for t in tracks] == [
        "spotify:track:sad0", "spotify:track:sad1", "spotify:track:sad2", "spotify:track:sad0"]
    assert "from playlist 'sad' in its own order" in engine.describe_last_choice()
    assert not caplog.records  # a playlist is a choice, not a failure


def test_a_catalog_with_nothing_near_the_mood_uses_the_playlist() -> None:
    far = [CatalogTrack("spotify:track:far", "Far", ("X",), 200.0, 0.9, 0.9)]
    engine = engine_over(far, playlists=(playlist("sad", (0.15, 0.25), 2),))
    track = engine.pick(match("sad"))
    assert track is not None
    assert track.uri == "spotify:track:sad0"


def test_nothing_at_all_is_none_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    featureless = [CatalogTrack("spotify:track:x", "X", ("A",), 200.0)]
    engine = engine_over(featureless)
    with caplog.at_level(logging.WARNING):
        assert engine.pick(match("sad")) is None
    assert "nothing to play" in caplog.text
    assert "nothing to play" in engine.describe_last_choice()


class BrokenStore:
    """A feedback store whose every call fails as a locked or corrupt catalog would."""

    def record_play(self, uri: str, **kwargs: object) -> None:
        raise CatalogError("catalog.sqlite3: locked by another process")

    def feedback(self, context: str) -> dict[str, object]:
        raise CatalogError("catalog.sqlite3: not a usable SQLite database")

    def recent_plays(self, limit: int) -> list[object]:
        raise CatalogError("catalog.sqlite3: not a usable SQLite database")


def test_a_failing_store_is_logged_once_and_the_engine_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(EPOCH)
    with caplog.at_level(logging.ERROR):
        engine = engine_over(grid(), clock, store=BrokenStore())  # type: ignore[arg-type]
        tracks = play(engine, match("happy"), clock, 5, skip=True)
    assert len(tracks) == 5
    assert sum("catalog.sqlite3" in r.getMessage() for r in caplog.records) == 1
    # ...and it still learns in memory: the skipped tracks are not chosen in a row again
    assert len({t.uri for t in tracks}) == 5


def test_picks_from_several_threads_never_repeat_a_track() -> None:
    clock = ManualClock(EPOCH)
    engine = engine_over(grid(), clock)
    chosen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            track = engine.pick(match("happy"))
            assert track is not None
            with lock:
                chosen.append(track.uri)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5.0)
    assert len(chosen) == 40
    assert len(set(chosen)) == 40  # 40 < recent_tracks: the lock keeps the recent list whole


# --- mutation-testing round (docs/mutation-mut-mood.md) ------------------------------------------------


def skipped_in(store: CatalogStore, context: str, uri: str, times: int) -> None:
    for k in range(times):
        store.record_play(uri, context=context, listened_s=5.0, skipped=True, valence_change=None,
                          arousal_change=None, at=EPOCH - 1000.0 + k)


def test_region_size_counts_the_tracks_on_its_edge() -> None:
    """On one line from (0, 0.5), so every squared distance is exact: radius 0.25 counts the track at
    0.25 and the one whose square is 0.25**2 + EPSILON exactly, not the one just beyond."""
    edge = 0.250000002
    assert edge * edge == 0.25 * 0.25 + shift.EPSILON
    tracks = [CatalogTrack(f"spotify:track:{i}", f"T{i}", ("A",), 200.0, v, 0.5)
              for i, v in enumerate((0.1, 0.25, edge, 0.2500001))]
    engine = engine_over(tracks, settings=EngineSettings(radius=0.25))
    assert engine.region_size((0.0, 0.5)) == 3
    assert engine.region_size((0.1, 0.5)) == 4
    assert engine_over(tracks, settings=EngineSettings(radius=0.2)).region_size((0.0, 0.5)) == 1


def test_a_shift_idle_exactly_restart_after_s_goes_on_and_a_moment_later_starts_again() -> None:
    clock = ManualClock(EPOCH)
    engine = MoodEngine(grid(), clock=clock, mood_now=lambda: (-0.7, -0.5),
                        settings=EngineSettings(restart_after_s=600.0))
    shift_to_happy = PlayIntent(action="play", valence=0.15, energy=0.25, mode="shift", emotion="sad",
                                target="happy")
    engine.pick(shift_to_happy)
    clock.advance(600.0)
    engine.pick(shift_to_happy)
    assert engine.last_choice().plan.action != "start"  # type: ignore[union-attr]
    clock.advance(600.5)
    engine.pick(shift_to_happy)
    assert engine.last_choice().plan.action == "start"  # type: ignore[union-attr]


def test_nothing_to_play_says_where_and_its_source_is_none(caplog: pytest.LogCaptureFixture) -> None:
    engine = engine_over([])
    with caplog.at_level(logging.WARNING):
        assert engine.pick(match("sad")) is None
    expected = "match sad: nothing to play near valence 0.15, energy 0.25 (no track or mood playlist)"
    assert engine.describe_last_choice() == expected
    assert caplog.messages == [f"mood engine: {expected}"]
    assert engine.last_choice().source == "none"  # type: ignore[union-attr]


def test_a_playlist_with_every_track_banned_has_nothing_to_give() -> None:
    store = CatalogStore(":memory:")
    lists = (playlist("sad", (0.15, 0.25), 2),)
    for track in lists[0].tracks:
        skipped_in(store, "match:sad", track.uri, 2)
    engine = engine_over([], store=store, playlists=lists)
    assert engine.pick(match("sad")) is None
    assert engine.last_choice().source == "none"  # type: ignore[union-attr]


def test_a_playlist_goes_round_its_own_order_past_what_was_just_played() -> None:
    """recent_tracks 1: only the last track is kept out; the cursor still moves on through the list."""
    engine = engine_over([], playlists=(playlist("sad", (0.15, 0.25), 3),),
                         settings=EngineSettings(recent_tracks=1, recent_hours=0.0))
    picks = [engine.pick(match("sad")) for _ in range(5)]
    assert [t.uri if t else None for t in picks] == [
        "spotify:track:sad0", "spotify:track:sad1", "spotify:track:sad2", "spotify:track:sad0",
        "spotify:track:sad1"]


def test_a_playlist_track_banned_in_this_context_is_stepped_over_in_order() -> None:
    """sad1 skipped twice as a sad pick: the list plays sad0, sad2, sad0, ...; once skipped is no ban."""
    store = CatalogStore(":memory:")
    lists = (playlist("sad", (0.15, 0.25), 3),)
    skipped_in(store, "match:sad", "spotify:track:sad1", 2)
    skipped_in(store, "match:sad", "spotify:track:sad2", 1)
    skipped_in(store, "match:happy", "spotify:track:sad0", 2)  # another context's ban
    engine = engine_over([], store=store, playlists=lists,
                         settings=EngineSettings(recent_tracks=0, recent_hours=0.0))
    picks = [engine.pick(match("sad")) for _ in range(4)]
    assert [t.uri if t else None for t in picks] == [
        "spotify:track:sad0", "spotify:track:sad2", "spotify:track:sad0", "spotify:track:sad2"]


def test_a_failing_store_is_logged_saying_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        engine_over(grid(), store=BrokenStore())  # type: ignore[arg-type]
    assert caplog.messages == [
        "mood engine: could not read recent plays (catalog.sqlite3: not a usable SQLite database); "
        "learning goes on in memory"
    ]


def test_finishing_a_track_the_engine_did_not_pick_changes_nothing() -> None:
    store = CatalogStore(":memory:")
    engine = engine_over(grid(), store=store)
    stranger = Track(uri="spotify:track:stranger", name="S", artists=("X",), duration_s=200.0)
    engine.finished(stranger, 10.0, True)
    assert store.contexts() == []


def test_a_full_play_is_judged_on_the_catalog_s_length_of_the_track() -> None:
    """The engine knows the track as 200 s long (the store does not know it at all): 150 s of it is
    not a full play, whatever length the player reported."""
    store = CatalogStore(":memory:")
    engine = engine_over(grid(), store=store, settings=EngineSettings(recent_tracks=0, recent_hours=0.0))
    track = engine.pick(match("happy"))
    assert track is not None
    assert track.duration_s == 200.0
    engine.finished(dataclasses.replace(track, duration_s=100.0), 150.0, False)
    feedback = store.feedback("match:happy")[track.uri]
    assert (feedback.plays, feedback.full_plays, feedback.skips) == (1, 0, 0)


def test_a_track_without_a_catalog_length_is_judged_on_the_player_s() -> None:
    unknown = [CatalogTrack("spotify:track:u", "U", ("X",), 0.0, 0.85, 0.7)]
    store = CatalogStore(":memory:")
    engine = engine_over(unknown, store=store)
    track = engine.pick(match("happy"))
    assert track is not None
    engine.finished(dataclasses.replace(track, duration_s=200.0), 150.0, False)
    assert store.feedback("match:happy")[track.uri].full_plays == 0  # 150 of 200 s


class UnwritableStore(CatalogStore):
    """A catalog that reads but cannot record (a full disk)."""

    def record_play(self, uri: str, **kwargs: Any) -> None:
        raise CatalogError("catalog.sqlite3: database or disk is full")


def test_a_play_that_cannot_be_recorded_is_logged_and_learned_in_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(EPOCH)
    engine = engine_over(grid(), clock, store=UnwritableStore(":memory:"),
                         settings=EngineSettings(recent_tracks=0, recent_hours=0.0, max_per_artist=10))
    with caplog.at_level(logging.ERROR):
        skipped = play(engine, match("happy"), clock, 2, skip=True)
    assert caplog.messages == [
        "mood engine: could not record a play (catalog.sqlite3: database or disk is full); "
        "learning goes on in memory"
    ]
    assert skipped[0].uri == skipped[1].uri
    # Banned in memory after two early skips (no recency or artist rule here to keep it out).
    assert engine.pick(match("happy")) != skipped[0]
    assert engine.last_choice().source == "catalog"  # type: ignore[union-attr]


def expected_order(d2: np.ndarray, radius: float) -> list[int]:
    limit = radius * radius + shift.EPSILON
    finite = [i for i in range(len(d2)) if np.isfinite(d2[i])]
    return sorted(finite, key=lambda i: (bool(d2[i] > limit), float(d2[i]), i))


@pytest.mark.parametrize("n", [1, 63, 64, 65, 66, 255, 256, 257, 1100])
def test_candidates_come_nearest_first_ties_by_index_each_once(n: int) -> None:
    """Distances with many ties (a grid has them), some infinite (banned): every finite candidate
    once, by (distance, index), however the rounds of partial sorting split the ties."""
    rng = np.random.default_rng(n)
    d2 = rng.integers(0, 9, size=n).astype(np.float64) / 16
    d2[rng.integers(0, n, size=n // 7)] = np.inf
    assert list(_nearest(d2, 0.5)) == expected_order(d2, 0.5)
    distinct = rng.random(n)
    assert list(_nearest(distinct, 0.5)) == expected_order(distinct, 0.5)


REAL_PARTITION = np.partition


def contract_partition(order: str) -> Any:
    """``np.partition`` as its contract allows it to be: the k-th element in place, the smaller ones
    before it and the larger after it, each side in ``order`` (numpy's introselect happens to leave
    other layouts; the search must not rely on them)."""
    rng = np.random.default_rng(7)

    def partition(values: np.ndarray, kth: int) -> np.ndarray:
        assert isinstance(kth, int | np.integer)  # the engine asks for one position
        out = REAL_PARTITION(values, kth)
        before, after = np.sort(out[:kth]), np.sort(out[kth + 1:])
        # "turning": ascending for a search's first round (k = 64), descending for its later ones.
        if order == "descending" or (order == "turning" and kth > 63):
            before, after = before[::-1], after[::-1]
        elif order == "shuffled":
            before, after = rng.permutation(before), rng.permutation(after)
        out[:kth], out[kth + 1:] = before, after
        return out

    return partition


@pytest.mark.parametrize("order", ["ascending", "descending", "turning", "shuffled"])
@pytest.mark.parametrize("n", [65, 257, 300, 1100])
def test_candidates_come_nearest_first_each_once_whatever_the_partitions_layout(
        monkeypatch: pytest.MonkeyPatch, order: str, n: int) -> None:
    """Each round's bound is the k-th distance itself (the one place ``np.partition`` fixes), not a
    neighbour whose value depends on how the smaller ones happen to lie; with ties and without."""
    monkeypatch.setattr(np, "partition", contract_partition(order))
    rng = np.random.default_rng(n)
    tied = rng.integers(0, 9, size=n).astype(np.float64) / 16
    tied[rng.integers(0, n, size=n // 7)] = np.inf
    distinct = rng.random(n)
    for d2 in (tied, distinct):
        picked = list(_nearest(d2, 0.5))
        assert len(picked) == len(set(picked))
        assert picked == expected_order(d2, 0.5)


@pytest.mark.parametrize("step", [0.25, 0.249999999], ids=["exact", "within-tolerance"])
def test_the_step_rule_admits_a_track_exactly_one_step_from_the_last(step: float) -> None:
    """Tracks a quarter apart on one line and a step of a quarter (or of a quarter less EPSILON):
    the next step's track, a quarter from the last one played, is allowed (no rule relaxed)."""
    assert step + shift.EPSILON >= 0.25
    tracks = [CatalogTrack(f"spotify:track:{i}", f"T{i}", (f"A{i}",), 200.0, i / 4, 0.5) for i in range(5)]
    settings = EngineSettings(shift=ShiftSettings(step=step, max_lead=1.0, follow_radius=0.1))
    engine = engine_over(tracks, settings=settings, mood=(-1.0, 0.0))  # the listener at (0, 0.5)
    intent = PlayIntent(action="play", valence=0.0, energy=0.5, mode="shift", emotion="sad", target="1,0.5")
    picks = [engine.pick(intent) for _ in range(2)]
    assert [t.uri if t else None for t in picks] == ["spotify:track:0", "spotify:track:1"]
    choice = engine.last_choice()
    assert choice is not None
    assert choice.source == "catalog"
    assert choice.wanted == pytest.approx((0.25, 0.5))


# --- _best: the region's edge, the pool, and what was learned -----------------------------------------

EDGE = 0.250000002  # its square is exactly 0.25**2 + EPSILON


def on_line(*valences: float) -> list[CatalogTrack]:
    """Tracks at energy 0.5 (so each squared distance from a point on that line is exact)."""
    return [CatalogTrack(f"spotify:track:{i}", f"T{i}", (f"A{i}",), 200.0, v, 0.5)
            for i, v in enumerate(valences)]


AT_ORIGIN = PlayIntent(action="play", valence=0.0, energy=0.5)  # match the point (0, 0.5)


def record(store: CatalogStore, uri: str, *, full: int = 0, skips: int = 0,
           valence_change: float | None = None, arousal_change: float = 0.0,
           context: str = "match:point") -> None:
    for k in range(full):
        store.record_play(uri, context=context, listened_s=200.0, skipped=False,
                          valence_change=valence_change,
                          arousal_change=None if valence_change is None else arousal_change,
                          at=EPOCH - 10_000.0 + k)
    skipped_in(store, context, uri, skips)


def best_of(tracks: list[CatalogTrack], store: CatalogStore | None = None, **weights: float) -> str:
    settings = EngineSettings(radius=0.25, max_distance=0.25, recent_tracks=0, recent_hours=0.0,
                              weights=Weights(**weights))
    track = engine_over(tracks, store=store, settings=settings).pick(AT_ORIGIN)
    assert track is not None
    return track.uri


def test_a_track_on_the_region_s_edge_competes_with_those_inside() -> None:
    """The centre track was skipped once; the one exactly on the edge (with the tolerance) wins."""
    store = CatalogStore(":memory:")
    record(store, "spotify:track:0", skips=1)
    assert best_of(on_line(0.0, EDGE), store, feedback=1.0, novelty=0.0) == "spotify:track:1"


def test_a_learned_track_on_the_region_s_edge_joins_the_pool() -> None:
    """Eight unlearned tracks fill the pool; the learned favourite on the edge is still scored."""
    store = CatalogStore(":memory:")
    record(store, "spotify:track:8", full=3)
    tracks = on_line(*(k / 100 for k in range(8)), EDGE)
    assert best_of(tracks, store, feedback=1.0, novelty=0.0) == "spotify:track:8"


def test_the_pool_reaches_past_eight_learned_tracks_to_an_unlearned_one() -> None:
    store = CatalogStore(":memory:")
    for k in range(8):
        record(store, f"spotify:track:{k}", skips=1)
    tracks = on_line(*(k / 100 for k in range(8)), 0.2, 0.22)
    assert best_of(tracks, store, feedback=1.0, novelty=0.0) == "spotify:track:8"


def test_the_pool_holds_the_eight_nearest_eligible_tracks() -> None:
    """Without the distance weight every unlearned track costs the same and the lowest index wins:
    that shows which tracks were scored (the eight nearest, not the first found, not all)."""
    # Index 0 is the farthest of nine: outside the pool of eight. Index 1 the nearest.
    nine = on_line(0.2, 0.0, *(k / 100 for k in range(1, 8)))
    assert best_of(nine, distance=0.0) == "spotify:track:1"
    # Index 0 the second nearest: inside the pool although an unlearned track came first.
    two = on_line(0.05, 0.0)
    assert best_of(two, distance=0.0) == "spotify:track:0"


def test_the_region_s_empty_the_nearest_within_max_distance_plays() -> None:
    assert best_of(on_line(EDGE)) == "spotify:track:0"
    assert best_of(on_line(0.25)) == "spotify:track:0"
    settings = EngineSettings(radius=0.1, max_distance=0.25)
    assert engine_over(on_line(0.3), settings=settings).pick(AT_ORIGIN) is None
    assert engine_over(on_line(EDGE), settings=settings).pick(AT_ORIGIN) is not None


def test_the_affect_learned_is_weighed_against_the_context_s_typical_change() -> None:
    """Track 1 lifted the valence by 0.2, but so does every measured play here: no gain over typical,
    so the nearer unlearned track 0 wins."""
    store = CatalogStore(":memory:")
    record(store, "spotify:track:1", full=1, valence_change=0.2)
    tracks = on_line(0.0, 0.05)
    assert best_of(tracks, store, feedback=0.0, affect=1.0, novelty=0.0) == "spotify:track:0"


@pytest.mark.parametrize(("after_s", "source"), [(3600.0, "catalog"), (3599.0, "relaxed:recency")])
def test_recent_hours_end_exactly_on_the_hour(after_s: float, source: str) -> None:
    clock = ManualClock(EPOCH)
    engine = engine_over(on_line(0.0), clock, settings=EngineSettings(recent_tracks=0, recent_hours=1.0))
    engine.pick(AT_ORIGIN)
    clock.advance(after_s)
    assert engine.pick(AT_ORIGIN) is not None
    assert engine.last_choice().source == source  # type: ignore[union-attr]


# --- what the engine remembers --------------------------------------------------------------------------


def test_recent_tracks_alone_keeps_the_last_picks_out() -> None:
    engine = engine_over(on_line(0.0, 0.01), settings=EngineSettings(recent_tracks=1, recent_hours=0.0))
    picks = [engine.pick(AT_ORIGIN) for _ in range(4)]
    assert [t.uri if t else None for t in picks] == ["spotify:track:0", "spotify:track:1"] * 2


def test_a_thousand_plays_within_the_hour_are_all_remembered() -> None:
    """Past 1024 remembered plays the old ones are pruned, but only those older than recent_hours."""
    clock = ManualClock(EPOCH)
    settings = EngineSettings(recent_tracks=0, recent_hours=1.0, max_distance=1.5, max_per_artist=100)
    engine = engine_over(grid(step=1 / 32), clock, settings=settings)  # 33 x 33 tracks
    uris = []
    for _ in range(1030):
        track = engine.pick(match("happy"))
        assert track is not None
        uris.append(track.uri)
        clock.advance(1.0)
    assert len(set(uris)) == 1030


def test_only_the_last_64_picks_wait_for_their_end() -> None:
    store = CatalogStore(":memory:")
    engine = engine_over(grid(), store=store)
    picks = [engine.pick(match("happy")) for _ in range(65)]
    assert all(picks)
    engine.finished(picks[0], 200.0, False)  # type: ignore[arg-type]
    engine.finished(picks[1], 200.0, False)  # type: ignore[arg-type]
    assert set(store.feedback("match:happy")) == {picks[1].uri}  # type: ignore[union-attr]


def test_feedback_stored_earlier_bans_a_track_in_its_context() -> None:
    store = CatalogStore(":memory:")
    store.upsert_tracks(grid(), source="test")
    nearest = engine_over(grid()).pick(match("happy"))
    assert nearest is not None
    skipped_in(store, "match:happy", nearest.uri, 2)
    engine = engine_over(grid(), store=store, settings=EngineSettings(recent_tracks=0, recent_hours=0.0))
    track = engine.pick(match("happy"))
    assert track is not None
    assert track.uri != nearest.uri


class FeedbacklessStore(CatalogStore):
    """A catalog whose feedback table can't be read (damaged), the rest works."""

    def feedback(self, context: str) -> dict[str, Feedback]:
        raise CatalogError("catalog.sqlite3: feedback table damaged")


def test_feedback_that_cannot_be_read_is_logged_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    engine = engine_over(grid(), store=FeedbacklessStore(":memory:"))
    with caplog.at_level(logging.ERROR):
        assert engine.pick(match("happy")) is not None
    assert caplog.messages == [
        "mood engine: could not read feedback (catalog.sqlite3: feedback table damaged); "
        "learning goes on in memory"
    ]


# --- intents, mood source and descriptions ----------------------------------------------------------


def test_before_the_first_pick_nothing_is_chosen_yet() -> None:
    assert engine_over(grid()).describe_last_choice() == "nothing chosen yet"


def test_a_target_only_counts_in_shift_mode() -> None:
    engine = engine_over(grid(), mood=(-0.7, -0.5))
    engine.pick(PlayIntent(action="play", valence=0.15, energy=0.25, mode="match", emotion="sad",
                           target="happy"))
    assert engine.shift_progress() is None
    assert engine.describe_last_choice() == "match sad"
    engine.pick(PlayIntent(action="play", valence=0.15, energy=0.25, mode="shift", emotion="sad", target=""))
    assert engine.shift_progress() is None
    assert engine.describe_last_choice() == "match sad"


def test_a_shift_heads_for_the_configured_point_of_its_target() -> None:
    settings = EngineSettings(points={**DEFAULT_POINTS, "happy": (0.95, 0.95)})
    engine = engine_over(grid(), settings=settings, mood=(-0.7, -0.5))
    engine.pick(PlayIntent(action="play", valence=0.15, energy=0.25, mode="shift", emotion="sad",
                           target="happy"))
    choice = engine.last_choice()
    assert choice is not None
    assert choice.plan is not None
    assert choice.plan.target == (0.95, 0.95)


def test_an_unknown_target_is_warned_about_in_full(caplog: pytest.LogCaptureFixture) -> None:
    engine = engine_over(grid())
    with caplog.at_level(logging.WARNING):
        engine.pick(PlayIntent(action="play", valence=0.15, energy=0.25, mode="shift", emotion="sad",
                               target="ecstatic"))
    [line] = caplog.messages
    assert line.startswith("mood engine: unknown target 'ecstatic'; expected one of happy, ")
    assert line.endswith(" or 'valence,energy' in [0, 1]; matching instead")


def test_a_mood_source_that_fails_is_logged_and_counts_as_unknown(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> tuple[float, float]:
        raise RuntimeError("state not ready")

    engine = MoodEngine(grid(), clock=ManualClock(EPOCH), mood_now=broken)
    with caplog.at_level(logging.ERROR):
        track = engine.pick(match("happy"))
    assert track is not None
    assert [(r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        ("mood engine: reading the listener's mood failed", True)]


def test_a_catalog_of_one_track_plays_it() -> None:
    track = engine_over(on_line(0.0)).pick(AT_ORIGIN)
    assert track is not None
    assert track.uri == "spotify:track:0"


# --- the rules relax one at a time, in order --------------------------------------------------------------


def test_the_step_rule_relaxes_first_keeping_the_artist_rule() -> None:
    """Nothing within a step of the last track: the step rule gives way, the artist rule does not
    (track 2 is nearer the waypoint but by the artist just played)."""
    tracks = [CatalogTrack("spotify:track:0", "T0", ("Same",), 200.0, 0.0, 0.5),
              CatalogTrack("spotify:track:1", "T1", ("Other",), 200.0, 0.6, 0.5),
              CatalogTrack("spotify:track:2", "T2", ("Same",), 200.0, 0.55, 0.5)]
    settings = EngineSettings(max_distance=0.5, max_per_artist=1,
                              shift=ShiftSettings(step=0.25, max_lead=1.0, follow_radius=0.1))
    engine = engine_over(tracks, settings=settings, mood=(-1.0, 0.0))  # the listener at (0, 0.5)
    intent = PlayIntent(action="play", valence=0.0, energy=0.5, mode="shift", emotion="sad", target="1,0.5")
    picks = [engine.pick(intent) for _ in range(2)]
    assert [t.uri if t else None for t in picks] == ["spotify:track:0", "spotify:track:1"]
    choice = engine.last_choice()
    assert choice is not None
    assert choice.source == "relaxed:step"
    assert engine.describe_last_choice() == "shift step 1 of 4 toward 1,0.5 (step rule relaxed: region thin)"


def test_the_artist_rule_relaxes_before_recency() -> None:
    """Three tracks by one artist: the third pick breaks the artist rule rather than repeat a track."""
    tracks = [CatalogTrack(f"spotify:track:{i}", f"T{i}", ("Same",), 200.0, i / 100, 0.5) for i in range(3)]
    engine = engine_over(tracks)
    picks = [engine.pick(AT_ORIGIN) for _ in range(3)]
    assert [t.uri if t else None for t in picks] == [f"spotify:track:{i}" for i in range(3)]
    assert engine.last_choice().source == "relaxed:artist"  # type: ignore[union-attr]
    assert engine.describe_last_choice() == "match point (artist rule relaxed: region thin)"


def test_recency_relaxes_last_and_then_the_artist_rule_is_off_too() -> None:
    tracks = [CatalogTrack(f"spotify:track:{i}", f"T{i}", ("Same",), 200.0, i / 100, 0.5) for i in range(2)]
    engine = engine_over(tracks)
    picks = [engine.pick(AT_ORIGIN) for _ in range(3)]
    assert [t.uri if t else None for t in picks] == ["spotify:track:0", "spotify:track:1", "spotify:track:0"]
    assert engine.last_choice().source == "relaxed:recency"  # type: ignore[union-attr]


def test_descriptions_keep_a_playlist_s_or_a_label_s_own_colons() -> None:
    lists = (playlist("Mood: sad: slow", (0.15, 0.25), 2),)
    engine = engine_over([], playlists=lists)
    assert engine.pick(match("sad")) is not None
    assert engine.describe_last_choice() == (
        "match sad, from playlist 'Mood: sad: slow' in its own order (the catalog has nothing near)")
    engine = engine_over(grid())
    engine.pick(PlayIntent(action="play", valence=0.5, energy=0.5, emotion="late: night: calm"))
    assert engine.describe_last_choice() == "match late: night: calm"


def test_match_learns_which_tracks_lift_the_valence() -> None:
    """Match's wanted direction is valence up, arousal aside: track 2 lifted both by 0.8 where the
    context's typical track (1) did nothing: a gain of 0.2, not enough to beat track 0, 0.3 nearer."""
    store = CatalogStore(":memory:")
    record(store, "spotify:track:1", full=1, valence_change=0.0)
    record(store, "spotify:track:2", full=1, valence_change=0.8, arousal_change=0.8)
    settings = EngineSettings(radius=0.35, max_distance=0.5, recent_tracks=0, recent_hours=0.0,
                              weights=Weights(distance=1.0, feedback=0.0, affect=1.0, novelty=0.0))
    engine = engine_over(on_line(0.0, 0.2, 0.3), store=store, settings=settings)
    track = engine.pick(AT_ORIGIN)
    assert track is not None
    assert track.uri == "spotify:track:0"
    choice = engine.last_choice()
    assert choice is not None
    assert (choice.mode, choice.context) == ("match", "match:point")


def shift_from_quarter(store: CatalogStore, tracks: list[CatalogTrack]) -> MoodEngine:
    """A shift from the listener at (0.25, 0.5) toward (1, 0.75), learning on affect alone."""
    settings = EngineSettings(recent_tracks=0, recent_hours=0.0,
                              weights=Weights(distance=1.0, feedback=0.0, affect=1.0, novelty=0.0))
    return engine_over(tracks, store=store, settings=settings, mood=(-0.5, 0.0))


@pytest.mark.parametrize("change", [(0.2, -0.8), (-0.2, 0.5), (-0.2, 0.4)])
def test_shift_learns_which_tracks_move_the_listener_toward_the_target(change: tuple[float, float]) -> None:
    """Two tracks equally near the start; track 0 moved the listener by ``change`` (against the
    direction (0.75, 0.25) to the target, only just), track 1 not at all: track 1 wins."""
    context = "shift:1,0.75"
    store = CatalogStore(":memory:")
    record(store, "spotify:track:0", full=1, valence_change=change[0], arousal_change=change[1],
           context=context)
    record(store, "spotify:track:1", full=1, valence_change=0.0, context=context)
    tracks = [CatalogTrack("spotify:track:0", "T0", ("A",), 200.0, 0.25, 0.51),
              CatalogTrack("spotify:track:1", "T1", ("B",), 200.0, 0.25, 0.49)]
    engine = shift_from_quarter(store, tracks)
    track = engine.pick(PlayIntent(action="play", valence=0.25, energy=0.5, mode="shift", emotion="sad",
                                   target="1,0.75"))
    assert track is not None
    assert track.uri == "spotify:track:1"
    choice = engine.last_choice()
    assert choice is not None
    assert (choice.mode, choice.context) == ("shift", context)


@pytest.mark.parametrize(("others", "expected"), [((0.62,), "spotify:track:0"), ((0.58,), "spotify:track:1")])
def test_a_shift_s_region_is_half_a_step(others: tuple[float, ...], expected: str) -> None:
    """Step 0.2: the region around the waypoint (0.5, 0.5) is 0.1. Track 0 (0.05 off) was skipped;
    another unlearned track competes with it only inside that region."""
    context = "shift:1,0.5"
    store = CatalogStore(":memory:")
    skipped_in(store, context, "spotify:track:0", 1)
    settings = EngineSettings(recent_tracks=0, recent_hours=0.0,
                              weights=Weights(distance=1.0, feedback=1.0, affect=0.0, novelty=0.0))
    engine = engine_over(on_line(0.55, *others), store=store, settings=settings, mood=(0.0, 0.0))
    track = engine.pick(PlayIntent(action="play", valence=0.5, energy=0.5, mode="shift", emotion="neutral",
                                   target="1,0.5"))
    assert track is not None
    assert track.uri == expected


# --- the index and the choice record ------------------------------------------------------------------


def test_the_index_keeps_each_track_with_finite_features_once() -> None:
    def track(uri: str, valence: float | None, energy: float | None) -> CatalogTrack:
        return CatalogTrack(f"spotify:track:{uri}", uri, ("A",), 200.0, valence, energy)

    tracks = [track("a", 0.1, 0.2), track("no-energy", 0.3, None), track("no-valence", None, 0.3),
              track("a", 0.9, 0.9), track("nan-energy", 0.4, math.nan), track("inf-valence", math.inf, 0.4),
              track("b", 0.5, 0.6)]
    engine = engine_over(tracks)
    assert engine.catalog_size == 2
    assert engine.region_size((0.1, 0.2)) == 1  # the first "a" is the one kept
    assert engine.region_size((0.9, 0.9)) == 0


def test_a_shift_step_after_a_playlist_track_steps_from_nowhere() -> None:
    """The start found nothing in the catalog (a playlist track played, whose point is unknown); the
    next step finds a catalog track beyond its region, with no step rule to apply."""
    settings = EngineSettings(shift=ShiftSettings(step=0.2, max_lead=1.0, follow_radius=0.1))
    engine = engine_over(on_line(0.5), settings=settings, playlists=(playlist("sad", (0.0, 0.5), 2),),
                         mood=(-1.0, 0.0))
    intent = PlayIntent(action="play", valence=0.0, energy=0.5, mode="shift", emotion="sad", target="1,0.5")
    first = engine.pick(intent)
    assert first is not None
    assert first.uri == "spotify:track:sad0"
    second = engine.pick(intent)
    assert second is not None
    assert second.uri == "spotify:track:0"
    assert engine.last_choice().source == "catalog"  # type: ignore[union-attr]


def test_the_choice_records_what_was_chosen_for_whom_and_how_long_it_took() -> None:
    def slow_mood() -> tuple[float, float]:
        until = time.perf_counter() + 0.005  # a mood source that takes 5 ms (no sleep: a bound)
        while time.perf_counter() < until:
            pass
        return (-0.5, 0.0)

    engine = MoodEngine(grid(), clock=ManualClock(EPOCH), mood_now=slow_mood)
    began = time.perf_counter()
    track = engine.pick(match("sad"))
    took_ms = (time.perf_counter() - began) * 1000.0
    choice = engine.last_choice()
    assert choice is not None
    assert track is not None
    assert (choice.track, choice.mode, choice.context) == (track, "match", "match:sad")
    assert (choice.wanted, choice.listener, choice.plan) == (DEFAULT_POINTS["sad"], (0.25, 0.5), None)
    assert 5.0 <= choice.choice_ms <= took_ms


def test_no_choice_before_the_first_pick() -> None:
    assert engine_over(grid()).last_choice() is None


def by_artist(*artists: str) -> list[CatalogTrack]:
    """One track per artist name, in that order of distance from (0, 0.5)."""
    return [CatalogTrack(f"spotify:track:{i}", f"T{i}", (artist,), 200.0, i / 100, 0.5)
            for i, artist in enumerate(artists)]


def test_an_artist_window_of_one_remembers_no_artist() -> None:
    engine = engine_over(by_artist("X", "X", "Y"), settings=EngineSettings(artist_window=1, max_per_artist=1))
    picks = [engine.pick(AT_ORIGIN) for _ in range(2)]
    assert [t.uri if t else None for t in picks] == ["spotify:track:0", "spotify:track:1"]
    assert engine.last_choice().source == "catalog"  # type: ignore[union-attr]


def test_the_artist_rule_looks_at_the_last_window_minus_one_picks() -> None:
    """artist_window 3: a track may follow its artist's track two picks later, not one."""
    settings = EngineSettings(artist_window=3, max_per_artist=1)
    engine = engine_over(by_artist("X", "X", "Y", "Z"), settings=settings)
    picks = [engine.pick(AT_ORIGIN) for _ in range(4)]
    assert [t.uri if t else None for t in picks] == [
        "spotify:track:0", "spotify:track:2", "spotify:track:3", "spotify:track:1"]
    assert engine.last_choice().source == "catalog"  # type: ignore[union-attr]


def played_before(count: int, **settings: Any) -> str:
    """A catalog of count + 1 tracks, ``count`` of them played (an hour ago and since, the farthest
    left over): what does an engine starting on that catalog pick first?"""
    tracks = grid(step=1 / 24)[: count + 1]  # 625 tracks at most, the last the farthest from happy
    far = max(tracks, key=lambda t: distance((t.valence or 0.0, t.energy or 0.0), DEFAULT_POINTS["happy"]))
    store = CatalogStore(":memory:")
    store.upsert_tracks(tracks, source="test")
    played = [t for t in tracks if t.uri != far.uri]
    for k, track in enumerate(played):
        store.record_play(track.uri, context="match:happy", listened_s=200.0, skipped=False,
                          valence_change=None, arousal_change=None, at=EPOCH - 3600.0 + k)
    engine = engine_over(tracks, store=store, settings=EngineSettings(max_distance=1.5, **settings))
    track = engine.pick(match("happy"))
    assert track is not None
    assert track.uri == far.uri
    return engine.last_choice().source  # type: ignore[union-attr]


def test_a_restart_remembers_500_plays_for_the_hours_rule() -> None:
    """recent_tracks 50, recent_hours 3: the 100 plays of the last hour all stay out after a restart."""
    assert played_before(100) == "catalog"


def test_a_restart_remembers_as_many_plays_as_recent_tracks() -> None:
    assert played_before(600, recent_tracks=600, recent_hours=0.0) == "catalog"


def artists_played(store: CatalogStore, *artists: str) -> None:
    """Plays by these artists, oldest first, each of its own track (in the store, not the engine)."""
    store.upsert_tracks([CatalogTrack(f"spotify:track:old{k}", f"Old {k}", (artist,), 200.0)
                         for k, artist in enumerate(artists)], source="test")
    for k in range(len(artists)):
        store.record_play(f"spotify:track:old{k}", context="match:point", listened_s=200.0, skipped=False,
                          valence_change=None, arousal_change=None, at=EPOCH - 100_000.0 + k)


def test_a_restart_remembers_the_artists_of_the_last_window_minus_one_plays() -> None:
    """artist_window 3: the two last plays were by X and Y: both are capped after a restart."""
    store = CatalogStore(":memory:")
    artists_played(store, "X", "Y")
    engine = engine_over(by_artist("X", "Y", "Z"), store=store,
                         settings=EngineSettings(artist_window=3, max_per_artist=1, recent_hours=0.0))
    track = engine.pick(AT_ORIGIN)
    assert track is not None
    assert track.uri == "spotify:track:2"


def test_a_restart_reads_as_many_plays_as_the_artist_window_needs() -> None:
    """artist_window 600: the artist of the 599th play back is still capped after a restart."""
    store = CatalogStore(":memory:")
    artists_played(store, "X", *(f"Other {k}" for k in range(598)))
    engine = engine_over(by_artist("X", "Y"), store=store,
                         settings=EngineSettings(artist_window=600, max_per_artist=1, recent_hours=0.0))
    track = engine.pick(AT_ORIGIN)
    assert track is not None
    assert track.uri == "spotify:track:1"


def test_a_restart_forgets_plays_beyond_the_500th() -> None:
    """recent_tracks 50, three hours: 501 plays in the last hour; the oldest one's track is free."""
    tracks = grid(step=1 / 24)[:502]
    nearest = engine_over(tracks).pick(match("happy"))
    assert nearest is not None
    store = CatalogStore(":memory:")
    store.upsert_tracks(tracks, source="test")
    others = [t for t in tracks if t.uri != nearest.uri][:500]
    for k, track in enumerate([nearest, *others]):  # the nearest is the oldest of 501
        store.record_play(track.uri, context="match:happy", listened_s=200.0, skipped=False,
                          valence_change=None, arousal_change=None, at=EPOCH - 3600.0 + k)
    engine = engine_over(tracks, store=store)
    track = engine.pick(match("happy"))
    assert track is not None
    assert track.uri == nearest.uri
    assert engine.last_choice().source == "catalog"  # type: ignore[union-attr]
