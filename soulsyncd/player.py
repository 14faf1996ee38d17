"""Players: what turns a PlayIntent into music. For now the dry-run player, which only logs.

The Spotify Connect player arrives with its own issue and plugs in behind the same
:class:`soulsyncd.interfaces.Player` protocol; :class:`ThrottledPlayer` wraps either.
"""

from __future__ import annotations

import logging

from soulsyncd.interfaces import Clock, Player, SystemClock
from soulsyncd.types import PlayIntent

log = logging.getLogger(__name__)


def describe(intent: PlayIntent) -> str:
    """One readable line for an intent, used by the dry-run player and the daemon's log."""
    if intent.action == "pause":
        return f"pause ({intent.reason})" if intent.reason else "pause"
    text = f"play music with valence {intent.valence:.2f}, energy {intent.energy:.2f}"
    return f"{text} ({intent.reason})" if intent.reason else text


class DryRunPlayer:
    """Logs what it would play and remembers it; touches no speaker or network."""

    def __init__(self) -> None:
        self.history: list[PlayIntent] = []

    def apply(self, intent: PlayIntent) -> None:
        self.history.append(intent)
        log.info("dry-run player: would %s", describe(intent))

    def close(self) -> None:
        log.debug("dry-run player closed after %d decisions", len(self.history))


class ThrottledPlayer:
    """Passes intents on at most once per ``min_interval_s``; a held intent goes out when due.

    Changing the track every few seconds is worse than lagging the mood a little, so a burst of
    intents collapses into the newest one. Pauses are passed on at once: when the listener leaves,
    the music should not play on to an empty room.
    """

    def __init__(self, player: Player, min_interval_s: float, clock: Clock | None = None) -> None:
        self._player = player
        self._min_interval_s = min_interval_s
        self._clock = clock or SystemClock()
        self._last_sent: float | None = None
        self._pending: PlayIntent | None = None

    def apply(self, intent: PlayIntent) -> None:
        self._pending = intent
        if intent.action == "pause":
            self._send()
        else:
            self.flush()

    def flush(self) -> None:
        """Send the held intent if the interval has passed; call it on every analysis tick."""
        if self._pending is None:
            return
        now = self._clock.monotonic()
        if self._last_sent is None or now - self._last_sent >= self._min_interval_s:
            self._send()

    def _send(self) -> None:
        intent, self._pending = self._pending, None
        if intent is None:
            return
        self._last_sent = self._clock.monotonic()
        try:
            self._player.apply(intent)
        except Exception:  # a player outage must never stop the daemon
            log.exception("player failed to apply %s", describe(intent))

    def close(self) -> None:
        self._player.close()
