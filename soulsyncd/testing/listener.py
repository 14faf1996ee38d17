"""A simulated listener whose mood answers the music: for ``soulsyncd simulate``, tests and tools.

The listener has a point in music space (valence, energy in [0, 1]); :meth:`SimulatedListener.mood`
gives it on the circumplex, as the smoother would report it. After each track they heard to the
end, the point moves by their behaviour:

* ``follow``: to the track's own point (the music carries them), with a little noise;
* ``lag``: half-way toward it;
* ``resist``: not at all (and a little noise).

Some tracks may *lift* them (``rises``): after such a track the point moves a further ``rise``
toward ``rise_toward`` (e.g. the shift's target) — the effect the engine's affective feedback is
meant to learn. The listener dislikes a share ``skip_probability`` of the tracks and skips those
after 5 to 25 s, every time; a skipped track moves nothing. Seeded: the same seed gives the same session.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Literal

from soulsyncd.types import Track

Behaviour = Literal["follow", "lag", "resist"]
BEHAVIOURS: tuple[Behaviour, ...] = ("follow", "lag", "resist")

_RATE: dict[str, float] = {"follow": 1.0, "lag": 0.5, "resist": 0.0}


class SimulatedListener:
    """A listener whose mood moves with the music (see the module doc).

    Args:
        start: the listener's first point (valence, energy) in [0, 1].
        behaviour: "follow", "lag" or "resist".
        skip_probability: the share of tracks this listener dislikes and skips early (0..1).
        seed: for the skips and the noise.
        rises: uris of tracks that lift this listener.
        rise: how far such a track lifts them (music units).
        rise_toward: the direction they are lifted toward (default: happy, (0.85, 0.70)).
        noise: the standard deviation of the point's jitter per track.
    """

    def __init__(
        self,
        start: tuple[float, float],
        *,
        behaviour: Behaviour = "follow",
        skip_probability: float = 0.0,
        seed: int = 0,
        rises: Iterable[str] = (),
        rise: float = 0.3,
        rise_toward: tuple[float, float] = (0.85, 0.70),
        noise: float = 0.01,
    ) -> None:
        if behaviour not in _RATE:
            raise ValueError(f"unknown behaviour {behaviour!r}; expected one of {', '.join(BEHAVIOURS)}")
        if not 0.0 <= skip_probability <= 1.0:
            raise ValueError(f"skip_probability must be in [0, 1], got {skip_probability}")
        self.point = start
        self.behaviour: Behaviour = behaviour
        self.skip_probability = skip_probability
        self.rises = frozenset(rises)
        self.rise = rise
        self.rise_toward = rise_toward
        self.noise = noise
        self._seed = seed
        self._random = random.Random(seed)

    def mood(self) -> tuple[float, float]:
        """The listener's (valence, arousal) on the circumplex, as the smoother reports it."""
        return (self.point[0] * 2.0 - 1.0, self.point[1] * 2.0 - 1.0)

    def move_to(self, point: tuple[float, float]) -> None:
        """Put the listener's mood somewhere (a scripted change, e.g. a new segment)."""
        self.point = point

    def dislikes(self, track: Track) -> bool:
        """Whether this listener dislikes ``track``: a fixed share (``skip_probability``) of tracks,
        the same ones every time for one seed."""
        draw = random.Random(f"{self._seed}:{track.uri}").random()
        return draw < self.skip_probability

    def decide(self, track: Track, track_s: float) -> tuple[float, bool]:
        """Whether this listener skips ``track`` and after how long: (listened_s, skipped).
        A disliked track is skipped after 5 to 25 s, every time."""
        if self.dislikes(track):
            return (min(track_s, self._random.uniform(5.0, 25.0)), True)
        return (track_s, False)

    def hear(self, track: Track, skipped: bool) -> None:
        """Let the track act on the listener's mood (a skipped one does nothing)."""
        if skipped or track.valence is None or track.energy is None:
            return
        rate = _RATE[self.behaviour]
        v = self.point[0] + rate * (track.valence - self.point[0])
        e = self.point[1] + rate * (track.energy - self.point[1])
        if track.uri in self.rises:
            dv, de = self.rise_toward[0] - v, self.rise_toward[1] - e
            gap = math.hypot(dv, de)
            if gap > 0.0:
                lift = min(self.rise, gap)
                v, e = v + dv / gap * lift, e + de / gap * lift
        v += self._random.gauss(0.0, self.noise)
        e += self._random.gauss(0.0, self.noise)
        self.point = (min(1.0, max(0.0, v)), min(1.0, max(0.0, e)))
