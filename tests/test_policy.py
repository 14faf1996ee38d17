"""Tests for soulsyncd.mood.policy: moods in, intents out (the shift's steps per track are the engine's)."""

from __future__ import annotations

import dataclasses

import pytest

from soulsyncd.mood.policy import MoodPolicy, PolicyState
from soulsyncd.types import CIRCUMPLEX, Emotion, Mood, PlayIntent

ABSENT = Mood(emotion=None, confidence=0.0, valence=0.0, arousal=0.0, since=0.0)
SAD_POSITION = CIRCUMPLEX[Emotion.SAD]


def mood_at(position: tuple[float, float], emotion: Emotion = Emotion.SAD) -> Mood:
    return Mood(emotion=emotion, confidence=0.8, valence=position[0], arousal=position[1], since=0.0)


def pure_mood(emotion: Emotion) -> Mood:
    return mood_at(CIRCUMPLEX[emotion], emotion)


# --- off ------------------------------------------------------------------------------------------


def test_off_never_returns_an_intent() -> None:
    policy = MoodPolicy(mode="off")
    moods = [pure_mood(Emotion.SAD), pure_mood(Emotion.HAPPY), ABSENT, pure_mood(Emotion.ANGRY)]
    assert [policy.decide(mood, now=i * 1000.0) for i, mood in enumerate(moods)] == [None] * 4


# --- match ----------------------------------------------------------------------------------------


def test_match_plays_the_mood_position_mapped_to_unit_interval() -> None:
    intent = MoodPolicy(mode="match").decide(pure_mood(Emotion.SAD), now=0.0)
    # sad is (-0.7, -0.4) on the circumplex -> ((v + 1) / 2, (a + 1) / 2)
    assert intent == PlayIntent(action="play", valence=0.15, energy=0.3, reason="match sad", emotion="sad")


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


def test_shift_intent_carries_the_listeners_point_emotion_and_target() -> None:
    """The policy no longer steps: the engine plans per track from the listener's point."""
    intent = MoodPolicy(mode="shift", target="calm").decide(pure_mood(Emotion.SAD), now=0.0)
    assert intent == PlayIntent(
        action="play", valence=0.15, energy=0.3, reason="shift sad -> calm", mode="shift",
        emotion="sad", target="calm",
    )


def test_shift_gives_no_new_intent_while_the_mood_holds_whatever_the_time() -> None:
    """Steps are per track (the engine's job), not per timer: time alone changes nothing."""
    policy = MoodPolicy(mode="shift", target="happy")
    assert policy.decide(pure_mood(Emotion.SAD), now=0.0) is not None
    assert [policy.decide(pure_mood(Emotion.SAD), now=k * 600.0) for k in (1, 2, 3)] == [None] * 3


def test_shift_follows_the_listener_when_their_mood_moves() -> None:
    policy = MoodPolicy(mode="shift", target="happy", match_hysteresis=0.3)
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    assert policy.decide(mood_at((-0.5, -0.3)), now=1.0) is None  # 0.22 away: inside the hysteresis
    moved = policy.decide(mood_at((-0.3, -0.2)), now=2.0)
    assert moved is not None
    assert (moved.valence, moved.energy, moved.target) == (0.35, 0.4, "happy")
    relabelled = policy.decide(mood_at((-0.3, -0.2), Emotion.NEUTRAL), now=3.0)
    assert relabelled is not None
    assert relabelled.reason == "shift neutral -> happy"


def test_shift_target_change_gives_a_fresh_intent_for_the_new_target() -> None:
    policy = MoodPolicy(mode="shift", target="calm")
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    policy.set_target("happy")
    intent = policy.decide(pure_mood(Emotion.SAD), now=1.0)
    assert intent is not None
    assert intent.target == "happy"


def test_shift_accepts_an_explicit_point_as_target() -> None:
    policy = MoodPolicy(mode="shift", target="0.8,0.6")
    intent = policy.decide(pure_mood(Emotion.SAD), now=0.0)
    assert intent is not None
    assert intent.target == "0.8,0.6"


