#!/usr/bin/env python3
"""Where the daemon's resident memory goes: RSS (and its anonymous part) after each step of what
``soulsyncd run`` loads, in one fresh interpreter, in the order the daemon loads it.

    python tools/import_rss.py [--config config/demo.yaml] [--json]
    python tools/import_rss.py --floor [--json]


Steps: the interpreter; msgspec and the config's sections (``soulsyncd.settings``, ``soulsyncd.config``)
and validating the file; numpy; OpenCV; the app's modules; the built pipeline (the model, the Haar
cascade, the camera, the catalog: ``app.build``). The file-backed part of RSS (shared libraries'
pages) varies with the page cache: compare the anonymous part across machines and runs.

``--floor``: the libraries alone, none of soulsyncd's code: numpy, OpenCV, LiteRT with the bundled
model run once, and the Haar cascade after one full scan of a blank frame at the default detection
width. What any daemon built on these packages holds before it reads a config or a frame.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def memory_mb() -> tuple[float, float]:
    """(RSS, anonymous RSS) of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["RssAnon"], 1)


def floor_steps() -> list[tuple[str, float, float]]:
    """RSS after loading and running once each library the daemon's analysis runs on."""
    steps: list[tuple[str, float, float]] = [("interpreter", *memory_mb())]
    import numpy as np

    steps.append(("numpy", *memory_mb()))
    import cv2

    steps.append(("OpenCV", *memory_mb()))
    from ai_edge_litert.interpreter import Interpreter

    model = ROOT / "models" / "emotion_int8.tflite"
    interpreter = Interpreter(model_path=str(model), num_threads=1)
    interpreter.allocate_tensors()
    given = interpreter.get_input_details()[0]
    interpreter.set_tensor(given["index"], np.zeros(given["shape"], given["dtype"]))
    interpreter.invoke()
    steps.append(("LiteRT, the model loaded and run once", *memory_mb()))
    cascades = Path(cv2.data.haarcascades)  # type: ignore[attr-defined,unused-ignore]
    cascade = cv2.CascadeClassifier(str(cascades / "haarcascade_frontalface_default.xml"))
    width = 320  # detection.detect_width's default
    cascade.detectMultiScale(np.zeros((width * 3 // 4, width), np.uint8), 1.1, 5, minSize=(24, 24))
    steps.append(("Haar cascade, one full scan of a blank frame", *memory_mb()))
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "demo.yaml")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--floor", action="store_true", help="the libraries alone (see above)")
    args = parser.parse_args(argv)
    steps = floor_steps() if args.floor else daemon_steps(args.config)
    previous = 0.0
    for name, rss, anon in steps:
        print(f"{name:50s} RSS {rss:6.1f} MB (+{rss - previous:5.1f}), anonymous {anon:6.1f} MB")
        previous = rss
    if args.json:
        print(json.dumps({name: {"rss_mb": rss, "anon_mb": anon} for name, rss, anon in steps}))
    return 0


def daemon_steps(config_path: Path) -> list[tuple[str, float, float]]:
    """RSS after each step of what ``soulsyncd run`` loads, in its order."""
    steps: list[tuple[str, float, float]] = [("interpreter", *memory_mb())]
    for module in ("msgspec", "soulsyncd.settings", "soulsyncd.config"):
        importlib.import_module(module)
        steps.append((module, *memory_mb()))
    from soulsyncd.config import load_config

    config = load_config(config_path)
    steps.append(("config validated", *memory_mb()))
    for module in ("numpy", "cv2", "soulsyncd.app"):
        importlib.import_module(module)
        steps.append((module, *memory_mb()))
    from soulsyncd import app

    core = app.build(config)
    steps.append(("pipeline built (model, cascade, camera, catalog)", *memory_mb()))
    core.close()
    return steps


if __name__ == "__main__":
    sys.exit(main())
