"""The page's "last events" lines say what the state says (issue 16's states that never lie)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.types import CameraStatus, Mood
from soulsyncd.web.view import event_text


def test_a_mood_forgotten_with_the_camera_off_is_unknown_not_nobody() -> None:
    """Camera off: the mood is unknown (MQTT's null, the page's "unknown"), not an empty room."""
    state = DaemonState(mood=None, camera=CameraStatus.DISABLED, camera_detail="privacy switch")
    assert event_text(Event(EventKind.MOOD, state)) == "mood unknown"


def test_an_empty_room_is_nobody_in_view() -> None:
    absent = Mood(emotion=None, confidence=0.0, valence=0.0, arousal=0.0, since=0.0)
    assert event_text(Event(EventKind.MOOD, DaemonState(mood=absent, camera=CameraStatus.OK))) == \
        "nobody in view"


def test_a_port_in_use_is_one_line_naming_the_address_not_a_traceback(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Seen on a reload to a busy web.port: "service WebServer failed to start" and a 15-line traceback
    from tornado's bind. The page is off (the daemon goes on), said in one line with the address."""
    from soulsyncd.app import start_service
    from soulsyncd.testing.fake_core import FakeCore
    from soulsyncd.web.server import WebServer
    from soulsyncd.web.settings import WebConfig

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = WebServer(WebConfig(enabled=True, port=port), state_dir=tmp_path, password=None)
        core = FakeCore()
        try:
            with caplog.at_level(logging.INFO):
                assert not start_service(server, core)
        finally:
            server.stop()
            core.close()
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.exc_info is None
    assert f"web.port: cannot listen on 127.0.0.1:{port}" in record.getMessage()


def test_the_timeline_history_survives_its_state_dir_vanishing(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """Issue 17's vanished state dir, for the page's history (seen: after `rm -rf` of the state dir the
    catalog came back, the timeline's file did not, and what it held was lost at the next start)."""
    import shutil

    from soulsyncd.web.history import FILE_NAME, History, Sample

    state = tmp_path / "state"
    history = History(state, days=7)
    try:
        history.add_sample(Sample(1000.0, "happy", 0.8, 0.5, 0.3, False, "ok"))
        shutil.rmtree(state)
        with caplog.at_level(logging.WARNING):
            history.add_sample(Sample(1100.0, "sad", 0.6, -0.5, -0.2, False, "ok"))
            history.add_sample(Sample(1200.0, "sad", 0.6, -0.5, -0.2, False, "ok"))
        assert (state / FILE_NAME).is_file()
        assert len([r for r in caplog.records if "vanished" in r.getMessage()]) == 1
    finally:
        history.close()
    reopened = History(state, days=7)
    try:
        assert [s.t for s in reopened.samples(0, 2000)] == [1000.0, 1100.0, 1200.0]
    finally:
        reopened.close()
