"""check-config is total and never lies: hostile files give a config or a ConfigError, fast, and every
config drawn from the schema's own bounds that check-config accepts builds and runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from soulsyncd.config import (
    EXIT_CONFIG,
    AnalysisConfig,
    Config,
    ConfigError,
    DetectionConfig,
    DryRunPlayerConfig,
    FileCameraConfig,
    LoggingConfig,
    ModelConfig,
    Picamera2CameraConfig,
    PolicyConfig,
    SmoothingConfig,
    StateConfig,
    UsbCameraConfig,
    load_config,
)
from soulsyncd.config.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from soulsyncd.mood.policy import STEP_MAX, STEP_MIN
from soulsyncd.testing.config_fuzz import (
    config_dicts,
    exercise,
    hostile_documents,
    mutate,
    seed_corpus,
    unbounded_fields,
)
from soulsyncd.vision.detector import MIN_NEIGHBORS_MIN, SCALE_FACTOR_MIN

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from make_sample import render_frame  # noqa: E402

SECONDS_PER_DOCUMENT = 1.0  # the promise for any file up to 64 KB
HOSTILE = hostile_documents()
CORPUS = seed_corpus()


def write(tmp_path: Path, data: bytes | str, name: str = "soulsync.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def judge(path: Path) -> tuple[Config | None, list[str], float]:
    """Load ``path``: the config (or None), the errors, and the seconds it took. Anything but a
    ConfigError propagates and fails the test."""
    started = time.perf_counter()
    try:
        config, errors = load_config(path), []
    except ConfigError as exc:
        config, errors = None, exc.errors
    return config, errors, time.perf_counter() - started


def errors_of(tmp_path: Path, text: bytes | str) -> list[str]:
    path = write(tmp_path, text)
    config, errors, seconds = judge(path)
    assert config is None, "expected the file to be rejected"
    assert seconds < SECONDS_PER_DOCUMENT
    return [error.replace(str(path), "F") for error in errors]


# --- every hostile document: a config or clear errors, in under a second ----------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_document_gives_a_config_or_errors_quickly(tmp_path: Path, name: str) -> None:
    """Each listed hostile file is judged in < 1 s; every error names the file, none is empty."""
    path = write(tmp_path, HOSTILE[name])
    config, errors, seconds = judge(path)
    assert seconds < SECONDS_PER_DOCUMENT, f"{name}: {seconds:.2f} s"
    assert (config is None) == bool(errors)
    assert all(error.startswith(str(path)) and len(error) < 1000 for error in errors)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "camera:\n  kind: usb\x07\n",
            "F:2: invalid YAML: character #x0007 is not allowed (control character?)",
        ),
        ("a: 1\nb: \x00\n", "F:2: invalid YAML: character #x0000 is not allowed (control character?)"),
        ("a: &a [*a]\n", "F:1: refused: an alias refers to a collection that contains it"),
        (
            "camera: &a {<<: *a, kind: usb}\n",
            "F:1: refused: an alias refers to a collection that contains it",
        ),
        ("[" * 5000 + "]" * 5000, f"F:1: refused: brackets nested more than {MAX_DEPTH} deep"),
        ("- " * 5000 + "x\n", f"F:1: refused: collections nested more than {MAX_DEPTH} deep"),
        ("analysis:\n  fps: !!float x\n",
         "F:2: invalid YAML: 'x' is not a valid !!float (could not convert string to float: 'x')"),
        ("analysis:\n  fps: !!timestamp x\n", "F:2: invalid YAML: 'x' is not a valid !!timestamp"),
        ("camera:\n  kind: file\n  path: ~nosuchuser/clip.mp4\n",
         "F:3: camera.path: cannot expand '~nosuchuser': no such user, or no home directory"),
        ("state:\n  dir: ~nosuchuser/state\n",
         "F:2: state.dir: cannot expand '~nosuchuser': no such user, or no home directory"),
        ("state:\n  dir: \"/tmp/a\\0b\"\n", "F:2: state.dir: a path cannot contain a NUL character"),
    ],
)
def test_hostile_yaml_gets_a_clear_error_with_its_line(tmp_path: Path, text: str, expected: str) -> None:
    assert errors_of(tmp_path, text) == [expected]


@pytest.mark.parametrize("levels", [6, 9, 12])
def test_alias_bombs_are_refused_before_expansion(tmp_path: Path, levels: int) -> None:
    """9 aliases a line: 9**levels nodes if expanded (the 428-byte file that took 26.6 s)."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    errors = errors_of(tmp_path, "\n".join(lines) + "\n")
    assert len(errors) == 1
    refused = f"refused: more than {MAX_NODES} values, keys and collections once its aliases are expanded"
    assert errors[0].endswith(f": {refused}")


