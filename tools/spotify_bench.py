"""Spotify player figures against the fake Web API (soulsyncd.testing.fake_spotify).

1. Requests per minute in steady playback over a simulated 30 minutes (the fake's request log, a
   manual clock shared by player and fake), and requests while paused with the listener away.
2. Mood change -> the new mood's first track starts:
   * boundary mode, while a track plays: when it starts, relative to the end of the track that was
     playing at the change (simulated, many changes at random points of a track);
   * nothing playing: wall-clock seconds from ``apply()`` to the fake playing the track, with the
     player's real thread and a per-request latency like the real API's (``--latency-ms``).

Usage: python tools/spotify_bench.py [--minutes 30] [--changes 40] [--trials 20] [--latency-ms 150]
Prints one JSON object (medians and extremes).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.config import Config, SpotifyPlayerConfig, StateConfig  # noqa: E402
from soulsyncd.spotify.auth import TokenCache, token_path  # noqa: E402
from soulsyncd.spotify.player import SpotifyPlayer, build_spotify_player  # noqa: E402
from soulsyncd.testing import ListPicker, ManualClock  # noqa: E402
from soulsyncd.testing.fake_spotify import FakeSpotify  # noqa: E402
from soulsyncd.types import PlayIntent, Track  # noqa: E402

SPEAKER = "Kitchen"
HAPPY = PlayIntent("play", valence=0.9, energy=0.7, reason="happy")


def tracks_on(fake: FakeSpotify, count: int, rng: random.Random) -> list[Track]:
    tracks = []
    for i in range(count):
        uri = f"spotify:track:B{i:05d}"
        duration = round(rng.uniform(150, 300))  # 2.5 to 5 minutes, like most pop tracks
        fake.add_track(uri, f"Bench {i}", ["Bench band"], duration)
        tracks.append(Track(uri, f"Bench {i}", ("Bench band",), duration))
    return tracks


def player_on(fake: FakeSpotify, state_dir: Path, picker: ListPicker, *, clock: ManualClock | None,
              **settings: object) -> SpotifyPlayer:
    TokenCache(token_path(state_dir)).save_token_to_cache(fake.issue_tokens())
    config = Config(player=SpotifyPlayerConfig(client_id=fake.client_id, device=SPEAKER, **settings),  # type: ignore[arg-type]
                    state=StateConfig(dir=state_dir))
    return build_spotify_player(config, picker, clock=clock, api_prefix=fake.api_prefix,
                                token_url=fake.token_url, start=clock is None)


def run_for(player: SpotifyPlayer, clock: ManualClock, seconds: float) -> None:
    """Step the player as its thread would, over ``seconds`` of the manual clock."""
    end = clock.now + seconds
    while True:
        delay = player.run_once()
        if delay is None or clock.now + delay > end:
            clock.now = end
            return
        clock.now += delay


def steady_rate(minutes: int, rng: random.Random) -> dict[str, object]:
    clock = ManualClock(1000.0)
    with FakeSpotify(clock=clock.monotonic) as fake, tempfile.TemporaryDirectory() as state:
        fake.add_device(SPEAKER)
        picker = ListPicker(tracks_on(fake, 40, rng))
        player = player_on(fake, Path(state), picker, clock=clock)
        player.apply(HAPPY)
        run_for(player, clock, 5)
        t0 = clock.now
        run_for(player, clock, minutes * 60)
        per_minute = [len(fake.requests_between(t0 + 60 * m, t0 + 60 * (m + 1))) for m in range(minutes)]
        player.apply(PlayIntent("pause", reason="nobody there"))
        run_for(player, clock, 1)
        paused_at = clock.now
        run_for(player, clock, minutes * 60)
        paused = len(fake.requests_between(paused_at, clock.now + 1))
        kinds: dict[str, int] = {}
        for record in fake.requests_between(t0, t0 + minutes * 60):
            key = f"{record.method} {record.path.removeprefix('/v1/')}"
            kinds[key] = kinds.get(key, 0) + 1
        return {
            "simulated_minutes": minutes,
            "tracks_played": len(picker.endings),
            "requests_per_minute_median": statistics.median(per_minute),
            "requests_per_minute_max": max(per_minute),
            "requests_by_endpoint": kinds,
            "requests_while_paused": paused,
        }


def boundary_switch(changes: int, rng: random.Random) -> dict[str, object]:
    clock = ManualClock(1000.0)
    with FakeSpotify(clock=clock.monotonic) as fake, tempfile.TemporaryDirectory() as state:
        fake.add_device(SPEAKER)
        picker = ListPicker(tracks_on(fake, 40, rng))
        player = player_on(fake, Path(state), picker, clock=clock)
        player.apply(HAPPY)
        run_for(player, clock, 5)
        delays: list[float] = []
        mid_song_commands = 0
        while len(delays) < changes:
            n = len(delays)
            run_for(player, clock, rng.uniform(5, 120))
            playback = fake.playback()
            assert playback is not None
            assert playback["is_playing"]
            ends_at = clock.now + (playback["item"]["duration_ms"] - playback["progress_ms"]) / 1000
            if ends_at - clock.now < 25:  # the next track is queued already: change in the next one
                continue
            mood = PlayIntent("play", valence=rng.random(), energy=rng.random(), reason=f"change {n}")
            changed_at = clock.now
            player.apply(mood)
            run_for(player, clock, ends_at - clock.now - 12)  # until just before the lead window
            mid_song_commands += sum(1 for r in fake.requests_between(changed_at, clock.now)
                                     if r.method != "GET" and r.path.startswith("/v1/me/player"))
            run_for(player, clock, 12 + 3)
            track = next(t for i, t in picker.picks if i == mood and t is not None)
            playback = fake.playback()
            assert playback is not None
            assert playback["item"]["uri"] == track.uri, "the new track did not start"
            started_at = clock.now - playback["progress_ms"] / 1000
            delays.append(started_at - ends_at)
        return {
            "changes": changes,
            "new_track_start_minus_current_track_end_s_median": round(statistics.median(delays), 3),
            "new_track_start_minus_current_track_end_s_max_abs": round(max(abs(d) for d in delays), 3),
            "commands_sent_mid_song": mid_song_commands,
        }


def start_from_silence(trials: int, latency_ms: float, rng: random.Random) -> dict[str, object]:
    with FakeSpotify() as fake, tempfile.TemporaryDirectory() as state:
        fake.add_device(SPEAKER)
        tracks = tracks_on(fake, trials + 1, rng)
        fake.set_latency(latency_ms / 1000)
        seconds = []
        for trial in range(trials):
            player = player_on(fake, Path(state), ListPicker(tracks[trial:]), clock=None)
            started = time.monotonic()
            player.apply(HAPPY)
            done = threading.Event()
            while not done.wait(0.01):
                playback = fake.playback()
                if playback and playback["is_playing"] and playback["item"]["uri"] == tracks[trial].uri:
                    break
                assert time.monotonic() - started < 30, "playback never started"
            seconds.append(time.monotonic() - started)
            player.close()
            fake.set_latency(0)
            fake.remove_device(SPEAKER)  # a fresh, idle speaker for the next trial
            fake.add_device(SPEAKER)
            fake.set_latency(latency_ms / 1000)
        return {
            "trials": trials,
            "per_request_latency_ms": latency_ms,
            "change_to_playing_s_median": round(statistics.median(seconds), 3),
            "change_to_playing_s_max": round(max(seconds), 3),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=30, help="simulated minutes of steady playback")
    parser.add_argument("--changes", type=int, default=40, help="mood changes in boundary mode")
    parser.add_argument("--trials", type=int, default=20, help="starts from silence (real time)")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="fake latency per request")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    result = {
        "steady_playback": steady_rate(args.minutes, rng),
        "boundary_switch": boundary_switch(args.changes, rng),
        "start_from_silence": start_from_silence(args.trials, args.latency_ms, rng),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
