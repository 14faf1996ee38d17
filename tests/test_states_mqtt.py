"""States on a real mosquitto, from the real daemon (file camera, model, loop, dry-run player): the camera
switched off reads faces 0 and mood unknown within 2 s, and the dry-run player's accepted speaker and
volume show on their topics (Home Assistant's speaker and volume entities are not left ``unknown``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from soulsyncd.app import Daemon
from tests.mosquitto import Broker, Watcher, daemon_on_broker, retained_json

BASE = "soulsync/states"


def _json(w: Watcher, name: str) -> dict[str, object]:
    return retained_json(w, f"{BASE}/{name}")


@pytest.fixture
def daemon(tmp_path: Path, broker: Broker, render_scene: Callable[..., Path]) -> Iterator[Daemon]:
    video = render_scene(tmp_path / "clip.avi", fps=10.0, size=(320, 240), timeline=[(2.0, "happy")])
    with daemon_on_broker(tmp_path, broker, video, "states") as (instance, _outcome):
        yield instance


def test_camera_off_reads_faces_0_and_mood_unknown_within_2_s(daemon: Daemon, watcher: Watcher) -> None:
    assert watcher.wait_for(lambda w: _json(w, "mood").get("emotion") == "happy", timeout_s=20)
    assert watcher.wait_payload(f"{BASE}/faces", "1")
    switched_at = time.monotonic()
    watcher.publish(f"{BASE}/camera/set", "OFF")
    assert watcher.wait_for(
        lambda w: w.retained.get(f"{BASE}/faces") == b"0" and _json(w, "mood").get("emotion") is None,
        timeout_s=2.0), (watcher.retained.get(f"{BASE}/faces"), watcher.retained.get(f"{BASE}/mood"))
    assert time.monotonic() - switched_at <= 2.0
    assert _json(watcher, "mood") == {"emotion": None, "confidence": None, "valence": None, "arousal": None,
                                      "probabilities": None}
    watcher.publish(f"{BASE}/camera/set", "ON")  # and back: the mood is seen again
    assert watcher.wait_for(lambda w: _json(w, "mood").get("emotion") == "happy", timeout_s=20)


def test_the_dry_run_players_speaker_and_volume_show(daemon: Daemon, watcher: Watcher) -> None:
    assert watcher.wait_payload(f"{BASE}/availability", "online", timeout_s=20)
    watcher.publish(f"{BASE}/volume/set", "40")
    watcher.publish(f"{BASE}/device/set", "Kitchen")
    assert watcher.wait_payload(f"{BASE}/volume", "40", timeout_s=5)
    assert watcher.wait_payload(f"{BASE}/device", "Kitchen", timeout_s=5)
