"""What every component's settings model shares: the base model, the error type, path and naming helpers.

It imports nothing of the project: each component keeps its settings next to its code
(``vision/settings.py``, ``spotify/settings.py``, ...) on this base, and :mod:`soulsyncd.config` composes
them into the one file model."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import ClassVar, Protocol

import msgspec

EXIT_CONFIG = os.EX_CONFIG  # 78
"""Exit status for a bad configuration (EX_CONFIG from sysexits.h); systemd won't restart-loop on it
when the unit sets ``RestartPreventExitStatus=78``."""

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """The configuration can't be used; ``errors`` holds one ``file:line: path: message`` per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class FieldError(ValueError):
    """A section's rule broke on one field: the loader reports ``message`` at ``section.field``.

    Raised from a section's ``__post_init__`` or :meth:`Section.check_written` (a plain ValueError
    there is reported at the section itself).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every config section (a :class:`msgspec.Struct`): unknown keys are errors, the section
    is frozen, floats are finite.

    Bounds of a field (``ge``/``gt``/``le``/``lt`` in its ``msgspec.Meta``) and choice lists
    (``Literal``) are the ones the component that uses the value declares (module constants there),
    never numbers written again here, so a value the config accepts is a value the component runs with.

    Validation happens when data is converted (:func:`soulsyncd.config.parse_config`, the loader), not
    in ``__init__``: a section built in code from keywords checks only its ``__post_init__`` rules.
    Cross-field rules live in ``__post_init__`` and raise :class:`FieldError`. Subclasses repeat
    ``frozen=True, kw_only=True`` (msgspec does not inherit ``kw_only``; type checkers want ``frozen``).
    """

    # Unknown keys are errors (a typo must not silently fall back to a default); frozen because the
    # config is shared read-only by every thread; no field of any section means anything at .inf or
    # .nan (a window or a retry delay of .inf was accepted and then broke the daemon at run time):
    # the loader refuses them before conversion (soulsyncd.config.validate).

    shorthand: ClassVar[str | None] = None
    """A field that a bare value (not a mapping) written for the whole section stands for: a string
    as a one-item list of it, a list as itself (``calm: spotify:playlist:x`` for ``calm: {uris: [...]}``)."""

    @classmethod
    def check_written(cls, data: Mapping[str, object]) -> None:
        """Rules on the values as written, before conversion changes what they look like (YAML's
        ``2025.10`` already is the number 2025.1; ``true`` is a bool, never a camera index).

        Raises:
            FieldError: a value as written can't be what the user meant.
        """


def resolve_path(value: object, base_dir: Path | None) -> Path:
    """A path from the config: ``~`` and ``~user`` expanded, a relative one made relative to
    ``base_dir`` (the config file's directory; None: left relative).

    Raises:
        ValueError: not text, a NUL character, or a ``~user`` that does not exist (reported as a
            config error, not the RuntimeError ``Path.expanduser`` raises).
    """
    if not isinstance(value, str | Path):
        raise ValueError(f"expected a path, got {shown(value)}")
    if "\0" in str(value):  # accepted by Path, refused by every system call that would use it
        raise ValueError("a path cannot contain a NUL character")
    path = Path(value)
    try:
        path = path.expanduser()
    except RuntimeError:  # ~nosuchuser, or no home directory at all
        head = str(path).split("/", 1)[0]
        raise ValueError(f"cannot expand {shown(head)}: no such user, or no home directory") from None
    if path.is_absolute() or base_dir is None:
        return path
    # normpath, not resolve(): tidy '..' for the logs without following symlinks the user chose.
    return Path(os.path.normpath(base_dir / path))


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
