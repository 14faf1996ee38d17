"""Reading the user's mood playlists (``music.playlists``) into the track catalog.

:class:`PlaylistSync` walks the configured playlists one per :meth:`~PlaylistSync.step`, each page
by page (``GET /playlists/{id}/items``, 50 a page, ``items[].item``), and stores every playlist it
read completely with its tag and tag point (:meth:`CatalogStore.set_playlist`). It runs on the
player's thread, so a step is short and the player stays responsive between steps.

What goes wrong with one playlist stays with that playlist: a URI that is not a playlist, a
playlist that is gone (404) or not the user's own (403: Spotify lets development-mode apps read
only playlists the user owns or collaborates on) is a warning naming it, and the others are still
read. What goes wrong with Spotify itself (offline, rate limited, login gone) ends the round early
and raises, so the player can show it as its state; the cache keeps what it had, and playback goes
on from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from soulsyncd.catalog.store import CatalogTrack
from soulsyncd.interfaces import Clock
from soulsyncd.spotify.client import SpotifyClient, playlist_id
from soulsyncd.spotify.errors import ApiError
from soulsyncd.spotify.settings import TaggedPlaylist

log = logging.getLogger(__name__)

MAX_PAGES = 200  # 10,000 tracks: Spotify's own playlist limit; a loop guard against a bad "next"


class PlaylistStore(Protocol):
    """The part of :class:`soulsyncd.catalog.store.CatalogStore` the sync writes to."""

    def set_playlist(
        self,
        uri: str,
        *,
        name: str,
        tag: str | None,
        valence: float | None,
        energy: float | None,
        tracks: Sequence[CatalogTrack],
    ) -> None: ...


@dataclass
class SyncReport:
    """How the last complete round went: playlists stored, and a warning per playlist skipped."""

    stored: dict[str, int] = field(default_factory=dict)  # canonical uri -> tracks
    warnings: list[str] = field(default_factory=list)


class PlaylistSync:
    """Keeps the catalog's copy of the configured playlists fresh.

    Args:
        client: the Web API.
        store: the catalog.
        playlists: what ``music.playlists`` lists (:meth:`MusicConfig.tagged`).
        refresh_s: seconds between rounds.
        clock: monotonic seconds.
        on_round: called with the report after every complete round (e.g. to reload the engine).
    """

    def __init__(
        self,
        client: SpotifyClient,
        store: PlaylistStore,
        playlists: Sequence[TaggedPlaylist],
        *,
        refresh_s: float,
        clock: Clock,
        on_round: Callable[[SyncReport], None] | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._playlists = list(playlists)
        self._refresh_s = refresh_s
        self._clock = clock
        self._on_round = on_round
        self._next_round_at: float | None = clock.monotonic() if self._playlists else None
        self._position = 0
        self._report = SyncReport()
        self.last_report: SyncReport | None = None
        self.rounds = 0

    def due(self) -> bool:
        """True when a round is in progress or the next one is due."""
        return self._next_round_at is not None and self._clock.monotonic() >= self._next_round_at

    @property
    def next_at(self) -> float | None:
        """Monotonic time the next step is due (None: no playlists configured)."""
        return self._next_round_at

    def step(self) -> bool:
        """Read and store the next playlist of the round; True when that completed the round.

        Raises:
            SpotifyError: Spotify as a whole failed (offline, rate limited, login); the round
                resumes at this playlist on the next step.
        """
        if not self._playlists:
            return False
        entry = self._playlists[self._position]
        warning = self._sync_one(entry)
        if warning is not None:
            log.warning("%s", warning)
            self._report.warnings.append(warning)
        self._position += 1
        if self._position < len(self._playlists):
            return False
        self._position = 0
        self._next_round_at = self._clock.monotonic() + self._refresh_s
        report, self._report = self._report, SyncReport()
        self.last_report = report
        self.rounds += 1
        log.info("mood playlists read: %d stored (%d tracks), %d skipped", len(report.stored),
                 sum(report.stored.values()), len(report.warnings))
        if self._on_round is not None:
            try:
                self._on_round(report)
            except Exception:  # whoever listens must not stop the player's thread
                log.exception("playlist sync listener failed")
        return True

    def defer(self, seconds: float) -> None:
        """Try the round's next playlist again in ``seconds`` (after a failure), keeping the position."""
        if self._next_round_at is not None:
            self._next_round_at = self._clock.monotonic() + seconds

    def run_round(self) -> SyncReport:
        """A whole round at once (the CLI's way); raises like :meth:`step`."""
        self._next_round_at = self._clock.monotonic()
        while not self.step():
            pass
        assert self.last_report is not None
        return self.last_report

    def _sync_one(self, entry: TaggedPlaylist) -> str | None:
        pid = playlist_id(entry.uri)
        where = f"music.playlists.{entry.tag}: {entry.uri}"
        if pid is None:
            return f"{where} is not a playlist URI (spotify:playlist:ID or an open.spotify.com/playlist link)"
        try:
            name = self._client.playlist_name(pid)
            tracks: list[CatalogTrack] = []
            for page_number, page in enumerate(self._client.playlist_tracks(pid)):
                if page_number >= MAX_PAGES:
                    break
                tracks.extend(CatalogTrack(uri=t.uri, name=t.name, artists=t.artists, duration_s=t.duration_s)
                              for t in page)
        except ApiError as exc:
            if exc.http_status == 403:
                return (f"{where} is not yours: Spotify lets this app read only playlists you own or "
                        "collaborate on (copy it into a playlist of your own); skipped")
            if exc.http_status == 404:
                return f"{where} was not found (deleted, private, or a Spotify-owned playlist); skipped"
            return f"{where} could not be read ({exc.message}); skipped"
        uri = f"spotify:playlist:{pid}"
        self._store.set_playlist(uri, name=name, tag=entry.tag, valence=entry.valence, energy=entry.energy,
                                 tracks=tracks)
        self._report.stored[uri] = len(tracks)
        log.info("playlist %r (%s, tag %s): %d tracks", name, uri, entry.tag, len(tracks))
        return None
