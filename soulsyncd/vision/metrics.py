"""Classification figures shared by the training and evaluation tools (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from soulsyncd.types import EMOTION_LABELS


def classification_report(predicted: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class recall/precision, weighted precision/recall/F1 and the confusion matrix.

    The confusion matrix has one row per true class and one column per predicted class.
    """
    k = len(EMOTION_LABELS)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (actual, predicted), 1)
    support = confusion.sum(axis=1)
    predicted_counts = confusion.sum(axis=0)
    true_positive = np.diag(confusion)
    recall = np.divide(true_positive, support, out=np.zeros(k), where=support > 0)
    precision = np.divide(true_positive, predicted_counts, out=np.zeros(k), where=predicted_counts > 0)
    pr_sum = precision + recall
    f1 = np.divide(2 * precision * recall, pr_sum, out=np.zeros(k), where=pr_sum > 0)
    n = int(support.sum())
    weights = support / n if n else np.zeros(k)
    return {
        "n": n,
        "accuracy": float(true_positive.sum() / n) if n else 0.0,
        "per_class_recall": {
            label: round(float(r), 4) for label, r in zip(EMOTION_LABELS, recall, strict=True)
        },
        "per_class_precision": {
            label: round(float(p), 4) for label, p in zip(EMOTION_LABELS, precision, strict=True)
        },
        "weighted_precision": round(float((precision * weights).sum()), 4),
        "weighted_recall": round(float((recall * weights).sum()), 4),
        "weighted_f1": round(float((f1 * weights).sum()), 4),
        "confusion": confusion.tolist(),
    }
