"""The MQTT bridge: the daemon's state out to a broker, commands in, Home Assistant discovery.

Threads: paho's network thread (``connect_async`` + ``loop_start``: it connects, reconnects with
back-off and runs the callbacks) and one publisher thread of the bridge's own. The callbacks do
almost nothing: a command goes onto the core's queue (:meth:`CoreHandle.submit`), anything else
becomes a flag for the publisher thread, which is the only one that reads snapshots and publishes.
The analysis loop never waits on the broker; the broker being down, away or refusing credentials is
logged and retried, never fatal.

What goes out (all retained, QoS 1): ``<base>/availability`` (``online`` on every connect, the last
will ``offline`` when the connection dies, ``offline`` on a clean stop), discovery, and the state
topics of :mod:`soulsyncd.mqtt.state` -- the full set after every connect and every Home Assistant
birth message, then whatever changed (events trigger it at once, a 1 s poll catches figures that
change without an event), and diagnostics every ``diagnostics_interval_s``. Nothing is queued while
disconnected: the full set after the reconnect replaces it.

Not retained: what happened (:mod:`soulsyncd.mqtt.events`: mood changed, track started, listener
took over, camera changed) on ``<base>/event/<name>``, found by comparing each event's snapshot with
the one before, and an answer to every command on ``<base>/response`` (and, over MQTT 5, on the
request's own response topic with its correlation data).

Discovery goes out in one form (``mqtt.discovery_mode``). The bridge also subscribes to its own
discovery topics: a retained config of the other form, or of an entity it no longer has, is cleared
with an empty retained payload and the current form sent again after it, so a mode switch leaves no
duplicate entities behind. On connect the full set waits for a marker the bridge sends itself on
``<base>/sync``: back from the broker, it says every retained config of ours has arrived.
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from soulsyncd.core.handle import CoreHandle
from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.interfaces import Clock, SystemClock
from soulsyncd.mqtt import commands
from soulsyncd.mqtt import events as ev
from soulsyncd.mqtt import state as st
from soulsyncd.mqtt.discovery import DiscoveryInfo, discovery_messages, is_config_topic
from soulsyncd.mqtt.settings import MqttConfig

if TYPE_CHECKING:
    from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

QOS = 1
RECONNECT_MIN_S = 1
POLL_S = 1.0  # how often the publisher looks for changes that came without an event
REFRESH_S = 10.0  # continuous figures (confidence, valence, progress) at most this often per topic
STOP_PUBLISH_WAIT_S = 0.5  # bounded wait for the clean 'offline' to leave on stop
RESPONSE = "response"  # <base>/response: the answer to every command
SYNC = "sync"  # <base>/sync: a marker the bridge sends itself after subscribing (see _on_subscribe)
SYNC_WAIT_S = 2.0  # a marker that never comes back (an ACL that drops it): the full set goes out anyway
PENDING_MAX = 256  # answers and events waiting for the publisher; beyond this the oldest are dropped
_UNSET: Any = object()


class _PahoNoise(logging.Filter):
    """Drops paho's error lines for what the bridge already reports as one warning (broker gone)."""

    NOISE = ("Client is not connected", "failed to receive on socket")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOISE)


_PAHO_LOG = logging.getLogger(f"{__name__}.paho")
_PAHO_LOG.addFilter(_PahoNoise())


class _LimitedLog:
    """At most ``burst`` warnings per ``window_s``; the rest are counted and summed up once.

    A broken automation or a fuzzer sending thousands of bad payloads must not flood the journal.
    """

    def __init__(self, clock: Clock, burst: int = 10, window_s: float = 60.0) -> None:
        self._clock = clock
        self._burst = burst
        self._window_s = window_s
        self._start = clock.monotonic()
        self._count = 0
        self._suppressed = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: object) -> None:
        with self._lock:
            self._roll()
            self._count += 1
            if self._count > self._burst:
                self._suppressed += 1
                return
        log.warning(message, *args)

    def flush(self) -> None:
        """Log the count of unlogged warnings once their window is over (called from a periodic thread,
        so the count appears even when no further warning comes to trigger it)."""
        with self._lock:
            self._roll()

    def _roll(self) -> None:
        now = self._clock.monotonic()
        if now - self._start >= self._window_s:
            if self._suppressed:
                log.warning("%d more rejected MQTT messages not logged in the last %.0f s",
                            self._suppressed, now - self._start)
            self._start, self._count, self._suppressed = now, 0, 0


