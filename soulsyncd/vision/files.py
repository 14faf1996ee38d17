"""Replaying a video file or a folder of images as if it were a camera: for demos, tests, replays.

:class:`FileSource` is a :class:`~soulsyncd.vision.sources.CaptureSource` like the cameras, so it
shares their capture thread, keep-newest hand-over, states and back-off: a looping file that is
deleted, replaced or truncated is retried like an unplugged camera. What it adds is reading
files (video or images, in name order) and pacing them, at the file's frame rate or as fast as
the consumer takes the frames.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import NoReturn

import cv2
import numpy as np

from soulsyncd.interfaces import Clock
from soulsyncd.vision.settings import FPS_MIN, Pace
from soulsyncd.vision.sources import CaptureSource, EndOfStream, Pacer, SourceError, usable_fps

logger = logging.getLogger(__name__)


IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
DEFAULT_FILE_FPS = 10.0  # for folders of images, and videos whose header has no usable rate
# Codecs whose every frame stands alone (motion JPEG): a frame that is not delivered is skipped
# without being decoded (read as a packet), and a delivered one is decoded from its packet alone.
INTRA_ONLY_FOURCCS = frozenset({"MJPG", "mjpg", "MJPA", "mjpa", "JPEG", "jpeg", "AVRn", "dmb1"})
# An AVI's stream headers (where its codec is named) sit in its first few KB.
AVI_HEADER_BYTES = 4096
MJPEG_TAGS = (b"MJPG", b"mjpg")


def is_mjpeg_avi(path: Path) -> bool:
    """Whether ``path`` is an AVI file whose header names motion JPEG (what OpenCV reads without
    FFmpeg). Only such files are offered to that reader: any other file makes it warn."""
    try:
        with path.open("rb") as file:
            head = file.read(AVI_HEADER_BYTES)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"AVI " and any(tag in head for tag in MJPEG_TAGS)


def fourcc(capture: cv2.VideoCapture) -> str:
    """The video's codec as its four characters ("MJPG", "avc1", ...); "" when unknown."""
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    text = code.to_bytes(4, "little").decode("latin-1") if code > 0 else ""
    return text if text.isprintable() else ""


