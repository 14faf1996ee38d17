"""The shift: the per-track planner over values, and the engine re-planning from a simulated listener."""

from __future__ import annotations

import dataclasses
import itertools
import math
import re

import pytest

from soulsyncd.catalog.store import CatalogTrack
from soulsyncd.core.state import ShiftProgress
from soulsyncd.mood import shift, targets
from soulsyncd.mood.engine import EngineSettings, MoodEngine
from soulsyncd.mood.shift import ShiftSettings
from soulsyncd.mood.targets import DEFAULT_POINTS, distance, toward
from soulsyncd.testing import ManualClock
from soulsyncd.testing.listener import SimulatedListener
from soulsyncd.types import PlayIntent, Track

SAD, HAPPY = DEFAULT_POINTS["sad"], DEFAULT_POINTS["happy"]
SETTINGS = ShiftSettings(step=0.2, max_lead=0.4, follow_radius=0.1, holds_before_back=2)
EPOCH = 1_767_225_600.0
PLANNED = math.ceil(distance(SAD, HAPPY) / 0.2)  # 0.83 apart: 5 steps


# --- the targets map ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mood", "music"),
    [((-1.0, -1.0), (0.0, 0.0)), ((1.0, 1.0), (1.0, 1.0)), ((0.0, 0.5), (0.5, 0.75)),
     ((-1.5, 1.5), (0.0, 1.0)), ((1.5, -1.5), (1.0, 0.0))],
)
def test_a_mood_maps_linearly_onto_music_clamped_to_the_unit_square(
    mood: tuple[float, float], music: tuple[float, float]
) -> None:
    assert targets.mood_to_music(*mood) == music


def test_distance_is_euclidean() -> None:
    assert distance((0.1, 0.2), (0.4, 0.6)) == pytest.approx(0.5)
    assert distance((0.4, 0.6), (0.1, 0.2)) == pytest.approx(0.5)


def test_toward_moves_the_length_along_the_line_and_never_past_the_goal() -> None:
    assert toward((0.1, 0.2), (0.4, 0.6), 0.25) == pytest.approx((0.25, 0.4))
    assert toward((0.1, 0.2), (0.4, 0.6), 0.7) == (0.4, 0.6)
    assert toward((0.0, 0.0), (0.6, 0.8), 0.5) == pytest.approx((0.3, 0.4))  # a gap of exactly 1
    assert toward((0.3, 0.3), (0.3, 0.3), 0.0) == (0.3, 0.3)
    assert toward((0.3, 0.3), (0.3, 0.3), -0.1) == (0.3, 0.3)  # at the goal: no division by a zero gap
    # Exactly the distance away: the goal itself, not a point a rounding error short of it.
    origin, goal = (0.0, 0.1), (0.0, 0.45)
    assert toward(origin, goal, distance(origin, goal)) == goal


@pytest.mark.parametrize(
    ("text", "point"),
    [("0.8,0.6", (0.8, 0.6)), ("0.8, 0.6", (0.8, 0.6)), ("0,0", (0.0, 0.0)), ("1,1", (1.0, 1.0)),
     ("0,1", (0.0, 1.0)), ("1,0", (1.0, 0.0)),
     ("-0.01,0.5", None), ("1.01,0.5", None), ("0.5,-0.01", None), ("0.5,1.01", None), ("0.5,1.5", None),
     ("0.5", None), ("0.1,0.2,0.3", None), ("a,0.5", None), ("0.5,b", None), ("", None)],
)
def test_parse_point_accepts_the_closed_unit_square_only(
    text: str, point: tuple[float, float] | None
) -> None:
    assert targets.parse_point(text) == point
    assert targets.is_target(text) is (point is not None)


def test_targets_are_names_of_the_map_or_points() -> None:
    assert targets.is_target("happy")
    assert not targets.is_target("Happy")
    assert targets.is_target("mine", {"mine": (0.1, 0.1)})
    assert not targets.is_target("happy", {"mine": (0.1, 0.1)})
    assert targets.resolve("sad") == (0.15, 0.25)
    assert targets.resolve("mine", {"mine": (0.1, 0.9)}) == (0.1, 0.9)
    assert targets.resolve("0.3, 0.7") == (0.3, 0.7)


