"""The MQTT bridge against a real mosquitto: availability, state, discovery, commands, failures.

The core is :class:`soulsyncd.testing.fake_core.FakeCore` (the real command queue and broadcaster,
applying commands like the loop does); tests with the real loop are in test_mqtt_e2e.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as s

from soulsyncd.core.commands import (
    Command,
    Pause,
    Restart,
    Resume,
    SetCamera,
    SetDevice,
    SetLogLevel,
    SetMode,
    SetTarget,
    SetVolume,
    Skip,
)
from soulsyncd.core.state import EventKind
from soulsyncd.mqtt import state as st
from soulsyncd.mqtt.client import MqttBridge
from soulsyncd.mqtt.commands import COMMANDS
from soulsyncd.mqtt.discovery import discovery_messages, entities
from soulsyncd.mqtt.settings import MqttConfig
from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_core import FakeCore
from soulsyncd.types import Emotion, Mood
from tests.mosquitto import INSTALL_HINT, Broker, Watcher, mosquitto_path

Make = Callable[..., tuple[MqttBridge, FakeCore]]


@pytest.fixture
def make_bridge(broker: Broker) -> Iterator[Make]:
    """Start bridges (each with its own fake core) on the broker; all are stopped at the end."""
    made: list[tuple[MqttBridge, FakeCore]] = []

    def make(device_id: str = "room", on: Broker | None = None, password: str | None = None,
             **overrides: Any) -> tuple[MqttBridge, FakeCore]:
        target = on or broker
        config = MqttConfig(enabled=True, host=target.host, port=target.port, device_id=device_id,
                            reconnect_max_s=1, **overrides)
        core = FakeCore()
        bridge = MqttBridge(config, password=password)
        bridge.start(core)
        made.append((bridge, core))
        return bridge, core

    yield make
    for bridge, core in reversed(made):
        bridge.stop()
        core.close()


def full_set(bridge: MqttBridge) -> dict[str, bytes | None]:
    """Topic -> payload that must be retained after a full publish (None: any non-empty payload)."""
    base = bridge.base
    expected: dict[str, bytes | None] = {f"{base}/{st.AVAILABILITY}": b"online",
                                         f"{base}/{st.DIAGNOSTICS}": None}
    expected |= {f"{base}/{name}": None for name in st.STATE_TOPICS}
    discovery = discovery_messages(bridge.info, device=bridge.device_discovery)
    expected |= {m.topic: m.encoded() for m in discovery}
    return expected


def complete(bridge: MqttBridge) -> Callable[[Watcher], bool]:
    """A watcher predicate: the broker holds ``bridge``'s full set."""
    expected = full_set(bridge)
    return lambda w: all(w.retained.get(topic) == payload if payload is not None else topic in w.retained
                         for topic, payload in expected.items())


def state_of(w: Watcher, name: str, base: str = "soulsync/room") -> Any:
    payload = w.retained[f"{base}/{name}"].decode()
    return json.loads(payload) if payload.startswith("{") else payload


# --- availability, state and discovery --------------------------------------------------------------


def test_connect_publishes_availability_discovery_and_full_state(make_bridge: Make, watcher: Watcher) -> None:
    """On connect: 'online', every discovery config (as mqtt-discovery prints them) and every state topic."""
    bridge, _core = make_bridge()
    assert watcher.wait_for(complete(bridge)), sorted(watcher.retained)
    assert bridge.connected.is_set()
    assert state_of(watcher, "mode") == "match"
    assert state_of(watcher, "camera")["status"] == "ok"
    assert state_of(watcher, "playing")["title"] == "First"
    assert state_of(watcher, "volume") == "40"
    assert state_of(watcher, "device") == "Kitchen"
    diagnostics = state_of(watcher, "diagnostics")
    wanted = {"analysis_fps", "inference_ms", "cpu_percent", "rss_mb", "uptime_s", "last_error"}
    assert wanted <= set(diagnostics)


