"""From plain data to a validated :class:`Config`, and every problem as a path and a plain message.

The sections are :class:`msgspec.Struct` types (:mod:`soulsyncd.settings`). msgspec stops at the first
error of a conversion, so the data is first walked against the sections' fields, which finds every
unknown key (with a "did you mean" hint), every key that is not a string and every ``.inf``/``.nan``
where a number belongs, in every section; then each top-level section is converted on its own, so
mistakes in several sections are all reported. Within one section, the first wrong type, bound or
rule is reported (msgspec stops there).

:func:`parse_config` is the one way to turn data (a dict, as YAML or JSON gives it) into a
:class:`Config`; the loader (:mod:`soulsyncd.config.loader`) adds the file's line numbers.
"""

from __future__ import annotations

import functools
import math
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import msgspec
import msgspec.inspect as mi

from soulsyncd.config.sections import Config
from soulsyncd.settings import ConfigError, FieldError, Loc, did_you_mean, quoted, resolve_path, shown

MAX_REPORTED = 100
"""Problems listed at most; the rest are counted. Beyond it, unknown keys get no hint (difflib is slow)."""
SHOWN_CHARS = 60  # keys and messages quoted from the file are cut to about this length


class Problem(NamedTuple):
    """One thing wrong with the data: where (``loc``, keys and list indexes) and what."""

    loc: Loc
    message: str
    unknown_key: bool = False
    """An unknown key: the loader leaves it out where it already reported the key as a secret."""


def parse_config(data: Mapping[str, object], base_dir: Path | None = None) -> Config:
    """A validated, frozen :class:`Config` from plain data (the parsed YAML file, or a dict in code).

    Args:
        data: Section name -> the section's mapping, as YAML would give it; absent or null sections
            take their defaults.
        base_dir: What relative paths are relative to (the config file's directory); None: they stay
            relative. ``~`` and ``~user`` are expanded either way.

    Raises:
        ConfigError: ``errors`` lists every problem as ``{dotted.path}: {message}``.
    """
    config, problems = validate(data, base_dir)
    if config is None:
        raise ConfigError([f"{dotted(loc)}: {message}" if loc else message for loc, message, _ in problems])
    return config


def validate(data: Mapping[str, object], base_dir: Path | None) -> tuple[Config | None, list[Problem]]:
    """The config, or None and every problem found (in no particular order; never an empty list then)."""
    return _Validation(base_dir).run(data)


def cut(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dotted(loc: Loc) -> str:
    """``('music', 'playlists', 'calm', 1)`` -> ``music.playlists.calm[1]`` (long keys cut)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = cut(part)
            text += f".{key}" if text else key
    return text


# --- the schema -------------------------------------------------------------------------------------


@functools.cache
def _sections() -> dict[str, tuple[Any, mi.Type]]:
    """Each top-level section: its annotation (what msgspec converts to) and its inspected type."""
    info = mi.type_info(Config)
    assert isinstance(info, mi.StructType)
    annotations = {field.name: field.type for field in msgspec.structs.fields(Config)}
    return {field.name: (annotations[field.name], field.type) for field in info.fields}


def _strip(kind: mi.Type) -> mi.Type:
    while isinstance(kind, mi.Metadata):
        kind = kind.type
    return kind


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """A union's members (``X | None``: ``[X, NoneType]``) without their Annotated; else ``[annotation]``."""
    annotation = _strip_annotated(annotation)
    if typing.get_origin(annotation) in (typing.Union, _UnionType):
        return [_strip_annotated(member) for member in typing.get_args(annotation)]
    return [annotation]


_UnionType = type(int | str)


def _struct_members(annotation: Any) -> list[type[msgspec.Struct]]:
    return [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, msgspec.Struct)]


def _tag_field(structs: list[type[msgspec.Struct]]) -> str | None:
    return structs[0].__struct_config__.tag_field if structs else None


