"""Which dask scheduler is active, for code that is not raster chunks (joblib loops, locks).

``minecarbon run --scheduler local:N`` or ``tcp://HOST:PORT`` makes a
``dask.distributed`` client the default scheduler; :func:`distributed_client`
returns it, so that table-sized parallel work (cross-validation folds, grid
search) can run on the same workers through joblib's dask backend
(:func:`joblib_parallel`).  Results do not depend on where the tasks run: each
task is seeded by its position, not by its worker.
"""

from __future__ import annotations

import dask.base
from joblib import Parallel


def distributed_client():
    """The ``distributed.Client`` that dask computations currently go to, or None."""
    owner = getattr(dask.base.get_scheduler(), "__self__", None)
    if owner is not None and type(owner).__module__.startswith("distributed"):
        return owner
    return None


def joblib_parallel(n_jobs: int) -> Parallel:
    """A joblib ``Parallel``: on the active dask.distributed cluster (joblib's dask backend) when there
    is one and ``n_jobs != 1``, else ``n_jobs`` threads of this process."""
    if n_jobs != 1 and distributed_client() is not None:
        from joblib import parallel_config

        with parallel_config(backend="dask"):  # registers joblib's dask backend, bound to the default client
            return Parallel(n_jobs=-1)
    return Parallel(n_jobs=n_jobs, prefer="threads")
