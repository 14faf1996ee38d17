"""Loading the YAML file: parse it into a node tree (for line numbers), validate, explain every error.

Every mistake in the file is reported at once, each as ``{file}:{line}: {dotted.path}: {message}``
so the user can jump straight to it: unknown keys (with a "did you mean" hint), wrong types, bad
choices, cross-field rules, and secrets that were put in the file by mistake. Secrets never come
from the YAML; :func:`read_secret` reads them from a systemd credential or the environment.

Line numbers come from composing the YAML into its node tree (which keeps each node's position)
and constructing the plain data from that same tree, so the two can never disagree.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from soulsyncd.config.base import CONTEXT_BASE_DIR, ConfigError, Loc, did_you_mean, quoted
from soulsyncd.config.sections import Config

# Key names that smell like a secret; matched as substrings of the lower-cased key with '-' as '_'.
# No schema field matches these, so a hit is always a secret that belongs elsewhere.
_SECRET_MARKERS = ("password", "passwd", "secret", "token", "api_key", "apikey")


# --- loading ----------------------------------------------------------------------------------------


def load_config(path: str | Path) -> Config:
    """Read, parse and validate the YAML config file.

    An empty file (or one with only comments) gives all defaults. Relative paths inside the file
    (``camera.path``, ``model.path``) are made relative to the file's own directory.

    Args:
        path: The YAML file.

    Returns:
        The validated, frozen configuration.

    Raises:
        ConfigError: The file is missing or unreadable, is not valid YAML, its top level is not a
            mapping, or its contents fail validation. ``errors`` lists every problem found, each as
            ``{file}:{line}: {dotted.path}: {message}``.
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{name}: cannot read config file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{name}: cannot read config file: not UTF-8 text ({exc.reason})"]) from exc

    root, data = _parse(name, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = _line(root, ())
        where = f"{name}:{line}" if line is not None else name
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise ConfigError([f"{where}: the top level must be a mapping of sections, got {kind}"])
    # A section whose keys are all commented out parses as null; that means "all defaults", as if absent.
    data = {key: value for key, value in data.items() if value is not None}

    located: list[tuple[int, str]] = []
    secrets = _secret_keys(root)
    located.extend((line, _format(name, line, loc, _secret_message())) for loc, line in secrets)
    located.extend(_duplicate_keys(name, root))
    config: Config | None = None
    try:
        config = Config.model_validate(data, context={CONTEXT_BASE_DIR: path.absolute().parent})
    except ValidationError as exc:
        secret_locs = {loc for loc, _ in secrets}
        for error in exc.errors():
            loc, model = _data_path(error["loc"], data)
            if error["type"] == "extra_forbidden" and loc in secret_locs:
                continue  # already reported as a secret, which says more than "unknown key"
            loc, message = _describe(error, loc, model)
            line = _line(root, loc)
            located.append((line or 0, _format(name, line, loc, message)))
    if located or config is None:
        # Stable sort by line keeps pydantic's field order among errors on the same line.
        raise ConfigError([message for _, message in sorted(located, key=lambda item: item[0])])
    return config


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


def _parse(name: str, text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data constructed from that same tree."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}: invalid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    return root, data


def _format(name: str, line: int | None, loc: Loc, message: str) -> str:
    where = f"{name}:{line}" if line is not None else name
    dotted = _dotted(loc)
    return f"{where}: {dotted}: {message}" if dotted else f"{where}: {message}"


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text




def _line(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node on ``loc`` that exists in the file.

    A mapping entry is located by its key's line (the value of a section starts on the next line).
    """
    if root is None:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            # The last duplicate wins in the constructed data, so it is the one to point at.
            matches = [(key, value) for key, value in node.value if _key_text(key) == str(part)]
            if not matches:
                break
            key, node = matches[-1]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _key_text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _walk_mappings(node: yaml.Node | None, loc: Loc = ()) -> Iterator[tuple[Loc, yaml.MappingNode]]:
    """Every mapping node in the tree with its path (aliases are followed once, like the data)."""
    if isinstance(node, yaml.MappingNode):
        yield loc, node
        for key, value in node.value:
            text = _key_text(key)
            if text is not None:
                yield from _walk_mappings(value, (*loc, text))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk_mappings(item, (*loc, index))


def _secret_keys(root: yaml.Node | None) -> list[tuple[Loc, int]]:
    found: list[tuple[Loc, int]] = []
    for loc, mapping in _walk_mappings(root):
        for key, _ in mapping.value:
            text = _key_text(key)
            if text is not None and any(m in text.lower().replace("-", "_") for m in _SECRET_MARKERS):
                found.append(((*loc, text), key.start_mark.line + 1))
    return found


def _secret_message() -> str:
    # No variable name is suggested: the code that uses a secret decides its name (see read_secret).
    return (
        "looks like a secret, and secrets must not be in the config file: remove it and provide it "
        "through a SOULSYNC_* environment variable or a systemd credential (LoadCredential=) instead"
    )


def _duplicate_keys(name: str, root: yaml.Node | None) -> Iterator[tuple[int, str]]:
    # PyYAML keeps the last of duplicate keys without a word; that hides edits made in the wrong place.
    for loc, mapping in _walk_mappings(root):
        seen: dict[str, int] = {}
        for key, _ in mapping.value:
            text = _key_text(key)
            if text is None:
                continue
            line = key.start_mark.line + 1
            if text in seen:
                message = f"duplicate key (also on line {seen[text]}; only the last one would count)"
                yield line, _format(name, line, (*loc, text), message)
            else:
                seen[text] = line


def _tagged_members(model: type[BaseModel], field: str) -> dict[str, type[BaseModel]]:
    """For a discriminated-union field: each ``kind`` value and the model it selects."""
    info = model.model_fields[field]
    annotation = info.annotation
    members = [annotation] if isinstance(annotation, type) else list(typing.get_args(annotation))
    tags: dict[str, type[BaseModel]] = {}
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel):
            tag_annotation = member.model_fields[str(info.discriminator)].annotation
            for tag in typing.get_args(tag_annotation):
                tags[tag] = member
    return tags


def _child(data: object, part: str | int) -> tuple[bool, object]:
    """Whether ``part`` indexes into ``data``, and the value there (else ``data`` unchanged)."""
    if isinstance(data, dict) and part in data:
        return True, data[part]
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return True, data[part]
    return False, data


def _data_path(error_loc: Loc, data: object) -> tuple[Loc, type[BaseModel] | None]:
    """Turn pydantic's error location into a path through the YAML data.

    Pydantic adds names the file doesn't have: the tag of a discriminated union (``camera.file.path``)
    and the member type of a plain union (``camera.device.int``). Both are dropped (``camera.path``,
    ``camera.device``). Also returns the model that owns the last element, whose fields are the keys
    allowed there.
    """
    path: list[str | int] = []
    model: type[BaseModel] | None = Config
    owner: type[BaseModel] | None = Config
    parts = iter(error_loc)
    for part in parts:
        if model is None:
            # Past the schema's models: only parts that index into the data are real.
            found, data = _child(data, part)
            if not found:
                continue
            path.append(part)
            owner = None
            continue
        owner = model
        path.append(part)
        data = data.get(part) if isinstance(data, dict) else None
        info = model.model_fields.get(part) if isinstance(part, str) else None
        if info is None:
            model = None
        elif info.discriminator is not None:
            tag = next(parts, None)
            model = _tagged_members(model, str(part)).get(tag) if isinstance(tag, str) else None
        elif isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            model = info.annotation
        else:
            model = None
    return tuple(path), owner


def _describe(error: ErrorDetails, loc: Loc, owner: type[BaseModel] | None) -> tuple[Loc, str]:
    """The path to report and a message that says what is wrong and, where it can, what is right."""
    kind = error["type"]
    if kind == "extra_forbidden":
        known = owner.model_fields if owner is not None else {}
        return loc, "unknown key" + did_you_mean(str(loc[-1]), known)
    if kind in ("union_tag_invalid", "union_tag_not_found") and owner is not None:
        return _describe_kind(error, loc, owner)
    if kind == "invalid_key":
        # YAML reads `1:` or `yes:` as a number or a bool, which can never be a field name.
        return (*loc[:-1], str(loc[-1])), "keys must be strings"
    if kind == "missing":
        return loc, "required, but not set"
    message = str(error["msg"])
    if kind == "value_error":
        # Our validators' own words; pydantic prefixes them with "Value error, ".
        return loc, message.removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    got = error.get("input")
    if (isinstance(got, str | int | float | bool) or got is None) and " got " not in message:
        message += f", got {got!r}"
    return loc, message


def _describe_kind(error: ErrorDetails, loc: Loc, owner: type[BaseModel]) -> tuple[Loc, str]:
    """A bad or missing ``kind`` of a discriminated union: point at the key and list the choices."""
    tags = _tagged_members(owner, str(loc[-1]))
    expected = f"expected one of {quoted(tags)}"
    if error["type"] == "union_tag_not_found":
        return (*loc, "kind"), f"missing; {expected}"
    tag = str(error.get("ctx", {}).get("tag", ""))
    return (*loc, "kind"), f"unknown kind {tag!r}{did_you_mean(tag, tags)}; {expected}"


