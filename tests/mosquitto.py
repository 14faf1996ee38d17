"""Fixtures for the MQTT tests: a real mosquitto on a free loopback port and a client watching it.

``make test`` installs mosquitto with apt where it can; without it these fixtures skip the test and
say what to install. The broker and watcher themselves live in :mod:`soulsyncd.testing.mosquitto`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from soulsyncd.testing.mosquitto import INSTALL_HINT, Broker, Received, Watcher, free_port, mosquitto_path

if TYPE_CHECKING:
    from soulsyncd.app import Daemon
    from soulsyncd.core.loop import RunStats

__all__ = ["INSTALL_HINT", "Broker", "Received", "Watcher", "broker", "daemon_on_broker", "free_port",
           "mosquitto_path", "retained_json", "watcher"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh mosquitto on a free loopback port (skips the test when mosquitto is not installed)."""
    if mosquitto_path() is None:
        pytest.skip(INSTALL_HINT)
    instance = Broker(tmp_path)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def watcher(broker: Broker) -> Iterator[Watcher]:
    """A client recording every message on the broker (subscribed to '#')."""
    instance = Watcher(broker)
    try:
        yield instance
    finally:
        instance.close()


@contextmanager
def daemon_on_broker(tmp_path: Path, broker: Broker, video: Path, device_id: str,
                     extra_yaml: str = "") -> Iterator[tuple[Daemon, list[RunStats | None]]]:
    """The whole daemon (file camera on ``video`` at 5 frames/s, dry-run player) publishing under
    ``soulsync/<device_id>`` on ``broker``, running on a thread until the block ends; yields it and
    the list its :meth:`Daemon.run` result lands in. Leaving the block stops it and checks it ended."""
    from soulsyncd.app import Daemon
    from soulsyncd.config import load_config

    config_path = tmp_path / "soulsync.yaml"
    config_path.write_text(
        f"camera:\n  kind: file\n  path: {video}\n  loop: true\n  pace: realtime\n"
        "analysis:\n  fps: 5\n"
        f"state:\n  dir: {tmp_path / 'state'}\n"
        f"mqtt:\n  enabled: true\n  host: {broker.host}\n  port: {broker.port}\n  device_id: {device_id}\n"
        "  reconnect_max_s: 1\n" + extra_yaml,
        encoding="utf-8",
    )
    instance = Daemon(config_path, load_config(config_path), load=load_config)
    outcome: list[RunStats | None] = []
    thread = threading.Thread(target=lambda: outcome.append(instance.run(for_seconds=120)), daemon=True)
    thread.start()
    try:
        yield instance, outcome
    finally:
        instance.request_stop()
        thread.join(15)
    assert not thread.is_alive()


def retained_json(watcher: Watcher, topic: str) -> dict[str, object]:
    """The retained JSON object on ``topic`` ({} while there is none, or it is not an object)."""
    payload = watcher.retained.get(topic, b"{}")
    return json.loads(payload) if payload.startswith(b"{") else {}
