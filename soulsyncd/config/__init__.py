"""The daemon's configuration: one YAML file, validated by pydantic models.

``sections`` holds the models, ``loader`` reads the file and explains its errors by line.
"""

from soulsyncd.config.loader import load_config
from soulsyncd.config.sections import (
    AnalysisConfig,
    CameraConfig,
    Config,
    DetectionConfig,
    DryRunPlayerConfig,
    FileCameraConfig,
    LoggingConfig,
    ModelConfig,
    Picamera2CameraConfig,
    PlayerConfig,
    PolicyConfig,
    SmoothingConfig,
    StateConfig,
    UsbCameraConfig,
)
from soulsyncd.settings import EXIT_CONFIG, ConfigError, read_secret
from soulsyncd.spotify.settings import MusicConfig, PlaylistSpec, SpotifyPlayerConfig, TaggedPlaylist

__all__ = [
    "EXIT_CONFIG",
    "AnalysisConfig",
    "CameraConfig",
    "Config",
    "ConfigError",
    "DetectionConfig",
    "DryRunPlayerConfig",
    "FileCameraConfig",
    "LoggingConfig",
    "ModelConfig",
    "MusicConfig",
    "Picamera2CameraConfig",
    "PlayerConfig",
    "PlaylistSpec",
    "PolicyConfig",
    "SmoothingConfig",
    "SpotifyPlayerConfig",
    "StateConfig",
    "TaggedPlaylist",
    "UsbCameraConfig",
    "load_config",
    "read_secret",
]
