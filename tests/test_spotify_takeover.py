"""The listener-in-control rules and the hands-off back-off, checked with values."""

from __future__ import annotations

from soulsyncd.spotify.client import Device, Playback
from soulsyncd.spotify.takeover import HandsOff, other_music_plays, something_plays, started_by_us
from soulsyncd.types import Track


def playback(uri: str | None, *, device: str | None = "Kitchen", playing: bool = True) -> Playback:
    track = Track(uri=uri, name="Song", artists=("A",), duration_s=200.0) if uri else None
    speaker = Device("id", device, "Speaker", True, False, 50) if device else None
    return Playback(device=speaker, track=track, progress_s=10.0, playing=playing, context_uri=None)


def test_our_music_is_a_remembered_track_on_the_configured_speaker_ignoring_case() -> None:
    assert started_by_us(playback("spotify:track:a"), {"spotify:track:a"}, "kitchen")
    assert started_by_us(playback("spotify:track:a", device="TV"), {"spotify:track:a"}, None)
    assert not started_by_us(playback("spotify:track:a", device="TV"), {"spotify:track:a"}, "Kitchen")
    assert not started_by_us(playback("spotify:track:b"), {"spotify:track:a"}, "Kitchen")
    assert not started_by_us(playback("spotify:track:a", device=None), {"spotify:track:a"}, None)


def test_what_counts_as_the_listeners_music() -> None:
    assert something_plays(playback("spotify:track:a"))
    assert not something_plays(playback("spotify:track:a", playing=False))
    assert not something_plays(playback(None))
    assert not something_plays(None)
    assert other_music_plays(playback("spotify:track:b"), "spotify:track:a")
    assert other_music_plays(playback(None), "spotify:track:a")  # an ad, a podcast: not our track
    assert not other_music_plays(playback("spotify:track:a"), "spotify:track:a")
    assert not other_music_plays(playback("spotify:track:b", playing=False), "spotify:track:a")


def test_hands_off_lasts_one_period_then_again_while_their_music_plays() -> None:
    hands = HandsOff(900.0)
    assert not hands.active
    assert hands.detail() is None
    hands.begin(100.0, 1_000_000.0, playback("spotify:track:x", device="Phone"), "'Song' is playing")
    assert hands.active
    assert hands.waiting(999.0)
    assert not hands.waiting(1000.0)
    assert (hands.until, hands.wall_until, hands.device) == (1000.0, 1_000_900.0, "Phone")
    assert (hands.detail() or "").startswith("hands off until ")
    assert hands.recheck(1000.0, 1_000_900.0, playback("spotify:track:y", device=None))
    assert (hands.until, hands.device) == (1900.0, "Phone")  # no device named: the last one stays
    assert not hands.recheck(1900.0, 1_001_800.0, playback("spotify:track:y", playing=False))
    assert (hands.active, hands.wall_until, hands.device) == (False, None, None)


def test_ending_says_whether_hands_were_off() -> None:
    hands = HandsOff(60.0)
    assert not hands.end()
    hands.begin(0.0, 0.0, None, "the listener paused")
    assert hands.end()
    assert not hands.active
