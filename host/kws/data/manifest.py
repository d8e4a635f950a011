"""The data set manifest and lineage records.

``manifest.json``: every accepted clip (id, path, label, speaker, source, split, quality
figures, conversions, content hashes, origin) and ``hash``: sha256 over the canonical JSON of
the entries, the label list and the task config hash. Same inputs and config, same hash.

``lineage.json``: how the data set was made — the step, the task config (path and hash),
the inputs (source roots with a hash over their files), the code version (package version
and git commit when available), the tools (TTS engines, numpy, scipy, soundfile) and the
conversions applied.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from pathlib import Path

from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT

MANIFEST = "manifest.json"
LINEAGE = "lineage.json"
SCHEMA = 1


def dumps(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True) + "\n"


def canonical_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def build(entries: list[dict], task) -> dict:
    entries = sorted(entries, key=lambda e: e["id"])
    counts = Counter((e["split"], e["label"]) for e in entries)
    return {
        "schema": SCHEMA,
        "task": task.name,
        "task_hash": task.data_hash,
        "labels": list(task.labels),
        "counts": {s: {lab: counts[(s, lab)] for lab in task.labels} for s in ("train", "val", "test")},
        "entries": entries,
        "hash": canonical_hash({"entries": entries, "labels": list(task.labels), "task_hash": task.data_hash}),
    }


def save(out_dir: Path, manifest: dict) -> None:
    write_if_changed(Path(out_dir) / MANIFEST, dumps(manifest))


def load(out_dir: str | Path) -> dict:
    path = Path(out_dir) / MANIFEST
    try:
        m = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        from kws.errors import KwsError

        raise KwsError(f"{path}: not a readable manifest ({e})") from e
    return m


def verify(out_dir: str | Path) -> list[str]:
    """Problems with a data set on disk: hash mismatch, missing or altered clips."""
    out = Path(out_dir)
    m = load(out)
    problems = []
    expect = canonical_hash({"entries": m["entries"], "labels": m["labels"], "task_hash": m["task_hash"]})
    if expect != m["hash"]:
        problems.append(f"manifest hash {m['hash'][:12]} does not match its entries ({expect[:12]})")
    import numpy as np
    import soundfile as sf

    for e in m["entries"]:
        p = out / e["path"]
        if not p.exists():
            problems.append(f"{e['path']}: missing")
            continue
        pcm, _ = sf.read(str(p), dtype="int16")
        if hashlib.sha256(np.asarray(pcm).astype("<i2").tobytes()).hexdigest() != e["pcm_sha256"]:
            problems.append(f"{e['path']}: audio differs from the manifest")
    return problems


def code_version() -> dict:
    import kws

    out: dict[str, str | bool] = {"kws": kws.__version__}
    try:
        r = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if r.returncode == 0:
            out["git_commit"] = r.stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            out["git_dirty"] = bool(dirty)
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def tool_versions() -> dict:
    from importlib.metadata import version

    import numpy
    import scipy
    import soundfile

    from kws.data import tts

    return {
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "soundfile": soundfile.__version__,
        "libsndfile": soundfile.__libsndfile_version__,
        "audiotsm": version("audiotsm"),
        **tts.versions(),
    }


def write_lineage(out_dir: Path, *, step: str, task, manifest: dict, inputs: list[dict], extra: dict) -> None:
    """Lineage beside an output. Written with the manifest hash it belongs to."""
    rec = {
        "step": step,
        "task": {"name": task.name, "path": task.source, "hash": task.hash},
        "inputs": inputs,
        "code": code_version(),
        "tools": tool_versions(),
        "output": {"manifest_hash": manifest["hash"], "clips": len(manifest["entries"])},
        **extra,
    }
    write_if_changed(Path(out_dir) / LINEAGE, dumps(rec))
