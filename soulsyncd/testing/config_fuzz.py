"""Hostile config files and configs drawn from the schema's own bounds.

Two things check that the configuration never lies (tests/test_config_fuzz.py, tools/fuzz_config.py,
tools/config_property.py use both):

* :func:`hostile_documents` and :func:`mutate` make files that :func:`~soulsyncd.config.load_config`
  must answer with a config or a :class:`~soulsyncd.config.ConfigError`, never anything else, and
  fast: binary junk, control characters, alias bombs, recursive aliases, deep nesting, bad tags,
  ``~nosuchuser`` paths, huge numbers and random damage to real config files.
* :func:`config_dicts` is a hypothesis strategy that reads every section's fields, ``Literal``
  choices, ``examples`` and ``ge``/``gt``/``le``/``lt`` bounds from the sections (``msgspec.inspect``)
  and draws config mappings inside them (edges included), and :func:`exercise` builds the daemon from an
  accepted config and runs it for a few ticks: every config ``check-config`` accepts must run.

Only tests and tools import this module; hypothesis (a test dependency) is imported lazily.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import msgspec.inspect as mi

from soulsyncd.config import Config
from soulsyncd.testing import ManualClock, ReplaySource

if TYPE_CHECKING:
    import numpy as np
    from hypothesis import strategies as st

REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

# --- hostile documents -------------------------------------------------------------------------------


def _bomb(width: int, levels: int, *, mapping: bool = False) -> str:
    """``levels`` lines, each referring ``width`` times to the line before: width**levels nodes."""
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        refs = [f"*l{level - 1}"] * width
        body = "{" + ", ".join(f"k{i}: {ref}" for i, ref in enumerate(refs)) + "}" if mapping else (
            "[" + ", ".join(refs) + "]"
        )
        lines.append(f"l{level}: &l{level} {body}")
    return "\n".join(lines) + "\n"


def _merge_bomb(levels: int) -> str:
    """Each mapping merges the one before twice: merge keys copy entries, so 2**levels of them."""
    lines = ["m0: &m0 {k: 1}"]
    lines.extend(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, levels))
    return "\n".join(lines) + "\n"


def hostile_documents() -> dict[str, bytes]:
    """Named files that once broke or hung ``check-config``, and their relatives.

    Every one must give a config or a ConfigError in well under a second. (Files that are not
    regular files, too large or unreadable are made by the tests themselves.)
    """
    docs: dict[str, str | bytes] = {
        "empty": "",
        "only comments": "# nothing\n# here\n",
        "only a document marker": "---\n",
        "document end": "...\n",
        "two documents": "analysis: {fps: 5}\n---\nanalysis: {fps: 6}\n",
        "yaml directive": "%YAML 1.1\n---\nanalysis: {fps: 5}\n",
        "bad directive": "%YAML 9.9\n---\n{}\n",
        "tag directive": "%TAG !e! tag:example.com,2000:\n---\nanalysis: !e!x {fps: 5}\n",
        "bom": "\ufeffanalysis: {fps: 5}\n",
        "control character": "camera:\n  kind: usb\x07\n",
        "nul": "analysis: {fps: \x00}\n",
        "escape sequence": "\x1b[31mcamera\x1b[0m: {}\n",
        "c1 control": "camera: {kind: usb\x85\x9b}\n",
        "private use": "camera: {kind: \ue000}\n",
        "binary": bytes(range(256)),
        "invalid utf-8": b"analysis:\n  fps: \xff\xfe5\n",
        "utf-16": "analysis: {fps: 5}\n".encode("utf-16"),
        "lone surrogate escape": b"camera: {path: \xed\xa0\x80}\n",
        "recursive list alias": "a: &a [*a]\n",
        "recursive map alias": "camera: &a {x: *a}\n",
        "recursive merge": "camera: &a {<<: *a, kind: usb}\n",
        "recursive through section": "analysis: &a {fps: 5, more: [*a]}\n",
        "undefined alias": "analysis: *nope\n",
        "duplicate anchor": "a: &x 1\nb: &x 2\n",
        "alias bomb": _bomb(9, 9),
        "alias bomb in a section": _bomb(9, 9) + "camera:\n  kind: usb\n  junk: *l8\n",
        "mapping alias bomb": _bomb(8, 8, mapping=True),
        "merge key bomb": _merge_bomb(40),
        "428-byte alias file": _bomb(8, 9),
        "aliases that stay small": "camera: {kind: usb, retry_initial_s: &r 2, retry_max_s: *r}\n",
        "merge key": "camera: {<<: {kind: usb, device: 0}, fps: 15}\n",
        "deep brackets": "[" * 5000 + "]" * 5000,
        "deep braces": "a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n",
        "unclosed brackets": "[" * 60000,
        "deep block sequence": "- " * 20000 + "x\n",
        "deep block mapping": "".join(" " * i + f"k{i}:\n" for i in range(300)),
        "deep alias chain": "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 400)),
        "bad float tag": "analysis:\n  fps: !!float x\n",
        "bad int tag": "analysis:\n  fps: !!int x\n",
        "bad bool tag": "model: {flip_average: !!bool maybe}\n",
        "bad timestamp tag": "analysis:\n  fps: !!timestamp x\n",
        "bad binary tag": "analysis:\n  fps: !!binary '###'\n",
        "null tag on a map": "analysis: !!null {fps: 5}\n",
        "str tag on a map": "analysis: !!str {fps: 5}\n",
        "set tag": "analysis: !!set {fps}\n",
        "omap tag": "analysis: !!omap [fps: 5]\n",
        "pairs tag": "analysis: !!pairs [fps: 5]\n",
        "python tag": "a: !!python/object/apply:os.system ['true']\n",
        "python name tag": "a: !!python/name:os.system\n",
        "local tag": "analysis: !mine {fps: 5}\n",
        "verbatim tag": "analysis: {fps: !<tag:yaml.org,2002:int> x}\n",
        "timestamp value": "analysis: {fps: 2001-12-14t21:59:43.10-05:00}\n",
        "binary value": "analysis: {fps: !!binary aGVsbG8=}\n",
        "no such user (file camera)": "camera:\n  kind: file\n  path: ~nosuchuser/clip.mp4\n",
        "no such user (model)": "model:\n  path: ~nosuchuser/m.tflite\n",
        "no such user (state)": "state:\n  dir: ~nosuchuser/state\n",
        "tilde alone": "state:\n  dir: '~'\n",
        "nul in a path": "state:\n  dir: \"/tmp/a\\0b\"\n",
        "negative camera index": "camera:\n  kind: usb\n  device: -1\n",
        "huge camera index": "camera:\n  kind: usb\n  device: 99999999999999999999\n",
        "bool camera": "camera:\n  kind: usb\n  device: yes\n",
        "bare-word camera": "camera:\n  kind: usb\n  device: video0\n",
        "margin 1": "smoothing:\n  margin: 1\n",
        "tiny fps": "analysis:\n  fps: 1e-12\n",
        "tiny file fps": "camera:\n  kind: file\n  path: x.mp4\n  fps: 1.0e-12\n",
        "huge retry": "camera:\n  kind: usb\n  retry_initial_s: 1e10\n  retry_max_s: 1e10\n",
        "infinite window": "smoothing:\n  window_s: .inf\n",
        "nan window": "smoothing:\n  window_s: .nan\n",
        "minus infinity": "smoothing:\n  dwell_s: -.inf\n",
        "inf as a string": "analysis:\n  fps: 'inf'\n",
        "1e999": "analysis:\n  fps: 1e999\n",
        "4000-digit int": "analysis:\n  fps: 1" + "0" * 4000 + "\n",
        "5000-digit int": "detection:\n  min_neighbors: 1" + "0" * 5000 + "\n",
        "huge hex int": "detection:\n  min_neighbors: 0x" + "f" * 3000 + "\n",
        "sexagesimal": "analysis:\n  fps: 190:20:30\n",
        "long string": "policy:\n  target: " + "x" * 60000 + "\n",
        "long key": "analysis:\n  " + "k" * 1000 + ": 1\n",
        "long unknown section": "z" * 1000 + ": 1\n",
        "many unknown keys": "".join(f"key{i}: {i}\n" for i in range(1200)),
        "too many keys": "".join(f"key{i}: {i}\n" for i in range(6000)),
        "many duplicate keys": "analysis:\n" + "  fps: 5\n" * 1200,
        "many secrets": "".join(f"token{i}: x\n" for i in range(1200)),
        "just under the node limit": "camera: [" + ", ".join("1" for _ in range(2490)) + "]\n",
        "wide list": "camera: [" + ", ".join("1" for _ in range(20000)) + "]\n",
        "null keys": "null: 1\n~: 2\n",
        "number keys": "1: 1\n2.5: 2\n.inf: 3\n.nan: 4\n",
        "bool keys": "camera: {yes: 1, no: 2}\n",
        "complex key": "? [a, b]\n: 1\n",
        "set key": "camera: {? [a]: 1}\n",
        "list top level": "- camera\n- analysis\n",
        "scalar top level": "42\n",
        "section is a list": "camera: [kind, usb]\n",
        "section is a string": "camera: usb\n",
        "kind is a list": "camera: {kind: [usb]}\n",
        "kind is a map": "player: {kind: {a: 1}}\n",
        "kind is null": "camera: {kind: null}\n",
        "tabs": "camera:\n\tkind: usb\n",
        "mixed indentation": "camera:\n  kind: usb\n    device: 0\n",
        "unterminated quote": "camera: {kind: 'usb}\n",
        "unterminated block": "camera: |\n",
        "stray colon": "camera:: usb\n",
        "windows line ends": "analysis:\r\n  fps: 5\r\n",
        "old mac line ends": "analysis:\r  fps: 5\r",
        "unicode line separator": "analysis:\u2028  fps: 5\n",
        "emoji": "policy: {target: \U0001f600}\n",
        "right-to-left override": "policy: {target: \u202ecalm}\n",
    }
    return {
        name: text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        for name, text in docs.items()
    }


# Fragments spliced into documents by :func:`mutate`.
SNIPPETS: tuple[bytes, ...] = (
    b"&a ", b"*a", b"&b [*a, *a, *a, *a]", b"<<: *a", b"!!float ", b"!!int ", b"!!timestamp ", b"!!binary ",
    b"!!set ", b"!!python/object:os.system ", b"!x ", b"[", b"]", b"{", b"}", b"[[[[[[[[", b"- ", b"? ",
    b": ", b"\t", b"\x00", b"\x07", b"\x1b", b"\xff", b"\xc3", b"~nosuchuser/", b"~/", b".inf", b"-.inf",
    b".nan", b"-1", b"1e999", b"1e-12", b"1" * 50, b"0x" + b"f" * 40, b"null", b"~", b"yes", b"'", b'"',
    b"#", b"|", b">", b"%YAML 1.1\n", b"---\n", b"...\n", b"\n", b"\r", b"\xe2\x80\xa8", b"\xef\xbb\xbf",
    b"kind: file", b"kind: usb", b"kind: picamera2", b"path: /nonexistent", b"device: -1", b"margin: 1",
    b"window_s: .inf", b"token: x", b"fps: 0", b"fps: 60",
)
# Values dropped over an existing value by :func:`mutate`.
VALUES: tuple[bytes, ...] = (
    b"0", b"-1", b"1", b"0.0", b"-0.0", b"1e-12", b"1e10", b"1e308", b"1e999", b".inf", b"-.inf", b".nan",
    b"null", b"~", b"true", b"no", b"''", b"[]", b"{}", b"x", b"*a", b"!!float x", b"~nosuchuser/x",
    b"/dev/video0", b"99999999999999999999", b"0.5", b"30", b"60", b"61", b"3600", b"3601", b"1.01", b"2",
)


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """Damage ``data`` a little: 1 to 4 random edits (bytes, lines, splices, values, truncation)."""
    for _ in range(rounds if rounds is not None else rng.randint(1, 4)):
        data = _MUTATIONS[rng.randrange(len(_MUTATIONS))](data, rng)
    return data


def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    at = rng.randrange(len(data))
    return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]


def _insert_bytes(data: bytes, rng: random.Random) -> bytes:
    at = rng.randint(0, len(data))
    return data[:at] + rng.randbytes(rng.randint(1, 16)) + data[at:]


def _delete(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, 40) :]


def _splice(data: bytes, rng: random.Random) -> bytes:
    at = rng.randint(0, len(data))
    return data[:at] + rng.choice(SNIPPETS) + data[at:]


def _repeat_line(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(len(lines))
    return b"\n".join(lines[:at] + [lines[at]] * rng.choice((2, 3, 10, 100)) + lines[at + 1 :])


def _swap_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _reindent(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(len(lines))
    lines[at] = b" " * rng.choice((0, 1, 2, 3, 4, 8)) + lines[at].lstrip(b" ")
    return b"\n".join(lines)


def _replace_value(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    candidates = [i for i, line in enumerate(lines) if b": " in line and not line.lstrip().startswith(b"#")]
    if not candidates:
        return _splice(data, rng)
    at = rng.choice(candidates)
    key, _, _ = lines[at].partition(b": ")
    lines[at] = key + b": " + rng.choice(VALUES)
    return b"\n".join(lines)


def _uncomment(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    candidates = [i for i, line in enumerate(lines) if line.startswith(b"# ")]
    if candidates:
        at = rng.choice(candidates)
        lines[at] = lines[at][2:]
    return b"\n".join(lines)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randint(0, len(data))]


_MUTATIONS = (
    _flip, _insert_bytes, _delete, _splice, _splice, _repeat_line, _swap_lines, _reindent,
    _replace_value, _replace_value, _uncomment, _truncate,
)


def seed_corpus() -> dict[str, bytes]:
    """The real config files shipped in ``config/`` plus :func:`hostile_documents`, to mutate."""
    corpus = {f"config/{path.name}": path.read_bytes() for path in sorted(REPO_CONFIG_DIR.glob("*.yaml"))}
    corpus.update(hostile_documents())
    return corpus


def fuzz_documents(count: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``count`` documents: every hostile document once, then mutants of the whole corpus.

    Mutants favour the real config files (two in three), whose damage is the likeliest in life.
    """
    rng = random.Random(seed)
    corpus = seed_corpus()
    shipped = [name for name in corpus if name.startswith("config/")]
    names = list(corpus)
    produced = 0
    for name in hostile_documents():
        if produced >= count:
            return
        yield name, corpus[name]
        produced += 1
    while produced < count:
        name = rng.choice(shipped) if shipped and rng.random() < 2 / 3 else rng.choice(names)
        yield f"mutant {produced} of {name}", mutate(corpus[name], rng)
        produced += 1


