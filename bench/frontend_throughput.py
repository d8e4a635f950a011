"""Benchmark (not a test): front-end throughput, Python reference vs C host build, one run.

Writes JSON with audio seconds processed per wall-clock second for each path and their
ratio, both measured in the same process on the same audio (TTS speech from espeak-ng and
flite, looped with noise to the requested length). Wall-clock figures on a shared machine
are noisy: read the ratio, and the best-of-N times.

    python bench/frontend_throughput.py --seconds 600 --out bench/results/frontend_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from kws.data import tts
from kws.frontend import fixed
from kws.fsio import write_if_changed
from kws.reference.native import NativeFrontend, build_host
from kws.spec import load_spec


def make_audio(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clips = [
        tts.espeak(t, voice=v, rate=rate)
        for t, v in [("yes, turn left now", "en+m3"), ("stop the music", "en+f2"), ("go forward", "en+klatt4")]
    ]
    clips.append(tts.flite("on and off, then down", voice="slt", rate=rate))
    speech = np.concatenate(clips).astype(np.float64)
    reps = int(np.ceil(seconds * rate / speech.size))
    x = np.tile(speech, reps)[: int(seconds * rate)] + rng.normal(0, 30, int(seconds * rate))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="audio length (default 10 min)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="bench/results/frontend_throughput.json")
    args = ap.parse_args()

    spec = load_spec().frontend
    native = NativeFrontend(spec, build_host())
    pcm = make_audio(args.seconds, spec.sample_rate_hz)
    frames = spec.num_frames(pcm.size)

    py_cep = fixed.cepstra(pcm, spec)  # warm-up and correctness cross-check
    c_cep, _ = native.run(pcm, [spec.hop_samples])
    assert np.array_equal(py_cep, c_cep), "Python and C disagree: run the tests"

    t_py = best_of(lambda: fixed.quantize_cepstra(fixed.cepstra(pcm, spec), spec), args.repeats)
    t_c = best_of(lambda: native.run(pcm, [spec.hop_samples]), args.repeats)
    result = {
        "benchmark": "frontend_throughput",
        "frontend_hash": spec.hash,
        "audio": {"seconds": args.seconds, "frames": frames, "source": "espeak-ng + flite speech, looped, +noise"},
        "python_reference": {
            "seconds": t_py,
            "realtime_factor": args.seconds / t_py,
            "note": "numpy, vectorized over frames, one process",
        },
        "c_host_build": {
            "seconds": t_c,
            "realtime_factor": args.seconds / t_c,
            "note": "firmware C, gcc -O2, streaming API in hop-sized blocks, one thread",
        },
        "ratio_c_over_python": t_py / t_c,
        "bit_exact": True,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "method": f"best of {args.repeats} wall-clock runs each, same process and audio",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("python_reference", "c_host_build", "ratio_c_over_python")}, indent=2))


if __name__ == "__main__":
    main()
