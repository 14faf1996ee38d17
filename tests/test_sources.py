"""Frame sources: keep-newest hand-over, file pacing and looping, camera outages, clear start errors."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import ClassVar, TypeVar

import cv2
import numpy as np
import pytest

from soulsyncd.types import Frame
from soulsyncd.vision import files, sources
from soulsyncd.vision.files import FileSource
from soulsyncd.vision.sources import (
    CaptureSource,
    PiCameraSource,
    SourceError,
    UsbCameraSource,
    backoff_delays,
)

CLIP_FRAMES = 20
# Upper bound for something that normally takes milliseconds; only reached when a test fails.
WAIT_S = 5.0

SourceT = TypeVar("SourceT", bound=CaptureSource)


def level_of(position: int) -> int:
    """Each test frame is one flat grey level that encodes its position in the file."""
    return 10 + 12 * position


def position_of(frame: Frame) -> int:
    return round((float(frame.image.mean()) - 10) / 12)


def flat_image(level: int) -> np.ndarray:
    return np.full((48, 64, 3), level, np.uint8)


class FixedClock:
    def monotonic(self) -> float:
        return 42.0


class LogWatcher(logging.Handler):
    """Sets ``seen`` once a message containing ``needle`` is logged, from whichever thread."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle
        self.seen = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.messages.append(message)
        if self.needle in message:
            self.seen.set()


@pytest.fixture
def run() -> Iterator[Callable[[SourceT], SourceT]]:
    """Start a source for the test; every source started is stopped afterwards, pass or fail."""
    running: list[CaptureSource] = []

    def start(source: SourceT) -> SourceT:
        source.start()
        running.append(source)
        return source

    yield start
    for source in running:
        source.stop()


@pytest.fixture
def watch_log(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[str], LogWatcher]]:
    caplog.set_level(logging.DEBUG, logger=sources.__name__)
    source_logger = logging.getLogger(sources.__name__)
    watchers: list[LogWatcher] = []

    def watch(needle: str) -> LogWatcher:
        watcher = LogWatcher(needle)
        source_logger.addHandler(watcher)
        watchers.append(watcher)
        return watcher

    yield watch
    for watcher in watchers:
        source_logger.removeHandler(watcher)


