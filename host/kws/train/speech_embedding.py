"""`kws teach`: a teacher that has heard far more people than the data set holds.

Google's speech embedding (Lin et al., "Training keyword spotters with limited and synthesized
speech data", 2020; the ONNX files openWakeWord ships: a 32-band melspectrogram model and the
embedding network, 96 numbers per 775 ms window every 80 ms) was trained on a large corpus of real
speech. A small classifier on it (one hidden layer, scikit-learn's MLP) learns the task from the
data set's training clips and, on speakers it never heard, is far more accurate than any network
that fits the island. It never runs on the device: ``kws train --teacher DIR`` distils its
posteriors into the device network (:mod:`kws.train.distill`).

The teacher's logits are computed on exactly the examples the student trains on (the training
clips and their augmented copies, :func:`kws.train.features.split_audio`, in the same order) and
on the validation clips; ``kws train`` checks the clip ids match before using them. Writes into
the output directory: ``teacher_logits.npz`` (ids and logits per split, the features key),
``config.json`` (kind, data manifest, front end, labels, classifier), ``metrics.json`` (its own
accuracy on the validation and test clips, per source).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from kws.data import manifest as mf
from kws.errors import KwsError
from kws.fsio import write_if_changed

KIND = "speech-embedding"
PAD = 4000  # 250 ms of silence each side: the embedding windows then cover the whole clip
WINDOW, STEP = 76, 8  # the embedding model's input: 76 mel frames (775 ms), taken every 80 ms
HIDDEN = 256
LOGITS = "teacher_logits.npz"


def _sessions():
    from kws.paths import OWW_DIR, OWW_FILES, openwakeword_available

    why = openwakeword_available()
    if why:
        raise KwsError(f"the speech embedding is not installed: {why}")
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return [ort.InferenceSession(str(OWW_DIR / f), opts, providers=["CPUExecutionProvider"]) for f in OWW_FILES]


def embed(pcm: np.ndarray, *, progress: bool = True) -> np.ndarray:
    """[N, 192] of int16 clips [N, samples]: the mean and the maximum of the clip's embeddings."""
    from kws.progress import bar

    mel, emb = _sessions()
    out = np.empty((pcm.shape[0], 192), np.float32)
    z = np.zeros(PAD, np.int16)
    for i in bar(range(pcm.shape[0]), desc="embed", unit="clip", progress=progress):
        x = np.concatenate([z, pcm[i], z]).astype(np.float32)[None]
        m = mel.run(None, {mel.get_inputs()[0].name: x})[0].squeeze() / 10.0 + 2.0  # openWakeWord's scaling
        if m.shape[0] < WINDOW:
            raise KwsError(f"clip of {pcm.shape[1]} samples is too short for the speech embedding")
        wins = np.stack([m[a : a + WINDOW] for a in range(0, m.shape[0] - WINDOW + 1, STEP)])[..., None]
        e = emb.run(None, {emb.get_inputs()[0].name: wins.astype(np.float32)})[0].reshape(len(wins), -1)
        out[i] = np.concatenate([e.mean(axis=0), e.max(axis=0)])
    return out


def _logits(clf, scaler, x: np.ndarray) -> np.ndarray:
    """The MLP's pre-softmax outputs (scikit-learn gives posteriors only)."""
    h = np.maximum(scaler.transform(x) @ clf.coefs_[0] + clf.intercepts_[0], 0.0)
    return (h @ clf.coefs_[1] + clf.intercepts_[1]).astype(np.float32)


