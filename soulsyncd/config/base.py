"""What every config section shares: the base model, the error type, path and naming helpers."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo

EXIT_CONFIG = os.EX_CONFIG  # 78
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
    """Base of every config section: unknown keys are errors, the model is frozen, floats are finite.

    Bounds of a field (``ge``/``gt``/``le``/``lt``) and choice lists (``Literal``) are the ones the
    component that uses the value declares (module constants there), never numbers written again
    here, so a value the config accepts is a value the component runs with.
    """

    # Unknown keys are errors (a typo must not silently fall back to a default); frozen because the
    # config is shared read-only by every thread; no field of any section means anything at .inf or
    # .nan (a window or a retry delay of .inf was accepted and then broke the daemon at run time).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Make a relative path relative to the config file's directory (passed in the validation context).

    ``~`` and ``~user`` are expanded; a ``~user`` that does not exist is a ValueError (reported as a
    config error), not the RuntimeError ``Path.expanduser`` raises.
    """
    if "\0" in str(value):  # accepted by Path, refused by every system call that would use it
        raise ValueError("a path cannot contain a NUL character")
    try:
        value = value.expanduser()
    except RuntimeError:  # ~nosuchuser, or no home directory at all
        head = str(value).split("/", 1)[0]
        raise ValueError(f"cannot expand {shown(head)}: no such user, or no home directory") from None
    context = info.context
    if value.is_absolute() or not isinstance(context, Mapping) or CONTEXT_BASE_DIR not in context:
        return value
    # normpath, not resolve(): tidy '..' for the logs without following symlinks the user chose.
    return Path(os.path.normpath(Path(context[CONTEXT_BASE_DIR]) / value))


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters: a value quoted in an error message may
    come from a megabyte of junk."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quoted(names: Iterable[object]) -> str:
    return ", ".join(repr(name) for name in names)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    if len(word) > 100:  # no field name is that long, and difflib is quadratic in the length
        return ""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
