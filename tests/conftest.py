"""Fixtures shared by the test modules.

Real data (public photos, clips and FER2013) lives outside the repository, in ``../shared/data``
next to the checkout, and is never copied in. Tests that need it take one of these fixtures and
are skipped, with the reason, where it is absent (a user's fresh clone has no ``../shared``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
E2E_DIR = SHARED_DATA_DIR / "e2e"
FER_CSV = SHARED_DATA_DIR / "fer2013_train_public.csv.gz"


@pytest.fixture(scope="session")
def e2e_dir() -> Path:
    """The folder of real photos and clips with faces (justin.jpg, no-faces.jpg, test.mp4, woman2.mp4)."""
    if not E2E_DIR.is_dir():
        pytest.skip(f"end-to-end photos and clips not found at {E2E_DIR} (../shared/data/e2e)")
    return E2E_DIR


@pytest.fixture(scope="session")
def fer_csv() -> Path:
    """The FER2013 CSV (Training and PublicTest rows)."""
    if not FER_CSV.is_file():
        pytest.skip(f"FER2013 CSV not found at {FER_CSV} (../shared/data)")
    return FER_CSV


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_state_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every test (and every daemon it starts) keeps its catalog and tokens in a folder of its own,
    never in the user's ~/.local/state/soulsyncd."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """A test that runs the CLI in-process gets the daemon's logging (setup_logging replaces the
    root logger's handlers, and its redaction filter clears ``exc_info``); put the root logger back
    so the next test's caplog sees every record as it was logged."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def sample_faces() -> dict[str, np.ndarray]:
    """The committed per-class mean faces (tools/sample), grey 48x48, by emotion label."""
    import cv2

    from soulsyncd.types import EMOTION_LABELS

    faces = {}
    for label in EMOTION_LABELS:
        image = cv2.imread(str(ROOT / "tools" / "sample" / f"mean_{label}.png"), cv2.IMREAD_GRAYSCALE)
        assert image is not None, f"tools/sample/mean_{label}.png is missing"
        faces[label] = image
    return faces


@pytest.fixture(scope="session")
def render_scene() -> Callable[..., Path]:
    """tools/make_sample.py's renderer: a timeline of (seconds, emotion or None) -> an MJPG video."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from make_sample import render_video

    return render_video


# MQTT tests: a real mosquitto on a free loopback port and a client watching it (tests/mosquitto.py).
from tests.mosquitto import broker, watcher  # noqa: E402, F401