def write_clip(path: Path, positions: list[int], fps: float = 25.0) -> Path:
    """An MJPG video whose frames are flat greys of level_of(position), one per position."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for position in positions:
        writer.write(flat_image(level_of(position)))
    writer.release()
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 20-frame MJPG video whose frame n is a flat grey of level_of(n)."""
    return write_clip(tmp_path / "clip.avi", list(range(CLIP_FRAMES)))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three readable images around one corrupt one, and a file that is not an image at all."""
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), flat_image(level_of(1)))
    (folder / "b.jpg").write_bytes(b"not a jpeg" * 50)
    cv2.imwrite(str(folder / "c.bmp"), flat_image(level_of(2)))
    cv2.imwrite(str(folder / "d.png"), flat_image(level_of(3)))
    (folder / "notes.txt").write_text("ignored")
    return folder


def take_until(source: CaptureSource, done: Callable[[Frame | None], bool], limit: int = 200) -> Frame | None:
    """Take frames (or wait briefly for one) until ``done`` says so; fails after ``limit`` tries.

    A "fast" file source reads its next frame only once the last was taken, so a test waiting
    for something the capture thread does (notice a deleted file) must keep taking frames."""
    for _ in range(limit):
        frame = source.wait_latest(WAIT_S / limit)
        if done(frame):
            return frame
    raise AssertionError(f"{source.name} never got there (state {source.state}, error {source.last_error})")


def source_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == sources.__name__ and r.levelno >= logging.WARNING
    ]


def take(source: CaptureSource, count: int) -> list[Frame]:
    frames = []
    for _ in range(count):
        frame = source.wait_latest(WAIT_S)
        assert frame is not None, f"no frame from {source.name} (state {source.state})"
        frames.append(frame)
    return frames


# -- files --------------------------------------------------------------------------------------


def test_fast_file_delivers_every_frame_in_order_then_ends(
    clip: Path, run: Callable[..., FileSource]
) -> None:
    source = run(FileSource(clip, loop=False, pace="fast", clock=FixedClock()))
    frames = take(source, CLIP_FRAMES)
    assert [position_of(f) for f in frames] == list(range(CLIP_FRAMES))
    assert [f.index for f in frames] == list(range(CLIP_FRAMES))
    assert {f.timestamp for f in frames} == {42.0}  # stamped by the injected clock
    assert frames[0].image.shape == (48, 64, 3)
    assert source.finished.wait(WAIT_S)
    assert (source.state, source.last_error) == ("ended", None)
    assert source.latest() is None


def test_looping_file_wraps_around_to_its_first_frame(clip: Path, run: Callable[..., FileSource]) -> None:
    source = run(FileSource(clip, loop=True, pace="fast"))
    frames = take(source, 2 * CLIP_FRAMES + 5)
    assert [position_of(f) for f in frames] == [i % CLIP_FRAMES for i in range(2 * CLIP_FRAMES + 5)]
    assert [f.index for f in frames] == list(range(2 * CLIP_FRAMES + 5))  # the index keeps counting
    assert source.state == "ok"
    assert not source.finished.is_set()


def test_realtime_file_hands_a_slow_consumer_only_the_newest_frame(
    clip: Path, run: Callable[..., FileSource]
) -> None:
    """No backlog: a consumer that took nothing while the clip played gets its last frame, once."""
    source = run(FileSource(clip, loop=False, pace="realtime", fps=1000.0))
    assert source.finished.wait(WAIT_S)
    newest = source.latest()
    assert newest is not None
    assert (newest.index, position_of(newest)) == (CLIP_FRAMES - 1, CLIP_FRAMES - 1)
    assert source.latest() is None


def test_realtime_file_for_a_slower_analysis_hands_out_every_nth_frame_and_decodes_only_those(
    tmp_path: Path, run: Callable[..., FileSource], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100 fps file analysed at 25 fps: every 4th frame is delivered, at 25 a second, and of a
    motion-JPEG file that FFmpeg reads (here in Matroska) only those are decoded (plus one probe of
    the first packet at each opening)."""
    clip = write_clip(tmp_path / "clip.mkv", list(range(CLIP_FRAMES)))
    decoded: list[int] = []
    real_imdecode = cv2.imdecode

    def imdecode(buffer: np.ndarray, flags: int) -> np.ndarray | None:
        decoded.append(1)
        return real_imdecode(buffer, flags)

    monkeypatch.setattr(files.cv2, "imdecode", imdecode)
    source = run(FileSource(clip, loop=False, pace="realtime", fps=100.0, deliver_fps=25.0))
    frames = []
    while len(frames) < CLIP_FRAMES // 4:
        frame = source.wait_latest(WAIT_S)
        assert frame is not None, f"no frame (state {source.state}, error {source.last_error})"
        frames.append(frame)
    assert [position_of(f) for f in frames] == [3, 7, 11, 15, 19]
    assert frames[0].image.shape == (48, 64, 3)
    assert source.finished.wait(WAIT_S)
    assert len(decoded) == 1 + len(frames)


class CaptureLog:
    """Stands in for ``cv2.VideoCapture`` in :mod:`files`: opens the real one, noting with which
    reader (``cv2.CAP_ANY``: whichever OpenCV picks, FFmpeg for these files)."""

    def __init__(self) -> None:
        self.readers: list[int] = []
        self._open = cv2.VideoCapture  # the real one: the module attribute is replaced by this

    def __call__(self, path: str, reader: int = cv2.CAP_ANY) -> cv2.VideoCapture:
        self.readers.append(reader)
        return self._open(path, reader)


