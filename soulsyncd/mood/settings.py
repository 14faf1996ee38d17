"""The mood area's settings: ``engine`` (how tracks are chosen, varied and learned from), ``smoothing``
and ``policy``, with the smoother's limits (declared here, once, and imported by the smoother).

The shift's step per track is ``policy.step``; everything else about choosing tracks is ``engine``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from soulsyncd.mood import policy, targets
from soulsyncd.mood.targets import DEFAULT_POINTS
from soulsyncd.settings import FieldError, Section, did_you_mean, quoted, shown

# The smoother's limits, declared once: the fields below and the smoother use these same constants.
WINDOW_S_MAX = 60.0  # a longer window lags minutes behind the face, and update() walks the whole window
MARGIN_MAX = 1.0  # exclusive: no mean probability can lead another by a whole 1, so nothing would change
ABSENT_AFTER_S_MAX = 3600.0  # an hour without a face is "gone" whatever the setting


class EngineWeightsConfig(Section, frozen=True, kw_only=True):
    """How much each part of a candidate's cost counts (lower cost wins)."""

    distance: Annotated[float, Meta(
        ge=0, le=100, description="Per unit of valence/energy distance from the wanted point.",
    )] = 1.0
    feedback: Annotated[float, Meta(
        ge=0, le=100, description="For full plays minus early skips, per play (in -1..1).",
    )] = 0.02
    affect: Annotated[float, Meta(
        ge=0, le=100,
        description="For the listener's mood change in the wanted direction while it played (in -1..1).",
    )] = 0.5
    novelty: Annotated[float, Meta(
        ge=0, le=100, description="For a track not yet played in this context (1/(1+plays)).",
    )] = 0.05


class EngineConfig(Section, frozen=True, kw_only=True):
    """Choosing tracks: the region around a mood, variety, learning and the shift's pacing."""

    radius: Annotated[float, Meta(
        gt=0, le=1, description="A mood's region: tracks within this valence/energy distance of its point.",
    )] = 0.15
    max_distance: Annotated[float, Meta(
        gt=0, le=1.5,
        description="Farther than this from the point, the catalog has nothing for it (use the playlist).",
    )] = 0.35
    recent_tracks: Annotated[int, Meta(
        ge=0, le=10_000, description="Never repeat one of the last this many tracks.",
    )] = 50
    recent_hours: Annotated[float, Meta(
        ge=0, le=24 * 30, description="Nor a track played in the last this many hours.",
    )] = 3.0
    max_per_artist: Annotated[int, Meta(
        ge=1, le=100, description="At most this many tracks of one artist in any artist_window.",
    )] = 2
    artist_window: Annotated[int, Meta(
        ge=1, le=1000, description="Consecutive tracks the artist rule looks at.",
    )] = 10
    skip_window_s: Annotated[float, Meta(
        ge=0, le=3600, description="A skip within this many seconds counts against a track.",
    )] = 30.0
    ban_after_skips: Annotated[int, Meta(
        ge=1, le=1000,
        description="Early skips in one context after which a track is not chosen there again.",
    )] = 2
    max_lead: Annotated[Annotated[float, Meta(gt=0, le=1.5)] | None, Meta(
        description="Farthest a shift waypoint may lead the listener's mood (None: 2 x policy.step).",
    )] = None
    follow_radius: Annotated[float, Meta(
        gt=0, le=1, description="A listener this close to the waypoint has followed the music.",
    )] = 0.1
    holds_before_back: Annotated[int, Meta(
        ge=1, le=100, description="Holds in a row before the shift steps back one step.",
    )] = 2
    restart_after_s: Annotated[float, Meta(
        gt=0, le=7 * 24 * 3600, description="A shift idle this long starts again from the listener's mood.",
    )] = 900.0
    weights: Annotated[EngineWeightsConfig, Meta(
        description="How the candidate's cost is blended.",
    )] = msgspec.field(default_factory=EngineWeightsConfig)
    emotion_points: Annotated[dict[str, tuple[float, float]], Meta(
        description="Override a mood's (valence, energy) point, e.g. 'happy: [0.9, 0.75]'.",
    )] = msgspec.field(default_factory=dict)
    import_csv: Annotated[Path | None, Meta(
        description="A features CSV imported into an empty catalog at start (the demo's sample); "
        "relative to the config file.",
    )] = None

    def __post_init__(self) -> None:
        if self.max_distance < self.radius:  # checked against a default too
            raise FieldError("max_distance",
                             f"must be >= radius ({self.radius:g}), got {self.max_distance:g}")
        for name, (valence, energy) in self.emotion_points.items():
            if name not in DEFAULT_POINTS:
                raise FieldError("emotion_points",
                    f"unknown mood {name!r}{did_you_mean(name, DEFAULT_POINTS)}; "
                    f"expected one of {', '.join(DEFAULT_POINTS)}"
                )
            if not (0.0 <= valence <= 1.0 and 0.0 <= energy <= 1.0):
                raise FieldError("emotion_points",
                    f"{name}: valence and energy must be in [0, 1], got [{valence:g}, {energy:g}]"
                )


class SmoothingConfig(Section, frozen=True, kw_only=True):
    """Turning jittery per-frame scores into a stable mood."""

    window_s: Annotated[float, Meta(
        gt=0, le=WINDOW_S_MAX, description="Seconds of scores averaged to decide the mood.",
    )] = 5.0
    margin: Annotated[float, Meta(
        ge=0, lt=MARGIN_MAX, description="How far a new emotion must lead the current one over the window.",
    )] = 0.15
    dwell_s: Annotated[float, Meta(
        ge=0, lt=WINDOW_S_MAX,  # and below window_s (the rule below)
        description="How long the new emotion must stay the leader before the mood changes.",
    )] = 1.0
    absent_after_s: Annotated[float, Meta(
        gt=0, le=ABSENT_AFTER_S_MAX, description="Seconds with no face before the mood becomes 'absent'.",
    )] = 3.0

    def __post_init__(self) -> None:
        if self.dwell_s >= self.window_s:  # checked against a default too
            raise FieldError("dwell_s",
                             f"must be less than window_s ({self.window_s:g}), got {self.dwell_s:g}")


class PolicyConfig(Section, frozen=True, kw_only=True):
    """What music to ask for given the mood."""

    mode: Annotated[policy.Mode, Meta(
        description="'match' the mood, 'shift' it step by step toward target, or 'off'.",
    )] = "match"
    target: Annotated[str, Meta(
        examples=list(targets.NAMES),  # the choices, for tools that draw configs from the schema
        description="Mood that 'shift' steers toward: " + ", ".join(targets.NAMES)
        + ", or an explicit 'valence,energy' point in [0, 1].",
    )] = "calm"
    step: Annotated[float, Meta(
        ge=policy.STEP_MIN,  # 5e-324 made the shift's step count infinite
        le=policy.STEP_MAX,
        description="The largest move of the shift per track, in music valence/energy (each 0..1).",
    )] = 0.2

    def __post_init__(self) -> None:
        if not targets.is_target(self.target):
            raise FieldError("target",
                f"unknown target {shown(self.target)}{did_you_mean(self.target, targets.NAMES)}; "
                f"expected one of {quoted(targets.NAMES)} or 'valence,energy' in [0, 1]"
            )
