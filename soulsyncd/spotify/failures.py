"""The Spotify player's failures: each becomes a state with a back-off, until a request proves it over.

* 401 → one token refresh and retry (inside the client); a refused refresh → ``login required``.
* 403 ``PREMIUM_REQUIRED`` → ``premium required``; retried only every ``retry_max_s``.
* 404 no device, or the speaker not in the device list → ``no device``, retried with a back-off
  that doubles up to a minute; the log lists the visible devices when the name is not among them.
* 429 → ``rate limited`` until ``Retry-After`` (clamped to ``max_retry_after_s``); nothing is sent
  meanwhile, whatever the intents say.
* 5xx, timeouts, refused connections → ``offline``, exponential back-off up to ``retry_max_s``.

A failure's state stands, and its back-off keeps growing, until a request proves it over: any
answer for ``offline``, ``rate limited`` and ``login required``; a player command that went through
for ``premium required`` (reading playback works without Premium); the speaker found by name (or
a command to it that went through) for ``no device``. A step that sent nothing proves nothing.

The rules themselves are pure functions in :mod:`soulsyncd.spotify.rules`; :class:`Failures` keeps
the bookkeeping (clock values passed in) for :class:`~soulsyncd.spotify.control.Controller`.
"""

from __future__ import annotations

import logging

from soulsyncd.spotify.errors import LoginRequiredError, PremiumRequiredError, SpotifyError
from soulsyncd.spotify.rules import proven_over, recovered_message, retry_delay
from soulsyncd.spotify.settings import SpotifyPlayerConfig

log = logging.getLogger(__name__)


class Failures:
    """The standing failure and its back-off (see the module doc). One thread at a time.

    Attributes:
        failing: the failure whose state stands until proven over; None: none.
        count: failures in a row (the back-off grows with it).
        blocked_until: monotonic seconds before which nothing is sent.
        retry_at: the same moment in epoch seconds, for the published state; None: nothing failed.
    """

    def __init__(self, settings: SpotifyPlayerConfig) -> None:
        self._settings = settings
        self.failing: SpotifyError | None = None
        self.count = 0
        self.blocked_until = 0.0
        self.retry_at: float | None = None
        self._logged: str | None = None

    def failed(self, exc: SpotifyError, now: float, wall_now: float) -> None:
        """A step failed with ``exc`` at ``now`` (monotonic; ``wall_now`` epoch): back off, log it once."""
        self.count += 1
        self.failing = exc
        delay = retry_delay(exc, self.count, self._settings)
        self.blocked_until = now + delay
        self.retry_at = wall_now + delay
        serious = isinstance(exc, (LoginRequiredError, PremiumRequiredError))
        level = logging.ERROR if serious else logging.WARNING
        self.log_once(level, f"Spotify: {exc.message}; next try in {delay:.0f} s", key=exc.message)

    def settle(self, *, answered: bool, commanded: bool, device_found: bool) -> bool:
        """After a step without an error: True if it proved the standing failure over, which then ends.

        Args: as :func:`~soulsyncd.spotify.rules.proven_over`.
        """
        failing = self.failing
        if failing is None or not proven_over(
                failing, answered=answered, commanded=commanded, device_found=device_found):
            return False
        log.info("%s", recovered_message(failing))
        self.failing, self.count, self.retry_at = None, 0, None
        self._logged = None  # the same failure later is worth a line again
        return True

    def log_once(self, level: int, message: str, *, key: str | None = None) -> None:
        """Log ``message`` unless the last line logged had the same ``key`` (default: the message)."""
        # The same failure every few seconds is one line, not a flood.
        key = key or message
        if key != self._logged:
            log.log(level, "%s", message)
            self._logged = key
