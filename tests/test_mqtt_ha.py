"""Home Assistant beyond entities, against a real mosquitto: events, answers to commands (MQTT 3.1.1
and 5), the restart button and log-level select, and switching the discovery form without leftovers.

The core is :class:`soulsyncd.testing.fake_core.FakeCore`; the fixtures come from test_mqtt_bridge.py.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import types
from typing import Any

from soulsyncd.core.commands import Command, Restart, SetLogLevel, SetVolume
from soulsyncd.core.state import EventKind
from soulsyncd.mqtt import state as st
from soulsyncd.mqtt.client import SYNC_WAIT_S, MqttBridge
from soulsyncd.mqtt.discovery import discovery_messages
from soulsyncd.mqtt.settings import MqttConfig
from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_core import FakeCore
from soulsyncd.types import CameraStatus, Emotion, Mood, PlayerStatus
from tests.mosquitto import Broker, Watcher
from tests.test_mqtt_bridge import Make, complete, make_bridge, state_of

__all__ = ["make_bridge"]  # the fixture, used by name

BASE = "soulsync/room"


def answers(w: Watcher) -> list[dict[str, Any]]:
    return [json.loads(p) for p in w.payloads(f"{BASE}/response")]


def events_on(w: Watcher, name: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p in w.payloads(f"{BASE}/event/{name}")]


# --- events -----------------------------------------------------------------------------------------


def test_each_happening_is_one_event_message(make_bridge: Make, watcher: Watcher) -> None:
    """Mood changed, track started, listener took over, camera changed: one message each, on its topic;
    a change that is none of these (the mode) sends no event."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    core.update(EventKind.MOOD, mood=Mood(Emotion.SAD, 0.71, -0.6, -0.3, 0.0), faces=1)
    assert watcher.wait_for(lambda w: events_on(w, "mood") == [
        {"event_type": "sad", "confidence": 0.71, "valence": -0.6, "arousal": -0.3, "faces": 1}])
    watcher.publish(f"{BASE}/skip/set", "PRESS")  # the fake core starts a new track
    assert watcher.wait_for(lambda w: len(events_on(w, "track")) == 1)
    track = events_on(watcher, "track")[0]
    assert (track["event_type"], track["title"], track["uri"], track["why"]) == (
        "started", "Skipped to 1", "spotify:track:skip1", "match")
    player = core.latest().player
    core.update(EventKind.PLAYER, player=dataclasses.replace(player, status=PlayerStatus.LISTENER_IN_CONTROL,
                                                             device="Phone"))
    assert watcher.wait_for(lambda w: [e["event_type"] for e in events_on(w, "listener")] == ["took_over"])
    watcher.publish(f"{BASE}/camera/set", "OFF")
    assert watcher.wait_for(lambda w: [e["event_type"] for e in events_on(w, "camera")] == ["disabled"])
    core.update(EventKind.CONTROL, mode="shift")  # no happening; then one more to know it was handled
    core.update(EventKind.CAMERA, camera=CameraStatus.OK)
    assert watcher.wait_for(lambda w: len(events_on(w, "camera")) == 2)
    assert [len(events_on(watcher, name)) for name in ("mood", "track", "listener")] == [1, 1, 1]


