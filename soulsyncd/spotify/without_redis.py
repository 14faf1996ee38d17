"""Import spotipy without redis: importing this module imports spotipy, once, with a stand-in for
the one name spotipy takes from redis at import time.

spotipy's ``cache_handler`` runs ``from redis import RedisError`` at import (for its
``RedisCacheHandler``, which soulsyncd never uses), and redis brings asyncio and ~100 modules:
8.7 MB of the Spotify daemon's anonymous memory (docs/performance.md). The stand-in is in
``sys.modules`` only while spotipy imports; a later ``import redis`` gets the real package. When
redis or spotipy is already imported, this changes nothing.

Import it before the first ``spotipy`` import of a module (see ``spotify/client.py``).
"""

from __future__ import annotations

import sys
import types


class RedisError(Exception):
    """What ``spotipy.cache_handler`` catches around redis calls; nothing here raises it."""


def _import_spotipy() -> None:
    if "spotipy" in sys.modules or "redis" in sys.modules:
        return
    stand_in = types.ModuleType("redis", "soulsyncd's stand-in while spotipy imports")
    stand_in.__dict__["RedisError"] = RedisError
    sys.modules["redis"] = stand_in
    try:
        import spotipy  # type: ignore[import-untyped]  # noqa: F401
    finally:
        if sys.modules.get("redis") is stand_in:
            del sys.modules["redis"]


_import_spotipy()
