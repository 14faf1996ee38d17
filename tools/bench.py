#!/usr/bin/env python3
"""Benchmark soulsyncd's per-frame pipeline and the running daemon's CPU and memory.

    python tools/bench.py            # human-readable report
    python tools/bench.py --json     # ... and one JSON object on the last line

The daemon's file source hands out only the frames the analysis takes (every 6th of the 30 fps
file, at 5 a second: what a camera asked for the analysis rate delivers), so the daemon figures are
those of a source delivering at the analysis rate. Start-up (start -> READY) and peak RSS come from
tools/startup_bench.py (``--startup-runs``).

Stage timings (median and 90th percentile) are taken at 640x480 with one thread, as the daemon
analyses frames (every 6th of a 30 fps clip), over three inputs: the bundled sample rendered at
30 fps, an empty cluttered room rendered with sensor noise and a slow light drift (two minutes of
it: the room is empty most of the daemon's life), and ../shared/data/e2e/woman2.mp4 (padded to
640x480) when it is there. The daemon figures come from running ``soulsyncd run`` at the default
settings on a 640x480 30 fps file source: the sample (a face most of the time), then the empty
room. This machine is noisy: the figures are medians and the report gives ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from soulsyncd.vision.classifier import DEFAULT_MODEL_PATH  # noqa: E402

WOMAN2 = ROOT.parent / "shared" / "data" / "e2e" / "woman2.mp4"
TEST_CLIP = ROOT.parent / "shared" / "data" / "e2e" / "test.mp4"  # two people at times


def load_frames(
    path: Path, size: tuple[int, int] = (640, 480), limit: int = 900, every: int = 1
) -> list[np.ndarray]:
    """Every ``every``-th frame of a video (of its first ``limit``), letterboxed into ``size``
    (no scaling up of the content)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    for position in range(limit):
        if not capture.grab():
            break
        if position % every:
            continue
        ok, image = capture.retrieve()
        if not ok:
            break
        canvas = np.zeros((size[1], size[0], 3), np.uint8)
        h, w = image.shape[:2]
        scale = min(size[0] / w, size[1] / h, 1.0)
        if scale < 1.0:
            image = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
            h, w = image.shape[:2]
        y, x = (size[1] - h) // 2, (size[0] - w) // 2
        canvas[y : y + h, x : x + w] = image
        frames.append(canvas)
    capture.release()
    return frames


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def p90_ms(samples: list[float]) -> float:
    return round(float(np.percentile(samples, 90)) * 1000, 3)


def analysed_every(camera_fps: float, analysis_fps: float = 5.0) -> int:
    """The daemon analyses every n-th camera frame."""
    return max(1, round(camera_fps / analysis_fps))


def bench_stages(analysed: list[np.ndarray], model: Path, analysis_fps: float = 5.0) -> dict:
    """Per-stage timings as the daemon runs them, over the frames it would analyse, in order."""
    import cv2

    from soulsyncd.mood.smoother import MoodSmoother, aggregate_faces
    from soulsyncd.testing import ManualClock
    from soulsyncd.types import Frame, Scores
    from soulsyncd.vision.classifier import ClassifierOptions, EmotionClassifier, to_model_input
    from soulsyncd.vision.detector import HaarFaceDetector, crop_faces, to_gray

    cv2.setNumThreads(1)
    clock = ManualClock()
    detector = HaarFaceDetector(clock=clock)
    classifier = EmotionClassifier(ClassifierOptions(model_path=model))
    smoother = MoodSmoother()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    times: dict[str, list[float]] = {
        "detect": [], "preprocess": [], "classify": [], "frame": [], "frame_cpu": [], "plain_haar": []
    }
    with_face = 0
    for index, image in enumerate(analysed):
        clock.advance(1 / analysis_fps)
        frame = Frame(image=image, timestamp=clock.monotonic(), index=index)
        c0 = time.thread_time()
        t0 = time.perf_counter()
        boxes = detector.detect(frame)
        t1 = time.perf_counter()
        probabilities = None
        if boxes:
            with_face += 1
            model_input = to_model_input(crop_faces(image, boxes))
            t2 = time.perf_counter()
            raw = classifier.predict(model_input)
            t3 = time.perf_counter()
            probabilities = aggregate_faces(raw, boxes)
            times["preprocess"].append(t2 - t1)
            times["classify"].append(t3 - t2)
        smoother.update(Scores(timestamp=frame.timestamp, probabilities=probabilities, faces=len(boxes)))
        times["frame"].append(time.perf_counter() - t0)
        times["frame_cpu"].append(time.thread_time() - c0)
        times["detect"].append(t1 - t0)
        if index % 5 == 0:  # the plain whole-frame scan, for the ratio; sampled since it is slow
            grey = to_gray(image)
            t0 = time.perf_counter()
            cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
            times["plain_haar"].append(time.perf_counter() - t0)
    frame_ms = median_ms(times["frame"])
    stats = detector.stats
    return {
        "frames": len(analysed),
        "face_found_fraction": round(with_face / max(1, len(analysed)), 3),
        "frame_ms_median": frame_ms,
        "frame_ms_p90": p90_ms(times["frame"]),
        # CPU time of this thread: what other jobs on a shared machine do not inflate.
        "frame_cpu_ms_median": median_ms(times["frame_cpu"]),
        "frame_cpu_ms_p90": p90_ms(times["frame_cpu"]),
        "detect_ms_median": median_ms(times["detect"]),
        "detect_ms_p90": p90_ms(times["detect"]),
        "preprocess_ms_median": median_ms(times["preprocess"]) if times["preprocess"] else None,
        "classify_ms_median": median_ms(times["classify"]) if times["classify"] else None,
        "plain_haar_ms_median": median_ms(times["plain_haar"]),
        "frames_per_second": round(1000 / frame_ms, 1) if frame_ms else None,
        "full_scans": stats.full_scans,
        "large_face_scans": stats.large_scans,
        "roi_scans": stats.roi_scans,
        "roi_retries": stats.roi_retries,
        "idle_skips": stats.idle_skips,
    }


