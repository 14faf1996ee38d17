#!/usr/bin/env python3
"""Fuzz check-config: hostile and damaged config files must give "ok" or clear errors, fast.

Generates ``--documents`` files (soulsyncd.testing.config_fuzz: every hostile document once -- binary,
control characters, alias bombs, recursive aliases, deep nesting, bad tags, ~nosuchuser paths, huge
numbers -- then random mutants of the shipped config files and of those documents), plus the
non-files (a directory, a FIFO, 10 MB of junk, a symlink loop, a missing file), and judges each with
the real check-config logic in-process, timing it. Then runs ``python -m soulsyncd check-config`` as
a subprocess on ``--subprocess`` of them (all hostile ones first) to check exit codes (0 or 78 only)
and that no traceback is ever printed.

    python tools/fuzz_config.py --documents 10000 --seed 0
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
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.config import EXIT_CONFIG, ConfigError, load_config  # noqa: E402
from soulsyncd.testing.config_fuzz import fuzz_documents  # noqa: E402

SMALL_BYTES = 64 * 1024  # the promise: under a second for any file up to this size


def special_paths(work: Path) -> dict[str, Path]:
    """Config paths that are not plain small files."""
    (work / "a directory").mkdir()
    os.mkfifo(work / "fifo.yaml")
    (work / "junk.yaml").write_bytes(os.urandom(10_000_000))
    (work / "loop.yaml").symlink_to(work / "loop.yaml")
    (work / "file").write_text("x: 1\n")
    return {
        "a directory": work / "a directory",
        "a FIFO": work / "fifo.yaml",
        "10 MB of junk": work / "junk.yaml",
        "a symlink loop": work / "loop.yaml",
        "a missing file": work / "missing.yaml",
        "a path under a file": work / "file" / "soulsync.yaml",
    }


def judge(path: Path) -> tuple[int | None, float, str | None]:
    """check-config's verdict in-process: (exit code or None for a traceback, seconds, traceback)."""
    started = time.perf_counter()
    try:
        load_config(path)
        code: int | None = os.EX_OK
        crash = None
    except ConfigError as exc:
        code = EXIT_CONFIG if exc.errors else None  # an empty error list would print nothing
        crash = None if exc.errors else "ConfigError without errors"
    except BaseException as exc:  # exactly what the fuzzer hunts for
        code = None
        crash = "".join(traceback.format_exception(exc)[-3:])
    return code, time.perf_counter() - started, crash


def run_cli(path: Path) -> tuple[int, str | None]:
    """The CLI's exit code, and the end of its output if it printed a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "soulsyncd", "check-config", str(path)],
        capture_output=True, text=True, errors="replace", timeout=120, cwd=ROOT, check=False,
    )
    output = result.stdout + result.stderr
    return result.returncode, output[-600:] if "Traceback" in output else None


def check_cli(
    cases: list[tuple[str, Path]], count: int, jobs: int
) -> tuple[list[tuple[str, Path]], dict[str, int], list[tuple[str, str]], list[str]]:
    """The CLI on ``count`` cases: the hostile documents and non-files first, then mutants spread
    over the rest. Returns the cases run, exit-code counts, tracebacks and other exit codes."""
    hostile = [case for case in cases if not case[0].startswith("mutant ")]
    mutants = [case for case in cases if case[0].startswith("mutant ")]
    spare = max(count - len(hostile), 0)
    step = max(len(mutants) // spare, 1) if spare else len(mutants) + 1
    chosen = (hostile + mutants[::step][:spare])[:count]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda case: run_cli(case[1]), chosen))
    codes: dict[str, int] = {}
    tracebacks: list[tuple[str, str]] = []
    bad_codes: list[str] = []
    for (name, _), (code, traced) in zip(chosen, results, strict=True):
        codes[str(code)] = codes.get(str(code), 0) + 1
        if traced is not None:
            tracebacks.append((name, traced))
        if code not in (os.EX_OK, EXIT_CONFIG):
            bad_codes.append(name)
    return chosen, codes, tracebacks, bad_codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000, help="documents to generate (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subprocess", type=int, default=300, help="of them also run through the CLI (300)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel CLI runs (default 2)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
    docs = work / "docs"
    docs.mkdir()
    cases: list[tuple[str, Path]] = list(special_paths(work).items())
    for index, (name, data) in enumerate(fuzz_documents(args.documents, args.seed)):
        path = docs / f"{index:05d}.yaml"
        path.write_bytes(data)
        cases.append((name, path))

    codes: dict[str, int] = {}
    crashes: list[tuple[str, str]] = []
    times: list[float] = []
    small_times: list[float] = []
    slowest = ("", 0.0, 0)
    for name, path in cases:
        code, seconds, crash = judge(path)
        codes[str(code)] = codes.get(str(code), 0) + 1
        if crash is not None:
            crashes.append((name, crash))
        times.append(seconds)
        size = path.stat().st_size if path.is_file() and not path.is_symlink() else 0
        if size <= SMALL_BYTES:
            small_times.append(seconds)
        if seconds > slowest[1]:
            slowest = (name, seconds, size)

    chosen, cli_codes, cli_tracebacks, cli_bad_codes = check_cli(cases, args.subprocess, args.jobs)

    summary = {
        "documents": len(cases),
        "exit_codes": codes,
        "tracebacks": len(crashes),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p99_ms": round(sorted(times)[int(len(times) * 0.99)] * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "max_ms_up_to_64_kb": round(max(small_times) * 1000, 1),
        "slowest": {"document": slowest[0], "ms": round(slowest[1] * 1000, 1), "bytes": slowest[2]},
        "cli_runs": len(chosen),
        "cli_exit_codes": cli_codes,
        "cli_tracebacks": len(cli_tracebacks),
        "cli_other_exit_codes": len(cli_bad_codes),
    }
    if args.json:
        print(json.dumps({**summary, "crashes": [name for name, _ in crashes]}, indent=2))
    else:
        print(f"{summary['documents']} documents (seed {args.seed}): exit codes {codes}, "
              f"tracebacks {summary['tracebacks']}")
        print(f"time per document: median {summary['median_ms']} ms, p99 {summary['p99_ms']} ms, "
              f"max {summary['max_ms']} ms (max {summary['max_ms_up_to_64_kb']} ms for files <= 64 KB); "
              f"slowest: {slowest[0]!r} ({slowest[2]} bytes)")
        print(f"CLI (python -m soulsyncd check-config) on {len(chosen)} of them: exit codes {cli_codes}, "
              f"tracebacks {len(cli_tracebacks)}, other exit codes {len(cli_bad_codes)}")
        for name, crash in crashes[:10]:
            print(f"\nTRACEBACK on {name!r}:\n{crash}")
        for name, traced in cli_tracebacks[:3]:
            print(f"\nCLI TRACEBACK on {name!r}:\n{traced}")
        for name in cli_bad_codes[:10]:
            print(f"CLI exit code not 0 or 78 on {name!r}")
    slow = max(small_times) >= 1.0
    return 1 if crashes or cli_tracebacks or cli_bad_codes or slow else 0


if __name__ == "__main__":
    sys.exit(main())
