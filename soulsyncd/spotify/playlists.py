"""Reading the user's mood playlists (``music.playlists``) into the track catalog.

:class:`PlaylistSync` walks the configured playlists one request per :meth:`~PlaylistSync.step`
(a name, or a page: ``GET /playlists/{id}/items``, 50 a page, ``items[].item``), at most
:data:`SYNC_REQUESTS_PER_WINDOW` per :data:`REQUEST_WINDOW_S` counted from the answers, and stores
every playlist it read completely with its tag and tag point (:meth:`CatalogStore.set_playlist`).
It runs on the player's thread, so a step is short and the player stays responsive between steps.

What goes wrong with one playlist stays with that playlist: a URI that is not a playlist, a
playlist that is gone (404) or not the user's own (403: Spotify lets development-mode apps read
only playlists the user owns or collaborates on) is a warning naming it, and the others are still
read. What goes wrong with Spotify itself (offline, rate limited, login gone) ends the round early
and raises, so the player can show it as its state; the cache keeps what it had, and playback goes
on from it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from soulsyncd.catalog.store import CatalogTrack
from soulsyncd.interfaces import Clock
from soulsyncd.spotify.client import SpotifyClient, playlist_id
from soulsyncd.spotify.errors import ApiError
from soulsyncd.spotify.settings import TaggedPlaylist

log = logging.getLogger(__name__)

MAX_PAGES = 200  # 10,000 tracks: Spotify's own playlist limit; a loop guard against a bad "next"

REQUEST_WINDOW_S = 10.0
SYNC_REQUESTS_PER_WINDOW = 15
"""The sync's share of the player's budget of 25 requests per 10 s (the rest is left for playback):
whatever the number and size of the playlists, reading them never bursts (Spotify answers a burst
with 429s, which stop playback too)."""


@dataclass
class _Reading:
    """A playlist being read, one page per step."""

    entry: TaggedPlaylist
    pid: str
    name: str
    pages: Iterator[list[CatalogTrack]]
    tracks: list[CatalogTrack] = field(default_factory=list)
    page_count: int = 0


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
    """Keeps the catalog's copy of the configured playlists fresh, one request per :meth:`step`, at
    most :data:`SYNC_REQUESTS_PER_WINDOW` per :data:`REQUEST_WINDOW_S` (counted from the answers).

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
        self._reading: _Reading | None = None
        self._answers: deque[float] = deque()  # when the sync's recent requests were answered
        self._paced_until = 0.0
        self.last_report: SyncReport | None = None
        self.rounds = 0
        self.requests = 0

    def due(self) -> bool:
        """True when a round is in progress or the next one is due, and the budget allows a request."""
        at = self.next_at
        return at is not None and self._clock.monotonic() >= at

    @property
    def next_at(self) -> float | None:
        """Monotonic time the next step is due (None: no playlists configured)."""
        if self._next_round_at is None:
            return None
        return max(self._next_round_at, self._paced_until)

    def step(self) -> bool:
        """One request of the round (a playlist's name, or one page of its tracks); True when that
        completed the round.

        Raises:
            SpotifyError: Spotify as a whole failed (offline, rate limited, login); the round
                resumes at this playlist (from its first page) on the next step.
        """
        if not self._playlists:
            return False
        try:
            finished = self._advance()
        except Exception:
            self._reading = None  # its page iterator is spent: read it again from the start
            self._spent()
            raise
        self._spent()
        if not finished:
            return False
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

    def _spent(self) -> None:
        """Count a request from when it was answered (or failed); pace the next one."""
        now = self._clock.monotonic()
        self.requests += 1
        self._answers.append(now)
        while self._answers and self._answers[0] <= now - REQUEST_WINDOW_S:
            self._answers.popleft()
        if len(self._answers) >= SYNC_REQUESTS_PER_WINDOW:
            self._paced_until = self._answers[0] + REQUEST_WINDOW_S

    def _advance(self) -> bool:
        """Make the playlist's next request; True when the playlist is done (stored or skipped)."""
        entry = self._playlists[self._position]
        where = f"music.playlists.{entry.tag}: {entry.uri}"
        reading = self._reading
        try:
            if reading is None:
                pid = playlist_id(entry.uri)
                if pid is None:
                    self._skip(f"{where} is not a playlist URI (spotify:playlist:ID or an "
                               "open.spotify.com/playlist link)")
                    return True
                name = self._client.playlist_name(pid)
                pages = ([CatalogTrack(uri=t.uri, name=t.name, artists=t.artists, duration_s=t.duration_s)
                          for t in page] for page in self._client.playlist_tracks(pid))
                self._reading = _Reading(entry, pid, name, pages)
                return False
            page = next(reading.pages, None)
        except ApiError as exc:
            self._reading = None
            if exc.http_status == 403:
                self._skip(f"{where} is not yours: Spotify lets this app read only playlists you own or "
                           "collaborate on (copy it into a playlist of your own); skipped")
            elif exc.http_status == 404:
                self._skip(f"{where} was not found (deleted, private, or a Spotify-owned playlist); skipped")
            else:
                self._skip(f"{where} could not be read ({exc.message}); skipped")
            return True
        if page is not None:
            reading.tracks.extend(page)
            reading.page_count += 1
            if reading.page_count < MAX_PAGES:
                return False
        self._reading = None
        uri = f"spotify:playlist:{reading.pid}"
        self._store.set_playlist(uri, name=reading.name, tag=entry.tag, valence=entry.valence,
                                 energy=entry.energy, tracks=reading.tracks)
        self._report.stored[uri] = len(reading.tracks)
        log.info("playlist %r (%s, tag %s): %d tracks", reading.name, uri, entry.tag, len(reading.tracks))
        return True

    def _skip(self, warning: str) -> None:
        log.warning("%s", warning)
        self._report.warnings.append(warning)

    def defer(self, seconds: float) -> None:
        """Try the round's next playlist again in ``seconds`` (after a failure), keeping the position."""
        if self._next_round_at is not None:
            self._next_round_at = self._clock.monotonic() + seconds

    def run_round(self) -> SyncReport:
        """A whole round at once (the CLI's way); raises like :meth:`step`."""
        self._next_round_at = self._clock.monotonic()
        while not self.step():  # the CLI's one round, unpaced: nothing else shares its budget
            pass
        assert self.last_report is not None
        return self.last_report
