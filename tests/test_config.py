"""Tests for soulsyncd.config: loading, validation messages with lines, secrets, path resolution."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import msgspec.inspect as mi
import pytest

from soulsyncd.config import (
    EXIT_CONFIG,
    Config,
    ConfigError,
    DryRunPlayerConfig,
    FileCameraConfig,
    UsbCameraConfig,
    load_config,
    parse_config,
    read_secret,
)
from soulsyncd.config.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from soulsyncd.vision.classifier import DEFAULT_MODEL_PATH

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def write(tmp_path: Path, text: str, name: str = "soulsync.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.errors


# --- defaults and bundled files ---------------------------------------------------------------------


def test_empty_file_gives_all_defaults(tmp_path: Path) -> None:
    """An empty file (or only comments) is a valid config with every default."""
    assert load_config(write(tmp_path, "")) == Config()
    assert load_config(write(tmp_path, "# nothing yet\n")) == Config()


def test_defaults_are_usb_camera_and_dry_run_player() -> None:
    """The default camera is the usb camera and the default player the dry-run player."""
    config = Config()
    assert isinstance(config.camera, UsbCameraConfig)
    assert config.camera.device == 0
    assert isinstance(config.player, DryRunPlayerConfig)
    assert config.player.min_interval_s == 5.0
    assert config.model.path == DEFAULT_MODEL_PATH
    assert config.policy.target == "calm"


def test_section_with_everything_commented_out_means_defaults(tmp_path: Path) -> None:
    """`camera:` with no keys under it (null) is treated as an absent section."""
    assert load_config(write(tmp_path, "camera:\n  # kind: usb\n")) == Config()


def test_config_is_frozen() -> None:
    """Config values can't be changed after loading (threads share them)."""
    config = Config()
    with pytest.raises(AttributeError, match="immutable type: 'AnalysisConfig'"):
        config.analysis.fps = 1.0  # type: ignore[misc]


def test_exit_config_is_ex_config() -> None:
    """The exit status for a bad config is sysexits' EX_CONFIG."""
    assert EXIT_CONFIG == 78


def _structs(kind: mi.Type) -> list[mi.StructType]:
    """The structs a field's type holds: itself, a union's members, a dict's values."""
    while isinstance(kind, mi.Metadata):
        kind = kind.type
    if isinstance(kind, mi.StructType):
        return [kind]
    if isinstance(kind, mi.UnionType):
        return [struct for member in kind.types for struct in _structs(member)]
    if isinstance(kind, mi.DictType):
        return _structs(kind.value_type)
    return []


def _keys(struct: mi.StructType) -> list[tuple[str, mi.Type | None]]:
    """A struct's keys in the file: its fields and its tag (``kind``), if it has one."""
    tag = [(struct.tag_field, None)] if struct.tag_field else []
    return [*tag, *((field.name, field.type) for field in struct.fields)]


def _field_names(model: type[msgspec.Struct]) -> Iterator[str]:
    """Every key of a section and its nested sections, every member of a union included."""
    struct = mi.type_info(model)
    assert isinstance(struct, mi.StructType)
    for name, kind in _keys(struct):
        yield name
        for member in _structs(kind) if kind is not None else []:
            yield from _field_names(member.cls)


def test_example_config_loads_and_equals_the_defaults() -> None:
    """config/soulsync.example.yaml is valid and its active values are exactly the defaults."""
    assert load_config(CONFIG_DIR / "soulsync.example.yaml") == Config()


def test_example_config_mentions_every_field() -> None:
    """Every field of the schema, every camera kind's too, appears as a key (maybe commented out)."""
    text = (CONFIG_DIR / "soulsync.example.yaml").read_text(encoding="utf-8")
    keys = set(re.findall(r"^[ \t]*(?:#[ \t]*)?([a-z_]+):", text, flags=re.MULTILINE))
    names = set(_field_names(Config))
    assert {"device", "loop", "pace", "retry_max_s", "min_interval_s"} <= names  # the walk reaches unions
    assert names - keys == set()


def test_example_config_shows_every_camera_kind() -> None:
    """The example has usb active and the picamera2 and file kinds commented out."""
    text = (CONFIG_DIR / "soulsync.example.yaml").read_text(encoding="utf-8")
    assert re.search(r"^  kind: usb\b", text, flags=re.MULTILINE)
    assert re.search(r"^#   kind: picamera2\b", text, flags=re.MULTILINE)
    assert re.search(r"^#   kind: file\b", text, flags=re.MULTILINE)


def test_demo_config_loads_with_a_file_camera_and_a_shift_policy() -> None:
    """config/demo.yaml needs no hardware: file camera on the rendered sample, dry-run player."""
    config = load_config(CONFIG_DIR / "demo.yaml")
    assert isinstance(config.camera, FileCameraConfig)
    assert config.camera.path == CONFIG_DIR.parent / "build" / "demo" / "sample.avi"
    assert config.camera.loop is False
    assert config.camera.pace == "realtime"
    assert isinstance(config.player, DryRunPlayerConfig)
    assert config.player.min_interval_s == 5.0
    assert (config.policy.mode, config.policy.target) == ("shift", "happy")
    assert config.policy.step == 0.2
    assert isinstance(config.player, DryRunPlayerConfig)
    assert config.player.track_s == 8.0
    assert config.engine.import_csv == CONFIG_DIR / "sample_catalog.csv"
    assert config.state.dir == CONFIG_DIR.parent / "build" / "demo" / "state"
    assert config.analysis == Config().analysis
    assert config.smoothing == Config().smoothing


# --- valid values -----------------------------------------------------------------------------------


def test_file_camera_and_other_sections_load(tmp_path: Path) -> None:
    """A config choosing other kinds and values loads into the matching models."""
    path = write(
        tmp_path,
        "camera:\n  kind: file\n  path: /videos/a.mp4\n  pace: fast\n  fps: 12\n"
        "analysis:\n  faces: all\n  fps: 10\n"
        "logging:\n  level: debug\n",
    )
    config = load_config(path)
    assert config.camera == FileCameraConfig(path=Path("/videos/a.mp4"), pace="fast", fps=12.0)
    assert config.analysis.faces == "all"
    assert config.logging.level == "debug"