@pytest.fixture
def captures(monkeypatch: pytest.MonkeyPatch) -> CaptureLog:
    log = CaptureLog()
    monkeypatch.setattr(files.cv2, "VideoCapture", log)
    return log


def test_motion_jpeg_avi_is_read_without_ffmpeg_every_nth_frame(
    clip: Path, run: Callable[..., FileSource], captures: CaptureLog
) -> None:
    """The demo's kind of file: OpenCV's own reader plays it (FFmpeg's decoders stay out of
    memory), delivering every n-th frame like FFmpeg, and again from the start on each pass."""
    source = run(FileSource(clip, loop=True, pace="realtime", fps=100.0, deliver_fps=25.0))
    frames = take(source, 2 * CLIP_FRAMES // 4)
    assert [position_of(f) for f in frames] == [3, 7, 11, 15, 19] * 2
    assert frames[0].image.shape == (48, 64, 3)
    assert set(captures.readers) == {cv2.CAP_OPENCV_MJPEG}


def test_motion_jpeg_avi_without_its_index_is_read_by_ffmpeg(
    clip: Path, run: Callable[..., FileSource], captures: CaptureLog
) -> None:
    """A recording cut short (no index at its end yet): OpenCV's reader refuses it, FFmpeg plays
    the frames it holds."""
    data = clip.read_bytes()
    clip.write_bytes(data[: data.rindex(b"idx1")])
    source = run(FileSource(clip, loop=False, pace="fast"))
    assert [position_of(f) for f in take(source, CLIP_FRAMES)] == list(range(CLIP_FRAMES))
    assert captures.readers[0] == cv2.CAP_OPENCV_MJPEG
    assert cv2.CAP_ANY in captures.readers


@pytest.mark.parametrize(("name", "fourcc"), [("clip.mkv", "MJPG"), ("clip.avi", "FFV1")])
def test_only_motion_jpeg_avi_files_are_offered_to_opencvs_own_reader(
    tmp_path: Path, name: str, fourcc: str
) -> None:
    """Any other file would make that reader print a warning at each opening."""
    path = tmp_path / name
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (64, 48))
    writer.write(flat_image(level_of(0)))
    writer.release()
    assert not files.is_mjpeg_avi(path)
    assert files.is_mjpeg_avi(write_clip(tmp_path / "mjpeg.avi", [0]))
    assert not files.is_mjpeg_avi(tmp_path / "missing.avi")


def test_deliver_fps_is_ignored_when_the_file_is_read_as_fast_as_it_is_taken(
    clip: Path, run: Callable[..., FileSource]
) -> None:
    source = run(FileSource(clip, loop=False, pace="fast", deliver_fps=1.0))
    assert [position_of(f) for f in take(source, CLIP_FRAMES)] == list(range(CLIP_FRAMES))


def test_frames_handed_out_are_never_overwritten_by_later_reads(
    clip: Path, run: Callable[..., FileSource]
) -> None:
    """Frames nobody took lend their buffers to the next read; a frame that was taken keeps its
    pixels however long the consumer holds it."""
    source = run(FileSource(clip, loop=True, pace="realtime", fps=1000.0))
    held = take(source, 1)[0]
    pixels = held.image.copy()
    target = held.index + 3 * CLIP_FRAMES
    later = take_until(source, lambda frame: frame is not None and frame.index >= target)
    assert later is not None
    assert later.image is not held.image
    np.testing.assert_array_equal(held.image, pixels)


def test_realtime_file_is_paced_at_the_given_frame_rate(clip: Path, run: Callable[..., FileSource]) -> None:
    started = time.monotonic()
    source = run(FileSource(clip, loop=False, pace="realtime", fps=100.0))
    assert source.finished.wait(WAIT_S)
    # 20 frames at 100 frames/s: the first at once, then 19 intervals of 10 ms.
    assert time.monotonic() - started >= 0.15


