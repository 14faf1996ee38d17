"""tools/evaluate.py on a tiny CSV the test writes, through the real model and runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.test_fer2013 import write_csv

ROOT = Path(__file__).resolve().parent.parent


def run_evaluate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "tools" / "evaluate.py"), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_json_figures_on_a_tiny_csv(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PrivateTest" if i < 10 else "Other")
            for i in range(14)]
    path = write_csv(tmp_path / "tiny.csv", rows)
    result = run_evaluate("--csv", str(path), "--usage", "PrivateTest", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["n"] == 10
    assert 0.0 <= figures["accuracy"] <= 1.0
    assert set(figures["per_class_recall"]) == {
        "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"
    }
    confusion = np.array(figures["confusion"])
    assert confusion.shape == (7, 7)
    assert confusion.sum() == 10
    assert confusion.sum(axis=1).tolist() == [2, 2, 2, 1, 1, 1, 1]
    assert "accuracy" in result.stdout.splitlines()[1]


def test_no_matching_rows_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tiny.csv", [(3, np.zeros((48, 48), np.uint8), "Training")])
    result = run_evaluate("--csv", str(path), "--usage", "PublicTest")
    assert result.returncode == 2
    assert "no rows with Usage in ['PublicTest']" in result.stderr


def test_missing_model_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tiny.csv", [(3, np.zeros((48, 48), np.uint8), "Training")])
    result = run_evaluate("--csv", str(path), "--model", str(tmp_path / "gone.tflite"))
    assert result.returncode == 2
    assert f"model file not found: {tmp_path / 'gone.tflite'}" in result.stderr