# --- configs drawn from the schema -------------------------------------------------------------------


def _strip(kind: mi.Type) -> tuple[mi.Type, dict[str, Any]]:
    """The type without its ``Metadata`` wrappers, and their JSON-schema extras (``examples``)."""
    extra: dict[str, Any] = {}
    while isinstance(kind, mi.Metadata):
        extra.update(kind.extra_json_schema or {})
        kind = kind.type
    return kind, extra


def _bounds(kind: mi.IntType | mi.FloatType) -> dict[str, Any]:
    """hypothesis ``integers``/``floats`` arguments from the field's ge/gt/le/lt."""
    bounds: dict[str, Any] = {}
    if kind.ge is not None:
        bounds["min_value"] = kind.ge
    elif kind.gt is not None:
        bounds["min_value"], bounds["exclude_min"] = kind.gt, True
    if kind.le is not None:
        bounds["max_value"] = kind.le
    elif kind.lt is not None:
        bounds["max_value"], bounds["exclude_max"] = kind.lt, True
    return bounds


def _numeric(kind: mi.IntType | mi.FloatType) -> st.SearchStrategy[Any] | None:
    from hypothesis import strategies as st

    bounds = _bounds(kind)
    if "min_value" not in bounds or "max_value" not in bounds:
        return None  # unbounded: see unbounded_fields(); the default stands in
    if isinstance(kind, mi.IntType):
        low = bounds["min_value"] + (1 if bounds.get("exclude_min") else 0)
        high = bounds["max_value"] - (1 if bounds.get("exclude_max") else 0)
        return st.integers(min_value=int(low), max_value=int(high))
    return st.floats(allow_nan=False, allow_infinity=False, **bounds)


