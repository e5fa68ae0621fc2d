"""One run at a time per workspace: a lock file with the owner's pid and host.

``run`` holds ``<workspace>/.minecarbon.lock`` for its whole duration.  The
file is locked with ``fcntl.flock`` (released by the operating system when the
process ends, however it ends) and holds the owner's pid, host name, start
time and command line, so that

* a second ``run`` on the same workspace refuses at once with a message naming
  the run that holds it (pid, host, start time) - or waits for it with
  ``wait_s``;
* a lock file left by a killed run is recognised as stale (its lock is free,
  or on file systems without ``flock`` its pid no longer runs on this host)
  and taken over, with a log line saying so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

from ..errors import StageError

log = logging.getLogger(__name__)

LOCK_NAME = ".minecarbon.lock"

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: pid/host only
    fcntl = None  # type: ignore[assignment]


class WorkspaceLockedError(StageError):
    """Another run holds the workspace."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _describe(info: dict) -> str:
    if not info:
        return "another run"
    return (f"run pid {info.get('pid', '?')} on host {info.get('host', '?')}, started {info.get('started', '?')}"
            + (f" ({info['command']})" if info.get("command") else ""))


@contextlib.contextmanager
def workspace_lock(workspace: Path, wait_s: float = 0.0, poll_s: float = 0.5) -> Iterator[Path]:
    """Hold the workspace's lock for the duration of the ``with`` block.

    Parameters
    ----------
    workspace : the project's workspace folder (created if missing).
    wait_s : how long to wait for another run to finish (0: refuse at once).

    Raises
    ------
    WorkspaceLockedError
        Another live run holds the lock (after ``wait_s``).
    """
    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / LOCK_NAME
    host = socket.gethostname()
    deadline = time.monotonic() + max(wait_s, 0.0)
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed in finally
    try:
        while True:
            previous = _read(path)
            if _try_lock(fh, previous, host):
                break
            if time.monotonic() >= deadline:
                raise WorkspaceLockedError(
                    f"The workspace {workspace} is in use by {_describe(previous)}. Two runs on one workspace "
                    f"would mix their outputs: wait for it to finish and run again. If no such run exists "
                    f"any more (e.g. on another machine that crashed), delete {path}.")
            time.sleep(poll_s)
        if previous and previous.get("pid") != os.getpid():
            log.warning("the workspace lock %s was left by %s, which no longer runs; taken over", path,
                        _describe(previous))
        info = {"pid": os.getpid(), "host": host, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join(sys.argv)[:300]}
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(info))
        fh.flush()
        yield path
    finally:
        try:
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    if _read(path).get("pid") == os.getpid():
                        fh.seek(0)
                        fh.truncate()
                        fh.flush()
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


def _try_lock(fh, previous: dict, host: str) -> bool:
    """Take the lock if free; True on success."""
    if fcntl is not None:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError:  # file system without flock (some network shares): pid + host
            pass
    if not previous or not previous.get("pid"):
        return True
    if previous.get("host") == host:
        return previous.get("pid") == os.getpid() or not _pid_alive(int(previous["pid"]))
    return False
