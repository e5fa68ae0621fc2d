"""minecarbon.progress: bars on a terminal, plain lines elsewhere, nothing outside a reporting block."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from minecarbon import progress


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=100, color_system="standard" if terminal else None), buf


def test_plain_lines_count_and_no_control_characters(monkeypatch):
    monkeypatch.setattr(progress._Plain.__init__, "__defaults__", (0.0,))  # a line after every step
    con, buf = _console(False)
    with progress.reporting(con):
        progress.status("stage x")  # the status line is for terminals only
        seen = list(progress.track(["a", "b", "c", "d"], "tiles", unit="tiles"))
        progress.say("  x done")
    out = buf.getvalue()
    assert seen == ["a", "b", "c", "d"]
    lines = out.splitlines()
    assert lines[0] == "  tiles: 4 tiles"
    assert [ln.split(" (")[0] for ln in lines[1:5]] == [f"  tiles: {i}/4 tiles" for i in range(1, 5)]
    assert "(25%)" in lines[1] and "left" in lines[1] and "left" not in lines[4]
    assert lines[5] == "  x done"
    assert not any(ch in out for ch in ("\x1b", "\r", "\b"))


def test_plain_is_throttled():
    con, buf = _console(False)
    with progress.reporting(con):  # default: at most one line per 30 s and loop
        for _ in progress.track(range(1000), "draws", unit="draws"):
            pass
        with progress.steps("single", 1) as step:  # too short to mention
            step()
    assert buf.getvalue().splitlines() == ["  draws: 1000 draws"]


def test_terminal_gets_a_bar():
    con, buf = _console(True)
    with progress.reporting(con):
        for _ in progress.track(range(5), "AGC maps", unit="years"):
            pass
    out = buf.getvalue()
    assert "\x1b[" in out and "AGC maps" in out and "0/5" in out


def test_silent_outside_reporting_and_in_other_threads():
    con, buf = _console(False)
    assert list(progress.track(range(3), "x")) == [0, 1, 2]  # no reporter: nothing, no error
    got = []
    with progress.reporting(con):
        t = threading.Thread(target=lambda: got.extend(progress.track(range(3), "worker", unit="items")))
        t.start()
        t.join()
    assert got == [0, 1, 2] and buf.getvalue() == ""


def test_label_line_arithmetic():
    assert progress.label_line("f", 3, 12, "years", 40.0) == "f: 3/12 years (25%), 40 s, about 2 min left"
    assert progress.label_line("f", 12, 12, "years", 180.0) == "f: 12/12 years (100%), 3 min"
    assert progress.label_line("f", 7, None, "tiles", 5.0) == "f: 7 tiles, 5 s"