def _tags(structs: list[type[msgspec.Struct]]) -> dict[str, type[msgspec.Struct]]:
    return {str(cls.__struct_config__.tag): cls for cls in structs}


def _field_annotations(cls: type[msgspec.Struct]) -> dict[str, Any]:
    return {field.name: field.type for field in msgspec.structs.fields(cls)}


def _pick(annotation: Any, value: object) -> Any:
    """The member of a union that ``value`` is for (a tagged struct by its tag), or the annotation."""
    members = _members(annotation)
    if len(members) == 1:
        return members[0]
    structs = _struct_members(annotation)
    if isinstance(value, dict) and structs:
        if len(structs) == 1:
            return structs[0]
        return _tags(structs).get(value.get(_tag_field(structs)), annotation)  # type: ignore[arg-type]
    for member in members:
        origin = typing.get_origin(member) or member
        if isinstance(value, list) and origin in (list, tuple):
            return member
        if isinstance(value, dict) and origin is dict:
            return member
    return annotation


# --- walking the data before conversion ------------------------------------------------------------

_SEQUENCES = mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType


class _Validation:
    """One validation: the walk of the data, each section's conversion, and the problems found."""

    def __init__(self, base_dir: Path | None) -> None:
        self._base_dir = base_dir
        self.problems: list[Problem] = []
        self._unknown: list[tuple[Loc, list[str]]] = []
        self._blocked = False  # the section being walked has a problem its conversion would hide
        self._elided: set[Loc] = set()  # field names the data does not have (a shorthand's ``uris``)

    def run(self, data: Mapping[str, object]) -> tuple[Config | None, list[Problem]]:
        sections = _sections()
        converted: dict[str, object] = {}
        for name, value in data.items():
            if not isinstance(name, str):
                self._problem((str(name),), "keys must be strings")
                continue
            if name not in sections:
                self._unknown.append(((name,), list(sections)))
                continue
            if value is None:  # a section whose keys are all commented out: all defaults, as if absent
                continue
            annotation, kind = sections[name]
            self._blocked = False
            cleaned = self._walk(value, kind, (name,))
            if self._blocked:
                continue
            try:
                converted[name] = msgspec.convert(cleaned, annotation, strict=False, dec_hook=self._decode)
            except msgspec.ValidationError as exc:
                self.problems.append(self._explain(exc, (name,), annotation, cleaned))
        hints = len(self.problems) + len(self._unknown) <= MAX_REPORTED
        for loc, known in self._unknown:
            hint = did_you_mean(str(loc[-1]), known) if hints else ""
            self.problems.append(Problem(loc, "unknown key" + hint, unknown_key=True))
        if self.problems:
            return None, self.problems
        return Config(**converted), []  # type: ignore[arg-type]

    def _problem(self, loc: Loc, message: str, *, blocking: bool = False) -> None:
        self.problems.append(Problem(loc, message))
        self._blocked = self._blocked or blocking

    def _decode(self, kind: type, value: object) -> object:
        if kind is Path:
            return resolve_path(value, self._base_dir)
        raise NotImplementedError(f"no conversion to {kind!r}")  # a schema bug, not a config error

    def _walk(self, value: object, kind: mi.Type, loc: Loc) -> object:
        """``value`` without the keys reported here (unknown, not strings), shorthands written out."""
        kind = _strip(kind)
        if isinstance(kind, mi.UnionType):
            return self._walk_union(value, kind, loc)
        if isinstance(kind, mi.StructType):
            return self._walk_struct(value, kind, loc)
        if isinstance(kind, mi.DictType) and isinstance(value, dict):
            items: dict[object, object] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    self._problem((*loc, str(key)), "keys must be strings", blocking=True)
                    continue
                items[key] = self._walk(item, kind.value_type, (*loc, key))
            return items
        if isinstance(kind, _SEQUENCES) and isinstance(value, list):
            return [self._walk(item, kind.item_type, (*loc, index)) for index, item in enumerate(value)]
        if isinstance(kind, mi.TupleType) and isinstance(value, list):
            return [
                self._walk(item, kind.item_types[index], (*loc, index)) if index < len(kind.item_types)
                else item
                for index, item in enumerate(value)
            ]
        if isinstance(kind, mi.FloatType):
            self._finite(value, loc)
        return value

    def _walk_union(self, value: object, kind: mi.UnionType, loc: Loc) -> object:
        members = [_strip(member) for member in kind.types]
        structs = [m for m in members if isinstance(m, mi.StructType)]
        if isinstance(value, dict) and len(structs) > 1:
            chosen = [m for m in structs if m.tag == value.get(structs[0].tag_field)]
            return self._walk(value, chosen[0], loc) if chosen else value  # a bad kind: msgspec says
        for member in members:
            if self._fits(value, member):
                return self._walk(value, member, loc)
        return value

    @staticmethod
    def _fits(value: object, kind: mi.Type) -> bool:
        if isinstance(value, dict):
            return isinstance(kind, mi.StructType | mi.DictType)
        if isinstance(value, list):
            return isinstance(kind, _SEQUENCES | mi.TupleType)
        return isinstance(kind, mi.FloatType)

    def _finite(self, value: object, loc: Loc) -> None:
        # No field means anything at .inf or .nan (pydantic's allow_inf_nan=False did this before);
        # a bound would catch some, with a less telling message, and an unbounded float none.
        number = value
        if isinstance(value, str):  # lax conversion reads "inf" and "nan" as numbers
            try:
                number = float(value)
            except ValueError:
                return
        if isinstance(number, float) and not math.isfinite(number):
            self._problem(loc, f"must be a finite number, got {shown(value)}", blocking=True)

    def _walk_struct(self, value: object, kind: mi.StructType, loc: Loc) -> object:
        cls = kind.cls
        shorthand = getattr(cls, "shorthand", None)
        if shorthand is not None and isinstance(value, str | list):
            self._elided.add((*loc, shorthand))
            value = {shorthand: [value] if isinstance(value, str) else value}
        if not isinstance(value, dict):
            return value  # msgspec reports what it is instead of a mapping
        known = [field.name for field in kind.fields]
        allowed = {*known, *([kind.tag_field] if kind.tag_field else [])}
        cleaned: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):  # the rest of the section would be judged without it: stop
                self._problem((*loc, str(key)), "keys must be strings", blocking=True)
            elif key not in allowed:
                self._unknown.append(((*loc, key), sorted(allowed)))
            else:
                cleaned[key] = item
        check = getattr(cls, "check_written", None)
        if check is not None:
            try:
                check(cleaned)
            except FieldError as exc:
                self._problem((*loc, exc.field), _own_words(exc), blocking=True)
            except ValueError as exc:
                self._problem(loc, _own_words(exc), blocking=True)
        for field in kind.fields:
            if field.name in cleaned:
                cleaned[field.name] = self._walk(cleaned[field.name], field.type, (*loc, field.name))
        return cleaned

    # --- explaining msgspec's error -----------------------------------------------------------------

    def _explain(self, exc: msgspec.ValidationError, loc: Loc, annotation: Any, data: object) -> Problem:
        """msgspec's ``Expected `float` <= 60.0 - at `$.fps``` as ``analysis.fps``: ``must be at most 60,
        got 61``."""
        text = str(exc)
        path = "$"
        at_key = False
        head, sep, tail = text.rpartition(" - at `")
        if sep and tail.endswith("`"):
            text, path = head, tail[:-1]
            if path.startswith("key` in `"):
                at_key, path = True, path[len("key` in `"):]
        walk = _PathWalk(loc, annotation, data, self._elided, self._decode)
        walk.follow(path)
        cause = exc.__cause__
        if isinstance(cause, FieldError):
            return Problem(walk.shown_loc((cause.field,)), _own_words(cause))
        if isinstance(cause, ValueError | TypeError):
            return Problem(walk.shown_loc(), _own_words(cause))
        if at_key:
            return Problem(walk.shown_loc(), "keys must be strings")
        if walk.at_tag or (walk.tags and (m := _MISSING.fullmatch(text)) and m[1] == walk.tag_field):
            return self._explain_kind(walk)
        return _translate(text, walk)

    @staticmethod
    def _explain_kind(walk: _PathWalk) -> Problem:
        tags = list(walk.tags)
        expected = f"expected one of {quoted(tags)}"
        if not walk.at_tag:
            return Problem(walk.shown_loc((walk.tag_field,)), f"missing; {expected}")
        tag = walk.value
        hint = did_you_mean(tag, tags) if isinstance(tag, str) else ""
        return Problem(walk.shown_loc(), f"unknown kind {shown(tag)}{hint}; {expected}")