def test_state_messages_are_retained_qos1(make_bridge: Make, broker: Broker, watcher: Watcher) -> None:
    """A client that subscribes later gets every state topic as a retained message."""
    bridge, _ = make_bridge()
    assert watcher.wait_for(complete(bridge))
    late = Watcher(broker, ("soulsync/room/#",), client_id="late")
    try:
        assert late.wait_for(lambda w: len(w.messages) >= len(st.STATE_TOPICS) + 2)
        assert all(m.retain for m in late.messages)
    finally:
        late.close()


def test_mood_change_is_published(make_bridge: Make, watcher: Watcher) -> None:
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    core.update(EventKind.MOOD, mood=Mood(Emotion.SAD, 0.7, -0.6, -0.3, 0.0), faces=1,
                probabilities=(0.0, 0.0, 0.0, 0.1, 0.7, 0.1, 0.1))
    assert watcher.wait_for(lambda w: w.retained.get("soulsync/room/mood", b"").find(b'"sad"') > 0)
    assert state_of(watcher, "mood")["probabilities"]["sad"] == 0.7
    assert watcher.wait_payload("soulsync/room/faces", "1")


def test_change_without_an_event_is_found_by_the_poll(make_bridge: Make, watcher: Watcher) -> None:
    """Figures the loop updates with set_latest (no event) still reach the broker within a second or so."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    core.broadcaster.set_latest(dataclasses.replace(core.latest(), faces=3))
    assert watcher.wait_payload("soulsync/room/faces", "3", timeout_s=3)


def test_clean_stop_publishes_offline(make_bridge: Make, watcher: Watcher) -> None:
    bridge, _ = make_bridge()
    assert watcher.wait_payload("soulsync/room/availability", "online")
    started = time.monotonic()
    bridge.stop()
    assert time.monotonic() - started < 1.5
    assert watcher.wait_payload("soulsync/room/availability", "offline")


def test_stop_for_a_reload_leaves_availability_online(make_bridge: Make, watcher: Watcher) -> None:
    """stop(final=False), then a new bridge with the same config (a SIGHUP reload): the broker never
    carries 'offline' in between, and the new bridge publishes the full set again."""
    bridge, _ = make_bridge()
    assert watcher.wait_for(complete(bridge))
    topic = "soulsync/room/availability"
    mark = watcher.count()
    bridge.stop(final=False)
    again, _ = make_bridge()
    assert watcher.wait_for(lambda w: again.full_publishes == 1 and complete(again)(w))
    assert b"offline" not in [m.payload for m in watcher.since(mark) if m.topic == topic]
    assert watcher.retained[topic] == b"online"


def test_last_will_when_the_connection_is_cut(make_bridge: Make, watcher: Watcher) -> None:
    """Killing the client's socket (no DISCONNECT) makes the broker publish the retained will 'offline';
    the bridge reconnects and says 'online' again with the full state."""
    bridge, _ = make_bridge(keepalive=5)
    assert watcher.wait_for(complete(bridge))
    topic = "soulsync/room/availability"
    mark = watcher.count()
    sock = bridge._client.socket()  # type: ignore[union-attr]
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)
    assert watcher.wait_for(lambda w: b"offline" in [m.payload for m in w.since(mark) if m.topic == topic])
    assert watcher.wait_for(lambda w: [m.payload for m in w.since(mark) if m.topic == topic][-1] == b"online")
    assert watcher.wait_for(complete(bridge))
    assert bridge.connections == 2


def test_broker_restart_brings_back_availability_and_full_state_within_5s(
        make_bridge: Make, broker: Broker, watcher: Watcher) -> None:
    """The broker forgets everything (no persistence); after it is back the bridge re-publishes it all."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    broker.stop()
    core.update(EventKind.CONTROL, mode="shift")  # a change while the broker is away
    broker.start()
    back = time.monotonic()
    fresh = Watcher(broker, client_id="after-restart")
    try:
        back_in_full = complete(bridge)
        assert fresh.wait_for(lambda w: back_in_full(w) and state_of(w, "mode") == "shift", timeout_s=5), \
            fresh.payloads("soulsync/room/mode")
        assert time.monotonic() - back <= 5
        assert bridge.full_publishes == 2
        assert fresh.payloads("soulsync/room/mode")[-1] == b"shift"
    finally:
        fresh.close()


