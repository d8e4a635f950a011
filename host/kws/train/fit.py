"""`kws train`: fit a DS-CNN on device-exact features, seeded and logged.

Writes into the output directory: ``model.keras`` (best validation epoch), ``history.json``,
``metrics.json`` (float accuracy, per-class recall, confusion matrix, accuracy per source
engine on the test split of held-out voices) and ``config.json`` — the effective front-end,
model, training and task configuration with their hashes and the data manifest hash.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from kws.data import manifest as mf
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.train.features import build_features
from kws.train.metrics import contexts, evaluate_logits, voice_balanced_accuracy, voice_groups
from kws.train.model import build


def _voice_metric_callback(keras, x_val, y_val, groups):
    class VoiceBalanced(keras.callbacks.Callback):
        """Adds ``val_voice_accuracy`` to the epoch logs (before early stopping reads them)."""

        def on_epoch_end(self, epoch, logs=None):
            pred = self.model.predict(x_val, batch_size=512, verbose=0).argmax(axis=1)
            logs["val_voice_accuracy"] = voice_balanced_accuracy(pred, y_val, groups)

    return VoiceBalanced()


def split_metrics(model, spec, labels, data_dir: Path, feats) -> dict:
    """A float network's metrics on the validation and test clips (``feats``: build_features),
    voice-balanced accuracy included: what kws train writes and kws pick ranks by."""
    out = {}
    for split in ("val", "test"):
        x = feats[f"x_{split}"].astype(np.float32)[..., None] * spec.model.input_scale
        logits = model.predict(x, batch_size=512, verbose=0)
        groups = voice_groups(data_dir, feats[f"id_{split}"])
        out[split] = evaluate_logits(
            logits,
            feats[f"y_{split}"],
            labels,
            feats[f"source_{split}"],
            contexts(data_dir, feats[f"id_{split}"]),
            groups,
        )
        out[split]["voice_balanced_accuracy"] = voice_balanced_accuracy(
            logits.argmax(axis=1), feats[f"y_{split}"], groups
        )
    return out


def effective_config(spec, task, data_dir: Path) -> dict:
    man = mf.load(data_dir)
    return {
        "frontend": {"hash": spec.frontend.hash, **spec.frontend.as_dict()},
        "model": {"hash": spec.model.hash, **asdict(spec.model)},
        "train": {"hash": spec.train.hash, **asdict(spec.train)},
        "task": {"name": task.name, "hash": task.hash, "labels": list(task.labels)},
        "data": {"dir": str(data_dir), "manifest_hash": man["hash"]},
        "code": mf.code_version(),
    }


def train(
    spec,
    task,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    epochs: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    teacher: str | Path | None = None,
    distill=None,
    init: str | Path | None = None,
) -> dict:
    """``epochs``, ``seed``: override the spec's [train] (recorded in config.json as what ran).
    ``teacher``: a training directory whose logits the network also learns from
    (:mod:`kws.train.distill`; ``distill`` its :class:`~kws.train.distill.Distill` settings).
    ``init``: a training directory of the same network, front end and labels whose weights the
    network starts from (pre-trained on another data set, e.g. the TTS corpus)."""
    import keras
    import tensorflow as tf

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if epochs:
        spec = dataclasses.replace(spec, train=dataclasses.replace(spec.train, epochs=epochs))
    if seed is not None:
        spec = dataclasses.replace(spec, train=dataclasses.replace(spec.train, seed=seed))
    ts = spec.train
    teacher_rec = None
    if teacher is not None:  # checked before any work
        if ts.mixup:
            raise KwsError(
                "[train] mixup and a teacher do not go together: the teacher's logits are of unmixed "
                "examples; set mixup = 0 to distil"
            )
        from kws.train import distill as ds
        from kws.train import speech_embedding as se

        distill = distill or ds.Distill()
        check = se.check if se.is_embedding_teacher(teacher) else ds.check_teacher
        teacher_rec = {**check(teacher, spec, task, mf.load(data_dir)["hash"]), **dataclasses.asdict(distill)}
    if spec.model.members > 1:
        raise KwsError(
            f"[model] members = {spec.model.members}: an ensemble's networks are trained apart and merged "
            "(kws.train.ensemble.train_members, which kws train calls); train() trains one of them"
        )
    init_rec = None
    if init is not None:  # checked before any work
        from kws.train.distill import model_sha256
        from kws.train.provenance import check_made_with, read_config

        start_cfg = read_config(init)
        check_made_with(start_cfg, Path(init) / "config.json", spec=spec, model=spec.model, task=task)
        # what the start was trained on travels with the network (a release records both data sets)
        init_rec = {
            "dir": str(init),
            "sha256": model_sha256(init),
            "data": start_cfg.get("data"),
            "train": start_cfg.get("train"),
        }
    feats = build_features(
        data_dir,
        spec,
        task,
        augment_copies=ts.augment_copies,
        cache_dir=cache_dir or data_dir / "features",
        progress=progress,
    )
    scale = spec.model.input_scale

    def xs(split):
        return feats[f"x_{split}"].astype(np.float32)[..., None] * scale

    x_tr, y_tr = xs("train"), feats["y_train"]
    x_va, y_va = xs("val"), feats["y_val"]
    labels = task.labels
    counts = np.bincount(y_tr, minlength=len(labels))
    class_weight = (
        {i: float(len(y_tr) / (len(labels) * max(c, 1))) for i, c in enumerate(counts)}
        if ts.class_weights == "balanced"
        else None
    )

    loss, metric, t_tr, t_va, sample_weight = (
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "accuracy",
        y_tr,
        y_va,
        None,
    )
    if teacher is not None:
        logits_tr, logits_va = (
            se.logits_for(teacher, feats)
            if se.is_embedding_teacher(teacher)
            else ds.teacher_logits(teacher, x_tr, x_va)
        )
        teacher_rec["teacher_val_accuracy"] = float(np.mean(logits_va.argmax(axis=1) == y_va))
        loss, t_tr, t_va = ds.loss_fn(distill), ds.pack(y_tr, logits_tr), ds.pack(y_va, logits_va)
        metric = keras.metrics.MeanMetricWrapper(ds.label_accuracy, name="accuracy")
        if class_weight is not None:  # Keras reads class weights off 1-D targets only
            sample_weight = np.array([class_weight[int(c)] for c in y_tr], np.float32)
            class_weight = None
    keras.utils.set_random_seed(ts.seed)  # after loading a teacher: the student starts as without one
    tf.config.experimental.enable_op_determinism()

    with _private_python_random(ts.seed):
        model = build(spec.model, spec.frontend.num_cepstra, len(labels))
    if init is not None:
        from kws.train.model import custom_objects

        start = keras.models.load_model(Path(init) / "model.keras", custom_objects=custom_objects(), compile=False)
        model.set_weights(start.get_weights())
    epochs = epochs or ts.epochs
    steps = int(np.ceil(len(y_tr) / ts.batch_size)) * epochs
    lr = keras.optimizers.schedules.CosineDecay(ts.learning_rate, decay_steps=max(steps, 1), alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=[metric])
    # Early stopping on the validation voices, each weighing the same: the validation split holds
    # few voices, one of them with hundreds of clips (flite awb), which alone swung plain validation
    # accuracy by 20 points between epochs.
    voice_cb = _voice_metric_callback(keras, x_va, y_va, voice_groups(data_dir, feats["id_val"]))
    stop = keras.callbacks.EarlyStopping(
        monitor="val_voice_accuracy",
        mode="max",
        patience=ts.patience,
        restore_best_weights=True,
        start_from_epoch=ts.min_epochs,
    )
    fit_args: dict = {
        "x": x_tr,
        "y": t_tr,
        "batch_size": ts.batch_size,
        "class_weight": class_weight,
        "sample_weight": sample_weight,
        "shuffle": True,
    }
    if ts.mixup:
        from kws.train import mixup

        k = len(labels)
        model.compile(
            optimizer=keras.optimizers.Adam(lr),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
            loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        )
        w = None if class_weight is None else np.array([class_weight[int(c)] for c in y_tr], np.float32)
        fit_args = {
            "x": mixup.batches(
                keras, x_tr, y_tr, k, batch_size=ts.batch_size, alpha=ts.mixup, seed=ts.seed, sample_weight=w
            )
        }
        t_va = np.eye(k, dtype=np.float32)[y_va]
    t0 = time.perf_counter()
    from kws.progress import epochs_callback

    hist = model.fit(
        **fit_args,
        epochs=epochs,
        validation_data=(x_va, t_va),
        verbose=0,
        callbacks=[voice_cb, stop, epochs_callback(keras, epochs, progress=progress)],
    )
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.keras")

    metrics = split_metrics(model, spec, labels, data_dir, feats)
    metrics["train_seconds"] = seconds
    metrics["epochs_run"] = len(hist.history["loss"])
    metrics["train_examples"] = int(len(y_tr))
    write_if_changed(
        out_dir / "history.json",
        json.dumps({k: [float(v) for v in vs] for k, vs in hist.history.items()}, indent=1) + "\n",
    )
    write_if_changed(out_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    config = effective_config(spec, task, data_dir)
    if teacher_rec is not None:
        config["teacher"] = teacher_rec
    if init_rec is not None:
        config["init"] = init_rec
    write_if_changed(out_dir / "config.json", json.dumps(config, indent=1) + "\n")
    return metrics


@contextlib.contextmanager
def _private_python_random(seed: int):
    """Keras draws its initializers' and dropout's seeds from Python's global ``random``, which
    other threads of the process draw from too (a Dask worker's heartbeats, with jitter): a
    network built on a worker then came out differently run to run. Inside this, Keras draws from
    a generator of its own, seeded as keras.utils.set_random_seed seeds the global one: the same
    draws as a quiet process, wherever it runs."""
    import random

    from keras.src.random import seed_generator as sg  # where Keras keeps its reference to it

    saved, sg.python_random = sg.python_random, random.Random(seed)
    try:
        yield
    finally:
        sg.python_random = saved


def set_threads() -> None:
    """Use the machine's cores (TF defaults can oversubscribe small machines)."""
    import tensorflow as tf

    n = os.cpu_count() or 2
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(2)
    except RuntimeError:  # TensorFlow already running in this process: it keeps the threads it has
        pass