def test_stop_is_prompt_while_waiting_for_the_next_realtime_frame(
    clip: Path, run: Callable[..., FileSource]
) -> None:
    source = run(FileSource(clip, pace="realtime", fps=0.1))  # the next frame is due in 10 s
    assert source.wait_latest(WAIT_S) is not None
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1.0


def test_folder_skips_an_unreadable_image_with_a_warning(
    folder: Path, run: Callable[..., FileSource], caplog: pytest.LogCaptureFixture
) -> None:
    source = run(FileSource(folder, loop=False, pace="fast"))
    frames = take(source, 3)
    assert [position_of(f) for f in frames] == [1, 2, 3]
    assert source.finished.wait(WAIT_S)
    assert source.latest() is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("b.jpg" in message for message in warnings)


def test_looping_folder_warns_about_an_unreadable_image_only_once(
    folder: Path, run: Callable[..., FileSource], caplog: pytest.LogCaptureFixture
) -> None:
    source = run(FileSource(folder, loop=True, pace="fast"))
    frames = take(source, 7)
    assert [position_of(f) for f in frames] == [1, 2, 3, 1, 2, 3, 1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("b.jpg" in message for message in warnings) == 1


def test_single_image_file_plays_as_a_one_frame_clip(folder: Path, run: Callable[..., FileSource]) -> None:
    source = run(FileSource(folder / "c.bmp", loop=True, pace="fast"))
    assert [position_of(f) for f in take(source, 3)] == [2, 2, 2]


def test_folder_of_only_unreadable_images_ends_saying_why(
    tmp_path: Path, run: Callable[..., FileSource]
) -> None:
    (tmp_path / "x.png").write_bytes(b"garbage")
    source = run(FileSource(tmp_path, loop=False, pace="fast"))
    assert source.finished.wait(WAIT_S)
    assert source.state == "ended"
    assert "can be read" in (source.last_error or "")


def test_undecodable_video_is_skipped_with_a_warning_and_ends(
    tmp_path: Path, run: Callable[..., FileSource], caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"\x00not a video" * 100)
    source = run(FileSource(broken, loop=False))
    assert source.finished.wait(WAIT_S)
    assert source.state == "ended"
    assert str(broken) in (source.last_error or "")
    assert any(str(broken) in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


# -- looping files live up to "loop: true": they never end, they wait for something to play -----


@pytest.mark.parametrize("kind", ["folder of unreadable images", "undecodable video"])
def test_looping_source_with_nothing_playable_retries_instead_of_ending(
    tmp_path: Path, run: Callable[..., FileSource], watch_log: Callable[[str], LogWatcher], kind: str
) -> None:
    if kind == "undecodable video":
        path = tmp_path / "broken.avi"
        path.write_bytes(b"\x00not a video" * 100)
    else:
        path = tmp_path
        (tmp_path / "x.png").write_bytes(b"garbage")
    third_attempt = watch_log("(attempt 3)")
    source = run(FileSource(path, loop=True, pace="fast", retry_initial_s=0.001, retry_max_s=0.004))
    assert third_attempt.seen.wait(WAIT_S)
    assert (source.state, source.finished.is_set(), source.alive) == ("retrying", False, True)
    assert str(path) in (source.last_error or "")


def test_looping_folder_plays_images_added_to_it_at_the_next_pass(
    folder: Path, run: Callable[..., FileSource]
) -> None:
    source = run(FileSource(folder, loop=True, pace="fast"))
    assert [position_of(f) for f in take(source, 3)] == [1, 2, 3]
    cv2.imwrite(str(folder / "e.png"), flat_image(level_of(9)))
    (folder / "a.png").unlink()
    # The pass under way may finish with the old listing; the next one plays the new folder.
    take_until(source, lambda frame: frame is not None and position_of(frame) == 9, limit=10)
    assert [position_of(f) for f in take(source, 4)] == [2, 3, 9, 2]


@pytest.mark.parametrize("how", ["images deleted", "folder removed"])
def test_looping_folder_that_empties_retries_quietly_and_plays_again_when_refilled(
    folder: Path,
    run: Callable[..., FileSource],
    watch_log: Callable[[str], LogWatcher],
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    """No burst of warnings (one per image, 50 in 0.2 s), no end of the daemon: one line per
    retry, "retrying" while empty, then frames again."""
    source = run(FileSource(folder, loop=True, pace="fast", retry_initial_s=0.001, retry_max_s=0.004))
    take(source, 2)
    warnings_before = len(source_warnings(caplog))
    if how == "folder removed":
        shutil.rmtree(folder)
    else:
        for image in folder.glob("*.*"):
            image.unlink()
    fifth_attempt = watch_log("(attempt 5)")
    take_until(source, lambda _: fifth_attempt.seen.is_set())
    assert (source.state, source.finished.is_set(), source.alive) == ("retrying", False, True)
    assert str(folder) in (source.last_error or "")
    new_warnings = source_warnings(caplog)[warnings_before:]
    assert len(new_warnings) == 1, new_warnings  # the outage; the repeats go to the debug log
    attempts = [m for m in fifth_attempt.messages if "unavailable" in m]
    assert len(attempts) == len(set(attempts))  # one line per back-off step, none twice

    recovered = watch_log("recovered")
    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "z.png"), flat_image(level_of(7)))
    frame = take_until(source, lambda frame: frame is not None and position_of(frame) == 7)
    assert recovered.seen.wait(WAIT_S)
    assert frame is not None
    assert (source.state, source.last_error) == ("ok", None)


def test_looping_video_that_is_replaced_plays_the_new_file_from_its_next_pass(
    clip: Path, tmp_path: Path, run: Callable[..., FileSource]
) -> None:
    source = run(FileSource(clip, loop=True, pace="fast"))
    take(source, 3)
    replacement = write_clip(tmp_path / "new.avi", [20, 20, 20])
    os.replace(replacement, clip)
    take_until(source, lambda frame: frame is not None and position_of(frame) == 20, limit=2 * CLIP_FRAMES)
    assert [position_of(f) for f in take(source, 4)] == [20, 20, 20, 20]  # and it loops


@pytest.mark.parametrize("how", ["deleted", "truncated"])
def test_looping_video_that_is_deleted_or_truncated_retries_then_recovers(
    clip: Path, run: Callable[..., FileSource], watch_log: Callable[[str], LogWatcher], how: str
) -> None:
    original = clip.read_bytes()
    source = run(FileSource(clip, loop=True, pace="fast", retry_initial_s=0.001, retry_max_s=0.004))
    take(source, 2)
    failing = watch_log("(attempt 3)")
    if how == "deleted":
        clip.unlink()
    else:
        with clip.open("r+b") as file:
            file.truncate(200)
    take_until(source, lambda _: failing.seen.is_set(), limit=4 * CLIP_FRAMES)
    assert (source.state, source.finished.is_set()) == ("retrying", False)
    assert str(clip) in (source.last_error or "")
    recovered = watch_log("recovered")
    clip.write_bytes(original)
    first = take_until(source, lambda frame: frame is not None)
    assert first is not None
    assert recovered.seen.wait(WAIT_S)
    # From the start of the file (no stale frame from before the outage was left to take).
    assert [position_of(f) for f in [first, *take(source, 2)]] == [0, 1, 2]


def test_missing_file_is_a_source_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match=r"not found: .*nope\.mp4"):
        FileSource(missing).start()


