"""Parallel work of the data pipeline on Dask (dask.distributed): rendering, validating and
augmenting clips, one task per chunk of items.

Where it runs is one setting, never a code path:

- ``workers`` 1: in this process, no engine (tests, small jobs, a debugger);
- otherwise a local Dask cluster of ``workers`` processes, started on first use and kept for
  the life of the command (no service to start by hand);
- ``KWS_CLUSTER=tcp://host:8786`` (or ``kws --cluster ADDRESS``): the scheduler of a running
  Dask cluster, whose workers have this package installed; ``workers`` is then the cluster's.

Results never depend on where they ran: every item is computed from its own inputs and seeds
(clip ids), and results come back in the order of the items. A worker that dies makes the job
fail with a message naming what was running, and nothing half-written is kept (each item writes
by rename).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kws.errors import KwsError

CLUSTER_ENV = "KWS_CLUSTER"
_client = None
_client_key: tuple | None = None


def default_workers() -> int:
    """Local worker processes when a command is not told: the cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _get_client(workers: int):
    """The Dask client for ``workers`` local processes, or the cluster KWS_CLUSTER names."""
    global _client, _client_key
    import dask
    from dask.distributed import Client, LocalCluster

    address = os.environ.get(CLUSTER_ENV)
    key = ("remote", address) if address else ("local", workers)
    if _client is not None and _client_key == key:
        return _client
    close()
    try:
        if address:
            _client = Client(address, timeout="20s")
        else:
            # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which halves the speed of this
            # pipeline's numpy-heavy work (measured: bench/engine_scaling.py); glibc's own default is kept
            dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
            )
            _client = Client(cluster)
    except OSError as e:
        raise KwsError(f"cannot reach the Dask scheduler at {address} ({CLUSTER_ENV}): {e}") from e
    _client_key = key
    return _client


def close() -> None:
    """Stop the local cluster (at exit, or to start one of another size)."""
    global _client, _client_key
    if _client is not None:
        cluster = _client.cluster if _client_key and _client_key[0] == "local" else None
        _client.close()
        if cluster is not None:
            cluster.close()
    _client = _client_key = None


atexit.register(close)


def _run_chunk(fn: Callable, chunk: list, shared: Any) -> list:
    return [fn(item, shared) for item in chunk]


def run_map(
    fn: Callable[[Any, Any], Any],
    items: Iterable,
    *,
    shared: Any = None,
    workers: int | None = None,
    chunk: int = 16,
    what: str = "a worker",
) -> Iterator[Any]:
    """``fn(item, shared)`` for every item, yielded in the items' order as they complete in order.
    ``shared`` is sent to each worker once (large read-only inputs: backgrounds, an earlier
    manifest). ``fn`` must be a module-level function (workers import it by name)."""
    items = list(items)
    workers = workers or default_workers()
    if workers == 1 and not os.environ.get(CLUSTER_ENV):
        for item in items:
            yield fn(item, shared)
        return
    client = _get_client(workers)
    # a key of its own per call (hash=False): an equal object scattered by an earlier call may be released meanwhile
    shared_f = client.scatter(shared, broadcast=True, hash=False) if shared is not None else None
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    futures = client.map(_run_chunk, [fn] * len(chunks), chunks, [shared_f] * len(chunks), pure=False)
    try:
        for f in futures:
            yield from f.result()
    except Exception as e:  # noqa: BLE001  (a worker's error or its death: the job fails, named)
        for f in futures:
            f.cancel()
        if isinstance(e, KwsError):
            raise
        raise KwsError(
            f"{what} failed on the Dask engine ({type(e).__name__}: {e}); nothing it was doing was "
            "written: run the command again"
        ) from e
