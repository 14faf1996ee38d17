#!/usr/bin/env python3
"""Soak the real daemon under the faults of a real home and report what happened, as numbers.

    python tools/soak.py [--minutes 10] [--json] [--seed 1]

The daemon runs as its own process (``python -m soulsyncd.testing.harness run``: ``soulsyncd run``
plus the test hooks) on a 640x480 30 fps file camera replaying the bundled mean faces, with MQTT on
a real mosquitto (when installed) and the Spotify player on the fake Spotify (its Web API and
accounts, with the sample catalog's tracks and a speaker), whichever are available. This tool is its
service manager: it listens on ``$NOTIFY_SOCKET``, gives it ``WATCHDOG_USEC`` and, like systemd's
``Restart=on-failure`` with ``WatchdogSec=``, restarts it when it exits or stops pinging (counted).

After a fault-free baseline it injects, in turn until the time is up: the broker stopped and
restarted; Spotify 5xx and 429 bursts and an outage; the camera's file disappearing and coming
back; a burst of garbage MQTT commands; SIGHUP with a bad and then a good config. After each fault
ends it measures how long until every state is right again: the daemon alive and pinging, the
camera ``ok``, a mood published, the player ``ok``, and on MQTT (as a fresh subscriber sees it)
availability ``online`` with the mood retained.

Reported (``--json``: one JSON object on the last line): crashes and restarts, watchdog timeouts,
errors logged (by message), RSS at start, after warm-up, at the end and at peak, CPU %, analysed
frames/s over time (baseline vs. during the faults), and each fault's recovery time.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

BASE = "soulsync/soak"
SPEAKER = "Kitchen"
WATCHDOG_S = 10.0
RECOVERY_LIMIT_S = 10.0  # the target: every state right again within this after a fault ends
WARMUP_S = 20.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# Short, so the loop's reopen (where a vanished file is noticed) comes round soon.
VIDEO_TIMELINE: list[tuple[float, str | None]] = [(4.0, "happy"), (4.0, "surprise")]
VIDEO_S = sum(seconds for seconds, _ in VIDEO_TIMELINE)


# --- the daemon and its service manager -------------------------------------------------------------


class Supervisor:
    """Starts the daemon, reads its sd_notify messages, restarts it on exit or a missed watchdog."""

    def __init__(self, config: Path, log_path: Path, env: dict[str, str]) -> None:
        self.config = config
        self.log_path = log_path
        self.env = env
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock_name = f"soulsync-soak-{os.getpid()}"
        self.sock.bind("\0" + self.sock_name)
        self.sock.settimeout(0.2)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.crashes: list[str] = []
        self.watchdog_timeouts = 0
        self.last_ping = 0.0
        self.ready_at = 0.0
        self.status = ""
        self.reloads = 0
        self.readies = 0
        self.longest_ping_gap = 0.0
        self.cond = threading.Condition()
        self.stopping = False
        self._log = log_path.open("ab")
        self._threads = [threading.Thread(target=self._listen, daemon=True),
                         threading.Thread(target=self._watch, daemon=True)]

    def start(self) -> None:
        self._spawn()
        for thread in self._threads:
            thread.start()

    def _spawn(self) -> None:
        env = {**self.env, "NOTIFY_SOCKET": "@" + self.sock_name,
               "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6))}
        with self.cond:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "soulsyncd.testing.harness", "run", "--config", str(self.config)],
                cwd=ROOT, env=env, stdout=self._log, stderr=self._log)
            self.starts += 1
            self.last_ping = time.monotonic()
            self.ready_at = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _listen(self) -> None:
        while not self.stopping:
            try:
                data = self.sock.recv(65536).decode(errors="replace")
            except TimeoutError:
                continue
            fields = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
            with self.cond:
                now = time.monotonic()
                if fields.get("WATCHDOG") == "1":
                    if self.ready_at:
                        self.longest_ping_gap = max(self.longest_ping_gap, now - self.last_ping)
                    self.last_ping = now
                if fields.get("READY") == "1":
                    self.ready_at, self.last_ping = now, now
                    self.readies += 1
                if fields.get("RELOADING") == "1":
                    self.reloads += 1
                if "STATUS" in fields:
                    self.status = fields["STATUS"]
                self.cond.notify_all()

    def _watch(self) -> None:
        """systemd's part: a process that exits is restarted; one that stops pinging is aborted first."""
        while not self.stopping:
            with self.cond:
                self.cond.wait(0.5)
                process = self.process
                if process is None or self.stopping:
                    continue
                code = process.poll()
                silent = time.monotonic() - self.last_ping
            if code is not None:
                self.crashes.append(f"exit status {code} at {time.strftime('%H:%M:%S')}")
                self._spawn()
            elif self.ready_at and silent > WATCHDOG_S:
                self.watchdog_timeouts += 1
                process.send_signal(signal.SIGABRT)
                process.wait(10)

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def alive(self) -> bool:
        return (self.process is not None and self.process.poll() is None and bool(self.ready_at)
                and time.monotonic() - self.last_ping < WATCHDOG_S)

    def stop(self) -> int | None:
        with self.cond:
            self.stopping = True
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = None
        for thread in self._threads:
            thread.join(2)
        self.sock.close()
        self._log.close()
        return code


