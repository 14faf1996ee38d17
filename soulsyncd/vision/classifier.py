"""Emotion classifier: a grey face crop in, a probability vector over the 7 FER2013 classes out.

The model is a full-integer int8 TFLite file run by LiteRT (``ai_edge_litert``), falling back to
the older ``tflite_runtime``. Neither is imported until a classifier is built, so the rest of the
package imports and tests without them. Pre-processing lives in :func:`to_model_input`, the one
function that training, evaluation and the daemon all call, so they cannot drift apart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soulsyncd.native_output import native_stderr_logged
from soulsyncd.types import EMOTION_LABELS
from soulsyncd.vision.settings import DEFAULT_MODEL_PATH

log = logging.getLogger(__name__)

INPUT_SIZE = 48


class ModelError(RuntimeError):
    """The model file is missing, unreadable or not the model we expect; the message names the path."""


def to_model_input(faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Turn grey face crops into the model's float input: (n, 48, 48, 1) float32 in [0, 1].

    Each crop is a 2-D uint8 array of any size; crops that are not 48x48 are resized with area
    interpolation (the right filter for shrinking, which is the common case for camera faces).
    A single 2-D crop or an (n, h, w) stack are both accepted.
    """
    if isinstance(faces, np.ndarray) and faces.ndim == 2:
        faces = [faces]
    resized: list[np.ndarray] = []
    for face in faces:
        if face.ndim != 2:
            raise ValueError(f"a face crop must be a 2-D grey image, got shape {face.shape}")
        if face.shape == (INPUT_SIZE, INPUT_SIZE):
            resized.append(face)
        else:
            import cv2  # deferred: training imports this module for the scaling alone

            resized.append(cv2.resize(face, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA))
    batch = np.stack(resized).astype(np.float32) / 255.0
    return batch[..., np.newaxis]


def quantize(values: np.ndarray, scale: float, zero_point: int, dtype: np.dtype[Any]) -> np.ndarray:
    """Float to integer with the tensor's affine parameters (q = round(x / scale) + zero_point)."""
    info = np.iinfo(dtype)
    q = np.round(values / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Integer to float with the tensor's affine parameters (x = (q - zero_point) * scale)."""
    return (values.astype(np.float32) - zero_point) * scale


def _load_interpreter(model_path: Path, num_threads: int) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError(
                "no TFLite runtime: install 'ai-edge-litert' (or 'tflite-runtime') to run "
                f"the model {model_path}"
            ) from exc
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    try:
        # LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++: into the log.
        with native_stderr_logged(log):
            interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"model file {model_path} is not a valid TFLite model: {exc}") from exc
    return interpreter


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file (the model card and metadata record it)."""
    # Imported here: hashlib maps the system's libcrypto (3.3 MB resident), and only training and the
    # tests check the model's digest; the daemon never does.
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class ClassifierOptions:
    """How to load and run the emotion model."""

    model_path: Path = DEFAULT_MODEL_PATH
    num_threads: int = 1
    # Average each face with its mirror image: a second inference in the same invoke, which
    # evens out one-sided lighting and a head turned to one side (see the model card's figures).
    flip_average: bool = True
    labels: tuple[str, ...] = field(default=EMOTION_LABELS)


class EmotionClassifier:
    """Runs the int8 emotion model on batches of grey face crops.

    Not thread-safe: one instance belongs to the analysis thread.
    """

    def __init__(self, options: ClassifierOptions | None = None) -> None:
        self.options = options or ClassifierOptions()
        model_path = Path(self.options.model_path)
        self._interpreter = _load_interpreter(model_path, self.options.num_threads)
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"model {model_path} must have one input and one output")
        self._input = inputs[0]
        self._output = outputs[0]
        shape = tuple(self._input["shape"])
        if shape[1:] != (INPUT_SIZE, INPUT_SIZE, 1):
            raise ModelError(f"model {model_path} takes input {shape}, expected (n, 48, 48, 1)")
        if int(self._output["shape"][-1]) != len(self.options.labels):
            raise ModelError(
                f"model {model_path} has {self._output['shape'][-1]} outputs, "
                f"expected {len(self.options.labels)} ({', '.join(self.options.labels)})"
            )
        self._batch = int(shape[0])

    @property
    def input_dtype(self) -> np.dtype[Any]:
        dtype: np.dtype[Any] = np.dtype(self._input["dtype"])
        return dtype

    def _resize_batch(self, batch: int) -> None:
        if batch != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], [batch, INPUT_SIZE, INPUT_SIZE, 1])
            self._interpreter.allocate_tensors()
            self._batch = batch

    def predict(self, model_input: np.ndarray) -> np.ndarray:
        """Probabilities (n, 7) for model input from :func:`to_model_input`.

        With ``flip_average`` each face and its mirror image go through the model in one batch and
        their probabilities are averaged.
        """
        count = model_input.shape[0]
        if count == 0:
            return np.zeros((0, len(self.options.labels)), np.float32)
        if self.options.flip_average:
            both = self._invoke(np.concatenate([model_input, model_input[:, :, ::-1, :]]))
            averaged: np.ndarray = (both[:count] + both[count:]) / 2
            return averaged
        return self._invoke(model_input)

    def _invoke(self, model_input: np.ndarray) -> np.ndarray:
        self._resize_batch(model_input.shape[0])
        dtype = self.input_dtype
        if dtype == np.float32:
            tensor = model_input.astype(np.float32)
        else:
            scale, zero_point = self._input["quantization"]
            tensor = quantize(model_input, scale, zero_point, dtype)
        self._interpreter.set_tensor(self._input["index"], tensor)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"])
        if np.dtype(self._output["dtype"]) != np.float32:
            scale, zero_point = self._output["quantization"]
            raw = dequantize(raw, scale, zero_point)
        probabilities = np.clip(raw.astype(np.float32), 0.0, None)
        totals = probabilities.sum(axis=1, keepdims=True)
        # int8 softmax outputs need not sum to exactly 1; renormalise so downstream sees a distribution.
        uniform = np.full_like(probabilities, 1 / probabilities.shape[1])
        normalised: np.ndarray = np.divide(probabilities, totals, out=uniform, where=totals > 0)
        return normalised

    def classify(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities (n, 7) for n grey face crops of any size."""
        if len(faces) == 0:
            return np.zeros((0, len(self.options.labels)), np.float32)
        return self.predict(to_model_input(faces))


def load_metadata(model_path: Path) -> dict[str, Any]:
    """The metadata file that ships beside the model (``emotion.json`` next to the ``.tflite``)."""
    meta_path = model_path.with_name("emotion.json")
    try:
        return dict(json.loads(meta_path.read_text()))
    except FileNotFoundError as exc:
        raise ModelError(f"model metadata not found: {meta_path}") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"model metadata {meta_path} is not valid JSON: {exc}") from exc