def test_usb_device_accepts_index_path_and_quoted_index(tmp_path: Path) -> None:
    """camera.device is an index or a device path; a quoted number still means the index."""

    def camera(device: str) -> object:
        return load_config(write(tmp_path, f"camera:\n  kind: usb\n  device: {device}\n")).camera

    assert camera("2") == UsbCameraConfig(device=2)
    assert camera("/dev/video1") == UsbCameraConfig(device="/dev/video1")
    assert camera("'1'") == UsbCameraConfig(device=1)


def test_relative_paths_resolve_against_the_config_file_directory(tmp_path: Path) -> None:
    """camera.path and model.path relative to the YAML file's folder, not the working directory."""
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(folder, "camera:\n  kind: file\n  path: ../clips/a.avi\nmodel:\n  path: models/m.tflite\n")
    config = load_config(path)
    assert isinstance(config.camera, FileCameraConfig)
    assert config.camera.path == tmp_path / "clips" / "a.avi"
    assert config.model.path == folder / "models" / "m.tflite"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    """An absolute path is used as written."""
    config = load_config(write(tmp_path, "model:\n  path: /opt/m.tflite\n"))
    assert config.model.path == Path("/opt/m.tflite")


def test_relative_path_of_a_relative_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config file named by a relative path still anchors paths at its own folder (made absolute)."""
    write(tmp_path, "model:\n  path: m.tflite\n")
    monkeypatch.chdir(tmp_path)
    assert load_config("soulsync.yaml").model.path == tmp_path / "m.tflite"


# --- error messages ---------------------------------------------------------------------------------


def test_unknown_key_names_path_line_and_close_match(tmp_path: Path) -> None:
    """An unknown key is reported with its dotted path, its line and a did-you-mean hint."""
    path = write(tmp_path, "analysis:\n  faces: all\n  fsp: 3\n")
    assert errors_of(path) == [f"{path}:3: analysis.fsp: unknown key (did you mean 'fps'?)"]


def test_unknown_key_without_close_match_has_no_hint(tmp_path: Path) -> None:
    """With no similar known key, the message is just 'unknown key'."""
    path = write(tmp_path, "detection:\n  zzz: 1\n")
    assert errors_of(path) == [f"{path}:2: detection.zzz: unknown key"]


def test_unknown_top_level_section(tmp_path: Path) -> None:
    """An unknown section is suggested against the section names."""
    path = write(tmp_path, "analysis: {}\nsmoothng:\n  window_s: 4\n")
    assert errors_of(path) == [f"{path}:2: smoothng: unknown key (did you mean 'smoothing'?)"]


def test_unknown_key_in_a_camera_kind_uses_that_kinds_fields(tmp_path: Path) -> None:
    """Inside a discriminated union the path has no tag and the hint comes from that kind's fields."""
    path = write(tmp_path, "camera:\n  kind: file\n  path: a.avi\n  lop: false\n")
    assert errors_of(path) == [f"{path}:4: camera.lop: unknown key (did you mean 'loop'?)"]


def test_wrong_type_names_path_line_and_value(tmp_path: Path) -> None:
    """A value of the wrong type is reported at its key's line with the value given."""
    path = write(tmp_path, "detection:\n  scale_factor: 1.2\n  min_neighbors: lots\n")
    assert errors_of(path) == [
        f"{path}:3: detection.min_neighbors: expected an integer, got 'lots'"
    ]


def test_section_of_the_wrong_type(tmp_path: Path) -> None:
    """A section that isn't a mapping is reported at the section."""
    path = write(tmp_path, "logging: loud\n")
    assert errors_of(path) == [
        f"{path}:1: logging: expected a mapping, got 'loud'"
    ]


def test_bad_enum_value_lists_the_choices(tmp_path: Path) -> None:
    """A value outside a Literal's choices names the choices and the value."""
    path = write(tmp_path, "analysis:\n  faces: some\n")
    assert errors_of(path) == [f"{path}:2: analysis.faces: expected one of 'largest', 'all', got 'some'"]


def test_out_of_range_value(tmp_path: Path) -> None:
    """A bound (analysis.fps <= 60) is reported with the value."""
    path = write(tmp_path, "analysis:\n  fps: 61\n")
    assert errors_of(path) == [f"{path}:2: analysis.fps: must be at most 60, got 61"]


def test_bad_camera_kind_lists_the_kinds(tmp_path: Path) -> None:
    """An unknown camera.kind points at the kind line and lists the valid kinds."""
    path = write(tmp_path, "camera:\n  kind: webcam\n")
    assert errors_of(path) == [
        f"{path}:2: camera.kind: unknown kind 'webcam'; expected one of 'usb', 'picamera2', 'file'"
    ]


def test_bad_camera_kind_suggests_a_close_one(tmp_path: Path) -> None:
    """A near-miss kind gets a did-you-mean hint."""
    path = write(tmp_path, "camera:\n  kind: picamera\n")
    assert errors_of(path) == [
        f"{path}:2: camera.kind: unknown kind 'picamera' (did you mean 'picamera2'?); "
        "expected one of 'usb', 'picamera2', 'file'"
    ]


def test_missing_camera_kind(tmp_path: Path) -> None:
    """A camera section without kind says kind is missing, at the section's line."""
    path = write(tmp_path, "analysis:\n  fps: 5\ncamera:\n  device: 1\n")
    assert errors_of(path) == [f"{path}:3: camera.kind: missing; expected one of 'usb', 'picamera2', 'file'"]


def test_bad_player_kind(tmp_path: Path) -> None:
    """player is a discriminated union too."""
    path = write(tmp_path, "player:\n  kind: sonos\n")
    assert errors_of(path) == [
        f"{path}:2: player.kind: unknown kind 'sonos'; expected one of 'dry-run', 'spotify'"
    ]


def test_file_camera_without_path(tmp_path: Path) -> None:
    """The file camera requires path; the error points at the camera section."""
    path = write(tmp_path, "camera:\n  kind: file\n  loop: false\n")
    assert errors_of(path) == [f"{path}:1: camera.path: required, but not set"]


def test_dwell_must_be_shorter_than_window(tmp_path: Path) -> None:
    """smoothing.dwell_s >= window_s is rejected at dwell_s's line."""
    path = write(tmp_path, "smoothing:\n  window_s: 2\n  dwell_s: 2\n")
    assert errors_of(path) == [f"{path}:3: smoothing.dwell_s: must be less than window_s (2), got 2"]