def _thing_in(topic: str, base: str) -> str | None:
    """The ``<thing>`` of ``<base>/<thing>/set...`` for an answer, even when it is not a known one."""
    rest = topic.removeprefix(base + "/")
    return rest.split("/", 1)[0][:64] or None if rest != topic else None


def _short(topic: str, limit: int = 80) -> str:
    """``topic`` for a log line, clipped: a broken config may make one 65,536 characters long."""
    return repr(topic) if len(topic) <= limit else f"{topic[:limit]!r}... ({len(topic)} characters)"


@dataclass(frozen=True)
class Answer:
    """The answer to one command message, for ``<base>/response`` (and an MQTT 5 response topic)."""

    command: str | None
    error: str | None = None
    correlation_id: str | None = None
    response_topic: str | None = None  # MQTT 5: the request's own response topic
    correlation_data: bytes | None = None  # MQTT 5: echoed as is

    def payload(self) -> str:
        body: dict[str, Any] = {"command": self.command, "ok": self.error is None}
        if self.error is not None:
            body["error"] = self.error
        if self.correlation_id is not None:
            body["correlation_id"] = self.correlation_id
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@dataclass
class _Pending:
    """What the publisher thread has been asked to do (flags, so a flood of requests coalesces)."""

    full: bool = False
    changes: bool = False
    diagnostics: bool = False
    topics: set[str] | None = None
    leftovers: set[str] = field(default_factory=set)  # retained configs to clear (another form, old keys)
    events: list[ev.EventMessage] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)


