#!/usr/bin/env python3
"""Train the FER2013 emotion CNN, quantize it to full-integer int8 TFLite and write its metadata.

    python tools/train.py                       # train with the defaults, export to models/
    python tools/train.py --resume              # continue from build/train/last.keras
    python tools/train.py --export-only         # re-export models/ from build/train/best.weights.h5
    python tools/train.py --init-weights W.h5 --epochs 8 --lr 5e-4 --work-dir build/ft   # warm restart
    python tools/train.py --export-only --members A.weights.h5 B.weights.h5   # one int8 file, averaged

Training rows fit the model; PublicTest rows choose the checkpoint and give the reported figures.
Needs the ``train`` extra (TensorFlow); the daemon itself never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulsyncd.types import EMOTION_LABELS  # noqa: E402
from soulsyncd.vision.classifier import ClassifierOptions, EmotionClassifier, file_sha256, to_model_input  # noqa: E402
from soulsyncd.vision.fer2013 import read_fer_csv, read_ferplus_votes  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "fer2013_train_public.csv.gz"
DEFAULT_FERPLUS = ROOT.parent / "shared" / "data" / "ferplus_votes_train_public.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="FER2013-format CSV (plain or .gz)")
    p.add_argument("--ferplus", type=Path, default=DEFAULT_FERPLUS, help="FER+ votes CSV aligned with --csv")
    p.add_argument("--ferplus-weight", type=float, default=0.3,
                   help="share of the FER+ vote distribution in each training target "
                        "(0 = FER2013 labels only)")
    p.add_argument("--epochs", type=int, default=78)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW, warm-up then cosine)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--width", type=int, default=24,
                   help="channels of the first block; later blocks double it")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--precision", choices=["float32", "mixed_bfloat16"], default="mixed_bfloat16",
                   help="compute precision while training (mixed_bfloat16 is ~1.3x faster on CPUs "
                        "with AMX/AVX512-BF16); weights stay float32 and export is always float32")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--max-minutes", type=float, default=0, help="stop after this many minutes (0 = no limit)")
    p.add_argument("--work-dir", type=Path, default=ROOT / "build" / "train", help="checkpoints and logs")
    p.add_argument("--out-dir", type=Path, default=ROOT / "models", help="where the .tflite and .json go")
    p.add_argument("--resume", action="store_true", help="continue from WORK_DIR/last.keras")
    p.add_argument("--init-weights", type=Path, default=None,
                   help="start from these weights (e.g. an earlier best.weights.h5) with a fresh LR cycle")
    p.add_argument("--export-only", action="store_true",
                   help="skip training; export WORK_DIR/best.weights.h5")
    p.add_argument("--members", type=Path, nargs="+", default=None,
                   help="export these weight files (same --width) as one model that averages their "
                        "probabilities; default: WORK_DIR/best.weights.h5 alone")
    p.add_argument("--limit", type=int, default=0, help="use only this many rows per split (smoke tests)")
    return p.parse_args(argv)


def build_model(width: int, name: str = "soulsync_emotion"):  # type: ignore[no-untyped-def]
    """A VGG-style CNN sized for a Pi: four conv blocks at 48/24/12/6 px, global pooling, one dense.

    Full-resolution blocks are cheap single convs; the capacity sits at 12 and 6 px where a 3x3
    conv costs little. Conv + BatchNorm + ReLU folds into one int8 op in TFLite.
    """
    from tensorflow import keras
    from tensorflow.keras import layers

    def conv(x, filters):  # type: ignore[no-untyped-def]
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input((48, 48, 1), name="face")
    x = conv(inputs, width)
    x = conv(x, width)
    x = layers.MaxPooling2D()(x)  # 24
    x = conv(x, width * 2)
    x = conv(x, width * 2)
    x = layers.MaxPooling2D()(x)  # 12
    x = conv(x, width * 4)
    x = conv(x, width * 4)
    x = layers.MaxPooling2D()(x)  # 6
    x = conv(x, width * 6)
    x = conv(x, width * 6)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Dense(len(EMOTION_LABELS))(x)
    outputs = layers.Softmax(name="probabilities", dtype="float32")(x)  # stable under bf16
    return keras.Model(inputs, outputs, name=name)


def build_export_model(width: int, weight_files: list[Path]):  # type: ignore[no-untyped-def]
    """The float model to quantize: one trained network, or several averaged in one graph.

    Averaging the probabilities of independently trained networks is the cheapest accuracy a
    small model can buy; inside one .tflite file the daemon needs no code to run the ensemble.
    """
    from tensorflow import keras
    from tensorflow.keras import layers

    members = []
    for index, path in enumerate(weight_files):
        member = build_model(width, name=f"member_{index}" if len(weight_files) > 1 else "soulsync_emotion")
        member.load_weights(path)
        members.append(member)
    if len(members) == 1:
        return members[0], members
    inputs = keras.Input((48, 48, 1), name="face")
    outputs = layers.Average(name="probabilities")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name="soulsync_emotion_ensemble"), members


def training_targets(
    labels: np.ndarray, rows: np.ndarray, args: argparse.Namespace
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Targets (n, 7) and a keep-mask: FER2013 one-hot blended with the FER+ vote distribution.

    Rows that most FER+ annotators called "not a face" are dropped from training.
    """
    onehot = np.eye(len(EMOTION_LABELS), dtype=np.float32)[labels]
    info = {"ferplus_weight": 0.0, "dropped_not_face": 0}
    if args.ferplus_weight <= 0 or not args.ferplus.is_file():
        return onehot, np.ones(len(labels), bool), info
    votes, not_face = read_ferplus_votes(args.ferplus)
    votes, not_face = votes[rows], not_face[rows]
    total = votes.sum(axis=1)
    keep = not_face * 2 <= votes.sum(axis=1) + not_face
    dist = np.divide(votes, total[:, None], out=onehot.copy(), where=total[:, None] > 0)
    w = args.ferplus_weight
    targets = (1 - w) * onehot + w * dist
    info = {"ferplus_weight": w, "dropped_not_face": int((~keep).sum())}
    return targets.astype(np.float32), keep, info


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Square-root inverse frequency, normalised to mean 1: lifts disgust without wrecking accuracy."""
    counts = np.bincount(labels, minlength=len(EMOTION_LABELS)).astype(np.float64)
    weights = 1.0 / np.sqrt(np.maximum(counts, 1))
    weights *= len(counts) / (weights * counts).sum() * counts.sum() / len(counts)
    return weights.astype(np.float32)


def augment_batch(x, seed_layers):  # type: ignore[no-untyped-def]
    """Random flip, rotation, shift, zoom, brightness and contrast on a float batch in [0, 1]."""
    import tensorflow as tf

    x = tf.cast(seed_layers(x, training=True), tf.float32)  # bf16 under mixed precision
    n = tf.shape(x)[0]
    contrast = tf.random.uniform((n, 1, 1, 1), 0.7, 1.3)
    brightness = tf.random.uniform((n, 1, 1, 1), -0.12, 0.12)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * contrast + mean + brightness
    return tf.clip_by_value(x, 0.0, 1.0)


def make_dataset(x: np.ndarray, y: np.ndarray, w: np.ndarray, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.keras import layers

    geometry = keras.Sequential([
        layers.RandomFlip("horizontal", seed=args.seed),
        layers.RandomRotation(0.04, fill_mode="reflect", seed=args.seed + 1),  # +-14 degrees
        layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=args.seed + 2),
        layers.RandomZoom((-0.15, 0.15), fill_mode="reflect", seed=args.seed + 3),
    ])
    ds = tf.data.Dataset.from_tensor_slices((x, y, w))
    ds = ds.shuffle(len(x), seed=args.seed, reshuffle_each_iteration=True).batch(args.batch_size)
    ds = ds.map(lambda a, b, c: (augment_batch(a, geometry), b, c), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(2)


def epochs_done(log_path: Path) -> int:
    if not log_path.is_file():
        return 0
    with open(log_path) as handle:
        return max(0, sum(1 for _ in handle) - 1)


class TimeBudget:
    """Keras callback factory: stop cleanly once the wall-clock budget is spent."""

    @staticmethod
    def make(minutes: float):  # type: ignore[no-untyped-def]
        from tensorflow import keras

        class _Stop(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.deadline = time.monotonic() + minutes * 60
                self.started = time.monotonic()
                self.epoch_seconds: list[float] = []

            def on_epoch_begin(self, epoch, logs=None):  # type: ignore[no-untyped-def]
                self._t = time.monotonic()

            def on_epoch_end(self, epoch, logs=None):  # type: ignore[no-untyped-def]
                self.epoch_seconds.append(time.monotonic() - self._t)
                if minutes > 0 and time.monotonic() + np.median(self.epoch_seconds) > self.deadline:
                    print(f"time budget of {minutes} min reached after epoch {epoch + 1}; stopping",
                          flush=True)
                    self.model.stop_training = True

        return _Stop()


def train(  # type: ignore[no-untyped-def]
    args: argparse.Namespace, train_x, train_targets, train_w, *, val_x, val_y
) -> dict:
    import tensorflow as tf
    from tensorflow import keras

    args.work_dir.mkdir(parents=True, exist_ok=True)
    last_path = args.work_dir / "last.keras"
    best_path = args.work_dir / "best.weights.h5"
    log_path = args.work_dir / "log.csv"
    steps_per_epoch = int(np.ceil(len(train_x) / args.batch_size))
    initial_epoch = 0
    keras.mixed_precision.set_global_policy(args.precision)
    if args.resume and last_path.is_file():
        model = keras.models.load_model(last_path)
        initial_epoch = epochs_done(log_path)
        print(f"resuming from {last_path} at epoch {initial_epoch}", flush=True)
    else:
        model = build_model(args.width)
        if args.init_weights is not None:
            # Fine-tuning: a new warm-up and cosine cycle from earlier weights (a warm restart).
            model.load_weights(args.init_weights)
            print(f"starting from the weights in {args.init_weights}", flush=True)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=args.lr / 20,
            decay_steps=steps_per_epoch * (args.epochs - 2),
            warmup_target=args.lr,
            warmup_steps=steps_per_epoch * 2,
            alpha=0.01,
        )
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay),
            loss=keras.losses.CategoricalCrossentropy(),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
        if log_path.exists():
            log_path.unlink()
    model.summary(print_fn=lambda s: print(s, flush=True))
    val_onehot = np.eye(len(EMOTION_LABELS), dtype=np.float32)[val_y]
    budget = TimeBudget.make(args.max_minutes)
    started = time.monotonic()
    model.fit(
        make_dataset(train_x, train_targets, train_w, args),
        validation_data=(val_x, val_onehot),
        epochs=args.epochs,
        initial_epoch=initial_epoch,
        verbose=2,
        callbacks=[
            keras.callbacks.ModelCheckpoint(best_path, monitor="val_accuracy", mode="max",
                                            save_best_only=True, save_weights_only=True, verbose=1,
                                            initial_value_threshold=_best_so_far(log_path)),
            keras.callbacks.ModelCheckpoint(last_path),
            keras.callbacks.CSVLogger(str(log_path), append=True),
            budget,
        ],
    )
    del tf
    return {
        "epochs_run": epochs_done(log_path),
        "train_minutes_this_run": round((time.monotonic() - started) / 60, 1),
        "epoch_seconds_median": (
            round(float(np.median(budget.epoch_seconds)), 1) if budget.epoch_seconds else None
        ),
    }


def _best_so_far(log_path: Path) -> float | None:
    if not log_path.is_file():
        return None
    with open(log_path) as handle:
        scores = [float(r["val_accuracy"]) for r in csv.DictReader(handle)]
    return max(scores) if scores else None


def convert_int8(model, representative: np.ndarray, out_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Full-integer quantization: int8 weights, activations, input and output."""
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

        def samples():  # type: ignore[no-untyped-def]
            for i in range(len(representative)):
                yield [representative[i : i + 1]]

        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        out_path.write_bytes(converter.convert())