def test_folder_without_images_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(SourceError, match="no images"):
        FileSource(tmp_path).start()


def test_a_source_starts_only_once(clip: Path, run: Callable[..., FileSource]) -> None:
    source = run(FileSource(clip, pace="fast"))
    with pytest.raises(RuntimeError, match="already started"):
        source.start()


# -- cameras ------------------------------------------------------------------------------------


def test_usb_source_on_a_video_file_is_paced_at_the_files_frame_rate(
    tmp_path: Path, run: Callable[..., UsbCameraSource]
) -> None:
    """A file read flat out would deliver all 20 frames in a few milliseconds and burn a core."""
    path = write_clip(tmp_path / "camera.avi", list(range(CLIP_FRAMES)), fps=100.0)
    started = time.monotonic()
    source = run(UsbCameraSource(str(path), fps=1.0))
    take_until(source, lambda frame: frame is not None and frame.index >= 15)
    # Frame 15 is due 15 intervals of 10 ms after the first: the file's rate (at the requested
    # 1 frame/s it would take 15 s).
    assert 0.14 <= time.monotonic() - started < 3.0


def test_alive_follows_the_capture_thread(clip: Path) -> None:
    source = FileSource(clip, pace="fast")
    assert not source.alive
    source.start()
    try:
        assert source.alive
    finally:
        source.stop()
    assert not source.alive
    source.stop()  # a second stop is harmless


