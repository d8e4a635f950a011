"""Benchmark (not a test): a long evaluation stream through the keyword spotter on the emulated
Cortex-M4F (semihosting audio source) and through the host reference pipeline (front end ->
TFLM -> detector); counts equal windows and events and measures instructions per second of
audio per stage (QEMU -icount shift=0) -> duty cycle at 64 MHz.

    kws data streams build/data/commands --out build/streams --minutes 10 --kind positive
    python bench/stream_bitexact.py --stream build/streams/positive_test_10min.wav
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kws.audio import read_wav
from kws.codegen.common import REPO_ROOT, write_if_changed
from kws.device.qemu import run_app
from kws.pipeline import ReferencePipeline
from kws.spec import load_spec

CLOCK_HZ = 64e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stream", required=True)
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--out", default="bench/results/stream_bitexact.json")
    args = ap.parse_args()
    spec = load_spec()
    pcm = read_wav(args.stream, expected_rate=spec.frontend.sample_rate_hz)
    seconds = pcm.size / spec.frontend.sample_rate_hz
    t0 = time.perf_counter()
    logits, events = ReferencePipeline(spec, REPO_ROOT / args.model).run(pcm)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    dev = run_app(pcm, REPO_ROOT / "build" / "bench_stream", timeout=3600)
    t_dev = time.perf_counter() - t0
    got = dev["logits"].reshape(-1, logits.shape[1])
    equal_windows = int(np.sum(np.all(got == logits, axis=1))) if got.shape == logits.shape else 0
    ref_ev = [(e.label, e.score_q, e.sample) for e in events]
    from kws.frontend import Frontend
    from kws.monitor import stats_of

    mon_ref = stats_of(Frontend(spec.frontend).features(pcm, sample_rate=spec.frontend.sample_rate_hz), spec.monitor)
    st = dev["stats"]
    per_s = {k: st[f"{k}_instructions"] / seconds for k in ("fe", "net", "det")}
    total = sum(per_s.values())
    result = {
        "benchmark": "stream_bitexact", "stream": str(args.stream), "audio_seconds": seconds,
        "model": args.model, "frontend_hash": spec.frontend.hash,
        "windows": int(logits.shape[0]), "windows_equal": equal_windows,
        "events_reference": len(ref_ev), "events_device": len(dev["events"]),
        "events_equal": sum(1 for a, b in zip(ref_ev, dev["events"]) if a == b) if len(ref_ev) == len(dev["events"]) else 0,
        "monitor_equal": dev["monitor"] is not None and dev["monitor"].to_bytes() == mon_ref.to_bytes(),
        "instructions_per_audio_second": {**{k: round(v) for k, v in per_s.items()}, "total": round(total)},
        "duty_cycle_at_64MHz": total / CLOCK_HZ,
        "network_runs_per_second": st["runs"] / seconds,
        "note": "instruction counts (QEMU -icount), 1 instruction = 1 cycle assumed for the duty cycle",
        "wall_seconds": {"host_reference_tflm": t_ref, "qemu_device": t_dev},
    }
    out = REPO_ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("audio_seconds", "windows", "windows_equal", "events_reference",
                                              "events_equal", "monitor_equal", "instructions_per_audio_second", "duty_cycle_at_64MHz")},
                     indent=1))


if __name__ == "__main__":
    main()
