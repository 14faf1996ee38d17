"""The real daemon (``soulsyncd.app.Daemon``: file camera, model, loop, dry-run player) with MQTT on a
real mosquitto: the mood reaches the broker, commands from the broker reach the loop, and the camera
switch really releases the source."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from soulsyncd.app import Daemon
from tests.mosquitto import Broker, Watcher, daemon_on_broker, retained_json

BASE = "soulsync/e2e"


def _json(w: Watcher, name: str) -> dict[str, object]:
    return retained_json(w, f"{BASE}/{name}")


@pytest.fixture
def daemon(tmp_path: Path, broker: Broker, render_scene: Callable[..., Path]) -> Iterator[Daemon]:
    """The whole daemon on a looping clip of a happy face, publishing under soulsync/e2e."""
    video = render_scene(tmp_path / "clip.avi", fps=10.0, size=(320, 240), timeline=[(2.0, "happy")])
    with daemon_on_broker(tmp_path, broker, video, "e2e") as (instance, outcome):
        yield instance
    assert outcome
    stats = outcome[0]  # it returned (no exception) with the run's statistics
    assert stats is not None
    assert stats.frames_analysed > 0
    assert stats.frames_with_face > 0


def test_daemon_publishes_mood_and_obeys_commands(daemon: Daemon, watcher: Watcher) -> None:
    assert watcher.wait_payload(f"{BASE}/availability", "online", timeout_s=20)
    assert watcher.wait_for(lambda w: _json(w, "mood").get("emotion") == "happy", timeout_s=20), \
        watcher.retained.get(f"{BASE}/mood")
    mood = _json(watcher, "mood")
    assert set(mood["probabilities"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise",  # type: ignore[arg-type]
                                          "neutral"}
    assert watcher.wait_payload(f"{BASE}/faces", "1")
    assert json.loads(watcher.retained[f"{BASE}/player"])["status"] == "dry run"

    watcher.publish(f"{BASE}/mode/set", "shift")
    assert watcher.wait_payload(f"{BASE}/mode", "shift")
    watcher.publish(f"{BASE}/target/set", "energetic")
    assert watcher.wait_payload(f"{BASE}/target", "energetic")
    watcher.publish(f"{BASE}/pause/set", "PRESS")
    assert watcher.wait_payload(f"{BASE}/paused", "ON")
    watcher.publish(f"{BASE}/resume/set", "PRESS")
    assert watcher.wait_payload(f"{BASE}/paused", "OFF")
    watcher.publish(f"{BASE}/mode/set", "party")  # rejected by the bridge; the loop never sees it
    assert watcher.wait_payload(f"{BASE}/mode", "shift")


def test_camera_switch_releases_the_source_and_reopens_it(daemon: Daemon, watcher: Watcher) -> None:
    """OFF from the broker: the loop stops its source (the device is closed) and says 'disabled'."""
    assert watcher.wait_for(lambda w: _json(w, "camera").get("status") == "ok", timeout_s=20)
    core = daemon.core
    assert core is not None
    source = core.source
    assert source is not None
    watcher.publish(f"{BASE}/camera/set", "OFF")
    assert watcher.wait_for(lambda w: _json(w, "camera") == {"status": "disabled", "enabled": False,
                                                            "detail": "privacy switch"})
    assert core.source is None  # released, not merely ignored
    assert getattr(source, "alive", False) is False
    watcher.publish(f"{BASE}/camera/set", "ON")
    assert watcher.wait_for(lambda w: _json(w, "camera").get("status") == "ok", timeout_s=10)
    assert core.source is not None
    assert core.source is not source


def test_daemon_stop_publishes_offline(daemon: Daemon, watcher: Watcher) -> None:
    assert watcher.wait_payload(f"{BASE}/availability", "online", timeout_s=20)
    assert watcher.wait_payload(f"{BASE}/faces", "1", timeout_s=20)  # seen (the fixture checks the stats)
    daemon.request_stop()
    assert watcher.wait_payload(f"{BASE}/availability", "offline", timeout_s=10)