def test_stop_joins_the_thread_and_releases_the_camera_so_a_fresh_source_can_open_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Camera off, camera on: the core stops one source and starts a new one on the same device.
    The fake camera, like a real V4L2 device, can be held by one capture at a time."""
    holders: list[object] = []
    released = threading.Event()

    class ExclusiveCamera:
        def __init__(self, device: object) -> None:
            self.opened = not holders
            if self.opened:
                holders.append(self)

        def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
            return self.opened

        def set(self, prop: int, value: float) -> bool:
            return True

        def get(self, prop: int) -> float:
            return 0.0

        def read(self, image: np.ndarray | None = None) -> tuple[bool, np.ndarray | None]:
            if released.wait(0.002):  # a real camera's frame period, so reading does not spin
                return False, None
            return True, flat_image(100)

        def release(self) -> None:
            if self in holders:
                holders.remove(self)
                released.set()

    monkeypatch.setattr(sources.cv2, "VideoCapture", ExclusiveCamera)
    first = UsbCameraSource(0, retry_initial_s=0.001, retry_max_s=0.004)
    first.start()
    assert first.wait_latest(WAIT_S) is not None
    first.stop()
    assert not first.alive
    assert released.is_set()
    assert holders == []
    released.clear()
    second = UsbCameraSource(0, retry_initial_s=0.001, retry_max_s=0.004)
    second.start()
    try:
        frame = second.wait_latest(WAIT_S)
        assert frame is not None
        assert frame.index == 0
        assert second.state == "ok"
    finally:
        second.stop()
    assert holders == []


def test_backoff_doubles_up_to_the_maximum() -> None:
    assert list(islice(backoff_delays(1.0, 30.0), 7)) == [1, 2, 4, 8, 16, 30, 30]


def test_missing_usb_camera_keeps_retrying_in_the_background(
    run: Callable[..., UsbCameraSource],
    watch_log: Callable[[str], LogWatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    third_attempt = watch_log("(attempt 3)")
    source = run(UsbCameraSource("/nonexistent/video99", retry_initial_s=0.001, retry_max_s=0.004))
    assert third_attempt.seen.wait(WAIT_S)
    assert source.state == "retrying"
    assert "/nonexistent/video99" in (source.last_error or "")
    assert source.latest() is None
    # One warning for the outage; the repeats go to the debug log.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "unavailable" in r.getMessage()]
    assert len(warnings) == 1


def test_stop_is_prompt_during_a_long_retry_backoff(
    run: Callable[..., UsbCameraSource], watch_log: Callable[[str], LogWatcher]
) -> None:
    first_failure = watch_log("unavailable")
    source = run(UsbCameraSource("/nonexistent/video99", retry_initial_s=30.0, retry_max_s=60.0))
    assert first_failure.seen.wait(WAIT_S)
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1.0


def test_usb_camera_recovers_after_being_unplugged(
    monkeypatch: pytest.MonkeyPatch,
    run: Callable[..., UsbCameraSource],
    watch_log: Callable[[str], LogWatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frames, then reads fail (unplugged), then it cannot be opened, then it works again."""
    # Each open of the fake camera: (opens?, frames before reads fail or None for endless, level)
    script = iter([(True, 2, 50), (False, 0, 0), (True, None, 200)])
    opened: list[object] = []

    class FakeVideoCapture:
        def __init__(self, device: object) -> None:
            self.opens, self.frames_left, self.level = next(script)
            opened.append(device)

        def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
            return self.opens

        def set(self, prop: int, value: float) -> bool:
            return True

        def get(self, prop: int) -> float:
            return 0.0  # what OpenCV answers for a property the backend does not report

        def read(self, image: np.ndarray | None = None) -> tuple[bool, np.ndarray | None]:
            if not self.opens or self.frames_left == 0:
                return False, None
            if self.frames_left is not None:
                self.frames_left -= 1
            else:
                time.sleep(0.002)  # a real camera's frame period, so the endless phase does not spin
            return True, flat_image(self.level)

        def release(self) -> None:
            pass

    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeVideoCapture)
    recovered = watch_log("recovered")
    source = run(UsbCameraSource("0", retry_initial_s=0.001, retry_max_s=0.004))
    assert recovered.seen.wait(WAIT_S)
    assert (source.state, source.last_error) == ("ok", None)
    assert opened == [0, 0, 0]  # "0" is taken as camera index 0
    frame = source.wait_latest(WAIT_S)
    if frame is not None and frame.image[0, 0, 0] == 50:  # the last frame from before the outage
        frame = source.wait_latest(WAIT_S)
    assert frame is not None
    assert frame.image[0, 0, 0] == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("camera returned no frame" in m for m in warnings)
    assert any("cannot open camera 0" in m for m in warnings)