def _members(kind: mi.Type) -> list[mi.Type]:
    """The members of a union (``X | None``), or the type alone; each without its Metadata."""
    kind, _ = _strip(kind)
    if isinstance(kind, mi.UnionType):
        return [_strip(member)[0] for member in kind.types]
    return [kind]


def _field_strategy(kind: mi.Type) -> st.SearchStrategy[Any] | None:
    """A strategy for one scalar field, or None where the schema says too little (the default stays)."""
    from hypothesis import strategies as st

    examples = _strip(kind)[1].get("examples")
    members = _members(kind)
    nullable = any(isinstance(member, mi.NoneType) for member in members)
    members = [member for member in members if not isinstance(member, mi.NoneType)]
    if len(members) != 1:
        return None
    (member,) = members
    strategy: st.SearchStrategy[Any] | None = None
    if isinstance(member, mi.LiteralType):
        strategy = st.sampled_from(member.values)
    elif isinstance(member, mi.BoolType):
        strategy = st.booleans()
    elif isinstance(member, mi.IntType | mi.FloatType):
        strategy = _numeric(member)
    elif isinstance(member, mi.StrType) and examples:
        strategy = st.sampled_from(examples)
    if strategy is None:
        return None
    return st.one_of(st.none(), strategy) if nullable else strategy


