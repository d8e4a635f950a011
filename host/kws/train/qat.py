"""Quantization-aware training (optional): fine-tune a trained float model with fake
quantization in the loop, then convert it to the same full-int8 TFLite as post-training
quantization (`kws quantize --qat-epochs N`).

tensorflow-model-optimization works on tf-keras (Keras 2), which TensorFlow only selects
when ``TF_USE_LEGACY_KERAS=1`` is set before it is first imported, while the rest of the
toolchain is Keras 3. So QAT runs in a child process (``python -m kws.train.qat``): the
parent hands it the float weights in an ``.npz`` and gets a checked ``.tflite`` back. Both
packages are installed with ``--no-deps`` (requirements/qat.txt): tf-keras would otherwise
pull the full ``tensorflow`` wheel over ``tensorflow-cpu``.

The input quantizer is pinned to the front end's int8 format, (2^input_scale_log2, 0):
its range is set to [-128, 127] x scale before training, and since every feature is an int8
times that scale, the all-values quantizer never widens it. The converted model is checked
like any other (ops the C generator supports, exact input quantization).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from kws.errors import KwsError

PACKAGES = ("tf_keras", "tensorflow_model_optimization")


def missing() -> list[str]:
    """QAT packages that are not installed (empty: QAT is available)."""
    return [p for p in PACKAGES if importlib.util.find_spec(p) is None]


def qat_tflite(
    keras_model,
    spec,
    task,
    data_dir: Path,
    work_dir: Path,
    *,
    epochs: int,
    learning_rate: float = 2e-4,
    progress: bool = True,
) -> tuple[bytes, dict]:
    """Fine-tune ``keras_model`` (Keras 3, float) with QAT for ``epochs`` in a child process;
    returns the int8 TFLite and the child's log (epochs, validation accuracy per epoch)."""
    gone = missing()
    if gone:
        raise KwsError(
            f"quantization-aware training needs {', '.join(gone)}: install requirements/qat.txt with "
            "`pip install --no-deps -r requirements/qat.txt` (make setup does)"
        )
    if epochs < 1:
        raise KwsError(f"--qat-epochs must be at least 1, got {epochs}")
    work_dir.mkdir(parents=True, exist_ok=True)
    weights = work_dir / "qat_float_weights.npz"
    np.savez(weights, *keras_model.get_weights())
    out = work_dir / "model_qat.tflite"
    log = work_dir / "qat.json"
    cmd = [
        sys.executable,
        "-m",
        "kws.train.qat",
        "--weights",
        str(weights),
        "--data",
        str(data_dir),
        "--task",
        task.source,
        "--out",
        str(out),
        "--log",
        str(log),
        "--epochs",
        str(epochs),
        "--learning-rate",
        str(learning_rate),
        "--classes",
        str(keras_model.output_shape[-1]),
        "--spec",
        spec.source,
        "--model",
        _network_fields(spec),
    ]
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    r = subprocess.run(cmd, env=env, stdout=None if progress else subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        tail = "\n".join(r.stderr.strip().splitlines()[-15:])
        raise KwsError(f"quantization-aware training failed (exit {r.returncode}):\n{tail}")
    return out.read_bytes(), json.loads(log.read_text())


def _pin_input_quantizer(qmodel, scale: float) -> None:
    """Set the model's input fake-quant range to exactly the int8 grid of ``scale``."""
    layer = qmodel.layers[1]
    if type(layer).__name__ != "QuantizeLayer":
        raise KwsError(f"expected the input QuantizeLayer after the input, found {type(layer).__name__}")
    lo, hi = -128 * scale, 127 * scale
    n = 0
    for v in layer.weights:
        if v.name.split("/")[-1].split(":")[0].endswith("_min"):
            v.assign(lo)
            n += 1
        elif v.name.split("/")[-1].split(":")[0].endswith("_max"):
            v.assign(hi)
            n += 1
    if n != 2:
        raise KwsError(f"input QuantizeLayer has no min/max variables to pin ({[v.name for v in layer.weights]})")


def _quantized(model, tfmot, tf_keras):
    """tfmot's default 8-bit QAT model, except that the average pooling and the reshape after
    it keep their input's range, as TFLite's int8 AVERAGE_POOL_2D must: tfmot gives them their
    own output ranges by default, which convert to a requantization (QUANTIZE op) the device
    would have to run for nothing."""
    qk = tfmot.quantization.keras

    class NoOutputQuantization(qk.QuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    def annotate(layer):
        if isinstance(layer, (tf_keras.layers.AveragePooling2D, tf_keras.layers.Reshape)):
            return qk.quantize_annotate_layer(layer, quantize_config=NoOutputQuantization())
        return qk.quantize_annotate_layer(layer)

    annotated = tf_keras.models.clone_model(model, clone_function=annotate)
    with qk.quantize_scope({"NoOutputQuantization": NoOutputQuantization}):
        return qk.quantize_apply(annotated)


def _network_fields(spec) -> str:
    """The network the parent trained (its task-settable [model] fields, JSON): the child builds
    exactly that one, not whatever the task file would give."""
    from kws.spec import TASK_MODEL_FIELDS

    fields = dataclasses.asdict(spec.model)
    return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in fields.items() if k in TASK_MODEL_FIELDS})


