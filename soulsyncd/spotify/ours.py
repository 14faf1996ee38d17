"""The track the Spotify player started, as its :class:`~soulsyncd.spotify.control.Controller` follows it."""

from __future__ import annotations

from dataclasses import dataclass

from soulsyncd.spotify.client import Device
from soulsyncd.types import Track


@dataclass
class Ours:
    """The track this player started, and what the last poll said of it."""

    track: Track
    device: Device
    progress_s: float = 0.0
    seen_at: float = 0.0  # monotonic time of progress_s
    playing: bool = True
    confirmed: bool = False  # a poll has shown it on the device
    unconfirmed_polls: int = 0
    attempts: int = 1
    paused_by_us: bool = False

    def listened(self, now: float) -> float:
        """Seconds of it heard by monotonic ``now`` (counting on from the last poll while it plays)."""
        elapsed = now - self.seen_at if self.playing and self.confirmed else 0.0
        return min(self.track.duration_s or float("inf"), self.progress_s + max(0.0, elapsed))
