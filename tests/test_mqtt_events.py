"""Happenings between two snapshots as Home Assistant event messages (pure)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from soulsyncd.core.state import DaemonState, ShiftProgress
from soulsyncd.mqtt import events as ev
from soulsyncd.types import CameraStatus, Emotion, Mood, PlayerState, PlayerStatus, PlayIntent, Track

BASE = "soulsync/room"
SAD = Mood(Emotion.SAD, confidence=0.7123, valence=-0.6, arousal=-0.3, since=0.0)
HAPPY = Mood(Emotion.HAPPY, confidence=0.8, valence=0.6, arousal=0.3, since=5.0)
ABSENT = Mood(None, confidence=0.0, valence=0.0, arousal=0.0, since=9.0)
SONG = Track("spotify:track:1", "Song", ("A", "B"), 200.0)
OTHER = Track("spotify:track:2", "Other", ("C",), 180.0)
PLAYING = PlayerState(status=PlayerStatus.OK, device="Kitchen", track=SONG, playing=True)


def events(before: DaemonState, after: DaemonState) -> dict[str, dict[str, Any]]:
    messages = ev.happenings(before, after, BASE)
    found = {m.topic.removeprefix(f"{BASE}/event/"): json.loads(m.payload) for m in messages}
    assert len(found) == len(messages)  # at most one per kind
    return found


def test_nothing_happened_nothing_is_sent() -> None:
    state = DaemonState(mood=SAD, player=PLAYING, camera=CameraStatus.OK)
    assert ev.happenings(state, dataclasses.replace(state, faces=2, mode="shift"), BASE) == []


def test_mood_changed_with_confidence_valence_arousal_and_faces() -> None:
    before = DaemonState(mood=SAD, faces=1)
    assert events(before, dataclasses.replace(before, mood=HAPPY, faces=2)) == {"mood": {
        "event_type": "happy", "confidence": 0.8, "valence": 0.6, "arousal": 0.3, "faces": 2}}
    assert events(DaemonState(), before)["mood"]["confidence"] == 0.71  # the first mood is a change
    # the same label with new figures is no event
    assert events(before, dataclasses.replace(before, mood=dataclasses.replace(SAD, confidence=0.9))) == {}


def test_nobody_there_is_the_mood_absent_without_figures() -> None:
    assert events(DaemonState(mood=SAD), DaemonState(mood=ABSENT))["mood"] == {
        "event_type": "absent", "confidence": None, "valence": None, "arousal": None, "faces": 0}


def test_track_started_says_why_match() -> None:
    before = DaemonState(player=PlayerState(status=PlayerStatus.OK))
    after = DaemonState(player=PLAYING, mode="match",
                        last_intent=PlayIntent(action="play", emotion="sad", mode="match"))
    assert events(before, after) == {"track": {
        "event_type": "started", "title": "Song", "artists": ["A", "B"], "uri": "spotify:track:1",
        "device": "Kitchen", "why": "match", "emotion": "sad", "detail": None}}


def test_track_started_says_why_shift_step_k_of_n() -> None:
    before = DaemonState(player=PLAYING, mode="shift")
    after = dataclasses.replace(before, player=dataclasses.replace(
        PLAYING, track=OTHER, detail="shift step 2 of 5 toward happy"),
        shift=ShiftProgress(target="happy", step=2, steps=5))
    track = events(before, after)["track"]
    assert (track["title"], track["why"], track["step"], track["steps"], track["target"]) == (
        "Other", "shift step 2 of 5", 2, 5, "happy")
    assert track["detail"] == "shift step 2 of 5 toward happy"


def test_the_same_track_again_is_no_new_start() -> None:
    before = DaemonState(player=PLAYING)
    later = dataclasses.replace(before, player=dataclasses.replace(PLAYING, progress_s=50))
    assert events(before, later) == {}


def test_listener_took_over_and_handed_back() -> None:
    ours = DaemonState(player=PLAYING)
    theirs = DaemonState(player=dataclasses.replace(PLAYING, status=PlayerStatus.LISTENER_IN_CONTROL,
                                                    device="Phone", detail="'Song' is playing on Phone"))
    assert events(ours, theirs) == {"listener": {
        "event_type": "took_over", "device": "Phone", "title": "Song",
        "detail": "'Song' is playing on Phone"}}
    assert events(theirs, ours)["listener"]["event_type"] == "handed_back"
    assert events(theirs, dataclasses.replace(theirs, player=dataclasses.replace(theirs.player,
                                                                                  progress_s=3))) == {}


def test_a_track_the_listener_started_says_so() -> None:
    theirs = DaemonState(player=dataclasses.replace(PLAYING, status=PlayerStatus.LISTENER_IN_CONTROL))
    after = dataclasses.replace(theirs, player=dataclasses.replace(theirs.player, track=OTHER))
    assert events(theirs, after)["track"]["why"] == "listener"


def test_camera_changed_with_the_previous_status() -> None:
    before = DaemonState(camera=CameraStatus.OK)
    after = DaemonState(camera=CameraStatus.DISABLED, camera_detail="privacy switch")
    assert events(before, after) == {"camera": {"event_type": "disabled", "previous": "ok",
                                                "detail": "privacy switch"}}


def test_every_event_type_sent_is_one_the_entity_declares() -> None:
    """Home Assistant drops an event whose type is not in the entity's event_types."""
    assert set(ev.EVENT_TYPES) == set(ev.EVENT_TOPICS)
    assert ev.MOOD_TYPES == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "absent")
    assert tuple(status.value for status in CameraStatus) == ev.CAMERA_TYPES
