"""What a play teaches (soulsyncd.mood.learning): the rules of the module doc, value by value."""

from __future__ import annotations

import pytest

from soulsyncd.catalog.store import Feedback
from soulsyncd.mood.learning import (
    Outcome,
    Weights,
    add,
    affect_gain,
    baseline,
    cost,
    novelty,
    outcome,
    plays_score,
    unit,
)

MOOD = {"mood_start": (0.1, 0.2), "mood_end": (0.4, -0.3)}


def read(listened_s: float, skipped: bool, duration_s: float = 200.0, **mood: object) -> Outcome:
    return outcome(listened_s, skipped, duration_s=duration_s, skip_window_s=30.0,
                   mood_start=mood.get("mood_start"), mood_end=mood.get("mood_end"))  # type: ignore[arg-type]


def test_a_skip_counts_against_only_inside_the_window() -> None:
    assert read(29.9, True).early_skip
    assert not read(30.0, True).early_skip  # the window's edge is no longer early
    assert not read(10.0, False).early_skip  # stopped without a skip: not a skip


def test_a_full_play_is_at_least_80_percent_and_not_skipped() -> None:
    assert read(160.0, False).full
    assert not read(159.9, False).full
    assert not read(200.0, True).full  # a skip is never a full play, however late
    # Without a known length any play that was not skipped counts as full.
    assert read(1.0, False, duration_s=0.0).full
    assert not read(1.0, True, duration_s=0.0).full
    assert not read(0.3, False, duration_s=0.5).full  # a short track still needs its 80 %


def test_the_mood_change_is_end_minus_start_and_needs_both_ends() -> None:
    result = read(100.0, False, **MOOD)
    assert result.valence_change == pytest.approx(0.3)
    assert result.arousal_change == pytest.approx(-0.5)
    for missing in ({"mood_start": (0.1, 0.2)}, {"mood_end": (0.4, -0.3)}):
        half = read(100.0, False, **missing)
        assert (half.valence_change, half.arousal_change) == (None, None)


def test_add_sums_one_play_onto_the_totals() -> None:
    first = add(None, Outcome(early_skip=False, full=True, valence_change=0.25, arousal_change=-0.5))
    assert first == Feedback(plays=1, full_plays=1, skips=0, valence_change_sum=0.25,
                             arousal_change_sum=-0.5, affect_samples=1)
    second = add(first, Outcome(early_skip=True, full=False, valence_change=None, arousal_change=None))
    assert second == Feedback(plays=2, full_plays=1, skips=1, valence_change_sum=0.25,
                              arousal_change_sum=-0.5, affect_samples=1)


def test_plays_score_is_full_plays_minus_skips_over_plays_plus_one() -> None:
    assert plays_score(Feedback(plays=3, full_plays=2, skips=1)) == pytest.approx(0.25)
    assert plays_score(Feedback(plays=4, full_plays=0, skips=4)) == pytest.approx(-0.8)
    assert plays_score(Feedback()) == 0.0


def test_baseline_is_the_mean_change_per_measured_play_over_the_context() -> None:
    feedbacks = [Feedback(plays=3, valence_change_sum=0.6, arousal_change_sum=-0.3, affect_samples=2),
                 Feedback(plays=1, valence_change_sum=0.3, arousal_change_sum=0.6, affect_samples=1)]
    assert baseline(feedbacks) == pytest.approx((0.3, 0.1))
    assert baseline([]) == (0.0, 0.0)
    assert baseline([Feedback(plays=5)]) == (0.0, 0.0)  # plays without a measurement: no baseline


def test_affect_gain_is_the_change_along_the_direction_beyond_typical_shrunk_and_clipped() -> None:
    one = Feedback(plays=1, valence_change_sum=0.4, arousal_change_sum=0.2, affect_samples=1)
    assert affect_gain(one, (1.0, 0.0)) == pytest.approx(0.2)  # 0.4 * 1 / 2
    assert affect_gain(one, (0.0, 1.0)) == pytest.approx(0.1)  # the arousal part: 0.2 * 1 / 2
    assert affect_gain(one, (0.0, -1.0)) == pytest.approx(-0.1)
    assert affect_gain(one, (1.0, 0.0), typical=(0.1, 0.0)) == pytest.approx(0.15)
    assert affect_gain(one, (0.0, 1.0), typical=(0.0, 0.3)) == pytest.approx(-0.05)
    three = Feedback(plays=3, valence_change_sum=1.2, affect_samples=3)
    assert affect_gain(three, (1.0, 0.0)) == pytest.approx(0.3)  # mean 0.4 * 3 / 4
    huge = Feedback(plays=9, valence_change_sum=90.0, affect_samples=9)
    assert affect_gain(huge, (1.0, 0.0)) == 1.0
    assert affect_gain(huge, (-1.0, 0.0)) == -1.0
    assert affect_gain(Feedback(plays=4), (1.0, 0.0), typical=(0.5, 0.5)) == 0.0  # nothing measured


def test_novelty_falls_with_plays_in_the_context() -> None:
    assert novelty(None) == 1.0
    assert novelty(Feedback()) == 1.0
    assert novelty(Feedback(plays=3)) == pytest.approx(0.25)


def test_cost_blends_distance_feedback_affect_and_novelty() -> None:
    weights = Weights(distance=2.0, feedback=0.1, affect=0.5, novelty=0.05)
    assert cost(0.5, None, (1.0, 0.0), weights) == pytest.approx(2.0 * 0.5 - 0.05 * 1.0)
    fb = Feedback(plays=3, full_plays=2, skips=1, valence_change_sum=0.6, affect_samples=3)
    expected = 2.0 * 0.5 - 0.05 * 0.25 - 0.1 * 0.25 - 0.5 * (0.2 * 3 / 4 - 0.0)
    assert cost(0.5, fb, (1.0, 0.0), weights) == pytest.approx(expected)
    typical_gain = (0.2 - 0.1) * 3 / 4
    assert cost(0.5, fb, (1.0, 0.0), weights, typical=(0.1, 0.0)) == pytest.approx(
        2.0 * 0.5 - 0.05 * 0.25 - 0.1 * 0.25 - 0.5 * typical_gain)


def test_cost_orders_candidates_as_the_listener_taught() -> None:
    weights = Weights()
    liked = Feedback(plays=4, full_plays=4, valence_change_sum=1.0, affect_samples=4)
    skipped = Feedback(plays=4, skips=4)
    assert cost(0.3, liked, (1.0, 0.0), weights) < cost(0.3, None, (1.0, 0.0), weights)
    assert cost(0.3, None, (1.0, 0.0), weights) < cost(0.3, skipped, (1.0, 0.0), weights)
    assert cost(0.2, None, (1.0, 0.0), weights) < cost(0.3, None, (1.0, 0.0), weights)


def test_default_weights() -> None:
    assert Weights() == Weights(distance=1.0, feedback=0.02, affect=0.5, novelty=0.05)


def test_unit_scales_to_length_one_or_points_valence_up() -> None:
    assert unit((3.0, -4.0)) == pytest.approx((0.6, -0.8))
    assert unit((0.0, 2.0)) == pytest.approx((0.0, 1.0))
    assert unit((0.0, 0.0)) == (1.0, 0.0)
