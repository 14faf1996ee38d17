"""How the start-up playlist sync paces itself: 20 playlists of 500 tracks against the fake Spotify,
on a manual clock (no waiting). Prints the requests, the most in any 10 s, and when all were stored.

    .venv/bin/python tools/pace_playlists.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.catalog.store import CatalogStore  # noqa: E402
from soulsyncd.testing import ManualClock  # noqa: E402
from soulsyncd.testing.fake_spotify import FakeSpotify  # noqa: E402
from tests.spotify_support import PLAY, add_tracks, make_rig  # noqa: E402

PLAYLISTS, TRACKS, WINDOW_S = 20, 500, 10.0


def most_in_any_window(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + WINDOW_S) for t in times), default=0)


def main() -> None:
    clock = ManualClock(1000.0)
    with FakeSpotify(clock=clock.monotonic) as fake, tempfile.TemporaryDirectory() as folder:
        tracks = add_tracks(fake, TRACKS)
        for n in range(PLAYLISTS):
            fake.add_playlist(f"Big{n:02d}", f"Big {n}", [t.uri for t in tracks])
        music = {"happy": [f"spotify:playlist:Big{n:02d}" for n in range(PLAYLISTS)]}
        with CatalogStore(Path(folder) / "catalog.sqlite3") as store:
            rig = make_rig(fake, clock, Path(folder), tracks=tracks, store=store, music=music)
            start = clock.now
            rig.player.apply(PLAY)
            done_at = None
            while clock.now - start < 600:
                rig.run_for(1)
                if done_at is None and len(store.playlists()) == PLAYLISTS:
                    done_at = clock.now - start
            times = [r.at for r in fake.requests if r.path.startswith("/v1/")]
            reads = sum(1 for r in fake.requests if r.path.startswith("/v1/playlists"))
            print(f"{len(times)} requests in 600 s ({reads} playlist reads); most in any 10 s: "
                  f"{most_in_any_window(times)}; all {PLAYLISTS} stored after {done_at} s (simulated)")


if __name__ == "__main__":
    main()