def test_events_are_not_retained(make_bridge: Make, broker: Broker, watcher: Watcher) -> None:
    """A client that subscribes after the happening gets no event (the retained mode comes, no event)."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    core.update(EventKind.MOOD, mood=Mood(Emotion.HAPPY, 0.9, 0.6, 0.3, 0.0), faces=1)
    assert watcher.wait_for(lambda w: len(events_on(w, "mood")) == 1)
    late = Watcher(broker, (f"{BASE}/event/#", f"{BASE}/mode"), client_id="late")
    try:
        assert late.wait_for(lambda w: f"{BASE}/mode" in w.retained)  # after any retained event/#
        assert [m.topic for m in late.messages] == [f"{BASE}/mode"]
    finally:
        late.close()


def test_what_is_so_at_start_is_no_event(make_bridge: Make, watcher: Watcher) -> None:
    """The track and camera the bridge finds at start are no "started"/"changed"; the next one is."""
    bridge, _core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    watcher.publish(f"{BASE}/skip/set", "PRESS")
    assert watcher.wait_for(lambda w: len(events_on(w, "track")) == 1)
    assert events_on(watcher, "track")[0]["title"] == "Skipped to 1"  # not "First", playing at start
    assert events_on(watcher, "camera") == []


# --- answers ----------------------------------------------------------------------------------------


def test_every_command_is_answered_on_the_response_topic(make_bridge: Make, broker: Broker,
                                                         watcher: Watcher) -> None:
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    watcher.publish(f"{BASE}/volume/set", "40 %")
    watcher.publish(f"{BASE}/volume/set", "loud")
    watcher.publish(f"{BASE}/mode/set", json.dumps({"value": "SHIFT", "correlation_id": "nr-17"}))
    watcher.publish(f"{BASE}/mode/set", json.dumps({"value": "party", "correlation_id": 18}))
    watcher.publish(f"{BASE}/teleport/set", "now")
    assert watcher.wait_for(lambda w: len(answers(w)) == 5)
    assert answers(watcher) == [
        {"command": "volume", "ok": True},
        {"command": "volume", "ok": False, "error": "volume must be a number 0-100, got 'loud'"},
        {"command": "mode", "ok": True, "correlation_id": "nr-17"},
        {"command": "mode", "ok": False, "error": "unknown mode 'party'; expected one of off, match, shift",
         "correlation_id": "18"},
        {"command": "teleport", "ok": False, "error": "unknown command 'teleport'; known: mode, target, "
         "camera, pause, resume, skip, device, volume, restart, log_level"},
    ]
    assert core.wait_received(2)
    assert core.received[0] == SetVolume(40)
    assert all(not m.retain for m in watcher.messages if m.topic == f"{BASE}/response")
    assert f"{BASE}/response" not in _retained_now(broker)


def _retained_now(broker: Broker) -> set[str]:
    """What a fresh subscriber would get retained, read through a new client (not the live copies)."""
    from paho.mqtt import client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got: set[str] = set()
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="retained-check")
    marker = f"{BASE}/availability"  # retained, subscribed last: its arrival ends the retained burst

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        got.add(message.topic)
        if message.topic == marker:
            done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe([(f"{BASE}/response", 1), (marker, 1)])
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert done.wait(5)
    finally:
        client.disconnect()
        client.loop_stop()
    return got


def test_mqtt_5_answers_on_the_response_topic_with_the_correlation_data(make_bridge: Make, broker: Broker,
                                                                        watcher: Watcher) -> None:
    """A v5 request with response_topic and correlation_data gets the answer there, data echoed; the
    answer on <base>/response carries the data too."""
    from paho.mqtt import client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    bridge, core = make_bridge(protocol="5")
    assert watcher.wait_for(complete(bridge))
    replies: list[tuple[str, bytes, bytes | None]] = []
    arrived = threading.Condition()
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="v5-requester",
                         protocol=mqtt.MQTTv5)

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        with arrived:
            replies.append((message.topic, bytes(message.payload),
                            getattr(message.properties, "CorrelationData", None)))
            arrived.notify_all()

    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe([("requester/replies", 1), (f"{BASE}/response", 1)])
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert subscribed.wait(5)
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ResponseTopic = "requester/replies"
        properties.CorrelationData = b"\x00req-1"
        client.publish(f"{BASE}/volume/set", "55", qos=1, properties=properties).wait_for_publish(5)
        with arrived:
            assert arrived.wait_for(lambda: len(replies) == 2, 5), replies
        assert sorted(replies) == [
            ("requester/replies", b'{"command":"volume","ok":true}', b"\x00req-1"),
            (f"{BASE}/response", b'{"command":"volume","ok":true}', b"\x00req-1"),
        ]
        assert core.wait_received(1)
        assert core.received == [SetVolume(55)]
    finally:
        client.disconnect()
        client.loop_stop()


# --- restart and log level --------------------------------------------------------------------------


def test_restart_button_and_log_level_select_go_through_the_queue(make_bridge: Make,
                                                                  watcher: Watcher) -> None:
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    assert state_of(watcher, "log_level") == "info"
    watcher.publish(f"{BASE}/log_level/set", "Debug")
    assert watcher.wait_payload(f"{BASE}/log_level", "debug")
    watcher.publish(f"{BASE}/restart/set", "PRESS")
    assert core.wait_received(2)
    assert core.received == [SetLogLevel("debug"), Restart()]
    assert watcher.wait_for(lambda w: {"command": "restart", "ok": True} in answers(w))


# --- discovery forms --------------------------------------------------------------------------------


def _held(watcher: Watcher, prefix: str = "homeassistant/") -> set[str]:
    return {topic for topic in watcher.retained if topic.startswith(prefix)}


def test_switching_the_discovery_form_leaves_no_configs_of_the_other(make_bridge: Make,
                                                                     watcher: Watcher) -> None:
    """entity -> device -> entity: after each switch the broker holds exactly the current form's
    configs, and every removal of the old form reached Home Assistant before the new form's config
    (their discovery ids are the same: the other order would remove the new entities)."""
    entity_bridge, _ = make_bridge()
    entity_topics = {m.topic for m in discovery_messages(entity_bridge.info)}
    assert watcher.wait_for(lambda w: _held(w) == entity_topics)
    entity_bridge.stop()

    mark = watcher.count()
    device_bridge, _ = make_bridge(discovery_mode="device")
    device_topic = "homeassistant/device/room/config"
    assert watcher.wait_for(lambda w: _held(w) == {device_topic}), sorted(_held(watcher))

    def config_after_removals(w: Watcher) -> bool:
        arrived = [m for m in w.since(mark) if m.topic.startswith("homeassistant/")]
        removal_at = [i for i, m in enumerate(arrived) if not m.payload]
        return bool(removal_at) and any(m.topic == device_topic and m.payload
                                        for m in arrived[max(removal_at):])

    assert watcher.wait_for(config_after_removals)
    arrived = [m for m in watcher.since(mark) if m.topic.startswith("homeassistant/")]
    removals = {m.topic for m in arrived if not m.payload}
    assert removals == entity_topics
    # Not one device config before the last removal: Home Assistant ignores a device config for ids an
    # entity config still holds (2025.4.4 logged a warning per entity when a leftover sent it early).
    first_config = next(i for i, m in enumerate(arrived) if m.topic == device_topic and m.payload)
    assert max(i for i, m in enumerate(arrived) if not m.payload) < first_config, \
        [(m.topic.split("/")[1:4], bool(m.payload)) for m in arrived]
    assert watcher.wait_for(complete(device_bridge))
    device_bridge.stop()

    mark = watcher.count()
    again, _ = make_bridge()  # discovery_mode auto, no ha_version: the entity form
    assert watcher.wait_for(lambda w: _held(w) == entity_topics)

    def every_config_after_the_removal(w: Watcher) -> bool:
        arrived = [m for m in w.since(mark) if m.topic.startswith("homeassistant/")]
        removal_at = [i for i, m in enumerate(arrived) if m.topic == device_topic and not m.payload]
        return bool(removal_at) and {m.topic for m in arrived[removal_at[0]:] if m.payload} == entity_topics

    assert watcher.wait_for(every_config_after_the_removal)  # the full form went out again after it
    assert watcher.wait_for(complete(again))


def test_a_config_of_an_entity_no_longer_offered_is_cleared(make_bridge: Make, watcher: Watcher) -> None:
    """A retained config an older version left (same device, a key it no longer has) is removed; other
    devices' configs are not touched."""
    watcher.publish("homeassistant/sensor/room/uptime_seconds/config", '{"name": "old"}', retain=True)
    watcher.publish("homeassistant/sensor/kitchen/mood/config", '{"name": "kitchen"}', retain=True)
    bridge, _ = make_bridge()
    assert watcher.wait_for(complete(bridge))
    assert watcher.wait_for(lambda w: "homeassistant/sensor/room/uptime_seconds/config" not in w.retained)
    assert "homeassistant/sensor/kitchen/mood/config" in watcher.retained


