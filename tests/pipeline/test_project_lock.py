"""One run at a time, up-to-date by content, workspace never among the inputs (issue 17)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

import _mutations as M
from minecarbon.catalog import verify_catalog
from minecarbon.check import check_project
from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.errors import ConfigError
from minecarbon.pipeline import run_pipeline
from minecarbon.pipeline import STAGES_BY_NAME
from minecarbon.pipeline.core import is_up_to_date
from minecarbon.pipeline.lock import LOCK_NAME, WorkspaceLockedError, workspace_lock

HOLD = textwrap.dedent("""
    import sys, time
    from minecarbon.pipeline.lock import workspace_lock
    with workspace_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(120)
""")


def _holder(ws):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(ws)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_refuses_while_one_holds_the_workspace(project):
    ws = project / "workspace"
    proc = _holder(ws)
    try:
        res = CliRunner().invoke(main, ["run", str(project / "minecarbon.toml")])
        assert res.exit_code == 2, res.output
        assert f"pid {proc.pid}" in res.output and "in use" in res.output
        assert "Internal error" not in res.output
        with pytest.raises(WorkspaceLockedError):
            run_pipeline(load_config(project / "minecarbon.toml"), ["units"])
    finally:
        proc.kill()
        proc.wait()


def test_stale_lock_of_a_killed_run_is_taken_over(project, caplog):
    ws = project / "workspace"
    proc = _holder(ws)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = json.loads((ws / LOCK_NAME).read_text())
    assert left["pid"] == proc.pid and left["host"]
    with caplog.at_level("WARNING", logger="minecarbon.pipeline.lock"):
        results = run_pipeline(load_config(project / "minecarbon.toml"))
    assert all(r.status == "skipped" for r in results)  # nothing changed since the clean run
    assert f"pid {proc.pid}" in caplog.text and "no longer runs" in caplog.text
    assert (ws / LOCK_NAME).read_text() == ""  # released at the end


def test_lock_of_a_dead_pid_without_flock_is_stale(tmp_path, monkeypatch):
    """On file systems without flock, pid + host decide."""
    import socket

    from minecarbon.pipeline import lock

    monkeypatch.setattr(lock, "fcntl", None)
    ws = tmp_path / "ws"
    ws.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (ws / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    with workspace_lock(ws):
        assert json.loads((ws / LOCK_NAME).read_text())["pid"] == os.getpid()
    (ws / LOCK_NAME).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    with pytest.raises(WorkspaceLockedError, match=f"pid {os.getppid()}"):
        with workspace_lock(ws):
            pass
    (ws / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "another-machine"}))
    with pytest.raises(WorkspaceLockedError, match="another-machine"):
        with workspace_lock(ws):
            pass


def test_same_size_edit_of_an_output_reruns_the_stage(project):
    cfg = load_config(project / "minecarbon.toml")
    stage = STAGES_BY_NAME["plots"]
    assert is_up_to_date(cfg, stage)
    out = project / "workspace" / "outputs" / "plots" / "plots_agc.csv"
    data = bytearray(out.read_bytes())
    i = data.index(b".") + 1  # a digit after the first decimal point
    data[i] = ord("1") if data[i] != ord("1") else ord("2")
    size = out.stat().st_size
    out.write_bytes(bytes(data))
    assert out.stat().st_size == size
    assert not verify_catalog(cfg).ok  # the catalog sees the change ...
    assert not is_up_to_date(cfg, stage)  # ... and so does run
    results = {r.name: r.status for r in run_pipeline(cfg)}
    assert results["plots"] == "ran"
    assert verify_catalog(cfg).ok


def test_workspace_inside_an_input_folder_is_refused(project):
    M.set_toml(project, "project", "workspace", '"inputs"')
    with pytest.raises(ConfigError, match="inside the folder"):
        load_config(project / "minecarbon.toml")
    problems = check_project(project / "minecarbon.toml")
    assert len(problems) == 1 and "workspace 'inputs'" in problems[0].message
    before = sorted(p.relative_to(project) for p in (project / "inputs").rglob("*"))
    res = CliRunner().invoke(main, ["run", str(project / "minecarbon.toml")])
    assert res.exit_code == 2 and "outputs must never be written among the inputs" in res.output
    assert sorted(p.relative_to(project) for p in (project / "inputs").rglob("*")) == before
    M.set_toml(project, "project", "workspace", '"inputs/images/out"')
    with pytest.raises(ConfigError, match="inside the folder"):
        load_config(project / "minecarbon.toml")
    M.set_toml(project, "project", "workspace", '"../elsewhere"')  # beside the project: fine
    load_config(project / "minecarbon.toml")
