#!/usr/bin/env python3
"""Benchmark the status page (docs/web.md): first paint, state-change latency, RSS and CPU it adds,
and the analysis rate with 0 and 10 pages open. Needs Debian's chromium and chromium-driver.

    python tools/web_bench.py                          # every figure, human-readable
    python tools/web_bench.py --json                   # ... and one JSON object on the last line
    python tools/web_bench.py --screenshot docs/status-page.png   # also the docs' screenshot

1. **First paint on loopback**: the real daemon on the demo clip with the page on; headless chromium
   loads the page ``--loads`` times (each a fresh navigation); Navigation Timing's
   ``first-contentful-paint`` and ``loadEventEnd``; medians.
2. **State change -> shown in the page**: the core's broadcaster (the real
   :class:`~soulsyncd.core.state.Broadcaster`, inside the fake core) publishes a MOOD event; a
   MutationObserver in the page notes when the mood element changes. Both clocks are this machine's
   wall clock. ``--changes`` changes; median and max.
3. **CPU with one page open**: the same server and fake core, one page open in chromium; this process's
   CPU time over ``--cpu-s`` seconds (the server pushes the state once a second), as % of one core,
   against the same with no page open.
4. **RSS added by the server**: the daemon on the demo clip with the page off, then on with one page
   open, ``--rounds`` times alternating; VmRSS after ``--warm-s`` seconds; medians and their difference.
5. **Analysis rate with 0 vs 10 pages**: the daemon with the page on, the clip read as fast as it
   decodes and ``analysis.fps`` at its maximum of 60 (so the loop is busy and any stolen CPU shows);
   frames analysed per second over ``--rate-s`` seconds with no page, then with 10 pages' worth of
   clients (each holds the live stream and fetches the timeline every 15 s, as the page does),
   alternating ``--rounds`` times; medians.
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
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def browser(width: int = 1280, height: int = 1500) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait_for(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(what)


class Daemon:
    def __init__(
        self, work: Path, *, web: bool, fps: float = 5.0, track_s: float = 8.0, pace: str = "realtime"
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clip = ROOT / "build" / "demo" / "sample.avi"
        if not clip.exists():
            subprocess.run(
                [sys.executable, str(ROOT / "tools" / "make_sample.py"), "render", "--out", str(clip)],
                check=True,
                timeout=300,
            )
        self.config = work / f"bench-{self.port}.yaml"
        self.config.write_text(
            f"camera:\n  kind: file\n  path: {clip}\n  loop: true\n  pace: {pace}\n"
            f"analysis:\n  fps: {fps}\n"
            f"player:\n  kind: dry-run\n  track_s: {track_s}\n"
            f"policy:\n  mode: shift\n  target: happy\n"
            f"engine:\n  import_csv: {ROOT / 'config' / 'sample_catalog.csv'}\n"
            f"state:\n  dir: {work / 'state'}\n"
            f"web:\n  enabled: {'true' if web else 'false'}\n  port: {self.port}\n"
        )
        self.log = (work / f"daemon-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "soulsyncd", "run", "--config", str(self.config)],
            cwd=ROOT,
            stdout=self.log,
            stderr=self.log,
        )
        self.web = web

    def wait_up(self) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError("the daemon exited")
            try:
                return requests.get(self.url + "/api/state", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_for(up, 60, "the page never came up")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def frames(self) -> int:
        frames: int = requests.get(self.url + "/api/state", timeout=5).json()["state"]["stats"]["frames"]
        return frames

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(15)
        self.log.close()


class PageClient(threading.Thread):
    """What an open page costs the server: the live stream, read as it comes, and the timeline every 15 s."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop_event = stop
        self.messages = 0

    def run(self) -> None:
        session = requests.Session()
        session.get(self.url + "/api/state", timeout=5)
        next_plot = 0.0
        with session.get(self.url + "/api/events", stream=True, timeout=30) as stream:
            for line in stream.iter_lines():
                if self.stop_event.is_set():
                    return
                if line.startswith(b"data:"):
                    self.messages += 1
                if time.monotonic() >= next_plot:
                    session.get(self.url + "/api/timeline.svg?range=hour", timeout=5)
                    next_plot = time.monotonic() + 15


def first_paint(work: Path, loads: int, screenshot: str | None, warm_s: float) -> dict[str, Any]:
    daemon = Daemon(work, web=True)
    try:
        daemon.wait_up()
        driver = browser()
        try:
            paints, loaded = [], []
            for _ in range(loads):
                driver.get(daemon.url + "/?fresh=" + str(time.monotonic()))
                entry = wait_for(
                    lambda: driver.execute_script(
                        "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                        "const n = performance.getEntriesByType('navigation')[0];"
                        "return p && n && n.loadEventEnd > 0 ? [p.startTime, n.loadEventEnd] : null;"
                    ),
                    10,
                    "no paint",
                )
                paints.append(entry[0])
                loaded.append(entry[1])
            if screenshot:
                time.sleep(warm_s)  # let the timeline fill: a few minutes of the demo
                driver.find_element("id", "range-15min").click()
                time.sleep(1.0)
                driver.save_screenshot(screenshot)
        finally:
            driver.quit()
    finally:
        daemon.stop()
    return {
        "first_paint_ms": round(statistics.median(paints), 1),
        "load_ms": round(statistics.median(loaded), 1),
        "loads": loads,
    }


