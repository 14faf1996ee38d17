"""The listener in control: how a takeover is recognised, and the hands-off back-off that follows.

Spotify does not say who pressed play, so the player reads it from what playback shows: music it
did not start, its own track paused by someone else, or playback moved to another speaker. Then
it reports ``listener in control`` and sends nothing for ``takeover_backoff_s``; when that ends it
looks once more and, if the listener's music still plays, keeps its hands off for another period.
A claiming intent (a mode set by the listener) or a skip ends the back-off at once.

Only rules and state live here (no I/O, the clock's values passed in), so tests check them with
values; :class:`~soulsyncd.spotify.control.Controller` makes the requests and acts on the answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Container
from dataclasses import dataclass
from typing import TypeGuard

from soulsyncd.spotify.client import Playback
from soulsyncd.spotify.rules import what, where
from soulsyncd.types import Track

log = logging.getLogger(__name__)


def started_by_us(playback: Playback, memory: Container[str], device_name: str | None) -> bool:
    """Whether what plays is this player's own music (e.g. queued before a restart), not the listener's.

    Args:
        playback: what plays.
        memory: the tracks this player started lately.
        device_name: the configured speaker (None: any).
    """
    device = playback.device
    return (playback.track is not None and playback.track.uri in memory and device is not None
            and (device_name is None or device.name.casefold() == device_name.casefold()))


def something_plays(playback: Playback | None) -> TypeGuard[Playback]:
    """Before a start: a named track plays (the listener's, unless :func:`started_by_us`)."""
    return playback is not None and playback.playing and playback.track is not None


def other_music_plays(playback: Playback | None, uri: str) -> TypeGuard[Playback]:
    """Before resuming our paused track ``uri``: something else plays (the listener took over)."""
    return playback is not None and playback.playing and (playback.track is None or playback.track.uri != uri)


def playing_where(playback: Playback) -> str:
    """``'Song' is playing on Phone``: why the player stands back, for a log line."""
    return f"{what(playback)} is playing on {where(playback)}"


@dataclass
class HandsOff:
    """The takeover back-off: while it is :attr:`active` the player sends nothing.

    Attributes:
        backoff_s: how long one period lasts (``takeover_backoff_s``).
        until: its end in monotonic seconds; None: not hands off.
        wall_until: the same end in epoch seconds, for the published state.
        device: the speaker the listener's music plays on, if a poll named one.
        track: the listener's track as the last read showed it (None: none named).
    """

    backoff_s: float
    until: float | None = None
    wall_until: float | None = None
    device: str | None = None
    track: Track | None = None

    @property
    def active(self) -> bool:
        """The player keeps its hands off (until :attr:`until`, then :meth:`recheck` decides)."""
        return self.until is not None

    def waiting(self, now: float) -> bool:
        """Hands off, and the period has not ended yet at monotonic ``now``."""
        return self.until is not None and now < self.until

    def begin(self, now: float, wall_now: float, playback: Playback | None, why: str) -> None:
        """A takeover seen at ``now`` (monotonic; ``wall_now`` epoch): hands off for one period."""
        self._extend(now, wall_now, playback)
        log.info("listener in control (%s): hands off for %.0f s", why, self.backoff_s)

    def recheck(self, now: float, wall_now: float, playback: Playback | None) -> bool:
        """The period ended: True (another period) if the listener's music still plays, else hands back on."""
        if playback is not None and playback.playing:
            self._extend(now, wall_now, playback)
            log.info("the listener's music still plays (%s): hands off for another %.0f s",
                     what(playback), self.backoff_s)
            return True
        self.end()
        return False

    def end(self) -> bool:
        """Hands back on now; True if they were off."""
        was = self.active
        self.until = self.wall_until = self.device = None
        self.track = None
        return was

    def detail(self) -> str | None:
        """``hands off until 21:30`` (local time) for the published state; None when not hands off.

        A fixed deadline rather than a countdown, so the retained state changes only when something
        happened.
        """
        if self.wall_until is None:
            return None
        return f"hands off until {time.strftime('%H:%M', time.localtime(self.wall_until))}"

    def _extend(self, now: float, wall_now: float, playback: Playback | None) -> None:
        self.until = now + self.backoff_s
        self.wall_until = wall_now + self.backoff_s
        if playback is not None and playback.device is not None:
            self.device = playback.device.name  # else the last one named stays
        if playback is not None:
            self.track = playback.track
