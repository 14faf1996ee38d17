#!/usr/bin/env python3
"""Start -> READY time and peak RSS of the real daemon, on the demo and with Spotify + MQTT on.

    python tools/startup_bench.py [--runs 5] [--seconds 12] [--json] [--setup demo|full|both] [--no-unit-env]

Each run starts ``python -m soulsyncd.testing.harness run`` (``soulsyncd run`` plus the fake-Spotify
hook) the way systemd would: it listens on ``$NOTIFY_SOCKET`` and times from the process start to the
``READY=1`` datagram, lets it analyse for ``--seconds``, reads the peak resident set (``VmHWM``) while
it still runs, then stops it with SIGTERM.

* ``demo``: config/demo.yaml's settings (file camera on the bundled sample at its own rate,
  dry-run player, MQTT off, the sample catalog imported on first run);
* ``full``: as tools/soak.py sets them up: the Spotify player on the fake Spotify (its Web API, a
  speaker and the sample catalog's tracks) and MQTT on a real mosquitto (skipped when mosquitto is
  not installed).

The daemon runs with the environment the systemd unit gives it (its ``Environment=`` lines:
``MALLOC_ARENA_MAX=2``), as the service runs; ``--no-unit-env`` leaves this shell's environment alone.

The state directory is fresh for the first run and kept for the others (a catalog already imported,
as on every start but the first); the figures are medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))


def status_mb(pid: int, field: str) -> float:
    """A memory field of /proc/PID/status (``VmHWM``, ``RssAnon``, ...) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def peak_rss_mb(pid: int) -> float:
    return status_mb(pid, "VmHWM")


UNIT = ROOT / "systemd" / "soulsyncd.service"


def unit_environment(unit: Path = UNIT) -> dict[str, str]:
    """The variables the unit's ``Environment=`` lines set (``KEY=VALUE``, one or more a line)."""
    found: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        key, _, assignments = line.strip().partition("=")
        if key == "Environment":
            for assignment in assignments.split():
                name, _, value = assignment.strip('"').partition("=")
                found[name] = value
    return found


def run_once(config: Path, seconds: float, env: dict[str, str]) -> dict[str, float]:
    """One daemon run: seconds from exec to READY=1, peak RSS in MB after ``seconds`` of analysis."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"soulsync-startup-{os.getpid()}-{time.monotonic_ns()}"
    sock.bind("\0" + name)
    sock.settimeout(0.1)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "soulsyncd.testing.harness", "run", "--config", str(config)],
        cwd=ROOT, env={**env, "NOTIFY_SOCKET": "@" + name},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    ready_s = None
    try:
        deadline = started + 60
        while ready_s is None and time.monotonic() < deadline and process.poll() is None:
            try:
                data = sock.recv(65536).decode(errors="replace")
            except TimeoutError:
                continue
            if "READY=1" in data.split("\n"):
                ready_s = time.monotonic() - started
        if ready_s is None:
            raise SystemExit("the daemon never reported READY: "
                             + (process.stderr.read().decode(errors="replace")[-2000:]
                                if process.poll() is not None and process.stderr else "(still running)"))
        end = time.monotonic() + seconds
        while time.monotonic() < end and process.poll() is None:
            time.sleep(0.2)  # a benchmark, not a test: let it analyse
        rss = peak_rss_mb(process.pid)
        # The anonymous part (heap, Python's objects, stacks): the file-backed rest is shared
        # libraries' pages, whose count follows the page cache's state more than the daemon.
        anon = status_mb(process.pid, "RssAnon")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sock.close()
    return {"ready_s": ready_s, "peak_rss_mb": rss, "rss_anon_mb": anon}


def demo_config(folder: Path, video: Path) -> Path:
    config = folder / "demo.yaml"
    config.write_text(
        f"camera:\n  kind: file\n  path: {video}\n  loop: true\n  pace: realtime\n"
        "player:\n  kind: dry-run\n  track_s: 8.0\n"
        "policy:\n  mode: shift\n  target: happy\n"
        f"engine:\n  import_csv: {ROOT / 'config' / 'sample_catalog.csv'}\n"
        f"state:\n  dir: {folder / 'state'}\nlogging:\n  level: warning\n"
    )
    return config


def measure(setup: str, runs: int, seconds: float, unit_env: bool = True) -> dict[str, Any]:
    from make_sample import render_video

    from soulsyncd.types import EMOTION_LABELS

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(os.environ) | (unit_environment() if unit_env else {})
        world = None
        if setup == "demo":
            timeline = [(3.0, label) for label in EMOTION_LABELS] + [(3.0, None)]
            video = render_video(folder / "sample.avi", fps=30.0, size=(640, 480), timeline=timeline)
            config = demo_config(folder, video)
        else:
            from soak import build_world

            world = build_world(folder, seed=1)
            if world.broker is None or world.fake is None:
                return {"skipped": "mosquitto or the fake Spotify is not available"}
            config = world.config
            config.write_text(world.good_config + "logging:\n  level: warning\n")
            env["SOULSYNC_TEST_SPOTIFY_URL"] = world.fake.url
        try:
            samples = [run_once(config, seconds, env) for _ in range(runs)]
        finally:
            if world is not None:
                if world.broker is not None:
                    world.broker.stop()
                if world.fake is not None:
                    world.fake.stop()
    ready = [s["ready_s"] for s in samples]
    rss = [s["peak_rss_mb"] for s in samples]
    anon = [s["rss_anon_mb"] for s in samples]
    return {
        "ready_s_median": round(statistics.median(ready), 3),
        "ready_s_runs": [round(r, 3) for r in ready],
        "peak_rss_mb_median": round(statistics.median(rss), 1),
        "peak_rss_mb_runs": [round(r, 1) for r in rss],
        "rss_anon_mb_median": round(statistics.median(anon), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=12.0, help="analysis time before RSS is read")
    parser.add_argument("--setup", choices=("demo", "full", "both"), default="both")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-unit-env", action="store_true",
                        help="do not add the systemd unit's Environment= variables (MALLOC_ARENA_MAX=2)")
    args = parser.parse_args(argv)
    result = {}
    for setup in ("demo", "full") if args.setup == "both" else (args.setup,):
        result[setup] = measure(setup, args.runs, args.seconds, unit_env=not args.no_unit_env)
        figures = result[setup]
        if "skipped" in figures:
            print(f"{setup}: skipped ({figures['skipped']})")
        else:
            print(f"{setup}: start -> READY median {figures['ready_s_median']} s {figures['ready_s_runs']}, "
                  f"peak RSS median {figures['peak_rss_mb_median']} MB {figures['peak_rss_mb_runs']}, "
                  f"of it anonymous {figures['rss_anon_mb_median']} MB")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