class FileSource(CaptureSource):
    """A video file or a folder of images, played like a camera: for demos, tests and replays.

    Looping (the default) lives up to its name: a folder is listed again at the start of every
    pass, so images added to it are played and deleted ones dropped; a video is reopened at every
    pass, so a replaced file plays its new content. When there is nothing to play (the file or
    folder is gone, the video cannot be decoded, no image can be read), the source is
    ``"retrying"`` with back-off, like an unplugged camera, and plays again once there is. It
    never ends while looping.

    Without looping the source ends at the end of the file (state ``"ended"``, ``finished`` set),
    or earlier, with ``last_error`` saying why, when the file cannot be decoded or disappears.

    Pacing:
        ``"realtime"`` delivers frames at the file's frame rate, so the daemon sees what a camera
        would: frames the analysis loop is too slow for are dropped (keep-newest).
        ``"fast"`` delivers frames as fast as the consumer takes them: the capture thread reads
        the next frame only once the previous one has been taken, so processing a file "as fast
        as possible" still analyses every frame, in order, without the thread spinning ahead.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        loop: bool = True,
        pace: Pace = "realtime",
        fps: float | None = None,
        deliver_fps: float | None = None,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        """Describe the file; nothing is opened until :meth:`start`.

        Args:
            path: A video file OpenCV can decode, a folder of ``.jpg``/``.jpeg``/``.png``/``.bmp``
                images played in name order, or one such image (a still scene).
            loop: Start again at the end; otherwise end (state ``"ended"``, ``finished`` set).
            pace: ``"realtime"`` or ``"fast"`` (see the class docstring).
            fps: Frame rate for realtime pacing; default the video's own rate, or 10 for a folder.
            deliver_fps: With realtime pacing, hand out only about this many frames a second (at
                least this many: every n-th frame of the video's rate), the way a camera asked for
                the analysis rate delivers; the frames in between are skipped without being
                converted, and without being decoded at all where the codec allows (motion JPEG).
                None: every frame.
            retry_initial_s: First delay before trying again when a looping file has nothing to
                play; doubles each retry.
            retry_max_s: Longest delay between those attempts.
            clock: Stamps the frames; the system clock by default. Realtime pacing always
                follows real time, so a manual clock does not stall it.
        """
        if pace not in ("realtime", "fast"):
            raise ValueError(f"pace must be 'realtime' or 'fast', got {pace!r}")
        if fps is not None and not FPS_MIN <= fps < math.inf:
            raise ValueError(f"fps must be at least {FPS_MIN:g} and finite, got {fps}")
        super().__init__(
            name=f"file {path}", retry_initial_s=retry_initial_s, retry_max_s=retry_max_s, clock=clock
        )
        self._path = Path(path)
        self._loop = loop
        self._pace: Pace = pace
        self._fps_override = fps
        if deliver_fps is not None and not FPS_MIN <= deliver_fps < math.inf:
            raise ValueError(f"deliver_fps must be at least {FPS_MIN:g} and finite, got {deliver_fps}")
        self._deliver_fps = deliver_fps if pace == "realtime" else None
        self._skip = 0  # video frames passed over before each delivered one
        self._packets = False  # the capture hands out encoded packets, decoded here (intra-only codecs)
        self._pacer = Pacer(1.0 / (fps or DEFAULT_FILE_FPS))
        self._is_video = False
        self._images: list[Path] = []
        self._position = 0
        self._unreadable: set[Path] = set()
        self._capture: cv2.VideoCapture | None = None
        self._frames_this_pass = 0

    def _prepare(self) -> None:
        # What cannot work from the start is a configuration error, reported by start(); what
        # goes missing later is an outage the capture thread rides out.
        if not self._path.exists():
            raise SourceError(f"camera file not found: {self._path}")
        self._is_video = not (self._path.is_dir() or self._path.suffix.lower() in IMAGE_EXTENSIONS)
        if self._path.is_dir() and not self._list_images():
            extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise SourceError(f"no images ({extensions}) in folder {self._path}")

    def _list_images(self) -> list[Path]:
        """The images to play, in name order; empty when there are none (or the path is gone)."""
        if not self._path.is_dir():
            return [self._path] if self._path.is_file() else []  # a still photo: a one-image folder
        try:
            entries = list(self._path.iterdir())
        except OSError as exc:  # removed or made unreadable between the check and the listing
            logger.debug("cannot list %s: %s", self._path, exc)
            return []
        return sorted(p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())

    def _nothing_to_play(self, reason: str) -> NoReturn:
        """Retry later when looping (the file may come back); otherwise end, saying why."""
        if self._loop:
            raise SourceError(reason)
        logger.warning("%s; the file source ends", reason)
        raise EndOfStream(reason)

    def _open(self) -> None:
        if self._is_video:
            self._capture = self._open_video()
            return
        self._images = self._list_images()
        self._position = 0
        if not self._images:
            self._nothing_to_play(f"no images in {self._path}")

    def _open_video(self) -> cv2.VideoCapture:
        if not self._path.is_file():
            self._nothing_to_play(f"camera file not found: {self._path}")
        capture = self._own_mjpeg_capture() if is_mjpeg_avi(self._path) else None
        own_reader = capture is not None
        if capture is None:
            capture = cv2.VideoCapture(str(self._path))
        if not capture.isOpened():
            capture.release()
            self._nothing_to_play(f"cannot decode video {self._path}")
        video_fps = self._fps_override or usable_fps(capture) or DEFAULT_FILE_FPS
        self._skip = 0
        if self._deliver_fps is not None:
            self._skip = max(0, math.floor(video_fps / self._deliver_fps) - 1)
        # Read at every opening: a replaced video may differ.
        self._pacer.interval_s = (1 + self._skip) / video_fps
        self._packets = False
        if own_reader:
            logger.debug("%s: read by OpenCV's motion-JPEG reader, every %d. frame delivered",
                         self._path, self._skip + 1)
        elif self._skip and fourcc(capture) in INTRA_ONLY_FOURCCS:
            capture = self._packet_capture(capture)
        self._frames_this_pass = 0
        return capture

    def _own_mjpeg_capture(self) -> cv2.VideoCapture | None:
        """The file opened by OpenCV's own motion-JPEG AVI reader, at its first frame, when that
        reader takes it and the first frame decodes; else None (FFmpeg reads it).

        That reader passes over a frame without reading it and decodes a delivered one with
        OpenCV's own JPEG decoder (the one ``cv2.imdecode`` uses), so FFmpeg's demuxer and
        decoders never run: the demo peaks 4.7 MB lower (docs/performance.md). It needs the AVI's
        index, so a file still being written goes to FFmpeg."""
        capture = cv2.VideoCapture(str(self._path), cv2.CAP_OPENCV_MJPEG)
        decodes = capture.isOpened() and capture.read()[0]
        capture.release()
        if not decodes:
            return None
        return cv2.VideoCapture(str(self._path), cv2.CAP_OPENCV_MJPEG)  # back to the first frame

    def _packet_capture(self, capture: cv2.VideoCapture) -> cv2.VideoCapture:
        """The capture switched to encoded packets, when its first packet decodes on its own;
        else the capture as it was (reopened at its start)."""
        if capture.set(cv2.CAP_PROP_FORMAT, -1) and capture.grab():
            ok, packet = capture.retrieve()
            decodable = ok and packet is not None and cv2.imdecode(packet, cv2.IMREAD_COLOR) is not None
        else:
            decodable = False
        capture.release()
        capture = cv2.VideoCapture(str(self._path))  # back to the first frame either way
        if decodable and capture.set(cv2.CAP_PROP_FORMAT, -1):
            self._packets = True
        elif decodable:  # the reopened capture refused packets: decode as usual
            capture.release()
            capture = cv2.VideoCapture(str(self._path))
        logger.debug("%s: every %d. frame delivered%s", self._path, self._skip + 1,
                     ", skipped ones not decoded" if self._packets else "")
        return capture

    def _next_video_frame(self) -> tuple[bool, np.ndarray | None]:
        """The next frame to deliver, after passing over the ``_skip`` frames before it."""
        assert self._capture is not None
        capture = self._capture
        for _ in range(self._skip):
            if not capture.grab():
                return False, None
        if not self._packets:
            ok, image = capture.read(self._take_spare())
            return ok, image
        if not capture.grab():
            return False, None
        ok, packet = capture.retrieve()
        decoded = cv2.imdecode(packet, cv2.IMREAD_COLOR) if ok and packet is not None else None
        return decoded is not None, decoded

    def _read(self) -> np.ndarray:
        return self._read_video() if self._is_video else self._read_folder()

    def _read_video(self) -> np.ndarray:
        assert self._capture is not None
        ok, image = self._next_video_frame()
        if not ok:
            # OpenCV cannot tell a truncated or corrupt tail from the end: both end the pass.
            if self._frames_this_pass == 0:
                self._nothing_to_play(f"cannot decode any frame of video {self._path}")
            if not self._loop:
                raise EndOfStream
            # Reopening is the one rewind every backend supports (seeking to frame 0 is not),
            # and it is what picks up a replaced file.
            self._capture.release()
            self._capture = None
            self._capture = self._open_video()
            ok, image = self._next_video_frame()
            if not ok:
                self._nothing_to_play(f"cannot decode any frame of video {self._path}")
        self._frames_this_pass += 1
        assert image is not None
        return image

    def _read_folder(self) -> np.ndarray:
        # Each image is tried at most once per call (the rest of this pass, then at most one whole
        # fresh listing), so a folder of only unreadable files waits instead of spinning.
        relisted = False
        while True:
            if self._position >= len(self._images):
                if not self._loop and self._next_index == 0:
                    self._nothing_to_play(self._none_readable())
                if not self._loop:
                    raise EndOfStream
                if relisted:
                    break
                self._images = self._list_images()  # each pass plays what the folder holds now
                self._position = 0
                relisted = True
                if not self._images:
                    self._nothing_to_play(f"no images in {self._path}")
            image_path = self._images[self._position]
            self._position += 1
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            if image is not None:
                return image
            if not image_path.exists():
                logger.debug("image %s was removed; skipping it", image_path)
            elif image_path not in self._unreadable:  # warn once, not on every loop of the folder
                self._unreadable.add(image_path)
                logger.warning("cannot read image %s; skipping it", image_path)
        self._nothing_to_play(self._none_readable())

    def _none_readable(self) -> str:
        return f"none of the {len(self._images)} images in {self._path} can be read"

    def _close(self) -> None:
        if self._capture is not None:
            capture, self._capture = self._capture, None
            capture.release()

    def _wait_before_next_read(self) -> bool:
        if self._pace == "fast":
            with self._handover:
                self._handover.wait_for(lambda: self._latest is None or self._stop.is_set())
            return self._stop.is_set()
        return self._pacer.wait(self._stop)