def process_sample(pid: int) -> tuple[float, float] | None:
    """(RSS in MB, CPU seconds) of ``pid`` from /proc; None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return rss_kb / 1024, (int(stat[11]) + int(stat[12])) / TICKS_PER_S


@dataclass
class Sample:
    at: float
    pid: int
    rss_mb: float
    cpu_s: float
    fps: float | None


def status_fps(status: str) -> float | None:
    match = re.search(r"([\d.]+) frames/s", status)
    return float(match.group(1)) if match else None


def status_part(status: str, name: str) -> str | None:
    """``camera ok`` / ``player ok`` from the daemon's STATUS= line."""
    match = re.search(rf"\b{name} ([a-z ]+?)(?:,|$)", status)
    return match.group(1) if match else None


# --- the world around it ----------------------------------------------------------------------------


@dataclass
class World:
    folder: Path
    video: Path
    config: Path
    good_config: str
    supervisor: Supervisor | None = None
    broker: Any = None
    fake: Any = None
    rng: random.Random = field(default_factory=random.Random)

    def watcher(self) -> Any:
        from soulsyncd.testing.mosquitto import Watcher

        return Watcher(self.broker, (f"{BASE}/#",), client_id=f"soak-{self.rng.getrandbits(32):08x}")


def unit_environment() -> dict[str, str]:
    """The ``Environment=`` settings of systemd/soulsyncd.service (simple ``KEY=value`` words)."""
    env = {}
    unit = (ROOT / "systemd" / "soulsyncd.service").read_text()
    for words in re.findall(r"^Environment=(.*)$", unit, re.MULTILINE):
        for word in words.split():
            key, _, value = word.partition("=")
            env[key] = value
    return env


def catalog_tracks(fake: Any) -> int:
    """The sample catalog's tracks, known to the fake, so what the engine picks can play."""
    count = 0
    with (ROOT / "config" / "sample_catalog.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            fake.add_track(f"spotify:track:{row['track_id']}", row["track_name"], [row["artists"]],
                           int(row["duration_ms"]) / 1000)
            count += 1
    return count


def build_world(folder: Path, seed: int) -> World:
    from make_sample import render_video

    video = render_video(folder / "camera.avi", fps=30.0, size=(640, 480), timeline=VIDEO_TIMELINE)
    state = folder / "state"
    state.mkdir()
    lines = ["camera:", "  kind: file", f"  path: {video}", "  loop: true", "  pace: realtime",
             "  retry_initial_s: 0.5", "  retry_max_s: 2", f"state:\n  dir: {state}"]
    world = World(folder, video, folder / "soulsync.yaml", "", rng=random.Random(seed))
    from soulsyncd.testing.mosquitto import Broker, mosquitto_path

    if mosquitto_path() is not None:
        world.broker = Broker(folder)
        world.broker.start()
        lines += ["mqtt:", "  enabled: true", f"  host: {world.broker.host}", f"  port: {world.broker.port}",
                  "  device_id: soak", f"  base_topic: {BASE}", "  diagnostics_interval_s: 5"]
    try:
        from soulsyncd.spotify.auth import TokenCache, token_path
        from soulsyncd.testing.fake_spotify import FakeSpotify
    except ImportError:
        pass
    else:
        world.fake = FakeSpotify()
        world.fake.start()
        world.fake.add_device(SPEAKER)
        catalog_tracks(world.fake)
        TokenCache(token_path(state)).save_token_to_cache(world.fake.issue_tokens())
        # Back-off capped at 5 s (default 300 s) so a recovery shows within the 10 s target.
        lines += ["player:", "  kind: spotify", f"  client_id: {world.fake.client_id}",
                  f"  device: {SPEAKER}", "  retry_initial_s: 1", "  retry_max_s: 5",
                  "engine:", f"  import_csv: {ROOT / 'config' / 'sample_catalog.csv'}"]
    world.good_config = "\n".join(lines) + "\n"
    world.config.write_text(world.good_config)
    return world


