#!/usr/bin/env python3
"""Make the demo's sample input from statistics of the training data, never from its files.

    python tools/make_sample.py faces  # FER2013 Training -> tools/sample/mean_<emotion>.png (needs ../shared)
    python tools/make_sample.py render # tools/sample/*.png -> build/demo/sample.avi (no ../shared needed)

``faces`` averages the Training faces of each class into one 48x48 "mean face" (by default the 200
the shipped model finds most typical of the class: an aggregate of many images, not any one
person); those seven small PNGs are committed. ``render`` turns
them into a short 640x480 MJPG video that follows a scripted mood timeline, which the demo config
plays through the daemon's file source exactly like a camera.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.types import EMOTION_LABELS  # noqa: E402

SAMPLE_DIR = ROOT / "tools" / "sample"
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "fer2013_train_public.csv.gz"

# (seconds, emotion or None for an empty room): the demo's scripted timeline.
DEMO_TIMELINE: list[tuple[float, str | None]] = [
    (6.0, "neutral"),
    (9.0, "sad"),
    (9.0, "happy"),
    (5.0, None),
    (7.0, "surprise"),
]


def make_mean_faces(csv_path: Path, out_dir: Path, typical: int = 200) -> None:
    """Average Training faces per class into one 48x48 face.

    With ``typical`` > 0 only the ``typical`` faces of each class that the shipped model finds most
    characteristic of it (highest probability for their own label) are averaged: a plain mean of
    thousands of faces blurs sad and angry into neutral, while a mean of a few hundred typical
    ones keeps the expression and still shows no one person.
    """
    import cv2

    from soulsyncd.vision.classifier import ClassifierOptions, EmotionClassifier, to_model_input
    from soulsyncd.vision.fer2013 import read_fer_csv

    split = read_fer_csv(csv_path, ["Training"])
    classifier = EmotionClassifier(ClassifierOptions(flip_average=False)) if typical > 0 else None
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, label in enumerate(EMOTION_LABELS):
        faces = split.images[split.labels == index]
        if classifier is not None:
            model_input = to_model_input(faces)
            scores = np.concatenate(
                [classifier.predict(model_input[i : i + 512])[:, index] for i in range(0, len(faces), 512)]
            )
            faces = faces[np.argsort(scores)[::-1][:typical]]
        mean = faces.astype(np.float64).mean(axis=0)
        # Averaging washes out contrast; stretch it back so the face reads like a photo.
        mean = (mean - mean.min()) / max(mean.max() - mean.min(), 1e-6) * 255
        cv2.imwrite(str(out_dir / f"mean_{label}.png"), mean.round().astype(np.uint8))
        print(f"mean_{label}.png from {len(faces)} faces")


def render_frame(
    face: np.ndarray | None, t: float, size: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """A 640x480-style BGR frame: a soft room-like background, the face (if any) drifting slightly."""
    import cv2

    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    background = (90 + 40 * np.sin(xs / 90.0) + 20 * np.cos(ys / 70.0)).astype(np.float32)
    frame = background + rng.normal(0, 3, (height, width)).astype(np.float32)
    if face is not None:
        side = 200
        big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        cx = int(width / 2 - side / 2 + 30 * np.sin(t * 0.7))
        cy = int(height / 2 - side / 2 + 12 * np.sin(t * 1.1))
        frame[cy : cy + side, cx : cx + side] = big
    grey = np.clip(frame, 0, 255).astype(np.uint8)
    return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))


def render_video(out_path: Path, fps: float = 10.0, size: tuple[int, int] = (640, 480),
                 timeline: list[tuple[float, str | None]] | None = None) -> Path:
    """Write the timeline as an MJPG .avi; returns the path."""
    import cv2

    faces = {}
    for label in EMOTION_LABELS:
        image = cv2.imread(str(SAMPLE_DIR / f"mean_{label}.png"), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise SystemExit(f"missing {SAMPLE_DIR / f'mean_{label}.png'}: run 'tools/make_sample.py faces'")
        faces[label] = image
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    rng = np.random.default_rng(0)
    t = 0.0
    for seconds, label in timeline or DEMO_TIMELINE:
        for _ in range(int(seconds * fps)):
            writer.write(render_frame(None if label is None else faces[label], t, size, rng))
            t += 1 / fps
    writer.release()
    return out_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    faces = sub.add_parser("faces", help="compute the per-class mean faces from FER2013 Training")
    faces.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    faces.add_argument("--typical", type=int, default=200,
                       help="average only this many most typical faces per class (0: all of them)")
    render = sub.add_parser("render", help="render the demo video from the mean faces")
    render.add_argument("--out", type=Path, default=ROOT / "build" / "demo" / "sample.avi")
    render.add_argument("--fps", type=float, default=10.0)
    render.add_argument("--width", type=int, default=640)
    render.add_argument("--height", type=int, default=480)
    args = parser.parse_args(argv)
    if args.command == "faces":
        if not args.csv.is_file():
            print(f"error: {args.csv} not found", file=sys.stderr)
            return 2
        make_mean_faces(args.csv, SAMPLE_DIR, args.typical)
    else:
        path = render_video(args.out, args.fps, (args.width, args.height))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
