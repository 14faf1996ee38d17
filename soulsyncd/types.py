"""Value types that flow through the daemon: frame -> faces -> scores -> mood -> intent -> player."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class Emotion(enum.IntEnum):
    """The seven FER2013 classes, in the dataset's (and the model's output) order."""

    ANGRY = 0
    DISGUST = 1
    FEAR = 2
    HAPPY = 3
    SAD = 4
    SURPRISE = 5
    NEUTRAL = 6

    @property
    def label(self) -> str:
        return self.name.lower()


EMOTION_LABELS: tuple[str, ...] = tuple(e.label for e in Emotion)


# Each FER2013 class placed on Russell's circumplex of affect: (valence, arousal), both in [-1, 1].
# Positions follow the circumplex's published angles (e.g. Russell 1980; Posner et al. 2005),
# rounded: they only need to order the classes sensibly for the mood policy.
CIRCUMPLEX: dict[Emotion, tuple[float, float]] = {
    Emotion.ANGRY: (-0.6, 0.7),
    Emotion.DISGUST: (-0.7, 0.3),
    Emotion.FEAR: (-0.6, 0.6),
    Emotion.HAPPY: (0.8, 0.4),
    Emotion.SAD: (-0.7, -0.4),
    Emotion.SURPRISE: (0.3, 0.8),
    Emotion.NEUTRAL: (0.0, 0.0),
}


@dataclass(frozen=True)
class Frame:
    """One camera frame: BGR pixels, when it was captured (monotonic seconds) and its sequence number."""

    image: np.ndarray = field(repr=False)  # (h, w, 3) uint8 BGR
    timestamp: float
    index: int


@dataclass(frozen=True)
class FaceBox:
    """A face's bounding box in full-frame pixel coordinates."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


@dataclass(frozen=True)
class Scores:
    """The emotion probabilities seen in one analysed frame (aggregated over its faces).

    ``probabilities`` is None when the frame had no face.
    """

    timestamp: float
    probabilities: tuple[float, ...] | None
    faces: int = 0


@dataclass(frozen=True)
class Mood:
    """The smoothed mood: a stable emotion (None = nobody there) with confidence and valence/arousal."""

    emotion: Emotion | None
    confidence: float
    valence: float
    arousal: float
    since: float  # monotonic time the emotion (or absence) began

    @property
    def absent(self) -> bool:
        return self.emotion is None

    @property
    def label(self) -> str:
        return "absent" if self.emotion is None else self.emotion.label


@dataclass(frozen=True)
class PlayIntent:
    """What the player should do: play music of this valence/energy (both in [0, 1]), or pause."""

    action: str  # "play" | "pause"
    valence: float = 0.5
    energy: float = 0.5
    reason: str = ""
    # For the mood engine: which mode asked, the listener's emotion, and (shift) the target's name.
    # In match mode (valence, energy) is the point to match; in shift mode the listener's own point,
    # from which the engine plans its steps toward the target, re-planned at every track boundary.
    mode: str = "match"
    emotion: str | None = None
    target: str | None = None
    # True when the listener asked for this (a mode set on the dashboard): the player takes playback
    # back even if someone else took over a moment ago.
    claim: bool = False


# --- what the player and the core report --------------------------------------------------------


class PlayerStatus(enum.StrEnum):
    """How playback stands, in words a dashboard can show as they are."""

    IDLE = "idle"  # nothing asked of the player yet, or paused because nobody is there
    OK = "ok"  # playing (or paused) as asked
    DRY_RUN = "dry run"  # the dry-run player: nothing really plays
    NO_DEVICE = "no device"  # the configured speaker is not visible
    PREMIUM_REQUIRED = "premium required"
    LOGIN_REQUIRED = "login required"
    LISTENER_IN_CONTROL = "listener in control"  # someone took over playback; hands off for a while
    RATE_LIMITED = "rate limited"  # waiting out a 429 until retry_at
    OFFLINE = "offline"  # the service is unreachable; retrying with back-off


@dataclass(frozen=True)
class Track:
    """A track the player can play, with the features the mood engine chose it by (None: unknown)."""

    uri: str
    name: str
    artists: tuple[str, ...] = ()
    duration_s: float = 0.0
    valence: float | None = None
    energy: float | None = None

    @property
    def artist_text(self) -> str:
        return ", ".join(self.artists) if self.artists else "unknown artist"


@dataclass(frozen=True)
class PlayerState:
    """A snapshot of the player, safe to hand to any thread.

    ``retry_at`` is wall-clock (epoch) seconds, so it can be shown as "retry at 12:04".
    """

    status: PlayerStatus = PlayerStatus.IDLE
    device: str | None = None
    track: Track | None = None
    playing: bool = False
    progress_s: float = 0.0
    volume: int | None = None
    last_error: str | None = None
    retry_at: float | None = None
    detail: str = ""  # e.g. "shift step 2 of 5 toward happy"


class CameraStatus(enum.StrEnum):
    """How the frame source stands."""

    STARTING = "starting"
    OK = "ok"
    ABSENT = "absent"  # no device (unplugged, not found); retrying with back-off
    DISABLED = "disabled"  # turned off by the privacy switch: the device is released
    ERROR = "error"  # capture failed; retrying with back-off
    ENDED = "ended"  # a file source without loop reached its end


@dataclass(frozen=True)
class ShiftProgress:
    """Where a shift stands: step ``step`` of ``steps`` toward ``target`` (0 of n: not started)."""

    target: str
    step: int
    steps: int


@dataclass(frozen=True)
class Framing:
    """What the framing check shows instead of pixels (:mod:`soulsyncd.vision.framing`); None: unknown.

    Here, below both, because the core carries it in its snapshot and vision measures it.

    ``boxes`` are the last analysed frame's faces as (x, y, w, h) in a ``width`` x ``height`` picture;
    ``face_rate`` the share of the last minute's analysed frames with a face; ``brightness`` the mean
    grey level (0-255) and ``sharpness`` the variance of the Laplacian of a small grey copy.
    """

    width: int = 0
    height: int = 0
    boxes: tuple[tuple[int, int, int, int], ...] = ()
    face_rate: float | None = None
    brightness: float | None = None
    sharpness: float | None = None

