"""The page's "last events" lines say what the state says (issue 16's states that never lie)."""

from __future__ import annotations

from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.types import CameraStatus, Mood
from soulsyncd.web.view import event_text


def test_a_mood_forgotten_with_the_camera_off_is_unknown_not_nobody() -> None:
    """Camera off: the mood is unknown (MQTT's null, the page's "unknown"), not an empty room."""
    state = DaemonState(mood=None, camera=CameraStatus.DISABLED, camera_detail="privacy switch")
    assert event_text(Event(EventKind.MOOD, state)) == "mood unknown"


def test_an_empty_room_is_nobody_in_view() -> None:
    absent = Mood(emotion=None, confidence=0.0, valence=0.0, arousal=0.0, since=0.0)
    assert event_text(Event(EventKind.MOOD, DaemonState(mood=absent, camera=CameraStatus.OK))) == \
        "nobody in view"
