"""What a training directory was made with — its ``config.json`` (kws.train.fit.effective_config,
kws teach) — checked against what is about to use it. One reader and one check serve every
stage that takes a trained network: quantize and release (the spec's front end and [model]), an
ensemble's members (the front end, the member network, the labels) and a teacher (the data set,
the front end, the labels, the window). Every refusal names the file and what differs."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from kws.errors import KwsError


class NotMadeWith(KwsError):
    """A training directory made with another front end, network, label list or data set than
    the one about to use it (or no training directory at all)."""


def read_config(
    train_dir: str | Path, *, needs: tuple[str, ...] = ("model.keras",), made_by: str = "kws train or kws ensemble"
) -> dict:
    """``train_dir/config.json``, once it and the files in ``needs`` are there."""
    d = Path(train_dir)
    missing = [n for n in ("config.json", *needs) if not (d / n).exists()]
    if missing:
        raise NotMadeWith(f"{d}: not a training directory (no {' or '.join(missing)}; {made_by} makes one)")
    try:
        cfg = json.loads((d / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise NotMadeWith(f"{d / 'config.json'}: not a readable training config ({e})") from e
    if not isinstance(cfg, dict):
        raise NotMadeWith(f"{d / 'config.json'}: not a training config (a JSON object)")
    return cfg


def model_fields_differing(model_spec, recorded: dict) -> list[str]:
    """The [model] fields in which a recorded config (config.json's "model") differs from
    ``model_spec``."""
    return sorted(
        k for k, v in asdict(model_spec).items() if k in recorded and list(np.ravel(recorded[k])) != list(np.ravel(v))
    )


def check_made_with(
    cfg: dict,
    where: str | Path,
    *,
    spec=None,
    model=None,
    task=None,
    data_hash: str | None = None,
    window=None,
    model_is: str = "this spec's [model]",
) -> None:
    """Refuse ``cfg`` (read from ``where``) unless it was made with: ``spec``'s front end;
    ``model`` (a ModelSpec: the same network, ``model_is`` naming it in the error); ``task``'s
    labels; the data set whose manifest hash is ``data_hash``; ``window`` (a ModelSpec: the same
    input window and scale, for a teacher whose network may differ)."""
    if spec is not None:
        fe = (cfg.get("frontend") or {}).get("hash")
        if fe != spec.frontend.hash:
            raise NotMadeWith(
                f"{where}: trained on the features of front end {str(fe)[:12]}, this spec computes "
                f"{spec.frontend.hash[:12]}: use the spec it was trained with (kws --spec), or retrain"
            )
    if model is not None:
        got = cfg.get("model") or {}
        if got.get("hash") != model.hash:
            diff = model_fields_differing(model, got)
            raise NotMadeWith(
                f"{where}: trained with another network than {model_is} (differs in "
                f"{', '.join(diff) or 'its hash'}): use the spec and task it was trained with "
                "(kws --spec, --task: a task's [model] sets its own network), or retrain"
            )
    if task is not None:
        labels = (cfg.get("task") or {}).get("labels")
        if labels != list(task.labels):
            raise NotMadeWith(f"{where}: trained for the labels {labels}, the task's are {list(task.labels)}")
    if data_hash is not None:
        got = (cfg.get("data") or {}).get("manifest_hash")
        if got != data_hash:
            raise NotMadeWith(
                f"{where}: trained on data set {str(got)[:12]}, this one is {data_hash[:12]}: a teacher "
                "must learn from the student's training voices only"
            )
    if window is not None:
        got = cfg.get("model") or {}
        for field in ("window_frames", "input_scale_log2"):
            if got.get(field) != getattr(window, field):
                raise NotMadeWith(
                    f"{where}: its [model] {field} is {got.get(field)}, the student's {getattr(window, field)}"
                )


def check_trained_with(spec, train_dir: str | Path) -> None:
    """Quantize's and release's check: ``train_dir`` was trained with the spec's front end and
    [model] (the int8 model's accuracy is measured on the spec's features, the manifest hands the
    device the spec's front end's hash, and the converter rebuilds the network from the [model])."""
    check_made_with(read_config(train_dir), Path(train_dir) / "config.json", spec=spec, model=spec.model)