class ModeCamera:
    """A fake V4L2 camera through OpenCV: it offers a few modes and, like V4L2, answers a size
    request with the nearest one, and a rate request with the nearest rate it has."""

    MODES = ((160, 120), (640, 480), (1280, 720))
    RATES = (5.0, 15.0, 30.0)
    requests: ClassVar[list[tuple[int, float]]] = []

    def __init__(self, device: object) -> None:
        self.size, self.fps = self.MODES[1], 30.0
        self.asked_width = 0.0

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def set(self, prop: int, value: float) -> bool:
        ModeCamera.requests.append((prop, value))
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            self.asked_width = value
        elif prop == cv2.CAP_PROP_FRAME_HEIGHT:
            self.size = min(self.MODES, key=lambda m: abs(m[0] - self.asked_width) + abs(m[1] - value))
        elif prop == cv2.CAP_PROP_FPS:
            self.fps = min(self.RATES, key=lambda r: abs(r - value))
        return True

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FRAME_WIDTH: float(self.size[0]), cv2.CAP_PROP_FRAME_HEIGHT: float(self.size[1]),
                cv2.CAP_PROP_FPS: self.fps}.get(prop, 0.0)

    def read(self, image: np.ndarray | None = None) -> tuple[bool, np.ndarray | None]:
        time.sleep(0.002)
        return True, np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def release(self) -> None:
        pass


def test_usb_camera_asked_for_the_analysis_needs_gets_the_smallest_mode_at_least_that_wide(
    monkeypatch: pytest.MonkeyPatch, run: Callable[..., UsbCameraSource], caplog: pytest.LogCaptureFixture,
) -> None:
    """320 px at least, 5 fps: the nearest mode to 320x240 is 160x120, too narrow, so it asks
    again at 640x480; the log says what the device accepted."""
    ModeCamera.requests = []
    monkeypatch.setattr(sources.cv2, "VideoCapture", ModeCamera)
    caplog.set_level(logging.INFO, logger=sources.__name__)
    source = run(UsbCameraSource(0, width=320, height=240, fps=5.0, min_width=True))
    frame = source.wait_latest(WAIT_S)
    assert frame is not None
    assert frame.image.shape == (480, 640, 3)
    assert (cv2.CAP_PROP_FPS, 5.0) in ModeCamera.requests
    assert any("asked 320x240 at 5 fps, the device gives 640x480 at 5 fps" in r.getMessage()
               for r in caplog.records)