def test_resolve_rejects_an_unknown_target_listing_the_names() -> None:
    message = ("unknown target 'ecstatic'; expected one of happy, surprise, energetic, calm, neutral, sad, "
               "fear, angry, disgust or 'valence,energy' in [0, 1]")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        targets.resolve("ecstatic")
    with pytest.raises(ValueError, match=r"^unknown target '1.5,0.5'; expected one of a, b or"):
        targets.resolve("1.5,0.5", {"a": (0.0, 0.0), "b": (1.0, 1.0)})


def test_merged_points_override_only_the_names_given() -> None:
    merged = targets.merged_points({"happy": (0.9, 0.75)})
    assert merged == {**DEFAULT_POINTS, "happy": (0.9, 0.75)}
    assert DEFAULT_POINTS["happy"] == (0.85, 0.70)


# --- the planner --------------------------------------------------------------------------------------


def test_a_shift_starts_at_the_listener_with_the_planned_number_of_steps() -> None:
    plan = shift.start(SAD, "happy", HAPPY, SETTINGS)
    assert (plan.waypoint, plan.step, plan.steps, plan.action) == (SAD, 0, PLANNED, "start")
    assert plan.describe() == f"shift step 0 of {PLANNED} toward happy (start where the listener is)"


def test_a_following_listener_is_led_one_step_per_track_to_the_target() -> None:
    plan = shift.start(SAD, "happy", HAPPY, SETTINGS)
    waypoints = [plan.waypoint]
    while not plan.reached:
        plan = shift.replan(plan, plan.waypoint, SETTINGS)  # the listener is where the music was
        waypoints.append(plan.waypoint)
        assert plan.action == "step"
    assert plan.step == plan.steps == PLANNED
    assert all(distance(a, b) <= 0.2 + 1e-9 for a, b in itertools.pairwise(waypoints))
    assert plan.describe() == f"shift at happy (target reached, step {PLANNED})"
    at_target = shift.replan(plan, HAPPY, SETTINGS)
    assert (at_target.action, at_target.waypoint) == ("at target", HAPPY)


def test_a_listener_ahead_of_the_music_makes_it_skip_ahead() -> None:
    plan = shift.start(SAD, "happy", HAPPY, SETTINGS)
    plan = shift.replan(plan, SAD, SETTINGS)  # step 1
    ahead = toward(SAD, HAPPY, 0.5)  # the listener is already 0.5 along, the music only 0.2
    plan = shift.replan(plan, ahead, SETTINGS)
    assert plan.action == "skip ahead"
    assert plan.waypoint == pytest.approx(toward(ahead, HAPPY, 0.2))
    assert plan.steps < PLANNED
    assert plan.describe().startswith("shift skip ahead to step 2 of")


def test_a_listener_who_does_not_follow_is_held_then_stepped_back() -> None:
    plan = shift.start(SAD, "happy", HAPPY, SETTINGS)
    plan = shift.replan(plan, SAD, SETTINGS)  # step 1
    first = plan.waypoint
    plan = shift.replan(plan, SAD, SETTINGS)  # the listener stayed sad: 0.2 behind
    assert (plan.action, plan.waypoint, plan.holds) == ("hold", first, 1)
    assert plan.describe() == f"shift hold at step 1 of {PLANNED} toward happy (waiting for the listener, 1)"
    plan = shift.replan(plan, SAD, SETTINGS)
    assert (plan.action, plan.holds) == ("hold", 2)
    plan = shift.replan(plan, SAD, SETTINGS)  # K = 2 holds: step back one
    assert (plan.action, plan.step) == ("step back", 0)
    assert plan.waypoint == pytest.approx(SAD)


def test_the_waypoint_never_leads_the_listener_by_more_than_the_bound() -> None:
    plan = shift.start(SAD, "happy", HAPPY, SETTINGS)
    for _ in range(3):
        plan = shift.replan(plan, plan.waypoint, SETTINGS)
    assert plan.step == 3
    fallen = (0.0, 0.0)  # the listener dropped far below where the music is
    plan = shift.replan(plan, fallen, SETTINGS)
    assert distance(plan.waypoint, fallen) == pytest.approx(0.4)
    assert plan.lead == pytest.approx(0.4)


def test_a_listener_close_to_the_track_they_heard_has_followed() -> None:
    """The track played may sit off the waypoint; a listener who matched it kept up."""
    plan = shift.replan(shift.start(SAD, "happy", HAPPY, SETTINGS), SAD, SETTINGS)
    heard = (plan.waypoint[0] - 0.1, plan.waypoint[1] - 0.1)
    listener = (heard[0] - 0.05, heard[1])
    assert shift.replan(plan, listener, SETTINGS).action == "hold"
    assert shift.replan(plan, listener, SETTINGS, heard=heard).action == "step"


