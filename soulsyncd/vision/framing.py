"""The framing check's figures, measured without keeping or sending a pixel.

:class:`FramingMeter` is fed each analysed frame and the face boxes the detector found there; it
returns a :class:`~soulsyncd.core.state.Framing` value: the picture's shape, the boxes, how often a
face was found over the last minute, and the picture's brightness and sharpness. Brightness and
sharpness come from a small grey copy of the frame (:data:`MEASURE_WIDTH` pixels wide), measured at
most once per :data:`MEASURE_INTERVAL_S`, so they cost well under a millisecond a second.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from soulsyncd.types import FaceBox, Framing

MEASURE_INTERVAL_S = 1.0  # brightness/sharpness at most this often: they change slowly
MEASURE_WIDTH = 160  # pixels; enough to judge light and focus, 1/16 of a VGA frame's work
FACE_RATE_WINDOW_S = 60.0  # "a face was found in x % of the frames of the last minute"
_WINDOW_MAX = 60 * 60  # frames kept at most (an hour at 1 frame/s, a minute at 60 frames/s)

TOO_DARK_BELOW = 50.0  # mean grey level (0-255) under which the detector starts missing faces
BLURRED_BELOW = 25.0  # variance of the Laplacian of the small grey picture under which it is soft
# (real room clips measure 600-800, the same blurred by a 4-pixel Gaussian about 12)


def picture_figures(image: np.ndarray) -> tuple[float, float]:
    """(brightness, sharpness) of a BGR or grey image: the mean grey level (0-255) and the variance
    of the Laplacian of a :data:`MEASURE_WIDTH`-pixel-wide grey copy (higher: sharper)."""
    height, width = image.shape[:2]
    scale = min(1.0, MEASURE_WIDTH / max(1, width))
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    if small.ndim == 3 and small.shape[2] == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    elif small.ndim == 3:
        small = small[:, :, 0]
    brightness = float(small.mean())
    sharpness = float(cv2.Laplacian(small, cv2.CV_64F).var())
    return round(brightness, 1), round(sharpness, 1)


class FramingMeter:
    """Keeps the last minute's face-found flags and the latest picture figures (analysis thread only)."""

    def __init__(self) -> None:
        self._seen: deque[tuple[float, bool]] = deque(maxlen=_WINDOW_MAX)
        self._measured_at: float | None = None
        self._figures: tuple[float | None, float | None] = (None, None)

    def update(self, image: np.ndarray, boxes: list[FaceBox], now: float) -> Framing:
        """The framing figures after one analysed frame seen at ``now`` (monotonic seconds)."""
        self._seen.append((now, bool(boxes)))
        while self._seen and self._seen[0][0] < now - FACE_RATE_WINDOW_S:
            self._seen.popleft()
        if self._measured_at is None or now - self._measured_at >= MEASURE_INTERVAL_S:
            self._measured_at = now
            self._figures = picture_figures(image)
        found = sum(1 for _, face in self._seen if face)
        height, width = image.shape[:2]
        return Framing(
            width=int(width), height=int(height),
            boxes=tuple((b.x, b.y, b.w, b.h) for b in boxes),
            face_rate=round(found / len(self._seen), 3),
            brightness=self._figures[0], sharpness=self._figures[1],
        )

    def reset(self) -> Framing:
        """The camera was switched off: forget the figures; returns the "unknown" framing to publish."""
        self._seen.clear()
        self._measured_at = None
        self._figures = (None, None)
        return Framing()
