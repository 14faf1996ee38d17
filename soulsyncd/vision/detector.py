"""Face detection with OpenCV's Haar cascade, made cheap enough to run on every analysed frame.

A plain Haar scan of a whole 640x480 frame costs tens of milliseconds on one Pi-class core. Four
things bring the typical frame down to a few milliseconds (and an empty room to a fraction of one)
without losing faces:

* **Full scans run on a downscaled frame.** The grey frame is shrunk to ``detect_width`` pixels
  wide before the cascade sees it. The cascade cannot find anything smaller than its own 24x24 px
  window, so the smallest face a full scan finds is ``max(min_face_px, 24 / scale)`` full-frame
  pixels (48 px for a 640 px frame at the default width of 320).
* **Between full scans, only the last faces are searched.** Each tracked face gets a region of
  interest (its box widened by 30 % of its size on every side), shrunk so the face is about
  40 px across, and searched only for faces between 0.8x and 1.25x the last size. That is a
  handful of cascade scales on a ~64 px image instead of the whole pyramid over the whole frame.
  Where that loses the face, the region is searched once more with the face at 64 px before
  the whole frame is.

* **The periodic scan while tracking runs only when it may find someone, and looks only for
  faces that matter.** Every ``full_scan_interval_s`` the whole frame is scanned again so a
  newcomer is noticed, unless the picture outside the tracked people has not changed since the
  last such scan (the change check below, with the tracked faces and the bodies under them left
  out), up to ``idle_scan_interval_s``. In ``"largest"`` mode only a face larger than the tracked
  one could be reported, so that scan looks for faces of at least 0.9x its size, on a frame
  shrunk until that size is the cascade's window (a few milliseconds instead of a whole
  pyramid); if the tracked face itself shrank below that, its region search finds it. In
  ``"all"`` mode it is a plain full scan.
* **An empty room is not scanned on every frame.** Once nobody has been seen for
  ``idle_after_s``, each frame is first shrunk to a 64 px wide grey thumbnail and compared with
  the thumbnail taken at the last full scan: only when enough of it changed (``change_area`` of
  its cells by more than ``change_threshold`` grey levels, after removing the change of the
  whole picture's brightness, so sensor noise and light drifting do not count) is the frame
  scanned, plus once every ``idle_scan_interval_s`` in case a face appeared without changing the
  picture enough. Someone who walks in changes the picture, so they are scanned for on the frame
  they appear in. Right after a face is lost, every frame is scanned for ``idle_after_s``, so a
  listener who sits still and is missed once is found again on the next frame.

When a region loses its face the whole frame is scanned again at once, in the same call, so a
face that moved further than the margin is not reported missing.

Threads: OpenCV parallelises ``detectMultiScale`` over its own thread pool; how many threads it
may use (``cv2.setNumThreads``) is the application's decision, not this module's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from soulsyncd.interfaces import Clock, SystemClock
from soulsyncd.types import FaceBox, Frame
from soulsyncd.vision.settings import (
    CHANGE_AREA_MAX,
    CHANGE_AREA_MIN,
    CHANGE_THRESHOLD_MAX,
    CHANGE_THRESHOLD_MIN,
    DETECT_WIDTH_MAX,
    DETECT_WIDTH_MIN,
    FULL_SCAN_INTERVAL_S_MAX,
    IDLE_AFTER_S_MAX,
    IDLE_SCAN_INTERVAL_S_MAX,
    MIN_FACE_PX_MAX,
    MIN_FACE_PX_MIN,
    MIN_NEIGHBORS_MAX,
    MIN_NEIGHBORS_MIN,
    SCALE_FACTOR_MAX,
    SCALE_FACTOR_MIN,
    FaceMode,
)

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
# Inside a region the face is first shrunk to about ROI_FACE_PX: on woman2 that search costs 1.2 ms
# instead of 4.1 ms at 64 px, and finds the face in all but a few frames in a hundred. Where it
# loses the face, the region is searched again at ROI_FACE_PX_PRECISE (the cascade loses fewer
# faces on bigger images) before falling back to a whole-frame scan, so recall is that of the
# 64 px search and only the rare retry pays its price.
ROI_FACE_PX = 40
ROI_FACE_PX_PRECISE = 64
# The periodic scan for faces at least LARGE_SCAN_SIZE_FACTOR x the tracked one shrinks the
# frame until that smallest size is LARGE_SCAN_MIN_FACE_PX, the cascade's own 24 px window (a
# minSize above the window starts the pyramid at the next scale, 10 % larger). Shrinking beats
# minSize on a big image because OpenCV slides the window in 1 px steps (not 2) at pyramid
# scales of 2 and more (woman2 at 320 px wide, minSize 54: 20 ms; the same faces on a 160 px
# frame: 7 ms, the same box). 0.9 rather than 0.8: a third less image (woman2: 6.2 ms instead
# of 8.1 per scan), and a tracked face that shrank past it is found by its region search.
LARGE_SCAN_MIN_FACE_PX = 24
LARGE_SCAN_SIZE_FACTOR = 0.9
# The empty room's change check compares thumbnails this wide (10x10 px cells at 640x480): each
# cell averages a hundred pixels, so sensor noise barely moves it while a face (36+ cells) does.
CHANGE_THUMB_WIDTH = 64



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

    ``frames == full_scans + roi_scans - roi_misses + large_scans - large_misses + idle_skips``:
    a frame whose region search (or large-face scan) lost a face is counted both as that and
    (for its fallback) as a full scan.
    """

    frames: int = 0
    full_scans: int = 0  # whole-frame scans for faces of any size: nothing tracked, periodic in
    # "all" mode, or a fallback after a miss
    roi_scans: int = 0  # frames on which the regions around the tracked faces were searched first
    roi_misses: int = 0  # region searches that lost a face and fell back to a full scan
    roi_retries: int = 0  # faces the cheap region search lost, searched again at ROI_FACE_PX_PRECISE
    large_scans: int = 0  # periodic whole-frame scans for large faces only ("largest" mode)
    large_misses: int = 0  # ... that found none and fell back to a full scan
    idle_skips: int = 0  # frames of an empty room answered by the change check alone, unscanned
    quiet_skips: int = 0  # frames whose due periodic scan was left out: nothing changed around the people


