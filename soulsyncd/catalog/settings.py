"""Config section for the track catalog (``catalog``): the optional audio-features look-up.

The catalog itself needs no keys: it lives at ``<state.dir>/catalog.sqlite3`` and is filled by
``soulsyncd library import`` and by the mood playlists (``music.playlists``).
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, structs

from soulsyncd.settings import FieldError, Section

DEFAULT_ENRICH_URL = "https://api.reccobeats.com"


class CatalogConfig(Section, frozen=True, kw_only=True):
    """The track catalog's feature look-up (ReccoBeats), off unless asked for."""

    enrich: Annotated[bool, Meta(
        description="Let the daemon look up missing features by Spotify track id at ReccoBeats "
        "(sends only track ids); 'soulsyncd library enrich' works either way.",
    )] = False
    enrich_url: Annotated[str, Meta(
        description="Base URL of the ReccoBeats-compatible audio-features service.",
    )] = DEFAULT_ENRICH_URL

    def __post_init__(self) -> None:
        if not self.enrich_url.startswith(("https://", "http://")):
            raise FieldError("enrich_url", f"must be an http(s) URL, got {self.enrich_url!r}")
        structs.force_setattr(self, "enrich_url", self.enrich_url.rstrip("/"))
