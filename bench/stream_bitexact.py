"""Benchmark (not a test): a long evaluation stream through the keyword spotter on the emulated
Cortex-M4F (semihosting audio source) and through the host reference pipeline (front end ->
TFLM -> detector); counts equal windows and events and measures instructions per second of
audio per stage (QEMU -icount shift=0) -> duty cycle at 64 MHz.

    kws data streams build/data/commands --out build/streams --minutes 10 --kind positive
    python bench/stream_bitexact.py --stream build/streams/positive_test_10min.wav
    python bench/stream_bitexact.py --stream build/eval_24h/commands/streams/negative_day_*.wav \
        --out bench/results/stream_bitexact_day.json          # a day of negatives (~45 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from kws.audio import read_wav
from kws.device.qemu import run_app
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference.pipeline import ReferencePipeline
from kws.spec import load_spec

CLOCK_HZ = 64e6


def one(spec, stream: str, model: str) -> dict:
    """One stream through the host reference and the emulated device: counts and instruction totals."""
    pcm = read_wav(stream, expected_rate=spec.frontend.sample_rate_hz)
    t0 = time.perf_counter()
    logits, events = ReferencePipeline(spec, REPO_ROOT / model).run(pcm)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    (REPO_ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=REPO_ROOT / "build", prefix="bench_stream_") as work:  # a run of its own:
        dev = run_app(pcm, Path(work), timeout=3600)  # two runs at once must not share audio or logits files
    t_dev = time.perf_counter() - t0
    got = dev["logits"].reshape(-1, logits.shape[1])
    ref_ev = [(e.label, e.score_q, e.sample) for e in events]
    from kws.frontend import Frontend
    from kws.reference.monitor import stats_of

    mon_ref = stats_of(Frontend(spec.frontend).features(pcm, sample_rate=spec.frontend.sample_rate_hz), spec.monitor)
    st = dev["stats"]
    return {
        "seconds": pcm.size / spec.frontend.sample_rate_hz,
        "windows": int(logits.shape[0]),
        "windows_equal": int(np.sum(np.all(got == logits, axis=1))) if got.shape == logits.shape else 0,
        "events_reference": len(ref_ev),
        "events_device": len(dev["events"]),
        "events_equal": sum(1 for a, b in zip(ref_ev, dev["events"]) if a == b)
        if len(ref_ev) == len(dev["events"])
        else 0,
        "monitor_equal": dev["monitor"] is not None and dev["monitor"].to_bytes() == mon_ref.to_bytes(),
        "instructions": {k: st[f"{k}_instructions"] for k in ("fe", "net", "det")},
        "runs": st["runs"],
        "wall": {"host_reference_tflm": t_ref, "qemu_device": t_dev},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stream", required=True, nargs="+", help="one or more streams (results add up)")
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--out", default="bench/results/stream_bitexact.json")
    args = ap.parse_args()
    spec = load_spec()
    parts = []
    for i, stream in enumerate(args.stream):
        parts.append(one(spec, stream, args.model))
        if len(args.stream) > 1:
            p = parts[-1]
            print(
                f"[{i + 1}/{len(args.stream)}] {stream}: {p['windows_equal']} of {p['windows']} windows, "
                f"{p['events_equal']} of {p['events_reference']} events equal",
                flush=True,
            )
    seconds = sum(p["seconds"] for p in parts)
    per_s = {k: sum(p["instructions"][k] for p in parts) / seconds for k in ("fe", "net", "det")}
    total = sum(per_s.values())
    result = {
        "benchmark": "stream_bitexact",
        "stream": args.stream[0] if len(args.stream) == 1 else args.stream,
        "audio_seconds": seconds,
        "model": args.model,
        "model_sha256": json.loads((REPO_ROOT / args.model / "manifest.json").read_text())["model"]["sha256"],
        "frontend_hash": spec.frontend.hash,
        **{
            k: sum(p[k] for p in parts)
            for k in ("windows", "windows_equal", "events_reference", "events_device", "events_equal")
        },
        "monitor_equal": all(p["monitor_equal"] for p in parts),
        "instructions_per_audio_second": {**{k: round(v) for k, v in per_s.items()}, "total": round(total)},
        "duty_cycle_at_64MHz": total / CLOCK_HZ,
        "network_runs_per_second": sum(p["runs"] for p in parts) / seconds,
        "note": "instruction counts (QEMU -icount), 1 instruction = 1 cycle assumed for the duty cycle",
        "wall_seconds": {k: sum(p["wall"][k] for p in parts) for k in ("host_reference_tflm", "qemu_device")},
    }
    out = REPO_ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "audio_seconds",
                    "windows",
                    "windows_equal",
                    "events_reference",
                    "events_equal",
                    "monitor_equal",
                    "instructions_per_audio_second",
                    "duty_cycle_at_64MHz",
                )
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
