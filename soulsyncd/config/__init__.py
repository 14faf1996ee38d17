"""The daemon's configuration: one YAML file, validated by pydantic models.

``sections`` holds the models, ``loader`` reads the file and explains its errors by line.
"""

from soulsyncd.config.base import EXIT_CONFIG, ConfigError
from soulsyncd.config.loader import load_config, read_secret
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
from soulsyncd.config.spotify import MusicConfig, PlaylistSpec, SpotifyPlayerConfig, TaggedPlaylist

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
