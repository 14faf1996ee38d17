"""``soulsyncd simulate``: the real engine, policy and dry-run player over a scripted mood and a
simulated listener, on a manual clock, measured.

A *trajectory* is a comma-separated list of segments, each ``MODE:START[>TARGET][*TRACKS]``:

* ``match:happy*20`` — 20 tracks in match mode for a listener who shows ``happy``;
* ``shift:sad>happy*12`` — 12 tracks shifting a listener who starts ``sad`` toward ``happy``.

At the start of each segment the listener's mood is put at START's point; after that it moves with
the music as the simulated listener (:class:`soulsyncd.testing.listener.SimulatedListener`)
behaves. Every track goes the way it would in ``run``: mood -> :class:`MoodPolicy` -> intent ->
:class:`DryRunPlayer` -> :class:`MoodEngine` at the track boundary -> ``finished`` with the skip
and the mood change. :func:`figures` turns the session into the README's figures.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from soulsyncd.mood.engine import Choice, MoodEngine
from soulsyncd.mood.policy import MoodPolicy
from soulsyncd.mood.targets import Point, distance, is_target, resolve
from soulsyncd.player import DryRunPlayer
from soulsyncd.testing import ManualClock
from soulsyncd.testing.listener import SimulatedListener
from soulsyncd.types import CIRCUMPLEX, Emotion, Mood, PlayIntent, Track

_SEGMENT = re.compile(r"^(match|shift):([a-z]+|[0-9.]+,[0-9.]+)(?:>([a-z]+|[0-9.]+,[0-9.]+))?(?:\*(\d+))?$")
_EMOTIONS = {emotion.label: emotion for emotion in Emotion}
DAY_S = 24 * 3600.0

MAX_SEGMENT_TRACKS = 10_000  # a simulated session beyond this is a typo, not a listener


@dataclass(frozen=True)
class Segment:
    """One part of a trajectory (see the module doc)."""

    mode: str
    start: str
    target: str | None
    tracks: int
    spec: str


def parse_trajectory(spec: str, default_tracks: int) -> list[Segment]:
    """The segments of ``spec``.

    Raises:
        ValueError: a segment that does not parse, an unknown mood, a match segment whose start is
            not an emotion the camera can show, or a shift segment without a target.
    """
    # Split only before "match:"/"shift:", so an explicit target point "0.8,0.6" stays whole.
    parts = [p.strip() for p in re.split(r",(?=\s*(?:match|shift):)", spec) if p.strip()]
    segments = [_segment(part, default_tracks) for part in parts]
    if not segments:
        raise ValueError(f"empty trajectory {spec!r}; e.g. 'match:happy*20' or 'shift:sad>happy*12'")
    return segments


def _segment(part: str, default_tracks: int) -> Segment:
    match = _SEGMENT.match(part)
    if match is None:
        raise ValueError(
            f"bad segment {part!r}: expected MODE:START[>TARGET][*TRACKS], e.g. 'shift:sad>happy*12'"
        )
    mode, start, target, count = match.groups()
    for name in (start, target):
        if name is not None and not is_target(name):
            raise ValueError(f"segment {part!r}: unknown mood {name!r}")
    if mode == "match" and start not in _EMOTIONS:
        raise ValueError(
            f"segment {part!r}: match needs an emotion the camera shows ({', '.join(_EMOTIONS)})"
        )
    if mode == "match" and target is not None:
        raise ValueError(f"segment {part!r}: match has no target")
    if mode == "shift" and target is None:
        raise ValueError(f"segment {part!r}: shift needs a target (shift:START>TARGET)")
    tracks = int(count) if count else default_tracks
    if not 1 <= tracks <= MAX_SEGMENT_TRACKS:
        raise ValueError(f"segment {part!r}: needs 1 to {MAX_SEGMENT_TRACKS} tracks, got {tracks}")
    return Segment(mode=mode, start=start, target=target, tracks=tracks, spec=part)


@dataclass(frozen=True)
class Step:
    """One track of the session: what was chosen and why, and how the listener took it."""

    segment: int
    choice: Choice
    track: Track | None
    listened_s: float
    skipped: bool
    listener_before: Point
    listener_after: Point


class Session:
    """Runs segments through the real policy, dry-run player and engine on a manual clock."""

    def __init__(
        self, engine: MoodEngine, listener: SimulatedListener, clock: ManualClock, *,
        points: Mapping[str, Point], track_s: float | None = None,
    ) -> None:
        self.engine = engine
        self.listener = listener
        self.clock = clock
        self.points = points
        self.track_s = track_s
        self.policy = MoodPolicy()
        self.player = DryRunPlayer(engine, clock=clock, track_s=track_s,
                                   describe_choice=engine.describe_last_choice, background=False)
        self.steps: list[Step] = []

    def run(self, segments: Sequence[Segment], *, stop_when_reached: bool = False) -> list[Step]:
        """Play ``segments`` one after the other (a fresh session: the listener arrives first).

        With ``stop_when_reached`` a shift segment ends once the listener's mood reached its target.
        """
        slots = [(index, segment) for index, segment in enumerate(segments) for _ in range(segment.tracks)]
        if not slots:
            return []
        first_new = len(self.steps)
        self._enter(slots[0][1])
        for k, (index, segment) in enumerate(slots):
            track = self.player.state().track
            choice = self.engine.last_choice()
            if track is None or choice is None:
                break  # nothing to play: the player logged a dry-run decision
            before = self.listener.point
            length = self.track_s or track.duration_s or 180.0
            listened, skipped = self.listener.decide(track, length)
            self.listener.hear(track, skipped)
            self.steps.append(Step(index, choice, track, listened, skipped, before, self.listener.point))
            reached = (stop_when_reached and segment.target is not None
                       and distance(self.listener.point, resolve(segment.target, self.points))
                       <= self.engine.settings.shift.follow_radius)
            following = slots[k + 1] if k + 1 < len(slots) else None
            if reached or following is None:
                break
            if following[0] != index:
                self._enter(following[1], before_boundary=True)
            self._tell_policy(segment if following[0] == index else following[1])
            self.clock.advance(listened)
            if skipped:
                self.player.skip()
            else:
                self.player.poll()
        return self.steps[first_new:]

    def leave(self, away_s: float = DAY_S) -> None:
        """The listener leaves (the music pauses, the last track ends) and comes back ``away_s`` later."""
        track = self.player.state().track
        if track is not None:
            self.clock.advance(self.track_s or track.duration_s or 180.0)
        self.policy.decide(Mood(None, 0.0, 0.0, 0.0, 0.0), self.clock.monotonic())
        self.player.apply(PlayIntent(action="pause", reason="listener left"))
        self.clock.advance(away_s)

    def _enter(self, segment: Segment, *, before_boundary: bool = False) -> None:
        self.listener.move_to(resolve(segment.start, self.points))
        self.policy.set_mode(segment.mode)
        if segment.target is not None:
            self.policy.set_target(segment.target)
        self.policy.restart()
        if not before_boundary:
            self._tell_policy(segment)

    def _tell_policy(self, segment: Segment) -> None:
        mood = self._mood(segment)
        intent = self.policy.decide(mood, self.clock.monotonic())
        if intent is not None:
            self.player.apply(intent)

    def _mood(self, segment: Segment) -> Mood:
        valence, arousal = self.listener.mood()
        if segment.mode == "match":
            emotion = _EMOTIONS[segment.start]  # scripted: the camera keeps seeing this emotion
        else:
            emotion = min(Emotion, key=lambda e: math.dist(CIRCUMPLEX[e], (valence, arousal)))
        return Mood(emotion=emotion, confidence=1.0, valence=valence, arousal=arousal, since=0.0)


# --- figures ------------------------------------------------------------------------------------------


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN for fewer than 2 points or no spread."""
    if len(x) < 2:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    if np.std(rx) == 0 or np.std(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    order = np.argsort(array, kind="stable")
    ranks = np.empty(len(array))
    ranks[order] = np.arange(len(array), dtype=np.float64)
    for value in np.unique(array):
        tied = array == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _point(track: Track) -> Point:
    return (track.valence or 0.0, track.energy or 0.0)


def segment_figures(
    engine: MoodEngine, segment: Segment, steps: Sequence[Step], points: Mapping[str, Point]
) -> dict[str, object]:
    """The figures of one segment (match: valence and region; shift: order, steps, lead)."""
    played = [s for s in steps if s.track is not None]
    tracks = [s.track for s in played if s.track is not None]
    result: dict[str, object] = {
        "spec": segment.spec,
        "tracks": len(tracks),
        "skipped": sum(s.skipped for s in played),
        "mean_valence": _round(statistics.fmean(t.valence or 0.0 for t in tracks)) if tracks else None,
        "mean_energy": _round(statistics.fmean(t.energy or 0.0 for t in tracks)) if tracks else None,
    }
    if segment.mode == "match":
        point = resolve(segment.start, points)
        inside = [distance(_point(t), point) <= engine.settings.radius + 1e-9 for t in tracks]
        result.update(point=list(point), region_tracks=engine.region_size(point),
                      inside_region=_round(sum(inside) / len(inside)) if inside else None)
        return result
    assert segment.target is not None
    target = resolve(segment.target, points)
    plans = [s.choice.plan for s in played]
    reached_at = next((i for i, plan in enumerate(plans) if plan is not None and plan.reached), None)
    end = len(tracks) if reached_at is None else reached_at + 1
    head = tracks[:end]
    reach = engine.settings.shift.follow_radius
    listener_reached = next(
        (i + 1 for i, s in enumerate(played) if distance(s.listener_after, target) <= reach), None
    )
    waypoints = [plan.waypoint for plan in plans[:end] if plan is not None]
    result.update(
        target=list(target),
        planned_steps=plans[0].steps if plans and plans[0] is not None else None,
        waypoint_reached_at=reached_at,
        listener_reached_after=listener_reached,
        spearman_position_valence=_round(spearman(list(range(len(head))), [t.valence or 0.0 for t in head])),
        max_track_step=_round(max((distance(_point(a), _point(b)) for a, b in pairwise(head)), default=0.0)),
        max_waypoint_step=_round(max((distance(a, b) for a, b in pairwise(waypoints)), default=0.0)),
        step_limit=engine.settings.shift.step,
        max_lead=_round(max((plan.lead for plan in plans if plan is not None), default=0.0)),
        lead_bound=engine.settings.shift.max_lead,
        holds=sum(1 for plan in plans if plan is not None and plan.action == "hold"),
        step_backs=sum(1 for plan in plans if plan is not None and plan.action == "step back"),
        skip_aheads=sum(1 for plan in plans if plan is not None and plan.action == "skip ahead"),
    )
    return result


def variety_figures(steps: Sequence[Step], *, recent: int = 50, window: int = 10) -> dict[str, int]:
    """Repeats within ``recent`` tracks, the most tracks of one artist in any ``window`` in a row,
    and picks of a track in a context where it had already been skipped early twice."""
    tracks = [s.track for s in steps if s.track is not None]
    last: deque[str] = deque(maxlen=recent)
    repeats = 0
    for track in tracks:
        repeats += track.uri in last
        last.append(track.uri)
    most = 0
    for start in range(max(1, len(tracks) - window + 1)):
        counts: dict[str, int] = {}
        for track in tracks[start:start + window]:
            for artist in {a.casefold() for a in track.artists}:
                counts[artist] = counts.get(artist, 0) + 1
        most = max([most, *counts.values()])
    early: dict[tuple[str, str], int] = {}
    banned_chosen = 0
    for step in steps:
        if step.track is None:
            continue
        key = (step.choice.context, step.track.uri)
        banned_chosen += early.get(key, 0) >= 2
        if step.skipped and step.listened_s < 30.0:
            early[key] = early.get(key, 0) + 1
    return {"repeats_within_50": repeats, "max_per_artist_in_10": most,
            "early_skips": sum(early.values()), "skipped_twice": sum(n >= 2 for n in early.values()),
            "chosen_after_two_skips": banned_chosen}


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)