def teach(
    spec, task, data_dir: str | Path, out_dir: str | Path, *, seed: int | None = None, progress: bool = True
) -> dict:
    """Embed, fit the classifier, write its logits for the student's examples; returns metrics."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from kws.train.features import features_key, split_audio
    from kws.train.metrics import contexts, evaluate_logits, voice_groups

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    man = mf.load(data_dir)
    if man["labels"] != list(task.labels):
        raise KwsError(
            f"{data_dir}: data set labels {man['labels']} differ from task {task.name!r} {list(task.labels)}"
        )
    copies = spec.train.augment_copies
    seed = spec.train.seed if seed is None else seed
    got = {}
    for split in ("train", "val", "test"):
        pcm, y, ids, src = split_audio(
            data_dir, task, split, man=man, augment_copies=copies if split == "train" else 0, progress=progress
        )
        got[split] = (embed(pcm, progress=progress), y, ids, src)
    scaler = StandardScaler().fit(got["train"][0])
    clf = MLPClassifier((HIDDEN,), alpha=1e-2, max_iter=300, early_stopping=False, random_state=seed)
    clf.fit(scaler.transform(got["train"][0]), got["train"][1])
    logits = {s: _logits(clf, scaler, got[s][0]) for s in got}
    out_dir.mkdir(parents=True, exist_ok=True)
    key = features_key(man, spec, task, copies)
    tmp = out_dir / f".{LOGITS}.tmp.npz"
    np.savez(
        tmp,
        features_key=np.array(key),
        **{f"ids_{s}": got[s][2] for s in got},
        **{f"logits_{s}": logits[s] for s in got},
    )
    tmp.replace(out_dir / LOGITS)
    metrics = {}
    for s in ("val", "test"):
        _, y, ids, src = got[s]
        metrics[s] = evaluate_logits(
            logits[s], y, task.labels, src, contexts(data_dir, ids), voice_groups(data_dir, ids)
        )
    config = {
        "kind": KIND,
        "data": {"dir": str(data_dir), "manifest_hash": man["hash"]},
        "frontend": {"hash": spec.frontend.hash},
        "task": {"name": task.name, "labels": list(task.labels)},
        "features_key": key,
        "augment_copies": copies,
        "seed": seed,
        "classifier": {"hidden": HIDDEN, "alpha": 1e-2, "iterations": int(clf.n_iter_)},
        "embedding": "openWakeWord's melspectrogram.onnx + embedding_model.onnx (Google's speech embedding); "
        "mean and maximum over 775 ms windows every 80 ms",
        "sha256": hashlib.sha256((out_dir / LOGITS).read_bytes()).hexdigest(),
        "code": mf.code_version(),
    }
    write_if_changed(out_dir / "config.json", json.dumps(config, indent=1) + "\n")
    write_if_changed(out_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    return metrics


def is_embedding_teacher(teacher_dir: str | Path) -> bool:
    cfg = Path(teacher_dir) / "config.json"
    return cfg.exists() and json.loads(cfg.read_text()).get("kind") == KIND


def check(teacher_dir: str | Path, spec, task, data_hash: str) -> dict:
    """The teacher's record for the student's config.json, after checking it was made from this
    data set and labels; a clear error naming the difference otherwise."""
    from kws.train.provenance import check_made_with, read_config

    d = Path(teacher_dir)
    cfg = read_config(d, needs=(LOGITS,), made_by="kws teach")
    check_made_with(cfg, d / "config.json", data_hash=data_hash, spec=spec, task=task)
    return {
        "dir": str(d),
        "kind": KIND,
        "sha256": cfg["sha256"],
        "hidden": cfg["classifier"]["hidden"],
        "seed": cfg["seed"],
    }


def logits_for(teacher_dir: str | Path, feats: dict) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's logits on the student's training and validation examples (``feats`` of
    kws.train.features.build_features), after checking they are the same examples in the same order."""
    with np.load(Path(teacher_dir) / LOGITS, allow_pickle=False) as z:
        out = []
        for s in ("train", "val"):
            if z[f"ids_{s}"].shape != feats[f"id_{s}"].shape or not np.array_equal(z[f"ids_{s}"], feats[f"id_{s}"]):
                raise KwsError(
                    f"{teacher_dir}: its {s} examples are not the student's (another [train] augment_copies "
                    "or data set?): run kws teach with the student's spec"
                )
            out.append(z[f"logits_{s}"])
    return out[0], out[1]