def test_broker_down_at_start(make_bridge: Make, tmp_path: Path) -> None:
    """start() returns at once with no broker; the bridge connects and publishes when it appears."""
    (tmp_path / "later").mkdir()
    later = Broker(tmp_path / "later")
    started = time.monotonic()
    bridge, _ = make_bridge(on=later)
    assert time.monotonic() - started < 0.5
    assert not bridge.connected.wait(0.3)
    later.start()
    try:
        watcher = Watcher(later, client_id="late")
        assert watcher.wait_for(complete(bridge), timeout_s=5)
        watcher.close()
    finally:
        bridge.stop()  # before the broker goes, so the fixture's stop finds nothing left to do
        later.stop()


def test_home_assistant_birth_republishes_discovery_and_state(make_bridge: Make, watcher: Watcher) -> None:
    bridge, _ = make_bridge()
    assert watcher.wait_for(complete(bridge))
    mark = watcher.count()
    watcher.publish("homeassistant/status", "online")  # not retained, like Home Assistant's
    expected = set(full_set(bridge))
    assert watcher.wait_for(lambda w: expected <= {m.topic for m in w.since(mark)})
    assert bridge.full_publishes == 2
    watcher.publish("homeassistant/status", "offline")
    assert bridge.full_publishes == 2


# --- commands ---------------------------------------------------------------------------------------


COMMAND_CASES: list[tuple[str, str, Command, str, Callable[[Any], bool]]] = [
    ("mode", "shift", SetMode("shift"), "mode", lambda v: v == "shift"),
    ("target", "energetic", SetTarget("energetic"), "target", lambda v: v == "energetic"),
    ("camera", "OFF", SetCamera(False), "camera", lambda v: v == {"status": "disabled", "enabled": False,
                                                                  "detail": None}),
    ("pause", "PRESS", Pause(), "paused", lambda v: v == "ON"),
    ("skip", "PRESS", Skip(), "playing", lambda v: v["title"] == "Skipped to 1"),
    ("device", "Living Room Speaker", SetDevice("Living Room Speaker"), "device",
     lambda v: v == "Living Room Speaker"),
    ("volume", "65", SetVolume(65), "volume", lambda v: v == "65"),
    ("log_level", "warning", SetLogLevel("warning"), "log_level", lambda v: v == "warning"),
]


def test_every_command_topic_changes_what_it_should(make_bridge: Make, watcher: Watcher) -> None:
    """Each ``<base>/<thing>/set`` reaches the core's queue as its command; the new state comes back."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    for count, (thing, payload, command, topic, check) in enumerate(COMMAND_CASES, start=1):
        watcher.publish(f"soulsync/room/{thing}/set", payload)
        assert core.wait_received(count), f"{thing}: nothing reached the core"
        assert core.received[-1] == command
        assert watcher.wait_for(lambda w, t=topic, c=check: c(state_of(w, t))), f"{thing}: state not back"
    watcher.publish("soulsync/room/resume/set", "PRESS")
    assert core.wait_received(len(COMMAND_CASES) + 1)
    assert core.received[-1] == Resume()
    assert watcher.wait_payload("soulsync/room/paused", "OFF")
    watcher.publish("soulsync/room/restart/set", "PRESS")  # changes no state topic; the fake core counts it
    assert core.wait_received(len(COMMAND_CASES) + 2)
    assert core.received[-1] == Restart()
    assert core.restarts == 1
    assert {type(c) for c in core.received} == {SetMode, SetTarget, SetCamera, Pause, Resume, Skip, SetDevice,
                                                SetVolume, SetLogLevel, Restart}
    assert set(COMMANDS) == {case[0] for case in COMMAND_CASES} | {"resume", "restart"}
    assert bridge.rejected == 0


def test_camera_switch_off_and_on_reaches_the_core(make_bridge: Make, watcher: Watcher) -> None:
    """The privacy switch: OFF queues SetCamera(False) (the loop releases the device), ON opens it again."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    watcher.publish("soulsync/room/camera/set", "OFF")
    assert core.wait_received(1)
    assert core.received == [SetCamera(False)]
    assert watcher.wait_for(lambda w: state_of(w, "camera")["enabled"] is False)
    watcher.publish("soulsync/room/camera/set", "ON")
    assert core.wait_received(2)
    assert core.received[-1] == SetCamera(True)
    camera_on = {"status": "ok", "enabled": True, "detail": None}
    assert watcher.wait_for(lambda w: state_of(w, "camera") == camera_on)


