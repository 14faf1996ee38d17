"""Benchmark ``soulsyncd library import`` on a generated million-row Kaggle-style CSV.

    python tools/import_bench.py                  # 1,000,000 rows, 3 runs, medians
    python tools/import_bench.py --rows 200000 --runs 5 --json
    python tools/import_bench.py --gzip --semicolon

The CSV has the layout of the 114k "spotify-tracks-dataset" (unnamed index, ``track_id``,
``;``-joined ``artists``, ``track_name``, twenty feature columns, ``track_genre``), about 8 % of the
rows repeating an earlier track id in another genre, as that dataset does. Each run is the real
command (``python -m soulsyncd library import FILE --catalog NEW``) in a child process, timed from
the outside (interpreter start and imports included); its peak resident set is the child's own
``ru_maxrss`` from ``os.wait4``. Target (issue 16): 1,000,000 rows in <= 60 s and <= 200 MB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_GENRES = ("acoustic", "j-pop", "metal", "ambient", "dance", "sad", "bossanova", "rock")
_HEADER = (
    ",track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,"
    "loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,"
    "track_genre"
)


def write_dataset(path: Path, rows: int, *, seed: int, gzipped: bool, delimiter: str) -> None:
    """Write ``rows`` rows of made-up tracks (random ids: no real track) to ``path``."""
    rng = random.Random(seed)
    opener = gzip.open if gzipped else open
    decimal = "," if delimiter == ";" else "."
    ids: list[str] = []
    with opener(path, "wt", encoding="utf-8", newline="") as out:  # type: ignore[operator]
        out.write(_HEADER.replace(",", delimiter) + "\n")
        for i in range(rows):
            if ids and rng.random() < 0.08:
                track_id = rng.choice(ids)  # the same track listed under another genre
            else:
                track_id = "".join(rng.choices(_BASE62, k=22))
                if len(ids) < 50_000:
                    ids.append(track_id)
            artists = ";".join(f"Artist {rng.randrange(30_000)}" for _ in range(1 + (rng.random() < 0.2)))
            numbers = [f"{rng.random():.3f}" for _ in range(8)]
            fields = [
                str(i), track_id, artists, f"Album {rng.randrange(50_000)}", f"Song {i}",
                str(rng.randrange(100)), str(rng.randrange(90_000, 400_000)), "False", numbers[0],
                numbers[1], str(rng.randrange(12)), f"{-rng.random() * 20:.3f}", str(rng.randrange(2)),
                numbers[2], numbers[3], numbers[4], numbers[5], numbers[6], f"{rng.uniform(60, 180):.3f}",
                "4", rng.choice(_GENRES),
            ]
            line = delimiter.join(fields)
            out.write((line.replace(".", decimal) if decimal != "." else line) + "\n")


def run_import(csv_path: Path, catalog: Path) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MB, exit status, last output line) of one import in a child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "soulsyncd", "library", "import", str(csv_path),
               "--catalog", str(catalog)]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip()
    # ru_maxrss is in kilobytes on Linux.
    return seconds, usage.ru_maxrss / 1024, child.returncode, text.splitlines()[-1] if text else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated CSV")
    parser.add_argument("--runs", type=int, default=3, help="runs (medians are reported)")
    parser.add_argument("--gzip", action="store_true", help="gzip the CSV")
    parser.add_argument("--semicolon", action="store_true", help="';' between fields, decimal commas")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)

    def say(text: str) -> None:
        if not args.json:
            print(text, file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / ("bench.csv.gz" if args.gzip else "bench.csv")
        start = time.perf_counter()
        write_dataset(csv_path, args.rows, seed=args.seed, gzipped=args.gzip,
                      delimiter=";" if args.semicolon else ",")
        size_mb = csv_path.stat().st_size / 1e6
        say(f"wrote {args.rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - start:.1f} s")
        runs: list[tuple[float, float]] = []
        summary = ""
        for run in range(args.runs):
            catalog = Path(tmp) / f"catalog{run}.sqlite3"
            seconds, mb, code, summary = run_import(csv_path, catalog)
            if code != 0:
                print(f"import failed ({code}): {summary}", file=sys.stderr)
                return 1
            runs.append((seconds, mb))
            say(f"run {run + 1}: {seconds:.1f} s, {mb:.0f} MB peak RSS: {summary}")
            catalog_mb = catalog.stat().st_size / 1e6
            catalog.unlink()
    result = {
        "rows": args.rows,
        "csv_mb": round(size_mb, 1),
        "gzip": args.gzip,
        "semicolon": args.semicolon,
        "runs": args.runs,
        "seconds_median": round(statistics.median(s for s, _ in runs), 2),
        "peak_rss_mb_median": round(statistics.median(m for _, m in runs), 1),
        "seconds": [round(s, 2) for s, _ in runs],
        "peak_rss_mb": [round(m, 1) for _, m in runs],
        "catalog_mb": round(catalog_mb, 1),
        "rows_per_second": round(args.rows / statistics.median(s for s, _ in runs)),
        "summary": summary,
        "targets": {"seconds": 60, "peak_rss_mb": 200},
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    ok = result["seconds_median"] <= 60 * args.rows / 1_000_000 and result["peak_rss_mb_median"] <= 200
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