def test_shift_restarts_from_the_returning_listener() -> None:
    policy = MoodPolicy(mode="shift", target="calm")
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    assert policy.decide(ABSENT, now=200.0) == PlayIntent(action="pause", reason="listener left")
    back = policy.decide(pure_mood(Emotion.HAPPY), now=300.0)
    assert back is not None
    assert back.reason == "shift happy -> calm"
    assert policy.state.position == CIRCUMPLEX[Emotion.HAPPY]


# --- commands -------------------------------------------------------------------------------------


def test_set_target_rejects_unknown_names_listing_the_allowed_ones() -> None:
    policy = MoodPolicy()
    with pytest.raises(ValueError, match=r"'ecstatic'.*happy, surprise, energetic, calm, neutral, sad"):
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
        ({"target": "1.5,0.2"}, "target"),
        ({"match_hysteresis": -0.1}, "match_hysteresis"),
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
    assert (switched.mode, switched.reason) == ("shift", "shift sad -> calm")
    policy.set_mode("off")
    assert policy.decide(sad, now=2.0) is None
    assert policy.decide(ABSENT, now=3.0) is None
    policy.set_mode("match")
    resumed = policy.decide(sad, now=4.0)
    assert resumed == PlayIntent(action="play", valence=0.15, energy=0.3, reason="match sad", emotion="sad")


def test_set_mode_to_the_same_mode_changes_nothing() -> None:
    policy = MoodPolicy(mode="match")
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    policy.set_mode("match")
    assert policy.decide(pure_mood(Emotion.SAD), now=1.0) is None


def test_set_target_in_match_mode_changes_no_intent() -> None:
    """The target matters to shift only; matching music goes on undisturbed."""
    policy = MoodPolicy(mode="match", target="calm")
    policy.decide(pure_mood(Emotion.SAD), now=0.0)
    policy.set_target("happy")
    assert policy.decide(pure_mood(Emotion.SAD), now=1.0) is None
    assert policy.target == "happy"


# --- state ----------------------------------------------------------------------------------------


def test_state_is_a_frozen_snapshot() -> None:
    policy = MoodPolicy(mode="shift", target="happy")
    assert policy.state == PolicyState(mode="shift", target="happy", position=None, last_intent=None)
    intent = policy.decide(pure_mood(Emotion.SAD), now=0.0)
    state = policy.state
    assert state.position == SAD_POSITION
    assert state.last_intent == intent
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.target = "calm"  # type: ignore[misc]


# --- the hysteresis at its limits --------------------------------------------------------------------


@pytest.mark.parametrize(("drift", "follows"), [(0.25, False), (0.2500001, True)])
def test_a_drift_of_exactly_the_hysteresis_is_not_followed(drift: float, follows: bool) -> None:
    policy = MoodPolicy(mode="match", match_hysteresis=0.25)
    policy.decide(mood_at((0.0, 0.0), Emotion.NEUTRAL), now=0.0)
    assert (policy.decide(mood_at((drift, 0.0), Emotion.NEUTRAL), now=1.0) is not None) is follows


def test_the_default_hysteresis_is_0_3() -> None:
    policy = MoodPolicy(mode="match")
    assert policy.match_hysteresis == 0.3
    policy.decide(mood_at((0.0, 0.0), Emotion.NEUTRAL), now=0.0)
    assert policy.decide(mood_at((0.0, 0.3), Emotion.NEUTRAL), now=1.0) is None
    assert policy.decide(mood_at((0.0, 0.31), Emotion.NEUTRAL), now=2.0) is not None


def test_no_hysteresis_follows_every_move() -> None:
    policy = MoodPolicy(mode="match", match_hysteresis=0.0)
    policy.decide(mood_at((0.0, 0.0), Emotion.NEUTRAL), now=0.0)
    assert policy.decide(mood_at((0.0, 0.0), Emotion.NEUTRAL), now=1.0) is None
    assert policy.decide(mood_at((0.0, 0.01), Emotion.NEUTRAL), now=2.0) is not None