def test_small_aliases_still_work(tmp_path: Path) -> None:
    """Anchors, aliases and merge keys that expand to a sane size load like their expansion."""
    path = write(tmp_path, "camera: {<<: {kind: usb, device: 2}, retry_initial_s: &r 4, retry_max_s: *r}\n")
    config = load_config(path)
    assert (config.camera.kind, config.camera.retry_initial_s, config.camera.retry_max_s) == ("usb", 4, 4)


def test_a_problem_inside_an_aliased_mapping_is_reported_once(tmp_path: Path) -> None:
    """Each mapping is walked once, however many aliases point at it."""
    text = "analysis: &a {fps: 5, fps: 6}\nx: [" + ", ".join(["*a"] * 50) + "]\n"
    errors = errors_of(tmp_path, text)
    assert sum("duplicate key" in error for error in errors) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "camera:\n  kind: usb\n  device: -1\n",
            "F:3: camera.device: a camera index must be in [0, 99], got -1",
        ),
        (
            "camera:\n  kind: usb\n  device: video0\n",
            "F:3: camera.device: expected a camera index, a device path such as /dev/video0 or a URL, "
            "got 'video0'",
        ),
        ("camera:\n  kind: usb\n  device: yes\n",
         "F:3: camera.device: expected a camera index or a device path such as /dev/video0, got True"),
        ("smoothing:\n  margin: 1\n", "F:2: smoothing.margin: must be less than 1, got 1"),
        (
            "analysis:\n  fps: 1e-12\n",
            "F:2: analysis.fps: must be at least 0.1, got '1e-12'",
        ),
        ("analysis:\n  fps: 61\n", "F:2: analysis.fps: must be at most 60, got 61"),
        ("camera:\n  kind: usb\n  retry_initial_s: 1e10\n",
         "F:3: camera.retry_initial_s: must be at most 3600, got '1e10'"),
        (
            "smoothing:\n  window_s: .inf\n",
            "F:2: smoothing.window_s: must be a finite number, got inf",
        ),
        (
            "smoothing:\n  window_s: 61\n",
            "F:2: smoothing.window_s: must be at most 60, got 61",
        ),
        ("smoothing:\n  dwell_s: .nan\n", "F:2: smoothing.dwell_s: must be a finite number, got nan"),
        (
            "detection:\n  scale_factor: 1.001\n",
            f"F:2: detection.scale_factor: must be at least {SCALE_FACTOR_MIN:g}, "
            "got 1.001",
        ),
        (
            "detection:\n  min_neighbors: 0\n",
            f"F:2: detection.min_neighbors: must be at least {MIN_NEIGHBORS_MIN}, "
            "got 0",
        ),
        (
            "policy:\n  step: 5e-324\n",
            f"F:2: policy.step: must be at least {STEP_MIN:g}, got '5e-324'",
        ),
        (
            "policy:\n  step: 1e9\n",
            f"F:2: policy.step: must be at most {STEP_MAX:g}, got '1e9'",
        ),
    ],
)
def test_values_the_components_cannot_run_are_rejected(tmp_path: Path, text: str, expected: str) -> None:
    """The values that crashed, hung or silently broke ``run`` after check-config said ok."""
    assert errors_of(tmp_path, text) == [expected]


def test_every_number_in_the_core_sections_has_both_bounds() -> None:
    """No core int/float is open-ended: infinity and huge values make no sense for any of them."""
    core = {
        "camera.": (UsbCameraConfig, Picamera2CameraConfig, FileCameraConfig),
        "analysis.": (AnalysisConfig,), "detection.": (DetectionConfig,), "model.": (ModelConfig,),
        "smoothing.": (SmoothingConfig,), "policy.": (PolicyConfig,), "player.": (DryRunPlayerConfig,),
        "state.": (StateConfig,), "logging.": (LoggingConfig,),
    }
    unbounded = [
        key for prefix, models in core.items() for model in models for key in unbounded_fields(model, prefix)
    ]
    assert unbounded == []


# --- files that are not config files ----------------------------------------------------------------


def test_a_directory_is_refused(tmp_path: Path) -> None:
    _, errors, _ = judge(tmp_path)
    assert errors == [f"{tmp_path}: cannot read config file: it is a directory"]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    _, errors, seconds = judge(fifo)
    assert errors == [f"{fifo}: cannot read config file: not a regular file"]
    assert seconds < SECONDS_PER_DOCUMENT