MALFORMED = [
    ("soulsync/room/mode/set", b'{"mode": '),  # bad JSON
    ("soulsync/room/mode/set", b"party"),  # unknown mode
    ("soulsync/room/mode/set", b"m" * 1_000_000),  # 1 MB
    ("soulsync/room/mode/set", bytes(range(256))),  # binary
    ("soulsync/room/mode/set", b""),  # empty
    ("soulsync/room/mode/set/extra", b"match"),  # wrong topic level
    ("soulsync/room/teleport/set", b"now"),  # unknown thing
    ("soulsync/room/volume/set", b"1e400"),
    ("soulsync/room/target/set", b"\xc3\x28"),  # invalid UTF-8
]


def test_malformed_payloads_are_dropped_and_state_republished(make_bridge: Make, watcher: Watcher) -> None:
    """Bad JSON, unknown mode, 1 MB, binary, empty, wrong level: logged, dropped, no crash; the affected
    state goes out again so a dashboard snaps back; a valid command afterwards still works."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    mark = watcher.count()
    for topic, payload in MALFORMED:
        watcher.publish(topic, payload)
    assert watcher.wait_for(lambda _: bridge.rejected == len(MALFORMED))
    assert watcher.wait_for(lambda w: any(m.topic == "soulsync/room/mode" for m in w.since(mark)))
    assert core.received == []
    watcher.publish("soulsync/room/mode/set", "off")
    assert core.wait_received(1)
    assert core.received == [SetMode("off")]
    assert watcher.wait_payload("soulsync/room/mode", "off")


def test_rejected_payloads_are_logged_with_the_topic(make_bridge: Make, watcher: Watcher,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    bridge, _ = make_bridge()
    assert watcher.wait_for(complete(bridge))
    watcher.publish("soulsync/room/mode/set", "party")
    # The count goes up just before the line is logged (on the client's thread): wait for the line.
    assert watcher.wait_for(lambda _: any(
        "soulsync/room/mode/set" in r.getMessage() and "unknown mode" in r.getMessage()
        for r in caplog.records))
    assert bridge.rejected == 1


def test_count_of_unlogged_rejections_is_logged_when_the_minute_ends(broker: Broker,
                                                                     watcher: Watcher) -> None:
    """10 rejections a minute are logged, the rest counted; the count is logged when the minute is over
    even if nothing else is rejected after it (not only with the next rejection)."""
    summary = threading.Event()
    lines: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())
            if "more rejected MQTT messages" in record.getMessage():
                summary.set()

    handler = Catch(logging.WARNING)
    logging.getLogger("soulsyncd.mqtt.client").addHandler(handler)
    clock = ManualClock(1000.0)
    config = MqttConfig(enabled=True, host=broker.host, port=broker.port, device_id="room")
    bridge, core = MqttBridge(config, password=None, clock=clock, poll_s=0.05), FakeCore()
    bridge.start(core)
    try:
        assert watcher.wait_for(complete(bridge))
        for _ in range(13):
            watcher.publish("soulsync/room/mode/set", "party")
        assert watcher.wait_for(lambda _: bridge.rejected == 13)
        assert sum("unknown mode" in line for line in lines) == 10
        assert not summary.is_set()
        clock.advance(60.0)
        assert summary.wait(5)
        assert any(line.startswith("3 more rejected MQTT messages") for line in lines), lines
    finally:
        logging.getLogger("soulsyncd.mqtt.client").removeHandler(handler)
        bridge.stop()
        core.close()


def test_a_topic_paho_refuses_is_logged_and_the_rest_works(broker: Broker, watcher: Watcher,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """A prefix too long for MQTT (only a config that skipped validation can have one): the birth topic
    and discovery are logged as unusable, once and without a traceback; state and commands still work."""
    config = msgspec.structs.replace(
        MqttConfig(enabled=True, host=broker.host, port=broker.port, device_id="room", reconnect_max_s=1),
        discovery_prefix="h" * 70_000)
    bridge, core = MqttBridge(config, password=None), FakeCore()
    bridge.start(core)
    try:
        topics = [f"soulsync/room/{name}" for name in (*st.STATE_TOPICS, st.AVAILABILITY, st.DIAGNOSTICS)]
        assert watcher.wait_for(lambda w: all(t in w.retained for t in topics)), sorted(watcher.retained)
        assert watcher.retained["soulsync/room/availability"] == b"online"
        watcher.publish("soulsync/room/mode/set", "off")
        assert core.wait_received(1)
        assert watcher.wait_payload("soulsync/room/mode", "off")
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert any("cannot subscribe" in e for e in errors), errors
        assert sum("cannot publish" in e for e in errors) == 1, errors
        assert all(len(e) < 500 for e in errors)
    finally:
        bridge.stop()
        core.close()


def test_retained_commands_left_on_the_broker_are_ignored(make_bridge: Make, watcher: Watcher) -> None:
    """A command someone published with retain would replay at every connect: it is ignored."""
    watcher.publish("soulsync/room/mode/set", "off", retain=True)
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    assert watcher.wait_for(lambda _: bridge.rejected == 1)
    assert core.received == []


def test_two_daemons_on_one_broker(make_bridge: Make, watcher: Watcher) -> None:
    """Two device ids: two devices' discovery and state, no shared topic or unique_id, isolated commands."""
    kitchen, kitchen_core = make_bridge("kitchen")
    living, living_core = make_bridge("living-room", suggested_area="Living Room")
    assert watcher.wait_for(lambda w: complete(kitchen)(w) and complete(living)(w))
    configs = {t: json.loads(p) for t, p in watcher.retained.items() if t.endswith("/config")}
    assert len(configs) == 2 * len(discovery_messages(kitchen.info))
    unique_ids = [c["unique_id"] for c in configs.values() if "unique_id" in c]  # triggers have none
    assert len(unique_ids) == 2 * len(entities(kitchen.info))
    assert len(set(unique_ids)) == len(unique_ids)
    assert len({json.dumps(c["device"]["identifiers"]) for c in configs.values()}) == 2
    watcher.publish("soulsync/kitchen/mode/set", "off")
    watcher.publish("soulsync/living-room/volume/set", "10")
    assert kitchen_core.wait_received(1)
    assert living_core.wait_received(1)
    assert kitchen_core.received == [SetMode("off")]
    assert living_core.received == [SetVolume(10)]
    assert watcher.wait_payload("soulsync/kitchen/mode", "off")
    assert state_of(watcher, "mode", "soulsync/living-room") == "match"
    living.stop()
    assert watcher.wait_payload("soulsync/living-room/availability", "offline")
    assert watcher.retained["soulsync/kitchen/availability"] == b"online"