def test_default_dwell_is_checked_against_a_short_window(tmp_path: Path) -> None:
    """The cross-field rule also holds when dwell_s is left at its default."""
    path = write(tmp_path, "smoothing:\n  window_s: 0.5\n")
    assert errors_of(path) == [f"{path}:1: smoothing.dwell_s: must be less than window_s (0.5), got 1"]


def test_retry_max_must_not_be_below_retry_initial(tmp_path: Path) -> None:
    """camera.retry_max_s < retry_initial_s is rejected, for every camera kind."""
    path = write(tmp_path, "camera:\n  kind: picamera2\n  retry_initial_s: 5\n  retry_max_s: 2\n")
    assert errors_of(path) == [f"{path}:4: camera.retry_max_s: must be >= retry_initial_s (5), got 2"]


def test_unknown_policy_target_lists_the_targets(tmp_path: Path) -> None:
    """policy.target must be a mood of the engine's map or a point; the message lists them and
    suggests a close one."""
    path = write(tmp_path, "policy:\n  mode: shift\n  target: hapy\n")
    assert errors_of(path) == [
        f"{path}:3: policy.target: unknown target 'hapy' (did you mean 'happy'?); "
        "expected one of 'happy', 'surprise', 'energetic', 'calm', 'neutral', 'sad', 'fear', 'angry', "
        "'disgust' or 'valence,energy' in [0, 1]"
    ]


def test_policy_target_may_be_an_explicit_point(tmp_path: Path) -> None:
    path = write(tmp_path, "policy:\n  mode: shift\n  target: '0.8,0.6'\n")
    assert load_config(path).policy.target == "0.8,0.6"
    bad = write(tmp_path, "policy:\n  target: '1.8,0.6'\n")
    assert "policy.target: unknown target" in errors_of(bad)[0]


def test_all_errors_are_reported_in_line_order(tmp_path: Path) -> None:
    """Several mistakes give one message each, sorted by line; str() joins them with newlines."""
    path = write(tmp_path, "logging:\n  level: loud\nanalysis:\n  faces: some\n  fsp: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == [
        f"{path}:2: logging.level: expected one of 'debug', 'info', 'warning', 'error', got 'loud'",
        f"{path}:4: analysis.faces: expected one of 'largest', 'all', got 'some'",
        f"{path}:5: analysis.fsp: unknown key (did you mean 'fps'?)",
    ]
    assert str(info.value) == "\n".join(info.value.errors)


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    """A key given twice in one mapping is reported (YAML would silently keep the last)."""
    path = write(tmp_path, "logging:\n  level: info\n  level: debug\n")
    assert errors_of(path) == [
        f"{path}:3: logging.level: duplicate key (also on line 2; only the last one would count)"
    ]


def test_non_string_key(tmp_path: Path) -> None:
    """A key YAML reads as a number is reported as such."""
    path = write(tmp_path, "analysis:\n  1: 2\n")
    assert errors_of(path) == [f"{path}:2: analysis.1: keys must be strings"]


# --- file-level errors ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError naming the file, without a line."""
    path = tmp_path / "nope.yaml"
    assert errors_of(path) == [f"{path}: cannot read config file: No such file or directory"]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    """Broken YAML is a ConfigError at the line the parser stopped."""
    path = write(tmp_path, "camera:\n  kind: usb\n  device: 1\n   fps: 3\n")
    assert errors_of(path) == [f"{path}:4: invalid YAML: mapping values are not allowed here"]


def test_yaml_syntax_error_with_context(tmp_path: Path) -> None:
    """An unclosed flow mapping reports the parser's context and the line of the problem."""
    path = write(tmp_path, "analysis: {fps: 5\nlogging:\n  level: info\n")
    (message,) = errors_of(path)
    assert message.startswith(f"{path}:2: invalid YAML: while parsing a flow mapping")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    """A list at the top level is rejected, naming what was found."""
    path = write(tmp_path, "- camera\n- player\n")
    assert errors_of(path) == [f"{path}:1: the top level must be a mapping of sections, got a list"]


def test_top_level_scalar(tmp_path: Path) -> None:
    """A bare word at the top level is rejected too."""
    path = write(tmp_path, "hello\n")
    assert errors_of(path) == [f"{path}:1: the top level must be a mapping of sections, got a str"]


# --- secrets ----------------------------------------------------------------------------------------

SECRET_ADVICE = (
    "looks like a secret, and secrets must not be in the config file: remove it and provide it "
    "through a SOULSYNC_* environment variable or a systemd credential (LoadCredential=) instead"
)


def test_secret_key_in_a_section_points_to_environment_or_credential(tmp_path: Path) -> None:
    """A secret-looking key is rejected with advice instead of a plain 'unknown key'."""
    path = write(tmp_path, "player:\n  kind: dry-run\n  client_secret: abc123\n")
    assert errors_of(path) == [f"{path}:3: player.client_secret: {SECRET_ADVICE}"]


@pytest.mark.parametrize(
    "key", ["password", "mqtt_password", "token", "refresh-token", "api_key", "API_KEY", "secret"]
)
def test_secret_looking_names_are_caught_anywhere(tmp_path: Path, key: str) -> None:
    """Secret-looking names are caught at any depth, even under an unknown section."""
    path = write(tmp_path, f"mqtt:\n  host: localhost\n  auth:\n    {key}: hunter2\n")
    errors = errors_of(path)
    assert f"{path}:4: mqtt.auth.{key}: {SECRET_ADVICE}" in errors
    assert all("hunter2" not in error for error in errors)


def test_secret_key_is_reported_even_when_its_section_is_otherwise_invalid(tmp_path: Path) -> None:
    """A secret under a player kind that doesn't exist is still called out."""
    path = write(tmp_path, "player:\n  kind: sonos\n  token: xyz\n")
    assert errors_of(path) == [
        f"{path}:2: player.kind: unknown kind 'sonos'; expected one of 'dry-run', 'spotify'",
        f"{path}:3: player.token: {SECRET_ADVICE}",
    ]


