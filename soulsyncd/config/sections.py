"""The root :class:`Config`: it composes each component's own sections (``vision/settings.py``,
``mood/settings.py``, ``spotify/settings.py``, ``mqtt/settings.py``, ``catalog/settings.py``), which keep
their models and limits next to their code, and holds the few that belong to the daemon as a whole
(analysis, the dry-run player, state, logging). It imports no component's code, only its settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from soulsyncd.catalog.settings import CatalogConfig

# The analysis rate and the player interval belong to the core loop, which takes them from here.
from soulsyncd.core.limits import ANALYSIS_FPS_MAX, ANALYSIS_FPS_MIN, PLAYER_MIN_INTERVAL_S_MAX
from soulsyncd.mood.settings import EngineConfig, PolicyConfig, SmoothingConfig
from soulsyncd.mqtt.settings import MqttConfig
from soulsyncd.settings import Section, resolve_path
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


class AnalysisConfig(Section):
    """How often frames are analysed and which faces count."""

    fps: float = Field(
        default=5.0,
        ge=ANALYSIS_FPS_MIN,
        le=ANALYSIS_FPS_MAX,
        description="Frames analysed per second, independent of the camera rate.",
    )
    faces: FaceMode = Field(
        default="largest", description="Classify only the largest face, or average over all faces."
    )


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


