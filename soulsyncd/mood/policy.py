"""Decide what the music should do for a smoothed mood: match it, shift it, or leave it alone.

The policy says *what kind* of music is wanted; the mood engine (:mod:`soulsyncd.mood.engine`)
turns that into concrete tracks at track boundaries. An intent carries the mode, the listener's
emotion, the shift's target and the listener's own point (the mood's valence/arousal mapped from
the circumplex's [-1, 1] to music valence/energy in [0, 1]). Shift mode follows the music-therapy
*iso principle* — start where the listener is, move toward the target in small steps — but the
steps are per track and re-planned from the listener's mood at every track boundary, so they are
the engine's job (:mod:`soulsyncd.mood.shift`); ``policy.step`` is the engine's step per track.

Pure logic: :meth:`MoodPolicy.decide` only returns values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from soulsyncd.mood import targets
from soulsyncd.types import Mood, PlayIntent

Mode = Literal["match", "shift", "off"]
MODES: tuple[Mode, ...] = ("match", "shift", "off")

# The parameters' limits, declared once: the config's fields use these same constants.
STEP_MIN = 0.01  # a shorter step per track would need a hundred tracks and more to cross the map
STEP_MAX = 1.0  # music valence and energy span [0, 1]: a longer step per track would jump past any target

Position = tuple[float, float]  # (valence, arousal) on the circumplex, both in [-1, 1]


@dataclass(frozen=True)
class PolicyState:
    """What the policy is doing, for publishing (e.g. to Home Assistant).

    Attributes:
        mode: "match", "shift" or "off".
        target: the shift target: a mood name in :data:`soulsyncd.mood.targets.DEFAULT_POINTS` or
            an explicit ``"valence,energy"`` point.
        position: the listener's (valence, arousal) on the circumplex that the last play intent was
            for, or None when no music has been asked for (start-up, after a pause, mode off).
        last_intent: the last intent :meth:`MoodPolicy.decide` returned, if any.
    """

    mode: Mode
    target: str
    position: Position | None
    last_intent: PlayIntent | None


class MoodPolicy:
    """Turns smoothed moods into play intents, only when the wanted music changes.

    Modes:

    * ``"off"``: :meth:`decide` always returns None; the music is left to the listener.
    * ``"match"``: music that fits the mood (the engine plays around the emotion's point).
    * ``"shift"``: music that leads the mood toward ``target`` (the engine plans one step per
      track from the listener's point).

    In both playing modes a new intent comes when the emotion label changes, or when the mood's
    position drifted more than ``match_hysteresis`` (circumplex units) from the last intent's. When
    the mood becomes absent the policy returns one ``"pause"`` intent (only if it had asked for
    music), then None until someone is back; the returning listener gets a fresh intent.

    :meth:`set_mode` and :meth:`set_target` may be called between decisions (e.g. from MQTT
    commands) and take effect on the next :meth:`decide`, with a fresh intent.
    """

    def __init__(self, mode: str = "match", target: str = "calm", *, match_hysteresis: float = 0.3) -> None:
        """Set the policy.

        Args:
            mode: "match", "shift" or "off".
            target: the shift's goal: a mood name or ``"valence,energy"`` in [0, 1].
            match_hysteresis: how far (circumplex units, >= 0) the mood may drift before the music
                follows without a label change.

        Raises:
            ValueError: an unknown mode or target, or a negative hysteresis; the message names it
                and, for names, the allowed values.
        """
        if not match_hysteresis >= 0:
            raise ValueError(f"match_hysteresis must be >= 0, got {match_hysteresis}")
        self.match_hysteresis = match_hysteresis
        self._mode: Mode = _validated_mode(mode)
        self._target = _validated_target(target)
        self._position: Position | None = None
        self._emotion_label: str | None = None  # the mood label the last play intent was for
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
            mode=self._mode, target=self._target, position=self._position, last_intent=self._last_intent
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
        """Steer the shift toward another mood (a name or ``"valence,energy"``) from the next decision.

        Raises:
            ValueError: an unknown name or a point outside [0, 1]; the message lists the names.
        """
        new_target = _validated_target(name)
        if new_target != self._target:
            self._target = new_target
            if self._mode == "shift":
                self._forget_music()  # the engine plans the new shift from the listener's mood

    def restart(self) -> None:
        """Forget the music asked for, so the next :meth:`decide` issues a fresh intent (after a
        listener's pause is lifted, or the camera comes back)."""
        self._forget_music()

    def decide(self, mood: Mood, now: float) -> PlayIntent | None:
        """Return a new intent when the wanted music changes for this mood, else None.

        Args:
            mood: the current smoothed mood.
            now: monotonic seconds (unused since the shift steps per track; kept so callers
                need not change).

        Returns:
            A "play" intent with the listener's valence/energy in [0, 1] (rounded to 2 decimals),
            mode, emotion and (shift) target; a "pause" intent once when the listener leaves; or
            None when nothing should change.
        """
        del now
        if self._mode == "off":
            return None
        if mood.absent:
            if self._position is None:
                return None  # nothing asked for, or already paused: the player needs no news
            self._forget_music()  # so the returning listener gets a fresh intent
            return self._issue(PlayIntent(action="pause", reason="listener left"))
        position = (mood.valence, mood.arousal)
        unchanged = (
            self._position is not None
            and mood.label == self._emotion_label
            and _distance(position, self._position) <= self.match_hysteresis
        )
        if unchanged:
            return None
        self._position = position
        self._emotion_label = mood.label
        valence, energy = (round(value, 2) for value in targets.mood_to_music(*position))
        if self._mode == "match":
            reason, target = f"match {mood.label}", None
        else:
            reason, target = f"shift {mood.label} -> {self._target}", self._target
        return self._issue(
            PlayIntent(action="play", valence=valence, energy=energy, reason=reason, mode=self._mode,
                       emotion=mood.label, target=target)
        )

    def _issue(self, intent: PlayIntent) -> PlayIntent:
        self._last_intent = intent
        return intent

    def _forget_music(self) -> None:
        self._position = None
        self._emotion_label = None


def _validated_mode(mode: str) -> Mode:
    for allowed in MODES:
        if mode == allowed:
            return allowed
    raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")


def _validated_target(name: str) -> str:
    if not targets.is_target(name):
        raise ValueError(
            f"unknown target mood {name!r}; allowed: {', '.join(targets.NAMES)} or 'valence,energy' in [0, 1]"
        )
    return name


def _distance(a: Position, b: Position) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])
