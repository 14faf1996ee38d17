"""What every config section shares, kept importable here: it lives in :mod:`soulsyncd.settings`,
below every component, so that a component's own settings model (``spotify/settings.py``, ...) can
build on it without importing this package."""

from soulsyncd.settings import (
    CONTEXT_BASE_DIR,
    EXIT_CONFIG,
    ConfigError,
    Loc,
    Section,
    did_you_mean,
    quoted,
    resolve_path,
    shown,
)

__all__ = [
    "CONTEXT_BASE_DIR",
    "EXIT_CONFIG",
    "ConfigError",
    "Loc",
    "Section",
    "did_you_mean",
    "quoted",
    "resolve_path",
    "shown",
]