def figures(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, per-class recall and confusion (rows = true class, columns = predicted)."""
    from soulsyncd.vision.metrics import classification_report

    return classification_report(probabilities.argmax(axis=1), labels)


def export(
    args: argparse.Namespace, train_x: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, extra: dict
) -> None:
    import tensorflow as tf
    from tensorflow import keras

    keras.mixed_precision.set_global_policy("float32")  # the exported graph must not carry bf16 casts
    weight_files = args.members or [args.work_dir / "best.weights.h5"]
    model, members = build_export_model(args.width, weight_files)
    member_accuracy = {
        os.path.relpath(path, ROOT):
            figures(member.predict(val_x, batch_size=256, verbose=0), val_y)["accuracy"]
        for path, member in zip(weight_files, members, strict=True)
    }
    float_probs = model.predict(val_x, batch_size=256, verbose=0)
    float_flip = model.predict(val_x[:, :, ::-1, :], batch_size=256, verbose=0)
    rng = np.random.default_rng(args.seed)
    representative = train_x[rng.choice(len(train_x), size=min(500, len(train_x)), replace=False)]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    model_path = args.out_dir / "emotion_int8.tflite"
    convert_int8(model, representative, model_path)
    classifier = EmotionClassifier(
        ClassifierOptions(model_path=model_path, num_threads=args.threads, flip_average=False)
    )
    starts = range(0, len(val_x), 256)
    int8_probs = np.concatenate([classifier.predict(val_x[i : i + 256]) for i in starts])
    int8_flip = np.concatenate([classifier.predict(val_x[i : i + 256, :, ::-1]) for i in starts])
    float_fig, int8_fig = figures(float_probs, val_y), figures(int8_probs, val_y)
    meta = {
        "name": "soulsync_emotion",
        "file": model_path.name,
        "sha256": file_sha256(model_path),
        "bytes": model_path.stat().st_size,
        "parameters": int(model.count_params()),
        "labels": list(EMOTION_LABELS),
        "input": {
            "shape": [1, 48, 48, 1],
            "colour": "grey (OpenCV BGR2GRAY)",
            "resize": "cv2.INTER_AREA to 48x48 when the crop is another size",
            "normalisation": "float = pixel / 255, in [0, 1]",
            "preprocessing_function": "soulsyncd.vision.classifier.to_model_input",
            "dtype": "int8",
        },
        "quantization": {
            "scheme": "full-integer post-training quantization (TFLite converter), per-channel int8 weights",
            "input": _quant(classifier._input),
            "output": _quant(classifier._output),
            "representative_data": f"{len(representative)} random Training rows (seed {args.seed})",
        },
        "training": {
            "data": f"FER2013 Training split of {args.csv.name} ({len(train_x)} rows used)",
            "validation": "FER2013 PublicTest, chooses the checkpoint (best val accuracy)",
            "recipe": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                       if k not in {"csv", "ferplus", "work_dir", "out_dir", "resume", "export_only",
                                    "members"}},
            "members_float_accuracy": member_accuracy,
            **extra,
            "tensorflow": tf.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "publictest": {
            "n": len(val_y),
            "float": float_fig,
            "int8": int8_fig,
            "float_flip_average_accuracy": figures(float_probs + float_flip, val_y)["accuracy"],
            "int8_flip_average_accuracy": figures(int8_probs + int8_flip, val_y)["accuracy"],
        },
    }
    (args.out_dir / "emotion.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {model_path} ({meta['bytes']} bytes) and emotion.json", flush=True)
    print(f"PublicTest accuracy: float {float_fig['accuracy']:.4f}, int8 {int8_fig['accuracy']:.4f}, "
          f"int8 with flip-average {meta['publictest']['int8_flip_average_accuracy']:.4f}", flush=True)


def _quant(detail: dict) -> dict:
    scale, zero_point = detail["quantization"]
    return {"dtype": np.dtype(detail["dtype"]).name, "scale": float(scale), "zero_point": int(zero_point)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from tensorflow import keras

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    keras.utils.set_random_seed(args.seed)

    if not args.csv.is_file():
        print(f"error: training CSV not found: {args.csv}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    train_split = read_fer_csv(args.csv, ["Training"])
    val_split = read_fer_csv(args.csv, ["PublicTest"])
    if args.limit:
        train_split = type(train_split)(
            *(a[: args.limit] for a in (train_split.images, train_split.labels, train_split.rows))
        )
        val_split = type(val_split)(
            *(a[: args.limit] for a in (val_split.images, val_split.labels, val_split.rows))
        )
    print(f"read {len(train_split.labels)} Training and {len(val_split.labels)} PublicTest rows "
          f"in {time.monotonic() - t0:.0f} s", flush=True)
    targets, keep, target_info = training_targets(train_split.labels, train_split.rows, args)
    train_x = to_model_input(train_split.images[keep])
    weights = class_weights(train_split.labels[keep])[train_split.labels[keep]]
    val_x = to_model_input(val_split.images)
    extra: dict = {"targets": target_info}
    if not args.export_only:
        extra.update(train(args, train_x, targets[keep], weights, val_x=val_x, val_y=val_split.labels))
    else:
        log = args.work_dir / "log.csv"
        extra["epochs_run"] = epochs_done(log)
    export(args, train_x, val_x, val_split.labels, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
