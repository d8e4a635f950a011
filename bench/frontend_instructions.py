"""Benchmark (not a test): instructions per front-end frame on an emulated Cortex-M4F.

Runs the firmware's golden-vector image (build/qemu/fe_golden.elf) in QEMU netduinoplus2 with
-icount shift=0 on the speech golden cases; SysTick ticks spent in the streaming front end
are converted to instructions with the calibration loop the image runs (known instruction
count). Instruction counts are deterministic, independent of host load. Also reports the
front end's flash/RAM from the ARM objects, and the CMSIS-DSP anchors measured the same way.

    python bench/frontend_instructions.py --out bench/results/frontend_instructions.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from kws.device.qemu import parse_fields, run_semihosted
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference.golden import DEFAULT_DIR, read_index
from kws.spec import load_spec

ELF = REPO_ROOT / "build" / "qemu" / "fe_golden.elf"


def object_sizes() -> dict[str, int]:
    objs = [
        REPO_ROOT / "build" / "arm" / "core" / "kws_frontend.o",
        REPO_ROOT / "build" / "arm" / "generated" / "kws_fe_tables.o",
    ]
    out = subprocess.run(["arm-none-eabi-size", *map(str, objs)], capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in out.splitlines()[1:]]
    return {
        "code_bytes": int(rows[0][0]),
        "tables_bytes": int(rows[1][0]),
        "static_ram_bytes": sum(int(r[1]) + int(r[2]) for r in rows),
        "scratch_ram_bytes_caller_owned": None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/results/frontend_instructions.json")
    args = ap.parse_args()
    subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT / "firmware"), "arm", "qemu"], check=True, stdout=subprocess.DEVNULL
    )
    spec = load_spec().frontend
    cases = {}
    total_instr = total_frames = 0
    for name, _, frames in read_index(DEFAULT_DIR)[1]:
        if not name.startswith("speech"):
            continue
        run = run_semihosted(ELF, [str(DEFAULT_DIR / name)], icount=True)
        f = parse_fields([ln for ln in run.output.splitlines() if ln.startswith("fe_golden ")][0])
        per_tick = int(f["calib_instr"]) / int(f["calib_ticks"])
        instr = int(f["fe_ticks"]) * per_tick
        assert int(f["equal"]) == frames, f"{name}: not bit-exact in QEMU"
        cases[name] = {"frames": frames, "instructions_per_frame": round(instr / frames)}
        total_instr += instr
        total_frames += frames
    per_frame = total_instr / total_frames
    anchors = json.loads((Path(__file__).with_name("anchors.json")).read_text())["mfcc_per_frame"]
    sizes = object_sizes()

    header = (REPO_ROOT / "firmware" / "generated" / "kws_fe_config.h").read_text()
    sizes["scratch_ram_bytes_caller_owned"] = int(header.split("KWS_FE_SCRATCH_BYTES")[1].split()[0])
    frames_per_s = spec.sample_rate_hz / spec.hop_samples
    result = {
        "benchmark": "frontend_instructions",
        "frontend_hash": spec.hash,
        "target": "QEMU 7.2 netduinoplus2 (Cortex-M4F), -icount shift=0; arm-none-eabi-gcc -O2",
        "what": "kws_fe_stream_feed per hop (streaming front end: buffer + 13 MFCC + int8), speech golden cases",
        "instructions_per_frame": round(per_frame),
        "per_case": cases,
        "front_end_duty_cycle_at_64MHz": per_frame * frames_per_s / 64e6,
        "note_cycles": "instruction counts, not Cortex-M4 cycles (1 instruction = 1 cycle assumed for duty cycle)",
        "size": sizes,
        "vs_anchors": {
            k: {
                "instructions_ratio": per_frame / v["instructions"],
                "flash_ratio": (sizes["code_bytes"] + sizes["tables_bytes"]) / v["flash_bytes"],
            }
            for k, v in anchors.items()
            if k.startswith("cmsis")
        },
    }
    out = REPO_ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {k: result[k] for k in ("instructions_per_frame", "front_end_duty_cycle_at_64MHz", "size", "vs_anchors")},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
