"""Choosing the dask scheduler: local threads/processes/synchronous or a dask.distributed cluster."""

from __future__ import annotations

import contextlib
from typing import Iterator

import dask

from ..errors import ConfigError

LOCAL = ("threads", "processes", "synchronous", "sync", "single-threaded")


@contextlib.contextmanager
def use_scheduler(name: str) -> Iterator[None]:
    """Context in which dask computations run on the named scheduler.

    ``tcp://HOST:PORT`` connects a ``dask.distributed`` client to a running
    scheduler (install the ``distributed`` extra).
    """
    if name in LOCAL:
        with dask.config.set(scheduler=name):
            yield
        return
    if name.startswith(("tcp://", "tls://", "inproc://")):
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(f"Scheduler {name} needs dask.distributed: pip install 'minecarbon[distributed]'.") \
                from None
        try:
            client = Client(name, timeout="10s")
        except OSError as exc:
            raise ConfigError(f"Cannot reach the dask scheduler at {name} ({exc}). Start it with "
                              f"'dask scheduler' or use --scheduler threads.") from None
        try:
            yield
        finally:
            client.close()
        return
    raise ConfigError(f"Unknown scheduler {name!r}: use threads, processes, synchronous or tcp://HOST:PORT.")
