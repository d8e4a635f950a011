"""Benchmark (not a test): the released commands model on the recorded human speech every Debian
machine has, alsa-utils' speaker-test voice (kws data alsa-voice: one woman, "left" and "right" said six times,
each last in a two-word phrase, and "front / rear / side / center" around them).

Host reference (kws eval's scoring): what the detector finds at the released (calibrated)
thresholds and at the spec's default threshold, with what each false accept heard, and the DET
over the threshold sweep; then the keyword-spotter firmware in QEMU on the same stream: its
windows and events against the host's (kws.evaluate.human). Six keywords: a sanity check on
one human voice, not an accuracy figure.

    python bench/human_voice.py --out bench/results/human_voice.json
"""

from __future__ import annotations

import argparse
import json

from kws.evaluate.human import human_voice
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.spec import load_spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--out", default="bench/results/human_voice.json")
    args = ap.parse_args()
    result = {
        "benchmark": "human_voice",
        **human_voice(load_spec(), REPO_ROOT / args.model, REPO_ROOT / "build" / "human_voice"),
    }
    result["model"] = args.model
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("at_released_thresholds", "at_default_threshold")}, indent=1))
    print("device:", {k: v for k, v in result["device_qemu"].items() if k.startswith(("windows", "events_equal"))})


if __name__ == "__main__":
    main()
