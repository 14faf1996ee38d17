"""State snapshot -> MQTT topics and payloads, as pure functions (no broker, no clock of their own).

Every state topic sits under the base topic (``soulsync/<device_id>``), is published retained with
QoS 1, and is either a plain value (``mode`` = ``match``) or one JSON object (``mood``). Numbers are
rounded so a dashboard doesn't see a new state for every flicker of the fourth decimal.

:class:`ChangeFilter` decides which of them are worth sending: a *discrete* change (a new emotion, a
new track, a status) goes out at once; a change only in continuous figures (confidence, valence,
playback progress) at most every ``refresh_s``.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from soulsyncd.core.state import DaemonState
from soulsyncd.interfaces import Clock
from soulsyncd.types import EMOTION_LABELS, PlayerState

AVAILABILITY = "availability"
ONLINE = "online"
OFFLINE = "offline"

# The state topics (suffixes of the base topic), in publishing order. ``diagnostics`` is separate:
# it goes out on its own timer.
MOOD = "mood"
FACES = "faces"
MODE = "mode"
TARGET = "target"
SHIFT = "shift"
PAUSED = "paused"
PLAYING = "playing"
PLAYER = "player"
DEVICE = "device"
VOLUME = "volume"
CAMERA = "camera"
LOG_LEVEL = "log_level"
DIAGNOSTICS = "diagnostics"
STATE_TOPICS: tuple[str, ...] = (MOOD, FACES, MODE, TARGET, SHIFT, PAUSED, PLAYING, PLAYER, DEVICE, VOLUME,
                                 CAMERA, LOG_LEVEL)

NONE = "None"  # what Home Assistant's MQTT sensors and numbers read as "unknown"
TEXT_MAX = 255  # Home Assistant refuses a state longer than this


class StateMessage(NamedTuple):
    """One retained state message.

    Attributes:
        topic: the full topic.
        payload: the text to publish.
        key: the discrete part of the payload; a change in it is sent at once (see ChangeFilter).
    """

    topic: str
    payload: str
    key: str


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _on_off(value: bool) -> str:
    return "ON" if value else "OFF"


def _iso(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")


def _clip(text: str, limit: int = TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mood_payload(state: DaemonState) -> tuple[str, str]:
    """(payload, key): the stable emotion (null before the first frame, ``absent`` with nobody there)
    with confidence, valence, arousal and the smoothed window's seven probabilities by label."""
    mood = state.mood
    probabilities = None
    if state.probabilities is not None:
        pairs = zip(EMOTION_LABELS, state.probabilities, strict=False)
        probabilities = {label: _r(p, 3) for label, p in pairs}
    emotion = None if mood is None else mood.label
    payload = {
        "emotion": emotion,
        "confidence": None if mood is None or mood.absent else _r(mood.confidence),
        "valence": None if mood is None or mood.absent else _r(mood.valence),
        "arousal": None if mood is None or mood.absent else _r(mood.arousal),
        "probabilities": probabilities,
    }
    return _json(payload), str(emotion)


def shift_payload(state: DaemonState) -> str:
    """Where a shift stands: target, step of steps and percent; all null when no shift runs.

    Null as soon as the mode is not ``shift``: the loop may keep the last progress until the next
    track, and a dashboard must not show a shift that was switched off.
    """
    shift = state.shift
    if shift is None or state.mode != "shift":
        return _json({"target": None, "step": None, "steps": None, "percent": None})
    percent = round(100 * shift.step / shift.steps) if shift.steps > 0 else None
    return _json({"target": shift.target, "step": shift.step, "steps": shift.steps, "percent": percent})


def now_playing_text(player: PlayerState) -> str:
    """``Title — Artist, Artist`` (or ``nothing``), short enough for a Home Assistant state."""
    if player.track is None:
        return "nothing"
    return _clip(f"{player.track.name} — {player.track.artist_text}")


def playing_payload(player: PlayerState) -> tuple[str, str]:
    """(payload, key): the track, speaker, playing or paused and progress; the key leaves out progress."""
    track = player.track
    fields: dict[str, Any] = {  # a duration of 0 is unknown (a catalog row without one): null
        "text": now_playing_text(player),
        "title": None if track is None else track.name,
        "artists": [] if track is None else list(track.artists),
        "uri": None if track is None else track.uri,
        "duration_s": None if track is None or not track.duration_s else _r(track.duration_s, 1),
        "device": player.device,
        "playing": player.playing,
        "volume": player.volume,
    }
    key = _json(fields)
    fields["progress_s"] = _r(player.progress_s, 0) if track is not None else None
    return _json(fields), key


def player_payload(player: PlayerState) -> str:
    """The player's status in words (``ok``, ``no device``, ``rate limited``...) with why and until when."""
    return _json({
        "status": player.status.value,
        "detail": player.detail or None,
        "retry_at": _iso(player.retry_at),
        "last_error": None if player.last_error is None else _clip(player.last_error),
    })


def camera_payload(state: DaemonState) -> str:
    """The camera's status (``ok``, ``absent``, ``disabled`` by the privacy switch, ``error``...)."""
    return _json({
        "status": state.camera.value,
        "enabled": state.camera.value != "disabled",
        "detail": state.camera_detail or None,
    })


