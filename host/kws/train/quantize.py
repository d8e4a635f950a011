"""`kws quantize`: full-integer int8 TFLite with a tracked calibration set.

Calibration: ``calibration/<model>/quant_cal_idxs.txt`` lists the clip ids used for
post-training quantization (like MLPerf Tiny), stratified by label from the training split
and chosen by hash, so the set is deterministic. Its header records the front-end hash and
the data manifest hash; a set made for another front end, an empty one, or one naming clips
the data set does not have is refused with a clear error.

The converted model's input is the front end's int8 features with quantization exactly
(2^input_scale_log2, 0): the representative set includes one sample pinned to -128 and 127
so the converter derives that range, and the result is checked. Only ops the C generator
supports may appear. Int8 accuracy is measured with TFLM's host interpreter — the reference
the firmware must match bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from kws.data import manifest as mf
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference.tflm import tflm_logits
from kws.train.provenance import check_trained_with

SUPPORTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "PAD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED")
CALIBRATION_DIR = REPO_ROOT / "calibration"


class QuantizeError(KwsError):
    pass


def calibration_ids(spec, task, data_dir: Path, path: Path) -> list[str]:
    """Read (or create, deterministically) the calibration id list; validate it."""
    man = mf.load(data_dir)
    train_ids = {e["id"] for e in man["entries"] if e["split"] == "train"}
    if path.exists():
        header, ids = {}, []
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                parts = line[1:].split()
                if len(parts) == 2:
                    header[parts[0]] = parts[1]
            elif line.strip():
                ids.append(line.strip())
        if header.get("frontend") != spec.frontend.hash:
            raise QuantizeError(
                f"{path}: calibration set was made for front end {header.get('frontend', '?')[:12]}, "
                f"this spec is {spec.frontend.hash[:12]}; delete the file to choose a new set"
            )
        if not ids:
            raise QuantizeError(f"{path}: calibration set is empty")
        missing = [i for i in ids if i not in train_ids]
        if missing:
            raise QuantizeError(
                f"{path}: {len(missing)} calibration clips are not in the training split of "
                f"{data_dir} (first: {missing[:3]}); delete the file to choose a new set"
            )
        return ids
    n = spec.train.calibration_clips
    by_label: dict[str, list[str]] = {}
    for e in man["entries"]:
        if e["split"] == "train":
            by_label.setdefault(e["label"], []).append(e["id"])
    if not by_label:
        raise QuantizeError(f"{data_dir}: no training clips to calibrate on")
    ids = []
    per = max(1, n // len(by_label))
    for lab in sorted(by_label):
        ranked = sorted(by_label[lab], key=lambda i: hashlib.sha1(i.encode()).hexdigest())
        ids += ranked[:per]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        f"# Post-training quantization calibration set: clip ids of the training split.\n"
        f"# frontend {spec.frontend.hash}\n# data {man['hash']}\n# task {task.name}\n" + "\n".join(ids) + "\n"
    )
    write_if_changed(path, text)
    return ids


def _features_of(ids: list[str], spec, task, data_dir: Path) -> np.ndarray:
    import soundfile as sf

    from kws.train.features import clip_features

    man = {e["id"]: e for e in mf.load(data_dir)["entries"]}
    pcm = np.stack([sf.read(str(data_dir / man[i]["path"]), dtype="int16")[0] for i in ids])
    return clip_features(pcm, spec.frontend, spec.model.window_frames)


def convert(keras_model, spec, cal_features: np.ndarray) -> bytes:
    """Full-int8 TFLite (int8 input and output) of a trained Keras model."""
    import tensorflow as tf

    from kws.train.model import build

    f, c = spec.model.window_frames, spec.frontend.num_cepstra
    got = tuple(keras_model.input_shape[1:])
    if got != (f, c, 1):
        raise QuantizeError(
            f"model input shape {got} does not match the spec's [{f}, {c}, 1] "
            "(model.window_frames x frontend.dct.num_cepstra): retrain with this spec"
        )
    if cal_features.size == 0:
        raise QuantizeError("calibration set is empty")
    num_classes = keras_model.output_shape[-1]
    fixed = build(spec.model, c, num_classes, batch_size=1, mask=False)  # static shapes, no training-only layers
    try:
        fixed.set_weights(keras_model.get_weights())
    except ValueError as e:
        raise QuantizeError(
            f"the trained network's weights do not fit the spec's [model] ({e}): quantize with the "
            "spec it was trained with, or retrain"
        ) from e
    scale = spec.model.input_scale
    # a stride or a padding that differs keeps every weight's shape and computes another function
    probe = cal_features[:8].astype(np.float32)[..., None] * scale
    want = np.concatenate([np.asarray(keras_model(x[None], training=False)) for x in probe])
    got = np.concatenate([np.asarray(fixed(x[None], training=False)) for x in probe])
    if np.abs(got - want).max() > 1e-4 * float(np.abs(want).max()) + 1e-9:  # the same network: equal to rounding
        raise QuantizeError(
            f"the network rebuilt from the spec's [model] computes other logits than the trained one "
            f"(largest difference {float(np.abs(got - want).max()):.3g}): quantize with the spec it "
            "was trained with, or retrain"
        )
    pinned = cal_features[0].copy()
    pinned[0, 0], pinned[0, 1] = -128, 127  # pins the input range to the int8 range

    def representative():
        yield [pinned[None, ..., None].astype(np.float32) * scale]
        for x in cal_features:
            yield [x[None, ..., None].astype(np.float32) * scale]

    conv = tf.lite.TFLiteConverter.from_keras_model(fixed)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    blob = conv.convert()
    check_tflite(blob, spec)
    return blob


def tflite_ops(blob: bytes) -> list[str]:
    from kws.reference.tflite_model import TFLiteModel

    return [op.name for op in TFLiteModel.from_bytes(blob).operators]


def check_tflite(blob: bytes, spec) -> None:
    """The int8 model fits the firmware: supported ops, int8 input of the spec's shape and scale."""
    from kws.reference.tflite_model import TFLiteModel

    m = TFLiteModel.from_bytes(blob)
    bad = sorted({op.name for op in m.operators} - set(SUPPORTED_OPS))
    if bad:
        raise QuantizeError(f"ops {bad} are not supported by the C generator (supported: {list(SUPPORTED_OPS)})")
    tin = m.tensors[m.inputs[0]]
    want = (1, spec.model.window_frames, spec.frontend.num_cepstra, 1)
    if tin.shape != want or tin.dtype != np.int8:
        raise QuantizeError(
            f"model input is {np.dtype(tin.dtype).name}{list(tin.shape)}, the firmware feeds int8{list(want)}"
        )
    s, zp = float(tin.scale[0]), int(tin.zero_point[0])
    if zp != 0 or abs(s - spec.model.input_scale) > 1e-9:
        raise QuantizeError(
            f"model input quantization ({s}, {zp}) differs from the front end's "
            f"({spec.model.input_scale}, 0): the int8 features would need requantizing"
        )


