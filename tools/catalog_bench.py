"""Benchmark ``soulsyncd library import`` on a generated 100,000-row features CSV.

    python tools/catalog_bench.py                 # 100,000 rows, 3 runs, medians
    python tools/catalog_bench.py --rows 20000 --runs 5 --gzip

Each run is the real command in a fresh Python process (``soulsyncd.cli.main``), timed from the
outside (interpreter start and imports included), importing into an empty catalog; then the same
file again into the now-full catalog (every row an update). Peak memory is the process's own
VmHWM (peak resident set), read from /proc/self/status just before it exits. Prints one JSON line.
Targets (issue 9): <= 15 s and <= 100 MB for 100,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.testing.sample_catalog import generate, write_csv  # noqa: E402 (after the path)

# Run the CLI, then report this process's peak RSS on stderr's last line.
_CHILD = (
    "import sys\n"
    "from soulsyncd.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]\n"
    "print('VmHWM_kB', hwm, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def run_import(csv_path: Path, catalog: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one ``library import`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, "library", "import", str(csv_path), "--catalog", str(catalog)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    hwm_kb = int(done.stderr.strip().splitlines()[-1].split()[1])
    return seconds, hwm_kb / 1024, done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated CSV")
    parser.add_argument("--runs", type=int, default=3, help="runs (medians are reported)")
    parser.add_argument("--gzip", action="store_true", help="gzip the CSV")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / ("bench.csv.gz" if args.gzip else "bench.csv")
        start = time.perf_counter()
        write_csv(generate(seed=args.seed, tracks=args.rows), csv_path)
        print(f"wrote {args.rows} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
        fresh: list[tuple[float, float]] = []
        again: list[tuple[float, float]] = []
        for run in range(args.runs):
            catalog = Path(tmp) / f"catalog{run}.sqlite3"
            seconds, mb, out = run_import(csv_path, catalog)
            fresh.append((seconds, mb))
            print(f"run {run + 1}: {seconds:.2f} s, {mb:.0f} MB: {out}", file=sys.stderr)
            seconds, mb, _ = run_import(csv_path, catalog)
            again.append((seconds, mb))
            print(f"run {run + 1} again (updates): {seconds:.2f} s, {mb:.0f} MB", file=sys.stderr)
            catalog_mb = catalog.stat().st_size / 1e6
    result = {
        "rows": args.rows,
        "gzip": args.gzip,
        "runs": args.runs,
        "import_s_median": round(statistics.median(s for s, _ in fresh), 2),
        "peak_rss_mb_median": round(statistics.median(m for _, m in fresh), 1),
        "reimport_s_median": round(statistics.median(s for s, _ in again), 2),
        "reimport_peak_rss_mb_median": round(statistics.median(m for _, m in again), 1),
        "catalog_mb": round(catalog_mb, 1),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
