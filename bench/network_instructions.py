"""Benchmark (not a test): instructions per inference of generated networks on an emulated
Cortex-M4F, next to TFLM and CMSIS-NN measured the same way (bench/anchors.json).

Runs the MLPerf Tiny KWS reference model (shared/anchors, logits: its final SOFTMAX is not
generated) and the released models through kws codegen model + firmware/core/kws_nn_*.c in QEMU
netduinoplus2 with -icount shift=0; every output is checked against TFLM's host interpreter.

    python bench/network_instructions.py --out bench/results/network_instructions.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from kws.device.qemu import net_bench
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference.tflite_model import TFLiteModel

sys.path.insert(0, str(REPO_ROOT / "tests"))
from test_codegen_model import ANCHOR, tflm_reference  # noqa: E402

ANCHOR_LAYERS = {
    "conv2d": (14.19e6, 1.12e6),
    "dwconv2d": (3.03e6, 0.561e6),
    "pwconv": (4.17e6, 1.069e6),
    "avgpool": (66e3, 51e3),
}  # (TFLM reference, CMSIS-NN) per layer, shared/anchors/README.md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/results/network_instructions.json")
    args = ap.parse_args()
    anchors = json.loads(Path(__file__).with_name("anchors.json").read_text())["kws_ref_model_per_inference"]
    work = REPO_ROOT / "build" / "bench_net"
    result = {
        "benchmark": "network_instructions",
        "target": "QEMU 7.2 netduinoplus2 (Cortex-M4F), -icount shift=0",
        "note": "instruction counts, not cycles; outputs checked against TFLM's host interpreter",
        "models": {},
    }
    blob = ANCHOR.read_bytes()
    x = np.fromfile(ANCHOR.with_name("mlperf_tiny_kws_input0.int8"), dtype=np.int8).reshape(1, 1, 49, 10, 1)
    ref = tflm_reference(blob, x, TFLiteModel.from_bytes(blob).operators[-1].inputs[0])[0]
    r = net_bench(blob, x, ref, work / "anchor", name="bench_anchor", drop_softmax=True, source=str(ANCHOR))
    result["models"]["mlperf_tiny_kws_ref_model"] = {
        "bit_exact_vs_tflm": r["equal"],
        "instructions": round(r["instructions"]),
        "arena_bytes": r["arena_bytes"],
        "vs_tflm_reference": r["instructions"] / anchors["tflm_reference_kernels"]["instructions"],
        "vs_cmsis_nn": r["instructions"] / anchors["tflm_cmsis_nn"]["instructions"],
        "tflm_arena_bytes": anchors["tflm_reference_kernels"]["arena_bytes"],
        "layers": [
            {
                "kind": k,
                "instructions": round(v),
                "tflm_reference": ANCHOR_LAYERS.get(k, (None, None))[0],
                "cmsis_nn": ANCHOR_LAYERS.get(k, (None, None))[1],
            }
            for k, v in r["layers"]
        ],
    }
    for name in ("commands", "wakeword"):
        model = REPO_ROOT / "models" / name / "model.tflite"
        if not model.exists():
            continue
        blob = model.read_bytes()
        shape = TFLiteModel.from_bytes(blob).tensors[TFLiteModel.from_bytes(blob).inputs[0]].shape
        xi = np.random.default_rng(0).integers(-128, 128, (1, *shape)).astype(np.int8)
        r = net_bench(blob, xi, tflm_reference(blob, xi)[0], work / name, name=f"bench_{name}", source=str(model))
        result["models"][name] = {
            "bit_exact_vs_tflm": r["equal"],
            "instructions": round(r["instructions"]),
            "arena_bytes": r["arena_bytes"],
            "layers": [{"kind": k, "instructions": round(v)} for k, v in r["layers"]],
        }
        if "stream" in r:
            st = r["stream"]
            result["models"][name]["streaming"] = {
                "bit_exact": st["equal"],
                "instructions_per_step": round(st["instructions_per_step"]),
                "frames_per_step": 2,
                "logits_instructions": round(st["logits_instructions"]),
                "layers_per_step": [{"kind": k, "instructions": round(v)} for k, v in st["layers_per_step"]],
            }
    out = REPO_ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(result, indent=2) + "\n")
    a = result["models"]["mlperf_tiny_kws_ref_model"]
    print(
        f"MLPerf KWS model: {a['instructions'] / 1e6:.2f} M instructions (TFLM ref x{a['vs_tflm_reference']:.3f}, "
        f"CMSIS-NN x{a['vs_cmsis_nn']:.3f}), bit-exact {a['bit_exact_vs_tflm']}"
    )
    for k in ("commands", "wakeword"):
        if k in result["models"]:
            m = result["models"][k]
            print(
                f"{k}: {m['instructions'] / 1e6:.2f} M instructions per whole window, bit-exact {m['bit_exact_vs_tflm']}"
            )
            if "streaming" in m:
                st = m["streaming"]
                print(
                    f"  streamed: {st['instructions_per_step'] / 1e3:.1f} K per step of 2 frames + "
                    f"{st['logits_instructions'] / 1e3:.1f} K per window's logits, bit-exact {st['bit_exact']}; per layer "
                    + " ".join(f"{x['kind']}:{x['instructions'] / 1e3:.1f}K" for x in st["layers_per_step"])
                )


if __name__ == "__main__":
    main()
