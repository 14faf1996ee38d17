"""The daemon's configuration: one YAML file, validated against msgspec Structs.

``sections`` holds the sections, ``validate`` turns data into a :class:`Config` (:func:`parse_config`)
and explains what is wrong, ``loader`` reads the file and puts each problem on its line.
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
from soulsyncd.config.validate import parse_config
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
    "parse_config",
    "read_secret",
]
