"""Config sections for Spotify: the ``player.kind: spotify`` options and ``music`` (the mood playlists).

``music.playlists`` maps a tag to the user's own playlists. The tag is a mood name of the engine's map
(:data:`soulsyncd.mood.targets.DEFAULT_POINTS`: an emotion such as ``happy`` or a shift target such as
``calm``), or any name with an explicit ``valence``/``energy`` point. Points are music valence/energy
in [0, 1], the scale of a :class:`~soulsyncd.types.PlayIntent`; :meth:`MusicConfig.tagged` gives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from soulsyncd.core.limits import PLAYER_MIN_INTERVAL_S_MAX
from soulsyncd.mood.targets import DEFAULT_POINTS, Point
from soulsyncd.settings import Section, did_you_mean
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


class PlaylistSpec(Section):
    """The playlists of one tag. In YAML a bare URI or a list of URIs is short for ``uris: [...]``."""

    uris: tuple[str, ...] = Field(
        default=(), description="The user's own playlists for this tag (URIs or open.spotify.com links)."
    )
    valence: float | None = Field(
        default=None, ge=0, le=1, description="Music valence 0..1 (None: the mood name's own point)."
    )
    energy: float | None = Field(
        default=None, ge=0, le=1, description="Music energy 0..1 (None: the mood name's own point)."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"uris": [value]}
        if isinstance(value, list):
            return {"uris": value}
        return value

    @field_validator("uris")
    @classmethod
    def _stripped_and_present(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        uris = tuple(uri.strip() for uri in value)
        if not uris or any(not uri for uri in uris):
            raise ValueError("needs at least one playlist URI, and no empty ones")
        return uris

    @model_validator(mode="after")
    def _both_or_neither(self) -> PlaylistSpec:
        if (self.valence is None) != (self.energy is None):
            raise ValueError("give both valence and energy, or neither")
        return self


class MusicConfig(Section):
    """Where the music comes from: the user's playlists, tagged by mood."""

    playlists: dict[str, PlaylistSpec] = Field(
        default_factory=dict,
        description="Tag -> the user's playlists; the tag is a mood name or has its own valence/energy.",
    )

    @field_validator("playlists")
    @classmethod
    def _tags_have_points(cls, value: dict[str, PlaylistSpec]) -> dict[str, PlaylistSpec]:
        for tag, spec in value.items():
            if spec.valence is None and tag not in DEFAULT_POINTS:
                raise ValueError(
                    f"{tag!r} is not a mood name{did_you_mean(tag, DEFAULT_POINTS)} and has no "
                    f"valence/energy of its own; mood names: {', '.join(DEFAULT_POINTS)}"
                )
        return value

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


class SpotifyPlayerConfig(Section):
    """Plays on a Spotify Connect speaker through the Web API (needs Premium and a login)."""

    kind: Literal["spotify"] = Field(
        default="spotify", description="Player backend: a Spotify Connect speaker through the Web API."
    )
    min_interval_s: float = Field(
        default=5.0, ge=0, le=PLAYER_MIN_INTERVAL_S_MAX,
        description="Never change the music more often than once in this many seconds.",
    )
    client_id: str = Field(
        default="",
        validate_default=True,  # so a spotify player without one is reported, not met at run time
        description="Client ID of your app at developer.spotify.com (public; the secret is a credential).",
    )
    device: str | None = Field(
        default=None,
        description="Name of the Connect speaker to play on (see spotify-devices); None: the active one.",
    )
    volume: int | None = Field(
        default=None,
        ge=0,
        le=limits.VOLUME_MAX,
        description="Set the speaker to this volume (percent) when playing.",
    )
    redirect_port: int = Field(
        default=8888,
        ge=1,
        le=limits.PORT_MAX,
        description="Port of http://127.0.0.1:PORT/callback for spotify-login.",
    )
    switch: Literal["boundary", "immediate"] = Field(
        default="boundary",
        description="'boundary': a new mood's music starts when the current track ends; 'immediate': now.",
    )
    boundary_lead_s: float = Field(
        default=10.0,
        gt=0,
        le=limits.BOUNDARY_LEAD_S_MAX,
        description="Queue the next track this many seconds before the end.",
    )
    poll_interval_s: float = Field(
        default=2.0,
        ge=limits.POLL_INTERVAL_S_MIN,
        le=limits.POLL_INTERVAL_S_MAX,
        description="Seconds between playback checks while music plays.",
    )
    takeover_backoff_s: float = Field(
        default=900.0,
        ge=0,
        le=limits.TAKEOVER_BACKOFF_S_MAX,
        description="Hands off this long after the listener takes over playback.",
    )
    request_timeout_s: float = Field(
        default=10.0, gt=0, le=limits.REQUEST_TIMEOUT_S_MAX, description="Timeout of each Web API request."
    )
    retry_initial_s: float = Field(
        default=2.0,
        gt=0,
        le=limits.RETRY_S_MAX,
        description="First wait after a failed request (offline, no device); doubles.",
    )
    retry_max_s: float = Field(
        default=300.0,
        gt=0,
        le=limits.RETRY_S_MAX,
        validate_default=True,
        description="Longest wait between retries when offline or without a device.",
    )
    max_retry_after_s: float = Field(
        default=3600.0,
        gt=0,
        le=limits.RETRY_AFTER_S_MAX,
        description="Longest Retry-After (HTTP 429) honoured; longer ones are clamped.",
    )
    playlist_refresh_h: float = Field(
        default=6.0,
        gt=0,
        le=limits.PLAYLIST_REFRESH_H_MAX,
        description="Hours between re-reads of the configured playlists.",
    )

    @field_validator("client_id")
    @classmethod
    def _client_id_given(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("required: the Client ID of your app at developer.spotify.com")
        return value

    @field_validator("retry_max_s")
    @classmethod
    def _max_not_below_initial(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("retry_initial_s")
        if initial is not None and value < initial:
            raise ValueError(f"must be >= retry_initial_s ({initial:g}), got {value:g}")
        return value

    @property
    def redirect_uri(self) -> str:
        """The loopback redirect URI to register in the Spotify dashboard (``localhost`` is refused)."""
        return f"http://127.0.0.1:{self.redirect_port}/callback"
