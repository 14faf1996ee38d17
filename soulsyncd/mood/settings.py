"""The mood area's settings: ``engine`` (how tracks are chosen, varied and learned from), ``smoothing``
and ``policy``, with the smoother's limits (declared here, once, and imported by the smoother).

The shift's step per track is ``policy.step``; everything else about choosing tracks is ``engine``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator

from soulsyncd.mood import policy, targets
from soulsyncd.mood.targets import DEFAULT_POINTS
from soulsyncd.settings import Section, did_you_mean, quoted, resolve_path, shown

# The smoother's limits, declared once: the fields below and the smoother use these same constants.
WINDOW_S_MAX = 60.0  # a longer window lags minutes behind the face, and update() walks the whole window
MARGIN_MAX = 1.0  # exclusive: no mean probability can lead another by a whole 1, so nothing would change
ABSENT_AFTER_S_MAX = 3600.0  # an hour without a face is "gone" whatever the setting


class EngineWeightsConfig(Section):
    """How much each part of a candidate's cost counts (lower cost wins)."""

    distance: float = Field(
        default=1.0, ge=0, le=100, description="Per unit of valence/energy distance from the wanted point."
    )
    feedback: float = Field(
        default=0.02, ge=0, le=100, description="For full plays minus early skips, per play (in -1..1)."
    )
    affect: float = Field(
        default=0.5, ge=0, le=100,
        description="For the listener's mood change in the wanted direction while it played (in -1..1).",
    )
    novelty: float = Field(
        default=0.05, ge=0, le=100, description="For a track not yet played in this context (1/(1+plays)).",
    )


class EngineConfig(Section):
    """Choosing tracks: the region around a mood, variety, learning and the shift's pacing."""

    radius: float = Field(
        default=0.15, gt=0, le=1,
        description="A mood's region: tracks within this valence/energy distance of its point.",
    )
    max_distance: float = Field(
        default=0.35, gt=0, le=1.5, validate_default=True,
        description="Farther than this from the point, the catalog has nothing for it (use the playlist).",
    )
    recent_tracks: int = Field(
        default=50, ge=0, le=10_000, description="Never repeat one of the last this many tracks."
    )
    recent_hours: float = Field(
        default=3.0, ge=0, le=24 * 30, description="Nor a track played in the last this many hours."
    )
    max_per_artist: int = Field(
        default=2, ge=1, le=100, description="At most this many tracks of one artist in any artist_window."
    )
    artist_window: int = Field(
        default=10, ge=1, le=1000, description="Consecutive tracks the artist rule looks at."
    )
    skip_window_s: float = Field(
        default=30.0, ge=0, le=3600, description="A skip within this many seconds counts against a track."
    )
    ban_after_skips: int = Field(
        default=2, ge=1, le=1000,
        description="Early skips in one context after which a track is not chosen there again.",
    )
    max_lead: float | None = Field(
        default=None, gt=0, le=1.5,
        description="Farthest a shift waypoint may lead the listener's mood (None: 2 x policy.step).",
    )
    follow_radius: float = Field(
        default=0.1, gt=0, le=1, description="A listener this close to the waypoint has followed the music."
    )
    holds_before_back: int = Field(
        default=2, ge=1, le=100, description="Holds in a row before the shift steps back one step."
    )
    restart_after_s: float = Field(
        default=900.0, gt=0, le=7 * 24 * 3600,
        description="A shift idle this long starts again from the listener's mood.",
    )
    weights: EngineWeightsConfig = Field(
        default_factory=EngineWeightsConfig, description="How the candidate's cost is blended."
    )
    emotion_points: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Override a mood's (valence, energy) point, e.g. 'happy: [0.9, 0.75]'.",
    )
    import_csv: Path | None = Field(
        default=None,
        description="A features CSV imported into an empty catalog at start (the demo's sample); "
        "relative to the config file.",
    )

    @field_validator("max_distance")
    @classmethod
    def _not_inside_region(cls, value: float, info: ValidationInfo) -> float:
        radius = info.data.get("radius")  # absent when it failed its own validation
        if radius is not None and value < radius:
            raise ValueError(f"must be >= radius ({radius:g}), got {value:g}")
        return value

    @field_validator("emotion_points")
    @classmethod
    def _known_names_in_unit_square(
        cls, value: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        for name, (valence, energy) in value.items():
            if name not in DEFAULT_POINTS:
                raise ValueError(
                    f"unknown mood {name!r}{did_you_mean(name, DEFAULT_POINTS)}; "
                    f"expected one of {', '.join(DEFAULT_POINTS)}"
                )
            if not (0.0 <= valence <= 1.0 and 0.0 <= energy <= 1.0):
                raise ValueError(
                    f"{name}: valence and energy must be in [0, 1], got [{valence:g}, {energy:g}]"
                )
        return value

    @field_validator("import_csv")
    @classmethod
    def _relative_to_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else resolve_path(value, info)


class SmoothingConfig(Section):
    """Turning jittery per-frame scores into a stable mood."""

    window_s: float = Field(
        default=5.0,
        gt=0,
        le=WINDOW_S_MAX,
        description="Seconds of scores averaged to decide the mood.",
    )
    margin: float = Field(
        default=0.15,
        ge=0,
        lt=MARGIN_MAX,
        description="How far a new emotion must lead the current one over the window.",
    )
    dwell_s: float = Field(
        default=1.0,
        ge=0,
        lt=WINDOW_S_MAX,  # and below window_s (the rule below)
        validate_default=True,  # so the rule below also holds against a default
        description="How long the new emotion must stay the leader before the mood changes.",
    )
    absent_after_s: float = Field(
        default=3.0,
        gt=0,
        le=ABSENT_AFTER_S_MAX,
        description="Seconds with no face before the mood becomes 'absent'.",
    )

    @field_validator("dwell_s")
    @classmethod
    def _dwell_inside_window(cls, value: float, info: ValidationInfo) -> float:
        window = info.data.get("window_s")  # absent when it failed its own validation
        if window is not None and value >= window:
            raise ValueError(f"must be less than window_s ({window:g}), got {value:g}")
        return value


class PolicyConfig(Section):
    """What music to ask for given the mood."""

    mode: policy.Mode = Field(
        default="match", description="'match' the mood, 'shift' it step by step toward target, or 'off'."
    )
    target: str = Field(
        default="calm",
        examples=list(targets.NAMES),  # the choices, for tools that draw configs from the schema
        description="Mood that 'shift' steers toward: " + ", ".join(targets.NAMES)
        + ", or an explicit 'valence,energy' point in [0, 1].",
    )
    step: float = Field(
        default=0.2,
        ge=policy.STEP_MIN,  # 5e-324 made the shift's step count infinite
        le=policy.STEP_MAX,
        description="The largest move of the shift per track, in music valence/energy (each 0..1).",
    )

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        if not targets.is_target(value):
            raise ValueError(
                f"unknown target {shown(value)}{did_you_mean(value, targets.NAMES)}; "
                f"expected one of {quoted(targets.NAMES)} or 'valence,energy' in [0, 1]"
            )
        return value
