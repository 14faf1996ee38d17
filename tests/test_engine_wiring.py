"""The daemon wired with the mood engine (soulsyncd.app.build): a file camera, the dry-run player and a
catalog imported on first start; the state shows the engine's choices."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from soulsyncd.app import build
from soulsyncd.catalog.store import CatalogError, CatalogStore, CatalogTrack, catalog_path
from soulsyncd.config import Config, load_config
from soulsyncd.mood.engine import MoodPlaylist
from soulsyncd.mood.factory import (
    build_engine,
    engine_settings,
    latest_mood,
    open_catalog,
    read_catalog,
    refresh,
)
from soulsyncd.mood.learning import Weights
from soulsyncd.mood.shift import ShiftSettings
from soulsyncd.mood.targets import DEFAULT_POINTS
from soulsyncd.testing import ManualClock
from soulsyncd.types import Emotion, Mood, PlayIntent

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config" / "sample_catalog.csv"


def test_run_plays_real_tracks_from_the_imported_catalog(
    tmp_path: Path, render_scene: Callable[..., Path],
) -> None:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, size=(320, 240), timeline=[(4.0, "happy")])
    config_path = tmp_path / "c.yaml"
    config_path.write_text(
        f"camera:\n  kind: file\n  path: {video}\n  loop: false\n  pace: fast\n"
        "analysis:\n  fps: 30\nplayer:\n  kind: dry-run\n  min_interval_s: 0\n  track_s: 60\n"
        f"policy:\n  mode: match\nengine:\n  import_csv: {SAMPLE}\nstate:\n  dir: {tmp_path / 'state'}\n"
    )
    config = load_config(config_path)
    core = build(config)
    stop = threading.Event()
    timer = threading.Timer(20.0, stop.set)  # a bound, not a wait: the clip ends first
    timer.start()
    try:
        core.run(stop)
    finally:
        timer.cancel()
    state = core.latest()
    assert state.mood is None  # the clip ended: nobody can tell the mood now
    assert [c.mood.label for c in core.stats.timeline][-1] == "happy"
    assert state.player.track is not None
    assert state.player.track.valence is not None
    assert state.player.detail.startswith("match ")
    with CatalogStore(catalog_path(config)) as store:
        assert store.count() == 1200  # imported once, on the first start


def test_an_unreadable_catalog_leaves_a_daemon_that_still_runs(tmp_path: Path,
                                                               render_scene: Callable[..., Path]) -> None:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, size=(320, 240), timeline=[(2.0, "sad")])
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "catalog.sqlite3").write_bytes(b"this is not a database" * 100)
    config_path = tmp_path / "c.yaml"
    config_path.write_text(
        f"camera:\n  kind: file\n  path: {video}\n  loop: false\n  pace: fast\n"
        f"analysis:\n  fps: 30\nplayer:\n  kind: dry-run\n  min_interval_s: 0\nstate:\n  dir: {state_dir}\n"
    )
    core = build(load_config(config_path))
    stop = threading.Event()
    timer = threading.Timer(20.0, stop.set)
    timer.start()
    try:
        core.run(stop)
    finally:
        timer.cancel()
    assert core.latest().player.track is None  # nothing to choose from: dry-run decisions only


# --- soulsyncd.mood.factory, piece by piece ------------------------------------------------------------

EPOCH = 1_767_225_600.0


def config_at(tmp_path: Path, text: str = "") -> Config:
    path = tmp_path / "c.yaml"
    path.write_text(f"state:\n  dir: {tmp_path / 'state'}\n{text}")
    return load_config(path)


def test_every_engine_key_reaches_the_engine_settings(tmp_path: Path) -> None:
    settings = engine_settings(config_at(
        tmp_path,
        "policy:\n  step: 0.15\nengine:\n  recent_tracks: 30\n  recent_hours: 5.0\n  max_per_artist: 3\n"
        "  artist_window: 12\n  radius: 0.2\n  max_distance: 0.5\n  skip_window_s: 20.0\n"
        "  ban_after_skips: 3\n"
        "  follow_radius: 0.12\n  holds_before_back: 4\n  restart_after_s: 600.0\n  max_lead: 0.5\n"
        "  weights:\n    distance: 0.9\n    feedback: 0.1\n    affect: 0.2\n    novelty: 0.3\n"
        "  emotion_points:\n    happy: [0.9, 0.75]\n",
    ))
    assert (settings.recent_tracks, settings.recent_hours) == (30, 5.0)
    assert (settings.max_per_artist, settings.artist_window) == (3, 12)
    assert (settings.radius, settings.max_distance, settings.skip_window_s, settings.ban_after_skips) == (
        0.2, 0.5, 20.0, 3)
    assert settings.shift == ShiftSettings(step=0.15, max_lead=0.5, follow_radius=0.12, holds_before_back=4)
    assert settings.restart_after_s == 600.0
    assert settings.weights == Weights(distance=0.9, feedback=0.1, affect=0.2, novelty=0.3)
    assert settings.points == {**DEFAULT_POINTS, "happy": (0.9, 0.75)}


@pytest.mark.parametrize(("max_lead", "expected"), [("", 0.5), ("  max_lead: 0.1\n", 0.25),
                                                    ("  max_lead: 0.3\n", 0.3)])
def test_the_shift_s_lead_is_two_steps_unless_set_and_never_under_one(
    tmp_path: Path, max_lead: str, expected: float
) -> None:
    config = config_at(tmp_path, f"policy:\n  step: 0.25\nengine:\n{max_lead}  radius: 0.15\n")
    settings = engine_settings(config)
    assert settings.shift.max_lead == expected


def test_the_engine_reads_the_smoothed_mood_of_the_latest_state() -> None:
    states: list[object | None] = [None]
    mood_now = latest_mood(lambda: states[0])  # type: ignore[arg-type,return-value]
    assert mood_now() is None  # no snapshot yet
    states[0] = SimpleNamespace(mood=None)
    assert mood_now() is None  # no mood yet
    states[0] = SimpleNamespace(mood=Mood(emotion=None, confidence=0.0, valence=0.0, arousal=0.0, since=0.0))
    assert mood_now() is None  # nobody there
    states[0] = SimpleNamespace(mood=Mood(emotion=Emotion.SAD, confidence=0.9, valence=-0.6, arousal=-0.3,
                                          since=0.0))
    assert mood_now() == (-0.6, -0.3)


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def test_a_catalog_that_cannot_be_opened_is_logged_and_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_at(tmp_path)
    catalog_path(config).parent.mkdir()
    catalog_path(config).write_bytes(b"this is not a database" * 100)
    assert open_catalog(config) is None
    [line] = error_lines(caplog)
    assert line.startswith("mood engine: ")
    assert str(catalog_path(config)) in line
    assert line.endswith("; choosing without a catalog")


def test_an_import_that_fails_is_logged_and_the_catalog_stays_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing.csv"
    store = open_catalog(config_at(tmp_path, f"engine:\n  import_csv: {missing}\n"))
    assert store is not None
    with store:
        assert store.count() == 0
    [line] = error_lines(caplog)
    assert line.startswith("mood engine: engine.import_csv: ")
    assert "missing.csv" in line


def test_a_catalog_error_while_importing_is_logged_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: CatalogStore) -> int:
        raise CatalogError("disk I/O error")

    monkeypatch.setattr(CatalogStore, "count", broken)
    store = open_catalog(config_at(tmp_path, f"engine:\n  import_csv: {SAMPLE}\n"))
    assert store is not None
    store.close()
    assert error_lines(caplog) == [f"mood engine: importing {SAMPLE}: disk I/O error"]


def test_refresh_brings_new_tracks_and_mood_playlists_into_a_running_engine(tmp_path: Path) -> None:
    config = config_at(tmp_path, "engine:\n  radius: 0.1\n  max_distance: 0.2\n")
    happy = [CatalogTrack(uri=f"spotify:track:h{k}", name=f"H{k}", artists=(f"A{k}",), duration_s=200.0,
                          valence=0.85, energy=0.7) for k in range(3)]
    # The playlist is tagged sad, but its tracks' own features are far from sad: only the playlist
    # fallback can play them for a sad mood.
    sad = [CatalogTrack(uri=f"spotify:track:s{k}", name=f"S{k}", artists=(f"B{k}",), duration_s=200.0,
                        valence=0.9, energy=0.9) for k in range(2)]
    with CatalogStore(tmp_path / "catalog.sqlite3") as store:
        store.upsert_tracks(happy, source="csv:test")
        engine = build_engine(config, store=store, mood_now=lambda: None, clock=ManualClock(EPOCH))
        sad_intent = PlayIntent(action="play", valence=0.15, energy=0.25, mode="match", emotion="sad")
        assert (engine.catalog_size, engine.pick(sad_intent)) == (3, None)
        store.set_playlist("spotify:playlist:sad", name="Sad songs", tag="sad", valence=0.15, energy=0.25,
                           tracks=sad)
        refresh(engine, store)
        assert engine.catalog_size == 5
        track = engine.pick(sad_intent)
        assert track is not None
        assert track.uri == "spotify:track:s0"
        choice = engine.last_choice()
        assert choice is not None
        assert choice.source == "playlist:Sad songs"


def test_read_catalog_gives_the_tracks_with_features_and_the_playlists_with_a_point() -> None:
    featured = CatalogTrack(uri="spotify:track:f", name="F", artists=("A",), duration_s=200.0,
                            valence=0.2, energy=0.3)
    bare = CatalogTrack(uri="spotify:track:b", name="B", artists=("B",), duration_s=180.0)
    with CatalogStore(":memory:") as store:
        store.upsert_tracks([featured, bare], source="csv:test")
        # By name: the pointless ones come first, so one of them must not end the reading.
        store.set_playlist("spotify:playlist:1", name="A no energy", tag="sad", valence=0.2, energy=None,
                           tracks=[bare])
        store.set_playlist("spotify:playlist:2", name="B no valence", tag="sad", valence=None, energy=0.2,
                           tracks=[bare])
        store.set_playlist("spotify:playlist:3", name="C calm", tag="calm", valence=0.6, energy=0.25,
                           tracks=[featured])
        tracks, playlists = read_catalog(store)
        assert [t.uri for t in tracks] == ["spotify:track:f"]
        assert playlists == [MoodPlaylist(name="C calm", tag="calm", point=(0.6, 0.25),
                                          tracks=tuple(store.playlist_tracks("spotify:playlist:3")))]
        assert [t.uri for t in playlists[0].tracks] == ["spotify:track:f"]
    assert read_catalog(None) == ([], [])


def test_read_catalog_logs_what_it_could_not_read_and_keeps_the_rest(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> list[object]:
        raise CatalogError("catalog.sqlite3: locked by another process")

    with CatalogStore(":memory:") as store:
        store.set_playlist("spotify:playlist:3", name="Calm", tag="calm", valence=0.6, energy=0.25,
                           tracks=[CatalogTrack(uri="spotify:track:c", name="C", artists=("C",))])
        monkeypatch.setattr(store, "tracks", broken)
        tracks, playlists = read_catalog(store)
        assert (tracks, [p.name for p in playlists]) == ([], ["Calm"])
        monkeypatch.undo()
        monkeypatch.setattr(store, "playlists", broken)
        tracks, playlists = read_catalog(store)
        assert (len(tracks), playlists) == (1, [])
    assert error_lines(caplog) == [
        "mood engine: catalog.sqlite3: locked by another process; choosing from the mood playlists only",
        "mood engine: catalog.sqlite3: locked by another process; no mood playlists to fall back to",
    ]


def test_build_engine_uses_the_config_s_rules_the_store_s_playlists_and_records_into_it(
    tmp_path: Path,
) -> None:
    config = config_at(tmp_path, "engine:\n  recent_tracks: 0\n  recent_hours: 0\n")
    near = CatalogTrack(uri="spotify:track:n", name="N", artists=("A",), duration_s=200.0, valence=0.85,
                        energy=0.7)
    far = CatalogTrack(uri="spotify:track:f", name="F", artists=("B",), duration_s=200.0, valence=0.9,
                       energy=0.9)
    with CatalogStore(tmp_path / "catalog.sqlite3") as store:
        store.upsert_tracks([near], source="csv:test")
        store.set_playlist("spotify:playlist:sad", name="Sad songs", tag="sad", valence=0.15, energy=0.25,
                           tracks=[far])
        engine = build_engine(config, store=store, mood_now=lambda: None, clock=ManualClock(EPOCH))
        happy = PlayIntent(action="play", valence=0.85, energy=0.7, mode="match", emotion="happy")
        first, second = engine.pick(happy), engine.pick(happy)
        assert (first, second) == (near.to_track(), near.to_track())  # no recency rule in this config
        engine.finished(near.to_track(), 200.0, False)
        assert store.feedback("match:happy")["spotify:track:n"].full_plays == 1
        sad = engine.pick(PlayIntent(action="play", valence=0.15, energy=0.25, mode="match", emotion="sad"))
        assert sad is not None
        assert sad.uri == "spotify:track:f"
        assert engine.last_choice().source == "playlist:Sad songs"  # type: ignore[union-attr]