def _own_words(exc: Exception) -> str:
    # Our rules quote values through shown(); this only guards against a runaway message.
    return cut(str(exc), 5 * SHOWN_CHARS)


class _PathWalk:
    """Follows msgspec's path (``$.playlists[...].uris[1]``) through the data and the annotations."""

    def __init__(
        self, loc: Loc, annotation: Any, data: object, elided: set[Loc], decode: Any
    ) -> None:
        self.loc = loc
        self.annotation = annotation
        self.value = data
        self._elided = elided
        self._decode = decode
        self.at_tag = False
        self.tags: dict[str, type[msgspec.Struct]] = {}
        self.tag_field = ""
        self._note_tags()

    def _note_tags(self) -> None:
        structs = _struct_members(self.annotation)
        if len(structs) > 1:
            self.tags, self.tag_field = _tags(structs), str(_tag_field(structs))
        else:
            self.tags, self.tag_field = {}, ""

    def follow(self, path: str) -> None:
        rest = path.removeprefix("$")
        while rest:
            if rest.startswith("[...]"):
                rest = rest[5:]
                self._into_dict_value()
            elif rest.startswith("["):
                end = rest.index("]")
                self._into(int(rest[1:end]))
                rest = rest[end + 1 :]
            elif rest.startswith("."):
                match = re.match(r"\.([^.\[]*)", rest)
                assert match is not None
                rest = rest[match.end() :]
                self._into(match[1])
            else:  # not a path this walk understands: report at the section so far
                return

    def _into(self, part: str | int) -> None:
        value = self.value
        if isinstance(part, str) and self.tags and part == self.tag_field:
            self.at_tag = True
            self.loc = (*self.loc, part)
            self.value = value.get(part) if isinstance(value, dict) else None
            return
        picked = _pick(self.annotation, value)
        annotation: Any = None
        if isinstance(part, str) and isinstance(picked, type) and issubclass(picked, msgspec.Struct):
            annotation = _field_annotations(picked).get(part)
        elif isinstance(part, int):
            args = typing.get_args(picked)
            if typing.get_origin(picked) is tuple and args and args[-1] is not Ellipsis:
                annotation = args[part] if part < len(args) else None
            elif args:
                annotation = args[0]
        self.loc = (*self.loc, part)
        if isinstance(value, dict):
            self.value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            self.value = value[part]
        else:
            self.value = None
        self.annotation = annotation
        self._note_tags()

    def _into_dict_value(self) -> None:
        """msgspec names no key inside a dict (``$.playlists[...]``): the first value that fails on
        its own is the one (msgspec stops at the first, in order)."""
        picked = _pick(self.annotation, self.value)
        args = typing.get_args(picked)
        item_annotation = args[1] if len(args) == 2 else Any
        mapping = self.value if isinstance(self.value, dict) else {}
        for key, item in mapping.items():
            try:
                msgspec.convert(item, item_annotation, strict=False, dec_hook=self._decode)
            except (msgspec.ValidationError, ValueError, TypeError):
                self.loc = (*self.loc, key)
                self.value = item
                break
        self.annotation = item_annotation
        self._note_tags()

    def shown_loc(self, extra: Loc = ()) -> Loc:
        """The path as the file has it: a shorthand's implied field (``uris``) left out."""
        loc: Loc = ()
        for part in (*self.loc, *extra):
            if (*loc, part) not in self._elided:
                loc = (*loc, part)
        return loc


