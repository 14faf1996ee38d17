"""Frame sources: the capture machinery they share, a USB camera and the Raspberry Pi camera.

The replay of a video file or a folder of images, :class:`~soulsyncd.vision.files.FileSource`,
lives in :mod:`soulsyncd.vision.files` and is built on the same :class:`CaptureSource`.

Every source captures in its own daemon thread and keeps only the newest frame: the analysis
loop asks :meth:`CaptureSource.latest` for it whenever it is ready, and frames it was too slow
for are dropped rather than queued, so the daemon always reacts to the present. Frames live in
memory only; nothing here writes them to disk or sends them anywhere.

A camera that cannot be opened, or that stops delivering frames (unplugged, taken by another
process), puts the source in state ``"retrying"``: it is closed and reopened with exponential
backoff until it works again, with one log line per attempt (a warning for the first and for a
new kind of error, the repeats at debug level). A looping file source treats a deleted, replaced
or truncated file the same way. Nothing is ever raised out of the capture thread.

:meth:`CaptureSource.stop` really releases the device: it joins the capture thread (for about a
second at most), and the thread closes the device on its way out, so a new source for the same
camera can be started right after (turning the camera off and on builds a fresh source).

Constructors take plain values; mapping the config onto them is the application's job.
"""

from __future__ import annotations

import abc
import logging
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from soulsyncd.interfaces import Clock, SystemClock
from soulsyncd.native_output import quiet_opencv
from soulsyncd.types import Frame
from soulsyncd.vision.settings import (  # noqa: F401  (the sources' limits, declared with their settings)
    DEVICE_INDEX_MAX,
    FPS_MAX,
    FPS_MIN,
    FRAME_SIDE_MAX,
    FRAME_SIDE_MIN,
    RETRY_S_MAX,
    RETRY_S_MIN,
    usb_device,
)

logger = logging.getLogger(__name__)

# Each failed open of a USB camera would print OpenCV's own "[ WARN:0@1.397] global cap_v4l.cpp ..."
# to stderr, outside the log; the sources log one line of their own instead.
quiet_opencv()

SourceState = Literal["starting", "ok", "retrying", "ended"]
STOP_TIMEOUT_S = 1.0

class SourceError(RuntimeError):
    """A source cannot be started at all (missing file, missing camera library); says what to do."""


