"""The Haar face detector: full scans, region tracking between them, and the crop helpers."""

from __future__ import annotations

import statistics
from pathlib import Path

import cv2
import numpy as np
import pytest

from soulsyncd.types import FaceBox, Frame
from soulsyncd.vision.detector import DetectorError, HaarFaceDetector, crop_faces, to_gray

# The daemon analyses a few frames a second: this is the step between the frames it feeds.
ANALYSIS_STEP_S = 0.2


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def run_in_order(
    detector: HaarFaceDetector, clock: ManualClock, images: list[np.ndarray]
) -> list[list[FaceBox]]:
    """Feed frames as the daemon would: in order, the clock advancing between them."""
    results = []
    for index, image in enumerate(images):
        results.append(detector.detect(Frame(image=image, timestamp=clock.now, index=index)))
        clock.now += ANALYSIS_STEP_S
    return results


def read_image(e2e_dir: Path, name: str) -> np.ndarray:
    path = e2e_dir / name
    image = cv2.imread(str(path))
    if image is None:
        pytest.skip(f"{path} is missing or unreadable")
    return image


def sample_clip(e2e_dir: Path, name: str, count: int) -> list[np.ndarray]:
    """About ``count`` frames spread evenly over the whole clip, in order."""
    path = e2e_dir / name
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        pytest.skip(f"{path} is missing or cannot be decoded here")
    step = max(1, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) // count)
    frames = []
    position = 0
    while capture.grab():  # grab() alone skips the colour conversion of frames left out
        if position % step == 0:
            ok, image = capture.retrieve()
            if ok:
                frames.append(image)
        position += 1
    capture.release()
    return frames


@pytest.fixture(scope="module")
def woman2_frames(e2e_dir: Path) -> list[np.ndarray]:
    """woman2.mp4 has a face in every frame; 40 spread over its 15 s, 0.4 s of video apart."""
    return sample_clip(e2e_dir, "woman2.mp4", 40)


def iou(a: FaceBox, b: FaceBox) -> float:
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / (a.area + b.area - inter)


# -- no data needed ---------------------------------------------------------------------------


def test_frame_without_a_face_gives_no_boxes() -> None:
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (9, 9), 0)
    assert HaarFaceDetector().detect(Frame(image=image, timestamp=0.0, index=0)) == []


def test_without_tracked_faces_every_frame_gets_a_full_scan() -> None:
    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock)
    run_in_order(detector, clock, [np.full((480, 640, 3), 90, np.uint8)] * 4)
    assert (detector.stats.full_scans, detector.stats.roi_scans) == (4, 0)


def test_missing_cascade_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(DetectorError, match=r"Haar cascade not found: .*nope\.xml"):
        HaarFaceDetector(cascade_path=missing)


def test_unknown_faces_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="faces must be"):
        HaarFaceDetector(faces="some")  # type: ignore[arg-type]


def test_to_gray_accepts_bgr_bgra_and_grey_images() -> None:
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 255  # pure red
    assert to_gray(bgr).shape == (4, 5)
    assert to_gray(bgr)[0, 0] == 76  # ITU-R BT.601 weight of red
    assert to_gray(np.dstack([bgr, np.full((4, 5), 255, np.uint8)]))[0, 0] == 76
    grey = np.full((4, 5), 9, np.uint8)
    assert to_gray(grey) is grey


def test_crop_faces_returns_box_sized_crops_clipped_to_the_frame() -> None:
    gray = np.arange(480 * 640, dtype=np.uint32).reshape(480, 640).astype(np.uint8)
    boxes = [FaceBox(100, 50, 80, 90), FaceBox(600, 440, 80, 80), FaceBox(700, 10, 20, 20)]
    crops = crop_faces(gray, boxes)
    assert [c.shape for c in crops] == [(90, 80), (40, 40)]  # clipped at the corner; outside skipped
    np.testing.assert_array_equal(crops[0], gray[50:140, 100:180])


# -- real photos and clips (../shared/data/e2e) -------------------------------------------------


@pytest.mark.e2e
def test_photo_of_one_person_gives_exactly_one_face(e2e_dir: Path) -> None:
    image = read_image(e2e_dir, "justin.jpg")
    boxes = HaarFaceDetector(faces="all").detect(Frame(image=image, timestamp=0.0, index=0))
    assert len(boxes) == 1
    assert boxes[0].w >= 60  # the face fills a good part of the 381x384 photo