_MISSING = re.compile(r"Object missing required field `(.*)`")

_NAMES = {
    "int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
    "object": "a mapping", "array": "a list", "null": "null",
}
_BOUND_WORDS = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}
_SIZE_WORDS = {">=": "at least", "<=": "at most"}


def _type_words(names: str) -> str:
    words = [_NAMES.get(name.strip(), name.strip()) for name in names.split("|")]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _number(text: str) -> str:
    try:
        return f"{float(text):.15g}"
    except ValueError:
        return text


def _got(value: object) -> str:
    return f", got {shown(value)}" if isinstance(value, str | int | float | bool) or value is None else ""


def _translate(text: str, walk: _PathWalk) -> Problem:
    """msgspec's own wording, said plainly, with the value given where it is a plain scalar."""
    for pattern, explain in _EXPLANATIONS:
        if match := pattern.fullmatch(text):
            return explain(match, walk)
    plain = text.replace("`", "")
    return Problem(walk.shown_loc(), cut(plain[:1].lower() + plain[1:], 5 * SHOWN_CHARS))


def _missing(match: re.Match[str], walk: _PathWalk) -> Problem:
    return Problem(walk.shown_loc((match[1],)), "required, but not set")


def _choices(annotation: Any) -> list[object]:
    """The values of the Literal at this place (``Literal[...] | None`` too), in the order declared."""
    literals = [member for member in _members(annotation) if typing.get_origin(member) is Literal]
    return [arg for member in literals for arg in typing.get_args(member)]