# --- the engine, re-planning at every pick ---------------------------------------------------------


def grid(step: float = 0.025) -> list[CatalogTrack]:
    values = [round(i * step, 4) for i in range(round(1 / step) + 1)]
    return [CatalogTrack(uri=f"spotify:track:g{k:05d}", name=f"G{k}", artists=(f"Artist {k % 97}",),
                         duration_s=200.0, valence=v, energy=e)
            for k, (v, e) in enumerate(itertools.product(values, values))]


def shift_intent(target: str = "happy") -> PlayIntent:
    return PlayIntent(action="play", valence=0.15, energy=0.25, mode="shift", emotion="sad", target=target)


def run_shift(behaviour: str, tracks: int = 14) -> tuple[MoodEngine, list[Track], list[shift.ShiftPlan],
                                                          SimulatedListener]:
    clock = ManualClock(EPOCH)
    listener = SimulatedListener(SAD, behaviour=behaviour, seed=1)  # type: ignore[arg-type]
    engine = MoodEngine(grid(), clock=clock, mood_now=listener.mood,
                        settings=EngineSettings(shift=SETTINGS))
    chosen, plans = [], []
    for _ in range(tracks):
        track = engine.pick(shift_intent())
        choice = engine.last_choice()
        assert track is not None
        assert choice is not None
        assert choice.plan is not None
        chosen.append(track)
        plans.append(choice.plan)
        listener.hear(track, skipped=False)
        clock.advance(200.0)
        engine.finished(track, 200.0, False)
    return engine, chosen, plans, listener


def test_following_listener_reaches_the_target_within_the_planned_steps_smoothly() -> None:
    engine, tracks, plans, listener = run_shift("follow")
    reached = next(i for i, plan in enumerate(plans) if plan.reached)
    assert reached <= plans[0].steps == PLANNED
    head = tracks[:reached + 1]
    assert all(distance((a.valence or 0, a.energy or 0), (b.valence or 0, b.energy or 0)) <= 0.2 + 1e-9
               for a, b in itertools.pairwise(head))
    valences = [t.valence or 0.0 for t in head]
    assert valences == sorted(valences)
    assert distance(listener.point, HAPPY) <= 0.1
    assert engine.shift_progress() == ShiftProgress(target="happy", step=PLANNED, steps=PLANNED)


def test_lagging_listener_gets_holds_and_the_lead_stays_bounded() -> None:
    _, _, plans, listener = run_shift("lag", tracks=20)
    assert any(plan.action == "hold" for plan in plans)
    assert max(plan.lead for plan in plans) <= 0.4 + 1e-9
    assert distance(listener.point, HAPPY) <= 0.1  # slower, but there in the end


def test_resisting_listener_makes_the_shift_hold_and_step_back() -> None:
    _, tracks, plans, listener = run_shift("resist", tracks=12)
    actions = [plan.action for plan in plans]
    assert "step back" in actions
    assert max(plan.lead for plan in plans) <= 0.4 + 1e-9
    assert all(distance((t.valence or 0, t.energy or 0), SAD) <= 0.4 + 0.1 for t in tracks)
    assert distance(listener.point, SAD) < 0.05


def test_every_pick_replans_from_the_latest_mood() -> None:
    """The listener jumps ahead mid-shift (a good track, a joke): the very next pick skips ahead."""
    clock = ManualClock(EPOCH)
    mood = [(SAD[0] * 2 - 1, SAD[1] * 2 - 1)]
    engine = MoodEngine(grid(), clock=clock, mood_now=lambda: mood[0],
                        settings=EngineSettings(shift=SETTINGS))
    engine.pick(shift_intent())  # the start, at the listener
    engine.pick(shift_intent())  # the listener followed (still at the start): step 1
    ahead = toward(SAD, HAPPY, 0.6)
    mood[0] = (ahead[0] * 2 - 1, ahead[1] * 2 - 1)
    engine.pick(shift_intent())
    choice = engine.last_choice()
    assert choice is not None
    assert choice.plan is not None
    assert choice.plan.action == "skip ahead"
    assert "skip ahead" in engine.describe_last_choice()


