"""Shared set-up for the Spotify tests: a fake account with a speaker and tracks, a logged-in player
driven step by step on a manual clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soulsyncd.config import Config, SpotifyPlayerConfig, StateConfig, parse_config
from soulsyncd.spotify.auth import TokenCache, token_path
from soulsyncd.spotify.player import SpotifyPlayer, build_spotify_player
from soulsyncd.spotify.playlists import PlaylistStore
from soulsyncd.testing import ListPicker, ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayIntent, Track

SPEAKER = "Kitchen"
PLAY = PlayIntent("play", valence=0.8, energy=0.6, reason="happy")
PAUSE = PlayIntent("pause", reason="nobody there")
WALL0 = 1_700_000_000.0  # the rig's wall clock is this plus the manual clock


def add_tracks(fake: FakeSpotify, count: int, *, prefix: str = "T", duration_s: float = 180.0) -> list[Track]:
    """``count`` tracks in the fake's catalog (durations 180, 181, ... s), as the picker's Tracks."""
    tracks = []
    for i in range(count):
        uri = f"spotify:track:{prefix}{i:04d}"
        fake.add_track(uri, f"{prefix} song {i}", [f"{prefix} band {i % 3}"], duration_s + i)
        tracks.append(Track(uri, f"{prefix} song {i}", (f"{prefix} band {i % 3}",), duration_s + i))
    return tracks


def log_in(fake: FakeSpotify, state_dir: Path) -> None:
    """A token cache as spotify-login leaves it."""
    TokenCache(token_path(state_dir)).save_token_to_cache(fake.issue_tokens())


def spotify_config(fake: FakeSpotify, state_dir: Path, *, music: dict[str, Any] | None = None,
                   **player: Any) -> Config:
    settings = {"client_id": fake.client_id, "device": SPEAKER, **player}
    return Config(
        player=SpotifyPlayerConfig(**settings),
        music=parse_config({"music": {"playlists": music or {}}}).music,
        state=StateConfig(dir=state_dir),
    )


@dataclass
class Rig:
    """A fake account, a manual clock shared with it, and a player driven by :meth:`run_for`."""

    fake: FakeSpotify
    clock: ManualClock
    player: SpotifyPlayer
    picker: ListPicker
    tracks: list[Track]
    steps: int = 0
    delays: list[float | None] = field(default_factory=list)

    def run_for(self, seconds: float) -> None:
        """Run the player's steps as its thread would, over ``seconds`` of the manual clock.

        Fails if the player asks to be stepped again at once over and over (a busy loop)."""
        end = self.clock.now + seconds
        immediate = 0
        while True:
            delay = self.player.run_once()
            self.steps += 1
            self.delays.append(delay)
            if delay is None:
                delay = float("inf")
            immediate = immediate + 1 if delay == 0 else 0
            assert immediate < 20, "the player keeps asking to run again at once (busy loop)"
            if self.clock.now + delay > end:
                self.clock.now = end
                return
            self.clock.now += delay

    def requests(self, since: float = float("-inf")) -> list[tuple[str, str]]:
        """(method, path) of every request the fake answered at or after clock time ``since``."""
        return [(r.method, r.path) for r in self.fake.requests if r.at >= since]

    def commands(self, since: float = float("-inf")) -> list[tuple[str, str]]:
        """The requests that change something (not GETs)."""
        return [(m, p) for m, p in self.requests(since) if m != "GET"]

    def playing_uri(self) -> str | None:
        playback = self.fake.playback()
        if not playback or not playback.get("is_playing"):
            return None
        uri: str = playback["item"]["uri"]
        return uri


def make_rig(
    fake: FakeSpotify,
    clock: ManualClock,
    state_dir: Path,
    *,
    tracks: list[Track] | None = None,
    store: PlaylistStore | None = None,
    music: dict[str, Any] | None = None,
    speaker: bool = True,
    **player: Any,
) -> Rig:
    """A logged-in player on ``fake`` (with the speaker, unless ``speaker`` is False)."""
    if speaker:
        fake.add_device(SPEAKER)
    tracks = tracks if tracks is not None else add_tracks(fake, 6)
    log_in(fake, state_dir)
    picker = ListPicker(tracks)
    config = spotify_config(fake, state_dir, music=music, **player)
    built = build_spotify_player(config, picker, store=store, clock=clock, wall=lambda: WALL0 + clock.now,
                                 api_prefix=fake.api_prefix, token_url=fake.token_url, start=False)
    return Rig(fake, clock, built, picker, tracks)
