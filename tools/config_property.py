#!/usr/bin/env python3
"""Every config check-config accepts runs: draw configs from the schema's own bounds, run each.

Draws configs with hypothesis from the config sections' ``Literal`` choices, ``examples``
and ``ge``/``gt``/``le``/``lt`` bounds (soulsyncd.testing.config_fuzz.config_dicts; a file camera on
three rendered frames and the dry-run player, so no hardware is needed), writes each as YAML, loads
it as ``check-config`` does, and for every accepted one builds the daemon and runs it a few ticks
(soulsyncd.testing.config_fuzz.exercise). Reports how many were accepted, rejected (a cross-field
rule such as ``dwell_s < window_s``) and failed, drawing until ``--examples`` configs were accepted
and run; exits 1 on any failure, printing the config.

    python tools/config_property.py --examples 500
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from make_sample import render_frame  # noqa: E402

from soulsyncd.config import ConfigError, load_config  # noqa: E402
from soulsyncd.testing.config_fuzz import config_dicts, exercise  # noqa: E402


def render_media(folder: Path) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    images = []
    for index, label in enumerate(["happy", "sad", "happy"]):
        face = cv2.imread(str(ROOT / "tools" / "sample" / f"mean_{label}.png"), cv2.IMREAD_GRAYSCALE)
        image = render_frame(face, t=float(index), size=(320, 240), rng=rng)
        cv2.imwrite(str(folder / f"{index:02d}.png"), image)
        images.append(image)
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=500, help="accepted configs to run (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the daemon's own logs would drown the report

    work = Path(tempfile.mkdtemp(prefix="config-property-"))
    frames = work / "frames"
    frames.mkdir()
    images = render_media(frames)
    strategy = config_dicts(
        kinds={"camera": ["file"], "player": ["dry-run"]},
        fixed={"camera.path": str(frames), "state.dir": str(work / "state")},
    )
    counts = {"drawn": 0, "accepted": 0, "rejected": 0, "failed": 0}
    seconds: list[float] = []
    failures: list[dict[str, Any]] = []
    drawn_keys: set[str] = set()
    rejected_by: dict[str, int] = {}
    slowest: list[Any] = [0.0, None]  # seconds, drawn config
    config_path = work / "soulsync.yaml"

    @settings(max_examples=args.examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(data: dict[str, Any]) -> None:
        counts["drawn"] += 1
        drawn_keys.update(f"{section}.{key}" for section, values in data.items() for key in values)
        config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            counts["rejected"] += 1
            for error in exc.errors:  # "file:line: key: message, got x" -> "key: message"
                reason = error.split(": ", 1)[-1].split(", got")[0].split(" (")[0]
                rejected_by[reason] = rejected_by.get(reason, 0) + 1
            return
        counts["accepted"] += 1
        started = time.perf_counter()
        try:
            exercise(config, images)
        except Exception as exc:
            counts["failed"] += 1
            failures.append({"config": data, "error": "".join(traceback.format_exception_only(exc)).strip(),
                             "traceback": traceback.format_exc()})
        seconds.append(time.perf_counter() - started)
        if seconds[-1] > slowest[0]:
            slowest[:] = [seconds[-1], data]

    import hypothesis

    rounds = 0
    while counts["accepted"] < args.examples:  # each round draws afresh; stop once enough ran
        hypothesis.seed(args.seed + rounds)(check)()
        rounds += 1
    summary = {
        **counts,
        "keys_varied": len(drawn_keys),
        "median_run_s": round(statistics.median(seconds), 3) if seconds else None,
        "max_run_s": round(max(seconds), 3) if seconds else None,
        "slowest_config": slowest[1],
        "rejected_by": dict(sorted(rejected_by.items(), key=lambda item: -item[1])),
    }
    report(summary, failures, as_json=args.json)
    return 1 if failures else 0


def report(summary: dict[str, Any], failures: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**summary, "failures": [f["error"] for f in failures]}, indent=2))
        return
    print(f"drawn {summary['drawn']} configs from the schema's bounds: {summary['accepted']} accepted by "
          f"check-config, {summary['rejected']} rejected (cross-field rules), "
          f"{summary['failed']} failed to run")
    print(f"{summary['keys_varied']} keys varied; build + run per accepted config: median "
          f"{summary['median_run_s']} s, max {summary['max_run_s']} s")
    print(f"slowest: {json.dumps(summary['slowest_config'])}")
    for reason, count in summary["rejected_by"].items():
        print(f"  rejected {count:4d}x: {reason}")
    for failure in failures[:5]:
        print("\nFAILED:", json.dumps(failure["config"]), "\n", failure["traceback"])

if __name__ == "__main__":
    sys.exit(main())
