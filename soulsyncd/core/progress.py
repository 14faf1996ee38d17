"""Proof that the analysis loop is alive, for a watchdog that must not be fooled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Monotonic times of the last finished tick and the last analysed frame, and the capture thread.

    A loop that ticks on while the capture thread is dead, or a tick that hangs, is *not* progress:
    :meth:`healthy` asks for a recent tick, and for a recent frame or a camera that is deliberately
    not delivering (disabled by the privacy switch, absent and being retried, a file that ended).
    """

    last_tick_at: float | None
    last_frame_at: float | None
    capture_alive: bool
    frames_expected: bool  # False while the camera is off, absent (retrying) or ended

    def healthy(self, now: float, max_age_s: float) -> bool:
        """True when the loop ticked within ``max_age_s`` and frames flow (or are not expected)."""
        if self.last_tick_at is None or now - self.last_tick_at > max_age_s:
            return False
        if not self.capture_alive:
            return False
        if not self.frames_expected:
            return True
        return self.last_frame_at is not None and now - self.last_frame_at <= max_age_s
