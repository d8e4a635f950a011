"""Worker processes forked from this one, for the data pipeline's parallel steps (synthesis,
validation, augmentation).

Two hazards of forking a process that has loaded TensorFlow (the tests, the demo, `kws train`):

- a child's garbage collector may free a TensorFlow object it inherited, whose destructor then
  touches runtime state that did not survive the fork: the child segfaults (seen in CI: an
  ingestion worker died in ``AtomicFunction.__del__`` during a test run). So the parent collects
  its garbage and freezes what is left (``gc.freeze``) before forking: a child never collects
  objects it inherited.
- a ``multiprocessing.Pool`` whose worker dies waits forever for the lost task; that CI run hung.
  ``ProcessPoolExecutor`` notices the death, and the job fails with a message instead.
"""

from __future__ import annotations

import contextlib
import gc
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from kws.errors import KwsError


@contextlib.contextmanager
def fork_pool(workers: int, initializer=None, initargs: tuple = (), *, what: str = "a worker"):
    """A ``ProcessPoolExecutor`` of ``workers`` forked processes (``map``, ``submit``)."""
    gc.collect()
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=initializer,
                                 initargs=initargs) as ex:
            yield ex
    except BrokenProcessPool as e:
        raise KwsError(f"{what} process died ({e}); nothing it was doing was written: run the command again") from e
    finally:
        gc.unfreeze()