class EndOfStream(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a source's reader when a file has no more frames; ``reason`` is set if that is a fault.

    Part of the subclass contract (see :meth:`CaptureSource._read`): the file source in
    :mod:`soulsyncd.vision.files` raises it, the capture loop catches it; it never leaves the thread.
    """

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "end of stream")
        self.reason = reason


def backoff_delays(initial_s: float, max_s: float) -> Iterator[float]:
    """Retry delays: ``initial_s``, doubling each time, capped at ``max_s`` (endless)."""
    delay = initial_s
    while True:  # a generator: the consumer decides when to stop asking
        yield delay
        delay = min(delay * 2, max_s)


class Pacer:
    """Spaces reads ``interval_s`` apart on the real clock, for sources that do not pace themselves."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next_due: float | None = None

    def wait(self, stop: threading.Event) -> bool:
        """Wait until the next read is due; True when ``stop`` was set meanwhile."""
        now = time.monotonic()
        due = now if self._next_due is None else self._next_due
        # Keep to the schedule across small hiccups, but after a long stall (a slow decode, a
        # suspended process, an outage) restart it rather than bursting frames to catch up.
        if due < now - self.interval_s:
            due = now
        self._next_due = due + self.interval_s
        return stop.wait(max(0.0, due - now))


def usable_fps(capture: cv2.VideoCapture) -> float | None:
    """The frame rate a video's header gives, or None where it is 0, NaN or a timebase (1000)."""
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    return fps if math.isfinite(fps) and 0 < fps <= 240 else None


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """Frames are always (h, w, 3) BGR, whatever the camera or file delivers."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


class CaptureSource(abc.ABC):
    """Runs a capture loop in a daemon thread and hands out only the newest frame.

    Subclasses say how to open, read and close the device; this class owns the thread, the
    keep-newest hand-over, the state reported to the application, and retrying after outages.
    A source is started once; :meth:`stop` ends it for good.

    Attributes:
        finished: Set when the source has ended for good (a file that ran out with looping off,
            or one that cannot be decoded); a camera never sets it.
    """

    def __init__(
        self,
        *,
        name: str,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        if not 0 < retry_initial_s <= retry_max_s <= RETRY_S_MAX:
            raise ValueError(
                f"need 0 < retry_initial_s <= retry_max_s <= {RETRY_S_MAX:g}, "
                f"got {retry_initial_s} and {retry_max_s}"
            )
        self.name = name
        self.finished = threading.Event()
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._clock = clock or SystemClock()
        self._stop = threading.Event()
        # Guards _latest; the capture thread waits on it in "fast" pacing, consumers in wait_latest.
        self._handover = threading.Condition()
        self._latest: Frame | None = None
        self._next_index = 0
        self._state: SourceState = "starting"
        self._last_error: str | None = None
        self._failed_attempts = 0
        self._delays = backoff_delays(retry_initial_s, retry_max_s)
        self._thread: threading.Thread | None = None
        # The image of a frame that was replaced before anyone took it: it was never handed out,
        # so the next read may decode into it instead of into a fresh (page-faulting) buffer.
        self._spare: np.ndarray | None = None

    @property
    def state(self) -> SourceState:
        """``"starting"`` (no frame yet), ``"ok"``, ``"retrying"`` (outage) or ``"ended"`` (file done)."""
        return self._state

    @property
    def last_error(self) -> str | None:
        """Why the source is ``"retrying"`` (or ended early); None while it delivers frames."""
        return self._last_error

    @property
    def retry_initial_s(self) -> float:
        """The first retry's delay: the least time between two opens (the privacy switch obeys it)."""
        return self._retry_initial_s

    @property
    def alive(self) -> bool:
        """Whether the capture thread runs: False before :meth:`start`, after :meth:`stop`, and once
        the source has ended (state ``"ended"``). A watchdog reads a False while the source should
        be running as a dead camera thread."""
        return self._thread is not None and self._thread.is_alive()

    def check(self) -> None:
        """Raise SourceError for what can never work as configured, without opening the device: a
        reload checks the new source this way while the old one still holds the camera."""
        self._prepare()

    def start(self) -> None:
        """Check the source can work at all, then start capturing in the background.

        Raises:
            SourceError: The source can never work as configured (a missing file, a missing
                camera library). Outages that may pass (a camera not plugged in yet) are not
                raised: the source retries them in the background.
            RuntimeError: The source was already started.
        """
        if self._thread is not None:
            raise RuntimeError(f"{self.name} was already started")
        self._prepare()
        self._thread = threading.Thread(target=self._run, name=f"capture: {self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop capturing, and wait (about a second at most) for the thread to close the device.

        Safe to call more than once, and before :meth:`start`. When it returns, the device is
        closed and :attr:`alive` is False, unless a driver call blocked for longer than the wait
        (logged); the thread then closes the device as soon as that call returns.
        """
        self._stop.set()
        with self._handover:
            self._handover.notify_all()
        if self._thread is None:
            return
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            # Only a driver call can block this long (a V4L2 read on a vanishing camera); the
            # thread is a daemon and closes the device when that call returns.
            logger.warning(
                "%s: capture thread still busy in a read after %.0f s; not waiting", self.name, STOP_TIMEOUT_S
            )

    def latest(self) -> Frame | None:
        """The newest frame not handed out before, or None if no new frame has arrived."""
        with self._handover:
            return self._take()

    def wait_latest(self, timeout_s: float) -> Frame | None:
        """Like :meth:`latest`, but wait up to ``timeout_s`` for a new frame if there is none yet.

        Returns None at once when the source is stopped or has finished with nothing left.
        """
        with self._handover:
            self._handover.wait_for(
                lambda: self._latest is not None or self._stop.is_set() or self.finished.is_set(),
                timeout_s,
            )
            return self._take()

    def _take(self) -> Frame | None:
        frame, self._latest = self._latest, None
        if frame is not None:
            self._handover.notify_all()  # a "fast" file source waits for its frame to be taken
        return frame

    # -- what a subclass provides ------------------------------------------------------------

    def _prepare(self) -> None:  # noqa: B027 - optional hook, most sources have nothing to check
        """Synchronous checks in :meth:`start`; raise SourceError for what retrying cannot fix."""

    @abc.abstractmethod
    def _open(self) -> None:
        """Open the device; raise any exception if it is not available (it will be retried)."""

    @abc.abstractmethod
    def _read(self) -> np.ndarray:
        """Block until the next image; raise on failure, or EndOfStream when a file is done."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release the device; must be safe to call when (partly) unopened."""

    def _wait_before_next_read(self) -> bool:
        """Pace the loop; True when stop was requested. Cameras pace themselves (a read blocks)."""
        return self._stop.is_set()

    def _take_spare(self) -> np.ndarray | None:
        """A buffer :meth:`_read` may decode into (OpenCV's ``read(image)``), or None. Only the
        capture thread calls it; the buffer was never handed out, so overwriting it is safe."""
        spare, self._spare = self._spare, None
        return spare

    # -- the capture thread ------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        while not self._stop.wait(delay):  # waiting on the event keeps stop() prompt during backoff
            error = self._capture_until_failure()
            if error is None:
                return
            delay = next(self._delays)
            self._report_failure(error, delay)

    # A source whose device delivers luminance only (the Pi camera's YUV420 stream) hands its grey
    # frames on as they are: the detector and the classifier read grey, so BGR would be a waste.
    grey_frames = False

    def _as_frame_image(self, image: np.ndarray) -> np.ndarray:
        return image if self.grey_frames and image.ndim == 2 else _as_bgr(image)

    def _capture_until_failure(self) -> Exception | None:
        """Open and read until stopped or ended (None), or until something fails (the error)."""
        try:
            self._open()
            while not self._wait_before_next_read():
                self._publish(self._as_frame_image(self._read()))
        except EndOfStream as end:
            self._end(end.reason)
        except Exception as exc:  # any failure is an outage to retry: the thread must not die
            return exc
        finally:
            self._close_quietly()
        return None

    def _publish(self, image: np.ndarray) -> None:
        frame = Frame(image=image, timestamp=self._clock.monotonic(), index=self._next_index)
        self._next_index += 1
        if self._state != "ok":
            failed_attempts, self._failed_attempts = self._failed_attempts, 0
            self._delays = backoff_delays(self._retry_initial_s, self._retry_max_s)
            self._last_error = None
            self._state = "ok"
            height, width = image.shape[:2]
            if failed_attempts:
                logger.info(
                    "%s recovered after %d failed attempt(s); frames are %dx%d",
                    self.name, failed_attempts, width, height,
                )
            else:
                logger.info("%s started; frames are %dx%d", self.name, width, height)
        with self._handover:
            dropped, self._latest = self._latest, frame  # keep-newest: no backlog
            self._handover.notify_all()
        if dropped is not None:
            self._spare = dropped.image  # at 30 frames/s and 5 analysed, 5 frames in 6 end here

    def _report_failure(self, error: Exception, delay: float) -> None:
        message = str(error) or type(error).__name__
        repeated = self._failed_attempts > 0 and message == self._last_error
        self._failed_attempts += 1
        self._last_error = message
        self._state = "retrying"
        # One warning per outage (and per new kind of error), not one per retry for hours.
        log = logger.debug if repeated else logger.warning
        log(
            "%s unavailable: %s; retrying in %.1f s (attempt %d)",
            self.name, message, delay, self._failed_attempts,
        )

    def _end(self, reason: str | None) -> None:
        self._last_error = reason
        self._state = "ended"
        if reason is None:
            logger.info("%s: end of file after %d frames", self.name, self._next_index)
        with self._handover:
            self.finished.set()
            self._handover.notify_all()

    def _close_quietly(self) -> None:
        try:
            self._close()
        except Exception as exc:  # closing a device that just failed may fail too; nothing to do
            logger.debug("%s: error while closing: %s", self.name, exc)


class UsbCameraSource(CaptureSource):
    """A USB (UVC) camera, or anything else OpenCV's VideoCapture opens (a V4L2 path, a URL)."""

    def __init__(
        self,
        device: int | str = 0,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        min_width: bool = False,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        """Describe the camera; nothing is opened until :meth:`start`.

        Args:
            device: Camera index (``0`` is ``/dev/video0``), a device path, or a stream URL. A
                string of digits is taken as an index; see :func:`usb_device` (ValueError).
            width: Requested frame width; the camera may choose the nearest size it supports.
            height: Requested frame height.
            fps: Requested frame rate.
            min_width: ``width`` is a floor: where the driver answers the request with a smaller
                mode (V4L2 picks the nearest), ask for twice the size until it gives one at least
                that wide (the smallest mode >= the detector's width, when that is the request).
            retry_initial_s: First delay before reopening after an outage; doubles each retry.
            retry_max_s: Longest delay between reopening attempts.
            clock: Stamps the frames; the system clock by default.
        """
        super().__init__(
            name=f"USB camera {device}", retry_initial_s=retry_initial_s, retry_max_s=retry_max_s,
            clock=clock,
        )
        self._device: int | str = usb_device(device)
        self._width = width
        self._height = height
        self._fps = fps
        self._min_width = min_width
        self._capture: cv2.VideoCapture | None = None
        self._pacer: Pacer | None = None
        self._accepted: tuple[float, float, float] | None = None

    def _open(self) -> None:
        capture = cv2.VideoCapture(self._device)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open camera {self._device!r}")
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
        width, height = self._width, self._height
        while self._min_width and 0 < capture.get(cv2.CAP_PROP_FRAME_WIDTH) < self._width and width < 4096:
            width, height = width * 2, height * 2
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        capture.set(cv2.CAP_PROP_FPS, self._fps)
        # The driver's own queue would otherwise hand us frames that are several reads old.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        accepted = (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT),
                    capture.get(cv2.CAP_PROP_FPS))
        if accepted != self._accepted:  # once per change, not at every reopening
            self._accepted = accepted
            logger.info("%s: asked %dx%d at %g fps, the device gives %gx%g at %g fps", self.name,
                        self._width, self._height, self._fps, *accepted)
        self._capture = capture
        # A camera's read blocks until its next frame; a video file's returns at once, so a
        # "camera" that is a file would otherwise be decoded flat out, a core's worth of CPU.
        is_file = isinstance(self._device, str) and Path(self._device).is_file()
        self._pacer = Pacer(1.0 / (usable_fps(capture) or self._fps)) if is_file else None

    def _wait_before_next_read(self) -> bool:
        if self._pacer is not None:
            return self._pacer.wait(self._stop)
        return self._stop.is_set()

    def _read(self) -> np.ndarray:
        assert self._capture is not None
        ok, image = self._capture.read(self._take_spare())
        if not ok or image is None:
            raise SourceError("camera returned no frame (unplugged or in use?)")
        return image

    def _close(self) -> None:
        if self._capture is not None:
            capture, self._capture = self._capture, None
            capture.release()


def _import_picamera2() -> Any:
    try:
        from picamera2 import Picamera2  # Pi-only dependency, imported lazily on purpose
    except ImportError as exc:
        raise SourceError(
            f"picamera2 is not installed ({exc}): the Raspberry Pi camera needs it. On Raspberry "
            "Pi OS install python3-picamera2 (sudo apt install python3-picamera2) and create the "
            "venv with --system-site-packages; elsewhere use a 'usb' or 'file' camera"
        ) from exc
    return Picamera2


def y_plane(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """The luminance of a YUV420 (I420) buffer as picamera2 hands it out: ``height * 3 / 2`` rows
    (Y, then U and V), each row ``stride >= width`` bytes; the Y plane is the first ``height``
    rows. A view, not a copy: the grey image the detector and the classifier read.

    Raises:
        ValueError: The buffer is not a 2-D uint8 YUV420 buffer of at least that size.
    """
    too_small = array.ndim != 2 or array.shape[0] < height * 3 // 2 or array.shape[1] < width
    if too_small or array.dtype != np.uint8:
        raise ValueError(f"expected a YUV420 buffer of {width}x{height}, got {array.dtype} {array.shape}")
    return array[:height, :width]


class PiCameraSource(CaptureSource):
    """The Raspberry Pi camera (CSI) through picamera2, which is imported only when started.

    It asks the ISP for what the analysis reads: a YUV420 stream at ``width`` x ``height`` (the
    low-resolution stream, beside a main stream of the same size that is never read), and hands
    out its Y plane as the grey frame, with no colour conversion at all.
    """

    grey_frames = True

    def __init__(
        self,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        """Describe the camera; nothing is imported or opened until :meth:`start`.

        Args:
            width: Frame width (libcamera may round it to the sensor's alignment).
            height: Frame height.
            fps: Frame rate asked of the sensor.
            retry_initial_s: First delay before reopening after an outage; doubles each retry.
            retry_max_s: Longest delay between reopening attempts.
            clock: Stamps the frames; the system clock by default.
        """
        super().__init__(
            name="Pi camera", retry_initial_s=retry_initial_s, retry_max_s=retry_max_s, clock=clock
        )
        self._width = width
        self._height = height
        self._fps = fps
        self._picamera2_class: Any = None
        self._camera: Any = None

    def _prepare(self) -> None:
        self._picamera2_class = _import_picamera2()

    def _open(self) -> None:
        camera = self._picamera2_class()
        self._camera = camera  # assigned first so _close releases it if configuring fails
        # lores must be YUV420 on a Pi 4 and earlier, and is never larger than main; the main
        # stream is a small YUV420 too, so the ISP does no work for an image nobody reads.
        size = (self._width, self._height)
        config = camera.create_video_configuration(
            main={"size": size, "format": "YUV420"},
            lores={"size": size, "format": "YUV420"},
            controls={"FrameRate": self._fps},
            buffer_count=2,
        )
        camera.configure(config)
        accepted = camera.camera_configuration() or {}  # what libcamera made of the request
        lores = accepted.get("lores") or {}
        logger.info("Pi camera: lores %s %s (asked %dx%d YUV420 at %g fps), controls %s",
                    lores.get("size"), lores.get("format"), self._width, self._height, self._fps,
                    accepted.get("controls"))
        camera.start()

    def _read(self) -> np.ndarray:
        return y_plane(self._camera.capture_array("lores"), self._width, self._height)

    def _close(self) -> None:
        if self._camera is not None:
            camera, self._camera = self._camera, None
            try:
                camera.stop()
            finally:
                camera.close()
