"""Value types that flow through the daemon: frame -> faces -> scores -> mood -> intent -> player."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

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


# Named points on the same circumplex that the shift policy can steer toward ("calm" has no FER
# class of its own: it is pleasant and low-arousal, the middle step of sad -> calm -> happy).
TARGET_MOODS: dict[str, tuple[float, float]] = {
    "happy": (0.8, 0.4),
    "calm": (0.4, -0.5),
    "energetic": (0.5, 0.8),
    "neutral": (0.0, 0.0),
}
