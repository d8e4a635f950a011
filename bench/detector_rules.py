"""Benchmark (not a test): the streaming detector's stride and smoothing against misses and latency,
for a released model on held-out real speakers.

Each rule (``[detector] stride_frames`` and ``smooth_windows``; the network, the front end and every
other constant unchanged) is measured as a release would be:

1. thresholds fitted to ``--target-fa`` FA/hr on the 20 validation speakers' day (24 one-hour streams
   of their other words with their 20-minute keyword stream, ``build/real/streams_valday``);
2. the 42 test speakers' day (their other words with their 30-minute keyword stream,
   ``build/real/streams_testday``) scored at those thresholds: FA/hr, FRR, p95 latency from keyword end;
3. along the test day's DET curve (one threshold for every keyword): the lowest FRR within each FA/hr
   level, with that point's p95 latency;
4. the takes behind the test day's false accepts at the validation thresholds: the day repeats a few
   hundred recordings, so its FA/hr rests on how many of them fire.

Both stream folders are made as docs/evaluation.md and bench/mined_windows.py make them.

    python bench/detector_rules.py [--model models/commands] [--rules 4x3 4x2 4x1]
        [--out bench/results/detector_rules.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT

FA_LEVELS = (10.0, 5.0, 2.0, 1.0, 0.5, 0.1)


def _point(p: dict) -> dict:
    keep = (
        "threshold",
        "fa_per_hour",
        "frr",
        "occurrences",
        "false_accepts",
        "hours",
        "latency_ms_p50",
        "latency_ms_p95",
    )
    return {k: p[k] for k in keep if k in p}


def measure(spec, model: Path, val_streams: Path, test_streams: Path, work: Path, target_fa: float) -> dict:
    from kws.evaluate.run import evaluate

    v = evaluate(spec, model, val_streams, work / "val", target_fa_per_hour=target_fa)
    t = evaluate(spec, model, test_streams, work / "test", fixed_thresholds=v["calibrated_thresholds"])
    within = {}
    for fa in FA_LEVELS:
        ok = [p for p in t["det_all"] if p["fa_per_hour"] <= fa]
        within[f"{fa:g}"] = _point(min(ok, key=lambda p: (p["frr"], p["threshold"]))) if ok else None
    return {
        # the recordings each day's keyword-free streams repeat (kws eval's negative_takes)
        "negative_takes": {"val": v["negative_takes"], "test": t["negative_takes"]},
        "val_at_fitted": _point(v["at_calibrated"]),
        "thresholds": v["calibrated_thresholds"],
        "test_at_val_thresholds": _point(t["at_fixed"]),
        "test_within_fa_per_hour": within,
        "test_lowest_frr": min(p["frr"] for p in t["det_all"]),
        # the recordings behind the test day's false accepts at those thresholds (kws.evaluate.triggers)
        "test_takes_at_val_thresholds": t.get("false_accepts_heard", {}).get("at_fixed", {}).get("takes"),
        "test_heard_at_val_thresholds": t.get("false_accepts_heard", {}).get("at_fixed", {}).get("by_kind"),
    }


def main() -> None:
    from kws.data.task import load_task
    from kws.spec import load_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--task", default="commands")
    ap.add_argument(
        "--rules",
        nargs="+",
        default=["4x3", "4x2", "4x1"],
        help="STRIDExSMOOTH: network run every STRIDE hops (a multiple of the network's stream step, 4 for the released models), posteriors averaged over SMOOTH runs",
    )
    ap.add_argument("--target-fa", type=float, default=1.0, help="FA/hr the validation day's thresholds are fitted to")
    ap.add_argument("--val-streams", default="build/real/streams_valday")
    ap.add_argument("--test-streams", default="build/real/streams_testday")
    ap.add_argument("--out", default="bench/results/detector_rules.json")
    args = ap.parse_args()
    val, test = REPO_ROOT / args.val_streams, REPO_ROOT / args.test_streams
    for d in (val, test):
        if not any(d.glob("*.wav")):
            sys.exit(f"{d}: no streams (make them as docs/evaluation.md says)")
    model = REPO_ROOT / args.model
    base = load_task(args.task).spec(load_spec())
    result: dict = {
        "benchmark": "detector_rules",
        "model": args.model,
        "model_sha256": hashlib.sha256((model / "model.tflite").read_bytes()).hexdigest(),
        "spec_detector": dataclasses.asdict(base.detector),
        "val_streams": args.val_streams,
        "test_streams": args.test_streams,
        "target_fa_per_hour": args.target_fa,
        "rules": {},
    }
    for rule in args.rules:
        stride, smooth = (int(x) for x in rule.split("x"))
        spec = dataclasses.replace(
            base, detector=dataclasses.replace(base.detector, stride_frames=stride, smooth_windows=smooth)
        )
        work = REPO_ROOT / "build" / "detector_rules" / Path(args.model).name / rule
        r = measure(spec, model, val, test, work, args.target_fa)
        result.setdefault("negative_takes", r.pop("negative_takes"))  # the same for every rule
        r["run_ms"] = stride * spec.frontend.hop_samples * 1000 / spec.frontend.sample_rate_hz
        result["rules"][rule] = r
        a = r["test_at_val_thresholds"]
        print(
            f"stride {stride} x smooth {smooth}: test day at validation thresholds {a['fa_per_hour']:.2f} FA/hr, "
            f"FRR {a['frr']:.1%}, p95 {a['latency_ms_p95'] or 0:.0f} ms; within FA/hr: "
            + ", ".join(
                f"{fa}: {p['frr']:.1%} ({p['latency_ms_p95'] or 0:.0f} ms)" if p else f"{fa}: -"
                for fa, p in r["test_within_fa_per_hour"].items()
            ),
            flush=True,
        )
        write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
