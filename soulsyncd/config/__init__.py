"""The daemon's configuration: one YAML file, validated by pydantic models.

``sections`` holds the models, ``loader`` reads the file and explains its errors by line.
"""

from soulsyncd.config.base import EXIT_CONFIG, ConfigError
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
from soulsyncd.settings import read_secret
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

# The sections' old homes, kept importable for code written against them (``from
# soulsyncd.config.mqtt import MqttConfig``): each now lives with its component, and new code imports
# it from there (``soulsyncd.mqtt.settings``).
import sys as _sys

from soulsyncd.catalog import settings as _catalog_settings
from soulsyncd.mood import settings as _mood_settings
from soulsyncd.mqtt import settings as _mqtt_settings
from soulsyncd.spotify import settings as _spotify_settings

for _old, _module in (("catalog", _catalog_settings), ("engine", _mood_settings),
                      ("mqtt", _mqtt_settings), ("spotify", _spotify_settings)):
    _sys.modules.setdefault(f"{__name__}.{_old}", _module)
