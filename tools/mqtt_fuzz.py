#!/usr/bin/env python3
"""Fuzz the running daemon's MQTT command topics and compare its analysis rate with and without.

    python tools/mqtt_fuzz.py                  # 10,000 payloads, human-readable
    python tools/mqtt_fuzz.py --json           # ... and one JSON object on the last line

The whole daemon runs (``soulsyncd.app.Daemon``: a 640x480 30 fps file camera replaying the bundled
sample faces in real time, the model, the loop at the default 5 analysed frames/s, the dry-run
player) with MQTT on a real mosquitto on a free loopback port. For ``--window-s`` seconds nothing
is sent (baseline); then ``--payloads`` random payloads go to random command topics (every
``<base>/<thing>/set``, unknown things and wrong levels) at ``--rate`` per second: random bytes,
random Unicode, valid words mutated (case, padding, junk appended), numbers (huge, negative, nan),
JSON, empty and now and then a 1 MB payload. Payloads that would switch the camera off or restart
the daemon are left out (the rate comparison needs the camera on and the process running);
everything else that happens to be valid is applied. Afterwards: the daemon thread must be alive,
the loop still analysing, a valid command must come back as state, and no ERROR may have been logged
("crashes").
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from soulsyncd.app import Daemon  # noqa: E402
from soulsyncd.config import load_config  # noqa: E402
from soulsyncd.core.commands import Restart, SetCamera  # noqa: E402
from soulsyncd.mqtt import commands  # noqa: E402
from soulsyncd.testing.mosquitto import Broker, Watcher, mosquitto_path  # noqa: E402

BASE = "soulsync/fuzz"
WORDS = ["ON", "OFF", "PRESS", "off", "match", "shift", "happy", "calm", "energetic", "neutral", "50", "100",
         "Kitchen", "true", "false"]


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def random_payload(rng: random.Random) -> bytes:  # noqa: PLR0911 -- one return per kind
    kind = rng.random()
    if kind < 0.002:
        return bytes(rng.getrandbits(8) for _ in range(64)) * (1_000_000 // 64)  # ~1 MB
    if kind < 0.25:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2048)))
    if kind < 0.45:
        return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 80))).encode(
            "utf-8", errors="surrogatepass")
    if kind < 0.7:
        word = rng.choice(WORDS)
        word = rng.choice([word, word.lower(), word.upper(), f"  {word}  ",
                           word + chr(rng.randint(0, 0xFFFF)), word * rng.randint(2, 50),
                           word[: max(1, len(word) - 1)]])
        return word.encode("utf-8", errors="surrogatepass")
    if kind < 0.85:
        return rng.choice([str(rng.uniform(-1e12, 1e12)), str(rng.randint(-300, 300)), "nan", "inf", "-0",
                           "1e400", "0x40", "\u0665\u0660"]).encode()
    if kind < 0.97:
        return json.dumps({"value": rng.choice(WORDS), "n": rng.random()})[: rng.randint(0, 40)].encode()
    return b""


def random_topic(rng: random.Random) -> str:
    thing = rng.choice([*commands.COMMANDS, *commands.COMMANDS, "bogus", ""])
    return f"{BASE}/{thing}/set" + rng.choice(["", "", "", "", "/x", "/set"])


def switches_camera_off(topic: str, payload: bytes) -> bool:
    """Camera off, or a restart (the Restart button: the daemon would exit): left out of the fuzz."""
    try:
        return commands.parse(topic, payload, BASE) in (SetCamera(False), Restart())
    except commands.Rejected:
        return False


def measure(daemon: Daemon, seconds: float,
            during: threading.Thread | None = None) -> tuple[float, float, float]:
    """(analysed frames/s, process CPU %, seconds) over ``seconds`` or until ``during`` ends."""
    core = daemon.core
    assert core is not None
    frames, cpu, started = core.stats.frames_analysed, time.process_time(), time.monotonic()
    if during is not None:
        during.start()
        during.join()
    else:
        threading.Event().wait(seconds)
    elapsed = time.monotonic() - started
    return ((core.stats.frames_analysed - frames) / elapsed, 100 * (time.process_time() - cpu) / elapsed,
            elapsed)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 -- one straight script
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payloads", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500.0, help="payloads per second (default 500)")
    parser.add_argument("--window-s", type=float, default=20.0, help="baseline seconds (default 20)")
    parser.add_argument("--analysis-fps", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if mosquitto_path() is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    from make_sample import render_video

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("soulsyncd.mqtt.client").setLevel(logging.ERROR)  # 10,000 rejections are expected
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        video = render_video(folder / "clip.avi", fps=30.0, size=(640, 480),
                             timeline=[(5.0, "happy"), (5.0, "neutral"), (5.0, "surprise")])
        broker = Broker(folder)
        broker.start()
        config_path = folder / "soulsync.yaml"
        config_path.write_text(
            f"camera:\n  kind: file\n  path: {video}\n  loop: true\n  pace: realtime\n"
            f"analysis:\n  fps: {args.analysis_fps}\n"
            f"mqtt:\n  enabled: true\n  host: {broker.host}\n  port: {broker.port}\n  device_id: fuzz\n"
            "  diagnostics_interval_s: 1\n", encoding="utf-8")
        daemon = Daemon(config_path, load_config(config_path), load=load_config)
        runner = threading.Thread(target=daemon.run, kwargs={"for_seconds": 3600}, daemon=True)
        runner.start()
        watcher = Watcher(broker, (f"{BASE}/#",), client_id="fuzz-watch")
        sender = Watcher(broker, ("fuzz/none",), client_id="fuzz-send")
        try:
            if not watcher.wait_payload(f"{BASE}/availability", "online", 30):
                raise SystemExit("the daemon never came online")
            if not watcher.wait_for(lambda w: json.loads(w.retained.get(f"{BASE}/camera", b"{}")).get(
                    "status") == "ok", 30):
                raise SystemExit("the camera never started")
            threading.Event().wait(3)  # let the analysis settle
            base_fps, base_cpu, _ = measure(daemon, args.window_s)

            skipped = 0

            def fuzz() -> None:
                nonlocal skipped
                started = time.monotonic()
                last = None
                for i in range(args.payloads):
                    topic, payload = random_topic(rng), random_payload(rng)
                    if switches_camera_off(topic, payload):
                        skipped += 1
                        continue
                    last = sender.client.publish(topic, payload, qos=1)
                    delay = started + (i + 1) / args.rate - time.monotonic()
                    if delay > 0:
                        threading.Event().wait(delay)
                if last is not None:
                    last.wait_for_publish(60)

            fuzz_fps, fuzz_cpu, fuzz_s = measure(daemon, 0, threading.Thread(target=fuzz))
            sent = args.payloads - skipped
            threading.Event().wait(3)  # the bridge works through what the broker still holds
            answered = False
            for mode in ("shift", "match"):
                sender.publish(f"{BASE}/mode/set", mode)
                answered = watcher.wait_payload(f"{BASE}/mode", mode, 10)
            core = daemon.core
            assert core is not None
            frames = core.stats.frames_analysed
            after_fps, _, _ = measure(daemon, 5)
            diagnostics = json.loads(watcher.retained.get(f"{BASE}/diagnostics", b"{}"))
            alive = runner.is_alive() and core.stats.frames_analysed > frames
        finally:
            daemon.request_stop()
            runner.join(15)
            watcher.close()
            sender.close()
            broker.stop()
    result = {
        "payloads_sent": sent, "camera_off_left_out": skipped,
        "rejected_by_bridge": diagnostics.get("mqtt_rejected"),
        "errors_logged": len(errors.records), "daemon_alive": alive, "answers_after": answered,
        "analysis_fps_baseline": round(base_fps, 2), "analysis_fps_during_fuzz": round(fuzz_fps, 2),
        "analysis_fps_after": round(after_fps, 2),
        "cpu_percent_baseline": round(base_cpu, 1), "cpu_percent_during_fuzz": round(fuzz_cpu, 1),
        "fuzz_seconds": round(fuzz_s, 1), "analysis_fps_target": args.analysis_fps,
    }
    crashes = len(errors.records) + (not alive) + (not answered)
    print(f"{sent} random payloads in {fuzz_s:.1f} s ({skipped} camera-off left out): "
          f"{result['rejected_by_bridge']} rejected by the bridge, {crashes} crashes "
          f"(errors logged {len(errors.records)}, daemon alive {alive}, answers afterwards {answered})")
    print(f"analysis rate: {base_fps:.2f} frames/s without fuzz, {fuzz_fps:.2f} during, "
          f"{after_fps:.2f} after (target {args.analysis_fps:g}); "
          f"process CPU {base_cpu:.1f} % -> {fuzz_cpu:.1f} %")
    for record in errors.records[:5]:
        print("  error:", record.getMessage())
    if args.json:
        print(json.dumps(result))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
