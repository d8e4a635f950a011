"""A released model as every reader sees it: ``models/<name>/``, its ``manifest.json`` read once
and its model file checked against it. :class:`ReleasedModel` is the one reader of a release;
``kws.release`` writes them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kws.errors import KwsError
from kws.paths import DEFAULT_MODEL, model_generated_dir


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class ReleasedModel:
    """A release, checked: its model file is the one the manifest names (sha256), its labels are
    ``_silence_``, ``_unknown_`` then the keywords, its thresholds (when calibrated) one per keyword
    between 0 and 1. ``manifest`` keeps the record as written, for what has no field here (the
    model card, accuracy, lineage)."""

    dir: Path
    name: str
    task: str
    labels: tuple[str, ...]
    model_file: Path
    sha256: str
    frontend_hash: str
    thresholds: dict[str, float] | None  # calibrated per keyword (kws eval --calibrate), or None
    manifest: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def load(cls, model_dir: str | Path) -> ReleasedModel:
        """A clear error naming the file when the directory is no release, the manifest is not
        JSON or lacks a field, or the model file is missing or not the one the manifest names
        (changed, or copied half-way)."""
        model_dir = Path(model_dir)
        path = model_dir / "manifest.json"
        if not path.is_file():
            raise KwsError(f"{model_dir}: not a released model (no manifest.json); `kws release` makes one")
        try:
            man = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise KwsError(f"{path}: not a readable manifest ({e})") from e
        model = man.get("model") if isinstance(man, dict) else None
        if not isinstance(model, dict) or not isinstance(model.get("sha256"), str):
            raise KwsError(
                f"{model_dir}: not a released model (its manifest.json names no model file with its "
                "sha256); `kws release` makes one"
            )
        f = model_dir / model.get("file", "model.tflite")
        if not f.is_file():
            raise KwsError(f"{f}: missing, though {path} names it")
        if file_sha256(f) != model["sha256"]:
            raise KwsError(
                f"{f}: its sha256 is {file_sha256(f)[:12]}..., the manifest's {model['sha256'][:12]}...: "
                "the model was changed or copied half-way; release it again (kws release)"
            )
        labels = man.get("labels")
        if not (isinstance(labels, list) and len(labels) >= 3 and all(isinstance(x, str) for x in labels)):
            raise KwsError(f"{path}: 'labels' must list _silence_, _unknown_ and at least one keyword")
        name, task, fe = (_text(man, what, path) for what in ("name", "task.name", "frontend.hash"))
        return cls(
            dir=model_dir,
            name=name,
            task=task,
            labels=tuple(labels),
            model_file=f,
            sha256=model["sha256"],
            frontend_hash=fe,
            thresholds=_thresholds(man, labels[2:], path),
            manifest=man,
        )

    @property
    def keywords(self) -> tuple[str, ...]:
        return self.labels[2:]

    @property
    def hash32(self) -> int:
        """The model's id in the device handshake: the first 32 bits of its sha256."""
        return int(self.sha256[:8], 16)

    @property
    def firmware(self) -> str:
        """The firmware build that runs this model: its own (firmware/generated/<name>/, when
        generated), else the default model's (whose handshake then names the mismatch)."""
        return self.name if (model_generated_dir(self.name) / "kws_net.c").is_file() else DEFAULT_MODEL

    def blob(self) -> bytes:
        return self.model_file.read_bytes()

    def check_frontend(self, spec) -> None:
        """A clear error when the model was trained on another front end than ``spec`` computes."""
        if self.frontend_hash != spec.frontend.hash:
            raise KwsError(
                f"{self.dir} was trained on front end {self.frontend_hash[:12]}, this spec computes "
                f"{spec.frontend.hash[:12]}: train it again, or use the spec it was made with"
            )


def _text(man: dict, what: str, path: Path) -> str:
    """The manifest's text field at dotted ``what``; a clear error when it is not there."""
    v: Any = man
    for key in what.split("."):
        v = v.get(key) if isinstance(v, dict) else None
    if not isinstance(v, str) or not v:
        raise KwsError(f"{path}: no {what!r} in it; `kws release` writes one")
    return v


def _thresholds(man: dict, keywords: list[str], path: Path) -> dict[str, float] | None:
    values = (man.get("thresholds") or {}).get("values")
    if not values:
        return None
    if (
        not isinstance(values, dict)
        or set(values) - set(keywords)
        or not all(isinstance(v, (int, float)) and 0.0 < v < 1.0 for v in values.values())
    ):
        raise KwsError(f"{path}: 'thresholds.values' must map keywords of the model to posteriors between 0 and 1")
    return {k: float(v) for k, v in values.items()}


def scratch_release(tflite: str | Path, model_dir: str | Path, *, name: str, task, spec) -> ReleasedModel:
    """A trained int8 model not (yet) released, laid out as the reader of a release needs it:
    ``model_dir/model.tflite`` and a manifest of the fields :meth:`ReleasedModel.load` reads, so
    that the host reference scores it (``kws pick``'s variants, benchmarks of candidates)."""
    from kws.fsio import write_if_changed

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    blob = Path(tflite).read_bytes()
    write_if_changed(model_dir / "model.tflite", blob)
    manifest = {
        "name": name,
        "task": {"name": task.name},
        "labels": list(task.labels),
        "model": {"file": "model.tflite", "sha256": hashlib.sha256(blob).hexdigest()},
        "frontend": {"hash": spec.frontend.hash},
    }
    write_if_changed(model_dir / "manifest.json", json.dumps(manifest) + "\n")
    return ReleasedModel.load(model_dir)
