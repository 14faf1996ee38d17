"""The daemon's first log line: what runs (camera, player, broker, catalog), in words."""

from __future__ import annotations

from collections.abc import Mapping

from soulsyncd import __version__
from soulsyncd.config import (
    Config,
    FileCameraConfig,
    Picamera2CameraConfig,
    SpotifyPlayerConfig,
    UsbCameraConfig,
)


def camera_text(config: Config) -> str:
    camera = config.camera
    if isinstance(camera, UsbCameraConfig):
        # Unset, the size asked is what the analysis reads (see app.build_source).
        width = camera.width or config.detection.detect_width
        return f"USB camera {camera.device} at {width}x{camera.height or width * 3 // 4}"
    if isinstance(camera, Picamera2CameraConfig):
        return f"Pi camera at {camera.width}x{camera.height}"
    if isinstance(camera, FileCameraConfig):
        return f"file {camera.path}{' (looping)' if camera.loop else ''}"
    return f"camera {camera.kind}"


def player_text(config: Config) -> str:
    player = config.player
    if isinstance(player, SpotifyPlayerConfig):
        return f"Spotify on {player.device}" if player.device else "Spotify on the active speaker"
    return "dry-run player (plays nothing)"


def broker_text(config: Config) -> str:
    mqtt = config.mqtt
    if not mqtt.enabled:
        return "no MQTT broker"
    return f"MQTT {mqtt.host}:{mqtt.port}{' (TLS)' if mqtt.tls else ''} as {mqtt.device_id}"


def catalog_text(stats: Mapping[str, object] | None) -> str:
    """``catalog 28000 tracks (27500 tracks with features, 4 mood playlists) at PATH``; or why not."""
    if stats is None:
        return "no catalog (could not be opened)"
    tracks, features, playlists = (int(str(stats.get(key, 0))) for key in ("tracks", "with_features",
                                                                           "playlists"))
    # Plain numbers: "1200 tracks with features" is what people (and the box tests) grep the journal for.
    text = (f"catalog {tracks} tracks ({features} tracks with features, {playlists} mood playlists) "
            f"at {stats.get('path')}")
    if features == 0 and playlists == 0:
        text += "; nothing to choose music from (soulsyncd library import FILE)"
    return text


def start_line(config: Config, catalog: Mapping[str, object] | None) -> str:
    """One line saying what runs: version, camera, player, broker, catalog size."""
    return (f"soulsyncd {__version__} starting: {camera_text(config)}, {player_text(config)}, "
            f"{broker_text(config)}, {catalog_text(catalog)}")
