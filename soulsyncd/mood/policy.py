"""Decide what music should play for a smoothed mood: match it, shift it, or leave the music alone.

The shift mode follows the music-therapy *iso principle*: first play music that matches the
listener's mood, then move the music toward the wanted mood in small steps, so that the listener is
carried along (sad -> calm -> happy) instead of being jolted. Positions are points on the circumplex
of :data:`~soulsyncd.types.CIRCUMPLEX` (valence, arousal in [-1, 1]); a
:class:`~soulsyncd.types.PlayIntent` carries the same point as music valence/energy in [0, 1].

Pure logic: the time is passed in and :meth:`MoodPolicy.decide` only returns values, so a test can
drive an hour of steps in microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from soulsyncd.types import TARGET_MOODS, Mood, PlayIntent

Mode = Literal["match", "shift", "off"]
MODES: tuple[Mode, ...] = ("match", "shift", "off")

# The parameters' limits, declared once: the config's fields use these same constants.
STEP_MAX = 2.0  # the circumplex is [-1, 1] on each axis: a longer step would jump past any target
STEP_INTERVAL_S_MAX = 3600.0  # a shift that steps less than hourly never gets anywhere in an evening

Position = tuple[float, float]  # (valence, arousal) on the circumplex, both in [-1, 1]

# Float noise from repeated steps must not turn "exactly at the limit" into "over it".
_EPSILON = 1e-9


@dataclass(frozen=True)
class PolicyState:
    """What the policy is doing, for publishing (e.g. to Home Assistant).

    Attributes:
        mode: "match", "shift" or "off".
        target: the name of the shift target in :data:`~soulsyncd.types.TARGET_MOODS`.
        position: the music's current (valence, arousal) on the circumplex, or None when no music
            has been asked for (start-up, after a pause, mode off).
        steps: shift steps taken toward the current target since the shift (re)started.
        holding: True while a due shift step waits for the listener to catch up.
        last_intent: the last intent :meth:`MoodPolicy.decide` returned, if any.
    """

    mode: Mode
    target: str
    position: Position | None
    steps: int
    holding: bool
    last_intent: PlayIntent | None


class MoodPolicy:
    """Turns smoothed moods into play intents, only when the music should change.

    Modes:

    * ``"off"``: :meth:`decide` always returns None; the music is left to the listener.
    * ``"match"``: play music at the mood's valence/arousal. A new intent comes when the emotion
      label changes, or when the mood's position drifted more than ``match_hysteresis`` (circumplex
      units) from the last intent's position.
    * ``"shift"``: start at the listener's mood position, then every ``step_interval_s`` move the
      music at most ``step`` (Euclidean, circumplex units) toward the target until it is reached,
      then stay there. **Hold:** a due step is not taken while it would leave the music more than
      ``max_lead`` (default ``2 * step``) away from the listener's measured mood: pulling faster
      than the listener follows defeats the iso principle. The step is taken on the first
      :meth:`decide` after the listener has caught up.

    In the playing modes, when the mood becomes absent the policy returns one ``"pause"`` intent
    (only if it had asked for music), then None until someone is back; the returning listener gets
    a fresh intent from their own mood (shift restarts from there).

    :meth:`set_mode` and :meth:`set_target` may be called between decisions (e.g. from MQTT
    commands) and take effect on the next :meth:`decide`: a mode change forgets the music position,
    so the new mode starts with a fresh intent; a target change keeps the music where it is, resets
    the step count and steers the following steps toward the new target.
    """

    def __init__(
        self,
        mode: str = "match",
        target: str = "calm",
        step: float = 0.25,
        step_interval_s: float = 120.0,
        *,
        match_hysteresis: float = 0.3,
        max_lead: float | None = None,
    ) -> None:
        """Set the policy.

        Args:
            mode: "match", "shift" or "off".
            target: a name in :data:`~soulsyncd.types.TARGET_MOODS`, the shift mode's goal.
            step: the largest move of one shift step, circumplex units (0 < step <= :data:`STEP_MAX`).
            step_interval_s: seconds between shift steps (0 < step_interval_s <=
                :data:`STEP_INTERVAL_S_MAX`).
            match_hysteresis: how far (circumplex units, >= 0) the mood may drift in match mode
                before the music follows without a label change.
            max_lead: how far (circumplex units) the shift may lead the listener's mood; defaults
                to ``2 * step``.

        Raises:
            ValueError: an unknown mode or target, or a parameter out of range; the message names
                it and, for names, the allowed values.
        """
        if not 0 < step <= STEP_MAX:
            raise ValueError(f"step must be in (0, {STEP_MAX:g}], got {step}")
        if not 0 < step_interval_s <= STEP_INTERVAL_S_MAX:
            raise ValueError(
                f"step_interval_s must be in (0, {STEP_INTERVAL_S_MAX:g}], got {step_interval_s}"
            )
        if not match_hysteresis >= 0:
            raise ValueError(f"match_hysteresis must be >= 0, got {match_hysteresis}")
        lead = 2 * step if max_lead is None else max_lead
        if not lead >= step:
            raise ValueError(f"max_lead must be >= step ({step}), got {lead}")
        self.step = step
        self.step_interval_s = step_interval_s
        self.match_hysteresis = match_hysteresis
        self.max_lead = lead
        self._mode: Mode = _validated_mode(mode)
        self._target = _validated_target(target)

        self._position: Position | None = None
        self._emotion_label: str | None = None  # the mood label the last play intent was for
        self._steps = 0
        self._last_step_at = 0.0
        self._holding = False
        self._last_intent: PlayIntent | None = None

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def target(self) -> str:
        return self._target

    @property
    def state(self) -> PolicyState:
        """A snapshot of the policy for publishing."""
        return PolicyState(
            mode=self._mode,
            target=self._target,
            position=self._position,
            steps=self._steps,
            holding=self._holding,
            last_intent=self._last_intent,
        )

    def set_mode(self, mode: str) -> None:
        """Switch mode; the next :meth:`decide` starts the new mode afresh.

        Raises:
            ValueError: ``mode`` is not one of :data:`MODES`; the message lists them.
        """
        new_mode = _validated_mode(mode)
        if new_mode != self._mode:
            self._mode = new_mode
            self._forget_music()

    def set_target(self, name: str) -> None:
        """Steer the shift toward another named mood from the music's current position.

        Raises:
            ValueError: ``name`` is not in :data:`~soulsyncd.types.TARGET_MOODS`; the message
                lists the allowed names.
        """
        new_target = _validated_target(name)
        if new_target != self._target:
            self._target = new_target
            self._steps = 0
            self._holding = False

    def restart(self) -> None:
        """Forget the music asked for, so the next :meth:`decide` issues a fresh intent (after a
        listener's pause is lifted, or the camera comes back)."""
        self._forget_music()

    def decide(self, mood: Mood, now: float) -> PlayIntent | None:
        """Return a new intent when the music should change for this mood, else None.

        Args:
            mood: the current smoothed mood.
            now: monotonic seconds, non-decreasing between calls (drives the shift steps).

        Returns:
            A "play" intent with the music's valence/energy in [0, 1] (rounded to 2 decimals), a
            "pause" intent once when the listener leaves, or None when nothing should change.
        """
        if self._mode == "off":
            return None
        if mood.absent:
            if self._position is None:
                return None  # nothing asked for, or already paused: the player needs no news
            self._forget_music()  # so the returning listener gets a fresh intent
            return self._issue(PlayIntent(action="pause", reason="listener left"))
        if self._mode == "match":
            return self._decide_match(mood)
        return self._decide_shift(mood, now)

    def _decide_match(self, mood: Mood) -> PlayIntent | None:
        position = (mood.valence, mood.arousal)
        unchanged = (
            self._position is not None
            and mood.label == self._emotion_label
            and _distance(position, self._position) <= self.match_hysteresis
        )
        if unchanged:
            return None
        self._emotion_label = mood.label
        return self._play(position, f"match {mood.label}")

    def _decide_shift(self, mood: Mood, now: float) -> PlayIntent | None:
        listener = (mood.valence, mood.arousal)
        target = TARGET_MOODS[self._target]
        if self._position is None:
            # Iso principle: meet the listener where they are before leading anywhere.
            self._steps = 0
            self._last_step_at = now
            self._emotion_label = mood.label
            return self._play(listener, f"shift start: match {mood.label} (target {self._target})")
        remaining = _distance(self._position, target)
        if remaining <= _EPSILON or now - self._last_step_at < self.step_interval_s:
            return None
        if remaining <= self.step + _EPSILON:
            next_position = target
        else:
            fraction = self.step / remaining
            next_position = (
                self._position[0] + (target[0] - self._position[0]) * fraction,
                self._position[1] + (target[1] - self._position[1]) * fraction,
            )
        if _distance(next_position, listener) > self.max_lead + _EPSILON:
            self._holding = True
            return None
        self._holding = False
        self._steps += 1
        self._last_step_at = now
        self._emotion_label = mood.label
        reached = ", target reached" if next_position == target else ""
        return self._play(
            next_position, f"shift {mood.label} -> {self._target} (step {self._steps}{reached})"
        )

    def _play(self, position: Position, reason: str) -> PlayIntent:
        self._position = position
        return self._issue(
            PlayIntent(
                action="play",
                valence=_to_unit_interval(position[0]),
                energy=_to_unit_interval(position[1]),
                reason=reason,
            )
        )

    def _issue(self, intent: PlayIntent) -> PlayIntent:
        self._last_intent = intent
        return intent

    def _forget_music(self) -> None:
        self._position = None
        self._emotion_label = None
        self._steps = 0
        self._holding = False


def _validated_mode(mode: str) -> Mode:
    for allowed in MODES:
        if mode == allowed:
            return allowed
    raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")


def _validated_target(name: str) -> str:
    if name not in TARGET_MOODS:
        raise ValueError(f"unknown target mood {name!r}; allowed: {', '.join(TARGET_MOODS)}")
    return name


def _distance(a: Position, b: Position) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _to_unit_interval(value: float) -> float:
    """Circumplex [-1, 1] to music [0, 1], rounded to 2 decimals (finer is noise to a player)."""
    return round(min(1.0, max(0.0, (value + 1.0) / 2.0)), 2)