def test_read_secret_prefers_the_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """read_secret reads $CREDENTIALS_DIRECTORY/<name> first, trailing newline stripped."""
    (tmp_path / "spotify-client-secret").write_text("from-credential\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("SOULSYNC_SPOTIFY_CLIENT_SECRET", "from-env")
    assert read_secret("spotify-client-secret") == "from-credential"


def test_read_secret_falls_back_to_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a credential file, SOULSYNC_<NAME> (upper-case, '-' as '_') is used."""
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))  # present but without this credential
    monkeypatch.setenv("SOULSYNC_MQTT_PASSWORD", "from-env")
    assert read_secret("mqtt-password") == "from-env"
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert read_secret("mqtt-password") == "from-env"


def test_read_secret_is_none_when_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credential and no variable (or an empty one) gives None."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("SOULSYNC_NOT_SET_ANYWHERE", raising=False)
    assert read_secret("not-set-anywhere") is None
    monkeypatch.setenv("SOULSYNC_NOT_SET_ANYWHERE", "")
    assert read_secret("not-set-anywhere") is None


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a/b", ".hidden"])
def test_read_secret_rejects_names_that_are_paths(name: str) -> None:
    """A secret name is a plain file name; anything that could leave the credentials folder is refused."""
    with pytest.raises(ValueError, match="invalid secret name"):
        read_secret(name)


def _dotted_keys(model: type[msgspec.Struct], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every leaf key (``camera.device``), every union member included."""
    struct = mi.type_info(model)
    assert isinstance(struct, mi.StructType)
    for name, kind in _keys(struct):
        nested = _structs(kind) if kind is not None else []
        if nested:
            for member in nested:
                yield from _dotted_keys(member.cls, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def test_readme_documents_every_config_key() -> None:
    """The README's configuration tables, or a page under docs/ it links to, name every key
    (``camera.width``, ``policy.target``, ...)."""
    pages = [CONFIG_DIR.parent / "README.md", *sorted((CONFIG_DIR.parent / "docs").glob("*.md"))]
    readme = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    documented = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", readme))  # music.playlists.uris too
    keys = set(_dotted_keys(Config))
    assert "camera.path" in keys
    assert keys - documented == set()


# --- mood/settings.py's own rules (mutmut makes no mutants of decorated validators: these pin them) ---


def test_engine_max_distance_may_not_be_inside_the_region(tmp_path: Path) -> None:
    path = write(tmp_path, "engine:\n  radius: 0.3\n  max_distance: 0.25\n")
    assert errors_of(path) == [f"{path}:3: engine.max_distance: must be >= radius (0.3), got 0.25"]
    equal = write(tmp_path, "engine:\n  radius: 0.3\n  max_distance: 0.3\n")
    assert load_config(equal).engine.max_distance == 0.3


def test_engine_emotion_points_name_known_moods_inside_the_unit_square(tmp_path: Path) -> None:
    unknown = write(tmp_path, "engine:\n  emotion_points:\n    hapy: [0.9, 0.75]\n")
    [message] = errors_of(unknown)
    assert message.startswith(f"{unknown}:")
    assert message.endswith(
        "engine.emotion_points: unknown mood 'hapy' (did you mean 'happy'?); expected one of happy, "
        "surprise, energetic, calm, neutral, sad, fear, angry, disgust")
    outside = write(tmp_path, "engine:\n  emotion_points:\n    happy: [1.2, 0.75]\n")
    [message] = errors_of(outside)
    assert message.endswith(
        "engine.emotion_points: happy: valence and energy must be in [0, 1], got [1.2, 0.75]")
    for point in ("[0.5, 1.5]", "[-0.1, 0.5]", "[0.5, -0.1]"):  # each bound on its own
        [message] = errors_of(write(tmp_path, f"engine:\n  emotion_points:\n    calm: {point}\n"))
        assert "engine.emotion_points: calm: valence and energy must be in [0, 1]" in message, point
    corners = write(tmp_path, "engine:\n  emotion_points:\n    happy: [1, 1]\n    sad: [0, 0]\n")
    assert load_config(corners).engine.emotion_points == {"happy": (1.0, 1.0), "sad": (0.0, 0.0)}


# --- hostile and odd files, message by message (mutation round, issue 17 item 6) -------------------
# tests/test_config_fuzz.py throws thousands of files at the loader; these pin each refusal's words,
# its line and both sides of each limit, and are fast enough to run once per mutant.


def _nested(levels: int, inner: str) -> str:
    return "[" * levels + inner + "]" * levels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Brackets: 50 levels are read, the 51st is refused where it starts.
        ("x: 1\ny: " + _nested(MAX_DEPTH, "1") + "\n",
         f"F:2: refused: collections nested more than {MAX_DEPTH} deep"),  # 50 lists and a value: too deep
        (_nested(MAX_DEPTH - 1, "1"), "F:1: the top level must be a mapping of sections, got a list"),
        ("x: 1\ny: " + _nested(MAX_DEPTH + 1, "1") + "\n",
         f"F:2: refused: brackets nested more than {MAX_DEPTH} deep"),
        # Block nesting: 50 nodes deep are composed, the 51st is refused at its line.
        ("- " * (MAX_DEPTH - 1) + "x\n", "F:1: the top level must be a mapping of sections, got a list"),
        ("- " * MAX_DEPTH + "x\n", f"F:1: refused: collections nested more than {MAX_DEPTH} deep"),
        ("x: 1\ny:\n" + "".join("  " * i + "- \n" for i in range(MAX_DEPTH)) + "  " * MAX_DEPTH + "- x\n",
         f"F:{MAX_DEPTH + 2}: refused: collections nested more than {MAX_DEPTH} deep"),
        # A constructor's own error names the tag (the last part of it) and, for a ValueError, why.
        ("x: 1\na: !!float x\n",
         "F:2: invalid YAML: 'x' is not a valid !!float (could not convert string to float: 'x')"),
        ("x: 1\na: !!bool maybe\n", "F:2: invalid YAML: 'maybe' is not a valid !!bool"),
        ("a: !!int " + "9" * 5000 + "\n",
         "F:1: invalid YAML: '99999999999999999999999999999999999999999999999999999999... is not a valid "
         "!!int (Exceeds the limit (4300 digits) for integer string conver...)"),
        ("x: 1\nb: \x07\n", "F:2: invalid YAML: character #x0007 is not allowed (control character?)"),
        ("x: 1\n\nb: \x00\n", "F:3: invalid YAML: character #x0000 is not allowed (control character?)"),
        # Aliases: a cycle is refused; a mapping reached twice is not a cycle.
        ("x: 1\na: &a [1, [*a]]\n", "F:2: refused: an alias refers to a collection that contains it"),
    ],
)
def test_hostile_yaml_is_refused_with_its_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert [error.replace(str(path), "F") for error in errors_of(path)] == [expected]


