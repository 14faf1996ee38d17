"""The track catalog: a SQLite store of tracks and their mood features, the CSV importer, the
optional feature look-up, and what was learned from the listener.

Importing this package is cheap: the importer and the look-up are imported only where used.
"""

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


def __getattr__(name: str) -> object:
    # The store's names, imported when first asked for: importing the package (for its settings,
    # when the config is validated) must not load SQLite.
    if name in __all__:
        from soulsyncd.catalog import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