def bench_classifier(model: Path, repeats: int = 2000) -> dict:
    """One face through the int8 model on one thread, once and with its mirror image (the default)."""
    from soulsyncd.vision.classifier import ClassifierOptions, EmotionClassifier

    face = np.random.default_rng(0).random((1, 48, 48, 1), dtype=np.float32)
    result = {}
    for name, flip in (("single_face", False), ("single_face_flip_average", True)):
        classifier = EmotionClassifier(ClassifierOptions(model_path=model, flip_average=flip))
        for _ in range(100):
            classifier.predict(face)
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            classifier.predict(face)
            samples.append(time.perf_counter() - t0)
        result[f"{name}_ms_median"] = median_ms(samples)
        result[f"{name}_ms_p90"] = round(float(np.percentile(samples, 90)) * 1000, 3)
    return result


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_kb(pid: int) -> int:
    # VmHWM, read while the daemon still runs: getrusage's ru_maxrss of a child would also count
    # the pages it shared with this (frame-laden) process between fork and exec.
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def bench_daemon(video: Path, seconds: float = 40.0, warmup: float = 8.0, prefix: str = "daemon",
                 settings: str = "") -> dict:
    """Run the real daemon on a 640x480 30 fps looping file; CPU % over the steady state, peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(
            f"camera:\n  kind: file\n  path: {video}\n  loop: true\n  pace: realtime\n"
            "logging:\n  level: warning\n" + settings
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "soulsyncd", "run", "--config", str(config), "--for", str(seconds)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(warmup)  # a benchmark, not a test: let start-up (imports, model load) pass
        cpu0, wall0 = _cpu_seconds(process.pid), time.monotonic()
        time.sleep(seconds - warmup - 2)
        cpu1, wall1 = _cpu_seconds(process.pid), time.monotonic()
        peak_rss_kb = _peak_rss_kb(process.pid)
        status = process.wait()
        stderr = process.stderr.read() if process.stderr else ""
    if status != 0:
        raise SystemExit(f"daemon exited with status {status}: {stderr[-2000:]}")
    return {
        f"{prefix}_cpu_percent": round((cpu1 - cpu0) / (wall1 - wall0) * 100, 1),
        f"{prefix}_rss_mb": round(peak_rss_kb / 1024, 1),
        f"{prefix}_seconds_measured": round(wall1 - wall0, 1),
    }


def bench_startup(runs: int) -> dict:
    """Start -> READY and peak RSS of ``soulsyncd run``: the demo (dry-run player, MQTT off) and
    with the Spotify player (fake Spotify) and MQTT (mosquitto) on, as tools/soak.py sets them up."""
    from startup_bench import measure

    result: dict = {}
    for setup in ("demo", "full"):
        figures = measure(setup, runs, seconds=8.0)
        result[f"startup_{setup}_ready_s"] = figures.get("ready_s_median")
        result[f"startup_{setup}_peak_rss_mb"] = figures.get("peak_rss_mb_median")
        print(f"start -> READY ({setup}): {figures.get('ready_s_median')} s, "
              f"peak RSS {figures.get('peak_rss_mb_median')} MB" if "skipped" not in figures
              else f"start -> READY ({setup}): skipped ({figures['skipped']})")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--daemon-seconds", type=float, default=40.0)
    parser.add_argument("--skip-daemon", action="store_true")
    parser.add_argument("--daemon-settings", default="",
                        help="YAML sections added to the daemon's config, e.g. "
                             "'analysis: {fps: 2}\nmodel: {flip_average: false}' (a Pi Zero's settings)")
    parser.add_argument("--startup-runs", type=int, default=3,
                        help="runs of tools/startup_bench.py (start -> READY, peak RSS; 0: skip)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH,
                        help="int8 model for the stage and single-face timings (the daemon part "
                             "always runs the shipped one)")
    args = parser.parse_args(argv)

    from make_sample import render_room_video, render_video

    from soulsyncd.types import EMOTION_LABELS

    video = ROOT / "build" / "bench" / "sample_640x480_30fps.avi"
    if not video.exists():
        timeline = [(3.0, label) for label in EMOTION_LABELS] + [(3.0, None)]
        render_video(video, fps=30.0, size=(640, 480), timeline=timeline)
    room_video = ROOT / "build" / "bench" / "empty_room_640x480_30fps.avi"
    if not room_video.exists():
        render_room_video(room_video, seconds=20.0, fps=30.0, size=(640, 480))
    import cv2

    every = analysed_every(30.0)
    room = load_frames(room_video, every=every)
    result: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "opencv": cv2.__version__,
        "load_average_at_start": round(os.getloadavg()[0], 2),  # other jobs on a shared machine
        "sample": bench_stages(load_frames(video, every=every), args.model),
        # Two minutes of the room, looped as the daemon's file source loops it.
        "empty_room": bench_stages((room * (1 + 600 // len(room)))[:600], args.model),
    }
    if WOMAN2.is_file():
        result["woman2"] = bench_stages(load_frames(WOMAN2, every=analysed_every(29.97)), args.model)
    if TEST_CLIP.is_file():
        result["e2e_test"] = bench_stages(load_frames(TEST_CLIP, every=analysed_every(24.7)), args.model)
    result.update(bench_classifier(args.model))
    if not args.skip_daemon:
        extra = args.daemon_settings.replace("\\n", "\n")
        if extra and not extra.endswith("\n"):
            extra += "\n"
        result.update(bench_daemon(video, args.daemon_seconds, settings=extra))
        result.update(bench_daemon(room_video, args.daemon_seconds, prefix="daemon_empty_room",
                                   settings=extra))
    if args.startup_runs > 0:
        result.update(bench_startup(args.startup_runs))
    headline = result.get("woman2", result["sample"])
    for key in ("frame_ms_median", "frame_ms_p90", "detect_ms_median", "classify_ms_median",
                "plain_haar_ms_median"):
        result[key] = headline[key]
    speedup = headline["plain_haar_ms_median"] / headline["detect_ms_median"]
    result["detect_speedup_vs_plain_haar"] = round(speedup, 1)
    for name in ("sample", "empty_room", "woman2", "e2e_test"):
        if name in result:
            stages = result[name]
            print(f"{name}: {stages['frames']} frames analysed, face in {stages['face_found_fraction']:.0%}; "
                  f"median ms: frame {stages['frame_ms_median']} (p90 {stages['frame_ms_p90']}; "
                  f"CPU {stages['frame_cpu_ms_median']}, p90 {stages['frame_cpu_ms_p90']}), "
                  f"detect {stages['detect_ms_median']} (plain Haar {stages['plain_haar_ms_median']}), "
                  f"preprocess {stages['preprocess_ms_median']}, "
                  f"classify {stages['classify_ms_median']}; scans: full {stages['full_scans']}, "
                  f"large-face {stages['large_face_scans']}, regions {stages['roi_scans']}, "
                  f"skipped (room unchanged) {stages['idle_skips']}")
    print(f"single-face int8 inference, 1 thread: median {result['single_face_ms_median']} ms, "
          f"with its mirror image {result['single_face_flip_average_ms_median']} ms")
    if "daemon_cpu_percent" in result:
        print(f"daemon: {result['daemon_cpu_percent']} % of one core, peak RSS {result['daemon_rss_mb']} MB")
        print(f"daemon, empty room: {result['daemon_empty_room_cpu_percent']} % of one core, "
              f"peak RSS {result['daemon_empty_room_rss_mb']} MB")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
