"""The island built for size: the serial-protocol image (the one `kws device` talks to) compiled
with -Os instead of -O2, measured from its ELF and map with its stack from a run in QEMU
(`kws budget --elf`), against the 32 KB moonshot.

    python bench/island_os.py --out bench/results/island_os.json

The image runs the model's own network (firmware/generated/<model>/, `MODEL=<model>`); the JSON names
the model the image reported.

    python bench/island_os.py --model models/wakeword --out bench/results/island_os_wakeword.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess

from kws.footprint.budget import measured_budget
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT, firmware_build_dir
from kws.released import ReleasedModel
from kws.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/commands", help="the released model the image must run")
    ap.add_argument("--out", default="bench/results/island_os.json")
    args = ap.parse_args()
    build = REPO_ROOT / "build" / "os"
    model = ReleasedModel.load(REPO_ROOT / args.model).firmware
    elf = build / firmware_build_dir("qemu", model).name / "kws_serial.elf"  # the Makefile's folder, under BUILD
    subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT / "firmware"), f"BUILD={build}", f"MODEL={model}", "ARM_OPT=-Os", str(elf)],
        check=True,
    )
    sha = hashlib.sha256((REPO_ROOT / args.model / "model.tflite").read_bytes()).hexdigest()
    rep = measured_budget(load_spec(), elf, model_sha256=sha)
    result = {
        "benchmark": "island_os",
        "model": args.model,
        "model_sha256": sha,
        "image": "kws_serial.elf",
        "arm_opt": "-Os",
        "total_bytes": rep["total_bytes"],
        "flash_bytes": rep["flash_bytes"],
        "ram_bytes": rep["ram_bytes"],
        "items": rep["items"],
    }
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("total_bytes", "flash_bytes", "ram_bytes")}))


if __name__ == "__main__":
    main()
