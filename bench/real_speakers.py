"""Benchmark (not a test): commands models on held-out real speakers, clips and streams.

The real data set is built from the real-speech recordings beside the checkout (never part of the
repository) with the commands of docs/data.md ("Real speakers"): Speech Commands v0.02 test-set
speakers re-split by speaker (train / validation / test lists), the other words of the set,
spoken digits (FSDD), Mycroft's words and two crowd-sourced wake words as `_unknown_`, recorded
noise as `_silence_`. Then, for every model given:

- clips: int8 accuracy in TFLM on the test split's Speech Commands clips (the held-out speakers,
  silence cut from `_background_noise_`): plain, weighed as the published test set weighs its 12
  classes, class-balanced, per class, confusion;
- streams: real keywords of held-out speakers inserted into real non-keyword speech of held-out
  speakers and recorded or generated noise (kws data streams --split test), scored by kws eval
  at the model's released thresholds and at the spec's default one: FA/hr, FRR, latency, DET.

    python bench/real_speakers.py --out bench/results/real_speakers.json [--models models/commands ...] [--day-hours 24]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT

SPEECH = REPO_ROOT.parent / "shared" / "speech"
# (data set name, loader, root under the recordings, loader options): the recipe of docs/data.md
PARTS = (
    ("sc", "speech-commands", "speech_commands", {}),
    ("fsdd", "words", "fsdd", {"speaker_field": 1, "source": "fsdd"}),
    ("mycroft", "words", "mycroft_not_wake_words", {"source": "mycroft"}),
    ("computer", "words", "picovoice/computer", {"source": "picovoice_computer"}),
    ("jarvis", "words", "picovoice/jarvis", {"source": "picovoice_jarvis"}),
    ("noise", "noise", "noise", {"source": "recorded_noise"}),
)
# the released recipe's caps; without them: bench/results/negatives.json (docs/results.md)
CAPS = {"fsdd": 300, "picovoice_computer": 120, "picovoice_jarvis": 120}


def build_real(task, out: Path) -> Path:
    """The real data set at ``out / 'all'`` from the recordings, by the recipe above."""
    from kws.data.mix import ingest_and_mix

    return ingest_and_mix(PARTS, task, out, root=SPEECH, caps=CAPS)


def clip_figures(spec, model: Path, data: Path) -> dict:
    from kws.evaluate.clips import clip_accuracy

    r = clip_accuracy(spec, model, data, split="test")
    sc = r["per_source"]["speech_commands"]
    speakers = {v for v in r["clip_voices"] if v.startswith("sc:")}
    return {
        "clips": sc["n"],
        "speakers": len(speakers),
        "accuracy": sc["accuracy"],
        "test_set_weighted_accuracy": sc.get("test_set_weighted_accuracy"),
        "balanced_accuracy": sc["balanced_accuracy"],
        "per_class_recall": sc["per_class_recall"],
        "confusion": sc["confusion"],
        "labels": r["labels"],
        "all_test_clips": {
            "n": r["n"],
            "accuracy": r["accuracy"],
            "per_source": {k: {"accuracy": v["accuracy"], "n": v["n"]} for k, v in r["per_source"].items()},
        },
    }


def stream_figures(spec, model: Path, streams: Path, out: Path) -> dict:
    from kws.evaluate.run import evaluate
    from kws.released import ReleasedModel

    released = ReleasedModel.load(model).thresholds
    r = evaluate(spec, model, streams, out, fixed_thresholds=released)
    keep = (
        "fa_per_hour",
        "fa_per_hour_ci95",
        "frr",
        "frr_ci95",
        "occurrences",
        "false_accepts",
        "hours",
        "latency_ms_p50",
        "latency_ms_p95",
    )
    pick = {k: {f: r[k].get(f) for f in keep} for k in ("at_default_threshold", "at_fixed") if k in r}
    frr_at = {}
    for fa in (10.0, 5.0, 2.0, 1.0, 0.5, 0.1):
        ok = [p for p in r["det_all"] if p["fa_per_hour"] <= fa]
        best = min(ok, key=lambda p: p["frr"]) if ok else None
        frr_at[f"{fa:g}"] = (
            {"frr": best["frr"], "threshold": best["threshold"], "latency_ms_p95": best["latency_ms_p95"]}
            if best
            else None
        )
    det_all = [
        {f: p.get(f) for f in ("threshold", "fa_per_hour", "false_accepts", "frr", "latency_ms_p95")}
        for p in r["det_all"]
    ]
    return {
        "released_thresholds": released,
        **{("at_released_thresholds" if k == "at_fixed" else k): v for k, v in pick.items()},
        "hours": r["at_default_threshold"]["hours"],
        "keywords": r["at_default_threshold"]["occurrences"],
        "frr_within_fa_per_hour": frr_at,
        "det_all": det_all,
        "det_png": str((out / "det.png").relative_to(REPO_ROOT)),
    }


def main() -> None:
    from kws.data.streams import make_stream
    from kws.data.task import load_task
    from kws.spec import load_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["models/commands"])
    ap.add_argument("--minutes", type=float, default=30.0, help="each of the negative and positive streams")
    ap.add_argument(
        "--day-hours",
        type=int,
        default=0,
        help="also score this many hours of negatives (1 h streams of the test split's other words, "
        "with the positive stream) at the released thresholds: FA/hr over a day",
    )
    ap.add_argument("--out", default="bench/results/real_speakers.json")
    args = ap.parse_args()
    if not (SPEECH / "speech_commands" / "testing_list.txt").exists():
        sys.exit(f"{SPEECH}: the real-speech recordings are not beside the checkout")
    task = load_task("commands")
    work = REPO_ROOT / "build" / "real"
    data = build_real(task, work)
    streams = work / "streams_test"
    summaries = [
        make_stream(data, task, streams, kind=k, minutes=args.minutes, split="test") for k in ("negative", "positive")
    ]
    day = None
    if args.day_hours:
        day = work / "streams_day"
        for part in range(1, args.day_hours + 1):
            make_stream(
                data,
                task,
                day,
                kind="negative",
                minutes=60,
                split="test",
                name=f"negative_test_60min_part{part:02d}",
                part=part,
            )
        for f in streams.glob("positive_test_*"):
            shutil.copyfile(f, day / f.name)
    result = {
        "benchmark": "real_speakers",
        "data": {
            "recordings": "Speech Commands v0.02 test-set speakers (train / validation / test lists by speaker), its "
            "other words, FSDD digits, Mycroft words, Picovoice 'computer' and 'jarvis' (as other words), "
            "recorded noise",
            "manifest_hash": json.loads((data / "manifest.json").read_text())["hash"],
            "shares": json.loads((data / "manifest.json").read_text())["shares"],
            "streams": [
                {k: s[k] for k in ("name", "seconds", "keywords", "speech_events")} | {"voices": len(s["voices"])}
                for s in summaries
            ],
        },
        "models": {},
    }
    for m in args.models:
        spec = load_task("commands").spec(load_spec())
        model = REPO_ROOT / m
        sha = hashlib.sha256((model / "model.tflite").read_bytes()).hexdigest()
        result["models"][m] = {
            "model_sha256": sha,
            "clips": clip_figures(spec, model, data),
            "streams": stream_figures(spec, model, streams, REPO_ROOT / "build" / "real" / "eval" / Path(m).name),
        }
        if day is not None:
            result["models"][m]["day"] = stream_figures(
                spec, model, day, REPO_ROOT / "build" / "real" / "eval_day" / Path(m).name
            )
        c, s = result["models"][m]["clips"], result["models"][m]["streams"]
        print(
            f"{m}: {c['clips']} clips of {c['speakers']} held-out speakers: int8 {c['accuracy']:.1%}, weighed as "
            f"the test set {c['test_set_weighted_accuracy']:.1%}, class-balanced {c['balanced_accuracy']:.1%}"
        )
        for k in ("at_released_thresholds", "at_default_threshold"):
            if k in s:
                print(
                    f"  streams {k}: FA/hr {s[k]['fa_per_hour']:.2f}, FRR {s[k]['frr']:.1%}, p95 latency "
                    f"{s[k]['latency_ms_p95'] or 0:.0f} ms ({s[k]['occurrences']} keywords)"
                )
        print(
            "  FRR within FA/hr: "
            + ", ".join(f"{fa}: {v['frr']:.1%}" if v else f"{fa}: -" for fa, v in s["frr_within_fa_per_hour"].items())
        )
        if day is not None:
            d = result["models"][m]["day"]
            print(
                f"  {d['hours']:.1f} h: at the released thresholds FA/hr {d['at_released_thresholds']['fa_per_hour']:.2f}"
                f", FRR {d['at_released_thresholds']['frr']:.1%}; FRR within FA/hr: "
                + ", ".join(
                    f"{fa}: {v['frr']:.1%}" if v else f"{fa}: -" for fa, v in d["frr_within_fa_per_hour"].items()
                )
            )
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
