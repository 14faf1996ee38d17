"""What every component's settings model shares: the base model, the error type, path and naming helpers.

It imports nothing of the project: each component keeps its settings next to its code
(``vision/settings.py``, ``spotify/settings.py``, ...) on this base, and :mod:`soulsyncd.config` composes
them into the one file model."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

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
    # defer_build: a section's own validator is built only when something validates the section on
    # its own; the file model's validator holds every section's already (built at class creation,
    # each section was in memory twice: 0.5 MB of the daemon's peak, docs/performance.md).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


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


def read_secret(name: str) -> str | None:
    """A secret by name, from a systemd credential or else the environment.

    Looks for ``$CREDENTIALS_DIRECTORY/<name>`` (systemd ``LoadCredential=``/``SetCredential=``) first,
    then the environment variable ``SOULSYNC_<NAME>`` (upper-cased, ``-`` as ``_``). Surrounding
    whitespace is stripped (credential files usually end in a newline), and an empty value counts
    as absent.

    Args:
        name: The secret's name, e.g. ``spotify-client-secret``; a plain file name, no path.

    Returns:
        The secret, or None if neither source has it.

    Raises:
        ValueError: ``name`` is empty or contains a path separator or starts with a dot.
        ConfigError: The credential file exists but cannot be read.
    """
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid secret name {name!r}")
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        credential = Path(directory) / name
        try:
            value = credential.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{credential}: cannot read credential: {exc}"]) from exc
        if value:
            return value
    value = os.environ.get(_env_name(name), "").strip()
    return value or None


def _env_name(name: str) -> str:
    return "SOULSYNC_" + name.upper().replace("-", "_")


class StateSection(Protocol):
    """The ``state`` section as a component reads it (:class:`soulsyncd.config.StateConfig` is one)."""

    @property
    def dir(self) -> Path: ...


class WithState(Protocol):
    """A config with a ``state`` section (:class:`soulsyncd.config.Config` is one): what a component
    that keeps files in the state directory takes, without importing the whole config model."""

    @property
    def state(self) -> StateSection: ...
