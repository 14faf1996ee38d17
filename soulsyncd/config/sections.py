"""The core's config sections (camera, analysis, detection, model, smoothing, policy, player, logging)
and the root :class:`Config`. Areas with sections of their own (Spotify, MQTT, ...) keep them in their
own module of this package; the root model lists them all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from soulsyncd.config.base import Section, did_you_mean, quoted, resolve_path, shown
from soulsyncd.config.catalog import CatalogConfig
from soulsyncd.config.engine import EngineConfig
from soulsyncd.config.mqtt import MqttConfig
from soulsyncd.config.spotify import MusicConfig, SpotifyPlayerConfig

# Every bound below is the component's own constant (smoother.WINDOW_S_MAX, sources.RETRY_S_MAX, ...),
# so what check-config accepts is what the components run with. The analysis rate and the player
# interval belong to the core loop, which takes them from here.
from soulsyncd.core.limits import ANALYSIS_FPS_MAX, ANALYSIS_FPS_MIN, PLAYER_MIN_INTERVAL_S_MAX
from soulsyncd.mood import policy, smoother, targets
from soulsyncd.vision import detector, files, sources
from soulsyncd.vision.classifier import DEFAULT_MODEL_PATH
from soulsyncd.web.settings import WebConfig

# --- camera -----------------------------------------------------------------------------------------


class _CameraBase(Section):
    retry_initial_s: float = Field(
        default=1.0,
        ge=sources.RETRY_S_MIN,
        le=sources.RETRY_S_MAX,
        description="Seconds before reopening a failed camera; doubles on each failure.",
    )
    retry_max_s: float = Field(
        default=30.0,
        ge=sources.RETRY_S_MIN,
        le=sources.RETRY_S_MAX,
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
    width: int = Field(
        default=640, ge=sources.FRAME_SIDE_MIN, le=sources.FRAME_SIDE_MAX,
        description="Requested capture width in pixels.",
    )
    height: int = Field(
        default=480, ge=sources.FRAME_SIDE_MIN, le=sources.FRAME_SIDE_MAX,
        description="Requested capture height in pixels.",
    )
    fps: float = Field(
        default=30.0, ge=sources.FPS_MIN, le=sources.FPS_MAX, description="Requested capture frame rate."
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
        return sources.usb_device(value)


class Picamera2CameraConfig(_CameraBase):
    """The Raspberry Pi camera through picamera2 (libcamera)."""

    kind: Literal["picamera2"] = Field(
        default="picamera2", description="Camera backend: the Pi camera through picamera2."
    )
    width: int = Field(
        default=640, ge=sources.FRAME_SIDE_MIN, le=sources.FRAME_SIDE_MAX,
        description="Capture width in pixels.",
    )
    height: int = Field(
        default=480, ge=sources.FRAME_SIDE_MIN, le=sources.FRAME_SIDE_MAX,
        description="Capture height in pixels.",
    )
    fps: float = Field(
        default=30.0, ge=sources.FPS_MIN, le=sources.FPS_MAX, description="Capture frame rate."
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
    pace: files.Pace = Field(
        default="realtime",
        description="'realtime' hands out frames at the frame rate, 'fast' as fast as they are read.",
    )
    fps: float | None = Field(
        default=None,
        ge=sources.FPS_MIN,
        le=sources.FPS_MAX,
        description="Frame rate for an image folder or to override a video's (None: the video's own, 10).",
    )

    @field_validator("path")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return resolve_path(value, info)


CameraConfig = UsbCameraConfig | Picamera2CameraConfig | FileCameraConfig
"""Any camera section; ``kind`` says which."""


# --- pipeline ---------------------------------------------------------------------------------------


class AnalysisConfig(Section):
    """How often frames are analysed and which faces count."""

    fps: float = Field(
        default=5.0,
        ge=ANALYSIS_FPS_MIN,
        le=ANALYSIS_FPS_MAX,
        description="Frames analysed per second, independent of the camera rate.",
    )
    faces: detector.FaceMode = Field(
        default="largest", description="Classify only the largest face, or average over all faces."
    )


class DetectionConfig(Section):
    """The Haar-cascade face detector."""

    scale_factor: float = Field(
        default=1.1,
        ge=detector.SCALE_FACTOR_MIN,
        le=detector.SCALE_FACTOR_MAX,
        description="Haar pyramid step; smaller finds more faces, slower.",
    )
    min_neighbors: int = Field(
        default=5,
        ge=detector.MIN_NEIGHBORS_MIN,
        le=detector.MIN_NEIGHBORS_MAX,
        description="Overlapping hits needed to accept a face; higher means fewer.",
    )
    min_face_px: int = Field(
        default=30,
        ge=detector.MIN_FACE_PX_MIN,
        le=detector.MIN_FACE_PX_MAX,
        description="Smallest face side to detect, in full-frame pixels.",
    )
    detect_width: int = Field(
        default=320,
        ge=detector.DETECT_WIDTH_MIN,
        le=detector.DETECT_WIDTH_MAX,
        description="Width the frame is downscaled to for the full-frame scan.",
    )
    full_scan_interval_s: float = Field(
        default=2.0,
        ge=0,
        le=detector.FULL_SCAN_INTERVAL_S_MAX,
        description="Seconds between full-frame scans; in between, only near the last faces.",
    )
    idle_scan_interval_s: float = Field(
        default=10.0,
        ge=0,
        le=detector.IDLE_SCAN_INTERVAL_S_MAX,
        description="Longest time between whole-frame scans while the picture (outside tracked people) "
        "is unchanged; 0: no change check.",
    )
    change_threshold: float = Field(
        default=12.0,
        ge=detector.CHANGE_THRESHOLD_MIN,
        le=detector.CHANGE_THRESHOLD_MAX,
        description="Change check: grey levels a thumbnail cell must change by to count as changed.",
    )
    change_area: float = Field(
        default=0.004,
        ge=detector.CHANGE_AREA_MIN,
        le=detector.CHANGE_AREA_MAX,
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


class SmoothingConfig(Section):
    """Turning jittery per-frame scores into a stable mood."""

    window_s: float = Field(
        default=5.0,
        gt=0,
        le=smoother.WINDOW_S_MAX,
        description="Seconds of scores averaged to decide the mood.",
    )
    margin: float = Field(
        default=0.15,
        ge=0,
        lt=smoother.MARGIN_MAX,
        description="How far a new emotion must lead the current one over the window.",
    )
    dwell_s: float = Field(
        default=1.0,
        ge=0,
        lt=smoother.WINDOW_S_MAX,  # and below window_s (the rule below)
        validate_default=True,  # so the rule below also holds against a default
        description="How long the new emotion must stay the leader before the mood changes.",
    )
    absent_after_s: float = Field(
        default=3.0,
        gt=0,
        le=smoother.ABSENT_AFTER_S_MAX,
        description="Seconds with no face before the mood becomes 'absent'.",
    )

    @field_validator("dwell_s")
    @classmethod
    def _dwell_inside_window(cls, value: float, info: ValidationInfo) -> float:
        window = info.data.get("window_s")  # absent when it failed its own validation
        if window is not None and value >= window:
            raise ValueError(f"must be less than window_s ({window:g}), got {value:g}")
        return value


class PolicyConfig(Section):
    """What music to ask for given the mood."""

    mode: policy.Mode = Field(
        default="match", description="'match' the mood, 'shift' it step by step toward target, or 'off'."
    )
    target: str = Field(
        default="calm",
        examples=list(targets.NAMES),  # the choices, for tools that draw configs from the schema
        description="Mood that 'shift' steers toward: " + ", ".join(targets.NAMES)
        + ", or an explicit 'valence,energy' point in [0, 1].",
    )
    step: float = Field(
        default=0.2,
        ge=policy.STEP_MIN,  # 5e-324 made the shift's step count infinite
        le=policy.STEP_MAX,
        description="The largest move of the shift per track, in music valence/energy (each 0..1).",
    )

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        if not targets.is_target(value):
            raise ValueError(
                f"unknown target {shown(value)}{did_you_mean(value, targets.NAMES)}; "
                f"expected one of {quoted(targets.NAMES)} or 'valence,energy' in [0, 1]"
            )
        return value


# --- player -----------------------------------------------------------------------------------------


class _PlayerBase(Section):
    min_interval_s: float = Field(
        default=5.0,
        ge=0,
        le=PLAYER_MIN_INTERVAL_S_MAX,
        description="Never change the music more often than once in this many seconds.",
    )


class DryRunPlayerConfig(_PlayerBase):
    """Logs what it would play instead of playing; needs no account."""

    kind: Literal["dry-run"] = Field(
        default="dry-run", description="Player backend: log each intent, play nothing."
    )
    track_s: float | None = Field(
        default=None, gt=0, le=3600,
        description="'Play' every chosen track this many seconds instead of its length (None: its length).",
    )


# A new player is one class and one member here (``DryRunPlayerConfig | SpotifyPlayerConfig``);
# Config.player's discriminator does the rest.
PlayerConfig = DryRunPlayerConfig | SpotifyPlayerConfig
"""Any player section; ``kind`` says which."""


def default_state_dir() -> Path:
    """systemd's ``$STATE_DIRECTORY`` (StateDirectory=) when set, else ``$XDG_STATE_HOME/soulsyncd``
    (``~/.local/state/soulsyncd``)."""
    state_directory = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state_directory:
        return Path(state_directory)
    xdg = os.environ.get("XDG_STATE_HOME")
    if not xdg:
        try:
            xdg = str(Path.home() / ".local" / "state")
        except RuntimeError:  # no $HOME and no passwd entry (a bare container): the system's place
            return Path("/var/lib/soulsyncd")
    return Path(xdg) / "soulsyncd"


class StateConfig(Section):
    """Where the daemon keeps what must survive a restart (token cache, track catalog, what it learned)."""

    dir: Path = Field(
        default_factory=default_state_dir,
        description="State directory (default: $STATE_DIRECTORY under systemd, else "
        "~/.local/state/soulsyncd).",
    )

    @field_validator("dir")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return resolve_path(value, info)


class LoggingConfig(Section):
    """Log output."""

    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level that is logged."
    )


class Config(Section):
    """The whole configuration file; every section is optional."""

    camera: CameraConfig = Field(
        default_factory=UsbCameraConfig, discriminator="kind", description="Where frames come from."
    )
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig, description="Analysis rate and faces.")
    detection: DetectionConfig = Field(default_factory=DetectionConfig, description="Face detector tuning.")
    model: ModelConfig = Field(default_factory=ModelConfig, description="Emotion classifier model.")
    smoothing: SmoothingConfig = Field(default_factory=SmoothingConfig, description="Mood smoothing.")
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="From mood to music.")
    player: PlayerConfig = Field(
        default_factory=DryRunPlayerConfig, discriminator="kind", description="What plays the music."
    )
    music: MusicConfig = Field(default_factory=MusicConfig, description="The mood playlists.")
    catalog: CatalogConfig = Field(default_factory=CatalogConfig, description="The track catalog.")
    engine: EngineConfig = Field(default_factory=EngineConfig, description="Choosing tracks.")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="MQTT and Home Assistant.")
    web: WebConfig = Field(default_factory=WebConfig, description="The local status page.")
    state: StateConfig = Field(default_factory=StateConfig, description="Where persistent state lives.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Log output.")