def _struct(model: type[msgspec.Struct]) -> mi.StructType:
    info = mi.type_info(model)
    assert isinstance(info, mi.StructType)
    return info


def _model_strategy(
    model: mi.StructType, prefix: str, fixed: Mapping[str, Any], skip: frozenset[str]
) -> st.SearchStrategy[dict[str, Any]]:
    from hypothesis import strategies as st

    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    names = [field.name for field in model.fields]
    if model.tag_field is not None:
        names.insert(0, model.tag_field)
    types = {field.name: field.type for field in model.fields}
    for name in names:
        dotted = f"{prefix}{name}"
        if dotted in fixed:
            required[name] = st.just(fixed[dotted])
        elif dotted in skip or name not in types:
            continue
        elif (strategy := _field_strategy(types[name])) is not None:
            optional[name] = strategy  # sometimes left out, so defaults are drawn too
    return st.fixed_dictionaries(required, optional=optional)


def config_dicts(
    *,
    kinds: Mapping[str, Sequence[str]] | None = None,
    fixed: Mapping[str, Any] | None = None,
    skip: Sequence[str] = (),
) -> st.SearchStrategy[dict[str, Any]]:
    """Config mappings drawn from the schema's own bounds and choices.

    Walks :class:`~soulsyncd.config.Config`'s sections: ``Literal`` fields draw from their choices,
    ``bool`` fields both ways, bounded ``int``/``float`` fields anywhere inside their
    ``ge``/``gt``/``le``/``lt`` bounds (hypothesis favours the edges), ``str`` fields from their
    ``examples``. Fields the schema cannot draw (paths, free text, unbounded numbers) keep their
    defaults unless ``fixed`` gives them a value. Cross-field rules (``dwell_s < window_s``) are
    not known here: some drawn configs are rightly rejected, and the caller filters them.

    Args:
        kinds: For a tagged section (``camera``, ``player``), the kinds to draw from; default all.
        fixed: Values by dotted key (``camera.path``) that are always set.
        skip: Dotted keys never drawn (their defaults stand).
    """
    from hypothesis import strategies as st

    kinds = kinds or {}
    fixed = fixed or {}
    skipped = frozenset(skip)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in _struct(Config).fields:
        name = field.name
        structs = [member for member in _members(field.type) if isinstance(member, mi.StructType)]
        strategy: st.SearchStrategy[Any] | None = None
        if len(structs) > 1:  # a tagged union: each kind with its own fields
            options = []
            for member in structs:
                tag = member.tag
                if name in kinds and tag not in kinds[name]:
                    continue
                tag_key = f"{name}.{member.tag_field}"
                options.append(_model_strategy(member, f"{name}.", {**fixed, tag_key: tag}, skipped))
            strategy = st.one_of(options) if options else None
        elif structs:
            strategy = _model_strategy(structs[0], f"{name}.", fixed, skipped)
        if strategy is None:
            continue
        # A section the caller pins (a kind, a fixed key) is always present; others sometimes absent.
        pinned = name in kinds or any(key.startswith(f"{name}.") for key in fixed)
        (required if pinned else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def unbounded_fields(model: type[msgspec.Struct] = Config, prefix: str = "") -> list[str]:
    """Dotted keys of every ``int``/``float`` field without both a lower and an upper bound."""
    found: list[str] = []
    for field in _struct(model).fields:
        members = [m for m in _members(field.type) if not isinstance(m, mi.NoneType)]
        for member in members:
            if isinstance(member, mi.StructType):
                found.extend(unbounded_fields(member.cls, f"{prefix}{field.name}."))
        numbers = [m for m in members if isinstance(m, mi.IntType | mi.FloatType)]
        if members and len(numbers) == len(members):  # int | str is a validator's
            bounds = [_bounds(number) for number in numbers]
            if any("min_value" not in b or "max_value" not in b for b in bounds):
                found.append(f"{prefix}{field.name}")
    return sorted(set(found))


def exercise(config: Config, images: Sequence[np.ndarray], ticks: int = 4, run_s: float = 0.05) -> int:
    """Build the daemon from ``config`` and run it a little; any exception is the caller's failure.

    1. ``build(config)`` makes every adapter (model, detector, smoother, policy, player, source);
    2. the configured frame source starts and must hand out a frame within 2 s, then stops;
    3. the core ticks ``ticks`` times on ``images`` (a replay source, a manual clock stepped at
       the configured analysis rate), with exceptions propagating instead of being logged;
    4. the core's own loop runs for ``run_s`` at the configured rate and must record no error.

    Returns:
        The number of frames analysed with a face found.
    """
    from soulsyncd.app import build

    core = build(config)
    try:
        source = core.source
        assert source is not None
        source.start()
        try:
            wait = getattr(source, "wait_latest", None)
            if wait is not None and wait(2.0) is None:
                raise AssertionError(f"the configured source gave no frame in 2 s: {config.camera}")
        finally:
            source.stop()
        clock = ManualClock()
        core.source = ReplaySource(list(images) * (ticks + 1), clock)
        for _ in range(ticks):
            clock.advance(1.0 / config.analysis.fps)
            core.tick()
        stop = threading.Event()
        timer = threading.Timer(run_s, stop.set)
        timer.start()
        try:
            core.run(stop)  # closes the core when it returns
        finally:
            timer.cancel()
    finally:
        core.close()  # again, harmless, for the paths that did not reach run()
    error = core.latest().last_error
    if error is not None:
        raise AssertionError(f"the core's loop failed: {error}")
    return core.stats.frames_with_face
