"""A small typed layer over spotipy: the few Web API calls the daemon makes, errors as types.

spotipy gets a plain ``requests.Session()`` (no retry adapter) and ``retries=0``: its own retry
would sleep out a ``Retry-After`` of up to an hour inside the calling thread and then drop the
header. Here every failure surfaces at once as a :mod:`soulsyncd.spotify.errors` type, with the
``Retry-After`` kept, and the caller (the player's thread) owns the back-off.

An HTTP 401 (the access token expired early or was revoked) is answered by one forced refresh and
one retry; a second 401 means the login is gone. Methods are for one thread at a time.
"""

from __future__ import annotations

import soulsyncd.spotify.lean_import  # noqa: F401  (first: spotipy without redis, requests without chardet)

# isort: split

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from spotipy import Spotify  # type: ignore[import-untyped]
from spotipy.exceptions import SpotifyException  # type: ignore[import-untyped]

from soulsyncd.spotify.auth import AuthManager
from soulsyncd.spotify.errors import LoginRequiredError, SpotifyError, translate
from soulsyncd.types import Track

log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_LIMIT = 50  # /playlists/{id}/items serves at most 50 per page
# The player calls that change something (not just read).
COMMANDS = frozenset({"play", "transfer", "pause", "next", "queue", "volume"})


@dataclass(frozen=True)
class Device:
    """A Spotify Connect device as ``GET /me/player/devices`` lists it (its id may change: look up
    by name)."""

    id: str | None
    name: str
    type: str
    active: bool
    restricted: bool  # accepts no Web API commands
    volume: int | None


@dataclass(frozen=True)
class Playback:
    """``GET /me/player``: what plays where (None from :meth:`SpotifyClient.playback`: nothing)."""

    device: Device | None
    track: Track | None
    progress_s: float
    playing: bool
    context_uri: str | None


def _device(data: dict[str, Any]) -> Device:
    volume = data.get("volume_percent")
    return Device(
        id=data.get("id"),
        name=str(data.get("name", "")),
        type=str(data.get("type", "")),
        active=bool(data.get("is_active")),
        restricted=bool(data.get("is_restricted")),
        volume=int(volume) if isinstance(volume, (int, float)) else None,
    )


def parse_track(item: dict[str, Any] | None) -> Track | None:
    """A :class:`Track` from a Web API track object; None for episodes, local files and gaps."""
    if not item or item.get("type", "track") != "track" or item.get("is_local") or not item.get("uri"):
        return None
    artists = tuple(str(a.get("name", "")) for a in item.get("artists") or () if isinstance(a, dict))
    return Track(
        uri=str(item["uri"]),
        name=str(item.get("name", "")),
        artists=artists,
        duration_s=float(item.get("duration_ms") or 0) / 1000.0,
    )


def playlist_id(uri: str) -> str | None:
    """The id in ``spotify:playlist:ID``, ``spotify:user:U:playlist:ID`` or an open.spotify.com
    playlist link; None for anything else (an album, a track, a typo)."""
    from urllib.parse import urlparse

    text = uri.strip()
    parts = text.split(":")
    if text.startswith("spotify:") and len(parts) >= 3 and parts[-2] == "playlist":
        candidate = parts[-1]
    else:
        parsed = urlparse(text if "://" in text else f"https://{text}")
        segments = [s for s in parsed.path.split("/") if s and not s.startswith("intl-")]
        if parsed.netloc != "open.spotify.com" or len(segments) != 2 or segments[0] != "playlist":
            return None
        candidate = segments[1]
    return candidate if candidate.isalnum() and candidate.isascii() else None


