"""The Spotify player's decisions (soulsyncd.spotify.control) at their edges, against the fake Web API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from soulsyncd.testing import ManualClock
from soulsyncd.testing.fake_spotify import FakeSpotify
from soulsyncd.types import PlayerStatus
from tests.spotify_support import PLAY, SPEAKER, Rig, make_rig


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSpotify]:
    with FakeSpotify(clock=clock.monotonic) as server:
        yield server


@pytest.fixture
def rig(fake: FakeSpotify, clock: ManualClock, tmp_path: Path) -> Rig:
    return make_rig(fake, clock, tmp_path)


def speaker_volume(rig: Rig) -> int:
    playback = rig.fake.playback()
    assert playback is not None
    assert playback["device"]["name"] == SPEAKER
    return int(playback["device"]["volume_percent"])


@pytest.mark.parametrize(("asked", "sent"), [(150, 100), (100, 100), (99, 99), (0, 0), (-7, 0), (1, 1)])
def test_the_volume_is_clamped_to_0_100_in_state_and_on_the_speaker(rig: Rig, asked: int, sent: int) -> None:
    rig.player.apply(PLAY)
    rig.run_for(5)
    assert rig.player.state().status is PlayerStatus.OK
    rig.player.set_output(volume=asked)
    rig.run_for(5)
    assert rig.player.state().volume == sent
    assert speaker_volume(rig) == sent


def test_a_volume_set_while_playing_goes_out_once(rig: Rig) -> None:
    rig.player.apply(PLAY)
    rig.run_for(5)
    since = rig.clock.now
    rig.player.set_output(volume=42)
    rig.run_for(10)
    assert [r for r in rig.commands(since) if r[1] == "/v1/me/player/volume"] == [
        ("PUT", "/v1/me/player/volume")]
    assert speaker_volume(rig) == 42
