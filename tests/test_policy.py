"""Tests for soulsyncd.mood.policy: moods and times in, intents out; minutes of shifting without waiting."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from soulsyncd.mood.policy import MoodPolicy, PolicyState
from soulsyncd.types import CIRCUMPLEX, TARGET_MOODS, Emotion, Mood, PlayIntent

ABSENT = Mood(emotion=None, confidence=0.0, valence=0.0, arousal=0.0, since=0.0)
SAD_POSITION = CIRCUMPLEX[Emotion.SAD]
CALM_POSITION = TARGET_MOODS["calm"]
INTERVAL = 120.0


def mood_at(position: tuple[float, float], emotion: Emotion = Emotion.SAD) -> Mood:
    return Mood(emotion=emotion, confidence=0.8, valence=position[0], arousal=position[1], since=0.0)


def pure_mood(emotion: Emotion) -> Mood:
    return mood_at(CIRCUMPLEX[emotion], emotion)


def music_position(intent: PlayIntent) -> tuple[float, float]:
    """The intent's [0, 1] valence/energy back on the circumplex (to 2-decimal precision)."""
    return (intent.valence * 2 - 1, intent.energy * 2 - 1)


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


# --- off ------------------------------------------------------------------------------------------


def test_off_never_returns_an_intent() -> None:
    policy = MoodPolicy(mode="off")
    moods = [pure_mood(Emotion.SAD), pure_mood(Emotion.HAPPY), ABSENT, pure_mood(Emotion.ANGRY)]
    assert [policy.decide(mood, now=i * 1000.0) for i, mood in enumerate(moods)] == [None] * 4


# --- match ----------------------------------------------------------------------------------------


def test_match_plays_the_mood_position_mapped_to_unit_interval() -> None:
    intent = MoodPolicy(mode="match").decide(pure_mood(Emotion.SAD), now=0.0)
    # sad is (-0.7, -0.4) on the circumplex -> ((v + 1) / 2, (a + 1) / 2)
    assert intent == PlayIntent(action="play", valence=0.15, energy=0.3, reason="match sad")


def test_match_rounds_to_two_decimals() -> None:
    intent = MoodPolicy(mode="match").decide(mood_at((0.12345, -0.98765), Emotion.NEUTRAL), now=0.0)
    assert intent is not None
    assert (intent.valence, intent.energy) == (0.56, 0.01)


def test_match_same_mood_again_gives_no_new_intent() -> None:
    policy = MoodPolicy(mode="match")
    assert policy.decide(pure_mood(Emotion.HAPPY), now=0.0) is not None
    assert [policy.decide(pure_mood(Emotion.HAPPY), now=t) for t in (1.0, 2.0, 600.0)] == [None] * 3


def test_match_label_change_gives_a_new_intent_even_nearby() -> None:
    """Fear and angry sit 0.14 apart, inside the hysteresis, but a new label is a new intent."""
    policy = MoodPolicy(mode="match")
    policy.decide(pure_mood(Emotion.ANGRY), now=0.0)
    intent = policy.decide(pure_mood(Emotion.FEAR), now=1.0)
    assert intent is not None
    assert intent.reason == "match fear"


def test_match_small_drift_is_ignored_and_large_drift_followed() -> None:
    policy = MoodPolicy(mode="match", match_hysteresis=0.3)
    policy.decide(mood_at((0.0, 0.0), Emotion.NEUTRAL), now=0.0)
    assert policy.decide(mood_at((0.2, 0.0), Emotion.NEUTRAL), now=1.0) is None
    intent = policy.decide(mood_at((0.35, 0.0), Emotion.NEUTRAL), now=2.0)
    assert intent is not None
    assert intent.valence == pytest.approx(0.68)


def test_match_drift_is_measured_from_the_last_intent_not_the_last_mood() -> None:
    """Creeping drift (0.2 steps, each under the hysteresis) is followed once it adds up."""
    policy = MoodPolicy(mode="match", match_hysteresis=0.3)
    policy.decide(mood_at((0.0, 0.0), Emotion.NEUTRAL), now=0.0)
    assert policy.decide(mood_at((0.0, 0.2), Emotion.NEUTRAL), now=1.0) is None
    assert policy.decide(mood_at((0.0, 0.4), Emotion.NEUTRAL), now=2.0) is not None


# --- absence --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["match", "shift"])
def test_absent_pauses_once_then_resumes_fresh(mode: str) -> None:
    policy = MoodPolicy(mode=mode)
    assert policy.decide(pure_mood(Emotion.SAD), now=0.0) is not None
    assert policy.decide(ABSENT, now=10.0) == PlayIntent(action="pause", reason="listener left")
    assert [policy.decide(ABSENT, now=t) for t in (11.0, 12.0, 500.0)] == [None] * 3
    assert policy.state.position is None
    back = policy.decide(pure_mood(Emotion.SAD), now=600.0)
    assert back is not None
    assert back.action == "play"
    assert (back.valence, back.energy) == (0.15, 0.3)