class SpotifyClient:
    """The daemon's Web API calls through spotipy, every failure a :class:`SpotifyError`.

    Args:
        auth: a manager from :func:`soulsyncd.spotify.auth.make_auth_manager`.
        timeout_s: timeout of each request.
        api_prefix: override of ``https://api.spotify.com/v1/`` (tests and tools point it at a fake).
        on_request: called once per HTTP request sent (counting for benchmarks and tests).

    ``answered`` and ``commands_done`` count the calls that succeeded (all of them; the player
    commands among them): the player compares them around a step to tell whether Spotify has
    actually answered since a failure, instead of assuming it from a step that sent nothing.
    """

    def __init__(
        self,
        auth: AuthManager,
        *,
        timeout_s: float = 10.0,
        api_prefix: str | None = None,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self.auth = auth
        self.sp = Spotify(
            auth_manager=auth,
            requests_session=requests.Session(),
            retries=0,
            status_retries=0,
            requests_timeout=timeout_s,
        )
        if api_prefix:
            self.sp.prefix = api_prefix if api_prefix.endswith("/") else api_prefix + "/"
        self._on_request = on_request
        self.answered = 0
        self.commands_done = 0

    # --- the calls ---

    def me(self) -> dict[str, Any]:
        """``GET /me``: the user's profile (``display_name``, ``id``)."""
        return self._call("me", self.sp.current_user, player=False) or {}

    def devices(self) -> list[Device]:
        """``GET /me/player/devices``."""
        data = self._call("devices", self.sp.devices, player=True) or {}
        return [_device(d) for d in data.get("devices") or () if isinstance(d, dict)]

    def playback(self) -> Playback | None:
        """``GET /me/player``; None when nothing is playing or paused anywhere (HTTP 204)."""
        data = self._call("playback", self.sp.current_playback, player=True)
        if not data:
            return None
        device = data.get("device")
        context = data.get("context")
        return Playback(
            device=_device(device) if isinstance(device, dict) else None,
            track=parse_track(data.get("item")),
            progress_s=float(data.get("progress_ms") or 0) / 1000.0,
            playing=bool(data.get("is_playing")),
            context_uri=context.get("uri") if isinstance(context, dict) else None,
        )

    def play(self, device_id: str | None, uris: list[str] | None = None) -> None:
        """``PUT /me/player/play``: start ``uris`` (or resume, if None) on the device, waking it."""
        self._call("play", lambda: self.sp.start_playback(device_id=device_id, uris=uris), player=True)

    def transfer(self, device_id: str, play: bool) -> None:
        """``PUT /me/player``: move playback to the device."""
        self._call("transfer", lambda: self.sp.transfer_playback(device_id, force_play=play), player=True)

    def pause(self, device_id: str | None) -> None:
        """``PUT /me/player/pause``."""
        self._call("pause", lambda: self.sp.pause_playback(device_id=device_id), player=True)

    def next_track(self, device_id: str | None) -> None:
        """``POST /me/player/next``: go to the next track (the queued one, if any)."""
        self._call("next", lambda: self.sp.next_track(device_id=device_id), player=True)

    def queue(self, uri: str, device_id: str | None) -> None:
        """``POST /me/player/queue``: play ``uri`` after the current track (cannot be undone)."""
        self._call("queue", lambda: self.sp.add_to_queue(uri, device_id=device_id), player=True)

    def volume(self, percent: int, device_id: str | None) -> None:
        """``PUT /me/player/volume``."""
        self._call("volume", lambda: self.sp.volume(int(percent), device_id=device_id), player=True)

    def playlist_name(self, playlist: str) -> str:
        """``GET /playlists/{id}`` (name only)."""
        data = self._call("playlist", lambda: self.sp._get(f"playlists/{playlist}", fields="name,id"),
                          player=False) or {}
        return str(data.get("name") or playlist)

    def playlist_tracks(self, playlist: str) -> Iterator[list[Track]]:
        """The playlist's tracks, one page (≤ 50) per iteration, via ``GET /playlists/{id}/items``.

        Reads ``items[].item`` (``items[].track`` where an older answer still has it); episodes,
        local files and removed tracks are skipped.
        """
        offset = 0
        while True:

            def request(at: int = offset) -> Any:
                return self.sp._get(f"playlists/{playlist}/items", limit=PAGE_LIMIT, offset=at,
                                    additional_types="track")

            page = self._call("playlist items", request, player=False) or {}
            items = page.get("items") or []
            tracks = []
            for entry in items:
                if isinstance(entry, dict):
                    track = parse_track(entry.get("item") or entry.get("track"))
                    if track is not None:
                        tracks.append(track)
            yield tracks
            offset += len(items)
            total = page.get("total")
            done = offset >= total if isinstance(total, int) else not page.get("next")
            if not items or done:
                return

    # --- plumbing ---

    def refresh(self) -> None:
        """Use the refresh token now (after a 401); the rotated token is saved by the cache."""
        token = self.auth.cache_handler.get_cached_token()
        if not token:
            raise LoginRequiredError("not logged in to Spotify (no token cache)")
        try:
            self.auth.refresh_access_token(token["refresh_token"])
        except Exception as exc:
            error = translate(exc, player=False)
            if error is None:
                raise
            raise error from exc

    def _call(self, what: str, request: Callable[[], T], *, player: bool) -> T:
        result = self._call_once_refreshed(what, request, player=player)
        self.answered += 1
        if what in COMMANDS:
            self.commands_done += 1
        return result

    def _call_once_refreshed(self, what: str, request: Callable[[], T], *, player: bool) -> T:
        try:
            return self._send(what, request)
        except SpotifyException as exc:
            if exc.http_status != 401:
                raise _translated(exc, player) from exc
            log.info("Spotify answered 401 to %s: refreshing the access token once", what)
        except (requests.exceptions.RequestException, SpotifyError) as exc:
            raise _translated(exc, player) from exc
        except Exception as exc:
            error = translate(exc, player=player)  # spotipy's OAuth errors come from inside the call
            if error is None:
                raise
            raise error from exc
        self.refresh()
        try:
            return self._send(what, request)
        except (requests.exceptions.RequestException, SpotifyException, SpotifyError) as exc:
            raise _translated(exc, player) from exc

    def _send(self, what: str, request: Callable[[], T]) -> T:
        if self._on_request is not None:
            self._on_request(what)
        return request()


def _translated(exc: Exception, player: bool) -> SpotifyError:
    error = translate(exc, player=player)
    assert error is not None  # every exception type passed here has a translation
    return error
