"""The lock that serialises chunk writes into one GeoTIFF, for whichever dask scheduler is active.

A GeoTIFF is written window by window (``dask.array.store``): each chunk task
opens the file in update mode, writes its window and closes it, under a lock so
that two tasks never update the file at once.  That lock must be shared by all
the tasks that write, wherever they run:

* ``threads`` / ``synchronous``: one process, so a ``threading.Lock``;
* ``processes``: tasks run in worker processes of this machine, so an advisory
  file lock (``fcntl.flock``) on a lock file beside the output;
* a ``dask.distributed`` cluster: tasks run on workers, possibly on other
  machines, so a ``distributed.Lock`` held by the scheduler.

The lock must also pickle, because the tasks that use it are shipped to other
processes: a ``threading.Lock`` does not, which is why it is only used where
tasks stay in this process.  The bytes written do not depend on the lock: every
window is written once, and the final file is re-encoded by GDAL in tile order.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import dask.base

from ..parallel import distributed_client

_THREAD_LOCK = threading.Lock()


class FileLock:
    """An exclusive ``flock`` on ``path``, usable as a context manager and picklable (by path).

    ``acquire``/``release`` follow :class:`threading.Lock` (what ``dask.array.store`` calls).
    Each process opens the lock file itself, so the lock works across the processes of
    one machine.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._fd: int | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.path = state["path"]
        self._fd = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        import fcntl

        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def chunk_write_lock(path: str | Path):
    """A lock for the chunk writes into ``path`` that holds across the active scheduler's workers.

    Returns ``(lock, cleanup)``; call ``cleanup()`` once the writes are done (it removes the
    lock file of the ``processes`` scheduler).
    """
    path = Path(path)
    client = distributed_client()
    if client is not None:
        from distributed import Lock

        return Lock(name=f"minecarbon-write:{path.resolve()}"), lambda: None
    import dask.multiprocessing

    if dask.base.get_scheduler() is dask.multiprocessing.get:
        lock_file = path.with_name(path.name + ".lock")

        def cleanup() -> None:
            if lock_file.exists():
                lock_file.unlink()

        return FileLock(lock_file), cleanup
    return _THREAD_LOCK, lambda: None
