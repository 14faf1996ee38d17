"""The track catalog: a SQLite store of tracks and their mood features, the CSV importer, the
optional feature look-up, and what was learned from the listener.

Importing this package is cheap: the importer and the look-up are imported only where used.
"""

from soulsyncd.catalog.store import (
    CatalogError,
    CatalogStore,
    CatalogTrack,
    Feedback,
    PlaylistInfo,
    PlayRecord,
    catalog_path,
    source_rank,
)

__all__ = [
    "CatalogError",
    "CatalogStore",
    "CatalogTrack",
    "Feedback",
    "PlayRecord",
    "PlaylistInfo",
    "catalog_path",
    "source_rank",
]
