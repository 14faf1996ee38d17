"""``app.build`` passes every config key through: each key set to a non-default value must arrive.

A wrong or forgotten pass-through (a component left on its own default) fails one of these tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from soulsyncd.app import build, build_source
from soulsyncd.config import load_config
from soulsyncd.core.loop import SoulSync
from soulsyncd.mood.factory import engine_settings
from soulsyncd.vision.classifier import DEFAULT_MODEL_PATH


@pytest.fixture
def still(tmp_path: Path) -> Path:
    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    return image


def built(tmp_path: Path, still: Path, extra: str) -> SoulSync:
    config = tmp_path / "c.yaml"
    config.write_text(f"camera:\n  kind: file\n  path: {still}\nstate:\n  dir: {tmp_path / 'state'}\n{extra}")
    return build(load_config(config))


# (YAML, how to read the value back from the built core, the value set) — every value differs from
# the key's default, so a component left on its default fails.
CORE_KEYS: list[tuple[str, Callable[[SoulSync], Any], Any]] = [
    ("analysis:\n  fps: 7.5\n", lambda c: c.interval_s, pytest.approx(1 / 7.5)),
    ("analysis:\n  faces: all\n", lambda c: c.detector._faces_mode, "all"),  # type: ignore[union-attr]
    ("detection:\n  scale_factor: 1.25\n", lambda c: c.detector._scale_factor, 1.25),  # type: ignore[union-attr]
    ("detection:\n  min_neighbors: 3\n", lambda c: c.detector._min_neighbors, 3),  # type: ignore[union-attr]
    ("detection:\n  min_face_px: 44\n", lambda c: c.detector._min_face_px, 44),  # type: ignore[union-attr]
    ("detection:\n  detect_width: 400\n", lambda c: c.detector._detect_width, 400),  # type: ignore[union-attr]
    ("detection:\n  full_scan_interval_s: 3.5\n",
     lambda c: c.detector._full_scan_interval_s, 3.5),  # type: ignore[union-attr]
    ("detection:\n  idle_scan_interval_s: 9.0\n",
     lambda c: c.detector._idle_scan_interval_s, 9.0),  # type: ignore[union-attr]
    ("detection:\n  change_threshold: 20.0\n",
     lambda c: c.detector._change_threshold, 20.0),  # type: ignore[union-attr]
    ("detection:\n  change_area: 0.02\n", lambda c: c.detector._change_area, 0.02),  # type: ignore[union-attr]
    ("model:\n  num_threads: 2\n", lambda c: c.classifier.options.num_threads, 2),  # type: ignore[union-attr]
    ("model:\n  flip_average: false\n", lambda c: c.classifier.options.flip_average, False),  # type: ignore[union-attr]
    ("smoothing:\n  window_s: 7.0\n", lambda c: c.smoother.window_s, 7.0),
    ("smoothing:\n  margin: 0.3\n", lambda c: c.smoother.margin, 0.3),
    ("smoothing:\n  dwell_s: 2.0\n", lambda c: c.smoother.dwell_s, 2.0),
    ("smoothing:\n  absent_after_s: 4.5\n", lambda c: c.smoother.absent_after_s, 4.5),
    ("policy:\n  mode: shift\n", lambda c: c.policy.mode, "shift"),
    ("policy:\n  target: happy\n", lambda c: c.policy.target, "happy"),
    ("player:\n  kind: dry-run\n  min_interval_s: 12.0\n",
     lambda c: c.player._min_interval_s, 12.0),  # type: ignore[union-attr]
    ("player:\n  kind: dry-run\n  track_s: 9.0\n",
     lambda c: c._worker._player._track_s, 9.0),  # type: ignore[union-attr]
]


@pytest.mark.parametrize(("yaml_text", "read", "expected"), CORE_KEYS, ids=[k[0].split(":")[0] + "." +
                         k[0].split("\n")[-2].strip().split(":")[0] for k in CORE_KEYS])
def test_build_passes_the_key_through(tmp_path: Path, still: Path, yaml_text: str,
                                      read: Callable[[SoulSync], Any], expected: Any) -> None:
    core = built(tmp_path, still, yaml_text)
    try:
        assert read(core) == expected
    finally:
        core.close()


def test_model_path_reaches_the_classifier(tmp_path: Path, still: Path) -> None:
    model = tmp_path / "models" / "m.tflite"
    model.parent.mkdir()
    model.write_bytes(DEFAULT_MODEL_PATH.read_bytes())
    (model.parent / "emotion.json").write_bytes((DEFAULT_MODEL_PATH.parent / "emotion.json").read_bytes())
    core = built(tmp_path, still, f"model:\n  path: {model}\n")
    try:
        assert core.classifier.options.model_path == model  # type: ignore[union-attr]
    finally:
        core.close()


def test_state_dir_holds_the_catalog(tmp_path: Path, still: Path) -> None:
    core = built(tmp_path, still, "")
    core.close()
    assert (tmp_path / "state" / "catalog.sqlite3").is_file()


def test_file_camera_keys_reach_the_source(tmp_path: Path, still: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"camera:\n  kind: file\n  path: {still}\n  loop: false\n  pace: fast\n  fps: 12.0\n"
                      "  retry_initial_s: 0.5\n  retry_max_s: 7.0\n")
    source: Any = build_source(load_config(config))
    assert (source._loop, source._pace, source._fps_override) == (False, "fast", 12.0)
    assert (source._retry_initial_s, source._retry_max_s) == (0.5, 7.0)
    assert Path(source._path) == still


def test_usb_camera_keys_reach_the_source(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("camera:\n  kind: usb\n  device: /dev/video3\n  width: 320\n  height: 240\n"
                      "  fps: 15.0\n  retry_initial_s: 0.5\n  retry_max_s: 7.0\n")
    source: Any = build_source(load_config(config))
    assert (source._device, source._width, source._height, source._fps) == ("/dev/video3", 320, 240, 15.0)
    assert (source._retry_initial_s, source._retry_max_s) == (0.5, 7.0)


def test_every_engine_key_reaches_the_engine_settings(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "policy:\n  step: 0.15\nengine:\n  recent_tracks: 30\n  recent_hours: 5.0\n  max_per_artist: 3\n"
        "  artist_window: 12\n  radius: 0.2\n  max_distance: 0.5\n  skip_window_s: 20.0\n"
        "  ban_after_skips: 3\n"
        "  follow_radius: 0.12\n  holds_before_back: 4\n  restart_after_s: 600.0\n  max_lead: 0.5\n"
        "  weights:\n    distance: 0.9\n    feedback: 0.1\n    affect: 0.2\n    novelty: 0.3\n")
    settings = engine_settings(load_config(config))
    assert (settings.recent_tracks, settings.recent_hours) == (30, 5.0)
    assert (settings.max_per_artist, settings.artist_window) == (3, 12)
    assert (settings.radius, settings.max_distance, settings.skip_window_s, settings.ban_after_skips) == (
        0.2, 0.5, 20.0, 3)
    assert (settings.shift.step, settings.shift.max_lead, settings.shift.follow_radius,
            settings.shift.holds_before_back) == (0.15, 0.5, 0.12, 4)
    assert settings.restart_after_s == 600.0
    weights = settings.weights
    assert (weights.distance, weights.feedback, weights.affect, weights.novelty) == (0.9, 0.1, 0.2, 0.3)