def test_the_same_form_again_sends_no_removals(make_bridge: Make, watcher: Watcher) -> None:
    """A restart in the same form only re-sends the configs: no entity of Home Assistant's is removed."""
    first, _ = make_bridge(discovery_mode="device")
    assert watcher.wait_for(complete(first))
    first.stop()
    mark = watcher.count()
    second, _ = make_bridge(discovery_mode="device")
    assert watcher.wait_for(lambda w: any(m.topic == "homeassistant/device/room/config"
                                          for m in w.since(mark)))
    assert watcher.wait_for(complete(second))
    removed = [m.topic for m in watcher.since(mark) if m.topic.startswith("homeassistant/") and not m.payload]
    assert removed == []


def test_a_command_that_made_room_in_a_full_queue_is_answered_ok(make_bridge: Make, watcher: Watcher) -> None:
    """A full queue drops its *oldest* command to take the new one (core.commands.CommandQueue): the new
    command is queued and is answered ok. It was answered "command queue full; try again", so a flow
    that retried re-sent a command that had been taken (seen with 300 camera toggles)."""
    bridge, core = make_bridge()
    assert watcher.wait_for(complete(bridge))
    queue_submit = core.submit

    def made_room(command: Command) -> bool:
        queue_submit(command)
        return False  # what CommandQueue.submit says when an older command had to make room

    core.submit = made_room  # type: ignore[method-assign]
    watcher.publish(f"{BASE}/volume/set", json.dumps({"value": 30, "correlation_id": "c1"}))
    assert watcher.wait_for(lambda w: len(answers(w)) == 1)
    assert answers(watcher) == [{"command": "volume", "ok": True, "correlation_id": "c1"}]
    assert core.wait_received(1)
    assert core.received == [SetVolume(30)]


