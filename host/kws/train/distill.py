"""Knowledge distillation: train a network on a teacher's logits as well as on the labels.

The released wake word is two networks merged (docs/training.md, "Ensembles"): averaging
networks trained apart cancels part of each one's confident mistakes on unheard voices, at
the price of their summed size and compute on the device. Distillation (Hinton et al., 2015)
tries to keep part of that gain in one network of the same size: the student is trained on
the teacher's softened posteriors — which also say how much each clip resembles the other
classes — mixed with the labels:

    loss = alpha · T² · KL(softmax(teacher / T) || softmax(student / T)) + (1 − alpha) · CE(label, student)

The teacher is any ``kws train`` / ``kws ensemble`` output trained on the same data set, front
end and labels (a network trained on other data may have heard the student's test voices: it
is refused). Its logits are computed once on the student's training and validation examples,
augmented copies included, without the feature masking the student trains with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kws.errors import KwsError
from kws.train.provenance import check_made_with, read_config


@dataclass(frozen=True)
class Distill:
    """How the student weighs the teacher: ``temperature`` softens both posteriors, ``alpha``
    is the teacher's share of the loss (the labels have the rest)."""

    temperature: float = 2.0
    alpha: float = 0.8

    def __post_init__(self):
        if not self.temperature > 0:
            raise KwsError(f"distillation temperature must be > 0, not {self.temperature}")
        if not 0.0 <= self.alpha <= 1.0:
            raise KwsError(f"distillation alpha (the teacher's share of the loss) must be in [0, 1], not {self.alpha}")


def model_sha256(train_dir: str | Path) -> str:
    """What identifies a teacher: the sha256 of its model.keras."""
    return hashlib.sha256((Path(train_dir) / "model.keras").read_bytes()).hexdigest()


def check_teacher(teacher_dir: str | Path, spec, task, data_hash: str) -> dict:
    """The teacher's record for config.json, after checking it was trained on this data set,
    front end, window and label list; a clear error naming the difference otherwise."""
    d = Path(teacher_dir)
    cfg = read_config(d, made_by="kws train or kws ensemble, as a teacher")
    check_made_with(cfg, d / "config.json", data_hash=data_hash, spec=spec, task=task, window=spec.model)
    return {
        "dir": str(d),
        "sha256": model_sha256(d),
        "width": cfg["model"]["width"],
        "blocks": cfg["model"]["blocks"],
        "members": cfg["model"].get("members", 1),
        "seed": cfg["train"]["seed"],
    }


def taught_as(recorded: dict | None, teacher: str | Path | None, distill: Distill | None) -> bool:
    """Whether a run whose config.json records ``recorded`` as its teacher (None: trained on labels
    alone) was taught by this teacher file with these settings: a rerun may reuse it."""
    if teacher is None or recorded is None:
        return teacher is None and recorded is None
    d = distill or Distill()
    return (recorded.get("sha256"), recorded.get("temperature"), recorded.get("alpha")) == (
        model_sha256(teacher),
        d.temperature,
        d.alpha,
    )


def teacher_logits(teacher_dir: str | Path, *xs: np.ndarray) -> list[np.ndarray]:
    """The teacher's logits on each float input array (inference mode: no feature masking)."""
    import keras

    from kws.train.model import custom_objects

    teacher = keras.models.load_model(Path(teacher_dir) / "model.keras", custom_objects=custom_objects(), compile=False)
    return [teacher.predict(x, batch_size=512, verbose=0).astype(np.float32) for x in xs]


def pack(y: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Keras passes one target array per example: the label in column 0, the teacher's logits after."""
    return np.concatenate([y.astype(np.float32)[:, None], logits], axis=1)


def loss_fn(d: Distill):
    """The distillation loss over packed targets (:func:`pack`)."""
    import keras
    from keras import ops

    t = float(d.temperature)

    def distill_loss(y_packed, student):
        y = ops.cast(y_packed[:, 0], "int32")
        teacher = y_packed[:, 1:]
        ce = keras.losses.sparse_categorical_crossentropy(y, student, from_logits=True)
        p = ops.softmax(teacher / t, axis=-1)
        kl = ops.sum(p * (ops.log_softmax(teacher / t, axis=-1) - ops.log_softmax(student / t, axis=-1)), axis=-1)
        return d.alpha * t * t * kl + (1.0 - d.alpha) * ce

    return distill_loss


def label_accuracy(y_packed, student):
    """Accuracy against the label column of packed targets."""
    from keras import ops

    return ops.mean(
        ops.cast(
            ops.equal(ops.cast(y_packed[:, 0], "int32"), ops.cast(ops.argmax(student, axis=-1), "int32")), "float32"
        )
    )