def test_a_new_target_or_a_long_pause_restarts_the_shift_from_the_listener() -> None:
    clock = ManualClock(EPOCH)
    mood = [(-0.7, -0.5)]
    engine = MoodEngine(grid(), clock=clock, mood_now=lambda: mood[0],
                        settings=EngineSettings(shift=SETTINGS, restart_after_s=600.0))
    for _ in range(3):
        engine.pick(shift_intent())
        clock.advance(200.0)
    assert engine.shift_progress() is not None
    engine.pick(shift_intent("calm"))
    assert engine.shift_progress() == ShiftProgress(target="calm", step=0,
                                                    steps=engine.shift_progress().steps)  # type: ignore[union-attr]
    engine.pick(shift_intent("calm"))
    clock.advance(3600.0)  # the listener was away
    engine.pick(shift_intent("calm"))
    assert engine.last_choice().plan.action == "start"  # type: ignore[union-attr]


def test_an_explicit_point_is_a_target_and_match_ends_the_shift() -> None:
    engine = MoodEngine(grid(), clock=ManualClock(EPOCH), mood_now=lambda: (-0.7, -0.5))
    engine.pick(shift_intent("0.9,0.5"))
    progress = engine.shift_progress()
    assert progress is not None
    assert progress.target == "0.9,0.5"
    engine.pick(PlayIntent(action="play", mode="match", emotion="sad"))
    assert engine.shift_progress() is None


def test_an_unknown_target_matches_instead(caplog: pytest.LogCaptureFixture) -> None:
    engine = MoodEngine(grid(), clock=ManualClock(EPOCH), mood_now=lambda: None)
    track = engine.pick(shift_intent("ecstatic"))
    assert track is not None
    assert engine.shift_progress() is None
    assert "unknown target 'ecstatic'" in caplog.text


# --- the planner at its boundaries (exact points on one line, so every distance is exact) ---------

LINE_TARGET = (1.0, 0.5)


def on_line(x: float) -> tuple[float, float]:
    return (x, 0.5)


def fitted(total: float, base: float = 0.0) -> float:
    """The float ``r`` for which ``base + r + shift.EPSILON == total`` exactly: a setting that puts a
    distance precisely on the planner's tolerance."""
    r = total - base - shift.EPSILON
    for _ in range(200):
        reached = base + r + shift.EPSILON
        if reached == total:
            return r
        r = math.nextafter(r, math.inf if reached < total else -math.inf)
    raise AssertionError(f"no float puts {base} + r + EPSILON on {total}")


def plan_at(waypoint_x: float, *, step: int = 1, holds: int = 0) -> shift.ShiftPlan:
    start = shift.start(on_line(0.0), "far", LINE_TARGET, SETTINGS)
    return dataclasses.replace(start, waypoint=on_line(waypoint_x), step=step, holds=holds)


def settings(**changes: float) -> ShiftSettings:
    return dataclasses.replace(ShiftSettings(step=0.2, max_lead=1.0, follow_radius=0.1, holds_before_back=2),
                               **changes)


@pytest.mark.parametrize(
    ("follow_radius", "action"),
    [(0.5, "step"), (fitted(0.75, 0.25), "step"), (0.499, "hold")],
    ids=["tolerance-inside", "tolerance-exact", "outside"],
)
def test_a_listener_on_the_follow_radius_has_followed(follow_radius: float, action: str) -> None:
    """Waypoint 0.25 from the target, listener 0.75: followed when 0.75 <= 0.25 + radius (+ EPSILON)."""
    plan = shift.replan(plan_at(0.75), on_line(0.25), settings(follow_radius=follow_radius))
    assert plan.action == action


@pytest.mark.parametrize(
    ("follow_radius", "action"),
    [(0.25, "step"), (fitted(0.25), "step"), (0.249, "hold")],
    ids=["tolerance-inside", "tolerance-exact", "outside"],
)
def test_a_listener_on_the_follow_radius_of_the_track_heard_has_followed(
    follow_radius: float, action: str
) -> None:
    chosen = settings(follow_radius=follow_radius)
    plan = shift.replan(plan_at(0.75), on_line(0.25), chosen, heard=on_line(0.5))
    assert plan.action == action


@pytest.mark.parametrize(
    ("max_lead", "action"), [(0.25, "at target"), (fitted(0.25), "at target"), (0.249, "hold")],
    ids=["tolerance-inside", "tolerance-exact", "outside"],
)
def test_the_target_holds_while_the_listener_is_within_the_lead(max_lead: float, action: str) -> None:
    plan = shift.replan(plan_at(1.0, holds=1), on_line(0.75), settings(max_lead=max_lead))
    assert plan.action == action


