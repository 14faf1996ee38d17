"""Learning from the listener: what a play says about a track, and how that enters a track's score.

Per track and *context* (what the engine was doing: ``"match:sad"``, ``"shift:happy"``) the
catalog keeps totals (:class:`soulsyncd.catalog.Feedback`):

* a **skip within** ``skip_window_s`` (30 s) counts against the track there; a track skipped that
  way ``ban_after_skips`` (2) times is never chosen in that context again;
* a **full play** (not skipped, ≥ 80 % of the track) counts for it;
* **affective feedback**: the change of the listener's smoothed valence/arousal from the moment the
  track was chosen to the moment it ended.

A candidate's cost (lower wins) blends distance and what was learned::

    cost = w_distance * distance - w_feedback * plays_score - w_affect * affect_gain - w_novelty * novelty

``plays_score = (full_plays - skips) / (plays + 1)`` in (-1, 1); ``affect_gain`` is the track's mean
mood change in the wanted direction (match: valence up; shift: toward the target) *beyond that of a
typical track in the same context* (in a shift every followed track moves the listener; what is
learned is which tracks move them more), shrunk by ``n / (n + 1)`` for n measured plays and
clipped to [-1, 1]; ``novelty = 1 / (1 + plays)`` in this context. Pure functions over values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from soulsyncd.catalog.store import Feedback, PlayRecord
from soulsyncd.mood.targets import Point


@dataclass(frozen=True)
class Weights:
    """How much each part of a candidate's cost counts (see the module doc); distance is in
    valence/energy units, the others are in (-1, 1)."""

    distance: float = 1.0
    feedback: float = 0.02
    affect: float = 0.5
    novelty: float = 0.05


class FeedbackStore(Protocol):
    """Where plays and their feedback are kept: :class:`soulsyncd.catalog.CatalogStore` (SQLite)."""

    def record_play(
        self,
        uri: str,
        *,
        context: str,
        listened_s: float,
        skipped: bool,
        valence_change: float | None,
        arousal_change: float | None,
        at: float,
        full: bool | None = None,
    ) -> None: ...

    def feedback(self, context: str) -> Mapping[str, Feedback]: ...

    def recent_plays(self, limit: int) -> Sequence[PlayRecord]: ...


@dataclass(frozen=True)
class Outcome:
    """How one play ended, as the rules above read it."""

    early_skip: bool  # counts against
    full: bool  # counts for
    valence_change: float | None
    arousal_change: float | None


def outcome(
    listened_s: float,
    skipped: bool,
    *,
    duration_s: float,
    skip_window_s: float,
    mood_start: tuple[float, float] | None,
    mood_end: tuple[float, float] | None,
) -> Outcome:
    """Read one play: an early skip, a full play, or neither, and the mood's change over it."""
    early_skip = skipped and listened_s < skip_window_s
    full = not skipped and (duration_s <= 0 or listened_s >= 0.8 * duration_s)
    if mood_start is None or mood_end is None:
        return Outcome(early_skip, full, None, None)
    return Outcome(early_skip, full, mood_end[0] - mood_start[0], mood_end[1] - mood_start[1])


def add(feedback: Feedback | None, result: Outcome) -> Feedback:
    """``feedback`` with one more play (the same sums the catalog keeps)."""
    base = feedback or Feedback()
    measured = result.valence_change is not None
    return Feedback(
        plays=base.plays + 1,
        full_plays=base.full_plays + int(result.full),
        skips=base.skips + int(result.early_skip),
        valence_change_sum=base.valence_change_sum + (result.valence_change or 0.0),
        arousal_change_sum=base.arousal_change_sum + (result.arousal_change or 0.0),
        affect_samples=base.affect_samples + int(measured),
    )


def plays_score(feedback: Feedback) -> float:
    """Full plays for, early skips against, in (-1, 1)."""
    return (feedback.full_plays - feedback.skips) / (feedback.plays + 1)


def baseline(feedbacks: Iterable[Feedback]) -> Point:
    """The mean mood change (valence, arousal) per measured play over a whole context: what a
    typical track there does (in shift mode, following the music already moves the listener)."""
    samples = dv = da = 0.0
    for feedback in feedbacks:
        samples += feedback.affect_samples
        dv += feedback.valence_change_sum
        da += feedback.arousal_change_sum
    return (dv / samples, da / samples) if samples else (0.0, 0.0)


def affect_gain(feedback: Feedback, direction: Point, typical: Point = (0.0, 0.0)) -> float:
    """How much more than a ``typical`` track of its context this track moved the listener's mood
    along ``direction`` (a unit vector in valence/arousal), shrunk toward 0 while there are few
    measurements, clipped to [-1, 1]."""
    n = feedback.affect_samples
    if n == 0:
        return 0.0
    dv = feedback.mean_valence_change - typical[0]
    da = feedback.mean_arousal_change - typical[1]
    along = dv * direction[0] + da * direction[1]
    return max(-1.0, min(1.0, along * n / (n + 1)))


def novelty(feedback: Feedback | None) -> float:
    """1 for a track never played in this context, less the more it was."""
    return 1.0 if feedback is None else 1.0 / (1 + feedback.plays)


def cost(
    distance: float, feedback: Feedback | None, direction: Point, weights: Weights,
    typical: Point = (0.0, 0.0),
) -> float:
    """A candidate's cost for one choice (lower wins); see the module doc."""
    value = weights.distance * distance - weights.novelty * novelty(feedback)
    if feedback is not None:
        value -= weights.feedback * plays_score(feedback)
        value -= weights.affect * affect_gain(feedback, direction, typical)
    return value


def unit(vector: Point) -> Point:
    """``vector`` scaled to length 1 (valence up when it has no length)."""
    length = math.hypot(vector[0], vector[1])
    if length == 0.0:
        return (1.0, 0.0)
    return (vector[0] / length, vector[1] / length)