@pytest.fixture
def fuzz_bridge(make_bridge: Make, watcher: Watcher) -> tuple[MqttBridge, FakeCore, Watcher]:
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    return bridge, core, watcher


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(thing=s.sampled_from([*COMMANDS, "bogus"]),
       payload=s.binary(max_size=2000) | s.text(max_size=300).map(str.encode) | s.sampled_from(
           [b"ON", b"OFF", b"PRESS", b"match", b"shift", b"50", b"-5", b"calm"]),
       extra=s.sampled_from(["", "/x", "/set"]))
def test_random_payloads_on_every_command_topic(fuzz_bridge: tuple[MqttBridge, FakeCore, Watcher], thing: str,
                                                payload: bytes, extra: str) -> None:
    """Whatever arrives on any command topic, the bridge stays connected and keeps answering."""
    bridge, core, watcher = fuzz_bridge
    watcher.publish(f"soulsync/room/{thing}/set{extra}", payload)
    assert bridge.connected.is_set()
    count = len(core.received)
    watcher.publish("soulsync/room/pause/set", "PRESS")  # the daemon still answers
    assert core.wait_received(count + 1)


# --- credentials and TLS ----------------------------------------------------------------------------


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker that wants user 'soulsync' with password 'right-password'."""
    if mosquitto_path() is None:
        pytest.skip(INSTALL_HINT)
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "soulsync", "right-password"], check=True,
                   capture_output=True)
    passwords.chmod(0o600)
    instance = Broker(tmp_path, allow_anonymous=False, extra_config=f"password_file {passwords}\n")
    instance.start()
    yield instance
    instance.stop()


def test_refused_credentials_are_logged_and_the_daemon_runs_on(
        make_bridge: Make, secured_broker: Broker, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad, bad_core = make_bridge("bad", on=secured_broker, username="soulsync", password="wrong")
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "mqtt-password").write_text("right-password\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    config = MqttConfig(enabled=True, host=secured_broker.host, port=secured_broker.port, device_id="good",
                        username="soulsync", reconnect_max_s=1)
    good = MqttBridge(config)  # password from $CREDENTIALS_DIRECTORY/mqtt-password
    good_core = FakeCore()
    good.start(good_core)
    try:
        assert good.connected.wait(5)
        assert not bad.connected.is_set()
        assert any("refused" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
        refusals = [r for r in caplog.records if "refused" in r.getMessage() and r.levelname == "WARNING"]
        assert len(refusals) == 1  # logged once, not on every retry
        assert bad_core.latest() is not None
    finally:
        good.stop()
        good_core.close()


def _make_certificates(folder: Path) -> None:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.cnf", "-out", "server.pem")


def test_tls_with_a_private_ca(make_bridge: Make, tmp_path: Path) -> None:
    """TLS with the broker's certificate checked against ca_file."""
    if mosquitto_path() is None:
        pytest.skip(INSTALL_HINT)
    certs = tmp_path / "certs"
    certs.mkdir()
    try:
        _make_certificates(certs)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl could not make test certificates: {exc}")
    tls_broker = Broker(tmp_path, extra_config=f"cafile {certs / 'ca.pem'}\ncertfile {certs / 'server.pem'}\n"
                        f"keyfile {certs / 'server.key'}\n")
    tls_broker.start()
    try:
        bridge, _ = make_bridge("secure", on=tls_broker, tls=True, ca_file=certs / "ca.pem")
        assert bridge.connected.wait(5)
        untrusted, _ = make_bridge("untrusted", on=tls_broker, tls=True, ca_file=None)
        assert not untrusted.connected.wait(1)  # the system CAs don't know our test CA
    finally:
        tls_broker.stop()


