"""A worker process for :mod:`.write`: ``python -m minecarbon.report._worker``.

Reads ``(function, args)`` pickles from stdin, one at a time, and writes ``(ok, result or exception)`` pickles
to stdout, until stdin closes.  Started by :class:`.write.Worker` rather than through ``multiprocessing``,
because multiprocessing's spawn re-runs the caller's main script in the child (a script without an
``if __name__ == "__main__"`` guard would run twice).  Anything the functions print goes to stderr.
"""

from __future__ import annotations

import os
import pickle
import sys


def serve() -> None:
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints cannot corrupt the replies
    while True:
        try:
            fn, args = pickle.load(requests)
        except EOFError:
            return
        try:
            reply = (True, fn(*args))
        except BaseException as e:  # noqa: BLE001 - raised again in the parent
            reply = (False, e)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - an exception that does not pickle: its text
            data = pickle.dumps((False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} ({e})")))
        replies.write(data)
        replies.flush()


if __name__ == "__main__":
    try:
        serve()
    except (KeyboardInterrupt, BrokenPipeError):  # the parent was interrupted: it reports that
        sys.exit(1)