# --- state checks -----------------------------------------------------------------------------------


def state_checks(world: World, watcher: Any) -> dict[str, bool]:
    """Every state that must be right, now."""
    supervisor = world.supervisor
    assert supervisor is not None
    status = supervisor.status
    checks = {
        "daemon alive and pinging": supervisor.alive(),
        "camera ok": status_part(status, "camera") == "ok",
        "mood published": bool(re.match(r"(mood [a-z]+ \(|nobody there)", status)),
    }
    if world.fake is not None:
        checks["player ok"] = status_part(status, "player") == "ok"
    if watcher is not None:
        retained = dict(watcher.retained)
        checks["mqtt online"] = retained.get(f"{BASE}/availability") == b"online"
        try:
            mood = json.loads(retained.get(f"{BASE}/mood", b"{}"))
        except ValueError:
            mood = {}
        checks["mqtt mood retained"] = mood.get("emotion") is not None
    return checks


def wait_recovered(world: World, limit_s: float) -> tuple[float | None, dict[str, bool]]:
    """Seconds until every check passes (None if not within ``limit_s``), and the last checks."""
    started = time.monotonic()
    watcher = world.watcher() if world.broker is not None else None
    try:
        while True:
            checks = state_checks(world, watcher)
            elapsed = time.monotonic() - started
            if all(checks.values()):
                return round(elapsed, 1), checks
            if elapsed > limit_s:
                return None, checks
            threading.Event().wait(0.25)
    finally:
        if watcher is not None:
            watcher.close()


# --- faults -----------------------------------------------------------------------------------------


def hold(seconds: float) -> None:
    threading.Event().wait(seconds)


def seen_by_daemon(world: World, part: str, timeout: float) -> bool:
    """Wait until the daemon's STATUS= shows ``part`` (camera/player) as something other than ``ok``."""
    supervisor = world.supervisor
    assert supervisor is not None
    return supervisor.wait(lambda: status_part(supervisor.status, part) not in ("ok", None), timeout)


def fault_broker(world: World, hold_s: float) -> bool:
    world.broker.stop()
    hold(hold_s)
    world.broker.start()
    return True  # the daemon's connection drops at once


def _burst(world: World, status: int, n: int, hold_s: float, **kwargs: Any) -> bool:
    fake = world.fake
    before = sum(r.status == status for r in fake.requests)
    fake.fail_next(n, status, **kwargs)
    deadline = time.monotonic() + max(hold_s, 30.0)
    while time.monotonic() < deadline:
        if sum(r.status == status for r in fake.requests) - before >= n:
            return True  # the burst ends when the player has met every faulty answer
        hold(0.25)
    return False


def fault_spotify_5xx(world: World, hold_s: float) -> bool:
    return _burst(world, 503, 6 if hold_s >= 5 else 3, hold_s)  # the player asks every 2 s


def fault_spotify_429(world: World, hold_s: float) -> bool:
    return _burst(world, 429, 3 if hold_s >= 5 else 2, hold_s, retry_after=2)


def fault_spotify_outage(world: World, hold_s: float) -> bool:
    world.fake.go_down()
    started = time.monotonic()
    seen = seen_by_daemon(world, "player", 15)  # the player finds out at its next request
    hold(max(0.0, hold_s - (time.monotonic() - started)))
    world.fake.come_up()
    return seen


def fault_camera_file(world: World, hold_s: float) -> bool:
    gone = world.video.with_suffix(".gone")
    world.video.rename(gone)
    # The open file plays on to its end; the loop's reopen finds it gone.
    started = time.monotonic()
    seen = seen_by_daemon(world, "camera", VIDEO_S + 10)
    hold(max(0.0, hold_s - (time.monotonic() - started)))
    gone.rename(world.video)
    return seen


