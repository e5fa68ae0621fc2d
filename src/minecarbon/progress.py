"""Progress of long loops (tiles, years, folds, scans, draws) - the one place that draws it.

Library code wraps a loop in :func:`track` (an iterable) or :func:`steps` (a
counter); that is all it knows.  What is shown is decided by whoever runs the
work (the CLI) with :func:`reporting`:

* on a terminal: a rich progress display - a status line for the current stage
  and one bar per running loop with its count, elapsed time and time left;
* anywhere else (CI logs, files, pipes): plain lines, no control characters -
  one line when a loop of at least :data:`PLAIN_MIN_TOTAL` items starts and
  further lines at most every :data:`PLAIN_EVERY_S` seconds with the count and
  the time left;
* outside :func:`reporting` (library use, tests): nothing.

Only the thread that opened :func:`reporting` reports (loops inside worker
threads stay silent).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")

PLAIN_EVERY_S = 30.0
"""Plain output: seconds between two lines of one loop."""
PLAIN_MIN_TOTAL = 2
"""Plain output: loops shorter than this print nothing."""


class _Reporter:
    """Receives loop events; the base class shows nothing."""

    def status(self, text: str) -> None:  # the current stage / step
        pass

    def start(self, label: str, total: int | None, unit: str) -> object:
        return None

    def advance(self, handle: object, n: int = 1) -> None:
        pass

    def stop(self, handle: object) -> None:
        pass

    def print(self, text: str) -> None:
        pass


class _Plain(_Reporter):
    """Lines of text, throttled; no cursor movement, no colours."""

    def __init__(self, write: Callable[[str], None], every_s: float = PLAIN_EVERY_S) -> None:
        self.write, self.every_s = write, every_s

    def print(self, text: str) -> None:
        self.write(text)

    def start(self, label, total, unit):
        h = {"label": label, "total": total, "unit": unit, "done": 0, "t0": time.monotonic(), "last": None}
        if total is not None and total >= PLAIN_MIN_TOTAL:
            self.write(f"  {label}: {total} {unit}")
            h["last"] = h["t0"]
        return h

    def advance(self, h, n=1):
        h["done"] += n
        now = time.monotonic()
        if h["last"] is not None and now - h["last"] >= self.every_s:
            h["last"] = now
            self.write(f"  {label_line(h['label'], h['done'], h['total'], h['unit'], now - h['t0'])}")


class _Rich(_Reporter):
    """A rich Progress: a spinner line for the status, one transient bar per running loop."""

    def __init__(self, progress) -> None:
        self.p = progress
        self.status_task = progress.add_task("starting", total=None, start=True)

    def status(self, text):
        self.p.update(self.status_task, description=text)

    def print(self, text):
        self.p.console.print(text, highlight=False, markup=False)

    def start(self, label, total, unit):
        return self.p.add_task(f"  {label}", total=total)

    def advance(self, h, n=1):
        self.p.advance(h, n)

    def stop(self, h):
        self.p.remove_task(h)


_current: _Reporter = _Reporter()
_owner: int | None = None


def _reporter() -> _Reporter:
    return _current if threading.get_ident() == _owner else _Reporter()


def label_line(label: str, done: int, total: int | None, unit: str, elapsed_s: float) -> str:
    """``features: 3/12 years (25%), 40 s, about 2 min left`` (the plain-text progress line)."""
    if not total:
        return f"{label}: {done} {unit}, {_dur(elapsed_s)}"
    left = elapsed_s / done * (total - done) if done else None
    tail = f", about {_dur(left)} left" if left is not None and done < total else ""
    return f"{label}: {done}/{total} {unit} ({100 * done / total:.0f}%), {_dur(elapsed_s)}{tail}"


def _dur(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


@contextlib.contextmanager
def steps(label: str, total: int | None = None, unit: str = "") -> Iterator[Callable[[int], None]]:
    """A counter for a loop that is not a plain iteration: ``with steps("ALS tiles", n) as step: ... step()``."""
    rep = _reporter()
    h = rep.start(label, total, unit)
    try:
        yield lambda n=1: rep.advance(h, n)
    finally:
        rep.stop(h)


def track(items: Iterable[T], label: str, total: int | None = None, unit: str = "") -> Iterator[T]:
    """Iterate ``items`` and report each one done: ``for year in track(years, "features", unit="years")``."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with steps(label, total, unit) as step:
        for item in items:
            yield item
            step()


def status(text: str) -> None:
    """Set the status line (the current stage or step)."""
    _reporter().status(text)


def say(text: str) -> None:
    """Print a line above the progress display (or as a plain line)."""
    _reporter().print(text)


@contextlib.contextmanager
def reporting(console) -> Iterator[None]:
    """Show progress of this thread's loops on ``console`` (a rich Console) while the block runs.

    A terminal gets live bars; anything else gets plain, throttled lines without control characters.
    """
    global _current, _owner
    before = (_current, _owner)
    if console.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from rich.progress import ProgressColumn
        from rich.text import Text

        class Counted(ProgressColumn):
            """A column shown for loops with a count only (not on the status line)."""

            def __init__(self, column) -> None:
                super().__init__()
                self.column = column

            def render(self, task):
                return self.column.render(task) if task.total is not None else Text("")

        prog = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                        *(Counted(c) for c in (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                               TextColumn("left"), TimeRemainingColumn())),
                        console=console, transient=True)
        with prog:
            _current, _owner = _Rich(prog), threading.get_ident()
            try:
                yield
            finally:
                _current, _owner = before
    else:
        _current = _Plain(lambda text: console.print(text, highlight=False, markup=False, soft_wrap=True))
        _owner = threading.get_ident()
        try:
            yield
        finally:
            _current, _owner = before
