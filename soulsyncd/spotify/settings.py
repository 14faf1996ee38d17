"""Config sections for Spotify: the ``player.kind: spotify`` options and ``music`` (the mood playlists).

``music.playlists`` maps a tag to the user's own playlists. The tag is a mood name of the engine's map
(:data:`soulsyncd.mood.targets.DEFAULT_POINTS`: an emotion such as ``happy`` or a shift target such as
``calm``), or any name with an explicit ``valence``/``energy`` point. Points are music valence/energy
in [0, 1], the scale of a :class:`~soulsyncd.types.PlayIntent`; :meth:`MusicConfig.tagged` gives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta, structs

from soulsyncd.core.limits import PLAYER_MIN_INTERVAL_S_MAX
from soulsyncd.mood.targets import DEFAULT_POINTS, Point
from soulsyncd.settings import FieldError, Section, did_you_mean
from soulsyncd.spotify import limits

SPOTIFY_SCOPES = (
    "user-read-playback-state",
    "user-modify-playback-state",
    "playlist-read-private",
    "playlist-read-collaborative",
)
"""What the daemon asks the user to allow: see and control playback, read their own playlists."""


@dataclass(frozen=True)
class TaggedPlaylist:
    """One configured playlist with the point its tag stands for.

    Attributes:
        tag: the key under ``music.playlists`` (a mood name or the user's own name for the point).
        uri: the playlist as the user wrote it (``spotify:playlist:…`` or an open.spotify.com link).
        valence: music valence in [0, 1].
        energy: music energy in [0, 1].
    """

    tag: str
    uri: str
    valence: float
    energy: float


class PlaylistSpec(Section, frozen=True, kw_only=True):
    """The playlists of one tag. In YAML a bare URI or a list of URIs is short for ``uris: [...]``."""

    shorthand: ClassVar[str | None] = "uris"

    uris: Annotated[tuple[str, ...], Meta(
        description="The user's own playlists for this tag (URIs or open.spotify.com links).",
    )] = ()
    valence: Annotated[Annotated[float, Meta(ge=0, le=1)] | None, Meta(
        description="Music valence 0..1 (None: the mood name's own point).",
    )] = None
    energy: Annotated[Annotated[float, Meta(ge=0, le=1)] | None, Meta(
        description="Music energy 0..1 (None: the mood name's own point).",
    )] = None

    def __post_init__(self) -> None:
        uris = tuple(uri.strip() for uri in self.uris)
        if not uris or any(not uri for uri in uris):
            raise FieldError("uris", "needs at least one playlist URI, and no empty ones")
        structs.force_setattr(self, "uris", uris)
        if (self.valence is None) != (self.energy is None):
            raise ValueError("give both valence and energy, or neither")


class MusicConfig(Section, frozen=True, kw_only=True):
    """Where the music comes from: the user's playlists, tagged by mood."""

    playlists: Annotated[dict[str, PlaylistSpec], Meta(
        description="Tag -> the user's playlists; the tag is a mood name or has its own valence/energy.",
    )] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        for tag, spec in self.playlists.items():
            if spec.valence is None and tag not in DEFAULT_POINTS:
                raise FieldError("playlists",
                    f"{tag!r} is not a mood name{did_you_mean(tag, DEFAULT_POINTS)} and has no "
                    f"valence/energy of its own; mood names: {', '.join(DEFAULT_POINTS)}"
                )

    def tagged(self, points: Mapping[str, Point] = DEFAULT_POINTS) -> list[TaggedPlaylist]:
        """Every configured playlist with its tag's point, in the file's order.

        Args:
            points: the mood names' points: the engine's map (``engine.emotion_points`` applied), so
                a playlist tagged ``calm`` sits exactly where the engine looks for calm music.
        """
        result: list[TaggedPlaylist] = []
        for tag, spec in self.playlists.items():
            if spec.valence is not None and spec.energy is not None:
                point = (spec.valence, spec.energy)
            else:
                point = points[tag]
            result.extend(TaggedPlaylist(tag, uri, *point) for uri in spec.uris)
        return result


class SpotifyPlayerConfig(Section, frozen=True, kw_only=True, tag="spotify", tag_field="kind"):
    """Plays on a Spotify Connect speaker through the Web API (needs Premium and a login)
    (``kind: spotify``)."""

    kind: ClassVar[Literal["spotify"]] = "spotify"
    min_interval_s: Annotated[float, Meta(
        ge=0, le=PLAYER_MIN_INTERVAL_S_MAX,
        description="Never change the music more often than once in this many seconds.",
    )] = 5.0
    client_id: Annotated[str, Meta(
        description="Client ID of your app at developer.spotify.com (public; the secret is a credential).",
    )] = ""
    device: Annotated[str | None, Meta(
        description="Name of the Connect speaker to play on (see spotify-devices); None: the active one.",
    )] = None
    volume: Annotated[Annotated[int, Meta(ge=0, le=limits.VOLUME_MAX)] | None, Meta(
        description="Set the speaker to this volume (percent) when playing.",
    )] = None
    redirect_port: Annotated[int, Meta(
        ge=1, le=limits.PORT_MAX, description="Port of http://127.0.0.1:PORT/callback for spotify-login.",
    )] = 8888
    switch: Annotated[Literal["boundary", "immediate"], Meta(
        description="'boundary': a new mood's music starts when the current track ends; 'immediate': now.",
    )] = "boundary"
    boundary_lead_s: Annotated[float, Meta(
        gt=0, le=limits.BOUNDARY_LEAD_S_MAX,
        description="Queue the next track this many seconds before the end.",
    )] = 10.0
    poll_interval_s: Annotated[float, Meta(
        ge=limits.POLL_INTERVAL_S_MIN, le=limits.POLL_INTERVAL_S_MAX,
        description="Seconds between playback checks while music plays.",
    )] = 2.0
    takeover_backoff_s: Annotated[float, Meta(
        ge=0, le=limits.TAKEOVER_BACKOFF_S_MAX,
        description="Hands off this long after the listener takes over playback.",
    )] = 900.0
    request_timeout_s: Annotated[float, Meta(
        gt=0, le=limits.REQUEST_TIMEOUT_S_MAX, description="Timeout of each Web API request.",
    )] = 10.0
    retry_initial_s: Annotated[float, Meta(
        gt=0, le=limits.RETRY_S_MAX,
        description="First wait after a failed request (offline, no device); doubles.",
    )] = 2.0
    retry_max_s: Annotated[float, Meta(
        gt=0, le=limits.RETRY_S_MAX,
        description="Longest wait between retries when offline or without a device.",
    )] = 300.0
    max_retry_after_s: Annotated[float, Meta(
        gt=0, le=limits.RETRY_AFTER_S_MAX,
        description="Longest Retry-After (HTTP 429) honoured; longer ones are clamped.",
    )] = 3600.0
    playlist_refresh_h: Annotated[float, Meta(
        gt=0, le=limits.PLAYLIST_REFRESH_H_MAX,
        description="Hours between re-reads of the configured playlists.",
    )] = 6.0

    def __post_init__(self) -> None:
        # Checked against the defaults too: a spotify player without a client id is reported, not met at
        # run time.
        client_id = self.client_id.strip()
        if not client_id:
            raise FieldError("client_id", "required: the Client ID of your app at developer.spotify.com")
        structs.force_setattr(self, "client_id", client_id)
        if self.retry_max_s < self.retry_initial_s:
            raise FieldError("retry_max_s", f"must be >= retry_initial_s ({self.retry_initial_s:g}), "
                             f"got {self.retry_max_s:g}")

    @property
    def redirect_uri(self) -> str:
        """The loopback redirect URI to register in the Spotify dashboard (``localhost`` is refused)."""
        return f"http://127.0.0.1:{self.redirect_port}/callback"
