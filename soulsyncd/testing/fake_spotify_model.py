"""What the fake Spotify server knows: catalog, devices and one player, with no I/O.

:class:`SpotifyModel` is driven by an injected clock and answers API actions with Spotify's JSON
objects or raises :class:`ApiError` carrying Spotify's status, message and reason. The HTTP side
(:mod:`soulsyncd.testing.fake_spotify`) holds the lock and does the routing, tokens and faults.

Player rules (as Spotify behaves for one user): one current playback on the active device; its
progress advances with the clock while playing; at the end of a track the next queued track plays,
else the next track of the context (a playlist, or the ``uris`` list given to play), else playback
stops on the last track (``is_playing`` false, progress 0).
"""

from __future__ import annotations

import hashlib
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

JSON = dict[str, Any]
OPEN_URL = "https://open.spotify.com"


class ApiError(Exception):
    """A non-success answer: HTTP status plus Spotify's ``{"error": {status, message, reason}}`` body."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.reason = reason

    def body(self) -> JSON:
        error: JSON = {"status": self.status, "message": self.message}
        if self.reason is not None:
            error["reason"] = self.reason
        return {"error": error}


def no_active_device() -> ApiError:
    return ApiError(404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE")


def restriction_violated() -> ApiError:
    return ApiError(403, "Player command failed: Restriction violated", "UNKNOWN")


def not_found() -> ApiError:
    return ApiError(404, "Resource not found")


def spotify_id(text: str) -> str:
    """A stable 22-character id (Spotify ids are 22 base-62 characters) derived from ``text``."""
    return hashlib.sha1(text.encode()).hexdigest()[:22]


@dataclass
class Track:
    uri: str
    name: str
    artists: list[str]
    duration_ms: int

    @property
    def id(self) -> str:
        return self.uri.rsplit(":", 1)[-1]


@dataclass
class Playlist:
    id: str
    name: str
    track_uris: list[str]
    owned: bool

    @property
    def uri(self) -> str:
        return f"spotify:playlist:{self.id}"


@dataclass
class Device:
    id: str
    name: str
    type: str
    restricted: bool
    volume: int


def user_json(user_id: str, prefix: str) -> JSON:
    """The public user object as of 2026: no ``product``, ``country``, ``email`` or ``followers``."""
    return {
        "display_name": "Fake Listener",
        "external_urls": {"spotify": f"{OPEN_URL}/user/{user_id}"},
        "href": f"{prefix}users/{user_id}",
        "id": user_id,
        "images": [],
        "type": "user",
        "uri": f"spotify:user:{user_id}",
    }


def track_json(track: Track, prefix: str) -> JSON:
    """A full track object (2026: no ``popularity`` or ``available_markets``)."""
    artists = [
        {
            "external_urls": {"spotify": f"{OPEN_URL}/artist/{spotify_id(name)}"},
            "href": f"{prefix}artists/{spotify_id(name)}",
            "id": spotify_id(name),
            "name": name,
            "type": "artist",
            "uri": f"spotify:artist:{spotify_id(name)}",
        }
        for name in track.artists
    ]
    album_id = spotify_id("album:" + track.uri)
    return {
        "album": {
            "album_type": "single",
            "artists": artists,
            "external_urls": {"spotify": f"{OPEN_URL}/album/{album_id}"},
            "href": f"{prefix}albums/{album_id}",
            "id": album_id,
            "images": [],
            "name": track.name,
            "release_date": "2020-01-01",
            "release_date_precision": "day",
            "total_tracks": 1,
            "type": "album",
            "uri": f"spotify:album:{album_id}",
        },
        "artists": artists,
        "disc_number": 1,
        "duration_ms": track.duration_ms,
        "explicit": False,
        "external_ids": {},
        "external_urls": {"spotify": f"{OPEN_URL}/track/{track.id}"},
        "href": f"{prefix}tracks/{track.id}",
        "id": track.id,
        "is_local": False,
        "is_playable": True,
        "name": track.name,
        "track_number": 1,
        "type": "track",
        "uri": track.uri,
    }


def local_track_json(duration_s: float) -> JSON:
    """A local file as the Web API shows one: ``is_local``, no ids, a ``spotify:local:`` uri."""
    seconds = round(duration_s)
    return {
        "album": {"album_type": None, "artists": [], "external_urls": {}, "href": None, "id": None,
                  "images": [], "name": "Home Recordings", "release_date": None,
                  "release_date_precision": None, "type": "album", "uri": None},
        "artists": [{"external_urls": {}, "href": None, "id": None, "name": "Local Band", "type": "artist",
                     "uri": None}],
        "disc_number": 0,
        "duration_ms": seconds * 1000,
        "explicit": False,
        "external_ids": {},
        "external_urls": {},
        "href": None,
        "id": None,
        "is_local": True,
        "name": "Demo Tape",
        "track_number": 0,
        "type": "track",
        "uri": f"spotify:local:Local+Band:Home+Recordings:Demo+Tape:{seconds}",
    }


def device_json(device: Device, *, active: bool) -> JSON:
    return {
        "id": device.id,
        "is_active": active,
        "is_private_session": False,
        "is_restricted": device.restricted,
        "name": device.name,
        "supports_volume": True,
        "type": device.type,
        "volume_percent": device.volume,
    }


def paging_json(href: str, items: list[JSON], *, limit: int, offset: int, total: int, page_url: str) -> JSON:
    """A paging object; ``page_url`` is the URL with ``{offset}`` left to fill for next/previous."""
    return {
        "href": href,
        "items": items,
        "limit": limit,
        "next": page_url.format(offset=offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": page_url.format(offset=max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def parse_fields(spec: str) -> JSON:
    """Spotify's ``fields`` filter as a tree: ``"items(item(uri,name)),next"`` -> nested dicts.

    An empty dict means "the whole value". Dots nest one field (``items.item.uri``). Raises
    :class:`ApiError` (400) on a malformed spec. Exclusions (``!field``) are not supported.
    """
    pos = 0

    def term() -> tuple[str, JSON]:
        nonlocal pos
        start = pos
        while pos < len(spec) and spec[pos] not in ",().":
            pos += 1
        name = spec[start:pos].strip()
        if not name or name.startswith("!"):
            raise ApiError(400, f"Invalid fields: {spec!r}")
        sub: JSON = {}
        if pos < len(spec) and spec[pos] == ".":
            pos += 1
            key, value = term()
            sub = {key: value}
        elif pos < len(spec) and spec[pos] == "(":
            pos += 1
            sub = terms()
            if pos >= len(spec) or spec[pos] != ")":
                raise ApiError(400, f"Invalid fields: {spec!r}")
            pos += 1
        return name, sub

    def terms() -> JSON:
        nonlocal pos
        out: JSON = {}
        while True:
            key, value = term()
            old = out.get(key)
            out[key] = {} if old == {} or value == {} else {**(old or {}), **value}
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            return out

    tree = terms()
    if pos != len(spec):
        raise ApiError(400, f"Invalid fields: {spec!r}")
    return tree


def select_fields(value: Any, tree: JSON) -> Any:
    """Keep only the fields named in ``tree`` (from :func:`parse_fields`); lists are filtered per item."""
    if not tree:
        return value
    if isinstance(value, list):
        return [select_fields(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: select_fields(value[k], sub) for k, sub in tree.items() if k in value}
    return value


class SpotifyModel:
    """Catalog, devices and the player of one user. Not thread-safe: the server holds its lock."""

    def __init__(self, clock: Callable[[], float], user_id: str) -> None:
        self._clock = clock
        self.user_id = user_id
        self.prefix = "http://127.0.0.1/v1/"  # the API's base URL, for hrefs; the server sets it
        self._epoch0 = time.time() - clock()  # maps the clock onto Unix time for "timestamp"
        self.tracks: dict[str, Track] = {}
        self.playlists: dict[str, Playlist] = {}
        self.devices: list[Device] = []
        self.queue: list[str] = []
        self.device_id: str | None = None  # the active device
        self.item: str | None = None  # the current track's uri
        # What plays that is no catalog track (an ad, a local file): (kind, length in seconds).
        self.non_catalog: tuple[str, float] | None = None
        self.context: str | None = None  # playlist uri; None when playing a list of uris
        self._sequence: list[str] = []  # the context's tracks, in order
        self._index = 0  # position in _sequence of the last context track played
        self.playing = False
        self._pos_s = 0.0  # progress at _anchor
        self._anchor = clock()

    # --- catalog and devices -------------------------------------------------------------------

    def device(self, *, name: str | None = None, id: str | None = None) -> Device:
        for device in self.devices:
            if device.name == name or (id is not None and device.id == id):
                return device
        raise KeyError(name or id)

    def remove_device(self, name: str) -> None:
        device = self.device(name=name)
        self.advance()
        self.devices.remove(device)
        if self.device_id == device.id:  # the speaker went away: playback stops with it
            self.device_id = None
            self.playing = False

    def set_device_id(self, name: str, new_id: str) -> None:
        device = self.device(name=name)
        if self.device_id == device.id:
            self.device_id = new_id
        device.id = new_id

    # --- the player's clock ----------------------------------------------------------------

    def advance(self) -> None:
        """Bring the playback position up to the clock, moving through tracks that ended meanwhile."""
        now = self._clock()
        if self.playing and self.item is not None and self.device_id is not None:
            pos = self._pos_s + (now - self._anchor)
            while pos * 1000 >= self.tracks[self.item].duration_ms:
                pos -= self.tracks[self.item].duration_ms / 1000
                if not self._next_track():
                    self.playing, pos = False, 0.0
                    break
            self._pos_s = pos
        elif self.playing and self.non_catalog is not None and self.device_id is not None:
            pos = self._pos_s + (now - self._anchor)
            if pos >= self.non_catalog[1]:  # it ended: nothing follows it here
                self.playing, pos = False, 0.0
            self._pos_s = pos
        self._anchor = now

    def _next_track(self) -> bool:
        if self.queue:
            self.item = self.queue.pop(0)
            return True
        if self._index + 1 < len(self._sequence):
            self._index += 1
            self.item = self._sequence[self._index]
            return True
        return False

    # --- player commands (each raises ApiError as Spotify answers) ---------------------------

    def target(self, device_id: str | None) -> Device:
        """The device a command acts on: the named one (which becomes active) or the active one."""
        if device_id is None:
            if self.device_id is None:
                raise no_active_device()
            device = self.device(id=self.device_id)
        else:
            try:
                device = self.device(id=device_id)
            except KeyError:
                raise ApiError(404, "Device not found") from None
        if device.restricted:
            raise ApiError(403, "Player command failed: Restricted device", "UNKNOWN")
        return device

    def _activate(self, device: Device) -> None:
        self.advance()
        self.device_id = device.id

    def track(self, uri: str) -> Track:
        if not uri.startswith("spotify:track:"):
            raise ApiError(400, f"Invalid track uri: {uri}")
        if uri not in self.tracks:
            raise not_found()
        return self.tracks[uri]

    def _resolve(self, body: JSON) -> tuple[list[str], int, str | None]:
        """What a play body asks for: (the sequence of track uris, the index to start at, the context)."""
        offset = body.get("offset") or {}
        if "context_uri" in body:
            uri = str(body["context_uri"])
            playlist = self.playlists.get(uri.rsplit(":", 1)[-1])
            if not uri.startswith("spotify:playlist:") or playlist is None:
                raise not_found()
            sequence, context = list(playlist.track_uris), playlist.uri
        else:
            sequence, context = [self.track(str(u)).uri for u in body["uris"]], None
        if "uri" in offset:
            if offset["uri"] not in sequence:
                raise ApiError(400, "Invalid offset")
            index = sequence.index(offset["uri"])
        else:
            index = int(offset.get("position", 0))
        if not 0 <= index < len(sequence):
            raise ApiError(400, "Invalid offset")
        return sequence, index, context

    def _load(self, sequence: list[str], index: int, context: str | None, position_s: float = 0.0) -> None:
        self._sequence, self._index, self.context, self.non_catalog = sequence, index, context, None
        self.item, self.playing, self._pos_s, self._anchor = sequence[index], True, position_s, self._clock()

    def play(self, device_id: str | None, body: JSON) -> None:
        """``PUT /me/player/play``: a context with an offset, a list of uris, or (empty) resume."""
        device = self.target(device_id)
        if "context_uri" not in body and "uris" not in body:  # resume
            if self.item is None:
                raise restriction_violated()
            self._activate(device)
            self.playing = True
            return
        sequence, index, context = self._resolve(body)
        self._activate(device)
        self._load(sequence, index, context, float(body.get("position_ms") or 0) / 1000)

    def pause(self, device_id: str | None) -> None:
        self.target(device_id)
        self.advance()
        if not self.playing:  # Spotify refuses to pause what is not playing
            raise restriction_violated()
        self.playing = False

    def next(self, device_id: str | None) -> None:
        self._activate(self.target(device_id))
        if self.item is None:
            raise restriction_violated()
        self.playing = self._next_track()
        self._pos_s = 0.0

    def enqueue(self, uri: str | None, device_id: str | None) -> None:
        if uri is None:
            raise ApiError(400, "Required parameter uri missing")
        track = self.track(uri)
        self.target(device_id)
        self.advance()
        self.queue.append(track.uri)

    def volume(self, percent: str | None, device_id: str | None) -> None:
        if percent is None or not percent.isdigit() or not 0 <= int(percent) <= 100:
            raise ApiError(400, "Invalid volume_percent: must be an integer between 0 and 100")
        self.target(device_id).volume = int(percent)

    def transfer(self, body: JSON) -> None:
        """``PUT /me/player``: move playback to ``device_ids[0]``; ``play`` true starts it."""
        ids = body.get("device_ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(400, "Required field device_ids missing")
        if len(ids) > 1:
            raise ApiError(400, "Only one device_id is supported")
        self._activate(self.target(str(ids[0])))
        if body.get("play") and self.item is not None:
            self.playing = True

    # --- what the listener does on their phone ------------------------------------------------

    def listener_plays(self, uri: str, device_name: str | None) -> None:
        """The phone app starts ``uri`` (a playlist or a track) on a device, ignoring Web API rules."""
        if device_name is not None:
            device_id = self.device(name=device_name).id
        else:
            device_id = self.device_id or self.devices[0].id
        body: JSON = {"context_uri": uri} if uri.startswith("spotify:playlist:") else {"uris": [uri]}
        sequence, index, context = self._resolve(body)
        self.advance()
        self.device_id = device_id
        self._load(sequence, index, context)

    def listener_plays_non_catalog(self, kind: str, device_name: str | None, duration_s: float) -> None:
        """The phone app plays what is no catalog track: an ``"ad"`` or a ``"local file"``."""
        if kind not in ("ad", "local file"):
            raise ValueError(f"not an ad or a local file: {kind}")
        device_id = self.device(name=device_name).id if device_name is not None else (
            self.device_id or self.devices[0].id)
        self.advance()
        self.device_id = device_id
        self._sequence, self._index, self.context, self.item = [], 0, None, None
        self.non_catalog = (kind, duration_s)
        self.playing, self._pos_s, self._anchor = True, 0.0, self._clock()

    def listener_pauses(self) -> None:
        self.advance()
        self.playing = False

    def listener_transfers(self, device_name: str) -> None:
        self.advance()
        self.device_id = self.device(name=device_name).id

    # --- views ------------------------------------------------------------------------------

    def currently_playing_json(self) -> JSON | None:
        """``GET /me/player/currently-playing``; None (HTTP 204) when nothing is loaded on a device."""
        self.advance()
        if self.device_id is None or (self.item is None and self.non_catalog is None):
            return None
        item: JSON | None
        if self.item is not None:
            item, kind = track_json(self.tracks[self.item], self.prefix), "track"
        elif self.non_catalog is not None and self.non_catalog[0] == "ad":
            item, kind = None, "ad"  # Spotify names no item while an ad plays
        else:
            assert self.non_catalog is not None
            item, kind = local_track_json(self.non_catalog[1]), "track"
        context = None
        if self.context is not None:
            pid = self.context.rsplit(":", 1)[-1]
            context = {
                "type": "playlist",
                "href": f"{self.prefix}playlists/{pid}",
                "external_urls": {"spotify": f"{OPEN_URL}/playlist/{pid}"},
                "uri": self.context,
            }
        return {
            "timestamp": int((self._epoch0 + self._clock()) * 1000),
            "context": context,
            "progress_ms": int(self._pos_s * 1000),
            "is_playing": self.playing,
            "item": item,
            "currently_playing_type": kind,
            "actions": {"disallows": {"resuming": True} if self.playing else {"pausing": True}},
        }

    def playback_json(self) -> JSON | None:
        """``GET /me/player``: the currently-playing object plus device, repeat and shuffle."""
        state = self.currently_playing_json()
        if state is None or self.device_id is None:
            return None
        device = device_json(self.device(id=self.device_id), active=True)
        extra = {"repeat_state": "off", "shuffle_state": False, "smart_shuffle": False}
        return {"device": device, **extra, **state}

    def devices_json(self) -> JSON:
        return {"devices": [device_json(d, active=d.id == self.device_id) for d in self.devices]}

    # --- catalog views ------------------------------------------------------------------------

    def _playlist(self, playlist_id: str) -> Playlist:
        playlist = self.playlists.get(playlist_id)
        if playlist is None or playlist_id.startswith("37i9"):  # Spotify-owned: gone for apps like ours
            raise not_found()
        return playlist

    def _items_page(self, playlist: Playlist, limit: int, offset: int, fields: str | None) -> JSON:
        base = f"{self.prefix}playlists/{playlist.id}/items"
        extra = "&" + urlencode({"fields": fields}) if fields else ""
        items = [
            {
                "added_at": "2024-01-01T00:00:00Z",
                "added_by": {"id": self.user_id, "type": "user", "uri": f"spotify:user:{self.user_id}"},
                "is_local": False,
                "item": track_json(self.tracks[uri], self.prefix),  # 2026: "item"; no deprecated "track"
            }
            for uri in playlist.track_uris[offset : offset + limit]
        ]
        return paging_json(
            f"{base}?offset={offset}&limit={limit}{extra}", items, limit=limit, offset=offset,
            total=len(playlist.track_uris), page_url=f"{base}?offset={{offset}}&limit={limit}{extra}",
        )

    def playlist_items_json(self, playlist_id: str, query: dict[str, str]) -> JSON:
        """``GET /playlists/{id}/items``: 1 to 50 a page; 403 unless the user owns the playlist."""
        playlist = self._playlist(playlist_id)
        limit, offset = int_param(query, "limit", 20, 1, 50), int_param(query, "offset", 0, 0, 100_000)
        tree = parse_fields(query["fields"]) if query.get("fields") else {}
        if not playlist.owned:
            raise ApiError(403, "Forbidden")
        page: JSON = select_fields(self._items_page(playlist, limit, offset, query.get("fields")), tree)
        return page

    def playlist_json(self, playlist_id: str, query: dict[str, str]) -> JSON:
        """``GET /playlists/{id}``: metadata for any playlist; ``items`` only for the owner's."""
        playlist = self._playlist(playlist_id)
        owner = self.user_id if playlist.owned else "someone-else"
        answer: JSON = {
            "collaborative": False,
            "description": "",
            "external_urls": {"spotify": f"{OPEN_URL}/playlist/{playlist.id}"},
            "href": f"{self.prefix}playlists/{playlist.id}",
            "id": playlist.id,
            "images": [],
            "name": playlist.name,
            "owner": {**user_json(owner, self.prefix), "display_name": owner},
            "public": True,
            "snapshot_id": spotify_id(",".join(playlist.track_uris)),
            # 2026: "items" replaces "tracks"; only the owner (or a collaborator) gets the contents.
            "items": self._items_page(playlist, 20, 0, None) if playlist.owned else None,
            "type": "playlist",
            "uri": playlist.uri,
        }
        tree = parse_fields(query["fields"]) if query.get("fields") else {}
        selected: JSON = select_fields(answer, tree)
        return selected

    def search_json(self, query: dict[str, str]) -> JSON:
        """``GET /search?type=track``: tracks matching every term of ``q`` (``artist:"A B"`` and
        ``track:`` filters honoured, other terms against name and artists); at most 10 a page."""
        if not query.get("q"):
            raise ApiError(400, "No search query")
        if "track" not in query.get("type", "").split(","):
            raise ApiError(400, "Only type=track is supported by the fake")
        limit, offset = int_param(query, "limit", 5, 0, 10), int_param(query, "offset", 0, 0, 1000)
        try:
            terms = [t.partition(":") if ":" in t else ("", "", t) for t in shlex.split(query["q"])]
        except ValueError:
            raise ApiError(400, "Malformed search query") from None

        def matches(track: Track) -> bool:
            fields = {"track": [track.name], "artist": track.artists, "": [track.name, *track.artists]}
            return all(any(v.lower() in f.lower() for f in fields.get(k, [])) for k, _, v in terms)

        found = [t for t in self.tracks.values() if matches(t)]
        base = f"{self.prefix}search?" + urlencode({"q": query["q"], "type": "track"})
        page = paging_json(
            f"{base}&offset={offset}&limit={limit}",
            [track_json(t, self.prefix) for t in found[offset : offset + limit]],
            limit=limit, offset=offset, total=len(found), page_url=f"{base}&offset={{offset}}&limit={limit}",
        )
        return {"tracks": page}


def int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter in ``[low, high]``; 400 ``Invalid {name}`` otherwise."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"Invalid {name}")
    return int(raw)