class HaarFaceDetector:
    """Finds frontal faces in BGR frames, tracking them between periodic full scans.

    In ``"all"`` mode a face that enters while others are tracked is found at the next periodic
    full scan, at most ``full_scan_interval_s`` later. In an empty room a newcomer is scanned for
    on the first frame that shows them (see the module docstring). Not thread-safe: one instance
    belongs to the analysis thread, which feeds it frames in order.
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
        idle_scan_interval_s: float = 10.0,
        idle_after_s: float = 2.0,
        change_threshold: float = 12.0,
        change_area: float = 0.004,
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
            idle_scan_interval_s: Longest time between two whole-frame scans while the picture
                (outside the tracked people) does not change: in an empty room, and instead of
                ``full_scan_interval_s`` while tracking. 0 turns the change check off (an empty
                room is scanned on every frame, the periodic scan runs on time).
            idle_after_s: The change check starts once no face has been seen for this long (and
                this long after the first frame).
            change_threshold: Grey levels (0-255) a thumbnail cell must change by, beyond the
                whole picture's change of brightness, to count as changed.
            change_area: Fraction of the thumbnail's cells that must change for a scan.
            clock: Decides when the next full scan is due; the system clock by default.
            cascade_path: The Haar cascade XML; OpenCV's bundled frontal-face cascade by default.

        Raises:
            DetectorError: The cascade file is missing or is not a cascade.
            ValueError: An option is outside its bounds (this module's ``*_MIN``/``*_MAX``
                constants, the same the config enforces).
        """
        for option, value, lowest, highest in (
            ("min_neighbors", min_neighbors, MIN_NEIGHBORS_MIN, MIN_NEIGHBORS_MAX),
            ("min_face_px", min_face_px, MIN_FACE_PX_MIN, MIN_FACE_PX_MAX),
            ("detect_width", detect_width, DETECT_WIDTH_MIN, DETECT_WIDTH_MAX),
            ("full_scan_interval_s", full_scan_interval_s, 0, FULL_SCAN_INTERVAL_S_MAX),
            ("scale_factor", scale_factor, SCALE_FACTOR_MIN, SCALE_FACTOR_MAX),
            ("idle_scan_interval_s", idle_scan_interval_s, 0, IDLE_SCAN_INTERVAL_S_MAX),
            ("idle_after_s", idle_after_s, 0, IDLE_AFTER_S_MAX),
            ("change_threshold", change_threshold, CHANGE_THRESHOLD_MIN, CHANGE_THRESHOLD_MAX),
            ("change_area", change_area, CHANGE_AREA_MIN, CHANGE_AREA_MAX),
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
        self._idle_scan_interval_s = idle_scan_interval_s
        self._idle_after_s = idle_after_s
        self._change_threshold = change_threshold
        self._change_area = change_area
        self._clock = clock or SystemClock()
        self._tracked: list[FaceBox] = []
        self._last_full_scan: float | None = None
        # Until then every frame without a tracked face is scanned: after the first frame and
        # after the last face seen. None: nothing seen yet since the start or a reset.
        self._scan_all_until: float | None = None
        self._reference: np.ndarray | None = None  # thumbnail at the last whole-frame scan
        self._reference_faces: list[FaceBox] = []  # ... and the faces that scan found
        self.stats = DetectorStats()

    def reset(self) -> None:
        """Forget the tracked faces and the empty room, so the next frames get full scans (e.g. after
        a camera outage)."""
        self._tracked = []
        self._last_full_scan = None
        self._scan_all_until = None
        self._reference = None
        self._reference_faces = []

    def detect(self, frame: Frame) -> list[FaceBox]:
        """Face boxes in full-frame coordinates, largest first (only the largest in "largest" mode)."""
        self.stats.frames += 1
        now = self._clock.monotonic()
        if self._scan_all_until is None:
            self._scan_all_until = now + self._idle_after_s
        found = self._follow(frame, now) if self._tracked else self._scan_if_changed(frame, now)
        if found:
            self._scan_all_until = now + self._idle_after_s
        self._tracked = found
        return list(found)

    def _follow(self, frame: Frame, now: float) -> list[FaceBox]:
        """Find the tracked faces again: in their regions, or by the periodic or fallback scan."""
        gray = to_gray(frame.image) if self._periodic_scan_due(frame, now) else None
        if gray is not None:
            if self._faces_mode == "all":
                return self._scan(gray, now)
            self.stats.large_scans += 1
            smallest = math.floor(max(self._tracked[0].w, self._tracked[0].h) * LARGE_SCAN_SIZE_FACTOR)
            found = self._full_scan(gray, smallest_face_px=smallest)
            self._remember_scan(gray, found, now)
            if found:
                return found
            # Often the face is just below the size range: its region is far cheaper than a full scan.
            self.stats.large_misses += 1
            logger.debug("frame %d: the periodic scan missed the tracked face; its region next", frame.index)
        self.stats.roi_scans += 1
        found_again = self._search_tracked(frame.image)
        if found_again is not None:
            return found_again
        self.stats.roi_misses += 1
        logger.debug("frame %d: a tracked face left its region; scanning the whole frame", frame.index)
        return self._scan(to_gray(frame.image) if gray is None else gray, now)

    def _periodic_scan_due(self, frame: Frame, now: float) -> bool:
        """Whether to scan the whole frame for newcomers now, while faces are tracked.

        Every ``full_scan_interval_s``, but only if the picture changed outside the tracked people
        (a newcomer changes it) or ``idle_scan_interval_s`` has passed since the last scan.
        """
        last = self._last_full_scan
        if last is None:
            return True
        if now - last < self._full_scan_interval_s:
            return False
        if self._idle_scan_interval_s <= 0 or now - last >= self._idle_scan_interval_s:
            return True
        width = frame.image.shape[1]
        if self._changed(_thumbnail(to_gray(frame.image)), [*self._tracked, *self._reference_faces], width):
            return True
        self.stats.quiet_skips += 1
        return False

    def _scan_if_changed(self, frame: Frame, now: float) -> list[FaceBox]:
        """Scan the whole frame, unless the room has been empty a while and its picture is unchanged."""
        gray = to_gray(frame.image)
        gated = (
            self._idle_scan_interval_s > 0
            and self._reference is not None
            and self._last_full_scan is not None
            and self._scan_all_until is not None
            and now >= self._scan_all_until
            and now - self._last_full_scan < self._idle_scan_interval_s
        )
        if gated and not self._changed(_thumbnail(gray), [], gray.shape[1]):
            self.stats.idle_skips += 1
            return []
        return self._scan(gray, now)

    def _scan(self, gray: np.ndarray, now: float) -> list[FaceBox]:
        """A full scan for faces of any size."""
        self.stats.full_scans += 1
        found = self._full_scan(gray)
        self._remember_scan(gray, found, now)
        return found

    def _remember_scan(self, gray: np.ndarray, found: list[FaceBox], now: float) -> None:
        """The picture at this whole-frame scan, and who was in it: what the change check compares with."""
        self._last_full_scan = now
        self._reference = _thumbnail(gray)
        self._reference_faces = found

    def _changed(self, thumbnail: np.ndarray, people: list[FaceBox], frame_width: int) -> bool:
        """Whether the picture changed enough since the last scan to be worth a new one.

        The cells around ``people`` (each face, a face's width to either side, half a face above,
        and everything below it: hair, shoulders, the body) are left out: someone tracked moves
        all the time, and only the rest of the picture can show a newcomer.
        """
        reference = self._reference
        if reference is None or reference.shape != thumbnail.shape:
            return True
        difference = thumbnail.astype(np.int16) - reference.astype(np.int16)
        outside = np.ones(difference.shape, dtype=bool)
        scale = thumbnail.shape[1] / frame_width
        for box in people:
            x0 = max(0, math.floor((box.x - box.w) * scale))
            x1 = max(0, math.ceil((box.x + box.w * 2) * scale))
            y0 = max(0, math.floor((box.y - box.h / 2) * scale))
            outside[y0:, x0:x1] = False
        cells = difference[outside]
        if cells.size < difference.size // 4:
            return True  # too little of the picture left to tell
        # The whole picture getting brighter or darker (a cloud, auto-exposure, dusk) is not a
        # newcomer: only change beyond the typical cell's counts.
        cells -= np.int16(np.median(cells))
        changed = int(np.count_nonzero(np.abs(cells) > self._change_threshold))
        return changed > 0 and changed >= self._change_area * difference.size

    def _keep(self, boxes: list[FaceBox]) -> list[FaceBox]:
        boxes = sorted(boxes, key=lambda box: box.area, reverse=True)
        return boxes[:1] if self._faces_mode == "largest" else boxes

    def _full_scan(self, gray: np.ndarray, smallest_face_px: int | None = None) -> list[FaceBox]:
        """Faces in the whole grey frame; only those at least ``smallest_face_px`` across if given."""
        height, width = gray.shape
        scale = min(1.0, self._detect_width / width)
        if smallest_face_px is not None and smallest_face_px > 0:
            # Shrink further, until the smallest face looked for is just above the window.
            scale = min(scale, LARGE_SCAN_MIN_FACE_PX / smallest_face_px)
        if scale < 1.0:
            small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(gray, small_size, interpolation=cv2.INTER_AREA)
        else:
            small = gray
        min_px = max(self._window_px, math.ceil(self._min_face_px * scale))
        if smallest_face_px is not None:
            min_px = max(min_px, math.floor(smallest_face_px * scale))
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
            box = self._search_region(image, last, width, height, ROI_FACE_PX)
            if box is None:
                self.stats.roi_retries += 1
                box = self._search_region(image, last, width, height, ROI_FACE_PX_PRECISE)
            if box is None:
                return None
            # Two tracked faces that drifted together may both lock onto the same face.
            if all(_overlap(box, other) < 0.5 for other in found):
                found.append(box)
        return self._keep(found)

    def _search_region(
        self, image: np.ndarray, last: FaceBox, width: int, height: int, face_px_target: int
    ) -> FaceBox | None:
        margin_x, margin_y = round(last.w * ROI_MARGIN), round(last.h * ROI_MARGIN)
        x0, y0 = max(0, last.x - margin_x), max(0, last.y - margin_y)
        x1, y1 = min(width, last.x + last.w + margin_x), min(height, last.y + last.h + margin_y)
        if x1 - x0 < self._window_px or y1 - y0 < self._window_px:
            return None  # the face was at (or the frame shrank below) the edge: let a full scan decide
        # Only the region is converted to grey: the whole frame's conversion is not needed here.
        region = to_gray(image[y0:y1, x0:x1])
        face_px = max(last.w, last.h)
        scale = min(1.0, face_px_target / face_px)
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


def _thumbnail(gray: np.ndarray) -> np.ndarray:
    """The grey frame shrunk to CHANGE_THUMB_WIDTH wide, each cell the mean of the pixels it covers."""
    height, width = gray.shape
    thumb_width = min(CHANGE_THUMB_WIDTH, width)
    thumb_height = max(1, round(height * thumb_width / width))
    return cv2.resize(gray, (thumb_width, thumb_height), interpolation=cv2.INTER_AREA)


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