class MqttBridge:
    """A :class:`~soulsyncd.core.handle.Service`: publishes the core's state and takes commands over MQTT.

    Args:
        config: the ``mqtt`` section.
        password: the broker password; by default read from the credential ``mqtt-password``
            (``$CREDENTIALS_DIRECTORY`` or ``SOULSYNC_MQTT_PASSWORD``) at :meth:`start`.
        clock: for diagnostics and rate limits.
        poll_s: how often to look for state that changed without an event.
        refresh_s: the most often a topic is re-sent for a change in continuous figures only.
        configuration_url: the local web page, shown as the device's "Visit" link (None: none served).
    """

    def __init__(
        self,
        config: MqttConfig,
        *,
        password: str | None = _UNSET,
        clock: Clock | None = None,
        poll_s: float = POLL_S,
        refresh_s: float = REFRESH_S,
        configuration_url: str | None = None,
    ) -> None:
        self.config = config
        self.base = config.topic
        self.info = DiscoveryInfo.from_config(config, configuration_url=configuration_url)
        self.device_discovery = config.device_discovery
        self._discovery = discovery_messages(self.info, device=self.device_discovery)
        self._discovery_topics = {message.topic for message in self._discovery}
        self.birth_topic = f"{config.discovery_prefix}/status"
        self.sync_topic = f"{self.base}/{SYNC}"
        self._password = password
        self._clock = clock or SystemClock()
        self._poll_s = poll_s
        self._filter = st.ChangeFilter(self._clock, refresh_s)
        # CPU over (about) the interval between timed reports; the start-up burst is not measured.
        self._sampler = st.ProcessSampler(self._clock, min_interval_s=config.diagnostics_interval_s / 2)
        self._bad_log = _LimitedLog(self._clock)
        self._core: CoreHandle | None = None
        self._client: Client | None = None
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._pending = _Pending()
        self._last_error_sent: str | None = None
        self._failure_logged: str | None = None
        self._send_errors_logged: set[str] = set()
        self._subscribe_mid: int | None = None
        self._sync_mid: int | None = None
        self._sync_token: str | None = None  # the marker awaited from the broker (None: not waiting)
        self._sync_deadline: float | None = None
        # From CONNACK until the sync marker is back the broker is still sending our own retained
        # configs: a leftover found meanwhile is cleared at once, but the current form waits for the
        # full set.
        self._subscribing = False
        self._diagnostics_empty = True
        self._seen: DaemonState | None = None  # the snapshot of the last event (events thread only)
        self._v5 = config.protocol == "5"
        self.connected = threading.Event()
        """Set while connected to the broker (tests and the CLI wait on it)."""
        self.connections = 0
        """How many times the bridge has connected (1 + reconnects)."""
        self.rejected = 0
        """Command messages dropped as invalid."""
        self.full_publishes = 0
        """How many times the full set went out (after connects and Home Assistant births)."""

    # --- Service --------------------------------------------------------------------------------

    def start(self, core: CoreHandle) -> None:
        """Connect in the background and start publishing; returns at once, broker or not."""
        from paho.mqtt import client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._core = core
        v5 = self.config.protocol == "5"
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.config.effective_client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else True,
        )
        client.enable_logger(_PAHO_LOG)
        # A bug in one of our callbacks must not end paho's network thread (they catch their own too).
        client.suppress_exceptions = True
        client.will_set(f"{self.base}/{st.AVAILABILITY}", st.OFFLINE, qos=QOS, retain=True)
        if not self._configure_auth(client):
            return
        client.reconnect_delay_set(RECONNECT_MIN_S, max(RECONNECT_MIN_S, round(self.config.reconnect_max_s)))
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        self._worker = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._worker.start()
        self._seen = core.latest()  # what is so already at start is no event
        core.subscribe("mqtt", self._on_event)
        client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive)
        client.loop_start()
        log.info("MQTT: connecting to %s:%d as %s, topics under %s", self.config.host, self.config.port,
                 self.config.effective_client_id, self.base)

    def stop(self, *, final: bool = True) -> None:
        """Publish ``offline``, disconnect cleanly (so the will does not fire) and end both threads.

        Args:
            final: False for a stop that a new bridge with the same ``mqtt`` config follows at once
                (a reload): ``offline`` is not published, so Home Assistant does not see the device
                blink unavailable; the new bridge publishes ``online`` and the full set on connect.
                Only for that case: otherwise ``online`` would stay retained for a daemon that is gone.
        """
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(2.0)
        client, self._client = self._client, None
        if client is None:
            return
        if final and self.connected.is_set():
            info = client.publish(f"{self.base}/{st.AVAILABILITY}", st.OFFLINE, qos=QOS, retain=True)
            # Bounded: stop must not hang on a broker that went away a moment ago.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(STOP_PUBLISH_WAIT_S)
        client.disconnect()
        client.loop_stop()
        self.connected.clear()
        log.info("MQTT: stopped" if final else "MQTT: stopped for a reload (still 'online')")

    # --- configuration --------------------------------------------------------------------------

    def _configure_auth(self, client: Client) -> bool:
        config = self.config
        password = self._password
        if password is _UNSET:
            from soulsyncd.settings import read_secret

            password = read_secret("mqtt-password")
        if config.username is not None:
            client.username_pw_set(config.username, password)
        elif password is not None:
            log.warning("MQTT: a password is set (mqtt-password) but no mqtt.username; connecting without")
        if config.tls:
            try:
                client.tls_set(
                    ca_certs=None if config.ca_file is None else str(config.ca_file),
                    certfile=None if config.certfile is None else str(config.certfile),
                    keyfile=None if config.keyfile is None else str(config.keyfile),
                    cert_reqs=ssl.CERT_REQUIRED,
                )
            except (OSError, ssl.SSLError, ValueError) as exc:
                log.error("MQTT disabled: cannot load the TLS files (%s)", exc)
                return False
        return True

    # --- paho's thread: only flags and the command queue ----------------------------------------

    def _on_connect(self, client: Client, _userdata: object, _flags: ConnectFlags, reason: ReasonCode,
                    _properties: Properties | None) -> None:
        try:
            if reason.is_failure:
                self._log_failure(f"broker {self.config.host}:{self.config.port} refused the connection: "
                                  f"{reason} (retrying)")
                return
            self._failure_logged = None
            self.connections += 1
            log.info("MQTT: connected to %s:%d", self.config.host, self.config.port)
            self.connected.set()
            # The command topic and one level below it, so a wrong level is seen (and logged), not lost.
            # One SUBSCRIBE each: a filter paho refuses (only a config that skipped validation has one)
            # must not take the other with it.
            # Our own discovery topics, for retained configs to clear (a mode switch, an entity gone),
            # and the sync marker that says the broker has sent all of them (see _on_subscribe).
            own: tuple[str, ...] = ()
            if self.config.discovery:
                own = (f"{self.info.prefix}/+/{self.info.device_id}/+/config",
                       f"{self.info.prefix}/device/{self.info.device_id}/config", self.sync_topic)
            last_mid = None
            self._subscribing = True
            self._sync_mid = self._sync_token = self._sync_deadline = None
            for topic in (f"{self.base}/+/set/#", *own, self.birth_topic):
                try:
                    # Our own configs at QoS 0: the broker sends those retained messages at once, not
                    # 20 at a time as QoS 1 (mosquitto's max_inflight_messages).
                    _, last_mid = client.subscribe(topic, 0 if topic in own else QOS)
                except ValueError as exc:
                    log.error("MQTT: cannot subscribe to %s: %s", _short(topic), exc)
                else:
                    if topic == self.sync_topic:
                        self._sync_mid = last_mid
            self._subscribe_mid = last_mid
            if last_mid is None:
                self._subscribing = False
                self._request(full=True)  # no SUBACK will come to trigger it
        except Exception:  # never out into paho's thread: log and go on with the connection
            log.exception("MQTT: on_connect failed")
            self._subscribing = False
            self._request(full=True)

    def _on_subscribe(self, client: Client, _userdata: object, mid: int, reasons: list[ReasonCode],
                      _properties: Properties | None) -> None:
        # The full set goes out after the SUBACK, not the CONNACK: paho re-sends messages the broker
        # had not acknowledged before the connection broke right after on_connect returns, and those
        # stale states must reach the broker before the fresh ones, not after. The last SUBSCRIBE's
        # SUBACK comes last.
        if any(reason.is_failure for reason in reasons):
            log.warning("MQTT: the broker refused a subscription (%s); commands may not arrive",
                        ", ".join(str(reason) for reason in reasons))
            if mid == self._sync_mid:
                self._sync_mid = None
        if mid != self._subscribe_mid:
            return
        if self._sync_mid is None:  # no discovery (or no marker): nothing retained to wait for
            self._sync_done()
            return
        # The SUBACK may overtake our own retained configs: mosquitto queues retained messages and
        # writes them later, a SUBACK at once (then the new form would go out before the old one's
        # removal). A message the broker routes to us is written after whatever it had queued for
        # us, so our own marker, once back, says every retained config is here.
        token = f"{self.connections}-{id(self):x}"
        with self._wake:
            self._sync_token = token
            self._sync_deadline = self._clock.monotonic() + SYNC_WAIT_S
        try:
            client.publish(self.sync_topic, token, qos=0, retain=False)
        except (ValueError, RuntimeError) as exc:
            log.debug("MQTT: the sync marker could not be sent (%s)", exc)
            self._sync_done()

    def _check_sync_wait(self) -> None:
        """The publisher's side of the marker: a marker that never came back ends the wait."""
        deadline = self._sync_deadline
        if deadline is not None and self._clock.monotonic() >= deadline:
            self._sync_done(waited_out=True)

    def _sync_done(self, *, waited_out: bool = False) -> None:
        """Every retained config of ours is in (or waited for long enough): the full set may go."""
        with self._wake:
            if not self._subscribing:
                return
            if waited_out:
                log.debug("MQTT: no sync marker back after %.0f s; publishing all the same", SYNC_WAIT_S)
            self._subscribing = False
            self._sync_token = self._sync_deadline = None
        self._request(full=True)

    def _on_connect_fail(self, _client: Client, _userdata: object) -> None:
        self._log_failure(f"broker {self.config.host}:{self.config.port} unreachable (retrying)")

    def _on_disconnect(self, _client: Client, _userdata: object, _flags: DisconnectFlags, reason: ReasonCode,
                       _properties: Properties | None) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        if was_connected and not self._stop.is_set():
            log.warning("MQTT: connection to the broker lost (%s); reconnecting", reason)

    def _on_message(self, _client: Client, _userdata: object, message: MQTTMessage) -> None:
        try:
            response_topic, correlation_data = None, None
            properties = getattr(message, "properties", None)
            if properties is not None:  # MQTT 5: answer where the request asks, with its data
                response_topic = getattr(properties, "ResponseTopic", None)
                correlation_data = getattr(properties, "CorrelationData", None)
            self._handle(message.topic, bytes(message.payload), retained=bool(message.retain),
                         response_topic=response_topic, correlation_data=correlation_data)
        except Exception:
            log.exception("MQTT: handling a message on %r failed", message.topic)

    def _handle(self, topic: str, payload: bytes, *, retained: bool, response_topic: str | None = None,
                correlation_data: bytes | None = None) -> None:
        if topic == self.sync_topic:  # never a command; a stray or retained one is ignored
            if not retained and self._sync_token is not None and payload == self._sync_token.encode():
                self._sync_done()
            return
        if topic == self.birth_topic:
            if payload.strip() == b"online":
                log.info("MQTT: Home Assistant came online; publishing discovery and state again")
                if not self._subscribing:  # else the full set follows the sync marker anyway
                    self._request(full=True)
            return
        if not topic.startswith(self.base + "/"):  # one of our own discovery topics
            if retained and payload and topic not in self._discovery_topics and (
                    is_config_topic(self.info, topic, device=True)
                    or is_config_topic(self.info, topic, device=False)):
                log.info("MQTT: clearing the retained discovery config %s (not announced in %s mode)",
                         topic, "device" if self.device_discovery else "entity")
                self._request(leftover=topic)
            return
        if retained:  # a stale command kept by the broker would replay at every connect
            self.rejected += 1
            self._bad_log.warning("MQTT: ignored retained command on %r (send commands without retain)",
                                  topic)
            return

        def answer(thing: str | None, error: str | None, correlation_id: str | None) -> Answer:
            return Answer(thing, error, correlation_id, response_topic,
                          None if correlation_data is None else bytes(correlation_data))

        try:
            request = commands.parse_request(topic, payload, self.base)
        except commands.Rejected as exc:
            self.rejected += 1
            self._bad_log.warning("MQTT: rejected message on %r: %s", topic, exc.reason)
            thing = exc.thing or _thing_in(topic, self.base)
            self._request(topics=exc.affects,  # so the dashboard snaps back to the truth
                          answer=answer(thing, exc.reason, exc.correlation_id))
            return
        assert self._core is not None
        # Queued either way: a full queue drops its oldest command to make room for this one (it logs
        # that, once a minute), so this command is answered ok; a retry would only repeat it.
        self._core.submit(request.command)
        self._request(answer=answer(request.thing, None, request.correlation_id))

    def _on_event(self, event: Event) -> None:
        """The core's events (on the broadcaster's thread): what happened, and a wake for the publisher."""
        if self._stop.is_set():
            return
        before, self._seen = self._seen, event.state
        happened = ev.happenings(before, event.state, self.base) if before is not None else []
        # Diagnostics go out on their timer, and at once for a new error or for the loop's first
        # figures (those sent on connect may predate them: zeros for a whole interval otherwise).
        first_figures = event.kind == EventKind.STATS and self._diagnostics_empty
        self._request(changes=True, diagnostics=event.kind == EventKind.ERROR or first_figures,
                      events=happened)

    def _log_failure(self, message: str) -> None:
        # The first time at warning level; the same failure on every retry only at debug.
        if self._failure_logged != message:
            self._failure_logged = message
            log.warning("MQTT: %s", message)
        else:
            log.debug("MQTT: %s", message)

    def _request(self, *, full: bool = False, changes: bool = False, diagnostics: bool = False,
                 topics: tuple[str, ...] = (), leftover: str | None = None,
                 events: list[ev.EventMessage] | None = None, answer: Answer | None = None) -> None:
        with self._wake:
            pending = self._pending
            pending.full |= full
            pending.changes |= changes
            pending.diagnostics |= diagnostics
            if topics:
                pending.topics = (pending.topics or set()) | set(topics)
            if leftover is not None:
                pending.leftovers.add(leftover)
            if events:
                pending.events.extend(events)
                del pending.events[:-PENDING_MAX]
            if answer is not None:
                pending.answers.append(answer)
                del pending.answers[:-PENDING_MAX]
            self._wake.notify()

    # --- the publisher thread -------------------------------------------------------------------

    def _run(self) -> None:
        interval = self.config.diagnostics_interval_s
        next_diagnostics = self._clock.monotonic() + interval
        while not self._stop.is_set():
            with self._wake:
                self._wake.wait_for(lambda: self._stop.is_set() or self._pending != _Pending(), self._poll_s)
                pending, self._pending = self._pending, _Pending()
            if self._stop.is_set():
                break
            self._check_sync_wait()
            self._bad_log.flush()
            if self._clock.monotonic() >= next_diagnostics:
                pending.diagnostics = True
                next_diagnostics = self._clock.monotonic() + interval
            try:
                self._publish(pending)
            except Exception:  # a bug here must not end publishing for good
                log.exception("MQTT: publishing failed")

    def _publish(self, pending: _Pending) -> None:
        if not self.connected.is_set() or self._core is None:
            return  # nothing is queued while away: the full set follows the next connect
        state = self._core.latest()
        messages = st.state_messages(state, self.base)
        self._publish_moments(pending)
        if pending.full:
            self.full_publishes += 1
            self._send(f"{self.base}/{st.AVAILABILITY}", st.ONLINE)
        if self.config.discovery and (pending.full or (pending.leftovers and not self._subscribing)):
            # After the clearing above: Home Assistant's discovery id is the same in both forms, so the
            # removal of an old config must reach it before the current one, never after (a device
            # config for ids an entity config still holds is ignored, with a warning per entity). On
            # connect the full set, after the last SUBACK, comes after every leftover found.
            for config_message in self._discovery:
                self._send(config_message.topic, config_message.encoded())
        if pending.full:
            self._filter.forget()
            pending.diagnostics = True
        elif pending.topics:
            for message in st.select(messages, self.base, sorted(pending.topics)):
                self._send(message.topic, message.payload)
                self._filter.sent(message)
        for message in self._filter.due(messages):
            if self._send(message.topic, message.payload):
                self._filter.sent(message)
        if pending.diagnostics or state.last_error != self._last_error_sent:
            self._last_error_sent = state.last_error
            self._diagnostics_empty = state.stats.frames_analysed == 0
            payload = st.diagnostics_payload(state, self._sampler.sample(), self.rejected)
            self._send(f"{self.base}/{st.DIAGNOSTICS}", payload)

    def _publish_moments(self, pending: _Pending) -> None:
        """Answers, events and the clearing of leftover configs: sent once, never retained."""
        for answer in pending.answers:
            self._send_answer(answer)
        for event in pending.events:  # a moment, not a state
            self._send(event.topic, event.payload, retain=False)
        for topic in sorted(pending.leftovers):
            self._send(topic, b"")

    def _send_answer(self, answer: Answer) -> None:
        properties = None
        if self._v5 and answer.correlation_data is not None:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.CorrelationData = answer.correlation_data
        payload = answer.payload()
        response = f"{self.base}/{RESPONSE}"
        self._send(response, payload, retain=False, properties=properties)
        if self._v5 and answer.response_topic and answer.response_topic != response:
            self._send(answer.response_topic, payload, retain=False, properties=properties)

    def _send(self, topic: str, payload: str | bytes, *, retain: bool = True,
              properties: Properties | None = None) -> bool:
        from paho.mqtt.enums import MQTTErrorCode

        assert self._client is not None
        # Never wait for the broker's acknowledgement here: paho sends it in the background.
        try:
            info = self._client.publish(topic, payload, qos=QOS, retain=retain, properties=properties)
        except ValueError as exc:  # a topic paho refuses: the rest still goes out
            if str(exc) not in self._send_errors_logged:
                self._send_errors_logged.add(str(exc))
                log.error("MQTT: cannot publish to %s: %s (further ones not logged)", _short(topic), exc)
            return False
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.debug("MQTT: publish to %s not queued (%s)", topic, info.rc)
            return False
        return True