def test_at_target_snaps_to_the_target_and_counts_no_hold() -> None:
    nearly = dataclasses.replace(plan_at(1.0, holds=1), waypoint=(1.0 - 1e-10, 0.5))
    assert nearly.reached
    plan = shift.replan(nearly, on_line(0.95), SETTINGS)
    assert (plan.action, plan.waypoint, plan.holds) == ("at target", LINE_TARGET, 0)


@pytest.mark.parametrize(("listener_x", "action"), [(0.75, "step"), (0.76, "skip ahead")])
def test_skip_ahead_needs_the_listener_more_than_the_radius_ahead(listener_x: float, action: str) -> None:
    """Waypoint 0.5 from the target, radius 0.25: a listener 0.25 from it is level, not ahead."""
    plan = shift.replan(plan_at(0.5), on_line(listener_x), settings(follow_radius=0.25))
    assert plan.action == action


@pytest.mark.parametrize(
    "max_lead", [fitted(0.25), 0.25 - shift.EPSILON / 2], ids=["tolerance-exact", "tolerance-inside"]
)
def test_the_lead_bound_pulls_back_only_beyond_its_tolerance(max_lead: float) -> None:
    """A hold 0.25 ahead of the listener: the waypoint stays unless the lead exceeds max_lead + EPSILON."""
    plan = shift.replan(plan_at(0.5), on_line(0.25), settings(max_lead=max_lead))
    assert (plan.action, plan.waypoint, plan.lead) == ("hold", on_line(0.5), 0.25)
    pulled = shift.replan(plan_at(0.5), on_line(0.25), settings(max_lead=0.2))
    assert (pulled.action, pulled.waypoint, pulled.lead) == (
        "hold", pytest.approx(on_line(0.45)), pytest.approx(0.2))


def test_every_move_counts_the_holds_afresh() -> None:
    held = shift.replan(plan_at(0.5), on_line(0.25), SETTINGS)
    assert (held.action, held.holds) == ("hold", 1)
    assert shift.replan(held, on_line(0.5), SETTINGS).holds == 0  # followed: a step
    ahead = shift.replan(held, on_line(0.9), SETTINGS)
    assert (ahead.action, ahead.holds, ahead.step) == ("skip ahead", 0, 2)
    back = shift.replan(dataclasses.replace(held, step=3, holds=2), on_line(0.25), SETTINGS)
    assert (back.action, back.holds, back.step) == ("step back", 0, 2)
    assert back.waypoint == pytest.approx(on_line(0.3))
    again = shift.replan(back, on_line(0.1), SETTINGS)
    assert (again.action, again.holds) == ("hold", 1)


def test_a_start_counts_no_hold() -> None:
    assert shift.start(SAD, "happy", HAPPY, SETTINGS).holds == 0


def test_the_step_length_follows_the_settings_at_each_replan() -> None:
    plan = shift.start(on_line(0.0), "far", LINE_TARGET, SETTINGS)
    assert (plan.step_length, plan.steps) == (0.2, 5)
    plan = shift.replan(plan, on_line(0.0), settings(step=0.25))
    assert (plan.step_length, plan.step, plan.remaining, plan.steps) == (0.25, 1, 3, 4)


@pytest.mark.parametrize(
    ("action", "text"),
    [
        ("step", "shift step 1 of 5 toward far"),
        ("wait", "shift waits at step 1 of 5 toward far (mood unknown)"),
        ("step back", "shift step back to step 1 of 5 toward far (the listener did not follow)"),
        ("skip ahead", "shift skip ahead to step 1 of 5 toward far (the listener is ahead)"),
        ("hold", "shift hold at step 1 of 5 toward far (waiting for the listener, 0)"),
        ("start", "shift step 1 of 5 toward far (start where the listener is)"),
    ],
)
def test_each_action_reads_as_its_own_phrase(action: str, text: str) -> None:
    plan = dataclasses.replace(plan_at(0.25), action=action)
    assert plan.describe() == text


def test_waiting_keeps_the_waypoint_and_the_holds() -> None:
    held = dataclasses.replace(plan_at(0.5), holds=1, action="hold")
    waited = shift.wait(held)
    assert (waited.action, waited.waypoint, waited.holds, waited.step) == ("wait", on_line(0.5), 1, 1)
