"""Write a made-up sample catalog CSV (titles, artists, realistic valence/energy/tempo) from a seed.

    python tools/make_catalog.py --seed 7 --tracks 1200 --out config/sample_catalog.csv
    python tools/make_catalog.py --seed 7 --tracks 1200 --personal 300 --out /tmp/personal.csv

The committed ``config/sample_catalog.csv`` is the first command's output; the demo and
``soulsyncd simulate`` use it. ``--personal N`` writes N tracks drawn from that catalog instead, as a
listener's own library (favouring a quarter of the artists). Import either with
``soulsyncd library import FILE``. See :mod:`soulsyncd.testing.sample_catalog` for the model.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soulsyncd.testing.sample_catalog import generate, personal_library, write_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--tracks", type=int, default=1200, help="catalog size (default 1200)")
    parser.add_argument("--artists", type=int, default=None, help="artists (default: tracks / 4)")
    parser.add_argument("--personal", type=int, default=None, metavar="N",
                        help="write N tracks drawn from the catalog, as a personal library")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (.gz: gzip)")
    args = parser.parse_args(argv)
    catalog = generate(args.seed, args.tracks, args.artists)
    tracks = personal_library(catalog, args.personal, args.seed) if args.personal else catalog
    rows = write_csv(tracks, args.out)
    artists = len({t.track.artists[0] for t in tracks})
    genres = Counter(t.genre for t in tracks)
    print(f"wrote {rows} tracks by {artists} artists to {args.out}: "
          + ", ".join(f"{name} {count}" for name, count in sorted(genres.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
