"""Where each mood sits in the music's valence/energy space, and how a listener's mood maps onto it.

Music features (Spotify-style ``valence`` and ``energy``) are both in [0, 1]; the smoother's mood is
a (valence, arousal) point on the circumplex in [-1, 1]. The two spaces are the same picture at
different scales, so a listener's mood maps linearly onto music (:func:`mood_to_music`), and each
named mood has a documented *target point* in music space (:data:`DEFAULT_POINTS`) that match
mode plays around and shift mode steers toward. The points can be overridden in the YAML
(``engine.emotion_points``); a shift target is a name or an explicit ``"valence,energy"`` point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

Point = tuple[float, float]
"""(valence, energy), both in [0, 1]."""

# The default map. Rounded positions that agree with the circumplex the smoother uses
# (soulsyncd.types.CIRCUMPLEX mapped to [0, 1]) and with the music-emotion literature's quadrants:
# happy music is positive and lively, sad music negative and quiet, angry music negative and loud,
# calm music mildly positive and quiet.
DEFAULT_POINTS: dict[str, Point] = {
    "happy": (0.85, 0.70),
    "surprise": (0.70, 0.80),
    "energetic": (0.70, 0.90),
    "calm": (0.60, 0.25),
    "neutral": (0.50, 0.40),
    "sad": (0.15, 0.25),
    "fear": (0.25, 0.65),
    "angry": (0.20, 0.85),
    "disgust": (0.20, 0.55),
}

NAMES: tuple[str, ...] = tuple(DEFAULT_POINTS)


def clamp_unit(value: float) -> float:
    """``value`` limited to [0, 1]."""
    return min(1.0, max(0.0, value))


def mood_to_music(valence: float, arousal: float) -> Point:
    """A circumplex (valence, arousal) in [-1, 1] as a music (valence, energy) point in [0, 1]."""
    return (clamp_unit((valence + 1.0) / 2.0), clamp_unit((arousal + 1.0) / 2.0))


def distance(a: Point, b: Point) -> float:
    """Euclidean distance between two points of music space."""
    return math.hypot(a[0] - b[0], a[1] - b[1])


def toward(origin: Point, goal: Point, length: float) -> Point:
    """The point ``length`` from ``origin`` on the straight line to ``goal``, never past ``goal``."""
    gap = distance(origin, goal)
    if gap <= length or gap == 0.0:
        return goal
    fraction = length / gap
    return (origin[0] + (goal[0] - origin[0]) * fraction, origin[1] + (goal[1] - origin[1]) * fraction)


def parse_point(text: str) -> Point | None:
    """``"0.8,0.6"`` (or ``"0.8, 0.6"``) as a point in [0, 1]², else None."""
    parts = text.split(",")
    if len(parts) != 2:
        return None
    try:
        valence, energy = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (0.0 <= valence <= 1.0 and 0.0 <= energy <= 1.0):
        return None
    return (valence, energy)


def is_target(text: str, points: Mapping[str, Point] = DEFAULT_POINTS) -> bool:
    """True when ``text`` names a known mood or is an explicit ``"valence,energy"`` point."""
    return text in points or parse_point(text) is not None


def resolve(text: str, points: Mapping[str, Point] = DEFAULT_POINTS) -> Point:
    """The point a target name or explicit ``"valence,energy"`` stands for.

    Raises:
        ValueError: neither a known name nor a point in [0, 1]²; the message lists the names.
    """
    if text in points:
        return points[text]
    point = parse_point(text)
    if point is None:
        raise ValueError(
            f"unknown target {text!r}; expected one of {', '.join(points)} or 'valence,energy' in [0, 1]"
        )
    return point


def merged_points(overrides: Mapping[str, Point]) -> dict[str, Point]:
    """The default map with ``overrides`` applied (only known names; validated by the config)."""
    points = dict(DEFAULT_POINTS)
    points.update(overrides)
    return points

