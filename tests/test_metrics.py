"""Classification figures shared by the training and evaluation tools."""

from __future__ import annotations

import numpy as np

from soulsyncd.vision.metrics import classification_report


def test_report_counts_a_known_confusion() -> None:
    actual = np.array([0, 0, 3, 3, 3, 6])
    predicted = np.array([0, 3, 3, 3, 6, 6])
    report = classification_report(predicted, actual)
    assert report["n"] == 6
    assert report["accuracy"] == 4 / 6
    assert report["per_class_recall"]["angry"] == 0.5
    assert report["per_class_recall"]["happy"] == round(2 / 3, 4)
    assert report["per_class_precision"]["happy"] == round(2 / 3, 4)
    assert report["confusion"][3] == [0, 0, 0, 2, 0, 0, 1]
    assert report["confusion"][0][3] == 1
    # weighted recall equals accuracy by definition
    assert report["weighted_recall"] == round(4 / 6, 4)


def test_absent_classes_do_not_divide_by_zero() -> None:
    report = classification_report(np.array([3]), np.array([3]))
    assert report["accuracy"] == 1.0
    assert report["per_class_recall"]["disgust"] == 0.0
