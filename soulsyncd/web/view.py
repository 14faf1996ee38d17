"""What the page shows, as plain JSON-ready values made from one :class:`DaemonState` (pure functions)."""

from __future__ import annotations

import time
from typing import Any

from soulsyncd.core.state import DaemonState, Event, EventKind
from soulsyncd.types import PlayerState, PlayerStatus
from soulsyncd.vision.framing import BLURRED_BELOW, TOO_DARK_BELOW

TEXT_MAX = 300  # any text from the player or an error is cut to this


def _clip(text: str | None) -> str:
    if not text:
        return ""
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _clock(epoch: float | None) -> str | None:
    return None if epoch is None else time.strftime("%H:%M", time.localtime(epoch))


def why_chosen(player: PlayerState, state: DaemonState) -> str:
    """Why the track plays, in the words the engine used: a match, a shift step, or learned."""
    if player.detail:
        return _clip(player.detail)
    intent = state.last_intent
    return _clip(intent.reason) if intent is not None else ""


def player_detail(player: PlayerState) -> str:
    """The player's status with what it waits for (``retry at 12:04``, ``listener in control until
    14:10``)."""
    parts = [player.status.value]
    if player.retry_at is not None:
        if player.status is PlayerStatus.LISTENER_IN_CONTROL:
            parts.append(f"until {_clock(player.retry_at)}")
        else:
            parts.append(f"retry at {_clock(player.retry_at)}")
    if player.last_error:
        parts.append(f"({_clip(player.last_error)})")
    return " ".join(parts)


def shift_text(state: DaemonState) -> str:
    """``step 2 of 5 toward happy``, ``holding at happy``, ``stepping back``, or empty."""
    shift = state.shift
    if state.mode != "shift" or shift is None:
        return ""
    if shift.steps and shift.step >= shift.steps:
        return f"holding at {shift.target}"
    return f"step {shift.step} of {shift.steps} toward {shift.target}"


def framing_view(state: DaemonState) -> dict[str, Any]:
    framing = state.framing
    hints = []
    if framing.brightness is not None and framing.brightness < TOO_DARK_BELOW:
        hints.append("too dark")
    if framing.sharpness is not None and framing.sharpness < BLURRED_BELOW:
        hints.append("blurred")
    return {
        "width": framing.width, "height": framing.height, "boxes": [list(b) for b in framing.boxes],
        "face_rate": framing.face_rate, "brightness": framing.brightness, "sharpness": framing.sharpness,
        "hints": hints,
    }


def state_view(state: DaemonState, *, cpu_percent: float | None = None, rss_mb: float | None = None,
               broker: str = "not configured") -> dict[str, Any]:
    """Everything the page's "now", "framing" and "diagnostics" panels show."""
    mood = state.mood
    player = state.player
    track = player.track
    stats = state.stats
    return {
        "mood": None if mood is None else {
            "label": mood.label, "confidence": round(mood.confidence, 2), "valence": round(mood.valence, 2),
            "arousal": round(mood.arousal, 2),
        },
        "faces": state.faces,
        "mode": state.mode,
        "target": state.target,
        "paused": state.paused,
        "shift": shift_text(state),
        "playing": None if track is None else {
            "title": _clip(track.name), "artists": _clip(track.artist_text),
            "valence": track.valence, "energy": track.energy, "why": why_chosen(player, state),
            "playing": player.playing,
        },
        "player": {"status": player.status.value, "text": player_detail(player), "device": player.device,
                   "volume": player.volume},
        "camera": {"status": state.camera.value, "detail": _clip(state.camera_detail)},
        "broker": broker,
        "framing": framing_view(state),
        "stats": {
            "fps": stats.analysis_fps, "inference_ms": stats.inference_ms, "detector_ms": stats.detector_ms,
            "uptime_s": stats.uptime_s, "frames": stats.frames_analysed, "cpu_percent": cpu_percent,
            "rss_mb": rss_mb,
        },
        "last_error": _clip(state.last_error),
    }


def event_text(event: Event) -> str | None:  # noqa: PLR0911 - one line per kind
    """One line for the page's "last events" list; None for the periodic diagnostics."""
    state = event.state
    kind = event.kind
    if kind is EventKind.MOOD:
        mood = state.mood
        if mood is None:  # no frame analysed: camera off, absent or ended, or not started yet
            return "mood unknown"
        if mood.absent:
            return "nobody in view"
        return f"mood {mood.label} ({mood.confidence:.2f})"
    if kind is EventKind.DECISION:
        intent = state.last_intent
        return None if intent is None else _clip(f"{intent.action}: {intent.reason}")
    if kind is EventKind.CAMERA:
        detail = f" ({_clip(state.camera_detail)})" if state.camera_detail else ""
        return f"camera {state.camera.value}{detail}"
    if kind is EventKind.PLAYER:
        track = state.player.track
        now = f": {_clip(track.name)} — {_clip(track.artist_text)}" if track is not None else ""
        return f"player {state.player.status.value}{now}"
    if kind is EventKind.CONTROL:
        return f"mode {state.mode}, target {state.target}{', paused' if state.paused else ''}"
    if kind is EventKind.ERROR:
        return _clip(state.last_error or "error")
    return None
