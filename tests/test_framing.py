"""The framing check's figures: face boxes, face-found rate over the last minute, brightness, sharpness,
carried in the core's snapshot and cleared when the camera is switched off."""

from __future__ import annotations

import cv2
import numpy as np

from soulsyncd.core.commands import SetCamera
from soulsyncd.core.state import Framing
from soulsyncd.testing import ManualClock
from soulsyncd.types import FaceBox
from soulsyncd.vision.framing import (
    BLURRED_BELOW,
    FACE_RATE_WINDOW_S,
    MEASURE_INTERVAL_S,
    TOO_DARK_BELOW,
    FramingMeter,
    picture_figures,
)
from tests.test_core import FACE, TrackedSource, drive, make_core


def _scene(level: int = 128) -> np.ndarray:
    """A detailed picture (a checkerboard with edges) at a given mean grey level."""
    rng = np.random.default_rng(1)
    image = (rng.random((240, 320)) > 0.5).astype(np.float32)
    image = cv2.resize(image, (320, 240), interpolation=cv2.INTER_NEAREST)
    grey = (image * 2 * level).clip(0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def test_a_dark_picture_and_a_blurred_one_fall_under_their_hint_thresholds() -> None:
    brightness, sharpness = picture_figures(_scene(100))
    assert brightness > TOO_DARK_BELOW
    assert sharpness > BLURRED_BELOW
    dark, _ = picture_figures(_scene(20))
    assert dark < TOO_DARK_BELOW
    _, soft = picture_figures(cv2.GaussianBlur(_scene(100), (0, 0), 6))
    assert soft < BLURRED_BELOW


def test_the_face_rate_covers_only_the_last_minute() -> None:
    meter = FramingMeter()
    image = _scene()
    box = [FaceBox(10, 20, 30, 40)]
    t = 0.0
    for _ in range(60):  # a minute without a face ...
        meter.update(image, [], t)
        t += 1.0
    framing = meter.update(image, box, t)
    assert framing.face_rate is not None
    assert framing.face_rate < 0.05
    for _ in range(int(FACE_RATE_WINDOW_S) + 1):  # ... then a minute with one: the old minute is gone
        t += 1.0
        framing = meter.update(image, box, t)
    assert framing.face_rate == 1.0
    assert framing.boxes == ((10, 20, 30, 40),)
    assert (framing.width, framing.height) == (320, 240)


def test_picture_figures_are_measured_at_most_once_per_interval() -> None:
    meter = FramingMeter()
    first = meter.update(_scene(100), [], 0.0)
    darker = meter.update(_scene(20), [], MEASURE_INTERVAL_S / 2)
    assert darker.brightness == first.brightness  # not yet measured again
    later = meter.update(_scene(20), [], MEASURE_INTERVAL_S)
    assert later.brightness is not None
    assert first.brightness is not None
    assert later.brightness < first.brightness


def test_the_snapshot_carries_the_framing_and_the_camera_switch_clears_it() -> None:
    clock = ManualClock()
    core = make_core([], clock, factory=lambda: TrackedSource([FACE] * 10, clock))
    core.source = TrackedSource([FACE] * 20, clock)
    drive(core, clock, 5)
    framing = core.latest().framing
    assert framing.boxes == ((8, 8, 48, 48),)  # the detector's box, no pixels
    assert framing.face_rate == 1.0
    assert framing.brightness == 128.0
    assert (framing.width, framing.height) == (64, 64)
    core.submit(SetCamera(enabled=False))
    drive(core, clock, 2)
    cleared = core.latest().framing
    assert cleared == Framing()
    core.close()