def test_a_mapping_reached_through_an_alias_twice_is_no_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "x: &m {a: 1}\ny: *m\nz: [*m, *m]\n")
    assert errors_of(path) == [f"{path}:1: x: unknown key", f"{path}:2: y: unknown key",
                               f"{path}:3: z: unknown key"]
    path = write(tmp_path, "camera: {kind: usb, retry_initial_s: &r 4, retry_max_s: *r}\n")
    camera = load_config(path).camera
    assert (camera.retry_initial_s, camera.retry_max_s) == (4, 4)


def _list_of(count: int) -> str:
    return "[" + ", ".join(["1"] * count) + "]"


def test_a_document_of_2500_nodes_is_read_and_one_more_is_refused(tmp_path: Path) -> None:
    # A mapping, its key, a list and its items: 3 + items nodes.
    path = write(tmp_path, "x: " + _list_of(MAX_NODES - 3) + "\n")
    assert errors_of(path) == [f"{path}:1: x: unknown key"]
    path = write(tmp_path, "x: " + _list_of(MAX_NODES - 2) + "\n")
    assert errors_of(path) == [f"{path}:1: refused: more than {MAX_NODES} values, keys and collections"]


EXPANDED = f"refused: more than {MAX_NODES} values, keys and collections once its aliases are expanded"


def test_aliases_are_counted_as_expanded_up_to_2500_nodes(tmp_path: Path) -> None:
    # Expanded: the mapping, two keys, the anchored list (1 + n) and a list of two copies (1 + 2 (1 + n)).
    items = (MAX_NODES - 7) // 3
    assert 3 * items + 7 == MAX_NODES
    path = write(tmp_path, "a: &a " + _list_of(items) + "\nb: [*a, *a]\n")
    assert errors_of(path) == [f"{path}:1: a: unknown key", f"{path}:2: b: unknown key"]
    path = write(tmp_path, "a: &a " + _list_of(items) + "\nb: [*a, *a, 1]\n")
    assert errors_of(path) == [f"{path}:1: {EXPANDED}"]
    # Where a collection alone is too big, its line is given.
    path = write(tmp_path, "x: 1\na: &a " + _list_of(items) + "\nb: [*a, *a, *a, *a]\n")
    assert errors_of(path) == [f"{path}:3: {EXPANDED}"]


def test_aliases_may_nest_collections_50_deep_and_no_deeper(tmp_path: Path) -> None:
    # The anchored value is 31 deep (30 lists and the scalar); each list around the alias adds one,
    # and the top-level mapping one more.
    anchored = "a: &a " + _nested(30, "1") + "\n"
    path = write(tmp_path, anchored + "b: " + _nested(MAX_DEPTH - 32, "*a") + "\n")
    assert errors_of(path) == [f"{path}:1: a: unknown key", f"{path}:2: b: unknown key"]
    path = write(tmp_path, anchored + "b: " + _nested(MAX_DEPTH - 31, "*a") + "\n")
    assert errors_of(path) == [f"{path}:1: refused: aliases nest collections more than {MAX_DEPTH} deep"]
    path = write(tmp_path, "x: 1\n" + anchored + "b: " + _nested(MAX_DEPTH - 30, "*a") + "\n")
    assert errors_of(path) == [f"{path}:3: refused: aliases nest collections more than {MAX_DEPTH} deep"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Items of a list are named by their index, at their own line.
        ("web:\n  hosts:\n    - a\n    - 7\n", "F:4: web.hosts[1]: expected a string, got 7"),
        ("web:\n  hosts: [7, a]\n", "F:2: web.hosts[0]: expected a string, got 7"),
        ("music:\n  playlists:\n    calm:\n      uris:\n        - spotify:playlist:a\n        - 5\n",
         "F:6: music.playlists.calm.uris[1]: expected a string, got 5"),
        # The shorthand (a list for uris:) is reported as written: no "uris" in the path.
        ("music:\n  playlists:\n    calm: [a,\n      5]\n",
         "F:4: music.playlists.calm[1]: expected a string, got 5"),
        ("music:\n  playlists:\n    calm:\n      - a\n      - [b]\n",
         "F:5: music.playlists.calm[1]: expected a string, got a list"),
        # Keys YAML reads as numbers, at any depth.
        ("1: x\n", "F:1: 1: keys must be strings"),
        ("music:\n  playlists:\n    calm:\n      1: 2\n",
         "F:4: music.playlists.calm.1: keys must be strings"),
        # A value that is not a plain scalar is not quoted back; a null is.
        ("logging: [a]\n", "F:1: logging: expected a mapping, got a list"),
        ("analysis:\n  fps: null\n", "F:2: analysis.fps: expected a number, got None"),
        # A validator's message is cut at 300 characters.
        ("music:\n  playlists:\n    " + "t" * 400 + ": [a]\n", "F:2: music.playlists: '" + "t" * 296 + "..."),
    ],
)
def test_each_problem_names_its_path_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert [error.replace(str(path), "F") for error in errors_of(path)] == [expected]


def test_an_unknown_key_inside_a_playlist_names_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, "music:\n  playlists:\n    calm:\n      uris: [a]\n      valense: 0.5\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:5: music.playlists.calm.valense: unknown key")


def test_long_keys_are_cut_to_60_characters(tmp_path: Path) -> None:
    path = write(tmp_path, "analysis:\n  " + "k" * 60 + ": 1\n  " + "q" * 61 + ": 2\n")
    assert errors_of(path) == [f"{path}:2: analysis.{'k' * 60}: unknown key",
                               f"{path}:3: analysis.{'q' * 57}...: unknown key"]


