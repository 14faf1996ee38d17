"""Happenings as Home Assistant ``event`` messages, as pure functions of two consecutive snapshots.

The bridge reads the core's event stream and keeps the snapshot it saw last; :func:`happenings`
compares it with the next one and names what happened in between: the mood changed, a track
started, the listener took over (or handed back), the camera's status changed. Each becomes one
message on ``<base>/event/<name>``, not retained (an event is a moment, not a state), with the
``event_type`` Home Assistant's ``event`` entity and device triggers match on and the details as
attributes.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from soulsyncd.core.state import DaemonState
from soulsyncd.types import EMOTION_LABELS, CameraStatus, PlayerStatus

MOOD = "mood"
TRACK = "track"
LISTENER = "listener"
CAMERA = "camera"
EVENT_TOPICS: tuple[str, ...] = (MOOD, TRACK, LISTENER, CAMERA)
"""The event topics (``<base>/event/<name>``)."""

MOOD_TYPES: tuple[str, ...] = (*EMOTION_LABELS, "absent")
TRACK_TYPES: tuple[str, ...] = ("started",)
TOOK_OVER = "took_over"
HANDED_BACK = "handed_back"
LISTENER_TYPES: tuple[str, ...] = (TOOK_OVER, HANDED_BACK)
CAMERA_TYPES: tuple[str, ...] = tuple(status.value for status in CameraStatus)
EVENT_TYPES: dict[str, tuple[str, ...]] = {MOOD: MOOD_TYPES, TRACK: TRACK_TYPES, LISTENER: LISTENER_TYPES,
                                           CAMERA: CAMERA_TYPES}


class EventMessage(NamedTuple):
    """One event: its topic and JSON payload (never retained)."""

    topic: str
    payload: str


def topic(base: str, name: str) -> str:
    return f"{base}/event/{name}"


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def why(state: DaemonState) -> dict[str, Any]:
    """Why the current track plays: the listener chose it, a shift step (k of n toward a target) or a
    match of the mood; with the player's own words (``detail``) when it has any."""
    player = state.player
    if player.status is PlayerStatus.LISTENER_IN_CONTROL:
        reason: dict[str, Any] = {"why": "listener"}
    elif state.mode == "shift" and state.shift is not None and state.shift.steps > 0:
        shift = state.shift
        reason = {"why": f"shift step {shift.step} of {shift.steps}", "step": shift.step,
                  "steps": shift.steps, "target": shift.target}
    else:
        intent = state.last_intent
        emotion = intent.emotion if intent is not None else None
        reason = {"why": "match", "emotion": emotion}
    reason["detail"] = player.detail or None
    return reason


def happenings(before: DaemonState, after: DaemonState, base: str) -> list[EventMessage]:
    """What happened between two snapshots, as event messages (none when nothing did)."""
    messages: list[EventMessage] = []
    if after.mood is not None and (before.mood is None or before.mood.label != after.mood.label):
        mood = after.mood
        present = not mood.absent
        messages.append(EventMessage(topic(base, MOOD), _json({
            "event_type": mood.label,
            "confidence": _r(mood.confidence) if present else None,
            "valence": _r(mood.valence) if present else None,
            "arousal": _r(mood.arousal) if present else None,
            "faces": after.faces,
        })))
    track, previous = after.player.track, before.player.track
    if track is not None and (previous is None or previous.uri != track.uri):
        messages.append(EventMessage(topic(base, TRACK), _json({
            "event_type": "started", "title": track.name, "artists": list(track.artists), "uri": track.uri,
            "device": after.player.device, **why(after),
        })))
    in_control = PlayerStatus.LISTENER_IN_CONTROL
    if (after.player.status is in_control) != (before.player.status is in_control):
        took_over = after.player.status is in_control
        messages.append(EventMessage(topic(base, LISTENER), _json({
            "event_type": TOOK_OVER if took_over else HANDED_BACK,
            "device": after.player.device,
            "title": None if track is None else track.name,
            "detail": after.player.detail or None,
        })))
    if after.camera != before.camera:
        messages.append(EventMessage(topic(base, CAMERA), _json({
            "event_type": after.camera.value, "previous": before.camera.value,
            "detail": after.camera_detail or None,
        })))
    return messages
