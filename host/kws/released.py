"""A released model as every reader sees it: ``models/<name>/manifest.json``, read once its model
file is checked against it. The one reader of a release; ``kws.release`` writes them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kws.errors import KwsError


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_manifest(model_dir: Path) -> dict:
    """A released model's manifest, once its model file is checked against it: the one reader of
    a release. A clear error naming the file when the directory is no release, the manifest is
    not JSON, or the model file is missing or not the one the manifest names (changed, or copied
    half-way)."""
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
        raise KwsError(f"{model_dir}: not a released model (its manifest.json names no model file with its sha256); "
                       "`kws release` makes one")
    f = model_dir / model.get("file", "model.tflite")
    if not f.is_file():
        raise KwsError(f"{f}: missing, though {path} names it")
    if file_sha256(f) != model["sha256"]:
        raise KwsError(f"{f}: its sha256 is {file_sha256(f)[:12]}..., the manifest's {model['sha256'][:12]}...: the model "
                       "was changed or copied half-way; release it again (kws release)")
    return man
