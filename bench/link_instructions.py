"""Benchmark (not a test): instructions the serial build spends receiving audio, on the emulated
Cortex-M4F (QEMU -icount shift=0, SysTick ticks converted with the image's calibration loop).

Runs build/qemu/link_bench.elf (tests/c/qemu_link_bench.c): AUDIO frames of full blocks encoded
as the host sends them, fed byte by byte through the protocol's receiver (COBS, CRC, sequence)
and converted in place to samples, as the serial app does before its front end runs.

    python bench/link_instructions.py --out bench/results/link_instructions.json
"""

from __future__ import annotations

import argparse
import json
import subprocess

from kws.device.qemu import parse_fields, run_semihosted
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.spec import load_spec

ELF = REPO_ROOT / "build" / "qemu" / "link_bench.elf"
CLOCK_HZ = 64e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/results/link_instructions.json")
    args = ap.parse_args()
    subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT / "firmware"), "qemu-link"], check=True, stdout=subprocess.DEVNULL
    )
    run = run_semihosted(ELF, [], icount=True)
    f = {
        k: int(v)
        for k, v in parse_fields([ln for ln in run.output.splitlines() if ln.startswith("link_bench ")][0]).items()
    }
    if f["equal"] != f["frames"]:
        raise SystemExit(f"{ELF}: {f['frames'] - f['equal']} frames came back changed")
    instr = f["ticks"] * f["calib_instr"] / f["calib_ticks"]
    seconds = f["samples"] / load_spec().frontend.sample_rate_hz
    result = {
        "benchmark": "link_instructions",
        "frames": f["frames"],
        "samples": f["samples"],
        "wire_bytes": f["wire_bytes"],
        "frames_equal": f["equal"],
        "instructions_per_wire_byte": round(instr / f["wire_bytes"], 1),
        "instructions_per_audio_second": round(instr / seconds),
        "duty_cycle_at_64MHz": instr / seconds / CLOCK_HZ,
        "note": "instruction counts (QEMU -icount); receive path only (kws_proto_rx_byte per byte, "
        "kws_proto_rx_pcm16 per frame), not the UART interrupt or the CREDIT frames sent back",
    }
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in ("instructions_per_wire_byte", "instructions_per_audio_second", "duty_cycle_at_64MHz")
            }
        )
    )


if __name__ == "__main__":
    main()
