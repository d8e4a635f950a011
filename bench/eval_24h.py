"""FA/hr over a day of keyword-free audio: the host reference pipeline (the firmware's C front end
and streaming network on the host, bit-exact with Python + TFLM) on --hours one-hour negative
streams from the test split (distinct seeds: no repetition) plus the positive test stream.
Thresholds are calibrated on other streams — hours of validation-voice negatives hold best
(docs/evaluation.md), the standard 40-minute test streams (build/streams) by default — and then
scored on the day of negatives, which they have never seen; the default threshold is scored too.

    kws data streams build/data/commands --out build/streams_val --split val --kind positive --minutes 30
    kws data streams build/data/commands --out build/streams_val --split val --kind negative --minutes 60 --parts 12
    python bench/eval_24h.py --hours 24 --calibration-streams build/streams_val --positive-streams build/streams \
        --out bench/results/eval_24h.json
    python bench/eval_24h.py --model models/wakeword --calibration-streams build/streams_ww \
        --out bench/results/eval_24h_wakeword.json

Writes JSON (FA/hr and FRR at both operating points, the number of false accepts behind the
FA/hr, the whole model's DET curve over the day — one threshold for every keyword, with each
point's p95 latency — and throughput as audio seconds per compute second measured in this
run). Streams are written under build/eval_24h/<model name> (about 115 MB per hour) and reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time

from kws.data.streams import make_stream
from kws.data.task import load_task
from kws.evaluate.run import evaluate
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--data", help="the model's data set (default: build/data/<task>)")
    ap.add_argument(
        "--calibration-streams",
        default="build/streams",
        help="streams the thresholds are calibrated on (hours of validation-voice negatives hold best)",
    )
    ap.add_argument("--positive-streams", help="where positive_test_10min comes from (default: --calibration-streams)")
    ap.add_argument("--out", default="bench/results/eval_24h.json")
    args = ap.parse_args()
    spec = load_spec()
    man = json.loads((REPO_ROOT / args.model / "manifest.json").read_text())
    task = load_task(man["task"]["name"])
    data = args.data or f"build/data/{task.name}"
    work = REPO_ROOT / "build" / "eval_24h" / man["name"]
    streams = work / "streams"
    streams.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for h in range(args.hours):
        if not (streams / f"negative_day_{h:02d}.words.csv").exists():  # streams made before words files too
            make_stream(
                REPO_ROOT / data, task, streams, kind="negative", minutes=60, name=f"negative_day_{h:02d}", part=h + 1
            )
    pos_dir = REPO_ROOT / (args.positive_streams or args.calibration_streams)
    for name in ("positive_test_10min.wav", "positive_test_10min.labels.csv"):
        shutil.copyfile(pos_dir / name, streams / name)
    if (pos_dir / "positive_test_10min.words.csv").exists():  # older streams have none
        shutil.copyfile(pos_dir / "positive_test_10min.words.csv", streams / "positive_test_10min.words.csv")
    t_streams = time.perf_counter() - t0
    cal = evaluate(spec, REPO_ROOT / args.model, REPO_ROOT / args.calibration_streams, work / "calibration")
    r = evaluate(spec, REPO_ROOT / args.model, streams, work / "day", fixed_thresholds=cal["calibrated_thresholds"])
    keep = (
        "fa_per_hour",
        "fa_per_hour_ci95",
        "false_accepts",
        "hours",
        "frr",
        "frr_ci95",
        "frr_voice_mean",
        "occurrences",
        "latency_ms_p95",
    )
    result = {
        "benchmark": "eval_24h",
        "model": args.model,
        "negative_hours": args.hours,
        "model_sha256": hashlib.sha256((REPO_ROOT / args.model / "model.tflite").read_bytes()).hexdigest(),
        "audio_hours_total": r["audio_seconds"] / 3600,
        "thresholds_calibrated_on": args.calibration_streams,
        "calibration_hours": cal["at_calibrated"]["hours"],
        "calibrated_thresholds": cal["calibrated_thresholds"],
        "at_calibrated_thresholds": {k: r["at_fixed"][k] for k in keep if k in r["at_fixed"]},
        "at_default_threshold": {k: r["at_default_threshold"][k] for k in keep if k in r["at_default_threshold"]},
        "misses_by_voice": {
            "at_calibrated_thresholds": r["by_voice"]["at_fixed"],
            "at_default_threshold": r["by_voice"]["at_default_threshold"],
        },
        "throughput_x_realtime": r["throughput_x_realtime"],
        "occurrences_key": r["occurrences_key"],  # with det_all's hits: `kws eval --compare` of two runs
        "occurrence_voices": r["occurrence_voices"],
        "det_all": [
            {
                k: p[k]
                for k in (
                    "threshold",
                    "fa_per_hour",
                    "fa_per_hour_ci95",
                    "false_accepts",
                    "hours",
                    "frr",
                    "frr_ci95",
                    "occurrences",
                    "latency_ms_p95",
                    "hits",
                )
            }
            for p in r["det_all"]
        ],
        "false_accepts_heard": {
            "at_calibrated_thresholds": r["false_accepts_heard"]["at_fixed"],
            "at_default_threshold": r["false_accepts_heard"]["at_default_threshold"],
        },
        "note": "throughput: audio seconds per second of feature + network compute, this run, all cores",
        "stream_generation_seconds": t_streams,
    }
    out = REPO_ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "audio_hours_total",
                    "at_calibrated_thresholds",
                    "at_default_threshold",
                    "throughput_x_realtime",
                )
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
