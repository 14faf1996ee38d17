"""Fixtures for the MQTT tests: a real mosquitto on a free loopback port and a client watching it.

``make test`` installs mosquitto with apt where it can; without it these fixtures skip the test and
say what to install. The broker and watcher themselves live in :mod:`soulsyncd.testing.mosquitto`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.testing.mosquitto import INSTALL_HINT, Broker, Received, Watcher, free_port, mosquitto_path

__all__ = ["INSTALL_HINT", "Broker", "Received", "Watcher", "broker", "free_port", "mosquitto_path",
           "watcher"]


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
