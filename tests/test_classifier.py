"""The shipped int8 model through the runtime the daemon uses (LiteRT), and its pre-processing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soulsyncd.types import EMOTION_LABELS
from soulsyncd.vision.classifier import (
    DEFAULT_MODEL_PATH,
    ClassifierOptions,
    EmotionClassifier,
    ModelError,
    dequantize,
    file_sha256,
    load_metadata,
    quantize,
    to_model_input,
)
from soulsyncd.vision.fer2013 import read_fer_csv


@pytest.fixture(scope="module")
def classifier() -> EmotionClassifier:
    return EmotionClassifier()


def test_preprocessing_resizes_any_crop_to_48x48_in_unit_range() -> None:
    crop = np.random.default_rng(0).integers(0, 256, (131, 97), dtype=np.uint8)
    out = to_model_input(crop)
    assert out.shape == (1, 48, 48, 1)
    assert out.dtype == np.float32
    assert out.min() >= 0.0
    assert out.max() <= 1.0


def test_preprocessing_of_a_48x48_face_is_exactly_pixel_over_255() -> None:
    face = np.arange(48 * 48, dtype=np.int64).reshape(48, 48).astype(np.uint8)
    out = to_model_input([face, face])
    assert out.shape == (2, 48, 48, 1)
    np.testing.assert_array_equal(out[1, :, :, 0], face.astype(np.float32) / 255)


def test_preprocessing_rejects_colour_crops() -> None:
    with pytest.raises(ValueError, match="2-D grey"):
        to_model_input([np.zeros((48, 48, 3), np.uint8)])


def test_model_input_quantization_round_trips_every_pixel_value(classifier: EmotionClassifier) -> None:
    """The model's own input scale maps the 256 grey levels to 256 distinct int8 codes and back."""
    scale, zero_point = classifier._input["quantization"]
    pixels = np.arange(256, dtype=np.float32) / 255
    codes = quantize(pixels, scale, zero_point, np.dtype(np.int8))
    assert codes.dtype == np.int8
    assert len(np.unique(codes)) == 256
    np.testing.assert_allclose(dequantize(codes, scale, zero_point), pixels, atol=scale / 2 + 1e-7)


def test_quantize_saturates_out_of_range_values() -> None:
    codes = quantize(np.array([-10.0, 10.0]), 0.01, 0, np.dtype(np.int8))
    assert codes.tolist() == [-128, 127]


def test_model_is_full_integer_int8_and_small() -> None:
    meta = load_metadata(DEFAULT_MODEL_PATH)
    assert DEFAULT_MODEL_PATH.stat().st_size <= 1_000_000
    assert meta["labels"] == list(EMOTION_LABELS)
    assert meta["sha256"] == file_sha256(DEFAULT_MODEL_PATH)
    assert meta["quantization"]["input"]["dtype"] == "int8"
    assert meta["quantization"]["output"]["dtype"] == "int8"


def test_output_is_a_probability_distribution_per_face(classifier: EmotionClassifier) -> None:
    faces = [np.full((60, 60), v, np.uint8) for v in (0, 128, 255)]
    probabilities = classifier.classify(faces)
    assert probabilities.shape == (3, 7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities >= 0).all()


def test_batch_gives_the_same_answer_as_one_face_at_a_time(classifier: EmotionClassifier) -> None:
    rng = np.random.default_rng(1)
    faces = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(4)]
    batch = classifier.classify(faces)
    single = np.concatenate([classifier.classify([f]) for f in faces])
    np.testing.assert_allclose(batch, single, atol=1e-6)


def test_no_faces_gives_an_empty_result(classifier: EmotionClassifier) -> None:
    assert classifier.classify([]).shape == (0, 7)


def test_missing_model_file_is_a_clear_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tflite"
    with pytest.raises(ModelError, match=f"model file not found: {missing}"):
        EmotionClassifier(ClassifierOptions(model_path=missing))


def test_corrupt_model_file_is_a_clear_error_naming_the_path(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(b"this is not a flatbuffer" * 10)
    with pytest.raises(ModelError, match=f"{corrupt} is not a valid TFLite model"):
        EmotionClassifier(ClassifierOptions(model_path=corrupt))


def test_metadata_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model metadata not found"):
        load_metadata(tmp_path / "emotion_int8.tflite")


@pytest.mark.e2e
def test_real_model_labels_publictest_faces(classifier: EmotionClassifier, fer_csv: Path) -> None:
    """On 400 PublicTest faces the int8 model is right well above chance and on its metadata's figure."""
    split = read_fer_csv(fer_csv, ["PublicTest"])
    images, labels = split.images[:400], split.labels[:400]
    predicted = classifier.classify(list(images)).argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    metadata = json.loads(DEFAULT_MODEL_PATH.with_name("emotion.json").read_text())
    reported = metadata["publictest"]["int8"]["accuracy"]
    assert accuracy >= 0.6
    # 400 rows: the metadata's whole-split figure within sampling noise
    assert abs(accuracy - reported) < 0.06
    # Happy is the easiest class: nearly every happy face among them is recognised.
    happy = labels == EMOTION_LABELS.index("happy")
    assert (predicted[happy] == labels[happy]).mean() >= 0.8


def test_flip_average_is_the_mean_of_the_face_and_its_mirror() -> None:
    rng = np.random.default_rng(2)
    faces = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(3)]
    plain = EmotionClassifier(ClassifierOptions(flip_average=False))
    averaged = EmotionClassifier(ClassifierOptions(flip_average=True)).classify(faces)
    mirrored = plain.classify([f[:, ::-1] for f in faces])
    np.testing.assert_allclose(averaged, (plain.classify(faces) + mirrored) / 2, atol=1e-6)
    # A mirror-symmetric face gains nothing from its mirror image.
    symmetric = np.hstack([faces[0][:, :24], faces[0][:, :24][:, ::-1]])
    np.testing.assert_allclose(
        EmotionClassifier(ClassifierOptions(flip_average=True)).classify([symmetric]),
        plain.classify([symmetric]), atol=1e-6,
    )