# --- the mqtt-discovery command against the broker ------------------------------------------------------


def test_cli_prints_what_the_broker_holds_and_remove_clears_it(
        make_bridge: Make, broker: Broker, watcher: Watcher, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """What ``mqtt-discovery`` prints is what the daemon retained; ``--remove`` clears every retained
    discovery and state topic of this device and leaves other devices alone."""
    from soulsyncd.cli import main

    bridge, _ = make_bridge("den")
    other, _ = make_bridge("attic")
    assert watcher.wait_for(lambda w: complete(bridge)(w) and complete(other)(w))
    config = tmp_path / "soulsync.yaml"
    config.write_text(f"mqtt:\n  host: {broker.host}\n  port: {broker.port}\n  device_id: den\n",
                      encoding="utf-8")
    assert main(["mqtt-discovery", "--config", str(config)]) == 0
    printed = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    held = {t: p.decode() for t, p in watcher.retained.items()
            if t.startswith("homeassistant/") and "/den/" in t}
    assert {t: json.loads(p) for t, p in printed.items()} == {t: json.loads(p) for t, p in held.items()}
    bridge.stop()
    assert main(["mqtt-discovery", "--config", str(config), "--remove"]) == 0
    assert watcher.wait_for(lambda w: not any("/den/" in t or t.startswith("soulsync/den/")
                                              for t in w.retained))
    assert complete(other)(watcher)


def test_cli_remove_without_a_broker_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from soulsyncd.cli import main
    from soulsyncd.cli import mqtt as cli
    from tests.mosquitto import free_port

    monkeypatch.setattr(cli, "CONNECT_TIMEOUT_S", 1.0)
    config = tmp_path / "soulsync.yaml"
    config.write_text(f"mqtt:\n  host: 127.0.0.1\n  port: {free_port()}\n  device_id: den\n",
                      encoding="utf-8")
    assert main(["mqtt-discovery", "--config", str(config), "--remove"]) == 69
    assert "cannot connect" in capsys.readouterr().err


def test_mqtt_5_works_like_3_1_1(make_bridge: Make, watcher: Watcher) -> None:
    bridge, core = make_bridge(protocol="5")
    assert watcher.wait_for(complete(bridge))
    watcher.publish("soulsync/room/target/set", "happy")
    assert core.wait_received(1)
    assert core.received == [SetTarget("happy")]
    assert watcher.wait_payload("soulsync/room/target", "happy")
    bridge.stop()
    assert watcher.wait_payload("soulsync/room/availability", "offline")


def test_unreadable_tls_files_leave_the_daemon_running_without_mqtt(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = MqttConfig(enabled=True, tls=True, ca_file=tmp_path / "missing.pem", device_id="x")
    bridge = MqttBridge(config, password=None)
    core = FakeCore()
    try:
        bridge.start(core)  # returns; logs why MQTT is off
        assert any("MQTT disabled" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
        assert not bridge.connected.is_set()
    finally:
        bridge.stop()
        core.close()


def test_diagnostics_follow_the_loops_first_figures_and_errors(make_bridge: Make, watcher: Watcher) -> None:
    """The diagnostics sent on connect may predate the loop's figures: the first STATS event and every
    new error send them again at once, not a whole interval (60 s) later."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    assert state_of(watcher, "diagnostics")["frames_analysed"] == 0
    stats = dataclasses.replace(core.latest().stats, frames_analysed=42, analysis_fps=5.0, uptime_s=9.0)
    core.update(EventKind.STATS, stats=stats)
    assert watcher.wait_for(lambda w: state_of(w, "diagnostics")["frames_analysed"] == 42)
    core.update(EventKind.ERROR, last_error="command SetVolume(percent=900) rejected")
    assert watcher.wait_for(lambda w: state_of(w, "diagnostics")["last_error"] is not None)


def test_cpu_is_measured_between_reports_not_over_start_up(make_bridge: Make, watcher: Watcher) -> None:
    """The report on connect has no CPU figure (it would measure the few milliseconds of start-up, model
    load included, as ~100 %); the next timed report has one, measured over the interval since."""
    bridge, _ = make_bridge(diagnostics_interval_s=1)
    assert watcher.wait_for(complete(bridge))
    assert state_of(watcher, "diagnostics")["cpu_percent"] is None
    assert watcher.wait_for(lambda w: state_of(w, "diagnostics")["cpu_percent"] is not None, timeout_s=5)
    assert state_of(watcher, "diagnostics")["cpu_percent"] >= 0