def test_absent_before_any_music_is_not_a_pause() -> None:
    policy = MoodPolicy(mode="match")
    assert policy.decide(ABSENT, now=0.0) is None
    assert policy.decide(ABSENT, now=1.0) is None


# --- shift ----------------------------------------------------------------------------------------


def test_shift_starts_by_matching_the_listener() -> None:
    intent = MoodPolicy(mode="shift", target="calm").decide(pure_mood(Emotion.SAD), now=0.0)
    assert intent == PlayIntent(
        action="play", valence=0.15, energy=0.3, reason="shift start: match sad (target calm)"
    )


def test_shift_steps_every_interval_by_at_most_step() -> None:
    policy = MoodPolicy(mode="shift", target="calm", step=0.25, step_interval_s=INTERVAL)
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    # The listener follows the music exactly, so nothing holds the shift back.
    assert policy.decide(pure_mood(Emotion.SAD), now=INTERVAL - 0.1) is None
    first = policy.decide(pure_mood(Emotion.SAD), now=INTERVAL)
    assert first is not None
    assert first.reason == "shift sad -> calm (step 1)"
    assert policy.state.position is not None
    assert distance(policy.state.position, SAD_POSITION) == pytest.approx(0.25)
    # Toward the target: exactly 0.25 closer.
    assert distance(policy.state.position, CALM_POSITION) == pytest.approx(
        distance(SAD_POSITION, CALM_POSITION) - 0.25
    )
    listener = mood_at(policy.state.position)
    assert policy.decide(listener, now=2 * INTERVAL - 0.1) is None
    second = policy.decide(listener, now=2 * INTERVAL)
    assert second is not None
    assert second.reason == "shift sad -> calm (step 2)"


def test_shift_reaches_the_target_and_stays() -> None:
    """sad -> calm is 1.10 apart: four 0.25 steps and a last short one land exactly on calm."""
    policy = MoodPolicy(mode="shift", target="calm", step=0.25, step_interval_s=INTERVAL)
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    intents: list[PlayIntent] = []
    for k in range(1, 10):
        assert policy.state.position is not None
        intent = policy.decide(mood_at(policy.state.position), now=k * INTERVAL)  # listener follows
        if intent is not None:
            intents.append(intent)
    assert len(intents) == math.ceil(distance(SAD_POSITION, CALM_POSITION) / 0.25) == 5
    assert intents[-1].reason == "shift sad -> calm (step 5, target reached)"
    assert (intents[-1].valence, intents[-1].energy) == (0.7, 0.25)  # calm (0.4, -0.5)
    assert policy.state.position == CALM_POSITION
    assert policy.state.steps == 5
    for a, b in itertools.pairwise(intents):
        assert distance(music_position(a), music_position(b)) <= 0.25 + 0.02  # 2-decimal rounding


def test_shift_holds_while_the_listener_lags_then_resumes() -> None:
    """A listener still sad is led at most 2 steps (0.5) ahead; the step waits until they follow."""
    policy = MoodPolicy(mode="shift", target="calm", step=0.25, step_interval_s=INTERVAL)
    still_sad = pure_mood(Emotion.SAD)
    policy.decide(still_sad, now=0.0)
    assert policy.decide(still_sad, now=INTERVAL) is not None
    assert policy.decide(still_sad, now=2 * INTERVAL) is not None
    assert [policy.decide(still_sad, now=k * INTERVAL) for k in (3, 4, 5, 6)] == [None] * 4
    assert policy.state.holding
    assert policy.state.steps == 2
    held_at = policy.state.position
    assert held_at is not None
    assert distance(held_at, SAD_POSITION) == pytest.approx(0.5)
    # The listener relaxes to where the music is: the overdue step comes at once.
    resumed = policy.decide(mood_at(held_at, Emotion.NEUTRAL), now=6 * INTERVAL + 7.0)
    assert resumed is not None
    assert resumed.reason == "shift neutral -> calm (step 3)"
    assert not policy.state.holding
    # ...and the interval restarts from that step, not from the original schedule.
    assert policy.decide(mood_at(held_at, Emotion.NEUTRAL), now=7 * INTERVAL) is None


def test_shift_max_lead_is_configurable() -> None:
    policy = MoodPolicy(mode="shift", target="calm", step=0.25, step_interval_s=INTERVAL, max_lead=0.25)
    still_sad = pure_mood(Emotion.SAD)
    policy.decide(still_sad, now=0.0)
    assert policy.decide(still_sad, now=INTERVAL) is not None
    assert policy.decide(still_sad, now=2 * INTERVAL) is None


