"""The vision area's settings: the camera, detection and model sections of the config file, with the
limits the sources, the detector and the classifier run with (declared here, once, and imported by
them), so that validating a config loads neither OpenCV nor LiteRT."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from msgspec import Meta, structs

from soulsyncd.settings import FieldError, Section

# The sources' limits, declared once: the config's fields use these same constants. The sources
# themselves enforce only what they need not to break (tests drive them with tiny retry delays and
# very high file rates); the config also keeps values inside the sensible range.
RETRY_S_MIN = 0.01  # config floor: shorter, a missing camera is reopened in a busy loop
RETRY_S_MAX = 3600.0  # a wait of 1e10 s overflows Event.wait and killed the capture thread
FPS_MIN = 0.1  # a frame every 10 s; enforced by FileSource (1e-12 overflowed its pacing)
FPS_MAX = 120.0  # config ceiling for capture and replay rates
FRAME_SIDE_MIN = 16  # config bounds of a requested capture width or height, in pixels
FRAME_SIDE_MAX = 8192
DEVICE_INDEX_MAX = 99  # OpenCV reads index + 100 * n as "camera on backend n"


def usb_device(device: int | str) -> int | str:
    """The checked camera for OpenCV's VideoCapture: an index, an absolute device path or a URL.

    A string of digits is an index (OpenCV would open ``"0"`` as a file). Negative indexes are
    refused because OpenCV crashes on them (a segfault, not an error), and a string must be an
    absolute path such as ``/dev/video0`` or a stream URL (``rtsp://...``), not a bare word.

    Raises:
        ValueError: Anything else; the message says what is accepted.
    """
    if isinstance(device, str) and device.isascii() and device.isdigit():
        device = int(device)
    if isinstance(device, bool):  # YAML's yes/no/true are bools, and bools are ints
        raise ValueError(f"expected a camera index or a device path, got {device!r}")
    if isinstance(device, int):
        if not 0 <= device <= DEVICE_INDEX_MAX:
            raise ValueError(f"a camera index must be in [0, {DEVICE_INDEX_MAX}], got {device}")
        return device
    looks_like_url = "://" in device and device.split("://", 1)[0].isalpha()
    printable = device.isprintable() and device == device.strip()
    if not (printable and (device.startswith("/") or looks_like_url)):
        raise ValueError(
            f"expected a camera index, a device path such as /dev/video0 or a URL, got {device!r}"
        )
    return device


Pace = Literal["realtime", "fast"]

FaceMode = Literal["largest", "all"]

# The options' limits, declared once: the config's fields use these same constants.
# Closer to 1 the pyramid has hundreds of scales: a full 640x480 scan of a cluttered room took 350 ms
# at 1.01 and 72 ms at 1.05 here (37 ms at the default 1.1), several times that on a Pi.
SCALE_FACTOR_MIN = 1.05
SCALE_FACTOR_MAX = 2.0  # coarser steps skip face sizes between scales
MIN_NEIGHBORS_MIN = 1  # 0 turns off grouping: every raw window hit is a "face" (731 on one frame)
MIN_NEIGHBORS_MAX = 100
MIN_FACE_PX_MIN = 10  # smaller crops carry no expression the 48x48 classifier can read
MIN_FACE_PX_MAX = 4096
DETECT_WIDTH_MIN = 80  # narrower, a face at a few metres is below the cascade's 24 px window
DETECT_WIDTH_MAX = 4096
FULL_SCAN_INTERVAL_S_MAX = 60.0  # a newcomer must be noticed within about a minute
IDLE_SCAN_INTERVAL_S_MAX = 60.0  # the empty room's safety-net scan, likewise
IDLE_AFTER_S_MAX = 600.0
CHANGE_THRESHOLD_MIN = 1.0  # grey levels; below it sensor noise alone would trigger scans
CHANGE_THRESHOLD_MAX = 255.0
CHANGE_AREA_MIN = 0.0  # 0: any changed cell triggers a scan
CHANGE_AREA_MAX = 1.0


def _shipped_model() -> Path:
    # Installed: the model is package data (soulsyncd.models). Source tree: the top-level models/.
    import importlib.util

    spec = importlib.util.find_spec("soulsyncd.models")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "emotion_int8.tflite"
            if candidate.is_file():
                return candidate
    return Path(__file__).resolve().parents[2] / "models" / "emotion_int8.tflite"


DEFAULT_MODEL_PATH = _shipped_model()


# --- camera -----------------------------------------------------------------------------------------


class _CameraBase(Section, frozen=True, kw_only=True):
    retry_initial_s: Annotated[float, Meta(
        ge=RETRY_S_MIN, le=RETRY_S_MAX,
        description="Seconds before reopening a failed camera; doubles on each failure.",
    )] = 1.0
    retry_max_s: Annotated[float, Meta(
        ge=RETRY_S_MIN, le=RETRY_S_MAX, description="Longest wait between attempts to reopen the camera.",
    )] = 30.0

    def __post_init__(self) -> None:
        # Checked against a default too.
        if self.retry_max_s < self.retry_initial_s:
            raise FieldError("retry_max_s", f"must be >= retry_initial_s ({self.retry_initial_s:g}), "
                             f"got {self.retry_max_s:g}")


class UsbCameraConfig(_CameraBase, frozen=True, kw_only=True, tag="usb", tag_field="kind"):
    """A V4L2/USB webcam opened through OpenCV (``kind: usb``: a USB webcam through OpenCV)."""

    kind: ClassVar[Literal["usb"]] = "usb"
    device: Annotated[int | str, Meta(
        description="Camera index (0 = first) or a device path such as /dev/video0.",
    )] = 0
    width: Annotated[Annotated[int, Meta(ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX)] | None, Meta(
        description="Requested capture width in pixels (None: the smallest the camera offers at "
        "least detection.detect_width wide).",
    )] = None
    height: Annotated[Annotated[int, Meta(ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX)] | None, Meta(
        description="Requested capture height in pixels (None: 3/4 of the width).",
    )] = None
    fps: Annotated[Annotated[float, Meta(ge=FPS_MIN, le=FPS_MAX)] | None, Meta(
        description="Requested capture frame rate (None: analysis.fps, rounded up).",
    )] = None

    @classmethod
    def check_written(cls, data: Mapping[str, object]) -> None:
        # YAML reads yes/no/true as bools, and True is no camera.
        device = data.get("device")
        if isinstance(device, bool):
            raise FieldError(
                "device", f"expected a camera index or a device path such as /dev/video0, got {device!r}")

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            # The source's own check: "0" is camera 0, no negative index (OpenCV segfaults), paths absolute.
            structs.force_setattr(self, "device", usb_device(self.device))
        except ValueError as exc:
            raise FieldError("device", str(exc)) from None


class Picamera2CameraConfig(_CameraBase, frozen=True, kw_only=True, tag="picamera2", tag_field="kind"):
    """The Raspberry Pi camera through picamera2 (libcamera) (``kind: picamera2``)."""

    kind: ClassVar[Literal["picamera2"]] = "picamera2"
    width: Annotated[int, Meta(
        ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX, description="Capture width in pixels.",
    )] = 640
    height: Annotated[int, Meta(
        ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX, description="Capture height in pixels.",
    )] = 480
    fps: Annotated[float, Meta(ge=FPS_MIN, le=FPS_MAX, description="Capture frame rate.")] = 30.0


class FileCameraConfig(_CameraBase, frozen=True, kw_only=True, tag="file", tag_field="kind"):
    """A video file or a folder of images, replayed as if it were a camera (no hardware needed)
    (``kind: file``)."""

    kind: ClassVar[Literal["file"]] = "file"
    path: Annotated[Path, Meta(
        description="Video file or folder of images; a relative path is relative to the config file.",
    )]
    loop: Annotated[bool, Meta(description="At the end, start again instead of stopping.")] = True
    pace: Annotated[Pace, Meta(
        description="'realtime' hands out frames at the frame rate, 'fast' as fast as they are read.",
    )] = "realtime"
    fps: Annotated[Annotated[float, Meta(ge=FPS_MIN, le=FPS_MAX)] | None, Meta(
        description="Frame rate for an image folder or to override a video's (None: the video's own, 10).",
    )] = None


CameraConfig = UsbCameraConfig | Picamera2CameraConfig | FileCameraConfig
"""Any camera section; ``kind`` says which."""


class DetectionConfig(Section, frozen=True, kw_only=True):
    """The Haar-cascade face detector."""

    scale_factor: Annotated[float, Meta(
        ge=SCALE_FACTOR_MIN, le=SCALE_FACTOR_MAX,
        description="Haar pyramid step; smaller finds more faces, slower.",
    )] = 1.1
    min_neighbors: Annotated[int, Meta(
        ge=MIN_NEIGHBORS_MIN, le=MIN_NEIGHBORS_MAX,
        description="Overlapping hits needed to accept a face; higher means fewer.",
    )] = 5
    min_face_px: Annotated[int, Meta(
        ge=MIN_FACE_PX_MIN, le=MIN_FACE_PX_MAX,
        description="Smallest face side to detect, in full-frame pixels.",
    )] = 30
    detect_width: Annotated[int, Meta(
        ge=DETECT_WIDTH_MIN, le=DETECT_WIDTH_MAX,
        description="Width the frame is downscaled to for the full-frame scan.",
    )] = 320
    full_scan_interval_s: Annotated[float, Meta(
        ge=0, le=FULL_SCAN_INTERVAL_S_MAX,
        description="Seconds between full-frame scans; in between, only near the last faces.",
    )] = 2.0
    idle_scan_interval_s: Annotated[float, Meta(
        ge=0, le=IDLE_SCAN_INTERVAL_S_MAX,
        description="Longest time between whole-frame scans while the picture (outside tracked people) "
        "is unchanged; 0: no change check.",
    )] = 10.0
    change_threshold: Annotated[float, Meta(
        ge=CHANGE_THRESHOLD_MIN, le=CHANGE_THRESHOLD_MAX,
        description="Change check: grey levels a thumbnail cell must change by to count as changed.",
    )] = 12.0
    change_area: Annotated[float, Meta(
        ge=CHANGE_AREA_MIN, le=CHANGE_AREA_MAX,
        description="Change check: fraction of thumbnail cells that must change to trigger a full scan.",
    )] = 0.004


class ModelConfig(Section, frozen=True, kw_only=True):
    """The emotion classifier model."""

    path: Annotated[Path, Meta(
        description="The int8 TFLite model; a relative path is relative to the config file.",
    )] = DEFAULT_MODEL_PATH
    num_threads: Annotated[int, Meta(ge=1, le=4, description="CPU threads for the TFLite interpreter.")] = 1
    flip_average: Annotated[bool, Meta(
        description="Also classify each face's mirror image and average: more accurate, twice the inference.",
    )] = True
