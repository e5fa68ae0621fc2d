"""Choosing the dask scheduler: local threads/processes/synchronous or a dask.distributed cluster.

Names accepted by ``minecarbon run --scheduler`` and ``[run].scheduler``:

``threads`` (default), ``synchronous`` (also ``sync``, ``single-threaded``)
    dask's local schedulers in this process.
``processes``
    dask's local multiprocessing scheduler.  One pool of worker processes is
    started for the whole run (dask would otherwise start a fresh pool, importing
    everything again, for every ``compute``).
``local`` or ``local:N``
    a ``dask.distributed`` LocalCluster of N worker processes on this machine
    (default: one per core), with its dashboard.
``tcp://HOST:PORT`` (also ``tls://``)
    a running ``dask.distributed`` scheduler (``dask scheduler`` + ``dask worker``,
    dask-jobqueue on SLURM/PBS, dask-kubernetes...).  Workers must see the project's
    inputs and workspace under the same paths (shared filesystem): this is checked
    when connecting, and a worker that cannot see them is an error that says so.

Outputs do not depend on the scheduler (tested byte for byte).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import dask

from ..errors import ConfigError
from ..memory import HEAP_ENV

log = logging.getLogger(__name__)

LOCAL = ("threads", "processes", "synchronous", "sync", "single-threaded")
REMOTE = ("tcp://", "tls://", "inproc://")
CONNECT_TIMEOUT_S = 10
"""How long to wait for a remote scheduler to answer (and for it to have a worker)."""

HELP = "threads | processes | synchronous | local[:N] (LocalCluster of N processes) | tcp://HOST:PORT"


@dataclass
class SchedulerInfo:
    """What a run is using; ``client`` is the ``distributed.Client`` (None for the local schedulers)."""

    name: str
    client: object | None = None
    dashboard: str | None = None
    workers: int = 0


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("Schedulers local:N and tcp://HOST:PORT need dask.distributed: "
                          "pip install distributed (it is a dependency of minecarbon; the environment "
                          "is incomplete).") from None
    return distributed


def parse_local(name: str) -> int | None:
    """Worker count of ``local`` / ``local:N`` (None: one per core); raises ConfigError for a bad N."""
    _, _, n = name.partition(":")
    if not n:
        return None
    try:
        value = int(n)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"Scheduler {name!r}: N in local:N is the number of worker processes, a whole "
                          f"number >= 1 (e.g. local:2).")
    return value


def _read_token(path: str) -> str | None:
    """Run on a worker: the text of ``path``, or None when the worker cannot read it."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return None


def _stat(path: str) -> tuple[int, int] | None:
    """Run on a worker: (size, mtime in ns) of ``path``, or None when the worker cannot see it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _blind_error(blind: list[str], total: int, what: str) -> ConfigError:
    shown = ", ".join(blind[:5]) + (f" and {len(blind) - 5} more" if len(blind) > 5 else "")
    return ConfigError(
        f"{len(blind)} of {total} dask worker(s) ({shown}) cannot see {what}. Workers read the inputs and "
        f"write the outputs themselves, so the project's inputs and workspace must be on storage every worker "
        f"mounts under the same path (a shared filesystem such as NFS/Lustre/GPFS, or one volume mounted into "
        f"every pod). Put the project there, or start the workers where they can see it; or run with "
        f"--scheduler threads (or local:N on this machine).")


def check_workers_see(client, workspace: Path, inputs: Iterable[Path] = ()) -> None:
    """Raise ConfigError unless every worker sees this process's ``workspace`` and ``inputs``.

    A marker file with a random token is written in the workspace and each worker must read the
    token back (the same path on a *different* disk fails too).  Inputs are never written: each
    worker must find every input file with the same size and modification time.
    """
    workspace = Path(workspace).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    marker = workspace / f".minecarbon-worker-check-{token}"
    marker.write_text(token, encoding="utf-8")
    try:
        seen = client.run(_read_token, str(marker))
    finally:
        marker.unlink(missing_ok=True)
    blind = sorted(w for w, got in seen.items() if got != token)
    if blind:
        raise _blind_error(blind, len(seen), f"the project's workspace {workspace}")
    for path in sorted({Path(p).resolve() for p in inputs if Path(p).is_file()}):
        here = _stat(str(path))
        seen = client.run(_stat, str(path))
        blind = sorted(w for w, got in seen.items() if got is None or tuple(got) != here)
        if blind:
            raise _blind_error(blind, len(seen), f"the input file {path} (or see a different file there)")


@contextlib.contextmanager
def use_scheduler(name: str) -> Iterator[SchedulerInfo]:
    """Context in which dask computations run on the named scheduler.

    Parameters
    ----------
    name : see the module docstring.

    Raises
    ------
    ConfigError : unknown name, unreachable scheduler, scheduler without workers.
    """
    name = (name or "threads").strip()
    if name == "processes":
        with _process_pool() as pool, dask.config.set(scheduler="processes", pool=pool):
            yield SchedulerInfo(name, workers=pool._max_workers)
        return
    if name in LOCAL:
        with dask.config.set(scheduler=name):
            yield SchedulerInfo(name, workers=1 if name != "threads" else os.cpu_count() or 1)
        return
    if name == "local" or name.startswith("local:"):
        n = parse_local(name)
        distributed = _distributed()
        n = n or os.cpu_count() or 1
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=max(1, (os.cpu_count() or 1) // n),
                                           processes=True, dashboard_address=":0", env=dict(HEAP_ENV))
        try:
            with distributed.Client(cluster) as client:
                yield SchedulerInfo(name, client, client.dashboard_link, n)
        finally:
            cluster.close()
        return
    if name.startswith(REMOTE):
        distributed = _distributed()
        try:
            client = distributed.Client(name, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"Cannot reach the dask scheduler at {name} within {CONNECT_TIMEOUT_S} s ({exc}). Check the "
                f"address and port (the scheduler prints it: 'Scheduler at: tcp://...'), that 'dask scheduler' "
                f"is running there and that no firewall blocks the port; or run with --scheduler threads "
                f"(or local:N for a cluster on this machine).") from None
        try:
            try:
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            except (TimeoutError, OSError):
                raise ConfigError(f"The dask scheduler at {name} has no workers (waited {CONNECT_TIMEOUT_S} s). "
                                  f"Start some with 'dask worker {name}' where they can see the project "
                                  f"files.") from None
            workers = len(client.scheduler_info().get("workers", {}))
            yield SchedulerInfo(name, client, client.dashboard_link, workers)
        finally:
            client.close()
        return
    raise ConfigError(f"Unknown scheduler {name!r}: use {HELP}.")


@contextlib.contextmanager
def _process_pool():
    """One pool of spawned worker processes for the dask ``processes`` scheduler, for the whole run."""
    from concurrent.futures import ProcessPoolExecutor

    import dask.multiprocessing

    pool = ProcessPoolExecutor(dask.config.get("num_workers", None) or os.cpu_count() or 1,
                               mp_context=dask.multiprocessing.get_context(), initializer=_init_worker)
    try:
        yield pool
    finally:
        pool.shutdown()


def _init_worker() -> None:
    """Start of a ``processes`` worker: dask's own set-up, and the heap bound of the main process
    (:func:`~minecarbon.memory.bound_heap`)."""
    import dask.multiprocessing

    from ..memory import bound_heap

    dask.multiprocessing.initialize_worker_process()
    bound_heap()