def test_shift_label_changes_alone_do_not_move_the_music() -> None:
    policy = MoodPolicy(mode="shift", target="calm")
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    assert policy.decide(pure_mood(Emotion.NEUTRAL), now=10.0) is None
    assert policy.decide(pure_mood(Emotion.SAD), now=20.0) is None


def test_shift_restarts_from_the_returning_listener() -> None:
    policy = MoodPolicy(mode="shift", target="calm")
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    policy.decide(pure_mood(Emotion.SAD), now=INTERVAL)
    assert policy.state.steps == 1
    assert policy.decide(ABSENT, now=200.0) is not None
    back = policy.decide(pure_mood(Emotion.HAPPY), now=300.0)
    assert back is not None
    assert back.reason == "shift start: match happy (target calm)"
    assert policy.state.steps == 0
    assert policy.state.position == CIRCUMPLEX[Emotion.HAPPY]
    # The step clock restarted with the listener.
    assert policy.decide(pure_mood(Emotion.HAPPY), now=300.0 + INTERVAL - 1.0) is None


def test_shift_already_at_target_gives_no_steps() -> None:
    policy = MoodPolicy(mode="shift", target="happy")
    assert policy.decide(pure_mood(Emotion.HAPPY), now=0.0) is not None  # the iso start
    assert [policy.decide(pure_mood(Emotion.HAPPY), now=k * INTERVAL) for k in (1, 2, 3)] == [None] * 3


# --- commands -------------------------------------------------------------------------------------


def test_set_target_rejects_unknown_names_listing_the_allowed_ones() -> None:
    policy = MoodPolicy()
    with pytest.raises(ValueError, match=r"'ecstatic'.*happy, calm, energetic, neutral"):
        policy.set_target("ecstatic")
    assert policy.target == "calm"


def test_set_mode_rejects_unknown_modes_listing_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: match, shift, off"):
        MoodPolicy().set_mode("random")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "loud"}, "mode"),
        ({"target": "sleepy"}, "target"),
        ({"step": 0.0}, "step"),
        ({"step_interval_s": -1.0}, "step_interval_s"),
        ({"max_lead": 0.1}, "max_lead"),
    ],
)
def test_constructor_validates(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MoodPolicy(**options)  # type: ignore[arg-type]


def test_set_mode_takes_effect_on_the_next_decide_with_a_fresh_intent() -> None:
    policy = MoodPolicy(mode="match")
    sad = pure_mood(Emotion.SAD)
    policy.decide(sad, now=0.0)
    policy.set_mode("shift")
    switched = policy.decide(sad, now=1.0)
    assert switched is not None
    assert switched.reason.startswith("shift start")
    policy.set_mode("off")
    assert policy.decide(sad, now=2.0) is None
    assert policy.decide(ABSENT, now=3.0) is None
    policy.set_mode("match")
    resumed = policy.decide(sad, now=4.0)
    assert resumed == PlayIntent(action="play", valence=0.15, energy=0.3, reason="match sad")


def test_set_mode_to_the_same_mode_changes_nothing() -> None:
    policy = MoodPolicy(mode="match")
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    policy.set_mode("match")
    assert policy.decide(pure_mood(Emotion.SAD), now=1.0) is None


def test_set_target_steers_from_where_the_music_is() -> None:
    policy = MoodPolicy(mode="shift", target="calm", step=0.25, step_interval_s=INTERVAL)
    sad = pure_mood(Emotion.SAD)
    policy.decide(sad, now=0.0)
    policy.decide(sad, now=INTERVAL)
    before = policy.state.position
    assert before is not None
    policy.set_target("neutral")
    assert policy.state.steps == 0
    assert policy.decide(mood_at(before), now=INTERVAL + 1.0) is None  # the step clock runs on
    intent = policy.decide(mood_at(before), now=2 * INTERVAL)
    assert intent is not None
    assert intent.reason == "shift sad -> neutral (step 1)"
    after = policy.state.position
    assert after is not None
    assert distance(before, after) == pytest.approx(0.25)
    assert distance(after, TARGET_MOODS["neutral"]) == pytest.approx(distance(before, (0.0, 0.0)) - 0.25)


# --- state ----------------------------------------------------------------------------------------


def test_state_is_a_frozen_snapshot() -> None:
    policy = MoodPolicy(mode="shift", target="happy")
    assert policy.state == PolicyState(
        mode="shift", target="happy", position=None, steps=0, holding=False, last_intent=None
    )
    intent = policy.decide(pure_mood(Emotion.SAD), now=0.0)
    state = policy.state
    assert state.position == SAD_POSITION
    assert state.last_intent == intent
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.steps = 3  # type: ignore[misc]