# --- the order on the wire when the broker's retained configs come late -----------------------------
#
# mosquitto writes a SUBACK at once and the retained messages of that subscription later; on a busy
# machine our own old configs can come after the last SUBACK. A real broker does this only now and
# then, so these tests stand in for paho's client and play the broker's side in the worst order.


class _Wire:
    """Paho's client as the bridge uses it: what was subscribed and sent, in order."""

    def __init__(self) -> None:
        self.subscribed: list[str] = []
        self.sent: list[tuple[str, bytes]] = []

    def subscribe(self, topic: str, qos: int) -> tuple[int, int]:
        self.subscribed.append(topic)
        return 0, len(self.subscribed)

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False,
                properties: object = None) -> Any:
        from paho.mqtt.enums import MQTTErrorCode

        self.sent.append((topic, payload.encode() if isinstance(payload, str) else payload))
        return types.SimpleNamespace(rc=MQTTErrorCode.MQTT_ERR_SUCCESS)


def _connected_bridge(clock: ManualClock) -> tuple[MqttBridge, _Wire, FakeCore]:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    config = MqttConfig(enabled=True, device_id="room", discovery_mode="device")
    bridge, wire, core = MqttBridge(config, password=None, clock=clock), _Wire(), FakeCore()
    bridge._core, bridge._client = core, wire  # type: ignore[assignment]
    bridge._on_connect(wire, None, None, ReasonCode(PacketTypes.CONNACK, "Success"), None)  # type: ignore[arg-type]
    return bridge, wire, core


