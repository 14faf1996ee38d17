"""Import spotipy without the two packages it loads for nothing: importing this module imports
spotipy (and requests), once, leaving out redis and requests' character detection.

* spotipy's ``cache_handler`` runs ``from redis import RedisError`` at import (for its
  ``RedisCacheHandler``, which soulsyncd never uses), and redis brings asyncio and ~100 modules:
  8.7 MB of the Spotify daemon's anonymous memory. A stand-in ``redis`` holding only
  ``RedisError`` is in ``sys.modules`` while spotipy imports.
* requests imports ``charset_normalizer`` (or ``chardet``) to guess the encoding of a text
  answer that names none: 2.4 MB of the daemon's peak. The Web API answers JSON, which requests
  decodes without it (``Response.json`` detects UTF-8/16/32 itself), and without a detector
  requests takes an unnamed text encoding as UTF-8, which is what the Web API sends. Both names
  are blocked while requests imports, and its warning that it found no detector is not shown.

Only the import is changed: every name is back to normal afterwards (a later ``import redis`` or
``import charset_normalizer`` gets the real package). When spotipy or requests is already
imported, this changes nothing for it. Figures: docs/performance.md.

Import it before the first ``spotipy`` import of a module (see ``spotify/client.py``).
"""

from __future__ import annotations

import sys
import types
import warnings

_DETECTORS = ("charset_normalizer", "chardet")


class RedisError(Exception):
    """What ``spotipy.cache_handler`` catches around redis calls; nothing here raises it."""


def _import_requests() -> None:
    if "requests" in sys.modules or any(name in sys.modules for name in _DETECTORS):
        return
    for name in _DETECTORS:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        with warnings.catch_warnings():
            # "Unable to find acceptable character detection dependency": chosen, not missing.
            warnings.filterwarnings("ignore", message=".*character detection dependency")
            import requests  # noqa: F401
    finally:
        for name in _DETECTORS:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


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


_import_requests()
_import_spotipy()
