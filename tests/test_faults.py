"""Faults of the machine are told as such, not as "internal errors" (issue 17)."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from click.testing import CliRunner

from minecarbon.cli.main import main
from minecarbon.errors import EnvironmentProblemError, MinecarbonError
from minecarbon.faults import explain


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "Permission denied"), (errno.EDQUOT, "quota")])
def test_os_errors(code, words):
    err = explain(OSError(code, "x", "/ws/outputs/map/agc_2010.tif"))
    assert isinstance(err, EnvironmentProblemError) and isinstance(err, MinecarbonError)
    assert words in str(err) and "/ws/outputs/map/agc_2010.tif" in str(err)


def test_wrapped_causes_and_unknown():
    try:
        try:
            raise sqlite3.DatabaseError("file is not a database")
        except sqlite3.DatabaseError as inner:
            raise RuntimeError("while writing") from inner
    except RuntimeError as outer:
        assert "damaged" in str(explain(outer))
    assert isinstance(explain(MemoryError()), EnvironmentProblemError)
    assert explain(ZeroDivisionError("x")) is None  # a real bug stays a bug


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only")])
def test_run_on_full_or_read_only_disk(tmp_path, monkeypatch, code, words):
    """Disk full or read-only workspace while a stage writes: exit 2 with the file and the fix."""
    from minecarbon.scenario import simulate
    import minecarbon.pipeline.core as core

    toml = simulate(tmp_path / "p", size="tiny", seed=7, start_year=2005, end_year=2007)

    def failing(path, text, *a, **k):
        raise OSError(code, "simulated", str(path))

    monkeypatch.setattr(core, "atomic_write_text", failing)
    res = CliRunner().invoke(main, ["run", str(toml), "--stages", "units"])
    assert res.exit_code == 2, res.output
    assert words in res.output and "settings.json" in res.output
    assert "Internal error" not in res.output
