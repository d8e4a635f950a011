"""`kws adapt`: a released model fine-tuned to its user's voice from a few enrolled takes.

What limits the built-in corpus is how few people speak in it: a person heard in training gains
~19 points of accuracy (docs/results.md, "Held-out voices, corrected"). Adaptation gives the
user's own voice that advantage. The takes come from ``kws record`` (or any recordings folder)
through ``kws data ingest recordings``: validated, hashed, in a data set of their own. The same
fine-tuning takes windows cut out of streams by ``kws data mine`` (false accepts and keyword
windows; docs/training.md, "Streaming windows, mined"); their lineage goes into the config.

Recipe (docs/training.md, "Adapting to a speaker"): the release's float network
(``models/<name>/model.keras``), batch-norm statistics frozen; the user's takes, each with
``copies`` augmented copies (the task's ``[augment]``: noise, shift, gain, speed, reverb), mixed
with a fixed sample of the base training features (rehearsal: the words, near-misses and voices
the model already tells apart are not forgotten); Adam at a low constant rate for a few epochs,
seeded. A merged ensemble's 1x1 convolutions stay block-diagonal (the device computes only the
diagonal blocks). A share of the user's takes per label (by hash) is held back and never
trained on: the adapted model is measured on them, float and int8 (TFLM), beside the base
model. Quantized like every model — the base model's tracked calibration set, TFLM as the
reference — and measured on the base test split (held-out voices: what adaptation costs other
people). The output directory is a training directory: ``kws release --train-dir`` takes it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np

from kws.data import manifest as mf
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.released import ReleasedModel


def held_back(entries: list[dict], fraction: float) -> set[str]:
    """Ids of the user's takes kept out of training: per label, ``floor(n * fraction)`` of them,
    the first by sha1 of the id (deterministic, independent of file order)."""
    by_label: dict[str, list[str]] = {}
    for e in entries:
        by_label.setdefault(e["label"], []).append(e["id"])
    out: set[str] = set()
    for ids in by_label.values():
        ranked = sorted(ids, key=lambda i: hashlib.sha1(i.encode()).hexdigest())
        out.update(ranked[: int(len(ranked) * fraction)])
    return out


def block_diagonal_masks(model, members: int) -> list[tuple[object, np.ndarray]]:
    """(kernel variable, 0/1 mask) of every 1x1 convolution of a merged ensemble: member k's
    output channels read only member k's input channels."""
    out = []
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D" and tuple(layer.kernel_size) == (1, 1):
            k = np.asarray(layer.kernel)
            c = k.shape[2]
            if c % members or k.shape[3] != c:
                raise KwsError(
                    f"layer {layer.name}: a {k.shape[2]}->{k.shape[3]} 1x1 convolution is not the merge of "
                    f"{members} members"
                )
            w = c // members
            mask = np.zeros_like(k)
            for m in range(members):
                mask[:, :, m * w : (m + 1) * w, m * w : (m + 1) * w] = 1
            if np.any(k * (1 - mask)):
                raise KwsError(
                    f"layer {layer.name}: weights outside the members' diagonal blocks: not a merged ensemble"
                )
            out.append((layer.kernel, mask))
    return out


def _base_model(model_dir: Path, task) -> tuple[ReleasedModel, Path]:
    rm = ReleasedModel.load(model_dir)
    if rm.task != task.name or rm.labels != tuple(task.labels):
        raise KwsError(
            f"{model_dir}: a model of task {rm.task!r} ({', '.join(rm.labels)}), not of "
            f"{task.name!r}: give --task {rm.task}"
        )
    fl = rm.manifest.get("float_model")
    path = model_dir / (fl["file"] if fl else "model.keras")
    if not fl or not path.is_file():
        raise KwsError(
            f"{model_dir}: no float network (model.keras) to adapt; release it with it: "
            f"`kws release --attach-float --train-dir <its training directory> --name {model_dir.name}`"
        )
    if hashlib.sha256(path.read_bytes()).hexdigest() != fl["sha256"]:
        raise KwsError(f"{path}: does not match the manifest's sha256 (changed since release)")
    return rm, path


