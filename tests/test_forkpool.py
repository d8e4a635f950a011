"""Forked worker pools (kws.forkpool): garbage the parent leaves is never collected in a child
(where a TensorFlow object's destructor segfaulted a CI run), and a worker that dies fails the
job with a message instead of hanging it (a multiprocessing.Pool waits forever)."""

import gc
import os
import signal

import pytest

from kws.errors import KwsError
from kws.forkpool import fork_pool


class _Cycle:
    def __init__(self, path):
        self.path = path
        self.me = self                                  # only the cyclic collector frees it

    def __del__(self):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


def _collect(_):
    gc.collect()
    return os.getpid()


def _die(n):
    if n == 3:
        os.kill(os.getpid(), signal.SIGKILL)             # as the segfaulting worker did, without a core dump
    return n


def test_garbage_is_collected_in_the_parent_never_in_a_worker(tmp_path):
    log = tmp_path / "deleted.txt"
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(5):
            _Cycle(log)                                 # garbage the parent has not collected yet
        with fork_pool(2) as pool:
            workers = set(pool.map(_collect, range(8)))
    finally:
        if enabled:
            gc.enable()
    assert os.getpid() not in workers and workers
    assert log.read_text().split() == [str(os.getpid())] * 5
    assert not gc.get_freeze_count()                    # the parent's collector is back to normal


def test_a_worker_that_dies_fails_the_job_instead_of_hanging_it():
    with pytest.raises(KwsError, match="a synthesis process died"):
        with fork_pool(2, what="a synthesis") as pool:
            list(pool.map(_die, range(6)))
    assert not gc.get_freeze_count()
