"""A real mosquitto broker on a free loopback port, and a client watching it: for the MQTT tests and
the tools (``tools/mqtt_bench.py``, ``tools/mqtt_fuzz.py``).

The broker runs with its own config in a folder of the caller's (no persistence, so a restart forgets
retained messages like a broker that lost its disk), never the system service on 1883.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "mosquitto not installed (apt-get install mosquitto; `make test` does it where it can)"
READY_TIMEOUT_S = 10.0


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).is_file()), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """One mosquitto process; :meth:`stop` and :meth:`start` again keep the port."""

    host = "127.0.0.1"

    def __init__(self, workdir: Path, *, port: int | None = None, extra_config: str = "",
                 allow_anonymous: bool = True) -> None:
        binary = mosquitto_path()
        if binary is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.conf.write_text(
            f"listener {self.port} {self.host}\n"
            f"allow_anonymous {'true' if allow_anonymous else 'false'}\n"
            "persistence false\n"
            f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "connection_messages true\n"
            # Run as root, mosquitto drops to user 'mosquitto', who can't read the test's private folder.
            + ("user root\n" if os.geteuid() == 0 else "")
            + extra_config,
            encoding="utf-8",
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._process is not None:
            return
        self._process = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:  # a readiness probe: the port accepts once mosquitto is listening
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                self._process = None
                raise RuntimeError(f"mosquitto exited at start: {error}{self.log_text()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.2):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto not listening on {self.port} after {READY_TIMEOUT_S} s")
            threading.Event().wait(0.02)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stderr is not None:
            process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float  # time.monotonic() when it arrived


class Watcher:
    """A plain paho client that records every message on the topics it watches.

    ``retained`` holds what the broker keeps (the last retained payload per topic, empty ones removed),
    as a newly subscribing client would see it; ``last`` the last payload per topic, retained or not.
    """

    def __init__(self, broker: Broker, topics: tuple[str, ...] = ("#",), client_id: str = "watcher") -> None:
        from paho.mqtt import client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[Received] = []
        self.retained: dict[str, bytes] = {}
        self.last: dict[str, bytes] = {}  # the last payload per topic, retained or not
        self._condition = threading.Condition()
        self._topics = topics
        self._subscribed = threading.Event()
        # MQTT 5 with retain-as-published: a live message keeps the retain flag it was sent with, so
        # ``retained`` holds only what the broker keeps (a marker or an event is not mistaken for it).
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect_async(broker.host, broker.port, keepalive=10)
        self.client.reconnect_delay_set(1, 1)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("watcher could not subscribe")

    def _on_connect(self, client: object, _u: object, _f: object, reason: object, _p: object) -> None:
        from paho.mqtt.subscribeoptions import SubscribeOptions

        options = SubscribeOptions(qos=1, retainAsPublished=True)
        self.client.subscribe([(topic, options) for topic in self._topics])

    def _on_message(self, _c: object, _u: object, message: object) -> None:
        from paho.mqtt.client import MQTTMessage

        assert isinstance(message, MQTTMessage)
        received = Received(message.topic, bytes(message.payload), bool(message.retain), time.monotonic())
        with self._condition:
            self.messages.append(received)
            self.last[received.topic] = received.payload
            if received.retain and received.payload:
                self.retained[received.topic] = received.payload
            elif received.retain:
                self.retained.pop(received.topic, None)
            self._condition.notify_all()

    def wait_for(self, predicate: Callable[[Watcher], bool], timeout_s: float = 5.0) -> bool:
        """Wait until ``predicate(self)`` holds (checked on every message); False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: predicate(self), timeout_s)

    def wait_payload(self, topic: str, payload: bytes | str, timeout_s: float = 5.0) -> bool:
        wanted = payload.encode() if isinstance(payload, str) else payload
        return self.wait_for(lambda w: w.retained.get(topic) == wanted, timeout_s)

    def payloads(self, topic: str) -> list[bytes]:
        with self._condition:
            return [m.payload for m in self.messages if m.topic == topic]

    def since(self, index: int) -> list[Received]:
        with self._condition:
            return self.messages[index:]

    def count(self) -> int:
        with self._condition:
            return len(self.messages)

    def clear(self) -> None:
        with self._condition:
            self.messages.clear()

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        """Publish and wait until the broker has it (a test may wait; the daemon never does)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
