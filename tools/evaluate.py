#!/usr/bin/env python3
"""Evaluate the shipped int8 model on any FER2013-format CSV, through the daemon's own runtime path.

    python tools/evaluate.py --csv ../shared/data/fer2013_train_public.csv.gz --usage PublicTest
    python tools/evaluate.py --csv faces.csv --json      # last line: one JSON object

Uses LiteRT and soulsyncd.vision.classifier exactly as the daemon does; TensorFlow is not needed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.types import EMOTION_LABELS  # noqa: E402
from soulsyncd.vision.classifier import (  # noqa: E402
    DEFAULT_MODEL_PATH,
    ClassifierOptions,
    EmotionClassifier,
    ModelError,
    to_model_input,
)
from soulsyncd.vision.fer2013 import read_fer_csv  # noqa: E402
from soulsyncd.vision.metrics import classification_report  # noqa: E402


def evaluate(csv_path: Path, usages: list[str] | None, model_path: Path, *, threads: int = 1,
             flip_average: bool = True,
             batch: int = 256) -> dict:
    """Figures for the rows of ``csv_path`` whose Usage is in ``usages`` (all rows when None)."""
    split = read_fer_csv(csv_path, usages)
    if len(split.labels) == 0:
        raise ValueError(f"{csv_path}: no rows with Usage in {usages}")
    options = ClassifierOptions(model_path=model_path, num_threads=threads, flip_average=flip_average)
    classifier = EmotionClassifier(options)
    started = time.perf_counter()
    model_input = to_model_input(split.images)
    probabilities = np.concatenate(
        [classifier.predict(model_input[i : i + batch]) for i in range(0, len(model_input), batch)]
    )
    report = classification_report(probabilities.argmax(axis=1), split.labels)
    report["seconds"] = round(time.perf_counter() - started, 2)
    report["model"] = str(model_path)
    report["csv"] = str(csv_path)
    report["usage"] = usages or "all"
    report["flip_average"] = flip_average
    return report


def format_report(report: dict) -> str:
    lines = [
        f"{report['csv']} ({report['usage']}): {report['n']} faces, model {report['model']}",
        f"accuracy {report['accuracy']:.4f}   weighted precision {report['weighted_precision']:.4f}  "
        f"recall {report['weighted_recall']:.4f}  F1 {report['weighted_f1']:.4f}",
        "",
        f"{'class':<9} {'recall':>7} {'precision':>9}",
    ]
    for label in EMOTION_LABELS:
        recall, precision = report["per_class_recall"][label], report["per_class_precision"][label]
        lines.append(f"{label:<9} {recall:>7.3f} {precision:>9.3f}")
    header = "          " + " ".join(f"{lab[:5]:>6}" for lab in EMOTION_LABELS)
    lines += ["", "confusion (rows true, columns predicted):", header]
    for label, row in zip(EMOTION_LABELS, report["confusion"], strict=True):
        lines.append(f"{label:<9} " + " ".join(f"{v:>6}" for v in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--csv", type=Path, required=True, help="FER2013-format CSV, plain or .gz")
    parser.add_argument(
        "--usage", action="append", help="Usage value(s) to keep (repeatable; default: all rows)"
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-flip", action="store_true",
                        help="classify each face once (the daemon by default also averages its mirror image)")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object on the last line"
    )
    args = parser.parse_args(argv)
    try:
        report = evaluate(
            args.csv, args.usage, args.model, threads=args.threads, flip_average=not args.no_flip
        )
    except (FileNotFoundError, ValueError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