def _enum(match: re.Match[str], walk: _PathWalk) -> Problem:
    return Problem(walk.shown_loc(), f"expected one of {quoted(_choices(walk.annotation))}{_got(walk.value)}")


def _expected(match: re.Match[str], walk: _PathWalk) -> Problem:
    got = _got(walk.value) or f", got {_type_words(match[2])}"
    if choices := _choices(walk.annotation):  # a choice given as a number or null: say the choices
        return Problem(walk.shown_loc(), f"expected one of {quoted(choices)}{got}")
    return Problem(walk.shown_loc(), f"expected {_type_words(match[1])}{got}")


def _bound(match: re.Match[str], walk: _PathWalk) -> Problem:
    bound = f"{_BOUND_WORDS[match[1]]} {_number(match[2])}"
    return Problem(walk.shown_loc(), f"must be {bound}{_got(walk.value)}")


def _length(match: re.Match[str], walk: _PathWalk) -> Problem:
    size, count = _SIZE_WORDS[match[2]], match[3]
    if match[1] == "str":
        message = f"must be {size} {count} character{'' if count == '1' else 's'} long"
    else:
        message = f"must have {size} {count} item{'' if count == '1' else 's'}"
    got = f", got {len(walk.value)}" if isinstance(walk.value, list) else ""
    return Problem(walk.shown_loc(), message + got)


def _exact_length(match: re.Match[str], walk: _PathWalk) -> Problem:
    return Problem(walk.shown_loc(), f"must have exactly {match[1]} items, got {match[2]}")


_EXPLANATIONS: list[tuple[re.Pattern[str], typing.Callable[[re.Match[str], _PathWalk], Problem]]] = [
    (_MISSING, _missing),
    (re.compile(r"Invalid enum value .*"), _enum),
    (re.compile(r"Expected `([^`]*)`, got `([^`]*)`"), _expected),
    (re.compile(r"Expected `(?:float|int)` (>=|>|<=|<) (\S+)"), _bound),
    (re.compile(r"Expected `(str|array|object)` of length (>=|<=) (\d+)"), _length),
    (re.compile(r"Expected `array` of length (\d+), got (\d+)"), _exact_length),
]