def _close_to_fps(n: int) -> str:
    return "fps" + chr(ord("a") + n // 10) + chr(ord("a") + n % 10)  # fpsaa, fpsab, ... fpsjj


def test_up_to_100_problems_are_listed_with_hints_and_the_rest_counted(tmp_path: Path) -> None:
    hundred = "analysis:\n" + "".join(f"  {_close_to_fps(n)}: 1\n" for n in range(100))
    path = write(tmp_path, hundred)
    errors = errors_of(path)
    assert len(errors) == 100
    assert errors[0] == f"{path}:2: analysis.fpsaa: unknown key (did you mean 'fps'?)"
    assert errors[-1] == f"{path}:101: analysis.fpsjj: unknown key (did you mean 'fps'?)"
    path = write(tmp_path, hundred + "  fpskk: 1\n  fpskl: 1\n")
    errors = errors_of(path)
    assert len(errors) == 101
    assert errors[0] == f"{path}:2: analysis.fpsaa: unknown key"  # too many for hints
    assert errors[99] == f"{path}:101: analysis.fpsjj: unknown key"
    assert errors[100] == f"{path}: ... and 2 more problems"


def test_a_file_of_up_to_a_megabyte_is_read(tmp_path: Path) -> None:
    comment = "# " + "x" * (MAX_FILE_BYTES - 3) + "\n"
    assert len(comment.encode()) == MAX_FILE_BYTES
    assert load_config(write(tmp_path, comment)) == Config()
    path = write(tmp_path, "#" + comment)
    assert errors_of(path) == [f"{path}: cannot read config file: larger than 1000 kB, not a config file?"]


def test_files_that_are_not_config_files(tmp_path: Path) -> None:
    assert errors_of(tmp_path) == [f"{tmp_path}: cannot read config file: it is a directory"]
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert errors_of(fifo) == [f"{fifo}: cannot read config file: not a regular file"]
    nul = tmp_path / "a\0b.yaml"
    assert errors_of(nul) == [f"{nul}: cannot read config file: a NUL byte in the path"]
    path = tmp_path / "bytes.yaml"
    path.write_bytes(b"analysis:\n  fps: 5\n  faces: \xff\n")
    assert errors_of(path) == [f"{path}:3: cannot read config file: not UTF-8 text (invalid start byte)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Within one section the first wrong value in the file's order is reported (msgspec stops there).
        ("analysis: {faces: some, fps: 100}\n",
         ["F:1: analysis.faces: expected one of 'largest', 'all', got 'some'"]),
        ("analysis: {fps: 100, faces: some}\n", ["F:1: analysis.fps: must be at most 60, got 100"]),
        # A secret is reported as one, and the problems after it are still reported.
        ("analysis:\n  token: x\nlogging:\n  level: loud\n",
         [f"F:2: analysis.token: {SECRET_ADVICE}",
          "F:4: logging.level: expected one of 'debug', 'info', 'warning', 'error', got 'loud'"]),
        ("mqtt:\n  api-key: x\n", [f"F:2: mqtt.api-key: {SECRET_ADVICE}"]),  # '-' read as '_'
        # The parser's context and its problem, both.
        ("analysis: {fps: 5\nlogging:\n  level: info\n",
         ["F:2: invalid YAML: while parsing a flow mapping; expected ',' or '}', but got ':'"]),
        # Each mapping is checked once however many aliases reach it, and the walk goes on after them.
        ("a: &a {x: 1, x: 2}\nb: *a\nc: [*a, *a]\nd: {y: 1, y: 2}\n",
         ["F:1: a.x: duplicate key (also on line 1; only the last one would count)",
          "F:1: a: unknown key", "F:2: b: unknown key", "F:3: c: unknown key",
          "F:4: d.y: duplicate key (also on line 4; only the last one would count)", "F:4: d: unknown key"]),
        # Lines are counted from the very first character.
        ("\nx: 1\nb: \x07\n", ["F:3: invalid YAML: character #x0007 is not allowed (control character?)"]),
    ],
)
def test_problems_in_order_and_in_full(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    assert [error.replace(str(path), "F") for error in errors_of(path)] == expected


def test_the_last_byte_of_a_megabyte_file_is_read(tmp_path: Path) -> None:
    setting = "\nanalysis: {fps: 7}"  # no newline at the end: a byte less would break it
    text = "#" * (MAX_FILE_BYTES - len(setting)) + setting
    assert len(text.encode()) == MAX_FILE_BYTES
    assert load_config(write(tmp_path, text)).analysis.fps == 7


def test_a_byte_that_is_not_utf8_is_found_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bytes.yaml"
    path.write_bytes(b"\nanalysis:\n  fps: 5\n  faces: \xff\n# after\n")
    assert errors_of(path) == [f"{path}:4: cannot read config file: not UTF-8 text (invalid start byte)"]


def test_too_many_nodes_is_said_as_such_even_at_the_deepest_level_allowed(tmp_path: Path) -> None:
    # 48 lists: their items sit exactly 50 deep; the 2,501st node is one of them.
    items = MAX_NODES + 1 - 50
    path = write(tmp_path, "x: [" + "[" * 47 + ", ".join(["1"] * items) + "]" * 48 + "\n")
    assert errors_of(path) == [f"{path}:1: refused: more than {MAX_NODES} values, keys and collections"]


def test_depth_is_counted_again_for_each_item_not_from_the_previous_one(tmp_path: Path) -> None:
    # The list's second item nests 48 lists: with the mapping and the list, its value is 51 deep.
    path = write(tmp_path, "x:\n  - 1\n  - " + _nested(MAX_DEPTH - 3, "1") + "\n")
    assert errors_of(path) == [f"{path}:1: x: unknown key"]
    path = write(tmp_path, "x:\n  - 1\n  - " + _nested(MAX_DEPTH - 2, "1") + "\n")
    assert errors_of(path) == [f"{path}:3: refused: collections nested more than {MAX_DEPTH} deep"]


def test_an_anchor_inside_an_earlier_collection_is_no_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "a: [&m [1]]\nb: [*m]\n")
    assert errors_of(path) == [f"{path}:1: a: unknown key", f"{path}:2: b: unknown key"]