def fault_garbage_mqtt(world: World, hold_s: float) -> bool:
    from mqtt_fuzz import random_payload

    from soulsyncd.mqtt import commands
    from soulsyncd.testing.mosquitto import Watcher

    sender = Watcher(world.broker, ("soak/none",), client_id="soak-garbage")
    rng = world.rng
    sent, last = 0, None
    try:
        deadline = time.monotonic() + hold_s
        while time.monotonic() < deadline:
            topic = f"{BASE}/{rng.choice([*commands.COMMANDS, 'bogus', ''])}/set" + rng.choice(["", "", "/x"])
            payload = random_payload(rng)
            try:
                commands.parse(topic, payload, BASE)
                continue  # a valid command is not garbage (it could switch the camera or the speaker)
            except commands.Rejected:
                pass
            last = sender.client.publish(topic, payload, qos=1)
            sent += 1
            if sent % 50 == 0:
                hold(0.1)  # about 500 a second
        if last is not None:
            last.wait_for_publish(30)
    finally:
        sender.close()
    return sent > 0


def fault_sighup(world: World, hold_s: float) -> bool:
    supervisor = world.supervisor
    assert supervisor is not None
    pid, readies = supervisor.pid, supervisor.readies
    world.config.write_text(world.good_config + "analysis:\n  fsp: 5\n")
    os.kill(pid, signal.SIGHUP)
    rejected = supervisor.wait(lambda: supervisor.readies > readies, 30) and supervisor.pid == pid
    hold(hold_s / 2)
    world.config.write_text(world.good_config)
    os.kill(pid, signal.SIGHUP)
    taken = supervisor.wait(lambda: supervisor.readies > readies + 1, 30) and supervisor.pid == pid
    return rejected and taken  # both answered with READY by the same process


FAULTS: list[tuple[str, Callable[[World, float], bool], str | None]] = [
    ("broker stopped and restarted", fault_broker, "broker"),
    ("spotify 5xx burst", fault_spotify_5xx, "fake"),
    ("camera file gone and back", fault_camera_file, None),
    ("spotify 429 burst", fault_spotify_429, "fake"),
    ("garbage mqtt commands", fault_garbage_mqtt, "broker"),
    ("spotify outage", fault_spotify_outage, "fake"),
    ("sighup bad then good config", fault_sighup, None),
]


# --- the run ----------------------------------------------------------------------------------------


def sampler(world: World, samples: list[Sample], stop: threading.Event) -> None:
    supervisor = world.supervisor
    assert supervisor is not None
    while not stop.wait(1.0):
        measured = process_sample(supervisor.pid)
        if measured is not None:
            samples.append(Sample(time.monotonic(), supervisor.pid, measured[0], measured[1],
                                  status_fps(supervisor.status)))


def cpu_percent(samples: list[Sample]) -> float | None:
    """CPU % of one core between the first and last sample of the same process."""
    if len(samples) < 2:
        return None
    first, last = samples[0], samples[-1]
    same = [s for s in samples if s.pid == last.pid]
    first = same[0]
    return round(100 * (last.cpu_s - first.cpu_s) / (last.at - first.at), 1) if last.at > first.at else None


def error_lines(log_path: Path) -> Counter[str]:
    """ERROR/CRITICAL lines of the daemon's log, by message with digits masked."""
    counts: Counter[str] = Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        match = re.match(r"\d\d:\d\d:\d\d (ERROR|CRITICAL) +(.*)", line)
        if match:
            counts[re.sub(r"\d+(\.\d+)?", "N", match.group(2))[:140]] += 1
        elif line.startswith("Traceback"):
            counts["Traceback (uncaught)"] += 1
    return counts


