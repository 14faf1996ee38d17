"""Logging setup (journal / stderr with priorities / plain stderr), secret redaction, and the event log."""

from __future__ import annotations

import io
import logging
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from soulsyncd.core.state import Broadcaster, DaemonState, EventKind, Subscriber
from soulsyncd.service.logs import (
    REDACTED,
    EventLog,
    RedactFilter,
    credential_values,
    redact,
    setup_logging,
)
from soulsyncd.types import CameraStatus, Emotion, Mood, PlayerState, PlayerStatus, PlayIntent, Track


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """setup_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer BQDx_abc-123.def", f"Authorization: Bearer {REDACTED}"),
    ("password=hunter2 ok", f"password={REDACTED} ok"),
    ('{"access_token": "abc123", "expires_in": 3600}',
     f'{{"access_token": "{REDACTED}", "expires_in": 3600}}'),
    ("{'refresh_token': 'AQ-xyz', 'scope': 'a'}", f"{{'refresh_token': '{REDACTED}', 'scope': 'a'}}"),
    ("mqtt://soulsync:pa55@broker:1883", f"mqtt://soulsync:{REDACTED}@broker:1883"),
    ("GET /callback?code=AQBxyz&state=s1 HTTP/1.1",
     f"GET /callback?code={REDACTED}&state={REDACTED} HTTP/1.1"),
    ("SOULSYNC_MQTT_PASSWORD=s3cr3t", f"SOULSYNC_MQTT_PASSWORD={REDACTED}"),
    ("client_secret: deadbeef", f"client_secret: {REDACTED}"),
    ("Basic dXNlcjpwYXNz", f"Basic {REDACTED}"),
    # ordinary log lines stay as they are
    ("exit code 78", "exit code 78"),
    ("basic settings applied", "basic settings applied"),
    ("token cache at /var/lib/soulsyncd/.cache", "token cache at /var/lib/soulsyncd/.cache"),
    ("spotify-client-secret credential missing", "spotify-client-secret credential missing"),
])
def test_redact_masks_credentials_and_leaves_ordinary_text(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_secret_values_are_masked_wherever_they_appear() -> None:
    masked = redact("connecting with xK9-very-secret now", ["xK9-very-secret"])
    assert masked == f"connecting with {REDACTED} now"


def test_credential_values_come_from_the_credentials_directory_and_secret_variables(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").write_text("broker-pass-1\n")
    (tmp_path / "spotify-client-secret").write_text("0123456789abcdef")
    (tmp_path / "short").write_text("ab")  # too short to mask without mangling words
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "SOULSYNC_SPOTIFY_CLIENT_SECRET": "env-secret-2",
           "SOULSYNC_LOG_LEVEL": "debug-not-secret", "OTHER_PASSWORD": "not-ours"}
    assert credential_values(env) == ["0123456789abcdef", "broker-pass-1", "env-secret-2"]


def test_no_secret_reaches_any_output_even_through_arguments_and_tracebacks(
        root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("debug", environ={"SOULSYNC_MQTT_PASSWORD": "pw-4711-x"}, stream=stream, journal=False)
    log = logging.getLogger("soulsyncd.test")
    log.info("connecting to mqtt://u:%s@host with %s", "pw-4711-x", {"access_token": "tok-abc"})
    try:
        raise RuntimeError("401 for Authorization: Bearer tok-xyz-123 (password=pw-4711-x)")
    except RuntimeError:
        log.exception("request failed")
    output = stream.getvalue()
    assert "pw-4711-x" not in output
    assert "tok-abc" not in output
    assert "tok-xyz-123" not in output
    assert output.count(REDACTED) >= 4
    assert "RuntimeError" in output, "the traceback itself is kept"


def test_plain_stderr_has_time_and_level(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    assert setup_logging("info", environ={}, stream=stream, journal=False) == "stderr"
    logging.getLogger("soulsyncd.x").warning("camera absent")
    logging.getLogger("soulsyncd.x").debug("not shown")
    line = stream.getvalue().strip()
    assert line.endswith("WARNING camera absent")
    assert "soulsyncd.x" not in line, "logger names only at DEBUG"
    assert "not shown" not in stream.getvalue()


def test_stderr_to_the_journal_gets_a_priority_prefix_on_every_line(
        root_logger: logging.Logger, tmp_path: Path) -> None:
    """$JOURNAL_STREAM names stderr and there are no journal bindings: journald reads <N> prefixes."""
    with (tmp_path / "stream").open("w+") as stream:
        stat = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}", "INVOCATION_ID": "abc"}
        assert setup_logging("debug", environ=env, stream=stream, journal=False) == "stderr-journal"
        log = logging.getLogger("soulsyncd.y")
        log.info("ready")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("tick failed")
        stream.flush()
        lines = Path(stream.name).read_text().splitlines()
    assert lines[0] == "<6>soulsyncd.y: ready"
    assert lines[1] == "<3>soulsyncd.y: tick failed"
    assert all(line.startswith("<3>") for line in lines[2:]), "traceback lines keep the error priority"
    assert any("ValueError: boom" in line for line in lines)


def test_a_stream_that_is_not_the_journal_gets_no_prefix(root_logger: logging.Logger, tmp_path: Path) -> None:
    stream = io.StringIO()
    assert setup_logging("info", environ={"JOURNAL_STREAM": "1:2"}, stream=stream, journal=False) == "stderr"


class FakeJournal:
    """Stands in for python3-systemd's JournalHandler (the real one is exercised in the box tests)."""

    sent: ClassVar[list[dict[str, Any]]] = []

    class JournalHandler(logging.Handler):
        def __init__(self, **extra: str) -> None:
            super().__init__()
            self.extra = extra

        def emit(self, record: logging.LogRecord) -> None:
            # What the real one sends: its defaults, then every attribute of the record.
            FakeJournal.sent.append({"MESSAGE": self.format(record), **self.extra, **vars(record)})


