"""The daemon wired with the mood engine (soulsyncd.app.build): a file camera, the dry-run player and a
catalog imported on first start; the state shows the engine's choices."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from soulsyncd.app import build
from soulsyncd.catalog.store import CatalogStore, catalog_path
from soulsyncd.config import load_config

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