def run(minutes: float, seed: int, progress: Callable[[str], None],  # noqa: PLR0915
        only: str | None = None) -> dict[str, Any]:
    total_s = minutes * 60
    # Short soaks compress the schedule; a long one holds each fault for 15 s.
    hold_s = min(15.0, max(2.0, total_s / 45))
    baseline_s = min(120.0, max(10.0, total_s * 0.15))
    with tempfile.TemporaryDirectory(prefix="soulsync-soak-") as name:
        folder = Path(name)
        world = build_world(folder, seed)
        env = {k: v for k, v in os.environ.items() if k not in ("INVOCATION_ID", "JOURNAL_STREAM")}
        env.update(unit_environment())  # as systemd would start it
        if world.fake is not None:
            env["SOULSYNC_TEST_SPOTIFY_URL"] = world.fake.url
        supervisor = Supervisor(world.config, folder / "daemon.log", env)
        world.supervisor = supervisor
        samples: list[Sample] = []
        stop_sampling = threading.Event()
        faults: list[dict[str, Any]] = []
        started = time.monotonic()
        diagnostics = None
        cycle_end: float | None = None  # when every fault had happened once
        try:
            if world.broker is not None:  # analysed frames, as the daemon counts them, every 5 s
                from soulsyncd.testing.mosquitto import Watcher

                diagnostics = Watcher(world.broker, (f"{BASE}/diagnostics",), client_id="soak-diagnostics")
            supervisor.start()
            if not supervisor.wait(lambda: bool(supervisor.ready_at), 60):
                raise SystemExit("the daemon never reported READY:\n" + (folder / "daemon.log").read_text())
            threading.Thread(target=sampler, args=(world, samples, stop_sampling), daemon=True).start()
            first_ok, _ = wait_recovered(world, 60)
            progress(f"daemon ready; all states right after {first_ok} s; baseline {baseline_s:.0f} s")
            hold(baseline_s)
            baseline_end = time.monotonic()
            available = [f for f in FAULTS if (f[2] is None or getattr(world, f[2]) is not None)
                         and (only is None or only in f[0])]
            index = 0
            # Every fault at least once, however short the soak; then on while there is time.
            while index < len(available) or time.monotonic() - started + hold_s + RECOVERY_LIMIT_S < total_s:
                name_, inject, _ = available[index % len(available)]
                index += 1
                fault_start = time.monotonic()
                rss_before = process_sample(supervisor.pid)
                seen = inject(world, hold_s)
                fault_end = time.monotonic()
                recovered_s, checks = wait_recovered(world, RECOVERY_LIMIT_S + 20)
                faults.append({"fault": name_, "at_s": round(fault_start - started, 1),
                               "lasted_s": round(fault_end - fault_start, 1), "seen_by_daemon": seen,
                               "recovered_s": recovered_s,
                               "rss_mb_before_after": [round(m[0], 1) if m else None for m in (
                                   rss_before, process_sample(supervisor.pid))],
                               "failed_checks": [k for k, ok in checks.items() if not ok]})
                progress(f"{name_}: lasted {fault_end - fault_start:.1f} s, state right again after "
                         f"{recovered_s} s")
                if index == len(available):
                    cycle_end = time.monotonic()
                hold(min(5.0, hold_s))
            remaining = total_s - (time.monotonic() - started)
            if remaining > 0:
                hold(remaining)
        finally:
            stop_sampling.set()
            exit_code = supervisor.stop() if supervisor.process is not None else None
            if diagnostics is not None:
                diagnostics.close()
            if world.broker is not None:
                world.broker.stop()
            if world.fake is not None:
                world.fake.stop()
        errors = error_lines(folder / "daemon.log")
    elapsed = time.monotonic() - started
    rates = analysed_rates(diagnostics) if diagnostics is not None else [
        (s.at, s.fps) for s in samples if s.fps is not None]
    observed = Observed(minutes, elapsed, samples, rates, baseline_end, cycle_end, faults, errors, exit_code)
    return report(world, supervisor, observed)


def analysed_rates(watcher: Any) -> list[tuple[float, float]]:
    """(time, analysed frames/s over the interval ending then) from consecutive diagnostics messages."""
    points = []
    for message in watcher.since(0):
        try:
            points.append((message.at, int(json.loads(message.payload)["frames_analysed"])))
        except (ValueError, KeyError, TypeError):
            continue
    rates = []
    for (t0, f0), (t1, f1) in itertools.pairwise(points):
        if t1 - t0 >= 1.0 and f1 >= f0:  # a restart or reload starts counting again: skip that one
            rates.append((t1, (f1 - f0) / (t1 - t0)))
    return rates