def _acknowledge_subscriptions(bridge: MqttBridge, wire: _Wire) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    for mid in range(1, len(wire.subscribed) + 1):
        bridge._on_subscribe(wire, None, mid, [ReasonCode(PacketTypes.SUBACK, "Granted QoS 0")],  # type: ignore[arg-type]
                             None)


def _publisher_turn(bridge: MqttBridge) -> None:
    """One turn of the publisher thread, as if it ran the moment anything was pending."""
    bridge._check_sync_wait()
    with bridge._wake:
        pending, bridge._pending = bridge._pending, type(bridge._pending)()
    bridge._publish(pending)


def _discovery_sent(wire: _Wire) -> list[tuple[str, bool]]:
    return [(topic, bool(payload)) for topic, payload in wire.sent if topic.startswith("homeassistant/")]


def test_old_configs_that_come_after_the_last_suback_are_removed_before_the_new_form_goes_out() -> None:
    bridge, wire, core = _connected_bridge(ManualClock())
    try:
        old_form = [m.topic for m in discovery_messages(bridge.info, device=False)]
        for topic in old_form[:18]:  # these the broker wrote before its SUBACKs
            bridge._handle(topic, b'{"name": "old"}', retained=True)
            _publisher_turn(bridge)
        _acknowledge_subscriptions(bridge, wire)
        _publisher_turn(bridge)
        bridge._handle(bridge.birth_topic, b"online", retained=False)  # Home Assistant restarting now
        _publisher_turn(bridge)
        for topic in old_form[18:]:  # and these after them
            bridge._handle(topic, b'{"name": "old"}', retained=True)
            _publisher_turn(bridge)
        assert ("homeassistant/device/room/config", True) not in _discovery_sent(wire)

        markers = [payload for topic, payload in wire.sent if topic == bridge.sync_topic]
        assert len(markers) == 1  # sent once, after the last SUBACK, behind every retained config
        bridge._handle(bridge.sync_topic, markers[0], retained=False)
        _publisher_turn(bridge)

        sent = _discovery_sent(wire)
        removals = [i for i, (_, has_payload) in enumerate(sent) if not has_payload]
        assert {sent[i][0] for i in removals} == set(old_form)
        assert sent[max(removals) + 1:] == [("homeassistant/device/room/config", True)]
        assert bridge.rejected == 0  # the marker is not a command
    finally:
        core.close()


def test_a_marker_that_never_comes_back_delays_the_full_set_by_at_most_the_wait() -> None:
    clock = ManualClock()
    bridge, wire, core = _connected_bridge(clock)
    try:
        _acknowledge_subscriptions(bridge, wire)
        bridge._handle(bridge.sync_topic, b"someone else's", retained=False)  # not ours: still waiting
        bridge._handle(bridge.sync_topic, b"1-0", retained=True)
        clock.advance(SYNC_WAIT_S - 0.1)
        _publisher_turn(bridge)
        assert _discovery_sent(wire) == []
        clock.advance(0.1)
        _publisher_turn(bridge)
        assert _discovery_sent(wire) == [("homeassistant/device/room/config", True)]
        assert f"{bridge.base}/{st.AVAILABILITY}" in {topic for topic, _ in wire.sent}
    finally:
        core.close()


def test_without_discovery_the_full_set_goes_out_on_the_last_suback() -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    config = MqttConfig(enabled=True, device_id="room", discovery=False)
    bridge, wire, core = MqttBridge(config, password=None, clock=ManualClock()), _Wire(), FakeCore()
    bridge._core, bridge._client = core, wire  # type: ignore[assignment]
    try:
        bridge._on_connect(wire, None, None, ReasonCode(PacketTypes.CONNACK, "Success"), None)  # type: ignore[arg-type]
        assert bridge.sync_topic not in wire.subscribed
        _acknowledge_subscriptions(bridge, wire)
        _publisher_turn(bridge)
        assert (f"{bridge.base}/{st.AVAILABILITY}", b"online") in wire.sent
        assert not [topic for topic, _ in wire.sent if topic == bridge.sync_topic]
    finally:
        core.close()
