"""The Haar face detector: full scans, region tracking between them, and the crop helpers."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from soulsyncd.types import FaceBox, Frame
from soulsyncd.vision.detector import DetectorError, HaarFaceDetector, crop_faces, to_gray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from make_sample import render_room, room_frame

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


def test_without_the_change_check_every_frame_without_a_face_gets_a_full_scan() -> None:
    clock = ManualClock()
    detector = HaarFaceDetector(idle_scan_interval_s=0, idle_after_s=0, clock=clock)
    run_in_order(detector, clock, [np.full((480, 640, 3), 90, np.uint8)] * 20)
    assert (detector.stats.full_scans, detector.stats.roi_scans, detector.stats.idle_skips) == (20, 0, 0)


@pytest.mark.parametrize(
    ("option", "value"),
    [("idle_scan_interval_s", -1.0), ("idle_scan_interval_s", 1e9), ("idle_after_s", -0.1),
     ("change_threshold", 0.5), ("change_threshold", 300.0), ("change_area", -0.1), ("change_area", 1.5)],
)
def test_change_check_options_out_of_bounds_are_rejected(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        HaarFaceDetector(**{option: value})  # type: ignore[arg-type]


# -- the empty room: rendered frames, the manual clock ------------------------------------------

FPS = 1 / ANALYSIS_STEP_S


@pytest.fixture(scope="module")
def room() -> np.ndarray:
    """An empty, cluttered 640x480 room (window, bookshelf, picture, plant, textures)."""
    return render_room((640, 480), seed=3)


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    path = Path(__file__).resolve().parent.parent / "tools" / "sample" / "mean_neutral.png"
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, f"{path} is missing"
    return image


def test_empty_room_with_sensor_noise_and_drifting_light_is_scanned_only_periodically(
    room: np.ndarray,
) -> None:
    """After 2 s with nobody seen, 30 s of a noisy room whose light drifts (slowly, by 15 grey
    levels, and once suddenly by 20) cost one full scan per 5 s, not one per frame."""
    rng = np.random.default_rng(0)
    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock, idle_scan_interval_s=5.0)
    count = int(30 * FPS)
    lights = [15 * i / count + (20 if i > count // 2 else 0) for i in range(count)]
    frames = [room_frame(room, rng, light=light) for light in lights]
    results = run_in_order(detector, clock, frames)
    assert not any(results)
    stats = detector.stats
    # The frames of the first 2 s (10, or 11 as the float clock rounds), then one per 5 s of
    # the remaining 28 s (at most 6); the light must not add any.
    assert stats.full_scans <= 11 + 6
    assert stats.idle_skips == stats.frames - stats.full_scans == count - stats.full_scans


@pytest.mark.parametrize("walk_in", [False, True], ids=["appears", "walks-in-from-the-side"])
def test_a_face_that_enters_an_empty_room_is_found_within_one_second(
    room: np.ndarray, face: np.ndarray, walk_in: bool
) -> None:
    rng = np.random.default_rng(1)
    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock)
    empty = [room_frame(room, rng) for _ in range(int(20 * FPS))]
    run_in_order(detector, clock, empty)
    assert detector.stats.idle_skips >= 0.8 * len(empty)  # the gate was closed when they came in
    scans_before = detector.stats.full_scans
    # From the side: 60 px a frame (a slow walk) until the face is where it stays.
    xs = list(range(-160, 220, 60)) + [220] * int(FPS) if walk_in else [220] * int(FPS)
    entering = [room_frame(room, rng, face, at=(x, 140)) for x in xs]
    results = run_in_order(detector, clock, entering)
    fully_in = next(i for i, x in enumerate(xs) if x >= 0)
    found_at = next((i for i, boxes in enumerate(results) if boxes), None)
    assert found_at is not None, f"face never found (stats {detector.stats})"
    assert found_at - fully_in <= FPS  # within 1 s of frames at 5 frames/s
    assert detector.stats.full_scans > scans_before
    assert abs(results[-1][0].x - 220) < 25


def test_after_a_face_is_lost_every_frame_is_scanned_for_idle_after_s(
    room: np.ndarray, face: np.ndarray
) -> None:
    """A still listener the cascade misses once must be looked for again on the next frame, even
    though the picture did not change."""
    rng = np.random.default_rng(2)
    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock, idle_after_s=2.0)
    with_face = [room_frame(room, rng, face) for _ in range(5)]
    gone = [room_frame(room, rng) for _ in range(int(5 * FPS))]
    results = run_in_order(detector, clock, with_face + gone)
    assert all(results[:5])
    assert not any(results[5:])
    stats = detector.stats
    # Last seen at t=0.8 s: the frames at t=1.0 ... 2.6 s (9) are all scanned, later ones skipped.
    assert stats.idle_skips == len(gone) - 9
    detector.reset()
    run_in_order(detector, clock, gone[:3])
    assert stats.idle_skips == len(gone) - 9  # a reset starts over: scanned again


def test_periodic_scan_waits_while_nothing_changes_around_the_listener_and_a_newcomer_is_found(
    room: np.ndarray, face: np.ndarray
) -> None:
    """The listener sits (and fidgets) in an unchanging room: no periodic scans before the 10 s
    safety net. A larger face appears beside them: the picture changed, so it is scanned for at
    once and (in "largest" mode) reported instead."""
    rng = np.random.default_rng(6)
    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock)
    listener = [room_frame(room, rng, face, at=(120 + 3 * (i % 4), 150), side=120) for i in range(40)]
    results = run_in_order(detector, clock, listener)
    assert all(results)
    stats = detector.stats
    assert (stats.full_scans, stats.large_scans) == (1, 0)
    assert stats.quiet_skips in (29, 30)  # due from t=2 s on (the float clock: 2.0 or 2.2), left out

    def both(i: int) -> np.ndarray:
        frame = room_frame(room, rng, face, at=(120 + 3 * (i % 4), 150), side=120)
        return room_frame(frame, rng, face, at=(400, 100), side=200)

    results = run_in_order(detector, clock, [both(i) for i in range(int(FPS))])
    assert results[0][0].x > 380  # on the frame it appeared in
    assert all(boxes[0].x > 380 for boxes in results)
    assert stats.large_scans == 1


def test_periodic_scan_while_tracking_looks_for_large_faces_and_falls_back_when_it_loses_one(
    room: np.ndarray, face: np.ndarray
) -> None:
    """In "largest" mode the periodic scan is the cheap large-face one; a face that shrank past
    it at that moment is still found, by the full scan in the same call."""
    rng = np.random.default_rng(4)
    clock = ManualClock()
    # No change check: the periodic scan runs whether or not the room around the face changed.
    detector = HaarFaceDetector(clock=clock, full_scan_interval_s=1.0, idle_scan_interval_s=0)
    big = [room_frame(room, rng, face, at=(220, 120), side=200) for _ in range(6)]
    small = room_frame(room, rng, face, at=(260, 160), side=100)
    results = run_in_order(detector, clock, [*big, small])
    assert all(results)
    stats = detector.stats
    # frame 0 full; 1-4 regions; 5 (t=1.0) the large-face scan; 6 (t=1.2) a region miss -> full.
    assert (stats.full_scans, stats.roi_scans, stats.large_scans, stats.large_misses) == (2, 5, 1, 0)
    assert results[-1][0].w < 130
    clock.now += 1.0  # the next periodic scan: the tracked face is small, the big one is gone
    shrunk_again = room_frame(room, rng, face, at=(300, 200), side=60)
    assert detector.detect(Frame(image=shrunk_again, timestamp=clock.now, index=7))
    assert (stats.large_scans, stats.large_misses, stats.full_scans) == (2, 1, 3)


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
    assert stats.large_scans >= 3  # the periodic scans look only for faces as large as hers
    assert stats.frames == (
        stats.full_scans + tracked_frames + stats.large_scans - stats.large_misses + stats.idle_skips
    )


@pytest.mark.e2e
def test_region_search_finds_the_tracked_face_at_40_px_and_retries_at_64_before_a_full_scan(
    woman2_frames: list[np.ndarray],
) -> None:
    """The cheap search (the face shrunk to 40 px) answers most tracked frames alone; where it
    loses the face, the 64 px search runs before the whole frame is scanned, so a face it keeps
    is never reported missing (roi_misses counts only faces both searches lost)."""
    from soulsyncd.vision import detector as module

    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock)
    run_in_order(detector, clock, woman2_frames)
    stats = detector.stats
    assert stats.roi_scans >= 0.7 * len(woman2_frames)
    assert stats.roi_retries <= 0.2 * stats.roi_scans  # the 40 px search mostly suffices
    assert stats.roi_misses <= stats.roi_retries  # a miss is a face the retry lost too
    assert (module.ROI_FACE_PX, module.ROI_FACE_PX_PRECISE) == (40, 64)


@pytest.mark.e2e
def test_tracked_boxes_frame_the_face_like_a_full_scan(woman2_frames: list[np.ndarray]) -> None:
    """Crops from tracked frames must match full-scan crops, or the classifier sees them differently."""
    frames = woman2_frames[:20]  # two full-scan intervals
    clock = ManualClock()
    tracking = HaarFaceDetector(clock=clock)
    # "all" mode: its periodic scans are plain full scans (no large-face shortcut), on every frame.
    full_scanning = HaarFaceDetector(full_scan_interval_s=0, idle_scan_interval_s=0, faces="all", clock=clock)
    overlaps = []
    for index, image in enumerate(frames):
        frame = Frame(image=image, timestamp=clock.now, index=index)
        tracked = tracking.detect(frame)
        full = full_scanning.detect(frame)
        if tracked and full:
            overlaps.append(iou(tracked[0], full[0]))
        clock.now += ANALYSIS_STEP_S
    assert full_scanning.stats.roi_scans == full_scanning.stats.large_scans == 0
    assert tracking.stats.roi_scans >= 0.7 * len(frames)
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
