"""Benchmark (not a test): the data pipeline's and kws eval's parallel work on Dask (kws.engine) at
1 and 2 local worker processes, against a forked process pool (the design the engine replaced,
rebuilt here from the standard library) and, where it is installed, Ray, on the same work in one
run. Ratios, not lone wall-clock figures: the machines are shared.

Work: validating clips through the data gate (kws.data.ingest) and their augmented copies
(kws.train.features), the first ``--clips`` clips of a data set; scoring streams (kws eval's
logits, kws.evaluate.run) of a streams directory, one task per stream.

    python bench/engine_scaling.py --data build/data/commands --streams build/real/streams_test \\
        --out bench/results/engine_scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT


def _clip_work(item, shared):
    """One clip through the gate, then its augmented copies: the per-clip work of ingest + features."""
    from kws.data.ingest import _check_one
    from kws.train.features import _aug_one

    clip, label = item
    task, previous, aug_shared = shared
    checked = _check_one(clip, (task, previous))
    if checked.pcm is None:
        return 0
    return len(_aug_one((clip.id, label, checked.pcm), aug_shared))


_POOL_SHARED = None


def _pool_init(shared):
    global _POOL_SHARED
    _POOL_SHARED = shared


def _pool_chunk(chunk):
    return [_clip_work(item, _POOL_SHARED) for item in chunk]


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    import numpy as np

    from kws import engine
    from kws.data import manifest as mf
    from kws.data.ingest import SourceClip
    from kws.data.task import load_task
    from kws.evaluate.run import _logits_of_stream
    from kws.spec import load_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="build/data/commands")
    ap.add_argument("--clips", type=int, default=800)
    ap.add_argument("--streams", default="build/real/streams_day")
    ap.add_argument("--max-streams", type=int, default=8)
    ap.add_argument("--out", default="bench/results/engine_scaling.json")
    args = ap.parse_args()
    data, streams_dir = REPO_ROOT / args.data, REPO_ROOT / args.streams
    if not (data / "manifest.json").exists() or not list(streams_dir.glob("*.wav")):
        sys.exit(f"{data} (a data set) or {streams_dir} (streams) missing: make them first (docs/data.md)")
    task = load_task("commands")
    spec = task.spec(load_spec())
    entries = mf.load(data)["entries"][: args.clips]
    items = [
        (
            SourceClip(
                str(data / e["path"]), e["label"], e["speaker"], e["source"], e["split"], None, {"key": e["id"]}
            ),
            e["label"],
        )
        for e in entries
    ]
    rng = np.random.default_rng(0)
    bgs = [rng.integers(-2000, 2000, 16000).astype(np.int16) for _ in range(4)]
    speech = {lab for lab in task.labels if task.is_speech(lab)}
    shared = (task, {}, (bgs, task.augment, 2, speech))
    chunk = 16
    result = {
        "benchmark": "engine_scaling",
        "cpus": os.cpu_count(),
        "clips": len(items),
        "work": "per clip: the data gate (read, fit, measure) and 2 augmented copies",
        "clip_seconds": {},
    }

    def dask_run(workers):
        engine.close()
        list(engine.run_map(_clip_work, items[:64], shared=shared, workers=workers, chunk=chunk))  # start-up apart
        return timed(lambda: list(engine.run_map(_clip_work, items, shared=shared, workers=workers, chunk=chunk)))

    def pool_run(workers):
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        with ProcessPoolExecutor(
            workers, mp_context=get_context("fork"), initializer=_pool_init, initargs=(shared,)
        ) as ex:
            list(ex.map(_pool_chunk, chunks[:4]))
            return timed(lambda: list(ex.map(_pool_chunk, chunks)))

    t = {"in_process": timed(lambda: [_clip_work(i, shared) for i in items])}
    engine.close()
    # one worker process on Dask: run_map(workers=1) runs in-process by design, so ask the cluster for 1 worker
    import dask
    from dask.distributed import Client, LocalCluster

    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})  # as kws.engine
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40) as lc,
        Client(lc) as c,
    ):
        fut = c.scatter(shared, broadcast=True)
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        c.gather(c.map(engine._run_chunk, [_clip_work] * 4, chunks[:4], [fut] * 4, pure=False))
        t["dask_1_worker_process"] = timed(
            lambda: c.gather(
                c.map(engine._run_chunk, [_clip_work] * len(chunks), chunks, [fut] * len(chunks), pure=False)
            )
        )
    t["dask_2"] = dask_run(2)
    t["fork_pool_1"] = pool_run(1)
    t["fork_pool_2"] = pool_run(2)
    try:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        remote = ray.remote(lambda ch, sh: [_clip_work(i, sh) for i in ch])
        sh = ray.put(shared)
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        ray.get([remote.remote(ch, sh) for ch in chunks[:4]])
        t["ray_2"] = timed(lambda: ray.get([remote.remote(ch, sh) for ch in chunks]))
        ray.shutdown()
    except ImportError:
        t["ray_2"] = None
    result["clip_seconds"] = t
    result["clips"] = {
        "dask_2_over_fork_pool_2": t["dask_2"] / t["fork_pool_2"],
        "dask_scale_out_1_to_2": t["dask_1_worker_process"] / (2 * t["dask_2"]),
        "fork_pool_scale_out_1_to_2": t["fork_pool_1"] / (2 * t["fork_pool_2"]),
        **({"ray_2_over_dask_2": t["ray_2"] / t["dask_2"]} if t["ray_2"] else {}),
    }

    streams = [str(p) for p in sorted(streams_dir.glob("*.wav"))][: args.max_streams]
    sshared = (spec, str(REPO_ROOT / "models" / "commands"), "native", 1)
    engine.close()
    _logits_of_stream(streams[0], sshared)  # the host build of the firmware's C, apart
    s = {"in_process_1_thread": timed(lambda: [_logits_of_stream(w, sshared) for w in streams])}
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40) as lc,
        Client(lc) as c,
    ):
        c.gather(c.map(_logits_of_stream, streams[:1], [sshared], pure=False))
        s["dask_1_worker"] = timed(
            lambda: c.gather(c.map(_logits_of_stream, streams, [sshared] * len(streams), pure=False))
        )
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40) as lc,
        Client(lc) as c,
    ):
        c.gather(c.map(_logits_of_stream, streams[:2], [sshared] * 2, pure=False))
        s["dask_2_workers"] = timed(
            lambda: c.gather(c.map(_logits_of_stream, streams, [sshared] * len(streams), pure=False))
        )
    result["streams"] = {
        "streams": len(streams),
        "audio_hours": len(streams) if "60min" in streams[0] else None,
        "seconds": s,
        "dask_scale_out_1_to_2": s["dask_1_worker"] / (2 * s["dask_2_workers"]),
    }
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("clips", "streams")}, indent=1))


if __name__ == "__main__":
    main()
