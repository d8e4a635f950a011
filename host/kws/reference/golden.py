"""Golden vectors of the front end, stored once and read by pytest and the C unit test.

Layout of ``tests/golden/frontend/``:

- ``index.txt``       ``spec <hash32>`` then ``case <name> <samples> <frames>`` per case
- ``<name>.pcm``      input, int16 little-endian, at the spec's sample rate
- ``<name>.cep``      expected cepstra, int32 little-endian, frames x cepstra
- ``<name>.feat``     expected int8 features, frames x cepstra
- ``manifest.json``   the same index plus the full spec hash and each file's sha256

Inputs are made once (TTS speech and the corner-case signals) and then kept: `kws golden`
recomputes only the expected outputs when the spec changes, so the inputs never drift with
a TTS engine's version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from kws.errors import KwsError
from kws.frontend import fixed
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference.signals import corner_cases

DEFAULT_DIR = REPO_ROOT / "tests" / "golden" / "frontend"
CORNER_SECONDS = 0.6


def _speech_inputs(rate: int) -> dict[str, np.ndarray]:
    from kws.data import tts

    return {
        "speech_espeak": tts.espeak("yes, turn left now", voice="en+m3", rate=rate),
        "speech_espeak_f": tts.espeak("stop. go. marvin", voice="en+f2", speed=140, pitch=70, rate=rate),
        "speech_flite": tts.flite("go forward, then stop", voice="slt", rate=rate),
    }


def load_case(directory: Path, name: str) -> dict[str, np.ndarray]:
    """Input and expected outputs of one golden case."""
    pcm = np.fromfile(directory / f"{name}.pcm", dtype="<i2").astype(np.int16)
    cep = np.fromfile(directory / f"{name}.cep", dtype="<i4").astype(np.int32)
    feat = np.fromfile(directory / f"{name}.feat", dtype=np.int8)
    return {"pcm": pcm, "cep": cep, "feat": feat}


def read_index(directory: Path) -> tuple[int, list[tuple[str, int, int]]]:
    """(spec hash32, [(name, samples, frames)]) of a golden directory."""
    spec_hash, cases = None, []
    for line in (directory / "index.txt").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "spec":
            spec_hash = int(parts[1], 16)
        elif parts and parts[0] == "case":
            cases.append((parts[1], int(parts[2]), int(parts[3])))
    if spec_hash is None:
        raise KwsError(f"{directory / 'index.txt'}: no 'spec' line (kws.reference.golden.write_golden writes it)")
    return spec_hash, cases


def write_case(directory: Path, name: str, pcm: np.ndarray, fe_spec) -> tuple[list[Path], dict[str, str], int]:
    """Write one case (input and reference outputs). Returns (changed paths, sha256 per file, frames)."""
    cep = fixed.cepstra(pcm, fe_spec)
    feat = fixed.quantize_cepstra(cep, fe_spec)
    blobs = {"pcm": pcm.astype("<i2").tobytes(), "cep": cep.astype("<i4").tobytes(), "feat": feat.tobytes()}
    changed, hashes = [], {}
    for ext, data in blobs.items():
        path = directory / f"{name}.{ext}"
        if write_if_changed(path, data):
            changed.append(path)
        hashes[path.name] = hashlib.sha256(data).hexdigest()
    return changed, hashes, cep.shape[0]


def write_golden(spec, directory: Path | None = None) -> list[Path]:
    """(Re)compute the golden outputs; create missing inputs. Returns files that changed."""
    directory = Path(directory) if directory else DEFAULT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    fe = spec.frontend
    rate = fe.sample_rate_hz
    inputs: dict[str, np.ndarray] = {}
    existing = sorted(p.stem for p in directory.glob("*.pcm"))
    for name in existing:
        inputs[name] = np.fromfile(directory / f"{name}.pcm", dtype="<i2").astype(np.int16)
    if not existing:
        inputs.update(_speech_inputs(rate))
        inputs.update(corner_cases(int(CORNER_SECONDS * rate), rate))

    changed: list[Path] = []
    index = [f"spec {fe.hash32:08x}"]
    files = {}
    for name in sorted(inputs):
        written, hashes, frames = write_case(directory, name, inputs[name], fe)
        changed.extend(written)
        files.update(hashes)
        index.append(f"case {name} {inputs[name].size} {frames}")
    if write_if_changed(directory / "index.txt", "\n".join(index) + "\n"):
        changed.append(directory / "index.txt")
    manifest = {
        "generator": "kws golden",
        "frontend_hash": fe.hash,
        "sample_rate_hz": rate,
        "num_cepstra": fe.num_cepstra,
        "cases": [line.split()[1:] for line in index[1:]],
        "files": files,
    }
    if write_if_changed(directory / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n"):
        changed.append(directory / "manifest.json")
    return changed
