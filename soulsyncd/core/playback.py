"""How the core talks to a player without ever waiting on it.

:class:`PlayerWorker` runs any player's calls on a thread of its own: the analysis tick only hands
over the newest intent (a pause at once, replacing any play not yet sent) and reads a cached
:class:`~soulsyncd.types.PlayerState`. A player that blocks for seconds, or raises, slows or kills
nothing but its own thread. :class:`ThrottledPlayer` sits in front of it and collapses bursts of
intents.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

from soulsyncd.interfaces import Clock, Player, SystemClock
from soulsyncd.types import PlayerState, PlayIntent

log = logging.getLogger(__name__)

STATE_REFRESH_S = 0.5  # how often the worker re-reads the player's own state while idle
CLOSE_TIMEOUT_S = 1.0


def describe(intent: PlayIntent) -> str:
    """One readable line for an intent, used by the players and the daemon's log."""
    if intent.action == "pause":
        return f"pause ({intent.reason})" if intent.reason else "pause"
    text = f"play music with valence {intent.valence:.2f}, energy {intent.energy:.2f}"
    return f"{text} ({intent.reason})" if intent.reason else text


class PlayerWorker:
    """Runs a player's methods on its own thread; every method here returns at once.

    Newest wins: of several intents handed over while the player is busy, only the last is applied.
    ``skip`` and ``set_output`` are queued in order behind it. Exceptions from the player are
    logged (once per distinct message) and reported as the state's ``last_error``.
    """

    def __init__(self, player: Player, *, name: str = "player") -> None:
        self._player = player
        self._lock = threading.Condition()
        self._intent: PlayIntent | None = None
        self._operations: list[Callable[[], None]] = []
        self._closing = False
        self._in_call = False
        self._state = PlayerState()
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def apply(self, intent: PlayIntent) -> None:
        with self._lock:
            self._intent = intent
            self._lock.notify_all()

    def skip(self) -> None:
        self._queue(self._player.skip)

    def set_output(self, device: str | None = None, volume: int | None = None) -> None:
        self._queue(lambda: self._player.set_output(device=device, volume=volume))

    def state(self) -> PlayerState:
        return self._state

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until everything handed over has reached the player (for tests and tools)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending_work(), timeout_s)

    def close(self) -> None:
        """Stop the thread (waiting about a second for a call in progress), then close the player.

        The player is closed even when a call is still in progress (a request hanging on a dead
        network): its ``close`` only sets a flag and joins, so it is safe beside the call, and it is
        what ends the player's own threads before the stop deadline.
        """
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join(CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            log.info("player still busy after %.0f s; closing it beside the call in progress",
                     CLOSE_TIMEOUT_S)
        self._call(self._player.close, "close")

    def _queue(self, operation: Callable[[], None]) -> None:
        with self._lock:
            if len(self._operations) < 32:  # a flood of skips must not grow without bound
                self._operations.append(operation)
            self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(self._has_work, STATE_REFRESH_S)
                if self._closing:
                    return
                intent, self._intent = self._intent, None
                operations, self._operations = self._operations, []
                self._in_call = intent is not None or bool(operations)
            if intent is not None:
                self._call(functools.partial(self._player.apply, intent), describe(intent))
            for operation in operations:
                self._call(operation, "command")
            self._refresh_state()
            with self._lock:
                self._in_call = False
                self._lock.notify_all()

    def _has_work(self) -> bool:
        return self._closing or self._pending_work()

    def _pending_work(self) -> bool:
        return self._intent is not None or bool(self._operations) or self._in_call

    def _call(self, function: Callable[[], None], what: str) -> None:
        try:
            function()
        except Exception as exc:  # the player's failure is a state, never the daemon's end
            message = f"player failed to {what}: {exc}"
            if message != self._last_error:
                log.exception("%s", message)
            self._last_error = message
        else:
            self._last_error = None

    def _refresh_state(self) -> None:
        try:
            state = self._player.state()
        except Exception as exc:
            state = PlayerState(last_error=f"player state unavailable: {exc}")
        if self._last_error is not None and state.last_error is None:
            state = PlayerState(**{**state.__dict__, "last_error": self._last_error})
        self._state = state


class ThrottledPlayer:
    """Passes play intents on at most once per ``min_interval_s``; a held intent goes out when due.

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
        if intent.action == "pause" or intent.claim:
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

    def skip(self) -> None:
        self._player.skip()

    def set_output(self, device: str | None = None, volume: int | None = None) -> None:
        self._player.set_output(device=device, volume=volume)

    def state(self) -> PlayerState:
        return self._player.state()

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
