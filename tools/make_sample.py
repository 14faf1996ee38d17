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


def render_room(size: tuple[int, int] = (640, 480), seed: int = 0) -> np.ndarray:
    """A cluttered, lived-in room with nobody in it (BGR): the empty-room case the detector must make cheap.

    Not a flat grey frame: a window with bars, a bookshelf of many small spines, a framed picture,
    a plant, a lamp, a textured floor and a fine static texture everywhere give the Haar cascade
    the edges and corners a real room has, which is what makes a whole-frame scan expensive.
    """
    import cv2

    width, height = size
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    wall = 150 + 25 * np.sin(xs / 160.0) - 20 * (ys / height)
    room = np.dstack([wall * 0.92, wall, wall * 1.05]).astype(np.float32)
    floor_y = int(height * 0.72)
    grain = 70 + 18 * np.sin(xs[floor_y:] / 7.0 + 3 * np.sin(ys[floor_y:] / 23.0))
    room[floor_y:] = np.dstack([grain * 0.6, grain * 0.8, grain])
    # The window: bright sky with frame bars and a few "clouds".
    wx0, wy0, wx1, wy1 = int(width * 0.06), int(height * 0.1), int(width * 0.32), int(height * 0.5)
    room[wy0:wy1, wx0:wx1] = (235, 215, 190)
    for _ in range(6):
        centre = (int(rng.integers(wx0, wx1)), int(rng.integers(wy0, wy1)))
        axes = (int(rng.integers(8, 30)), int(rng.integers(4, 12)))
        cv2.ellipse(room, centre, axes, 0, 0, 360, (250, 250, 250), -1)
    cv2.rectangle(room, (wx0, wy0), (wx1, wy1), (60, 70, 80), 6)
    cv2.line(room, ((wx0 + wx1) // 2, wy0), ((wx0 + wx1) // 2, wy1), (60, 70, 80), 5)
    cv2.line(room, (wx0, (wy0 + wy1) // 2), (wx1, (wy0 + wy1) // 2), (60, 70, 80), 5)
    # The bookshelf: boards and rows of spines of random widths, heights and colours.
    sx0, sx1 = int(width * 0.55), int(width * 0.95)
    shelf_rows = [int(height * f) for f in (0.08, 0.25, 0.42, 0.59)]
    for row_top, row_bottom in zip(shelf_rows, [*shelf_rows[1:], floor_y], strict=True):
        cv2.rectangle(room, (sx0, row_bottom - 6), (sx1, row_bottom), (40, 60, 90), -1)
        x = sx0 + 3
        while x < sx1 - 6:
            spine = int(rng.integers(4, 14))
            top = row_bottom - 6 - int(rng.integers((row_bottom - row_top) // 2, row_bottom - row_top - 8))
            colour = tuple(int(c) for c in rng.integers(20, 230, 3))
            cv2.rectangle(room, (x, top), (min(sx1 - 3, x + spine), row_bottom - 7), colour, -1)
            cv2.line(room, (x, top + 6), (min(sx1 - 3, x + spine), top + 6), (230, 230, 230), 1)
            x += spine + int(rng.integers(0, 3))
    cv2.rectangle(room, (sx0, shelf_rows[0]), (sx1, floor_y), (40, 60, 90), 5)
    # A framed picture: random blobs, and a sofa-like block and a plant on the floor.
    px0, py0 = int(width * 0.36), int(height * 0.14)
    cv2.rectangle(room, (px0, py0), (px0 + 90, py0 + 70), (30, 30, 30), 4)
    for _ in range(12):
        cv2.circle(room, (px0 + int(rng.integers(8, 82)), py0 + int(rng.integers(8, 62))),
                   int(rng.integers(3, 12)), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    cv2.rectangle(room, (int(width * 0.05), int(height * 0.6)), (int(width * 0.45), int(height * 0.85)),
                  (80, 60, 120), -1)
    cv2.rectangle(room, (int(width * 0.05), int(height * 0.52)), (int(width * 0.45), int(height * 0.62)),
                  (95, 75, 140), -1)
    for _ in range(20):
        angle = float(rng.uniform(0, 180))
        centre = (int(width * 0.49 + rng.normal(0, 12)), int(height * 0.55 + rng.normal(0, 20)))
        cv2.ellipse(room, centre, (int(rng.integers(10, 24)), 4), angle, 0, 360, (40, 120, 50), -1)
    cv2.rectangle(room, (int(width * 0.46), int(height * 0.62)), (int(width * 0.52), int(height * 0.74)),
                  (50, 80, 150), -1)
    # The lamp: a cone of light and its stand.
    lx = int(width * 0.5)
    cv2.line(room, (lx, int(height * 0.08)), (lx, int(height * 0.3)), (30, 30, 30), 3)
    cv2.fillConvexPoly(room, np.array([[lx - 20, int(height * 0.3)], [lx + 20, int(height * 0.3)],
                                       [lx + 10, int(height * 0.24)], [lx - 10, int(height * 0.24)]]),
                       (180, 230, 240))
    room += rng.normal(0, 6, room.shape).astype(np.float32)  # static texture: plaster, fabric, paper
    room = cv2.GaussianBlur(room, (3, 3), 0)  # a lens is not a perfect pinhole
    return np.clip(room, 0, 255).astype(np.uint8)


def room_frame(
    room: np.ndarray,
    rng: np.random.Generator,
    face: np.ndarray | None = None,
    *,
    at: tuple[int, int] = (220, 120),
    side: int = 160,
    light: float = 0.0,
) -> np.ndarray:
    """One camera frame of ``room``: sensor noise (sigma 3), a light level offset, and a face if given.

    ``face`` is a grey image pasted ``side`` pixels square with its top-left corner at ``at``; the
    part outside the frame is cut off (someone walking in from the side).
    """
    import cv2

    frame = room.astype(np.float32) + light
    if face is not None:
        x, y = at
        height, width = frame.shape[:2]
        big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + side), min(height, y + side)
        if x1 > x0 and y1 > y0:
            frame[y0:y1, x0:x1] = big[y0 - y : y1 - y, x0 - x : x1 - x, None]
    frame += rng.normal(0, 3, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def render_room_video(out_path: Path, seconds: float = 20.0, fps: float = 30.0,
                      size: tuple[int, int] = (640, 480)) -> Path:
    """An empty cluttered room as an MJPG .avi, with sensor noise and a slow light drift (+-4 levels)."""
    import cv2

    out_path.parent.mkdir(parents=True, exist_ok=True)
    room = render_room(size)
    rng = np.random.default_rng(1)
    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    frames = int(seconds * fps)
    for index in range(frames):
        writer.write(room_frame(room, rng, light=4.0 * np.sin(2 * np.pi * index / frames)))
    writer.release()
    return out_path


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