def _child(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m kws.train.qat")
    for a in ("--weights", "--data", "--task", "--out", "--log", "--spec", "--model"):
        ap.add_argument(a)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--learning-rate", type=float, required=True)
    ap.add_argument("--classes", type=int, required=True)
    args = ap.parse_args(argv)
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise SystemExit("run with TF_USE_LEGACY_KERAS=1 (kws.train.qat.qat_tflite does)")

    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from kws.data.task import load_task
    from kws.spec import load_spec, with_model
    from kws.train.features import build_features
    from kws.train.model import build

    task = load_task(args.task)
    spec = with_model(task.spec(load_spec(args.spec)), json.loads(args.model), "kws.train.qat --model")
    tf_keras.utils.set_random_seed(spec.train.seed)
    with np.load(args.weights) as z:
        weights = [z[f"arr_{i}"] for i in range(len(z.files))]
    # no dropout layer: tfmot would give it its own output range, a requantization (QUANTIZE op)
    # between the pooling and the dense layer that the device would have to run
    model = build(spec.model, spec.frontend.num_cepstra, args.classes, mask=False, dropout=0.0, keras_mod=tf_keras)
    model.set_weights(weights)
    qmodel = _quantized(model, tfmot, tf_keras)
    scale = spec.model.input_scale
    _pin_input_quantizer(qmodel, scale)

    feats = build_features(
        args.data,
        spec,
        task,
        augment_copies=spec.train.augment_copies,
        cache_dir=Path(args.data) / "features",
        progress=False,
    )
    xs = {s: feats[f"x_{s}"].astype(np.float32)[..., None] * scale for s in ("train", "val")}
    qmodel.compile(
        optimizer=tf_keras.optimizers.Adam(args.learning_rate),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    hist = qmodel.fit(
        xs["train"],
        feats["y_train"],
        batch_size=spec.train.batch_size,
        epochs=args.epochs,
        validation_data=(xs["val"], feats["y_val"]),
        verbose=2,
        shuffle=True,
    )

    # Convert a batch-1 twin (static shapes: a dynamic batch adds SHAPE/PACK ops to the reshape)
    # carrying the trained weights and quantizer ranges.
    fixed = _quantized(
        build(
            spec.model,
            spec.frontend.num_cepstra,
            args.classes,
            batch_size=1,
            mask=False,
            dropout=0.0,
            keras_mod=tf_keras,
        ),
        tfmot,
        tf_keras,
    )
    fixed.set_weights(qmodel.get_weights())
    conv = tf.lite.TFLiteConverter.from_keras_model(fixed)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]  # ranges come from the fake-quant nodes
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    blob = conv.convert()  # checked against the firmware by the caller
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    tmp.write_bytes(blob)
    os.replace(tmp, out)
    Path(args.log).write_text(
        json.dumps(
            {
                "epochs": args.epochs,
                "learning_rate": args.learning_rate,
                "val_accuracy": [float(v) for v in hist.history["val_accuracy"]],
                "packages": {"tensorflow_model_optimization": tfmot.__version__, "tf_keras": tf_keras.__version__},
            },
            indent=1,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
