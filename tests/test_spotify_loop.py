"""The analysis loop keeps its rate while Spotify answers slowly or with 429: the real core
(``SoulSync``) ticking with the real Spotify player on its own thread against the fake server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from soulsyncd.core.commands import SetMode
from soulsyncd.core.loop import SoulSync
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.smoother import MoodSmoother
from soulsyncd.spotify.player import SpotifyPlayer, build_spotify_player
from soulsyncd.testing import ListPicker, ManualClock, ReplaySource
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import FaceBox, Frame, PlayerStatus
from tests.spotify_support import SPEAKER, add_tracks, log_in, spotify_config

TICKS = 100
TICK_S = 0.2
FACE = np.full((64, 64, 3), 128, np.uint8)


class OneFace:
    def detect(self, frame: Frame) -> list[FaceBox]:
        return [FaceBox(8, 8, 48, 48)]


class Happy:
    def classify(self, faces: object) -> np.ndarray:
        probabilities = np.zeros((1, 7), np.float32)
        probabilities[0, 3] = 1.0
        return probabilities


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    with FakeSpotify() as server:  # real monotonic clock: the player runs on its own thread here
        server.add_device(SPEAKER)
        yield server


def core_with_player(fake: FakeSpotify, tmp_path: Path) -> tuple[SoulSync, SpotifyPlayer, ManualClock]:
    log_in(fake, tmp_path)
    player = build_spotify_player(spotify_config(fake, tmp_path), ListPicker(add_tracks(fake, 3)),
                                  api_prefix=fake.api_prefix, token_url=fake.token_url)
    clock = ManualClock()
    core = SoulSync(source=ReplaySource([FACE] * (20 * TICKS), clock), detector=OneFace(), classifier=Happy(),
                    smoother=MoodSmoother(), policy=MoodPolicy(mode="match"), player=player, clock=clock)
    return core, player, clock


def tick(core: SoulSync, clock: ManualClock, n: int) -> None:
    for _ in range(n):
        clock.advance(TICK_S)
        core.tick()


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    done = threading.Event()
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        done.wait(0.02)
    return True


def tick_until(core: SoulSync, clock: ManualClock, condition: Callable[[], bool]) -> bool:
    """Tick (as the loop would) until ``condition`` holds, for at most 20 s of real time."""

    def ticked() -> bool:
        tick(core, clock, 1)
        return condition()

    return wait_for(ticked)


def test_ticks_go_on_while_spotify_answers_slowly(fake: FakeSpotify, tmp_path: Path) -> None:
    latency_s = 2.0
    fake.set_latency(latency_s)
    core, player, clock = core_with_player(fake, tmp_path)
    try:
        tick(core, clock, TICKS)  # the first play intent goes out after a few ticks
        ticks_done_at = time.monotonic()
        assert core.stats.frames_analysed == TICKS  # every frame analysed, none waited on HTTP
        assert player.state().status is PlayerStatus.IDLE  # Spotify has not answered yet
        assert wait_for(lambda: bool(fake.requests))
        fake.set_latency(0)
        # All those ticks were done before Spotify had answered even the first request.
        assert ticks_done_at < fake.requests[0].at + latency_s
        assert tick_until(core, clock, lambda: core.latest().player.status is PlayerStatus.OK)
        assert core.stats.frames_analysed > TICKS
    finally:
        fake.set_latency(0)
        core.close()


def test_ticks_go_on_and_nothing_storms_while_spotify_answers_429(fake: FakeSpotify, tmp_path: Path) -> None:
    fake.fail_next(10_000, 429, retry_after=3600)
    core, player, clock = core_with_player(fake, tmp_path)
    try:
        tick(core, clock, TICKS)
        assert tick_until(core, clock, lambda: core.latest().player.status is PlayerStatus.RATE_LIMITED)
        analysed = core.stats.frames_analysed
        for _ in range(5):  # the listener sets the mode again and again: each is a new claim
            core.commands.submit(SetMode("match"))
            tick(core, clock, TICKS // 5)
        assert core.stats.frames_analysed == analysed + TICKS
        assert core.wait_player_idle(5)
        state = player.state()
        assert state.status is PlayerStatus.RATE_LIMITED
        assert state.retry_at is not None
        assert state.retry_at > time.time() + 3500
        assert len(fake.requests) == 1  # one 429, then silence until Retry-After
    finally:
        core.close()