def test_under_systemd_with_bindings_records_go_to_the_journal_with_fields(
        root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("systemd.journal")
    module.JournalHandler = FakeJournal.JournalHandler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "systemd", types.ModuleType("systemd"))
    monkeypatch.setitem(sys.modules, "systemd.journal", module)
    FakeJournal.sent.clear()
    env = {"INVOCATION_ID": "x", "SOULSYNC_MQTT_PASSWORD": "pw-0815"}
    assert setup_logging("info", environ=env) == "journal"
    logging.getLogger("soulsyncd.events").info("mood: %s", "happy", extra={"SOULSYNC_EVENT": "mood"})
    logging.getLogger("soulsyncd.mqtt").warning("login with %s failed", "pw-0815")
    mood, failed = FakeJournal.sent
    assert mood["MESSAGE"] == "mood: happy"
    assert mood["SOULSYNC_EVENT"] == "mood"
    assert mood["SYSLOG_IDENTIFIER"] == "soulsyncd"
    assert "pw-0815" not in repr(failed), "nor in the arguments the real handler sends as CODE_ARGS"


def test_redact_filter_learns_secrets_at_run_time() -> None:
    redactor = RedactFilter()
    redactor.add_secret("fresh-access-token")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s", ("fresh-access-token",), None)
    redactor.filter(record)
    assert record.getMessage() == f"got {REDACTED}"


# --- the event log --------------------------------------------------------------------------------


class Handle:
    def __init__(self, broadcaster: Broadcaster) -> None:
        self.broadcaster = broadcaster

    def latest(self) -> DaemonState:
        return self.broadcaster.latest()

    def subscribe(self, name: str, callback: Subscriber) -> None:
        self.broadcaster.subscribe(name, callback)


def test_event_log_writes_one_structured_line_per_event(caplog: pytest.LogCaptureFixture) -> None:
    broadcaster = Broadcaster(DaemonState(camera=CameraStatus.OK))
    events = EventLog()
    events.start(Handle(broadcaster))  # type: ignore[arg-type]
    happy = DaemonState(mood=Mood(Emotion.HAPPY, 0.82, 0.6, 0.3, since=1.0), faces=1, camera=CameraStatus.OK)
    track = Track("spotify:track:1", "Song", ("A",), 200.0)
    playing = PlayerState(status=PlayerStatus.OK, device="Kitchen", track=track, playing=True)
    with caplog.at_level(logging.DEBUG, logger="soulsyncd.events"):
        broadcaster.publish(EventKind.MOOD, happy)
        broadcaster.publish(EventKind.DECISION, DaemonState(last_intent=PlayIntent(
            action="play", valence=0.8, energy=0.7, reason="match happy", emotion="happy")))
        broadcaster.publish(EventKind.CAMERA,
                            DaemonState(camera=CameraStatus.ABSENT, camera_detail="unplugged"))
        broadcaster.publish(EventKind.PLAYER, DaemonState(player=playing))
        broadcaster.publish(EventKind.PLAYER, DaemonState(player=PlayerState(
            status=PlayerStatus.OK, device="Kitchen", track=track, playing=True, progress_s=12.0)))
        broadcaster.publish(EventKind.ERROR, DaemonState(last_error="command rejected"))
        broadcaster.close()
    records = [r for r in caplog.records if r.name == "soulsyncd.events"]
    fields = [r.__dict__ for r in records]
    assert [f["SOULSYNC_EVENT"] for f in fields] == ["mood", "decision", "camera", "player", "error"], \
        "a player event that only moved the position is not logged again"
    assert records[0].getMessage().startswith("mood at   0.0 s: happy (confidence 0.82")
    assert fields[0]["SOULSYNC_EMOTION"] == "happy"
    assert fields[0]["SOULSYNC_CONFIDENCE"] == "0.820"
    assert fields[1]["SOULSYNC_ACTION"] == "play"
    assert fields[2]["SOULSYNC_CAMERA"] == "absent"
    assert records[2].levelno == logging.WARNING
    assert fields[3]["SOULSYNC_TRACK"] == "spotify:track:1"
    assert fields[4]["SOULSYNC_ERROR"] == "command rejected"
