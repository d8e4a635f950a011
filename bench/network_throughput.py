"""Benchmark (not a test): the streaming network on the host, AVX2 kernels against the portable C
(``-DKWS_NN_PORTABLE``), both built from the same generated network, one thread, one run.

For each released model: the features of one stream (the firmware's C front end), then the
logits of every detector window through each build, alternated and timed best-of-N. Reports
audio seconds per second for each build and their ratio, and checks that both gave the same
logits. Wall-clock figures on a shared machine are noisy: read the ratio.

    python bench/network_throughput.py --out bench/results/network_throughput.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time

from kws.audio import read_wav
from kws.codegen import model as cgm
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference.native import NativeFrontend, NativeNet, build_host
from kws.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wav", default="build/streams/positive_test_10min.wav")
    ap.add_argument("--models", nargs="+", default=["models/commands", "models/wakeword"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="bench/results/network_throughput.json")
    args = ap.parse_args()
    spec = load_spec()
    pcm = read_wav(REPO_ROOT / args.wav, expected_rate=spec.frontend.sample_rate_hz)
    seconds = pcm.size / spec.frontend.sample_rate_hz
    feats = NativeFrontend(spec.frontend, build_host()).run(pcm)[1]
    stride = spec.detector.stride_frames
    rows = []
    for m in args.models:
        blob = (REPO_ROOT / m / "model.tflite").read_bytes()
        d = REPO_ROOT / "build" / "bench_network" / hashlib.sha256(blob).hexdigest()[:16]
        cgm.generate(blob, d, frontend_hash32=spec.frontend.hash32, source=f"{m}/model.tflite", stride_frames=stride)
        nets = {"avx2": NativeNet(d), "portable": NativeNet(d, portable=True)}
        best = {k: float("inf") for k in nets}
        out = {}
        for _ in range(args.repeats):
            for k, net in nets.items():
                t0 = time.perf_counter()
                out[k] = net.stream(feats, stride)
                best[k] = min(best[k], time.perf_counter() - t0)
        rows.append(
            {
                "model": m,
                "windows": int(out["avx2"].shape[0]),
                "logits_equal": bool((out["avx2"] == out["portable"]).all()),
                "x_realtime": {k: seconds / v for k, v in best.items()},
                "ratio_avx2_over_portable": best["portable"] / best["avx2"],
            }
        )
        print(
            f"{m}: avx2 {seconds / best['avx2']:.0f}x, portable {seconds / best['portable']:.0f}x real time "
            f"(one thread), ratio {rows[-1]['ratio_avx2_over_portable']:.2f}, equal {rows[-1]['logits_equal']}"
        )
    result = {
        "benchmark": "network_throughput",
        "wav": args.wav,
        "audio_seconds": seconds,
        "threads": 1,
        "repeats": args.repeats,
        "machine": platform.processor() or platform.machine(),
        "models": rows,
        "note": "best of N per build, builds alternated in one run; features excluded",
    }
    out_path = REPO_ROOT / args.out
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out_path, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
