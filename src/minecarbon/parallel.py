"""Which dask scheduler is active, for code that is not raster chunks (joblib loops, locks).

``minecarbon run --scheduler local:N`` or ``tcp://HOST:PORT`` makes a
``dask.distributed`` client the default scheduler; :func:`distributed_client`
returns it, so that table-sized parallel work (cross-validation folds, grid
search) can run on the same workers through joblib's dask backend
(:func:`joblib_parallel`), and other heavy work that is not raster chunks (ALS
tiles, classification folds) can map a function over items on them
(:func:`map_ordered`).  Results do not depend on where the tasks run: each task is
seeded by its position, not by its worker, and results come back in item order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import dask.base
from joblib import Parallel


def distributed_client():
    """The ``distributed.Client`` that dask computations currently go to, or None."""
    owner = getattr(dask.base.get_scheduler(), "__self__", None)
    if owner is not None and type(owner).__module__.startswith("distributed"):
        return owner
    return None


def _local_cores() -> int:
    return os.cpu_count() or 1


def cluster_cores(client) -> int:
    """Worker threads of the client's cluster (all workers together)."""
    return sum(int(w.get("nthreads", 1)) for w in client.scheduler_info().get("workers", {}).values())


def cluster_for(n_jobs: int = -1, cluster: bool | None = None):
    """The client that table-sized tasks should go to, or None for threads of this process.

    ``cluster=None`` (the rule): the active dask.distributed client when ``n_jobs != 1`` and its
    cluster has more cores than this machine (a cluster of other machines; shipping tasks to
    workers of this machine costs more than it gains).  ``cluster=True``: the active client
    whatever its size (None when there is none); ``cluster=False``: never.
    """
    if cluster is False or n_jobs == 1:
        return None
    client = distributed_client()
    if client is None or cluster:
        return client
    return client if cluster_cores(client) > _local_cores() else None


def map_ordered(fn: Callable, items: Iterable, n_jobs: int = -1, cluster: bool | None = None,
                shared: tuple = ()) -> Iterator:
    """``fn(*shared, item)`` for each item, yielded in item order, on the cluster or in threads.

    On the client of :func:`cluster_for` each item is a task (``shared`` arguments are sent to the
    workers once); otherwise ``n_jobs`` threads of this process (-1: one per core).  ``fn`` must not
    rely on side effects in this process' memory: on a cluster it runs in another process.  Files it
    writes must be on storage every worker and this process read (the project workspace).
    """
    items = list(items)
    client = cluster_for(n_jobs, cluster) if items else None
    if client is not None:
        args = client.scatter(list(shared), broadcast=True, hash=False) if shared else []
        futures = client.map(fn, *[[a] * len(items) for a in args], items, pure=False)
        try:
            for f in futures:
                yield f.result()
        finally:
            client.cancel(futures)
        return
    workers = _local_cores() if n_jobs < 0 else max(1, n_jobs)
    workers = max(1, min(workers, len(items)))
    if workers == 1:
        for it in items:
            yield fn(*shared, it)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(lambda it: fn(*shared, it), items)


def joblib_parallel(n_jobs: int) -> Parallel:
    """A joblib ``Parallel`` for table-sized tasks (cross-validation folds).

    On the active dask.distributed cluster (joblib's dask backend) when there is one, ``n_jobs != 1``
    and the cluster has more cores than this machine (a cluster of other machines); otherwise
    ``n_jobs`` of joblib's loky worker processes on this machine (``n_jobs = 1``: in this process).
    Shipping small fits to dask workers of *this* machine costs more than it gains (measured on the
    tiny project with ``local:2`` on 2 cores: the model stage took 33-36 s with the folds on the
    workers, 14-16 s in threads).  Loky processes rather than threads: plot-sized fits are mostly
    Python holding the GIL (py-spy: 85 % of the model stage's samples in ``cv._fit_predict``), so
    two threads kept 1.15 cores busy; the loky workers stay alive between calls (no start-up per
    call) and each task carries its own seed, so the results are the same (small demo: model stage
    35-40 s -> 20 s, ``benchmarks/README.md``; ``tests/test_parallel.py``).
    """
    if cluster_for(n_jobs) is not None:
        from joblib import parallel_config

        with parallel_config(backend="dask"):  # registers joblib's dask backend, bound to the default client
            return Parallel(n_jobs=-1)
    if n_jobs == 1:
        return Parallel(n_jobs=1)
    return Parallel(n_jobs=n_jobs, backend="loky", batch_size=1)
