"""The data pipeline's parallel steps on Dask (kws.engine): the same results in this process, on a
local cluster of worker processes and on a separately started cluster named by KWS_CLUSTER
(a scheduler and two workers on loopback) — byte-identical manifests and feature caches — and a
worker that dies fails the job with a message, never a hang."""

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from kws import engine
from kws.errors import KwsError

pytestmark = pytest.mark.slow  # not in `make check`


def _square(x, shared):
    return (x * x + shared, os.getpid())


def _die(x, shared):
    if x == 5:
        os._exit(9)  # a worker killed mid-task (out of memory, a segfault)
    return x


def test_results_come_back_in_order_from_worker_processes():
    local = list(engine.run_map(_square, range(40), shared=1, workers=1, chunk=3))
    assert [v for v, _ in local] == [x * x + 1 for x in range(40)] and {p for _, p in local} == {os.getpid()}
    spread = list(engine.run_map(_square, range(40), shared=1, workers=2, chunk=3))
    assert [v for v, _ in spread] == [v for v, _ in local]
    assert os.getpid() not in {p for _, p in spread} and len({p for _, p in spread}) == 2
    engine.close()


def test_a_worker_that_dies_fails_the_job_with_a_message():
    t0 = time.monotonic()
    with pytest.raises(KwsError, match=r"a test job failed on the Dask engine .*nothing it was doing was written"):
        list(engine.run_map(_die, range(10), workers=2, chunk=1, what="a test job"))
    assert time.monotonic() - t0 < 120
    engine.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask cluster started as a team would start one (scheduler and workers as their own
    processes), on loopback."""
    port = _free_port()
    bindir = os.path.dirname(sys.executable)
    log = tmp_path_factory.mktemp("cluster")
    sched = subprocess.Popen(
        [os.path.join(bindir, "dask-scheduler"), "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=open(log / "s.log", "w"),
        stderr=subprocess.STDOUT,
    )
    workers = subprocess.Popen(
        [
            os.path.join(bindir, "dask-worker"),
            f"tcp://127.0.0.1:{port}",
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
        ],
        stdout=open(log / "w.log", "w"),
        stderr=subprocess.STDOUT,
    )
    from dask.distributed import Client

    with Client(f"tcp://127.0.0.1:{port}", timeout="60s") as c:
        c.wait_for_workers(2, timeout=60)
    yield f"tcp://127.0.0.1:{port}"
    for p in (workers, sched):
        p.terminate()
        p.wait(timeout=30)


def test_ingest_and_features_are_identical_wherever_they_ran(tmp_path, cluster, monkeypatch):
    """Ingest (validation) and augmented training features of one small data set, in this process,
    on a local cluster of 2 workers, and on the KWS_CLUSTER cluster: the same manifest hash and
    byte-identical feature arrays."""
    from kws.audio import write_wav
    from kws.data import sources, tts
    from kws.data.ingest import ingest
    from kws.data.task import load_task
    from kws.spec import load_spec
    from kws.train.features import build_features

    task = load_task("commands")
    spec = task.spec(load_spec())
    root = tmp_path / "rec"
    for i, (w, v) in enumerate(
        [(w, v) for w in ("yes", "no", "stop", "go", "left") for v in ("en+m3", "en+f2", "en+m1")]
    ):
        for s in ("train", "val"):
            write_wav(
                root / w / f"{s}{i}{v[-2:]}_{i}.wav",
                np.concatenate([np.zeros(2000 + 300 * i, np.int16), tts.espeak(w, voice=v), np.zeros(3000, np.int16)]),
                16000,
            )
    for i in range(6):
        write_wav(
            root / "_silence_" / f"bg{i}_{i}.wav",
            np.random.default_rng(i).integers(-300, 300, 16000).astype(np.int16),
            16000,
        )
    clips = sources.recordings(root, task)
    runs = {}
    for where, workers, address in (("in-process", 1, None), ("local 2 workers", 2, None), ("cluster", 2, cluster)):
        engine.close()
        if address:
            monkeypatch.setenv(engine.CLUSTER_ENV, address)
        else:
            monkeypatch.delenv(engine.CLUSTER_ENV, raising=False)
        out = tmp_path / where.replace(" ", "_")
        man = ingest(clips, task, out, workers=workers, progress=False)
        f = build_features(
            out, spec, task, augment_copies=2, cache_dir=out / "features", workers=workers, progress=False
        )
        runs[where] = (man["hash"], f["x_train"].tobytes(), f["y_train"].tobytes())
    engine.close()
    assert runs["in-process"] == runs["local 2 workers"] == runs["cluster"]
    assert len(runs["in-process"][1]) > 0


def test_stream_scoring_is_identical_wherever_it_ran(tmp_path, cluster, monkeypatch, spec):
    """kws eval's streams in this process, on 2 local workers and on the KWS_CLUSTER cluster: the
    same DET curve, thresholds and totals."""
    from kws.audio import write_wav
    from kws.data import tts
    from kws.evaluate.run import evaluate
    from kws.paths import MODELS_DIR

    rng = np.random.default_rng(3)
    for k in range(3):
        parts, truth, pos = [], [], 0
        for w, v in (("yes", "en+m3"), ("stop", "en+f2"), ("left", "en+m1"), ("seven", "en+f4")):
            gap = np.zeros(int(rng.integers(6000, 16000)), np.int16)
            clip = tts.espeak(w, voice=v)
            parts += [gap, clip]
            pos += gap.size
            if w != "seven":
                truth.append(f"{w},{pos},{pos + clip.size},x")
            pos += clip.size
        write_wav(tmp_path / "s" / f"s{k}.wav", np.concatenate(parts + [np.zeros(16000, np.int16)]), 16000)
        (tmp_path / "s" / f"s{k}.labels.csv").write_text(
            "label,start_sample,end_sample,clip_id\n" + "\n".join(truth) + "\n"
        )
    keep = ("det", "det_all", "calibrated_thresholds", "at_default_threshold", "at_calibrated", "audio_seconds")
    runs = {}
    for where, workers, address in (("in-process", None, None), ("local", 2, None), ("cluster", 2, cluster)):
        engine.close()
        if address:
            monkeypatch.setenv(engine.CLUSTER_ENV, address)
        else:
            monkeypatch.delenv(engine.CLUSTER_ENV, raising=False)
        r = evaluate(
            spec, MODELS_DIR / "commands", tmp_path / "s", tmp_path / where, target_fa_per_hour=100.0, workers=workers
        )
        runs[where] = {k: r[k] for k in keep}
    engine.close()
    assert runs["in-process"] == runs["local"] == runs["cluster"]
    assert runs["in-process"]["at_default_threshold"]["occurrences"] == 9
