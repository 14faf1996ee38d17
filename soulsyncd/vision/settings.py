"""The vision area's settings: the camera, detection and model sections of the config file, with the
limits the sources, the detector and the classifier run with (declared here, once, and imported by
them), so that validating a config loads neither OpenCV nor LiteRT."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from soulsyncd.settings import Section, resolve_path

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


class _CameraBase(Section):
    retry_initial_s: float = Field(
        default=1.0,
        ge=RETRY_S_MIN,
        le=RETRY_S_MAX,
        description="Seconds before reopening a failed camera; doubles on each failure.",
    )
    retry_max_s: float = Field(
        default=30.0,
        ge=RETRY_S_MIN,
        le=RETRY_S_MAX,
        validate_default=True,  # so the rule below also holds against a default
        description="Longest wait between attempts to reopen the camera.",
    )

    @field_validator("retry_max_s")
    @classmethod
    def _max_not_below_initial(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("retry_initial_s")  # absent when it failed its own validation
        if initial is not None and value < initial:
            raise ValueError(f"must be >= retry_initial_s ({initial:g}), got {value:g}")
        return value


class UsbCameraConfig(_CameraBase):
    """A V4L2/USB webcam opened through OpenCV."""

    kind: Literal["usb"] = Field(default="usb", description="Camera backend: a USB webcam through OpenCV.")
    device: int | str = Field(
        default=0, description="Camera index (0 = first) or a device path such as /dev/video0."
    )
    width: int | None = Field(
        default=None, ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX,
        description="Requested capture width in pixels (None: the smallest the camera offers at "
        "least detection.detect_width wide).",
    )
    height: int | None = Field(
        default=None, ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX,
        description="Requested capture height in pixels (None: 3/4 of the width).",
    )
    fps: float | None = Field(
        default=None, ge=FPS_MIN, le=FPS_MAX,
        description="Requested capture frame rate (None: analysis.fps, rounded up).",
    )

    @field_validator("device", mode="before")
    @classmethod
    def _not_a_bool(cls, value: object) -> object:
        # YAML reads yes/no/true as bools, and pydantic would take True as camera 1.
        if isinstance(value, bool):
            raise ValueError(f"expected a camera index or a device path such as /dev/video0, got {value!r}")
        return value

    @field_validator("device")
    @classmethod
    def _usable_device(cls, value: int | str) -> int | str:
        # The source's own check: "0" is camera 0, no negative index (OpenCV segfaults), paths absolute.
        return usb_device(value)


class Picamera2CameraConfig(_CameraBase):
    """The Raspberry Pi camera through picamera2 (libcamera)."""

    kind: Literal["picamera2"] = Field(
        default="picamera2", description="Camera backend: the Pi camera through picamera2."
    )
    width: int = Field(
        default=640, ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX,
        description="Capture width in pixels.",
    )
    height: int = Field(
        default=480, ge=FRAME_SIDE_MIN, le=FRAME_SIDE_MAX,
        description="Capture height in pixels.",
    )
    fps: float = Field(
        default=30.0, ge=FPS_MIN, le=FPS_MAX, description="Capture frame rate."
    )


class FileCameraConfig(_CameraBase):
    """A video file or a folder of images, replayed as if it were a camera (no hardware needed)."""

    kind: Literal["file"] = Field(
        default="file", description="Camera backend: replay a video file or a folder of images."
    )
    path: Path = Field(
        description="Video file or folder of images; a relative path is relative to the config file."
    )
    loop: bool = Field(default=True, description="At the end, start again instead of stopping.")
    pace: Pace = Field(
        default="realtime",
        description="'realtime' hands out frames at the frame rate, 'fast' as fast as they are read.",
    )
    fps: float | None = Field(
        default=None,
        ge=FPS_MIN,
        le=FPS_MAX,
        description="Frame rate for an image folder or to override a video's (None: the video's own, 10).",
    )

    @field_validator("path")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return resolve_path(value, info)


CameraConfig = UsbCameraConfig | Picamera2CameraConfig | FileCameraConfig
"""Any camera section; ``kind`` says which."""


class DetectionConfig(Section):
    """The Haar-cascade face detector."""

    scale_factor: float = Field(
        default=1.1,
        ge=SCALE_FACTOR_MIN,
        le=SCALE_FACTOR_MAX,
        description="Haar pyramid step; smaller finds more faces, slower.",
    )
    min_neighbors: int = Field(
        default=5,
        ge=MIN_NEIGHBORS_MIN,
        le=MIN_NEIGHBORS_MAX,
        description="Overlapping hits needed to accept a face; higher means fewer.",
    )
    min_face_px: int = Field(
        default=30,
        ge=MIN_FACE_PX_MIN,
        le=MIN_FACE_PX_MAX,
        description="Smallest face side to detect, in full-frame pixels.",
    )
    detect_width: int = Field(
        default=320,
        ge=DETECT_WIDTH_MIN,
        le=DETECT_WIDTH_MAX,
        description="Width the frame is downscaled to for the full-frame scan.",
    )
    full_scan_interval_s: float = Field(
        default=2.0,
        ge=0,
        le=FULL_SCAN_INTERVAL_S_MAX,
        description="Seconds between full-frame scans; in between, only near the last faces.",
    )
    idle_scan_interval_s: float = Field(
        default=10.0,
        ge=0,
        le=IDLE_SCAN_INTERVAL_S_MAX,
        description="Longest time between whole-frame scans while the picture (outside tracked people) "
        "is unchanged; 0: no change check.",
    )
    change_threshold: float = Field(
        default=12.0,
        ge=CHANGE_THRESHOLD_MIN,
        le=CHANGE_THRESHOLD_MAX,
        description="Change check: grey levels a thumbnail cell must change by to count as changed.",
    )
    change_area: float = Field(
        default=0.004,
        ge=CHANGE_AREA_MIN,
        le=CHANGE_AREA_MAX,
        description="Change check: fraction of thumbnail cells that must change to trigger a full scan.",
    )


class ModelConfig(Section):
    """The emotion classifier model."""

    path: Path = Field(
        default=DEFAULT_MODEL_PATH,
        description="The int8 TFLite model; a relative path is relative to the config file.",
    )
    num_threads: int = Field(default=1, ge=1, le=4, description="CPU threads for the TFLite interpreter.")
    flip_average: bool = Field(
        default=True,
        description="Also classify each face's mirror image and average: more accurate, twice the inference.",
    )

    @field_validator("path")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return resolve_path(value, info)