def test_the_first_item_of_a_block_list_is_found_on_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, "web:\n  hosts:\n    - 7\n    - a\n")
    assert errors_of(path) == [f"{path}:3: web.hosts[0]: expected a string, got 7"]


# --- parse_config: data to a Config, msgspec's errors said plainly ---------------------------------


def parse_errors(data: dict[object, object], base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base_dir)  # type: ignore[arg-type]
    return info.value.errors


def test_parse_config_validates_data_as_the_file_would_be(tmp_path: Path) -> None:
    """The one way to build a Config from data: types, bounds, rules and relative paths as in a file."""
    config = parse_config({"camera": {"kind": "file", "path": "clips/a.avi"}, "analysis": {"fps": "7"},
                           "logging": None}, tmp_path)
    assert config.camera == FileCameraConfig(path=tmp_path / "clips" / "a.avi")
    assert config.analysis.fps == 7.0  # a quoted number is still a number, as YAML users write it
    assert parse_config({"model": {"path": "m.tflite"}}).model.path == Path("m.tflite")  # no base: as given
    assert parse_errors({"analysis": {"fps": 0}}) == ["analysis.fps: must be at least 0.1, got 0"]


def test_every_section_reports_its_first_problem(tmp_path: Path) -> None:
    """Each section is converted on its own: a mistake in each of three sections gives three messages;
    within one section, only the first (in the file's order) is said."""
    path = write(tmp_path, "analysis:\n  fps: 0\n  faces: some\ndetection:\n  min_neighbors: x\n"
                           "web:\n  port: 0\n")
    assert errors_of(path) == [
        f"{path}:2: analysis.fps: must be at least 0.1, got 0",
        f"{path}:5: detection.min_neighbors: expected an integer, got 'x'",
        f"{path}:7: web.port: must be at least 1, got 0",
    ]


def test_infinity_and_nan_are_refused_where_no_bound_would(tmp_path: Path) -> None:
    """A float with no bounds of its own (an emotion point's items) refuses .inf and .nan too, and so
    does the text 'nan' that lax conversion would read as a number."""
    path = write(tmp_path, "engine:\n  emotion_points:\n    happy: [.inf, 0.5]\n")
    assert errors_of(path) == [f"{path}:3: engine.emotion_points.happy[0]: must be a finite number, got inf"]
    assert parse_errors({"smoothing": {"window_s": "nan"}}) == [
        "smoothing.window_s: must be a finite number, got 'nan'"]


def test_a_problem_inside_a_mapping_of_sections_names_its_key(tmp_path: Path) -> None:
    """msgspec names no key inside a dict (``$.emotion_points[...]``): the message still does."""
    path = write(tmp_path, "engine:\n  emotion_points:\n    sad: [0.1, 0.2]\n    happy: [0.5]\n")
    assert errors_of(path) == [f"{path}:4: engine.emotion_points.happy: must have exactly 2 items, got 1"]
    assert parse_errors({"music": {"playlists": {"calm": ["a"], "sad": {"uris": ["b"], "energy": 2}}}}) == [
        "music.playlists.sad.energy: must be at most 1, got 2"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"logging": {"level": None}},
         "logging.level: expected one of 'debug', 'info', 'warning', 'error', got None"),
        ({"mqtt": {"protocol": 5}}, "mqtt.protocol: expected one of '3.1.1', '5', got 5"),
        ({"web": {"listen": ""}}, "web.listen: must be at least 1 character long"),
        ({"web": {"hosts": ["a"] * 33}}, "web.hosts: must have at most 32 items, got 33"),
        ({"model": {"num_threads": 2.5}}, "model.num_threads: expected an integer, got 2.5"),
        ({"camera": {"kind": "file", "path": 5}}, "camera.path: expected a path, got 5"),
        ({"camera": {"kind": "file", "path": "a\0b"}}, "camera.path: a path cannot contain a NUL character"),
        ({"camera": {"kind": 5}}, "camera.kind: unknown kind 5; expected one of 'usb', 'picamera2', 'file'"),
        ({"camera": "usb"}, "camera: expected a mapping, got 'usb'"),
        ({"engine": {"weights": {"distance": -1}}}, "engine.weights.distance: must be at least 0, got -1"),
        ({"player": {"kind": "spotify"}},
         "player.client_id: required: the Client ID of your app at developer.spotify.com"),
        ({"music": {"playlists": {"calm": {"uris": ["a"], "valence": 0.5}}}},
         "music.playlists.calm: give both valence and energy, or neither"),
    ],
)
def test_msgspec_errors_are_said_plainly(data: dict[object, object], expected: str) -> None:
    assert parse_errors(data) == [expected]


# --- round four: validate.py's walk through unions, dict values and msgspec's own words -----------


