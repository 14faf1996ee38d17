"""The player's pure rules at their edges: log wording, the same speaker, recovery lines."""

from __future__ import annotations

import pytest

from soulsyncd.spotify.client import Device, Playback
from soulsyncd.spotify.errors import (
    ApiError,
    LoginRequiredError,
    NoDeviceError,
    OfflineError,
    PremiumRequiredError,
    RateLimitedError,
    SpotifyError,
)
from soulsyncd.spotify.rules import choose_device, names, recovered_message, same_device, what, where
from soulsyncd.types import Track


def speaker(name: str, id: str | None = "a", *, restricted: bool = False) -> Device:
    return Device(id=id, name=name, type="Speaker", active=False, restricted=restricted, volume=50)


def test_names_lists_the_visible_speakers_or_says_none() -> None:
    assert names([speaker("TV"), speaker("Box", restricted=True)]) == "'TV', 'Box' (restricted)"
    assert names([]) == "none"
    with pytest.raises(NoDeviceError, match=r"^speaker 'Kitchen' not found \(visible: none\)$"):
        choose_device([], "Kitchen")


def test_the_same_speaker_by_id_or_by_name() -> None:
    kitchen = speaker("Kitchen", "1")
    assert same_device(speaker("Kitchen", "2"), kitchen)  # ids change now and then
    assert same_device(speaker("Renamed", "1"), kitchen)
    assert not same_device(speaker("TV", "2"), kitchen)


@pytest.mark.parametrize(("error", "line"), [
    (OfflineError("x"), "Spotify is reachable again"),
    (RateLimitedError("x", 5), "Spotify: the rate limit is over"),
    (LoginRequiredError("x"), "Spotify: logged in again"),
    (PremiumRequiredError("x"), "Spotify: player commands work again (Premium)"),
    (NoDeviceError("x"), "Spotify: the speaker is back"),
    (ApiError("x", 400), "Spotify answers again"),  # no state of its own
])
def test_recovered_message(error: SpotifyError, line: str) -> None:
    assert recovered_message(error) == line


def test_what_and_where_for_a_log_line() -> None:
    song = Track("spotify:track:1", "Song")
    full = Playback(device=speaker("Kitchen"), track=song, progress_s=1.0, playing=True, context_uri=None)
    empty = Playback(device=None, track=None, progress_s=0.0, playing=False, context_uri=None)
    assert (what(full), where(full)) == ("'Song'", "Kitchen")
    assert (what(empty), where(empty)) == ("something", "another device")
