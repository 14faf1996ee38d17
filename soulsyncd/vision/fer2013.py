"""Reader for the FER2013 CSV layout (``emotion,pixels,Usage``), used by the tools and tests.

Only numpy: the evaluation tool and the tests read the data without TensorFlow.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FACE_SIZE = 48


@dataclass(frozen=True)
class FerSplit:
    """Faces and labels of one or more Usage values, in file order."""

    images: np.ndarray  # (n, 48, 48) uint8
    labels: np.ndarray  # (n,) int64, FER2013 class indices
    rows: np.ndarray  # (n,) int64, 0-based data-row index in the file (to align FER+ votes)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="ascii", newline="")
    return open(path, encoding="ascii", newline="")


def read_fer_csv(path: str | Path, usages: Iterable[str] | None = None) -> FerSplit:
    """Read FER2013-format rows, keeping those whose Usage is in ``usages`` (all when None).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a header or row does not follow the format; the message names file and line.
    """
    path = Path(path)
    wanted = None if usages is None else set(usages)
    images: list[np.ndarray] = []
    labels: list[int] = []
    rows: list[int] = []
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["emotion", "pixels", "Usage"]:
            raise ValueError(f"{path}: line 1: expected header 'emotion,pixels,Usage', got {header!r}")
        for index, record in enumerate(reader):
            if len(record) < 3:
                raise ValueError(f"{path}: line {index + 2}: expected 3 columns, got {len(record)}")
            if wanted is not None and record[2] not in wanted:
                continue
            pixels = np.array(record[1].split(), dtype=np.uint8)
            if pixels.size != FACE_SIZE * FACE_SIZE:
                raise ValueError(f"{path}: line {index + 2}: expected 2304 pixels, got {pixels.size}")
            label = int(record[0])
            if not 0 <= label <= 6:
                raise ValueError(f"{path}: line {index + 2}: emotion {label} is not in 0..6")
            images.append(pixels.reshape(FACE_SIZE, FACE_SIZE))
            labels.append(label)
            rows.append(index)
    if not images:
        empty = np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8)
        return FerSplit(empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    return FerSplit(np.stack(images), np.array(labels, np.int64), np.array(rows, np.int64))


# FER+ vote columns mapped to FER2013 class order; contempt, unknown and NF have no FER2013 class.
_FERPLUS_TO_FER = {
    "anger": 0,
    "disgust": 1,
    "fear": 2,
    "happiness": 3,
    "sadness": 4,
    "surprise": 5,
    "neutral": 6,
}


def read_ferplus_votes(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read FER+ vote counts: (votes over the 7 FER2013 classes (n, 7), not-a-face votes (n,)).

    Row i of the result belongs to data row i of the matching FER2013 CSV.
    """
    path = Path(path)
    with open(path, encoding="ascii", newline="") as handle:
        reader = csv.DictReader(handle)
        votes: list[list[int]] = []
        not_face: list[int] = []
        for record in reader:
            row = [0] * 7
            for column, index in _FERPLUS_TO_FER.items():
                row[index] = int(record[column])
            votes.append(row)
            not_face.append(int(record["NF"]))
    return np.array(votes, np.float32), np.array(not_face, np.float32)
