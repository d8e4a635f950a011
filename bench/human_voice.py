"""Benchmark (not a test): the released commands model on the only recorded human speech here,
alsa-utils' speaker-test voice (kws data alsa-voice: one woman, "left" and "right" said six times,
each last in a two-word phrase, and "front / rear / side / center" around them).

Host reference (kws eval's scoring): what the detector finds at the released (calibrated)
thresholds and at the spec's default threshold, with what each false accept heard, and the DET
over the threshold sweep; then the keyword-spotter firmware in QEMU on the same stream: its
windows and events against the host's. Six keywords: a sanity check of synthetic-voice training
on a human, not an accuracy figure.

    python bench/human_voice.py --out bench/results/human_voice.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from kws.audio import read_wav
from kws.codegen.common import REPO_ROOT, write_if_changed
from kws.data.alsa_voice import make_stream
from kws.device.qemu import run_app
from kws.evaluate.run import evaluate
from kws.pipeline import ReferencePipeline, calibrated_thresholds
from kws.spec import load_spec


def point(tot: dict) -> dict:
    return {k: tot[k] for k in ("frr", "false_accepts", "occurrences", "latency_ms_p50", "latency_ms_p95")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--out", default="bench/results/human_voice.json")
    args = ap.parse_args()
    spec = load_spec()
    model = REPO_ROOT / args.model
    pipe = ReferencePipeline(spec, model)
    streams = REPO_ROOT / "build" / "streams_alsa"
    summary = make_stream(streams, pipe.labels)
    released = calibrated_thresholds(pipe.manifest)
    res = evaluate(spec, model, streams, REPO_ROOT / "build" / "human_voice_eval", fixed_thresholds=released)
    heard = res.get("false_accepts_heard", {})
    pcm = read_wav(streams / "alsa_voice.wav", expected_rate=spec.frontend.sample_rate_hz)
    logits, events = pipe.run(pcm)
    dev = run_app(pcm, REPO_ROOT / "build" / "human_voice_qemu")
    got = dev["logits"].reshape(-1, logits.shape[1])
    result = {
        "benchmark": "human_voice", "model": args.model, "stream": summary,
        "released_thresholds": released, "default_threshold": spec.detector.threshold,
        "at_released_thresholds": point(res["at_fixed"]),
        "at_default_threshold": point(res["at_default_threshold"]),
        "false_accepts_heard_at_default": heard.get("at_default_threshold"),
        "det_all": [{k: p[k] for k in ("threshold", "frr", "false_accepts")} for p in res["det_all"]],
        "device_qemu": {"windows": int(logits.shape[0]),
                        "windows_equal": int(np.sum(np.all(got == logits, axis=1))) if got.shape == logits.shape else 0,
                        "events_host": [(e.label, e.score_q, e.sample) for e in events],
                        "events_device": dev["events"],
                        "events_equal": [(e.label, e.score_q, e.sample) for e in events] == dev["events"]},
        "note": "one recorded speaker, six keywords: a sanity check, not an accuracy figure",
    }
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("at_released_thresholds", "at_default_threshold")}, indent=1))
    print("device:", {k: v for k, v in result["device_qemu"].items() if k.startswith(("windows", "events_equal"))})


if __name__ == "__main__":
    main()