def state_messages(state: DaemonState, base: str) -> list[StateMessage]:
    """Every state topic for ``state`` under ``base`` (diagnostics and availability excepted)."""
    mood, mood_key = mood_payload(state)
    playing, playing_key = playing_payload(state.player)
    device = state.player.device or ""
    volume = NONE if state.player.volume is None else str(state.player.volume)
    plain = {
        FACES: str(state.faces),
        MODE: state.mode,
        TARGET: state.target,
        SHIFT: shift_payload(state),
        PAUSED: _on_off(state.paused),
        PLAYER: player_payload(state.player),
        DEVICE: _clip(device, 100),
        VOLUME: volume,
        CAMERA: camera_payload(state),
        LOG_LEVEL: state.log_level,
    }
    messages = [StateMessage(f"{base}/{MOOD}", mood, mood_key)]
    messages += [StateMessage(f"{base}/{name}", payload, payload) for name, payload in plain.items()]
    messages.append(StateMessage(f"{base}/{PLAYING}", playing, playing_key))
    return sorted(messages, key=lambda m: STATE_TOPICS.index(m.topic.rsplit("/", 1)[1]))


def select(messages: Iterable[StateMessage], base: str, names: Sequence[str]) -> list[StateMessage]:
    """The messages for the topics ``names`` (suffixes of ``base``)."""
    wanted = {f"{base}/{name}" for name in names}
    return [message for message in messages if message.topic in wanted]


# --- diagnostics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessSample:
    cpu_percent: float | None  # of one core, over the last whole interval; None before the first
    rss_mb: float


class ProcessSampler:
    """CPU % (of one core, all threads) over intervals of at least ``min_interval_s``, and resident memory.

    The first call only starts the measurement. A call less than ``min_interval_s`` after the start
    of the current interval repeats the last figure (None before there is one) and lets the interval
    run on: a report right after start-up would otherwise read the model load as ~100 % CPU, and an
    extra report (a new error) would measure a few milliseconds of whatever happened to run.
    """

    def __init__(self, clock: Clock, min_interval_s: float = 0.0) -> None:
        self._clock = clock
        self._min_interval_s = min_interval_s
        self._last: tuple[float, float] | None = None
        self._percent: float | None = None

    def sample(self) -> ProcessSample:
        now, cpu = self._clock.monotonic(), time.process_time()
        if self._last is None:
            self._last = (now, cpu)
        elif now > self._last[0] and now - self._last[0] >= self._min_interval_s:
            self._percent = _r(100.0 * (cpu - self._last[1]) / (now - self._last[0]), 1)
            self._last = (now, cpu)
        return ProcessSample(cpu_percent=self._percent, rss_mb=round(_rss_bytes() / 1e6, 1))


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_STARTED_AT: float | None = None


def process_started_at() -> float:
    """When this process started (epoch seconds): from /proc (the kernel's own record), else the first
    call. Stable between reports, so Home Assistant's timestamp sensor does not tick."""
    global _STARTED_AT  # noqa: PLW0603 -- one value per process, computed once
    if _STARTED_AT is None:
        _STARTED_AT = _proc_start_time() or time.time()
    return _STARTED_AT


def _proc_start_time() -> float | None:
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as proc_stat:
            boot = next(int(line.split()[1]) for line in proc_stat if line.startswith("btime "))
        return round(boot + start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def diagnostics_payload(state: DaemonState, process: ProcessSample, rejected: int) -> str:
    """Analysed frames/s, inference and detector ms, CPU %, RSS, uptime and start time, counters and
    the last error."""
    stats = state.stats
    return _json({
        "started_at": _iso(process_started_at()),
        "analysis_fps": _r(stats.analysis_fps),
        "inference_ms": _r(stats.inference_ms),
        "detector_ms": _r(stats.detector_ms),
        "cpu_percent": process.cpu_percent,
        "rss_mb": process.rss_mb,
        "uptime_s": round(stats.uptime_s),
        "frames_analysed": stats.frames_analysed,
        "frames_with_face": stats.frames_with_face,
        "commands_dropped": stats.commands_dropped,
        "mqtt_rejected": rejected,
        "last_error": None if state.last_error is None else _clip(state.last_error),
    })


# --- what to send -----------------------------------------------------------------------------------


class ChangeFilter:
    """Remembers what each topic last carried on the broker and picks the messages worth sending.

    A message is due when its key differs from the last one sent (a discrete change: at once), or
    its payload does and ``refresh_s`` has passed since that topic was last sent (continuous
    figures: rate-limited). Not thread-safe: the bridge holds its lock around it.
    """

    def __init__(self, clock: Clock, refresh_s: float = 10.0) -> None:
        self._clock = clock
        self._refresh_s = refresh_s
        self._sent: dict[str, tuple[str, str, float]] = {}  # topic -> (key, payload, when)

    def due(self, messages: Iterable[StateMessage]) -> list[StateMessage]:
        now = self._clock.monotonic()
        result = []
        for message in messages:
            sent = self._sent.get(message.topic)
            if (sent is None or sent[0] != message.key
                    or (sent[1] != message.payload and now - sent[2] >= self._refresh_s)):
                result.append(message)
        return result

    def sent(self, message: StateMessage) -> None:
        """Record that ``message`` is on its way to the broker."""
        self._sent[message.topic] = (message.key, message.payload, self._clock.monotonic())

    def forget(self) -> None:
        """Forget everything (after a reconnect the full set goes out again)."""
        self._sent.clear()