def test_metrics(spec, task, model, blob: bytes, data_dir: Path, *, progress: bool = True) -> tuple[dict, dict]:
    """Float (Keras ``model``) and int8 (``blob`` in TFLM's host interpreter) metrics on the test
    split of held-out voices: accuracy, per class, per source, per context and per voice."""
    from kws.train.features import build_features
    from kws.train.metrics import contexts, evaluate_logits, voice_groups

    feats = build_features(
        data_dir,
        spec,
        task,
        augment_copies=spec.train.augment_copies,
        cache_dir=Path(data_dir) / "features",
        progress=progress,
    )
    x, y, src = feats["x_test"], feats["y_test"], feats["source_test"]
    ctx, voices = contexts(data_dir, feats["id_test"]), voice_groups(data_dir, feats["id_test"])
    fl = evaluate_logits(
        model.predict(x.astype(np.float32)[..., None] * spec.model.input_scale, batch_size=512, verbose=0),
        y,
        task.labels,
        src,
        ctx,
        voices,
    )
    q = evaluate_logits(tflm_logits(blob, x).astype(np.float32), y, task.labels, src, ctx, voices)
    return fl, q


def quantize(
    spec,
    task,
    train_dir: str | Path,
    data_dir: str | Path,
    *,
    name: str,
    progress: bool = True,
    calibration_dir: str | Path | None = None,
    qat_epochs: int = 0,
) -> dict:
    """Convert ``train_dir/model.keras`` to ``train_dir/model.tflite``; float vs int8 accuracy.
    ``qat_epochs`` > 0: quantization-aware fine-tuning first (kws.train.qat) instead of
    post-training calibration."""
    import keras

    train_dir, data_dir = Path(train_dir), Path(data_dir)
    check_trained_with(spec, train_dir)
    from kws.train.model import custom_objects

    model = keras.models.load_model(train_dir / "model.keras", custom_objects=custom_objects(), compile=False)
    cal_path = Path(calibration_dir or CALIBRATION_DIR) / name / "quant_cal_idxs.txt"
    ids = calibration_ids(spec, task, data_dir, cal_path)
    qat_log = None
    if qat_epochs and spec.model.members > 1:
        raise QuantizeError(
            f"{train_dir}: quantization-aware training of an ensemble ([model] members = "
            f"{spec.model.members}) would fill the zero blocks that keep its members apart; "
            "quantize it after training (no --qat-epochs)"
        )
    if qat_epochs:
        from kws.train.qat import qat_tflite

        blob, qat_log = qat_tflite(model, spec, task, data_dir, train_dir, epochs=qat_epochs, progress=progress)
        check_tflite(blob, spec)
    else:
        blob = convert(model, spec, _features_of(ids, spec, task, data_dir))
    tmp = train_dir / f".model.tflite.tmp{os.getpid()}"
    tmp.write_bytes(blob)
    os.replace(tmp, train_dir / "model.tflite")

    fl, q = test_metrics(spec, task, model, blob, data_dir, progress=progress)
    result = {
        "float_test": fl,
        "int8_test": q,
        "tflite_bytes": len(blob),
        "ops": tflite_ops(blob),
        "calibration": {
            "path": str(cal_path.relative_to(REPO_ROOT)) if cal_path.is_relative_to(REPO_ROOT) else str(cal_path),
            "clips": len(ids),
        },
        "int8_reference": "TFLM host interpreter (tflite_micro.runtime)",
        "method": ("quantization-aware training" if qat_epochs else "post-training (calibration set)"),
        **({"qat": qat_log} if qat_log else {}),
    }
    write_if_changed(train_dir / "quantize.json", json.dumps(result, indent=1) + "\n")
    return result
