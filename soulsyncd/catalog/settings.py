"""Config section for the track catalog (``catalog``): the optional audio-features look-up.

The catalog itself needs no keys: it lives at ``<state.dir>/catalog.sqlite3`` and is filled by
``soulsyncd library import`` and by the mood playlists (``music.playlists``).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from soulsyncd.settings import Section

DEFAULT_ENRICH_URL = "https://api.reccobeats.com"


class CatalogConfig(Section):
    """The track catalog's feature look-up (ReccoBeats), off unless asked for."""

    enrich: bool = Field(
        default=False,
        description="Let the daemon look up missing features by Spotify track id at ReccoBeats "
        "(sends only track ids); 'soulsyncd library enrich' works either way.",
    )
    enrich_url: str = Field(
        default=DEFAULT_ENRICH_URL,
        description="Base URL of the ReccoBeats-compatible audio-features service.",
    )

    @field_validator("enrich_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")
