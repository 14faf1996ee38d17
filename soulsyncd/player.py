"""Players: what turns a PlayIntent into music. For now the dry-run player, which only logs.

The Spotify Connect player arrives with its own issue and plugs in behind the same
:class:`soulsyncd.interfaces.Player` protocol; :class:`soulsyncd.core.playback.PlayerWorker` runs
either off the analysis thread.
"""

from __future__ import annotations

import logging

from soulsyncd.core.playback import describe
from soulsyncd.types import PlayerState, PlayerStatus, PlayIntent

log = logging.getLogger(__name__)




class DryRunPlayer:
    """Logs what it would play and remembers it; touches no speaker or network."""

    def __init__(self) -> None:
        self.history: list[PlayIntent] = []

    def apply(self, intent: PlayIntent) -> None:
        self.history.append(intent)
        log.info("dry-run player: would %s", describe(intent))

    def skip(self) -> None:
        log.info("dry-run player: would skip to the next track")

    def set_output(self, device: str | None = None, volume: int | None = None) -> None:
        log.info("dry-run player: would play on %s at volume %s", device or "the same speaker", volume)

    def state(self) -> PlayerState:
        return PlayerState(status=PlayerStatus.DRY_RUN, playing=bool(self.history)
                           and self.history[-1].action == "play")

    def close(self) -> None:
        log.debug("dry-run player closed after %d decisions", len(self.history))
