"""What every config section shares: the base model, the error type, path and naming helpers."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo

EXIT_CONFIG = 78
"""Exit status for a bad configuration (EX_CONFIG from sysexits.h); systemd won't restart-loop on it
when the unit sets ``RestartPreventExitStatus=78``."""

CONTEXT_BASE_DIR = "base_dir"

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """The configuration can't be used; ``errors`` holds one ``file:line: path: message`` per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class Section(BaseModel):
    # Unknown keys are errors (a typo must not silently fall back to a default); frozen because the
    # config is shared read-only by every thread.
    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Make a relative path relative to the config file's directory (passed in the validation context)."""
    value = value.expanduser()
    context = info.context
    if value.is_absolute() or not isinstance(context, Mapping) or CONTEXT_BASE_DIR not in context:
        return value
    # normpath, not resolve(): tidy '..' for the logs without following symlinks the user chose.
    return Path(os.path.normpath(Path(context[CONTEXT_BASE_DIR]) / value))


def quoted(names: Iterable[object]) -> str:
    return ", ".join(repr(name) for name in names)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
