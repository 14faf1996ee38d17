"""Issue 17: a reload builds the new pipeline first and never takes the daemon down; SIGUSR1/SIGUSR2;
the player is closed on stop even while a call hangs."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soulsyncd.app import Daemon
from soulsyncd.config import load_config
from soulsyncd.core.loop import SoulSync

ROOT = Path(__file__).resolve().parent.parent


class StatusLifecycle:
    """What systemd would hear: (call, status) in order; tests wait on ``changed``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.changed = threading.Condition()

    def _record(self, call: str, status: str = "") -> None:
        with self.changed:
            self.calls.append((call, status))
            self.changed.notify_all()

    def ready(self, status: str) -> None:
        self._record("ready", status)

    def reloading(self) -> None:
        self._record("reloading")

    def stopping(self) -> None:
        self._record("stopping")

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, 30), self.calls


def _write_config(path: Path, image: Path, model: Path | None = None) -> None:
    text = f"camera:\n  kind: file\n  path: {image}\n  loop: true\n"
    if model is not None:
        text += f"model:\n  path: {model}\n"
    path.write_text(text)


@pytest.fixture
def running(tmp_path: Path):  # type: ignore[no-untyped-def]
    import cv2

    image = tmp_path / "still.png"
    cv2.imwrite(str(image), np.zeros((48, 64, 3), np.uint8))
    config_path = tmp_path / "c.yaml"
    _write_config(config_path, image)
    lifecycle = StatusLifecycle()
    daemon = Daemon(config_path, load_config(config_path), load=load_config, lifecycle=lifecycle)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    with daemon.built:
        assert daemon.built.wait_for(lambda: daemon.cores_built >= 1, 30)
    assert daemon.core is not None
    assert daemon.core.ready.wait(30)
    yield daemon, lifecycle, config_path, image, thread
    daemon.request_stop()
    thread.join(30)
    assert not thread.is_alive()


def _frames_advance(core: SoulSync, by: int = 3) -> None:
    """The running pipeline still analyses: the frame count grows (bounded wait)."""
    start = core.stats.frames_analysed
    seen = threading.Event()
    core.subscribe("test-frames", lambda _e: seen.set() if core.stats.frames_analysed >= start + by else None)
    assert core.stats.frames_analysed >= start + by or seen.wait(20)


