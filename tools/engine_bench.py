"""Time the mood engine's choice of a track on a large catalog (median over many picks).

    python tools/engine_bench.py                 # 100,000 generated tracks, 1,000 picks
    python tools/engine_bench.py --tracks 1200 --picks 300

Builds the engine exactly as the daemon does (soulsyncd.mood.factory.build_engine) over a catalog
of generated tracks in a throw-away SQLite store, then picks tracks in match mode for each emotion
and in shift mode (sad -> happy) with a listener who follows, every play recorded (so the learned
feedback grows as it would). Only ``pick`` is timed; ``engine_rss_mb`` is
how much the resident set grew while the engine read the catalog. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soulsyncd.catalog.store import CatalogStore
from soulsyncd.config import Config
from soulsyncd.mood.factory import build_engine
from soulsyncd.testing import ManualClock
from soulsyncd.testing.listener import SimulatedListener
from soulsyncd.testing.sample_catalog import generate
from soulsyncd.types import PlayIntent


def rss_mb() -> float:
    """This process's resident set now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


EMOTIONS = ("happy", "sad", "angry", "neutral", "surprise", "fear", "disgust")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000, help="catalog size (default 100,000)")
    parser.add_argument("--picks", type=int, default=1000, help="picks to time (default 1,000)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    store = CatalogStore(":memory:")
    store.upsert_tracks((sample.track for sample in generate(args.seed, args.tracks)), source="bench")
    load_s = time.perf_counter() - started
    clock = ManualClock(1_767_225_600.0)
    listener = SimulatedListener((0.15, 0.25), seed=args.seed)
    started = time.perf_counter()
    rss_before = rss_mb()
    engine = build_engine(Config(), store=store, mood_now=listener.mood, clock=clock)
    index_s = time.perf_counter() - started
    engine_mb = rss_mb() - rss_before  # what the engine holds for the catalog (the store aside)

    timings: dict[str, list[float]] = {"match": [], "shift": []}
    for k in range(args.picks):
        if k % 2 == 0:
            mode = "match"
            intent = PlayIntent(action="play", mode="match", emotion=EMOTIONS[(k // 2) % len(EMOTIONS)])
        else:
            mode = "shift"
            intent = PlayIntent(action="play", mode="shift", emotion="sad", target="happy")
            if (k // 2) % 8 == 0:
                listener.move_to((0.15, 0.25))  # a new shift every 8 of them
                clock.advance(3600.0)
        t0 = time.perf_counter()
        track = engine.pick(intent)
        timings[mode].append((time.perf_counter() - t0) * 1000.0)
        if track is None:
            print(f"no track chosen for {intent}", file=sys.stderr)
            return 1
        listener.hear(track, skipped=False)
        clock.advance(track.duration_s)
        engine.finished(track, track.duration_s, False)
    every = timings["match"] + timings["shift"]
    print(json.dumps({
        "tracks": engine.catalog_size,
        "picks": len(every),
        "pick_ms_median": round(statistics.median(every), 3),
        "pick_ms_p95": round(sorted(every)[int(0.95 * (len(every) - 1))], 3),
        "match_ms_median": round(statistics.median(timings["match"]), 3),
        "shift_ms_median": round(statistics.median(timings["shift"]), 3),
        "catalog_load_s": round(load_s, 2),
        "index_build_s": round(index_s, 2),
        "engine_rss_mb": round(engine_mb, 1),
        "engine_bytes_per_track": round(engine_mb * 2**20 / max(engine.catalog_size, 1)),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
