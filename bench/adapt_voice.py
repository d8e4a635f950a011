"""Benchmark (not a test): `kws adapt` with a held-out test voice playing the user. Its takes of
each keyword (said alone) and twice as many other words are copied from the test split into the
layout `kws record` writes, ingested, and the released model is adapted to them; then both models
(int8, TFLM) are scored per test voice on every test clip except the enrolled ones — the enrolled
voice's other clips, the same person through another engine, and everyone else.

    python bench/adapt_voice.py --task commands --data build/data/commands_v2 --voice flite:kal16
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from kws.data import manifest as mf
from kws.data import sources
from kws.data.ingest import ingest
from kws.data.task import load_task
from kws.data.voices import Voice
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference.tflm import tflm_logits
from kws.spec import load_spec
from kws.train.adapt import adapt
from kws.train.features import build_features
from kws.train.fit import set_threads
from kws.train.metrics import voice_groups


def enrolled_takes(data: Path, task, timbre: str, takes: int) -> list[dict]:
    man = mf.load(data)
    out = []
    for lab in task.labels:
        if lab == task.silence_label:
            continue
        c = [
            e
            for e in man["entries"]
            if e["split"] == "test"
            and e["label"] == lab
            and (e.get("origin") or {}).get("side") == "alone"
            and Voice(*e["speaker"].partition(":")[::2]).timbre == timbre
        ]
        out += sorted(c, key=lambda e: hashlib.sha1(e["id"].encode()).hexdigest())[
            : takes if task.is_keyword(lab) else 2 * takes
        ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="commands")
    ap.add_argument("--data", required=True, help="the data set the released model came from")
    ap.add_argument("--model", help="released model (default models/<task>)")
    ap.add_argument("--voice", required=True, help="a test voice (timbre), e.g. flite:rms")
    ap.add_argument("--takes", type=int, default=10, help="takes per keyword (other words: twice as many)")
    ap.add_argument("--out", help="JSON (default bench/results/adapt_<task>_<voice>.json)")
    args = ap.parse_args()
    set_threads()
    task = load_task(args.task)
    spec = task.spec(load_spec(None))
    data, model = Path(args.data), Path(args.model or REPO_ROOT / "models" / task.name)
    takes = enrolled_takes(data, task, args.voice, args.takes)
    if not takes:
        raise SystemExit(f"{args.voice}: no test clips of that voice in {data}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for j, e in enumerate(takes):
            (tmp / "takes" / e["label"]).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data / e["path"], tmp / "takes" / e["label"] / f"user_{j}.wav")
        ingest(sources.recordings(tmp / "takes", task), task, tmp / "user", progress=False)
        r = adapt(spec, task, model, tmp / "user", data, tmp / "adapted", progress=False)
        adapted = (tmp / "adapted" / "model.tflite").read_bytes()

    feats = build_features(
        data, spec, task, augment_copies=spec.train.augment_copies, cache_dir=data / "features", progress=False
    )
    enrolled = {e["id"] for e in takes}
    keep = np.array([i not in enrolled for i in feats["id_test"]])
    x, y = feats["x_test"][keep], feats["y_test"][keep]
    groups = voice_groups(data, feats["id_test"][keep])
    kw = np.array([task.is_keyword(task.labels[i]) for i in y])
    pred = {
        tag: tflm_logits(blob, x).argmax(1)
        for tag, blob in (("base", (model / "model.tflite").read_bytes()), ("adapted", adapted))
    }
    per_voice = {}
    for v in sorted(set(groups.tolist())):
        m = groups == v
        per_voice[v] = {
            "clips": int(m.sum()),
            **{f"{t}_accuracy": float(np.mean(p[m] == y[m])) for t, p in pred.items()},
            **{
                f"{t}_keywords_found": float(np.mean(p[m & kw] == y[m & kw])) if (m & kw).any() else None
                for t, p in pred.items()
            },
        }
    result = {
        "benchmark": "adapt_voice",
        "task": task.name,
        "model": str(model),
        "data_manifest": mf.load(data)["hash"],
        "voice": args.voice,
        "enrolled_takes": len(takes),
        "adapt": r,
        "test_clips_excluding_enrolled": int(keep.sum()),
        "all_test_base": float(np.mean(pred["base"] == y)),
        "all_test_adapted": float(np.mean(pred["adapted"] == y)),
        "per_voice": per_voice,
        "note": "int8 accuracy (TFLM) on the test split minus the enrolled clips",
    }
    out = Path(args.out or REPO_ROOT / "bench" / "results" / f"adapt_{task.name}_{args.voice.replace(':', '_')}.json")
    write_if_changed(out, json.dumps(result, indent=1) + "\n")
    print(
        f"{args.voice}: {len(takes)} takes; all test (minus enrolled) {result['all_test_base']:.1%} -> "
        f"{result['all_test_adapted']:.1%}"
    )
    for v, s in per_voice.items():
        if s["clips"] >= 60:
            print(f"  {v:28s} {s['clips']:5d}  {s['base_accuracy']:6.1%} -> {s['adapted_accuracy']:6.1%}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