def test_ten_megabytes_of_junk_are_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, np.random.default_rng(0).integers(0, 256, 10_000_000, dtype=np.uint8).tobytes())
    _, errors, seconds = judge(path)
    too_big = f"larger than {MAX_FILE_BYTES // 1000} kB, not a config file?"
    assert errors == [f"{path}: cannot read config file: {too_big}"]
    assert seconds < 0.1


@pytest.mark.parametrize("kind", ["missing", "under a file", "symlink loop", "nul in the name"])
def test_unreadable_paths_are_config_errors(tmp_path: Path, kind: str) -> None:
    path = {
        "missing": tmp_path / "nope.yaml",
        "under a file": write(tmp_path, "x: 1\n", "file") / "soulsync.yaml",
        "symlink loop": tmp_path / "loop.yaml",
        "nul in the name": tmp_path / "a\0b.yaml",
    }[kind]
    if kind == "symlink loop":
        path.symlink_to(path)
    _, errors, _ = judge(path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}: cannot read config file: ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "analysis: {fps: 5}\n")
    path.chmod(0)
    _, errors, _ = judge(path)
    assert errors == [f"{path}: cannot read config file: Permission denied"]


def test_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    assert errors_of(tmp_path, b"analysis:\n  fps: \xff5\n") == [
        "F:2: cannot read config file: not UTF-8 text (invalid start byte)"
    ]


# --- fuzzing -------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(CORPUS)), random=st.randoms(use_true_random=False))
def test_mutated_documents_give_a_config_or_errors_quickly(tmp_path: Path, name: str, random: Any) -> None:
    """Random damage to real and hostile config files: only ConfigError comes out, each in < 1 s."""
    path = write(tmp_path, mutate(CORPUS[name], random))
    _, _, seconds = judge(path)
    assert seconds < SECONDS_PER_DOCUMENT


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8", "replace")))
def test_arbitrary_bytes_give_a_config_or_errors_quickly(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    _, _, seconds = judge(path)
    assert seconds < SECONDS_PER_DOCUMENT


@pytest.mark.parametrize(
    "name",
    ["control character", "recursive map alias", "deep brackets", "bad float tag", "no such user (state)"],
)
def test_check_config_cli_never_prints_a_traceback(tmp_path: Path, name: str) -> None:
    """The real command: exit 78 and the error on stderr, no traceback."""
    path = write(tmp_path, HOSTILE[name])
    result = subprocess.run(
        [sys.executable, "-m", "soulsyncd", "check-config", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}:")


# --- every config check-config accepts runs ----------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    """Three small frames with a face (happy, sad, happy) as a PNG folder, and the same images."""
    import cv2

    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    images = []
    for index, label in enumerate(["happy", "sad", "happy"]):
        face = cv2.imread(str(ROOT / "tools" / "sample" / f"mean_{label}.png"), cv2.IMREAD_GRAYSCALE)
        image = render_frame(face, t=float(index), size=(320, 240), rng=rng)
        cv2.imwrite(str(folder / f"{index:02d}.png"), image)
        images.append(image)
    return folder, images


def drawn_configs(folder: Path, state_dir: Path) -> st.SearchStrategy[dict[str, Any]]:
    """Configs from the schema's bounds, on hardware-free edges: a file camera, the dry-run player."""
    return config_dicts(
        kinds={"camera": ["file"], "player": ["dry-run"]},
        fixed={"camera.path": str(folder), "state.dir": str(state_dir)},
    )


def test_the_schema_strategy_reaches_every_core_section(
    media: tuple[Path, list[np.ndarray]], tmp_path: Path
) -> None:
    """The drawn configs vary every bounded core key (so the property below is not vacuous)."""
    drawn: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(drawn_configs(media[0], tmp_path))
    def collect(data: dict[str, Any]) -> None:
        drawn.update(f"{section}.{key}" for section, values in data.items() for key in values)

    collect()
    for key in ("analysis.fps", "smoothing.margin", "smoothing.window_s", "detection.scale_factor",
                "camera.retry_max_s", "camera.fps", "camera.pace", "policy.mode", "policy.target",
                "policy.step", "player.min_interval_s", "model.flip_average"):
        assert key in drawn


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_config_check_config_accepts_builds_and_runs(
    media: tuple[Path, list[np.ndarray]], tmp_path: Path, data: st.DataObject
) -> None:
    """Drawn inside the schema's bounds: if check-config says ok, build() works and the core runs."""
    folder, images = media
    drawn = data.draw(drawn_configs(folder, tmp_path / "state"))
    path = write(tmp_path, yaml.safe_dump(drawn))
    config, errors, _ = judge(path)
    assume(config is not None)  # a cross-field rule (dwell_s < window_s, retry_max_s >= ...) said no
    assert config is not None
    assert not errors
    exercise(config, images)
