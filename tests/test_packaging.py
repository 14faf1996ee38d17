"""A real install: the wheel carries every subpackage and the model, and runs without the source tree.

Also the check that the daemon never imports TensorFlow: a ``tensorflow`` module that fails loudly
on import is put on the path of a real run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", ".git", "build", "dist", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__",
             ".hypothesis"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the source tree (so the checkout gets no build/ or egg-info)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=lambda _d, names: [n for n in names if n in SKIP_DIRS
                                                           or n.endswith(".egg-info")])
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                             str(source), "-w", str(work / "dist")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    (work / "build-output.txt").write_text(result.stdout + result.stderr)
    wheels = list((work / "dist").glob("soulsyncd-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_the_wheel_has_every_module_and_the_model(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    source_modules = {str(p.relative_to(ROOT)) for p in (ROOT / "soulsyncd").rglob("*.py")
                      if "__pycache__" not in p.parts}
    assert source_modules <= names, sorted(source_modules - names)
    assert {"soulsyncd/models/emotion_int8.tflite", "soulsyncd/models/emotion.json"} <= names
    page = {str(p.relative_to(ROOT)) for p in (ROOT / "soulsyncd" / "web" / "static").iterdir()}
    assert page <= names, sorted(page - names)  # the status page's HTML, script and stylesheet


def test_building_the_package_prints_no_warning(wheel: Path) -> None:
    """install.sh shows pip's output: a setuptools warning (a package missing from `packages`, a
    deprecated field) would greet every person who installs."""
    output = (wheel.parent.parent / "build-output.txt").read_text()
    assert "Warning" not in output, output
    assert "!!" not in output, output


def test_a_non_editable_install_checks_and_runs_the_demo(
    wheel: Path, tmp_path: Path, render_scene: Callable[..., Path],
) -> None:
    """Fresh venv, the wheel installed (not editable), dependencies from the test venv; run from elsewhere."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=120, capture_output=True)
    # The dependencies (numpy, OpenCV, LiteRT, ...) come from the test venv's site-packages, added as a
    # plain path: its .pth files, and with them the editable install of this checkout, stay inactive.
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(python), "-c", purelib], capture_output=True, text=True,
                               check=True).stdout.strip())
    (site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(3.0, "happy")])
    config = tmp_path / "demo.yaml"
    config.write_text(f"camera:\n  kind: file\n  path: {video}\n  loop: true\n"
                      f"state:\n  dir: {tmp_path / 'state'}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    where = subprocess.run([str(python), "-c", "import soulsyncd; print(soulsyncd.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, check=True).stdout
    assert str(venv) in where  # the installed copy, not the checkout
    check = subprocess.run([str(venv / "bin" / "soulsyncd"), "check-config", str(config)], cwd=elsewhere,
                           capture_output=True, text=True, timeout=60, check=False)
    assert (check.returncode, check.stdout.strip()) == (0, f"ok: {config}"), check.stderr
    run = subprocess.run([str(venv / "bin" / "soulsyncd"), "run", "--config", str(config), "--for", "3"],
                         cwd=elsewhere, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert "mood at" in run.stderr


def test_the_daemon_never_imports_tensorflow(tmp_path: Path, render_scene: Callable[..., Path]) -> None:
    """A ``tensorflow`` on the path that exits 13 on import: a real run must not touch it."""
    trap = tmp_path / "trap"
    (trap / "tensorflow").mkdir(parents=True)
    (trap / "tensorflow" / "__init__.py").write_text(
        "import os, sys, traceback\ntraceback.print_stack()\nprint('TENSORFLOW IMPORTED', file=sys.stderr)\n"
        "os._exit(13)\n")
    video = render_scene(tmp_path / "clip.avi", fps=10.0, timeline=[(2.0, "happy")])
    config = tmp_path / "c.yaml"
    config.write_text(f"camera:\n  kind: file\n  path: {video}\n  loop: true\n"
                      f"state:\n  dir: {tmp_path / 'state'}\n")
    # The trap really works: importing tensorflow from there ends the process with 13.
    probe = subprocess.run([sys.executable, "-c", "import tensorflow"], env={"PYTHONPATH": str(trap)},
                           capture_output=True, text=True, timeout=60, check=False)
    assert probe.returncode == 13
    run = subprocess.run([sys.executable, "-m", "soulsyncd", "run", "--config", str(config), "--for", "3"],
                         cwd=ROOT, env={"PYTHONPATH": str(trap), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert "TENSORFLOW IMPORTED" not in run.stderr
    assert "mood at" in run.stderr