def latency_and_cpu(work: Path, changes: int, cpu_s: float) -> dict[str, Any]:
    from soulsyncd.core.state import EventKind
    from soulsyncd.testing.fake_core import FakeCore
    from soulsyncd.types import Emotion, Mood
    from soulsyncd.web.server import WebServer
    from soulsyncd.web.settings import WebConfig

    core = FakeCore()
    server = WebServer(WebConfig(enabled=True), state_dir=work / "fake-state", password=None, port=0)
    server.start(core)
    url = f"http://127.0.0.1:{server.port}/"
    try:
        # CPU with no page first, then with one.
        idle_start, idle_cpu = time.monotonic(), time.process_time()
        time.sleep(cpu_s)
        idle = 100 * (time.process_time() - idle_cpu) / (time.monotonic() - idle_start)
        driver = browser()
        try:
            driver.get(url)
            wait_for(lambda: driver.find_element("id", "live").text == "live", 10, "not live")
            start, cpu = time.monotonic(), time.process_time()
            time.sleep(cpu_s)
            one_page = 100 * (time.process_time() - cpu) / (time.monotonic() - start)
            driver.execute_script(
                "window.__seen = {}; const el = document.getElementById('mood');"
                "new MutationObserver(() => { window.__seen[el.dataset.mood] = Date.now(); })"
                ".observe(el, {attributes: true, attributeFilter: ['data-mood']});"
            )
            delays = []
            emotions = [Emotion.HAPPY, Emotion.SAD, Emotion.ANGRY, Emotion.SURPRISE]
            for i in range(changes):
                emotion = emotions[i % len(emotions)]
                driver.execute_script("window.__seen = {};")
                changed = time.time() * 1000
                core.update(EventKind.MOOD, mood=Mood(emotion, 0.9, 0.5, 0.5, 0.0))
                seen = wait_for(
                    lambda e=emotion: driver.execute_script(  # type: ignore[misc]
                        f"return window.__seen['{e.label}'];"
                    ),
                    5,
                    "mood never shown",
                )
                delays.append(seen - changed)
        finally:
            driver.quit()
    finally:
        server.stop()
        core.close()
    return {
        "change_shown_ms_median": round(statistics.median(delays), 1),
        "change_shown_ms_max": round(max(delays), 1),
        "changes": changes,
        "cpu_percent_one_page": round(one_page, 2),
        "cpu_percent_no_page": round(idle, 2),
        "cpu_s": cpu_s,
    }


def rss(work: Path, rounds: int, warm_s: float) -> dict[str, Any]:
    off, on = [], []
    for _ in range(rounds):
        daemon = Daemon(work, web=False)
        time.sleep(warm_s)
        off.append(daemon.rss_mb())
        daemon.stop()
        daemon = Daemon(work, web=True)
        daemon.wait_up()
        driver = browser()
        try:
            driver.get(daemon.url + "/")
            time.sleep(warm_s)
            on.append(daemon.rss_mb())
        finally:
            driver.quit()
            daemon.stop()
    return {
        "rss_mb_web_off": round(statistics.median(off), 1),
        "rss_mb_web_on_one_page": round(statistics.median(on), 1),
        "rss_mb_added": round(statistics.median(on) - statistics.median(off), 1),
        "rounds": rounds,
    }


def rates(work: Path, rounds: int, rate_s: float) -> dict[str, Any]:
    daemon = Daemon(work, web=True, fps=60.0, pace="fast")
    zero, ten, pushed = [], [], []
    try:
        daemon.wait_up()
        time.sleep(5)  # past the model's first runs
        for _ in range(rounds):
            frames, start = daemon.frames(), time.monotonic()
            time.sleep(rate_s)
            zero.append((daemon.frames() - frames) / (time.monotonic() - start))
            stop = threading.Event()
            clients = [PageClient(daemon.url, stop) for _ in range(10)]
            for client in clients:
                client.start()
            time.sleep(2)
            frames, start = daemon.frames(), time.monotonic()
            time.sleep(rate_s)
            ten.append((daemon.frames() - frames) / (time.monotonic() - start))
            stop.set()
            pushed.append(sum(c.messages for c in clients))
            for client in clients:
                client.join(5)
    finally:
        daemon.stop()
    return {
        "analysis_fps_0_pages": round(statistics.median(zero), 2),
        "analysis_fps_10_pages": round(statistics.median(ten), 2),
        "rate_s": rate_s,
        "rounds": rounds,
        "ratio": round(statistics.median(ten) / statistics.median(zero), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--cpu-s", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-s", type=float, default=15.0)
    parser.add_argument("--rate-s", type=float, default=20.0)
    parser.add_argument("--screenshot", help="save the page's screenshot here (after --screenshot-warm-s)")
    parser.add_argument("--screenshot-warm-s", type=float, default=150.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--only",
        choices=("paint", "latency", "rss", "rate"),
        action="append",
        help="run only these parts (repeatable); default: all",
    )
    args = parser.parse_args()
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        print(
            "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
            file=sys.stderr,
        )
        return 69
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        for part, name, run in (
            (
                "paint",
                "first paint",
                lambda: first_paint(work, args.loads, args.screenshot, args.screenshot_warm_s),
            ),
            ("latency", "change latency and CPU", lambda: latency_and_cpu(work, args.changes, args.cpu_s)),
            ("rss", "RSS", lambda: rss(work, args.rounds, args.warm_s)),
            ("rate", "analysis rate", lambda: rates(work, args.rounds, args.rate_s)),
        ):
            if args.only and part not in args.only:
                continue
            figures = run()
            results.update(figures)
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
