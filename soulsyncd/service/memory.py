"""Giving memory back after a reload, so a long-running daemon's RSS reflects what it uses."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

_libc: ctypes.CDLL | None = None
_looked_up = False


def _malloc_trim() -> ctypes.CDLL | None:
    global _libc, _looked_up  # noqa: PLW0603 - looked up once per process
    if not _looked_up:
        _looked_up = True
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name) if name else None
            _libc = libc if libc is not None and hasattr(libc, "malloc_trim") else None
        except OSError:
            _libc = None
    return _libc


def release_freed_memory() -> None:
    """Collect reference cycles now, then ask glibc to return free heap pages to the system.

    A reload replaces the whole pipeline (model, frame buffers, clients); the old one sits in
    reference cycles until a full collection, and even when freed glibc keeps the pages, so without
    this every reload raised RSS by megabytes (tools/soak.py). ``malloc_trim`` is glibc's; elsewhere
    only the collection runs.
    """
    gc.collect()
    libc = _malloc_trim()
    if libc is not None:
        libc.malloc_trim(0)