def test_a_spotify_player_is_walked_with_its_own_fields(tmp_path: Path) -> None:
    """player is a union of two kinds: a spotify section's keys are that kind's, not the dry-run's."""
    path = write(tmp_path, "player:\n  kind: spotify\n  client_id: abc\n  switch: immediate\n")
    player = load_config(path).player
    assert (player.kind, player.client_id, player.switch) == ("spotify", "abc", "immediate")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A choice inside a kind of a union: the choices are that kind's field's (2 kinds, then 3).
        ("player:\n  kind: spotify\n  client_id: abc\n  switch: sometimes\n",
         "F:4: player.switch: expected one of 'boundary', 'immediate', got 'sometimes'"),
        ("camera:\n  kind: file\n  path: a.avi\n  pace: slow\n",
         "F:4: camera.pace: expected one of 'realtime', 'fast', got 'slow'"),
        ("camera:\n  kind: file\n  path: a.avi\n  pace: 2\n",
         "F:4: camera.pace: expected one of 'realtime', 'fast', got 2"),
        # A union of two types is said as both.
        ("camera:\n  kind: usb\n  device: [1]\n",
         "F:3: camera.device: expected an integer or a string, got a list"),
        # A string's maximum length, plural.
        ("mqtt:\n  ha_version: '" + "1" * 21 + "'\n",
         "F:2: mqtt.ha_version: must be at most 20 characters long"),
        # A message msgspec words in a way no rule here rewrites is passed on, its first letter lowered.
        ("analysis:\n  fps: 1" + "0" * 400 + "\n", "F:2: analysis.fps: number out of range"),
        # A value that holds msgspec's own " - at `" marker does not confuse the path.
        ("logging:\n  level: loud - at `x`\n",
         "F:2: logging.level: expected one of 'debug', 'info', 'warning', 'error', got 'loud - at `x`'"),
    ],
)
def test_msgspec_errors_inside_unions_and_odd_values(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert [error.replace(str(path), "F") for error in errors_of(path)] == [expected]


def test_the_failing_dict_value_is_found_as_the_section_converts_it(tmp_path: Path) -> None:
    """msgspec names no key in a dict: the one blamed is the first value that fails converted as the
    section is (laxly: a quoted number is a number), not the first that a strict reading would refuse."""
    path = write(tmp_path, "music:\n  playlists:\n    calm: {uris: [a], valence: '0.5', energy: '0.5'}\n"
                           "    sad:\n      uris: [b]\n      energy: 2\n")
    assert errors_of(path) == [f"{path}:6: music.playlists.sad.energy: must be at most 1, got 2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Optional numbers (a number or null) with bounds that .inf or .nan would otherwise meet first.
        ("player:\n  kind: dry-run\n  track_s: .inf\n",
         "F:3: player.track_s: must be a finite number, got inf"),
        ("engine:\n  max_lead: -.inf\n", "F:2: engine.max_lead: must be a finite number, got -inf"),
        ("camera:\n  kind: usb\n  fps: .nan\n", "F:3: camera.fps: must be a finite number, got nan"),
    ],
)
def test_infinity_and_nan_are_refused_where_a_number_or_null_belongs(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    assert [error.replace(str(path), "F") for error in errors_of(path)] == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Rules on the value as written, before conversion: YAML's number 2025.10 and its bool yes.
        ("mqtt:\n  ha_version: 2025.10\n",
         ['F:2: mqtt.ha_version: quote the version (ha_version: "2025.1"): unquoted, YAML reads it '
          "as a number"]),
        ("camera:\n  kind: usb\n  device: yes\n",
         ["F:3: camera.device: expected a camera index or a device path such as /dev/video0, got True"]),
        # An unknown key already said as a secret is left out, and the unknown keys after it are not.
        ("analysis:\n  token: x\n  fsp: 1\n",
         [f"F:2: analysis.token: {SECRET_ADVICE}", "F:3: analysis.fsp: unknown key (did you mean 'fps'?)"]),
        # Problems on one line keep the order they were found in (secrets first), not the words' order.
        ("logging: {level: loud, token: x}\n",
         [f"F:1: logging.token: {SECRET_ADVICE}",
          "F:1: logging.level: expected one of 'debug', 'info', 'warning', 'error', got 'loud'"]),
    ],
)
def test_rules_as_written_secrets_and_the_order_on_one_line(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path, text)
    assert [error.replace(str(path), "F") for error in errors_of(path)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A mapping where a number belongs, a list where a mapping of names belongs: said, not walked.
        ("analysis:\n  fps: {a: 1}\n", "F:2: analysis.fps: expected a number, got a mapping"),
        ("engine:\n  emotion_points: [1]\n", "F:2: engine.emotion_points: expected a mapping, got a list"),
        # A key YAML reads as a number inside a mapping of names.
        ("engine:\n  emotion_points:\n    1: [0.5, 0.5]\n",
         "F:3: engine.emotion_points.1: keys must be strings"),
    ],
)
def test_values_of_the_wrong_shape_and_number_keys_in_a_mapping_of_names(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    assert [error.replace(str(path), "F") for error in errors_of(path)] == [expected]


def test_a_number_key_in_a_mapping_of_names_stops_that_sections_conversion_not_its_walk(
    tmp_path: Path,
) -> None:
    """The section is not converted without the key (its other values' rules would judge a different
    section), but the walk goes on through the keys after it."""
    path = write(tmp_path, "engine:\n  emotion_points:\n    1: [0.5, 0.5]\n    happy: [2, 2]\n")
    assert errors_of(path) == [f"{path}:3: engine.emotion_points.1: keys must be strings"]
    path = write(tmp_path, "engine:\n  emotion_points:\n    1: [0.5, 0.5]\n    happy: [.inf, 0.5]\n")
    assert errors_of(path) == [f"{path}:3: engine.emotion_points.1: keys must be strings",
                               f"{path}:4: engine.emotion_points.happy[0]: must be a finite number, got inf"]


def test_a_problem_at_the_top_level_or_in_one_section_does_not_hide_the_sections_after_it(
    tmp_path: Path,
) -> None:
    """A key that is not a string, an unknown section, an empty section and a section whose conversion
    is stopped each leave the sections after them checked."""
    path = write(tmp_path, "1: x\nanalysis:\n  fps: 99\n")
    assert errors_of(path) == [f"{path}:1: 1: keys must be strings",
                               f"{path}:3: analysis.fps: must be at most 60, got 99"]
    path = write(tmp_path, "colour: red\nanalysis:\n  fps: 99\n")
    assert errors_of(path) == [f"{path}:1: colour: unknown key",
                               f"{path}:3: analysis.fps: must be at most 60, got 99"]
    path = write(tmp_path, "logging:\nanalysis:\n  fps: 99\n")  # a section with every key commented out
    assert errors_of(path) == [f"{path}:3: analysis.fps: must be at most 60, got 99"]
    path = write(tmp_path, "engine:\n  emotion_points:\n    1: [0.5, 0.5]\nanalysis:\n  fps: 99\n")
    assert errors_of(path) == [f"{path}:3: engine.emotion_points.1: keys must be strings",
                               f"{path}:5: analysis.fps: must be at most 60, got 99"]


@pytest.mark.parametrize("point", ["[0.5, 0.5, 0.5]", "[0.5, 0.5, .inf, 2]"])
def test_a_point_with_more_numbers_than_two_is_refused_by_its_length(tmp_path: Path, point: str) -> None:
    """Items past a fixed-length pair are not walked as one of its numbers (there is none to walk them
    as); the pair's length is the problem."""
    path = write(tmp_path, f"engine:\n  emotion_points:\n    happy: {point}\n")
    count = point.count(",") + 1
    expected = f"{path}:3: engine.emotion_points.happy: must have exactly 2 items, got {count}"
    assert errors_of(path) == [expected]