def _bad_model(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nowhere" / "emotion_int8.tflite"
    folder = tmp_path / "corrupt"
    folder.mkdir()
    shutil.copy(ROOT / "models" / "emotion.json", folder / "emotion.json")
    model = folder / "emotion_int8.tflite"
    model.write_bytes(b"\x00not a flatbuffer" * 64)
    return model


@pytest.mark.parametrize("fault", ["missing model", "corrupt model", "missing camera file"])
def test_a_reload_to_bad_files_keeps_the_old_pipeline_running(
    running, tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    daemon, lifecycle, config_path, image, thread = running
    core = daemon.core
    if fault == "missing camera file":
        _write_config(config_path, tmp_path / "gone.mp4")
        key = "camera.path"
    else:
        _write_config(config_path, image, _bad_model(tmp_path, fault.split(maxsplit=1)[0]))
        key = "model.path"
    caplog.set_level(logging.ERROR, logger="soulsyncd.app")
    daemon.request_reload()
    lifecycle.wait_for(lambda: bool(lifecycle.calls) and lifecycle.calls[-1][1].startswith("reload rejected"))
    status = lifecycle.calls[-1][1]
    assert key in status
    assert thread.is_alive()
    assert daemon.core is core
    assert daemon.cores_built == 1
    assert any(key in r.getMessage() and str(config_path) in r.getMessage() for r in caplog.records)
    _frames_advance(core)
    # and a good file afterwards still replaces the pipeline
    _write_config(config_path, image)
    daemon.request_reload()
    with daemon.built:
        assert daemon.built.wait_for(lambda: daemon.cores_built >= 2, 30)
    assert daemon.last_reload_error is None
    assert core.source is not None
    assert not core.source.alive


def test_a_reload_to_a_web_port_in_use_is_rejected(running, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """Seen outside the box: the old pipeline was torn down, the new page could not bind, and the daemon
    ran on without any page (and a traceback). A port that cannot be had is a reason to reject."""
    import socket

    daemon, lifecycle, config_path, image, thread = running
    core = daemon.core
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _write_config(config_path, image)
        with config_path.open("a") as f:
            f.write(f"web:\n  enabled: true\n  port: {port}\n")
        daemon.request_reload()
        lifecycle.wait_for(lambda: bool(lifecycle.calls)
                           and lifecycle.calls[-1][1].startswith("reload rejected"))
    assert f"web.port: cannot listen on 127.0.0.1:{port}" in lifecycle.calls[-1][1]
    assert daemon.core is core
    assert thread.is_alive()
    _frames_advance(core)


def test_a_good_reload_opens_the_new_camera_only_after_the_old_one_closed(running) -> None:  # type: ignore[no-untyped-def]
    daemon, _lifecycle, _config_path, _image, _thread = running
    old = daemon.core
    assert old.source is not None
    assert old.source.alive
    daemon.request_reload()
    with daemon.built:
        assert daemon.built.wait_for(lambda: daemon.cores_built >= 2, 30)
    # Swapped: the old source stopped before the new core (and its source) was published.
    assert not old.source.alive
    new = daemon.core
    assert new is not old
    assert new.ready.wait(30)
    _frames_advance(new)


def test_sigusr1_logs_one_state_dump(running, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal

    daemon, *_ = running
    caplog.set_level(logging.INFO, logger="soulsyncd.service.dump")
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGUSR1, daemon._on_dump_signal)
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
        finally:
            signal.signal(signal.SIGUSR1, previous)
    else:
        daemon.request_dump()
    done = threading.Event()

    caught: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "state dump" in record.getMessage():
                caught.append(record.getMessage())
                done.set()

    handler = Catch()
    logging.getLogger("soulsyncd.service.dump").addHandler(handler)
    try:
        assert any("state dump" in r.getMessage() for r in caplog.records) or done.wait(10)
    finally:
        logging.getLogger("soulsyncd.service.dump").removeHandler(handler)
    # This handler runs before the record propagates to caplog's (on another thread): a record it
    # caught may not be in caplog.records yet, so count the two sources, not caplog alone.
    dumps = caught or [r.getMessage() for r in caplog.records if "state dump" in r.getMessage()]
    assert len(dumps) == 1
    text = dumps[0]
    for item in ("mode: match", "target: calm", "mood:", "camera: ok", "player:", "broker: MQTT off",
                 "catalog:", "uptime"):
        assert item in text, (item, text)


def test_sigusr2_toggles_debug_logging(running) -> None:  # type: ignore[no-untyped-def]
    daemon, *_ = running
    root = logging.getLogger()
    before = root.level
    try:
        daemon._switch_debug()
        assert root.level == logging.DEBUG
        daemon._switch_debug()
        assert root.level == getattr(logging, daemon.config.logging.level.upper())
    finally:
        root.setLevel(before)


class HangingPlayer:
    """A player whose apply hangs (a request on a dead network) until closed."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.closed = threading.Event()

    def apply(self, intent: object) -> None:
        self.entered.set()
        self.closed.wait(30)

    def skip(self) -> None: ...

    def set_output(self, device: str | None = None, volume: int | None = None) -> None: ...

    def state(self):  # type: ignore[no-untyped-def]
        from soulsyncd.types import PlayerState

        return PlayerState()

    def close(self) -> None:
        self.closed.set()


def test_stop_closes_the_player_even_while_a_call_hangs() -> None:
    import time

    from soulsyncd.core.playback import CLOSE_TIMEOUT_S, PlayerWorker
    from soulsyncd.types import PlayIntent

    player = HangingPlayer()
    worker = PlayerWorker(player)  # type: ignore[arg-type]
    worker.apply(PlayIntent(action="play", valence=0.5, energy=0.5))
    assert player.entered.wait(10)
    started = time.monotonic()
    worker.close()
    assert player.closed.is_set()
    assert time.monotonic() - started < CLOSE_TIMEOUT_S + 1.0


def test_a_real_daemon_survives_sigusr1_and_a_reload_to_a_missing_model(tmp_path: Path) -> None:
    """The process as systemd runs it: SIGUSR1 dumps the state, SIGHUP to a config whose model is
    gone is rejected (STATUS says so) and the daemon runs on, and SIGTERM still stops it with 0."""
    import signal

    from tests.test_service_notify import Listener, daemon_env, finish, start, write_config

    listener = Listener(abstract=True)
    config = write_config(tmp_path / "soulsync.yaml")
    process = start(["run", "--config", str(config)], daemon_env(listener))
    try:
        ready = listener.wait_for(lambda m: m.has("READY", "1"), 30)
        process.send_signal(signal.SIGUSR1)
        config.write_text(config.read_text() + f"model:\n  path: {tmp_path / 'gone.tflite'}\n")
        process.send_signal(signal.SIGHUP)
        rejected = listener.wait_for(
            lambda m: m.fields.get("STATUS", "").startswith("reload rejected: model.path"), 30,
            after=ready + 1)
        assert process.poll() is None
        listener.wait_for(lambda m: m.has("WATCHDOG", "1") or m.has("STATUS"), 10, after=rejected)
    finally:
        process.send_signal(signal.SIGTERM)
        status, err = finish(process)
        listener.close()
    assert status == 0, err
    assert "state dump (SIGUSR1)" in err
    assert "reload of" in err
    assert "Traceback" not in err
