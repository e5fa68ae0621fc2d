"""The report's second language is built and rendered in a worker process: same files as one process."""

from __future__ import annotations

import contextlib

import pytest

from minecarbon.report import write
from minecarbon.report.write import Worker


def test_worker_returns_results_and_raises_the_functions_errors():
    w = Worker()
    try:
        assert w.submit(pow, 2, 10).result() == 1024  # hand arithmetic
        assert w.submit(divmod, 17, 5).result() == (3, 2)
        with pytest.raises(ValueError, match="invalid literal"):
            w.submit(int, "not a number").result()
        assert w.submit(sum, [1, 2, 3]).result() == 6  # still serving after an error
    finally:
        w.close()
    assert w.proc.returncode == 0


def test_two_processes_write_the_files_of_one(report_cfg, tmp_path, monkeypatch):
    assert len(report_cfg.report.languages) == 2
    started = []

    class Counting(Worker):
        def __init__(self):
            super().__init__()
            started.append(self.proc.pid)

    monkeypatch.setattr(write, "Worker", Counting)
    two = write.write_reports(report_cfg, tmp_path / "two")
    assert len(started) == 1  # the second language went to a worker process

    @contextlib.contextmanager
    def no_worker(wanted):
        yield None

    monkeypatch.setattr(write, "_second_process", no_worker)
    one = write.write_reports(report_cfg, tmp_path / "one")
    assert len(started) == 1
    assert [p.name for p in two] == [p.name for p in one]
    assert len(one) == 1 + len(report_cfg.report.languages) * len(report_cfg.report.formats)
    for a, b in zip(one, two):
        assert a.read_bytes() == b.read_bytes(), a.name  # figures, font subset, text: all the same bytes


def test_an_error_here_stops_the_worker_without_waiting_for_it():
    import time

    with pytest.raises(RuntimeError, match="stop"):
        with write._second_process(True) as w:
            w.submit(time.sleep, 600)
            raise RuntimeError("stop")
    assert w.proc.returncode is not None and w.proc.returncode != 0  # killed, not left sleeping
