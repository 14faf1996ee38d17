"""The shift planner: the iso principle, one waypoint per track, re-planned from the listener's mood.

A shift starts where the listener is and moves the music toward a target in steps of at most
``step`` (music valence/energy units) per track. It is re-planned at every track boundary from the
listener's latest smoothed mood:

* **ahead** (the listener is closer to the target than the waypoint, by more than
  ``follow_radius``): skip ahead, the next waypoint is one step on from the listener;
* **followed** (the listener is at most ``follow_radius`` further from the target than the
  waypoint, or that close to the track actually played for it): step on by ``step``;
* **not followed**: hold the waypoint; after ``holds_before_back`` holds in a row step back one
  step toward the listener (and count the hold afresh);
* **target reached**: stay at the target (match mode at the target point);
* **mood unknown** (camera off or gone): wait at the waypoint, counting no hold.

Whatever the case, the waypoint never leads the listener by more than ``max_lead`` (it is pulled
back onto that circle), so the music can't run off without them.

Pure: values in, values out; the engine keeps the :class:`ShiftPlan` between tracks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from soulsyncd.mood.targets import Point, distance, toward

# Float noise from repeated steps must not turn "exactly at the limit" into "over it".
EPSILON = 1e-9


@dataclass(frozen=True)
class ShiftSettings:
    """The planner's knobs (validated by the config; see ``engine`` and ``policy.step``)."""

    step: float = 0.2
    max_lead: float = 0.4
    follow_radius: float = 0.1
    holds_before_back: int = 2


@dataclass(frozen=True)
class ShiftPlan:
    """Where a shift stands after choosing the waypoint for one track.

    Attributes:
        target_name: the target as given (a mood name or ``"valence,energy"``).
        target: the target point.
        waypoint: the point the current track was chosen for.
        step: steps taken so far (0: the start, matching the listener).
        holds: holds in a row at this waypoint.
        action: what this re-plan did: "start", "step", "skip ahead", "hold", "step back",
            "at target", "wait" (the mood was unknown).
        lead: how far the waypoint is from the listener's point it was planned from.
    """

    target_name: str
    target: Point
    waypoint: Point
    step: int
    holds: int
    action: str
    lead: float
    step_length: float

    @property
    def remaining(self) -> int:
        """Steps still needed from the waypoint to the target."""
        gap = distance(self.waypoint, self.target)
        return max(0, math.ceil(gap / self.step_length - EPSILON))

    @property
    def steps(self) -> int:
        """The planned number of steps: taken so far plus still needed."""
        return self.step + self.remaining

    @property
    def reached(self) -> bool:
        return distance(self.waypoint, self.target) <= EPSILON

    def describe(self) -> str:
        """A short phrase for people: "shift step 2 of 5 toward happy"."""
        toward_text = f"toward {self.target_name}"
        if self.reached:
            return f"shift at {self.target_name} (target reached, step {self.step})"
        position = f"step {self.step} of {self.steps} {toward_text}"
        phrases = {
            "start": f"shift {position} (start where the listener is)",
            "wait": f"shift waits at {position} (mood unknown)",
            "hold": f"shift hold at {position} (waiting for the listener, {self.holds})",
            "step back": f"shift step back to {position} (the listener did not follow)",
            "skip ahead": f"shift skip ahead to {position} (the listener is ahead)",
        }
        return phrases.get(self.action, f"shift {position}")


def start(listener: Point, target_name: str, target: Point, settings: ShiftSettings) -> ShiftPlan:
    """The first waypoint of a shift: the listener's own point (meet them where they are)."""
    return ShiftPlan(
        target_name=target_name,
        target=target,
        waypoint=listener,
        step=0,
        holds=0,
        action="start",
        lead=0.0,
        step_length=settings.step,
    )


def wait(plan: ShiftPlan) -> ShiftPlan:
    """The same waypoint again, no hold counted: the listener's mood is unknown (camera off)."""
    return replace(plan, action="wait")


def replan(
    plan: ShiftPlan, listener: Point, settings: ShiftSettings, heard: Point | None = None
) -> ShiftPlan:
    """The waypoint for the next track, from the last plan and the listener's latest point.

    ``heard`` is the point of the track that was actually played for the last waypoint (it may sit
    up to the region's radius off it): a listener close to either has followed.
    """
    plan = replace(plan, step_length=settings.step)
    waypoint, target = plan.waypoint, plan.target
    listener_gap = distance(listener, target)
    waypoint_gap = distance(waypoint, target)
    lead = distance(waypoint, listener)
    # Progress is measured as the distance still to go: a listener no more than follow_radius
    # further from the target than the waypoint (or close to the track they heard) kept up.
    followed = listener_gap <= waypoint_gap + settings.follow_radius + EPSILON or (
        heard is not None and distance(heard, listener) <= settings.follow_radius + EPSILON
    )
    if plan.reached and lead <= settings.max_lead + EPSILON:
        new = replace(plan, waypoint=target, holds=0, action="at target")
    elif listener_gap < waypoint_gap - settings.follow_radius:
        new = replace(
            plan, waypoint=toward(listener, target, settings.step), step=plan.step + 1, holds=0,
            action="skip ahead",
        )
    elif followed:
        new = replace(
            plan, waypoint=toward(waypoint, target, settings.step), step=plan.step + 1, holds=0,
            action="step",
        )
    elif plan.holds + 1 > settings.holds_before_back:
        new = replace(
            plan, waypoint=toward(waypoint, listener, settings.step), step=max(0, plan.step - 1), holds=0,
            action="step back",
        )
    else:
        new = replace(plan, holds=plan.holds + 1, action="hold")
    # The lead bound holds whatever happened: pull the waypoint back toward the listener.
    if distance(new.waypoint, listener) > settings.max_lead + EPSILON:
        new = replace(new, waypoint=toward(listener, new.waypoint, settings.max_lead))
    return replace(new, lead=distance(new.waypoint, listener))