def _user_clips(user_dir: Path, task, base_hash: str) -> tuple[dict, list[dict]]:
    user = mf.load(user_dir)
    if user["labels"] != list(task.labels):
        raise KwsError(
            f"{user_dir}: data set labels {user['labels']} are not task {task.name!r}'s {list(task.labels)}: "
            f"ingest the takes with --task {task.name}"
        )
    if user["hash"] == base_hash:
        raise KwsError(
            f"{user_dir}: this is the base data set; give the user's own takes (kws record, then "
            "kws data ingest recordings)"
        )
    ents = list(user["entries"])
    if not ents:
        raise KwsError(f"{user_dir}: no takes to adapt to (an empty data set)")
    return user, ents


def adapt(
    spec,
    task,
    model_dir: str | Path,
    user_dir: str | Path,
    base_dir: str | Path,
    out_dir: str | Path,
    *,
    epochs: int = 6,
    copies: int = 20,
    rehearsal: int = 8000,
    learning_rate: float = 3e-4,
    holdout: float = 0.2,
    seed: int = 1,
    calibration_dir: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Fine-tune ``model_dir``'s float network on ``user_dir``'s takes; quantize; measure. Returns
    (and writes to ``out_dir/adapt.json``) the before/after figures."""
    import keras
    import tensorflow as tf

    from kws.data.augment import augment
    from kws.reference.tflm import tflm_logits
    from kws.train.features import build_features, clip_features, read_clip
    from kws.train.fit import effective_config
    from kws.train.model import custom_objects
    from kws.train.quantize import quantize

    model_dir, user_dir, base_dir, out_dir = map(Path, (model_dir, user_dir, base_dir, out_dir))
    rm, keras_path = _base_model(model_dir, task)
    man = rm.manifest
    base = mf.load(base_dir)
    if base["hash"] != man["data"]["manifest_hash"]:
        raise KwsError(
            f"{base_dir}: data set {base['hash'][:16]}, but {model_dir} was trained on "
            f"{man['data']['manifest_hash'][:16]}: give the data set it was released from (rehearsal, "
            "calibration and the held-out test)"
        )
    rm.check_frontend(spec)
    user, ents = _user_clips(user_dir, task, base["hash"])
    if not 0 <= holdout < 1:
        raise KwsError(f"--holdout {holdout}: a fraction in [0, 1)")
    back = held_back(ents, holdout)
    train_ents = [e for e in ents if e["id"] not in back]
    back_ents = [e for e in ents if e["id"] in back]
    out_dir.mkdir(parents=True, exist_ok=True)

    samples = int(round(task.clip_seconds * spec.frontend.sample_rate_hz))
    labels = list(task.labels)
    frames = spec.model.window_frames

    def pcm_of(es):
        return [read_clip(user_dir / e["path"], samples) for e in es]

    base_silence = [e for e in base["entries"] if e["split"] == "train" and e["label"] == task.silence_label]
    bgs = [read_clip(base_dir / e["path"], samples) for e in base_silence]
    bgs += [p for p, e in zip(pcm_of(train_ents), train_ents) if e["label"] == task.silence_label]
    pcm, y = [], []
    for e, p in zip(train_ents, pcm_of(train_ents)):
        speech = task.is_speech(e["label"])
        pcm += [p] + [
            augment(p, clip_id=e["id"], index=k, cfg=task.augment, backgrounds=bgs, is_speech=speech)
            for k in range(copies)
        ]
        y += [labels.index(e["label"])] * (copies + 1)
    x_user = clip_features(np.stack(pcm), spec.frontend, frames)
    y_user = np.array(y, dtype=np.int32)

    feats = build_features(
        base_dir,
        spec,
        task,
        augment_copies=spec.train.augment_copies,
        cache_dir=base_dir / "features",
        progress=progress,
    )
    rng = np.random.default_rng(seed)
    n_rehearse = min(rehearsal, len(feats["y_train"]))
    pick = np.sort(rng.choice(len(feats["y_train"]), size=n_rehearse, replace=False))
    x = np.concatenate([x_user, feats["x_train"][pick]])
    yy = np.concatenate([y_user, feats["y_train"][pick]])

    scale = spec.model.input_scale
    model = keras.models.load_model(keras_path, custom_objects=custom_objects(), compile=False)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.trainable = False  # inference-mode statistics: a few hundred takes would skew them
    masks = block_diagonal_masks(model, spec.model.members) if spec.model.members > 1 else []

    class KeepBlocks(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            for var, mask in masks:
                var.assign(var * mask)

    def f(a):
        return a.astype(np.float32)[..., None] * scale

    def float_acc(xa, ya):
        return float(np.mean(model.predict(f(xa), batch_size=512, verbose=0).argmax(1) == ya)) if len(ya) else None

    x_back = (
        clip_features(np.stack(pcm_of(back_ents)), spec.frontend, frames)
        if back_ents
        else np.zeros((0, frames, spec.frontend.num_cepstra), np.int8)
    )
    y_back = np.array([labels.index(e["label"]) for e in back_ents], dtype=np.int32)
    before = {
        "user_held_back_float": float_acc(x_back, y_back),
        "user_trained_float": float_acc(x_user[:: copies + 1], y_user[:: copies + 1]),
    }

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    from kws.progress import epochs_callback

    hist = model.fit(
        f(x),
        yy,
        batch_size=spec.train.batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=([KeepBlocks()] if masks else []) + [epochs_callback(keras, epochs, progress=progress)],
    )
    after = {
        "user_held_back_float": float_acc(x_back, y_back),
        "user_trained_float": float_acc(x_user[:: copies + 1], y_user[:: copies + 1]),
    }
    model.save(out_dir / "model.keras")

    settings = {
        "epochs": epochs,
        "copies": copies,
        "rehearsal": int(n_rehearse),
        "learning_rate": learning_rate,
        "holdout": holdout,
        "seed": seed,
        "batch_norm": "frozen",
    }
    cfg = effective_config(spec, task, base_dir)
    cfg["train"] = man["spec"]["train"]  # how the base network was trained
    if man["spec"].get("members"):
        cfg["members"] = man["spec"]["members"]
    lineage = user_dir / "lineage.json"
    inputs = json.loads(lineage.read_text()).get("inputs", []) if lineage.is_file() else []
    mined = [i["mined"] for i in inputs if i.get("mined")]  # takes cut out of streams (kws data mine)
    cfg["adapt"] = {
        "base_model": {"name": rm.name, "sha256": rm.sha256, "float_sha256": man["float_model"]["sha256"]},
        "user_data": {
            "dir": str(user_dir),
            "manifest_hash": user["hash"],
            "takes": len(ents),
            "trained_on": len(train_ents),
            "held_back": sorted(back),
            "speakers": sorted({e["speaker"] for e in ents}),
            "labels": dict(sorted(Counter(e["label"] for e in ents).items())),
            **({"mined": mined} if mined else {}),
        },
        "settings": settings,
    }
    write_if_changed(out_dir / "config.json", json.dumps(cfg, indent=1) + "\n")
    write_if_changed(
        out_dir / "history.json",
        json.dumps({k: [float(v) for v in vs] for k, vs in hist.history.items()}, indent=1) + "\n",
    )

    q = quantize(spec, task, out_dir, base_dir, name=rm.name, progress=progress, calibration_dir=calibration_dir)
    base_blob = rm.blob()
    new_blob = (out_dir / "model.tflite").read_bytes()

    def int8_acc(blob):
        return float(np.mean(tflm_logits(blob, x_back).argmax(1) == y_back)) if len(y_back) else None

    before["user_held_back_int8"] = int8_acc(base_blob)
    after["user_held_back_int8"] = int8_acc(new_blob)
    before["base_test_int8"] = man["accuracy"]["int8_test"]
    after["base_test_int8"] = q["int8_test"]["accuracy"]
    result = {
        "base_model": rm.name,
        "user_takes": len(ents),
        "trained_on": len(train_ents),
        "held_back": len(back_ents),
        "before": before,
        "after": after,
        "base_test_clips": q["int8_test"]["n"],
        "settings": settings,
    }
    write_if_changed(out_dir / "adapt.json", json.dumps(result, indent=1) + "\n")
    return result
