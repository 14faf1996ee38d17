"""Loading the YAML file: parse it into a node tree (for line numbers), validate, explain every error.

Mistakes in the file are reported at once, each as ``{file}:{line}: {dotted.path}: {message}``
so the user can jump straight to it: every unknown key (with a "did you mean" hint), every secret
put in the file by mistake, every duplicate key, and in each section the first wrong type, bad
choice, bound or cross-field rule (msgspec, which validates, stops at the first problem of a
section; see :mod:`soulsyncd.config.validate`). Secrets never come from the YAML;
:func:`read_secret` reads them from a systemd credential or the environment.

Line numbers come from composing the YAML into its node tree (which keeps each node's position)
and constructing the plain data from that same tree, so the two can never disagree.

Loading is total: whatever the file holds (binary, control characters, alias bombs, recursive
aliases, deep nesting, bad tags, ``~nosuchuser`` paths, a directory, megabytes of junk), the only
exception that leaves :func:`load_config` is :class:`ConfigError`, and a file of up to 64 KB is
judged in well under a second. The limits that make this so (:data:`MAX_FILE_BYTES`,
:data:`MAX_DEPTH`, :data:`MAX_NODES`) are far beyond what a real config needs.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from soulsyncd.config.sections import Config
from soulsyncd.config.validate import MAX_REPORTED, cut, dotted, validate
from soulsyncd.settings import (
    ConfigError,
    Loc,
    read_secret,  # noqa: F401  (it lived here: soulsyncd.config.loader.read_secret)
    shown,
)

MAX_FILE_BYTES = 1_000_000
"""A bigger file is refused unread: a full config is a few kilobytes."""
MAX_DEPTH = 50
"""Deepest nesting of collections, aliases expanded (the schema needs 3); deeper is refused."""
MAX_NODES = 2_500
"""Most YAML nodes a document may have, aliases expanded: the full example config has 151. PyYAML
composes about 10,000 nodes a second on a fast core, so this keeps any file well under a second."""

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
        ConfigError: The only exception, whatever the file holds. The file is missing, unreadable,
            not a regular file or over :data:`MAX_FILE_BYTES`; is not UTF-8 or not valid YAML;
            nests deeper than :data:`MAX_DEPTH`, has more than :data:`MAX_NODES` nodes once its
            aliases are expanded, or an alias inside its own anchor; its top level is not a
            mapping; or its contents fail validation. ``errors`` lists the problems found (at most
            :data:`MAX_REPORTED`, then a count), each as ``{file}:{line}: {dotted.path}: {message}``.
    """
    path = Path(path)
    name = str(path)
    text = _read(path, name)
    try:
        base_dir = path.absolute().parent
    except OSError:  # the current directory was deleted under us
        base_dir = path.parent
    root, data = _parse(name, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = _line(root, ())
        where = f"{name}:{line}" if line is not None else name
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise ConfigError([f"{where}: the top level must be a mapping of sections, got {kind}"])
    located: list[tuple[int, str]] = []
    secrets = _secret_keys(root)
    located.extend((line, _format(name, line, loc, _secret_message())) for loc, line in secrets)
    located.extend(_duplicate_keys(name, root))
    try:
        config, problems = validate(data, base_dir)
    except RecursionError as exc:  # bounded by MAX_DEPTH, so never expected; still a config error
        raise ConfigError([f"{name}: too deeply nested to validate"]) from exc
    secret_locs = {loc for loc, _ in secrets}
    lines = _LineFinder(root)
    for loc, message, unknown_key in problems:
        if unknown_key and loc in secret_locs:
            continue  # already reported as a secret, which says more than "unknown key"
        line = lines.line(loc)
        located.append((line or 0, _format(name, line, loc, message)))
    if located or config is None:
        # Stable sort by line keeps the order found among problems on the same line.
        messages = [message for _, message in sorted(located, key=lambda item: item[0])]
        if len(messages) > MAX_REPORTED:
            hidden = len(messages) - MAX_REPORTED
            messages = [*messages[:MAX_REPORTED], f"{name}: ... and {hidden} more problems"]
        raise ConfigError(messages)
    return config


def _read(path: Path, name: str) -> str:
    """The file's text; refuses what is not a regular file, too big, or not UTF-8."""
    if "\0" in str(path):  # said here: Python's own wording differs between 3.11 and 3.13
        raise ConfigError([f"{name}: cannot read config file: a NUL byte in the path"])
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError([f"{name}: cannot read config file: it is a directory"])
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or a device could block the reader forever or never end.
            raise ConfigError([f"{name}: cannot read config file: not a regular file"])
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{name}: cannot read config file: {exc.strerror or exc}"]) from exc
    except ValueError as exc:  # a path the OS cannot be given, e.g. a lone surrogate in it
        raise ConfigError([f"{name}: cannot read config file: {exc}"]) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            [f"{name}: cannot read config file: larger than {MAX_FILE_BYTES // 1000} kB, not a config file?"]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError([f"{name}:{line}: cannot read config file: not UTF-8 text ({exc.reason})"]) from exc


_TOO_MANY = f"more than {MAX_NODES} values, keys and collections"


class _Refused(Exception):  # noqa: N818 - a verdict on the document, raised out of the YAML machinery
    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with its unbounded corners closed.

    Flow nesting is capped in the scanner (its simple-key bookkeeping is quadratic in the depth),
    block nesting in the composer (which recurses), and a constructor that fails with a plain
    Python error (``!!float x``, a 5,000-digit int) fails as a YAML error at that node's line.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._nodes = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # noqa: N803 - PyYAML's name
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(f"brackets nested more than {MAX_DEPTH} deep", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            self._nodes += 1
            if self._depth > MAX_DEPTH or self._nodes > MAX_NODES:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                too_deep = self._depth > MAX_DEPTH
                problem = f"collections nested more than {MAX_DEPTH} deep" if too_deep else _TOO_MANY
                raise _Refused(problem, event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, _Refused, RecursionError):
            raise
        except Exception as exc:  # ValueError, OverflowError, AttributeError... from a bad scalar
            tag = str(node.tag).rsplit(":", 1)[-1]
            value = shown(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            # A ValueError says why ("exceeds the limit of 4300 digits"); anything else is PyYAML's
            # own stumble ("'NoneType' object has no attribute ...") and would only confuse.
            why = f" ({cut(str(exc))})" if isinstance(exc, ValueError | OverflowError) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"{value} is not a valid !!{tag}{why}", node.start_mark
            ) from exc


def _parse(name: str, text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data constructed from that same tree."""
    try:
        loader = _BoundedLoader(text)  # the reader already rejects control characters here
        try:
            root = loader.get_single_node()
            if root is not None:
                _check_expansion(root)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _Refused as exc:
        where = f"{name}:{exc.mark.line + 1}" if exc.mark is not None else name
        raise ConfigError([f"{where}: refused: {exc}"]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        raise ConfigError(
            [f"{name}:{line}: invalid YAML: character #x{character:04x} is not allowed (control character?)"]
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}: invalid YAML: {cut(str(exc))}"]) from exc
    except RecursionError as exc:  # bounded by MAX_DEPTH, so never expected; still a config error
        raise ConfigError([f"{name}: refused: nested too deeply"]) from exc
    except (ValueError, TypeError) as exc:  # PyYAML internals on inputs it did not foresee
        raise ConfigError([f"{name}: invalid YAML: {cut(str(exc))}"]) from exc
    return root, data


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse recursive aliases, and documents whose aliases expand past MAX_NODES or MAX_DEPTH.

    Aliases make the node tree a graph: nine lines of nine aliases each stand for 9^9 nodes (an
    "alias bomb"), and an alias inside its own anchor for an infinite tree. One iterative pass over
    the graph, each node once, computes every node's expanded size and depth without expanding.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the current path from the root: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if size[key] > MAX_NODES:
                raise _Refused(_TOO_MANY + " once its aliases are expanded", node.start_mark)
            if depth[key] > MAX_DEPTH:
                raise _Refused(f"aliases nest collections more than {MAX_DEPTH} deep", node.start_mark)
            continue
        if key in size:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise _Refused("an alias refers to a collection that contains it", child.start_mark)
            if id(child) not in size:
                stack.append((child, False))


def _format(name: str, line: int | None, loc: Loc, message: str) -> str:
    where = f"{name}:{line}" if line is not None else name
    dotted_loc = dotted(loc)
    return f"{where}: {dotted_loc}: {message}" if dotted_loc else f"{where}: {message}"


def _line(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node on ``loc`` that exists in the file.

    A mapping entry is located by its key's line (the value of a section starts on the next line).
    """
    return _LineFinder(root).line(loc)


class _LineFinder:
    """:func:`_line` for many paths: each mapping's keys are indexed once, not scanned per error."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root
        self._keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _entry(self, mapping: yaml.MappingNode, part: str) -> tuple[yaml.Node, yaml.Node] | None:
        index = self._keys.get(id(mapping))
        if index is None:
            # The last duplicate wins in the constructed data, so it is the one to point at.
            index = {
                text: (key, value) for key, value in mapping.value if (text := _key_text(key)) is not None
            }
            self._keys[id(mapping)] = index
        return index.get(part)

    def line(self, loc: Loc) -> int | None:
        if self._root is None:
            return None
        node: yaml.Node = self._root
        line = node.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                entry = self._entry(node, str(part))
                if entry is None:
                    break
                key, node = entry
                line = key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and _in_range(part, node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def _in_range(part: str | int, items: list[Any]) -> bool:
    return isinstance(part, int) and 0 <= part < len(items)


def _key_text(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _walk_mappings(root: yaml.Node | None) -> Iterator[tuple[Loc, yaml.MappingNode]]:
    """Every mapping node in the tree, each once, with the first path that reaches it.

    An anchored mapping reached again through an alias is not walked again: re-walking aliases
    made a 428-byte file take 26 s. Its problems are reported once, where it is defined.
    """
    seen: set[int] = set()
    stack: list[tuple[Loc, yaml.Node | None]] = [((), root)]
    while stack:
        loc, node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            yield loc, node
            children = [
                ((*loc, text), value) for key, value in node.value if (text := _key_text(key)) is not None
            ]
        elif isinstance(node, yaml.SequenceNode):
            children = [((*loc, index), item) for index, item in enumerate(node.value)]
        else:
            continue
        stack.extend(reversed(children))  # document order, for errors on the same line


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
