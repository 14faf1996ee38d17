#!/usr/bin/env python3
"""Benchmark the MQTT bridge against a real mosquitto on a free loopback port.

    python tools/mqtt_bench.py                 # both figures, human-readable
    python tools/mqtt_bench.py --json          # ... and one JSON object on the last line

1. **Mood change -> retained state on the broker.** The core's broadcaster publishes a MOOD event
   (the same :class:`~soulsyncd.core.state.Broadcaster` the analysis loop uses, inside
   :class:`~soulsyncd.testing.fake_core.FakeCore`); the time until a client subscribed to the
   broker receives the new ``<base>/mood`` payload (the broker has stored it as retained by then).
   ``--changes`` changes, alternating emotions, 50 ms apart; median and 90th percentile. The same
   changes timed to their ``<base>/event/mood`` message (what fires Home Assistant automations).
2. **Broker restart -> full state re-published.** The broker is stopped (it keeps nothing: no
   persistence), kept down ``--down-s`` seconds, started again; the time from the broker
   listening again until a fresh client holds availability ``online``, every discovery config and
   every state topic. The bridge runs with the default config (reconnect back-off 1 s doubling to
   ``mqtt.reconnect_max_s`` = 30 s). ``--restarts`` times; median and max.
3. **Command -> answer.** A client publishes ``<base>/volume/set`` with a ``correlation_id`` and
   times the answer on ``<base>/response``; ``--changes`` commands, median and 90th percentile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.core.state import EventKind  # noqa: E402
from soulsyncd.mqtt import state as st  # noqa: E402
from soulsyncd.mqtt.client import MqttBridge  # noqa: E402
from soulsyncd.mqtt.discovery import discovery_messages  # noqa: E402
from soulsyncd.mqtt.settings import MqttConfig  # noqa: E402
from soulsyncd.testing.fake_core import FakeCore  # noqa: E402
from soulsyncd.testing.mosquitto import Broker, Watcher, mosquitto_path  # noqa: E402
from soulsyncd.types import Emotion, Mood  # noqa: E402

EMOTIONS = (Emotion.HAPPY, Emotion.SAD, Emotion.ANGRY, Emotion.NEUTRAL, Emotion.SURPRISE)


def full_set(bridge: MqttBridge) -> dict[str, bytes | None]:
    expected: dict[str, bytes | None] = {f"{bridge.base}/{st.AVAILABILITY}": b"online"}
    expected |= {f"{bridge.base}/{name}": None for name in (*st.STATE_TOPICS, st.DIAGNOSTICS)}
    discovery = discovery_messages(bridge.info, device=bridge.device_discovery)
    expected |= {m.topic: m.encoded() for m in discovery}
    return expected


def holds(watcher: Watcher, expected: dict[str, bytes | None]) -> bool:
    return all(watcher.retained.get(t) == p if p is not None else t in watcher.retained
               for t, p in expected.items())


def mood_latency(broker: Broker, changes: int) -> tuple[list[float], list[float]]:
    """Mood change -> retained state, and -> its event message (ms each)."""
    core = FakeCore()
    bridge = MqttBridge(MqttConfig(enabled=True, host=broker.host, port=broker.port, device_id="bench"),
                        password=None)
    watcher = Watcher(broker, ("soulsync/bench/mood", "soulsync/bench/event/mood"), client_id="bench-watch")
    bridge.start(core)
    latencies: list[float] = []
    event_latencies: list[float] = []
    try:
        if not watcher.wait_for(lambda w: "soulsync/bench/mood" in w.retained, 10):
            raise SystemExit("the bridge never published its state")
        pause = threading.Event()
        for i in range(changes):
            emotion = EMOTIONS[i % len(EMOTIONS)]
            wanted = f'"emotion":"{emotion.label}"'.encode()
            mark = watcher.count()
            started = time.monotonic()
            core.update(EventKind.MOOD, mood=Mood(emotion, 0.8, 0.1, 0.1, started), faces=1)
            event = f'"event_type":"{emotion.label}"'.encode()
            if not watcher.wait_for(lambda w, m=mark, x=wanted, e=event: any(
                    x in r.payload for r in w.since(m)) and any(e in r.payload for r in w.since(m)), 5):
                raise SystemExit(f"change {i} never reached the broker")
            arrived = next(r.at for r in watcher.since(mark) if wanted in r.payload)
            latencies.append((arrived - started) * 1000)
            fired = next(r.at for r in watcher.since(mark) if event in r.payload)
            event_latencies.append((fired - started) * 1000)
            pause.wait(0.05)
    finally:
        bridge.stop()
        watcher.close()
        core.close()
    return latencies, event_latencies


def answer_latency(broker: Broker, commands: int) -> list[float]:
    """A command with a correlation id -> its answer on <base>/response (ms)."""
    core = FakeCore()
    bridge = MqttBridge(MqttConfig(enabled=True, host=broker.host, port=broker.port, device_id="bench"),
                        password=None)
    watcher = Watcher(broker, ("soulsync/bench/response", "soulsync/bench/availability"),
                      client_id="bench-ask")
    bridge.start(core)
    latencies = []
    try:
        if not watcher.wait_for(lambda w: w.retained.get("soulsync/bench/availability") == b"online", 10):
            raise SystemExit("the bridge never came online")
        for i in range(commands):
            wanted = f'"correlation_id":"c{i}"'.encode()
            mark = watcher.count()
            started = time.monotonic()
            command = json.dumps({"value": i % 101, "correlation_id": f"c{i}"})
            watcher.client.publish("soulsync/bench/volume/set", command, qos=1)
            if not watcher.wait_for(lambda w, m=mark, x=wanted: any(x in r.payload for r in w.since(m)), 5):
                raise SystemExit(f"command {i} was never answered")
            arrived = next(r.at for r in watcher.since(mark) if wanted in r.payload)
            latencies.append((arrived - started) * 1000)
    finally:
        bridge.stop()
        watcher.close()
        core.close()
    return latencies


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[int(0.9 * (len(ordered) - 1))], 2)


def restart_times(broker: Broker, restarts: int, down_s: float) -> list[float]:
    core = FakeCore()
    bridge = MqttBridge(MqttConfig(enabled=True, host=broker.host, port=broker.port, device_id="bench"),
                        password=None)
    bridge.start(core)
    expected = full_set(bridge)
    times = []
    try:
        first = Watcher(broker, client_id="bench-first")
        if not first.wait_for(lambda w: holds(w, expected), 10):
            raise SystemExit("the bridge never published its full set")
        first.close()
        for _ in range(restarts):
            broker.stop()
            threading.Event().wait(down_s)
            broker.start()
            back = time.monotonic()
            watcher = Watcher(broker, client_id="bench-after")
            try:
                if not watcher.wait_for(lambda w: holds(w, expected), 120):
                    raise SystemExit("the full set never came back")
                times.append(time.monotonic() - back)
            finally:
                watcher.close()
    finally:
        bridge.stop()
        core.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=200, help="mood changes to time (default 200)")
    parser.add_argument("--restarts", type=int, default=5, help="broker restarts to time (default 5)")
    parser.add_argument("--down-s", type=float, default=2.0, help="seconds the broker stays down (default 2)")
    parser.add_argument("--json", action="store_true", help="also print one JSON object on the last line")
    args = parser.parse_args(argv)
    if mosquitto_path() is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(Path(folder))
        broker.start()
        try:
            latencies, event_latencies = mood_latency(broker, args.changes)
            answers = answer_latency(broker, args.changes)
            restarts = restart_times(broker, args.restarts, args.down_s)
        finally:
            broker.stop()
    latencies.sort()
    result = {
        "mood_to_broker_ms_median": round(statistics.median(latencies), 2),
        "mood_to_broker_ms_p90": round(latencies[int(0.9 * (len(latencies) - 1))], 2),
        "changes": len(latencies),
        "mood_to_event_ms_median": round(statistics.median(event_latencies), 2),
        "mood_to_event_ms_p90": _p90(event_latencies),
        "command_to_answer_ms_median": round(statistics.median(answers), 2),
        "command_to_answer_ms_p90": _p90(answers),
        "restart_full_state_s_median": round(statistics.median(restarts), 2),
        "restart_full_state_s_max": round(max(restarts), 2),
        "restarts": len(restarts),
        "down_s": args.down_s,
    }
    print(f"mood change -> retained on the broker: median {result['mood_to_broker_ms_median']} ms, "
          f"p90 {result['mood_to_broker_ms_p90']} ms ({len(latencies)} changes)")
    print(f"mood change -> event message: median {result['mood_to_event_ms_median']} ms, "
          f"p90 {result['mood_to_event_ms_p90']} ms")
    print(f"command -> answer on <base>/response: median {result['command_to_answer_ms_median']} ms, "
          f"p90 {result['command_to_answer_ms_p90']} ms ({len(answers)} commands)")
    print(f"broker back (after {args.down_s:g} s down) -> availability, discovery and full state: "
          f"median {result['restart_full_state_s_median']} s, max {result['restart_full_state_s_max']} s "
          f"({len(restarts)} restarts)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