@pytest.mark.e2e
def test_photo_without_people_gives_no_face(e2e_dir: Path) -> None:
    image = read_image(e2e_dir, "no-faces.jpg")
    assert HaarFaceDetector(faces="all").detect(Frame(image=image, timestamp=0.0, index=0)) == []


@pytest.mark.e2e
def test_crop_of_a_real_face_has_the_box_size(e2e_dir: Path) -> None:
    image = read_image(e2e_dir, "justin.jpg")
    boxes = HaarFaceDetector().detect(Frame(image=image, timestamp=0.0, index=0))
    crops = crop_faces(to_gray(image), boxes)
    assert [c.shape for c in crops] == [(b.h, b.w) for b in boxes]
    assert crops[0].dtype == np.uint8


@pytest.mark.e2e
def test_clip_faces_found_in_nine_of_ten_frames_mostly_by_cheap_tracking(
    woman2_frames: list[np.ndarray],
) -> None:
    """Nearly every sampled frame has its face, and between the 2-second full scans the region
    search answers on its own."""
    frames = woman2_frames
    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock)
    results = run_in_order(detector, clock, frames)
    assert len(frames) >= 30
    assert sum(1 for boxes in results if boxes) >= 0.9 * len(frames)
    assert all(len(boxes) <= 1 for boxes in results)  # "largest" mode
    stats = detector.stats
    tracked_frames = stats.roi_scans - stats.roi_misses
    assert tracked_frames >= 0.7 * len(frames)
    assert stats.frames == stats.full_scans + tracked_frames


@pytest.mark.e2e
def test_tracked_boxes_frame_the_face_like_a_full_scan(woman2_frames: list[np.ndarray]) -> None:
    """Crops from tracked frames must match full-scan crops, or the classifier sees them differently."""
    frames = woman2_frames[:20]  # two full-scan intervals
    clock = ManualClock()
    tracking = HaarFaceDetector(clock=clock)
    full_scanning = HaarFaceDetector(full_scan_interval_s=0, clock=clock)
    overlaps = []
    for index, image in enumerate(frames):
        frame = Frame(image=image, timestamp=clock.now, index=index)
        tracked = tracking.detect(frame)
        full = full_scanning.detect(frame)
        if tracked and full:
            overlaps.append(iou(tracked[0], full[0]))
        clock.now += ANALYSIS_STEP_S
    assert full_scanning.stats.roi_scans == 0
    assert len(overlaps) >= 0.8 * len(frames)
    assert statistics.median(overlaps) >= 0.8


@pytest.mark.e2e
def test_face_that_jumps_out_of_its_region_is_found_in_the_same_frame(e2e_dir: Path) -> None:
    face = cv2.resize(read_image(e2e_dir, "justin.jpg"), (192, 192), interpolation=cv2.INTER_AREA)

    def scene(x: int) -> np.ndarray:
        canvas = np.full((480, 640, 3), 110, np.uint8)
        canvas[150:342, x : x + 192] = face
        return canvas

    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock)
    first, nudged, jumped = run_in_order(detector, clock, [scene(20), scene(40), scene(420)])
    assert len(first) == len(nudged) == len(jumped) == 1
    assert jumped[0].x > 400
    assert (detector.stats.full_scans, detector.stats.roi_scans, detector.stats.roi_misses) == (2, 2, 1)


@pytest.mark.e2e
def test_all_faces_mode_finds_faces_in_most_frames_largest_first(e2e_dir: Path) -> None:
    frames = sample_clip(e2e_dir, "test.mp4", 40)
    clock = ManualClock()
    results = run_in_order(HaarFaceDetector(faces="all", clock=clock), clock, frames)
    assert sum(1 for boxes in results if boxes) >= 0.8 * len(frames)
    for boxes in results:
        assert [b.area for b in boxes] == sorted((b.area for b in boxes), reverse=True)


def test_crop_faces_from_a_colour_frame_gives_grey_crops_equal_to_cropping_the_grey_frame() -> None:
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    boxes = [FaceBox(10, 20, 50, 40), FaceBox(140, 100, 40, 40)]
    from_colour = crop_faces(image, boxes)
    from_grey = crop_faces(to_gray(image), boxes)
    assert [c.ndim for c in from_colour] == [2, 2]
    for colour_crop, grey_crop in zip(from_colour, from_grey, strict=True):
        np.testing.assert_array_equal(colour_crop, grey_crop)
