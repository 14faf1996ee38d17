"""Face detection with OpenCV's Haar cascade, made cheap enough to run on every analysed frame.

A plain Haar scan of a whole 640x480 frame costs tens of milliseconds on one Pi-class core. Two
things bring the typical frame down to a few milliseconds without losing faces:

* **Full scans run on a downscaled frame.** The grey frame is shrunk to ``detect_width`` pixels
  wide before the cascade sees it. The cascade cannot find anything smaller than its own 24x24 px
  window, so the smallest face a full scan finds is ``max(min_face_px, 24 / scale)`` full-frame
  pixels (48 px for a 640 px frame at the default width of 320).
* **Between full scans, only the last faces are searched.** Each tracked face gets a region of
  interest (its box widened by 30 % of its size on every side), shrunk so the face is about
  64 px across, and searched only for faces between 0.8x and 1.25x the last size. That is a
  handful of cascade scales on a ~100 px image instead of the whole pyramid over the whole frame.

A full scan still runs every ``full_scan_interval_s`` (so a newcomer is noticed) and whenever
nothing is being tracked. When a region loses its face the whole frame is scanned again at once,
in the same call, so a face that moved further than the margin is not reported missing.

Threads: OpenCV parallelises ``detectMultiScale`` over its own thread pool; how many threads it
may use (``cv2.setNumThreads``) is the application's decision, not this module's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from soulsyncd.interfaces import Clock, SystemClock
from soulsyncd.types import FaceBox, Frame

logger = logging.getLogger(__name__)

CASCADE_FILE = "haarcascade_frontalface_default.xml"

# How far a tracked face may move (a fraction of its size, on every side) or change size between
# two analysed frames and still be found by the cheap region search; one that goes further is
# found by the fallback full scan, so these trade cost against fallbacks, not against misses.
# A region search costs about ((1 + 2 * margin) / min factor)^2 cascade windows per scale; on
# the e2e clips sampled at 5 frames/s, 0.3 and 0.8 cost half as much as 0.5 and 0.6 and fall
# back to a full scan no more often (about one frame in a hundred).
ROI_MARGIN = 0.3
ROI_MIN_SIZE_FACTOR = 0.8
ROI_MAX_SIZE_FACTOR = 1 / ROI_MIN_SIZE_FACTOR
# Inside a region the face is shrunk to about this size. Smaller is cheaper, but below ~60 px
# the cascade's boxes come out 5-10 % larger than a full-resolution scan's (the crops handed to
# the classifier would then be framed differently on tracked frames) and it loses faces more.
ROI_FACE_PX = 64

FaceMode = Literal["largest", "all"]

# The options' limits, declared once: the config's fields use these same constants.
SCALE_FACTOR_MIN = 1.01  # closer to 1 the pyramid has thousands of scales and a scan never ends
SCALE_FACTOR_MAX = 2.0  # coarser steps skip face sizes between scales
MIN_NEIGHBORS_MAX = 100
MIN_FACE_PX_MIN = 10  # smaller crops carry no expression the 48x48 classifier can read
MIN_FACE_PX_MAX = 4096
DETECT_WIDTH_MIN = 80  # narrower, a face at a few metres is below the cascade's 24 px window
DETECT_WIDTH_MAX = 4096
FULL_SCAN_INTERVAL_S_MAX = 60.0  # a newcomer must be noticed within about a minute


class DetectorError(RuntimeError):
    """The Haar cascade file is missing or cannot be loaded; the message names the path."""


def default_cascade_path() -> Path:
    """Where opencv-python keeps the frontal-face cascade."""
    # opencv-python's bundled stubs do not declare the pure-Python ``cv2.data`` module.
    return Path(cv2.data.haarcascades) / CASCADE_FILE  # type: ignore[attr-defined,unused-ignore]


def to_gray(image: np.ndarray) -> np.ndarray:
    """One-channel uint8 version of a BGR, BGRA or already grey image (grey input is returned as is)."""
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected a grey, BGR or BGRA image, got shape {image.shape}")


def crop_faces(image: np.ndarray, boxes: list[FaceBox]) -> list[np.ndarray]:
    """Grey face crops from the full-resolution frame (BGR or grey), one per box, in the boxes' order.

    Only the crops are converted to grey, not the whole frame: on a tracked frame the detector never
    needed the full grey frame, so the analysis loop must not pay for one either.
    Boxes are clipped to the frame, so a crop can be smaller than its box at the frame's edge;
    a box entirely outside the frame is skipped (the detector never returns one).
    """
    height, width = image.shape[:2]
    crops: list[np.ndarray] = []
    for box in boxes:
        x0, y0 = max(0, box.x), max(0, box.y)
        x1, y1 = min(width, box.x + box.w), min(height, box.y + box.h)
        if x1 > x0 and y1 > y0:
            crops.append(to_gray(image[y0:y1, x0:x1]))
    return crops


@dataclass
class DetectorStats:
    """Counters of how the detector answered, for tests, benchmarks and the debug log.

    ``frames == full_scans + roi_scans - roi_misses``: a frame whose region search lost a face is
    counted both as a region search and (for its fallback) as a full scan.
    """

    frames: int = 0
    full_scans: int = 0  # whole-frame scans: periodic, nothing tracked, or fallback after a miss
    roi_scans: int = 0  # frames on which the regions around the tracked faces were searched first
    roi_misses: int = 0  # region searches that lost a face and fell back to a full scan


class HaarFaceDetector:
    """Finds frontal faces in BGR frames, tracking them between periodic full scans.

    In ``"all"`` mode a face that enters while others are tracked is found at the next periodic
    full scan, at most ``full_scan_interval_s`` later. Not thread-safe: one instance belongs to
    the analysis thread, which feeds it frames in order.
    """

    def __init__(
        self,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_face_px: int = 30,
        detect_width: int = 320,
        full_scan_interval_s: float = 2.0,
        faces: FaceMode = "largest",
        clock: Clock | None = None,
        cascade_path: Path | None = None,
    ) -> None:
        """Load the cascade.

        Args:
            scale_factor: Ratio between successive cascade scales (smaller is slower and finer).
            min_neighbors: Overlapping hits a detection needs (higher: fewer false faces).
            min_face_px: Smallest face to report, in full-frame pixels (see the module docstring
                for the floor the downscaled full scan imposes).
            detect_width: Width the frame is shrunk to for a full scan (frames narrower than this
                are scanned as they are).
            full_scan_interval_s: Longest time between two whole-frame scans while tracking.
            faces: ``"largest"`` reports (and tracks) only the largest face; ``"all"`` every face.
            clock: Decides when the next full scan is due; the system clock by default.
            cascade_path: The Haar cascade XML; OpenCV's bundled frontal-face cascade by default.

        Raises:
            DetectorError: The cascade file is missing or is not a cascade.
            ValueError: An option is outside its bounds (this module's ``*_MIN``/``*_MAX``
                constants, the same the config enforces).
        """
        for option, value, lowest, highest in (
            ("min_neighbors", min_neighbors, 0, MIN_NEIGHBORS_MAX),
            ("min_face_px", min_face_px, MIN_FACE_PX_MIN, MIN_FACE_PX_MAX),
            ("detect_width", detect_width, DETECT_WIDTH_MIN, DETECT_WIDTH_MAX),
            ("full_scan_interval_s", full_scan_interval_s, 0, FULL_SCAN_INTERVAL_S_MAX),
            ("scale_factor", scale_factor, SCALE_FACTOR_MIN, SCALE_FACTOR_MAX),
        ):
            if not lowest <= value <= highest:
                raise ValueError(f"{option} must be in [{lowest}, {highest}], got {value}")
        if faces not in ("largest", "all"):
            raise ValueError(f"faces must be 'largest' or 'all', got {faces!r}")
        path = cascade_path or default_cascade_path()
        if not path.is_file():
            raise DetectorError(
                f"Haar cascade not found: {path} (it ships with opencv-python-headless 4.x; reinstall it)"
            )
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise DetectorError(f"Haar cascade {path} could not be loaded (not a cascade XML file?)")
        window_w, window_h = self._cascade.getOriginalWindowSize()
        self._window_px = max(int(window_w), int(window_h))
        self._scale_factor = scale_factor
        self._min_neighbors = min_neighbors
        self._min_face_px = min_face_px
        self._detect_width = detect_width
        self._full_scan_interval_s = full_scan_interval_s
        self._faces_mode: FaceMode = faces
        self._clock = clock or SystemClock()
        self._tracked: list[FaceBox] = []
        self._last_full_scan: float | None = None
        self.stats = DetectorStats()

    def reset(self) -> None:
        """Forget the tracked faces, so the next frame gets a full scan (e.g. after a camera outage)."""
        self._tracked = []
        self._last_full_scan = None

    def detect(self, frame: Frame) -> list[FaceBox]:
        """Face boxes in full-frame coordinates, largest first (only the largest in "largest" mode)."""
        self.stats.frames += 1
        now = self._clock.monotonic()
        full_scan_due = (
            not self._tracked
            or self._last_full_scan is None
            or now - self._last_full_scan >= self._full_scan_interval_s
        )
        if not full_scan_due:
            self.stats.roi_scans += 1
            found = self._search_tracked(frame.image)
            if found is not None:
                self._tracked = found
                return list(found)
            self.stats.roi_misses += 1
            logger.debug("frame %d: a tracked face left its region; scanning the whole frame", frame.index)
        self.stats.full_scans += 1
        self._last_full_scan = now
        self._tracked = self._full_scan(to_gray(frame.image))
        return list(self._tracked)

    def _keep(self, boxes: list[FaceBox]) -> list[FaceBox]:
        boxes = sorted(boxes, key=lambda box: box.area, reverse=True)
        return boxes[:1] if self._faces_mode == "largest" else boxes

    def _full_scan(self, gray: np.ndarray) -> list[FaceBox]:
        height, width = gray.shape
        scale = min(1.0, self._detect_width / width)
        if scale < 1.0:
            small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(gray, small_size, interpolation=cv2.INTER_AREA)
        else:
            small = gray
        min_px = max(self._window_px, math.ceil(self._min_face_px * scale))
        if min(small.shape) < min_px:
            return []
        hits = self._cascade.detectMultiScale(
            small,
            scaleFactor=self._scale_factor,
            minNeighbors=self._min_neighbors,
            minSize=(min_px, min_px),
        )
        boxes = [_scaled_box(hit, scale, (0, 0), (width, height)) for hit in hits]
        return self._keep(boxes)

    def _search_tracked(self, image: np.ndarray) -> list[FaceBox] | None:
        """Each tracked face found again near where it was, or None as soon as one is lost."""
        height, width = image.shape[:2]
        found: list[FaceBox] = []
        for last in self._tracked:
            box = self._search_region(image, last, width, height)
            if box is None:
                return None
            # Two tracked faces that drifted together may both lock onto the same face.
            if all(_overlap(box, other) < 0.5 for other in found):
                found.append(box)
        return self._keep(found)

    def _search_region(self, image: np.ndarray, last: FaceBox, width: int, height: int) -> FaceBox | None:
        margin_x, margin_y = round(last.w * ROI_MARGIN), round(last.h * ROI_MARGIN)
        x0, y0 = max(0, last.x - margin_x), max(0, last.y - margin_y)
        x1, y1 = min(width, last.x + last.w + margin_x), min(height, last.y + last.h + margin_y)
        if x1 - x0 < self._window_px or y1 - y0 < self._window_px:
            return None  # the face was at (or the frame shrank below) the edge: let a full scan decide
        # Only the region is converted to grey: the whole frame's conversion is not needed here.
        region = to_gray(image[y0:y1, x0:x1])
        face_px = max(last.w, last.h)
        scale = min(1.0, ROI_FACE_PX / face_px)
        if scale < 1.0:
            small_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
            region = cv2.resize(region, small_size, interpolation=cv2.INTER_AREA)
        min_px = max(
            self._window_px,
            math.ceil(self._min_face_px * scale),
            math.floor(face_px * scale * ROI_MIN_SIZE_FACTOR),
        )
        max_px = max(min_px, math.ceil(face_px * scale * ROI_MAX_SIZE_FACTOR))
        if min(region.shape) < min_px:
            return None
        hits = self._cascade.detectMultiScale(
            region,
            scaleFactor=self._scale_factor,
            minNeighbors=self._min_neighbors,
            minSize=(min_px, min_px),
            maxSize=(max_px, max_px),
        )
        if len(hits) == 0:
            return None
        boxes = [_scaled_box(hit, scale, (x0, y0), (width, height)) for hit in hits]
        # The region can hold a neighbour's face too; the tracked one is the one nearest its old place.
        last_cx, last_cy = last.x + last.w / 2, last.y + last.h / 2
        return min(boxes, key=lambda b: (b.x + b.w / 2 - last_cx) ** 2 + (b.y + b.h / 2 - last_cy) ** 2)


def _scaled_box(
    hit: Sequence[int], scale: float, origin: tuple[int, int], frame_size: tuple[int, int]
) -> FaceBox:
    """A cascade hit in a shrunk image whose corner is at ``origin`` as a box in frame pixels."""
    x, y, w, h = (float(v) / scale for v in hit)
    offset_x, offset_y = origin
    width, height = frame_size
    x0 = max(0, min(width - 1, round(x) + offset_x))
    y0 = max(0, min(height - 1, round(y) + offset_y))
    x1 = max(x0 + 1, min(width, round(x + w) + offset_x))
    y1 = max(y0 + 1, min(height, round(y + h) + offset_y))
    return FaceBox(x0, y0, x1 - x0, y1 - y0)


def _overlap(a: FaceBox, b: FaceBox) -> float:
    """Intersection over the smaller box's area (1.0 when one box contains the other)."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    smaller = min(a.area, b.area)
    return (ix * iy) / smaller if smaller else 0.0
