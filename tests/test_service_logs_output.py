"""Logs a person reads: no third-party line outside the daemon's logging, the first line says what runs,
no ``None`` in the text, logger names only at DEBUG."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.config import load_config
from soulsyncd.native_output import native_stderr_logged
from soulsyncd.service.logs import setup_logging
from soulsyncd.startup import start_line


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """setup_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield root
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def test_a_run_prints_no_third_party_line_and_starts_by_saying_what_runs(tmp_path: Path) -> None:
    """A USB camera that is not there, retried several times, and the real model loaded: every line on
    stderr is the daemon's own (no LiteRT 'INFO: Created TensorFlow Lite XNNPACK delegate', no
    OpenCV '[ WARN:0@...] global cap_v4l.cpp'), the first says what runs."""
    config = tmp_path / "soulsync.yaml"
    config.write_text(
        "camera:\n  kind: usb\n  device: 97\n  retry_initial_s: 0.1\n  retry_max_s: 0.2\n"
        f"state:\n  dir: {tmp_path / 'state'}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENCV_LOG_LEVEL", "INVOCATION_ID", "JOURNAL_STREAM", "NOTIFY_SOCKET")}
    result = subprocess.run(
        [sys.executable, "-m", "soulsyncd", "run", "--config", str(config), "--for", "2"],
        capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines, result.stderr
    assert "XNNPACK" not in result.stderr
    assert "[ WARN" not in result.stderr
    assert "[ERROR" not in result.stderr
    assert " starting: USB camera 97 at 320x240, dry-run player (plays nothing), no MQTT broker, catalog 0 " \
        "tracks" in lines[0], lines[0]
    assert sum("USB camera 97 unavailable" in line for line in lines) >= 1  # the daemon's own line
    assert "None" not in result.stderr
    assert "soulsyncd." not in result.stderr, "logger names only at DEBUG"


def test_native_stderr_is_relogged_info_at_debug_and_the_rest_as_warnings(
        caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("soulsyncd.test.native")
    with caplog.at_level(logging.DEBUG, "soulsyncd.test.native"), native_stderr_logged(log):
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nERROR: bad tensor\n")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."),
        (logging.WARNING, "ERROR: bad tensor"),
    ]


def test_logger_names_show_at_debug_only(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("debug", environ={}, stream=stream, journal=False)
    logging.getLogger("soulsyncd.x").info("camera absent")
    assert stream.getvalue().rstrip().endswith("INFO    soulsyncd.x: camera absent")
    root_logger.setLevel(logging.INFO)  # a reload to level info: the same handler, names gone
    logging.getLogger("soulsyncd.x").info("camera back")
    assert stream.getvalue().rstrip().endswith("INFO    camera back")


def test_the_start_line_names_camera_player_broker_and_catalog(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("camera:\n  kind: picamera2\n"
                    "player:\n  kind: spotify\n  client_id: abc123\n  device: Kitchen\n"
                    "mqtt:\n  enabled: true\n  host: broker.lan\n  device_id: den\n", encoding="utf-8")
    config = load_config(path)
    line = start_line(config, {"tracks": 28000, "with_features": 27500, "playlists": 4, "path": "/x.sqlite3"})
    assert line.endswith("starting: Pi camera at 640x480, Spotify on Kitchen, MQTT broker.lan:1883 as den, "
                         "catalog 28000 tracks (27500 tracks with features, 4 mood playlists) "
                         "at /x.sqlite3")
    empty = start_line(config, {"tracks": 0, "with_features": 0, "playlists": 0, "path": "/x.sqlite3"})
    assert empty.endswith("nothing to choose music from (soulsyncd library import FILE)")