def test_usb_camera_with_an_explicit_size_takes_what_the_driver_gives(
    monkeypatch: pytest.MonkeyPatch, run: Callable[..., UsbCameraSource],
) -> None:
    monkeypatch.setattr(sources.cv2, "VideoCapture", ModeCamera)
    source = run(UsbCameraSource(0, width=320, height=240, fps=5.0))
    frame = source.wait_latest(WAIT_S)
    assert frame is not None
    assert frame.image.shape == (120, 160, 3)


class FakePicamera2:
    """picamera2's Picamera2 as far as the source uses it: a YUV420 lores buffer whose Y plane is a
    known gradient, 64 bytes of stride padding per row, and U/V planes of 128."""

    configured: ClassVar[dict[str, object]] = {}

    def __init__(self) -> None:
        self.config: dict[str, object] = {}

    def create_video_configuration(self, **kwargs: object) -> dict[str, object]:
        return dict(kwargs)

    def configure(self, config: dict[str, object]) -> None:
        self.config = config
        FakePicamera2.configured = config

    def camera_configuration(self) -> dict[str, object]:
        return self.config

    def start(self) -> None:
        pass

    def capture_array(self, name: str) -> np.ndarray:
        assert name == "lores"
        lores = self.config["lores"]
        assert isinstance(lores, dict)
        width, height = lores["size"]
        buffer = np.full((height * 3 // 2, width + 64), 128, np.uint8)
        buffer[:height, :width] = pi_grey(width, height)
        time.sleep(0.002)
        return buffer

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def pi_grey(width: int, height: int) -> np.ndarray:
    return (np.add.outer(np.arange(height), np.arange(width)) % 256).astype(np.uint8)


def test_pi_camera_hands_out_the_lores_y_plane_as_the_grey_frame(
    monkeypatch: pytest.MonkeyPatch, run: Callable[..., PiCameraSource],
) -> None:
    """YUV420 at the asked size, and its Y plane (stride padding cut off) is the frame: no colour
    conversion, and the detector and crop helpers take it as it is."""
    monkeypatch.setattr(sources, "_import_picamera2", lambda: FakePicamera2)
    source = run(PiCameraSource(width=320, height=240, fps=5.0))
    frame = source.wait_latest(WAIT_S)
    assert frame is not None
    assert frame.image.shape == (240, 320)
    np.testing.assert_array_equal(frame.image, pi_grey(320, 240))
    assert FakePicamera2.configured["lores"] == {"size": (320, 240), "format": "YUV420"}
    assert FakePicamera2.configured["controls"] == {"FrameRate": 5.0}
    from soulsyncd.types import FaceBox
    from soulsyncd.vision.detector import crop_faces

    crops = crop_faces(frame.image, [FaceBox(x=10, y=20, w=30, h=40)])
    np.testing.assert_array_equal(crops[0], pi_grey(320, 240)[20:60, 10:40])


def test_y_plane_refuses_a_buffer_that_is_not_yuv420_of_that_size() -> None:
    with pytest.raises(ValueError, match="YUV420"):
        sources.y_plane(np.zeros((240, 320), np.uint8), 320, 240)  # no chroma rows
    with pytest.raises(ValueError, match="YUV420"):
        sources.y_plane(np.zeros((360, 320, 3), np.uint8), 320, 240)  # a BGR image
    assert sources.y_plane(np.zeros((360, 384), np.uint8), 320, 240).shape == (240, 320)


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 is installed here")
def test_pi_camera_without_picamera2_is_a_clear_source_error() -> None:
    source = PiCameraSource()
    with pytest.raises(SourceError, match="picamera2 is not installed") as raised:
        source.start()
    assert "python3-picamera2" in str(raised.value)
    assert source.state == "starting"
