"""Per-module mutation score from mutmut's results in mutants/ (run ``make mutate`` first).

    python tools/mutation_score.py [--survivors] [MODULE_PREFIX ...]

Prints, per module: killed / checked (%), survived, not checked; ``--survivors`` lists the
surviving mutants' names (``mutmut show NAME`` prints the diff). Mutants that no test reaches
("no tests") count as survivors: a line no test runs is a line no test checks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 37}  # a test failed (3: pytest's internal error on the mutant), or mypy caught it
SURVIVED = {0, 5, 33}  # the tests passed, or no test runs the line
TIMEOUT = {36, 24, -24, 152, 255}  # a mutant that hangs the tests is caught, as mutmut counts it


def scores(root: Path) -> dict[str, tuple[Counter[str], list[str]]]:
    result: dict[str, tuple[Counter[str], list[str]]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        if not codes:
            continue
        module = str(meta.relative_to(root).with_suffix("").with_suffix("")).replace("/", ".")
        counts: Counter[str] = Counter()
        survivors: list[str] = []
        for name, code in codes.items():
            if code is None:
                counts["not checked"] += 1
            elif code in KILLED or code in TIMEOUT:
                counts["killed"] += 1
            elif code in SURVIVED:
                counts["survived"] += 1
                survivors.append(name)
            else:
                counts["suspicious"] += 1
                survivors.append(name)
        result[module] = (counts, survivors)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="module name prefixes (default: all mutated)")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    parser.add_argument("--root", type=Path, default=Path("mutants"))
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        print(f"{args.root}: no results yet (run make mutate)", file=sys.stderr)
        return 1
    for module, (counts, survivors) in scores(args.root).items():
        if args.modules and not any(module.startswith(m) for m in args.modules):
            continue
        checked = counts["killed"] + counts["survived"] + counts["suspicious"]
        if not checked:
            continue
        percent = 100.0 * counts["killed"] / checked
        print(f"{module:40} {counts['killed']:4d}/{checked:<4d} killed {percent:5.1f} %"
              f"  survived {counts['survived'] + counts['suspicious']}  not checked {counts['not checked']}")
        if args.survivors:
            for name in survivors:
                print(f"    {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