@dataclass
class Observed:
    minutes: float
    elapsed: float
    samples: list[Sample]
    rates: list[tuple[float, float]]  # (time, analysed frames/s)
    baseline_end: float
    cycle_end: float | None
    faults: list[dict[str, Any]]
    errors: Counter[str]
    exit_code: int | None


def report(world: World, supervisor: Supervisor, observed: Observed) -> dict[str, Any]:
    samples, rates, baseline_end = observed.samples, observed.rates, observed.baseline_end
    faults, errors, exit_code = observed.faults, observed.errors, observed.exit_code
    warmup_s = min(WARMUP_S, (baseline_end - samples[0].at) / 2) if samples else WARMUP_S
    warm = [s for s in samples if s.at - samples[0].at >= warmup_s] if samples else []
    warm_from = warm[0].at if warm else float("inf")
    base = [fps for at, fps in rates if warm_from <= at <= baseline_end]
    during = [fps for at, fps in rates if at > baseline_end]
    rss = [s.rss_mb for s in samples]
    base_fps = statistics.median(base) if base else None
    fault_fps = statistics.median(during) if during else None
    recoveries = [f["recovered_s"] for f in faults]
    growth = round(rss[-1] - warm[0].rss_mb, 1) if warm else None
    # The first reload and the first reopened video keep a few MB for good (decoder, model arenas);
    # whether memory *grows* shows after every fault has happened once.
    after_cycle = [s for s in samples if observed.cycle_end is not None and s.at >= observed.cycle_end]
    steady = round(rss[-1] - after_cycle[0].rss_mb, 1) if after_cycle and len(after_cycle) > 30 else None
    basis = steady if steady is not None else growth
    t0 = samples[0].at if samples else 0.0
    result: dict[str, Any] = {
        "minutes": observed.minutes,
        "elapsed_s": round(observed.elapsed, 1),
        "components": {"mqtt": world.broker is not None, "spotify": world.fake is not None},
        "daemon_starts": supervisor.starts,
        "crashes": len(supervisor.crashes),
        "crash_details": supervisor.crashes,
        "watchdog_timeouts": supervisor.watchdog_timeouts,
        "longest_watchdog_gap_s": round(supervisor.longest_ping_gap, 1),
        "exit_status_on_sigterm": exit_code,
        "reloads": supervisor.reloads,
        "errors_logged": sum(errors.values()),
        "errors_by_message": dict(errors.most_common(12)),
        "rss_mb": {"start": round(rss[0], 1) if rss else None,
                   "after_warmup": round(warm[0].rss_mb, 1) if warm else None,
                   "end": round(rss[-1], 1) if rss else None, "peak": round(max(rss), 1) if rss else None,
                   "growth_after_warmup": growth,
                   "after_first_fault_cycle": round(after_cycle[0].rss_mb, 1) if after_cycle else None,
                   "growth_after_first_fault_cycle": steady},
        "cpu_percent": cpu_percent(samples),
        "fps": {"source": "mqtt diagnostics (frames analysed)" if world.broker is not None
                else "STATUS= (ticks)",
                "baseline_median": round(base_fps, 2) if base_fps is not None else None,
                "during_faults_median": round(fault_fps, 2) if fault_fps is not None else None,
                "ratio": round(fault_fps / base_fps, 3) if base_fps and fault_fps is not None else None,
                "series": thin([[round(at - t0), round(fps, 2)] for at, fps in rates], 60)},
        "faults": faults,
    }
    result["targets"] = {
        "no_crashes": result["crashes"] == 0 and supervisor.watchdog_timeouts == 0 and exit_code == 0,
        "rss_growth_le_5mb": basis is not None and basis <= 5.0,
        "fps_within_10pct": result["fps"]["ratio"] is not None and result["fps"]["ratio"] >= 0.9,
        "every_state_right_within_10s": bool(faults) and all(
            r is not None and r <= RECOVERY_LIMIT_S for r in recoveries),
    }
    return result


def thin(points: list[Any], at_most: int) -> list[Any]:
    step = max(1, -(-len(points) // at_most))
    return points[::step]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", metavar="WORDS", help="repeat only the faults whose name contains this")
    parser.add_argument("--json", action="store_true", help="end with one JSON object on its own line")
    args = parser.parse_args(argv)

    def progress(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    result = run(args.minutes, args.seed, progress, args.only)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
