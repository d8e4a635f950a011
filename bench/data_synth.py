"""Benchmark (not a test): corpus synthesis speed, clips per second, per engine and overall.

Renders a scaled-down plan of a shipped task (every engine, same mix as the full corpus)
into a fresh directory with all cores, then ingests it; reports clips/s for rendering and
for validation, and the projected time of the full corpus. Wall-clock on a shared or busy machine:
read it as an order of magnitude.

    python bench/data_synth.py --task commands --scale 0.1 --out bench/results/data_synth.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from pathlib import Path

from kws.data.ingest import ingest
from kws.data.synth import plan, render_all, source_clips
from kws.data.task import TASK_DIR, load_task
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="commands")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--out", default="bench/results/data_synth.json")
    args = ap.parse_args()
    full = load_task(args.task)
    with tempfile.TemporaryDirectory() as d:
        text = (TASK_DIR / f"{args.task}.toml").read_text()
        for key in ("renders_per_keyword", "unknown_renders", "silence_clips"):
            val = int(getattr(full.synth, key) * args.scale)
            text = re.sub(rf"^{key} = \d+", f"{key} = {val}", text, flags=re.M)
        (Path(d) / "t.toml").write_text(text)
        task = load_task(Path(d) / "t.toml")
        n = len(plan(task))
        t0 = time.perf_counter()
        render_all(task, Path(d) / "raw", progress=False)
        t_render = time.perf_counter() - t0
        t0 = time.perf_counter()
        ingest(source_clips(task, Path(d) / "raw"), task, Path(d) / "data", progress=False)
        t_ingest = time.perf_counter() - t0
    full_n = len(plan(full))
    result = {
        "benchmark": "data_synth",
        "task": args.task,
        "clips": n,
        "cores": os.cpu_count(),
        "render_clips_per_s": n / t_render,
        "validate_clips_per_s": n / t_ingest,
        "full_corpus_clips": full_n,
        "full_corpus_projected_minutes": full_n * (t_render + t_ingest) / n / 60,
        "engines": sorted(full.synth.engines),
        "method": "wall clock, one run, all cores",
    }
    out = REPO_ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
