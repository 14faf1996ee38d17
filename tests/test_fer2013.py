"""The FER2013 CSV reader used by the tools and tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from soulsyncd.vision.fer2013 import read_fer_csv, read_ferplus_votes


def write_csv(path: Path, rows: list[tuple[int, np.ndarray, str]]) -> Path:
    text = "emotion,pixels,Usage\n" + "".join(
        f"{label},{' '.join(str(v) for v in pixels.ravel())},{usage}\n" for label, pixels, usage in rows
    )
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["faces.csv", "faces.csv.gz"])
def test_reads_rows_of_the_chosen_usage_in_order(tmp_path: Path, name: str) -> None:
    faces = [np.full((48, 48), i * 10, np.uint8) for i in range(4)]
    path = write_csv(tmp_path / name, [(3, faces[0], "Training"), (4, faces[1], "PublicTest"),
                                       (6, faces[2], "Training"), (0, faces[3], "PrivateTest")])
    split = read_fer_csv(path, ["Training"])
    assert split.labels.tolist() == [3, 6]
    assert split.rows.tolist() == [0, 2]
    np.testing.assert_array_equal(split.images[1], faces[2])
    assert len(read_fer_csv(path).labels) == 4


def test_wrong_pixel_count_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(ValueError, match=r"bad.csv: line 2: expected 2304 pixels, got 3"):
        read_fer_csv(path)


def test_wrong_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("label,image\n")
    with pytest.raises(ValueError, match="line 1: expected header"):
        read_fer_csv(path)


def test_ferplus_votes_map_to_fer2013_class_order(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text(
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
        "Training,fer0.png,1,2,3,4,5,6,7,8,9,10\n"
    )
    votes, not_face = read_ferplus_votes(path)
    # FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral
    assert votes.tolist() == [[5, 6, 7, 2, 4, 3, 1]]
    assert not_face.tolist() == [10]
