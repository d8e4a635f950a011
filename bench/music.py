"""Benchmark (not a test): how often commands models fire on music, where nothing is said.

Recorded noise rarely holds music; radio and television do. Each model is scored (at its released
thresholds, host pipeline, the same detector as the device) over:

- ``recorded``: the one music recording of the real-speech noise folder (25 s; in the test split of
  the real data set, so no model trained on that data set has heard it), looped to ``--minutes`` at
  -45 and -38 dBFS RMS (the stream beds play at -60 to -35);
- ``generated``: ``kws data music`` pieces at ``--seed`` (training uses seed 0), the same levels;
- controls: the forest, rain and water recordings of the same folder, looped the same way.

Reported: false accepts and FA/hr of each model on each stream. Music alone: a model that fires here will
fire under a radio, whatever else it hears.

    python bench/music.py --models models/commands [build/train/X/scored=build/X_valday/eval.json ...]
        [--minutes 10] [--out bench/results/music.json]

A model given as ``DIR=FILE`` runs at the thresholds of ``FILE`` (a calibration or ``kws eval``'s
``eval.json`` made for that model, kws.release.thresholds): a candidate is compared at thresholds
fitted the way its release would be.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT

NOISE = REPO_ROOT.parent / "shared" / "speech" / "noise"
RECORDED = NOISE / "music.wav"
# the same looping and levels over recordings that are not music: a model that fires on music and
# not on these hears the music, not a loop of a recording
CONTROLS = ("forest_2", "rain", "water")
LEVELS_DBFS = (-45.0, -38.0)


def _streams(out: Path, minutes: float, seed: int) -> dict[str, Path]:
    """One folder per (music, level): a looped WAV and an empty label file (nothing said)."""
    import soundfile as sf

    from kws.audio import write_wav
    from kws.data import noise
    from kws.spec import SAMPLE_RATE

    n = int(minutes * 60 * SAMPLE_RATE)

    def looped(path: Path) -> np.ndarray:
        x, rate = sf.read(str(path), dtype="float64")
        if rate != SAMPLE_RATE or x.ndim != 1:
            sys.exit(f"{path}: {rate} Hz, {x.ndim} channel(s); expected {SAMPLE_RATE} Hz mono")
        return np.tile(x, n // x.size + 1)[:n]

    pieces = [
        noise.background("music", 30 * SAMPLE_RATE, SAMPLE_RATE, -30.0, np.random.default_rng([seed, i]))
        for i in range(int(np.ceil(n / (30 * SAMPLE_RATE))))
    ]
    sources = {
        "recorded": looped(RECORDED),
        "generated": np.concatenate(pieces).astype(np.float64)[:n],
        **{f"control_{c}": looped(NOISE / f"{c}.wav") for c in CONTROLS},
    }
    dirs = {}
    for name, x in sources.items():
        for db in LEVELS_DBFS:
            d = out / f"{name}_{-db:g}dBFS"
            wav = d / "music.wav"
            if not wav.exists():
                write_wav(wav, noise.scale_to_dbfs(x, db), SAMPLE_RATE)
                (d / "music.labels.csv").write_text("label,start_sample,end_sample,clip_id,context,voice\n")
            dirs[d.name] = d
    return dirs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["models/commands"])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=99, help="generated pieces (training data uses seed 0)")
    ap.add_argument("--out", default="bench/results/music.json")
    args = ap.parse_args()
    if not RECORDED.exists():
        sys.exit(f"{RECORDED}: the real-speech recordings are not beside the checkout")
    from kws.data.task import load_task
    from kws.evaluate.run import evaluate
    from kws.release.thresholds import threshold_overrides
    from kws.released import ReleasedModel
    from kws.spec import load_spec

    task = load_task("commands")
    spec = task.spec(load_spec())
    work = REPO_ROOT / "build" / "music_bench"
    dirs = _streams(work / "streams", args.minutes, args.seed)
    result: dict = {
        "benchmark": "music",
        "recorded": {"file": RECORDED.name, "sha256": hashlib.sha256(RECORDED.read_bytes()).hexdigest()},
        "generated_seed": args.seed,
        "minutes": args.minutes,
        "models": {},
    }
    for given in args.models:
        m, _, thr_file = given.partition("=")
        model = REPO_ROOT / m
        rel = ReleasedModel.load(model)
        thresholds = threshold_overrides(rel, file=REPO_ROOT / thr_file) if thr_file else rel.thresholds
        if not thresholds:
            sys.exit(f"{m}: no released thresholds; give the model as {m}=EVAL_JSON")
        rows = {}
        for name, d in dirs.items():
            r = evaluate(spec, model, d, work / "eval" / rel.sha256[:12] / name, fixed_thresholds=thresholds)
            at = r["at_fixed"]
            rows[name] = {"false_accepts": at["false_accepts"], "fa_per_hour": round(at["fa_per_hour"], 1)}
        result["models"][m] = {"sha256": rel.sha256, "thresholds_from": thr_file or "released", "streams": rows}
        print(m, rel.sha256[:12], {k: v["fa_per_hour"] for k, v in rows.items()}, flush=True)
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
