"""Benchmark (not a test): a released commands model fine-tuned on streaming windows mined from the
training speakers' streams, against the model it starts from, on held-out real speakers.

The recipe (docs/training.md, "Streaming windows, mined"), on the real data set of
bench/real_speakers.py:

1. streams of the 130 training speakers: ``--negative-hours`` one-hour streams of their other words
   (no keyword) and ``--positive-parts`` 30-minute streams with their keywords
   (``kws data streams --split train``);
2. ``kws data mine``: the model's false accepts over them at posterior 0.5 as ``_unknown_``, and the
   windows ending 0 to 320 ms after each keyword (every 80 ms) as takes of it;
3. ``kws data ingest recordings``, then ``kws adapt --copies 1 --rehearsal 10000``;
4. with ``--init DIR`` (TTS-pre-trained members, ``kws train --float-only`` on the TTS corpus), also
   the release recipe (docs/training.md): the real-speaker stage trained from DIR on the real data set
   with the mined takes mixed in (``kws data mix``, ``kws train --init``).

Both models are then measured where the release decides, on the 20 validation speakers (clips;
24 one-hour streams of their other words with their 20-minute keyword stream, thresholds fitted to
1 FA/hr there), and on the 42 test speakers (clips; their day of other words with their 30-minute
keyword stream, scored at the thresholds fitted on validation): clip accuracy weighed as the
published test set, FRR along the DET curve (one threshold for every keyword), and FA/hr, FRR and
p95 latency at the fitted thresholds.

    python bench/mined_windows.py [--model models/commands_base] [--seeds 1 2 3] [--init build/train/tts_x2]
        [--out bench/results/mined_windows.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT

FA_LEVELS = (10.0, 2.0, 1.0, 0.5, 0.1)


def _streams(data: Path, task, out: Path, split: str, kind: str, minutes: float, parts: int) -> None:
    from kws.data.streams import make_stream

    for part in range(1, parts + 1):
        name = f"{kind}_{split}_{minutes:g}min" + (f"_part{part:02d}" if parts > 1 else "")
        if not (
            out / f"{name}.beds.csv"
        ).exists():  # streams made before beds were recorded: made again, the same audio
            make_stream(
                data, task, out, kind=kind, minutes=minutes, split=split, name=name, part=part if parts > 1 else 0
            )


def _measure(spec, model: Path, data: Path, val_streams: Path, test_streams: Path, work: Path) -> dict:
    from kws.evaluate.clips import clip_accuracy
    from kws.evaluate.run import evaluate

    out: dict = {}
    for split in ("val", "test"):
        sc = clip_accuracy(spec, model, data, split=split)["per_source"]["speech_commands"]
        out[f"{split}_clips"] = {
            "n": sc["n"],
            "test_set_weighted_accuracy": sc["test_set_weighted_accuracy"],
            "balanced_accuracy": sc["balanced_accuracy"],
            "per_class_recall": sc["per_class_recall"],
        }
    v = evaluate(spec, model, val_streams, work / "val", target_fa_per_hour=1.0)
    t = evaluate(spec, model, test_streams, work / "test", fixed_thresholds=v["calibrated_thresholds"])

    def det(r):
        return {
            f"{fa:g}": min((p["frr"] for p in r["det_all"] if p["fa_per_hour"] <= fa), default=1.0) for fa in FA_LEVELS
        }

    def point(p):
        return {k: p[k] for k in ("fa_per_hour", "frr", "occurrences", "false_accepts", "hours", "latency_ms_p95")}

    out["val_streams"] = {
        "frr_within_fa_per_hour": det(v),
        "at_fitted": point(v["at_calibrated"]),
        "thresholds": v["calibrated_thresholds"],
    }
    out["test_streams"] = {"frr_within_fa_per_hour": det(t), "at_val_thresholds": point(t["at_fixed"])}
    return out


def main() -> None:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from kws.data import sources
    from kws.data.ingest import ingest
    from kws.data.task import load_task
    from kws.evaluate.mine import mine
    from kws.released import scratch_release
    from kws.spec import load_spec
    from kws.train.adapt import adapt
    from real_speakers import SPEECH, build_real

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--negative-hours", type=int, default=8)
    ap.add_argument("--positive-parts", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="kws adapt seeds: one fine-tuned model each")
    ap.add_argument(
        "--init",
        help="TTS-pre-trained members: also train the real-speaker stage from them with the mined takes mixed in",
    )
    ap.add_argument("--day-hours", type=int, default=24, help="hours of negatives of the validation and test speakers")
    ap.add_argument("--out", default="bench/results/mined_windows.json")
    args = ap.parse_args()
    if not (SPEECH / "speech_commands" / "testing_list.txt").exists():
        sys.exit(f"{SPEECH}: the real-speech recordings are not beside the checkout")
    task = load_task("commands")
    spec = task.spec(load_spec())
    work = REPO_ROOT / "build" / "real"
    data = build_real(task, work)
    base = REPO_ROOT / args.model

    mine_streams = work / "mine_streams"
    _streams(data, task, mine_streams, "train", "negative", 60, args.negative_hours)
    _streams(data, task, mine_streams, "train", "positive", 30, args.positive_parts)
    val_streams, test_streams = work / "streams_valday", work / "streams_testday"
    _streams(data, task, val_streams, "val", "negative", 60, args.day_hours)
    _streams(data, task, val_streams, "val", "positive", 20, 1)
    _streams(data, task, test_streams, "test", "negative", 60, args.day_hours)
    _streams(data, task, test_streams, "test", "positive", 30, 1)

    mined_dir = work / "mined"
    if mined_dir.exists():
        shutil.rmtree(mined_dir)
    mined = mine(spec, base, mine_streams, mined_dir)
    clips = sources.recordings(mined_dir, task)
    ingest(
        clips,
        task,
        work / "mined_train",
        progress=False,
        step="kws data ingest recordings",
        inputs=[sources.lineage_input("recordings", mined_dir, clips)],
    )

    eval_dir = REPO_ROOT / "build" / "mined_windows"
    result = {
        "benchmark": "mined_windows",
        "base_model": args.model,
        "data_manifest_hash": json.loads((data / "manifest.json").read_text())["hash"],
        "mined": {k: mined[k] for k in ("threshold", "after_ms", "hours", "mined", "per_keyword", "keyword_windows")},
        "mine_streams": sorted(p.name for p in mine_streams.glob("*.wav")),
        "base": _measure(spec, base, data, val_streams, test_streams, eval_dir / "base"),
        "fine_tuned": {},
    }
    for seed in args.seeds:
        train_dir = eval_dir / f"seed{seed}"
        a = adapt(
            spec,
            task,
            base,
            work / "mined_train",
            data,
            train_dir,
            copies=1,
            rehearsal=10000,
            seed=seed,
            progress=False,
        )
        man = json.loads((base / "manifest.json").read_text())
        model_dir = train_dir / "scored"
        sha = scratch_release(
            train_dir / "model.tflite", model_dir, name=f"{man['name']}_mined{seed}", task=task, spec=spec
        ).sha256
        result["fine_tuned"][str(seed)] = {
            "model_sha256": sha,
            "held_back_mined_int8": [a["before"]["user_held_back_int8"], a["after"]["user_held_back_int8"]],
            **_measure(spec, model_dir, data, val_streams, test_streams, eval_dir / f"seed{seed}_eval"),
        }

    if args.init:  # the release recipe: the mined takes in the real-speaker stage itself
        from kws.cli import main as kws
        from kws.data.mix import mix

        mixed = work / "all_mined"
        if mixed.exists():
            shutil.rmtree(mixed)
        mix([data, work / "mined_train"], task, mixed)
        train_dir = eval_dir / "joint"
        code = kws(["train", "--task", "commands", "--data", str(mixed), "--out", str(train_dir), "--init", args.init])
        if code != 0:
            sys.exit(f"kws train failed ({code})")
        model_dir = train_dir / "scored"
        sha = scratch_release(train_dir / "model.tflite", model_dir, name="commands_joint", task=task, spec=spec).sha256
        result["joint"] = {
            "init": args.init,
            "data_manifest_hash": json.loads((mixed / "manifest.json").read_text())["hash"],
            "model_sha256": sha,
            **_measure(spec, model_dir, data, val_streams, test_streams, eval_dir / "joint_eval"),
        }

    def line(name, r):
        vs, ts = r["val_streams"], r["test_streams"]
        return (
            f"{name}: clips val {r['val_clips']['test_set_weighted_accuracy']:.1%} test "
            f"{r['test_clips']['test_set_weighted_accuracy']:.1%}; FRR within 10/1/0.1 FA/hr val "
            + "/".join(f"{vs['frr_within_fa_per_hour'][k]:.0%}" for k in ("10", "1", "0.1"))
            + " test "
            + "/".join(f"{ts['frr_within_fa_per_hour'][k]:.0%}" for k in ("10", "1", "0.1"))
            + f"; test at the validation thresholds {ts['at_val_thresholds']['fa_per_hour']:.1f} FA/hr, FRR "
            f"{ts['at_val_thresholds']['frr']:.0%}, p95 {ts['at_val_thresholds']['latency_ms_p95'] or 0:.0f} ms"
        )

    print(line("base", result["base"]))
    for seed, r in result["fine_tuned"].items():
        print(line(f"mined, seed {seed}", r))
    if "joint" in result:
        print(line("trained with the mined takes", result["joint"]))
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
