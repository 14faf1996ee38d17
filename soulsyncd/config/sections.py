"""The root :class:`Config`: it composes each component's own sections (``vision/settings.py``,
``mood/settings.py``, ``spotify/settings.py``, ``mqtt/settings.py``, ``catalog/settings.py``), which keep
their models and limits next to their code, and holds the few that belong to the daemon as a whole
(analysis, the dry-run player, state, logging). It imports no component's code, only its settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

from soulsyncd.catalog.settings import CatalogConfig

# The analysis rate and the player interval belong to the core loop, which takes them from here.
from soulsyncd.core.limits import ANALYSIS_FPS_MAX, ANALYSIS_FPS_MIN, PLAYER_MIN_INTERVAL_S_MAX
from soulsyncd.mood.settings import EngineConfig, PolicyConfig, SmoothingConfig
from soulsyncd.mqtt.settings import MqttConfig
from soulsyncd.settings import Section
from soulsyncd.spotify.settings import MusicConfig, SpotifyPlayerConfig
from soulsyncd.vision.settings import (
    CameraConfig,
    DetectionConfig,
    FaceMode,
    FileCameraConfig,
    ModelConfig,
    Picamera2CameraConfig,
    UsbCameraConfig,
)
from soulsyncd.web.settings import WebConfig

__all__ = [
    "AnalysisConfig",
    "CameraConfig",
    "Config",
    "DetectionConfig",
    "DryRunPlayerConfig",
    "FileCameraConfig",
    "LoggingConfig",
    "ModelConfig",
    "Picamera2CameraConfig",
    "PlayerConfig",
    "PolicyConfig",
    "SmoothingConfig",
    "StateConfig",
    "UsbCameraConfig",
    "default_state_dir",
]

# --- pipeline ---------------------------------------------------------------------------------------


class AnalysisConfig(Section, frozen=True, kw_only=True):
    """How often frames are analysed and which faces count."""

    fps: Annotated[float, Meta(
        ge=ANALYSIS_FPS_MIN, le=ANALYSIS_FPS_MAX,
        description="Frames analysed per second, independent of the camera rate.",
    )] = 5.0
    faces: Annotated[FaceMode, Meta(
        description="Classify only the largest face, or average over all faces.",
    )] = "largest"


# --- player -----------------------------------------------------------------------------------------


class _PlayerBase(Section, frozen=True, kw_only=True):
    min_interval_s: Annotated[float, Meta(
        ge=0, le=PLAYER_MIN_INTERVAL_S_MAX,
        description="Never change the music more often than once in this many seconds.",
    )] = 5.0


class DryRunPlayerConfig(_PlayerBase, frozen=True, kw_only=True, tag="dry-run", tag_field="kind"):
    """Logs what it would play instead of playing; needs no account (``kind: dry-run``)."""

    kind: ClassVar[Literal["dry-run"]] = "dry-run"
    track_s: Annotated[Annotated[float, Meta(gt=0, le=3600)] | None, Meta(
        description="'Play' every chosen track this many seconds instead of its length (None: its length).",
    )] = None


# A new player is one class and one member here (``DryRunPlayerConfig | SpotifyPlayerConfig``);
# the ``kind`` tag does the rest.
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


class StateConfig(Section, frozen=True, kw_only=True):
    """Where the daemon keeps what must survive a restart (token cache, track catalog, what it learned)."""

    dir: Annotated[Path, Meta(
        description="State directory (default: $STATE_DIRECTORY under systemd, else "
        "~/.local/state/soulsyncd).",
    )] = msgspec.field(default_factory=default_state_dir)


class LoggingConfig(Section, frozen=True, kw_only=True):
    """Log output."""

    level: Annotated[Literal["debug", "info", "warning", "error"], Meta(
        description="Lowest level that is logged.",
    )] = "info"


class Config(Section, frozen=True, kw_only=True):
    """The whole configuration file; every section is optional.

    Build one from data with :func:`soulsyncd.config.parse_config` (or the file with
    :func:`~soulsyncd.config.load_config`): ``Config(...)`` in code checks no types or bounds.
    """

    camera: Annotated[CameraConfig, Meta(description="Where frames come from.")] = msgspec.field(
        default_factory=UsbCameraConfig)
    analysis: Annotated[AnalysisConfig, Meta(description="Analysis rate and faces.")] = msgspec.field(
        default_factory=AnalysisConfig)
    detection: Annotated[DetectionConfig, Meta(description="Face detector tuning.")] = msgspec.field(
        default_factory=DetectionConfig)
    model: Annotated[ModelConfig, Meta(description="Emotion classifier model.")] = msgspec.field(
        default_factory=ModelConfig)
    smoothing: Annotated[SmoothingConfig, Meta(description="Mood smoothing.")] = msgspec.field(
        default_factory=SmoothingConfig)
    policy: Annotated[PolicyConfig, Meta(description="From mood to music.")] = msgspec.field(
        default_factory=PolicyConfig)
    player: Annotated[PlayerConfig, Meta(description="What plays the music.")] = msgspec.field(
        default_factory=DryRunPlayerConfig)
    music: Annotated[MusicConfig, Meta(description="The mood playlists.")] = msgspec.field(
        default_factory=MusicConfig)
    catalog: Annotated[CatalogConfig, Meta(description="The track catalog.")] = msgspec.field(
        default_factory=CatalogConfig)
    engine: Annotated[EngineConfig, Meta(description="Choosing tracks.")] = msgspec.field(
        default_factory=EngineConfig)
    mqtt: Annotated[MqttConfig, Meta(description="MQTT and Home Assistant.")] = msgspec.field(
        default_factory=MqttConfig)
    web: Annotated[WebConfig, Meta(description="The local status page.")] = msgspec.field(
        default_factory=WebConfig)
    state: Annotated[StateConfig, Meta(description="Where persistent state lives.")] = msgspec.field(
        default_factory=StateConfig)
    logging: Annotated[LoggingConfig, Meta(description="Log output.")] = msgspec.field(
        default_factory=LoggingConfig)
