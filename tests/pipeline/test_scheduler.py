"""Scale-out: the tiny simulated project on the dask ``processes`` scheduler and on a LocalCluster of 2
worker processes writes the same bytes as the threaded run; several projects share one cluster and a
broken one is named in the summary without stopping the others.

The reference is the threaded run itself (an independent schedule of the same graph): any
dependence of the outputs on where and in which order chunks are computed and written shows up
as a differing byte.  Only run times differ, so manifests (times) are left out, and the three
kinds of file that embed their creation time are compared without it: GeoPackages by content,
PDFs with /CreationDate and /ModDate masked, .docx archives member by member without
docProps/core.xml.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from minecarbon.cli.main import main
from minecarbon.pipeline.core import MANIFEST

pytest.importorskip("distributed")


def _gpkg_digest(path: Path) -> str:
    """Digest of every table's rows, except the timestamps GeoPackage keeps of the last change."""
    h = hashlib.sha256()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")') if r[1] != "last_change"]
            h.update(t.encode())
            for row in con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{t}" '
                                   f'ORDER BY rowid'):
                h.update(repr(row).encode())
    return h.hexdigest()


def _digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gpkg":
        return _gpkg_digest(path)
    if path.suffix == ".pdf":
        data = re.sub(rb"/(CreationDate|ModDate) ?\(D:[^)]*\)", rb"/\1()", data)
    elif path.suffix == ".docx":
        with zipfile.ZipFile(path) as z:
            data = b"".join(n.encode() + z.read(n) for n in sorted(z.namelist()) if n != "docProps/core.xml")
    return hashlib.sha256(data).hexdigest()


def _outputs(ws: Path) -> dict[str, str]:
    files = sorted(p for p in (ws / "outputs").rglob("*") if p.is_file() and p.name != MANIFEST)
    return {p.relative_to(ws).as_posix(): _digest(p) for p in files}


def _run(*args: str):
    res = CliRunner().invoke(main, ["run", *args])
    return res


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("scaleout")
    return Path(simulate(out, size="tiny", seed=7, start_year=2005, end_year=2014))


REPORT_HTML = "outputs/report/report.html"


@pytest.fixture(scope="module")
def threaded(tiny) -> dict[str, str]:
    res = _run(str(tiny), "--scheduler", "threads")
    assert res.exit_code == 0, res.output
    ws = tiny.parent / "workspace"
    shutil.copy(ws / REPORT_HTML, tiny.parent / "threaded_report.html")  # for the diff of a failure's message
    return _outputs(ws)


def _report_diff(tiny: Path) -> str:
    """The first lines that differ between the threaded run's report.html and this run's (images left out), and
    the parts of the report left out as the logs say: what a failure needs to be understood."""
    import difflib

    def lines(p: Path) -> list[str]:
        text = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "data:...", p.read_text(encoding="utf-8"))
        return re.sub(r">\s*<", ">\n<", text).splitlines()

    ws = tiny.parent / "workspace"
    diff = list(difflib.unified_diff(lines(tiny.parent / "threaded_report.html"), lines(ws / REPORT_HTML),
                                     "threads", "this run", n=1, lineterm=""))[:40]
    left_out = [ln for log in sorted((ws / "logs").glob("run-*.log"))[-1:]
                for ln in log.read_text(encoding="utf-8").splitlines() if "part left out" in ln]
    return "\n".join(diff + left_out)


def _assert_same(got: dict[str, str], ref: dict[str, str], tiny: Path | None = None) -> None:
    assert sorted(got) == sorted(ref)
    differ = [k for k in ref if got[k] != ref[k]]
    why = _report_diff(tiny) if tiny is not None and REPORT_HTML in differ else ""
    assert not differ, f"outputs differ from the threaded run: {differ}\n{why}"


def test_processes_scheduler_writes_the_threaded_bytes(tiny, threaded):
    assert len(threaded) > 50 and any(k.endswith(".tif") for k in threaded)
    res = _run(str(tiny), "--force", "--scheduler", "processes")
    assert res.exit_code == 0, res.output
    _assert_same(_outputs(tiny.parent / "workspace"), threaded, tiny)
    assert not list((tiny.parent / "workspace").rglob("*.tif.lock"))  # the chunk-write file locks are cleaned up


def test_local_cluster_runs_two_projects_one_broken(tiny, threaded, tmp_path):
    # a second project whose boundary is not a GeoPackage: it fails in its first stage
    broken_dir = tmp_path / "broken"
    shutil.copytree(tiny.parent / "inputs", broken_dir / "inputs")
    shutil.copy(tiny, broken_dir / "minecarbon.toml")
    (broken_dir / "inputs" / "boundary.gpkg").write_bytes(b"not a geopackage")
    broken = broken_dir / "minecarbon.toml"

    res = _run(str(broken), str(tiny), "--force", "--scheduler", "local:2")
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    flat = re.sub(r"[\s│]", "", res.output)  # the terminal wraps long paths and table cells
    assert "dashboard http" in out
    assert "1 of 2 project(s) failed" in out and "".join(str(broken).split()) in flat.split("failed:")[-1]
    assert "boundary.gpkg" in flat.split("Projects")[-1]  # the summary names the broken project's error
    assert "Traceback" not in res.output
    # the good project ran after the broken one, on the cluster, and wrote the threaded bytes
    _assert_same(_outputs(tiny.parent / "workspace"), threaded, tiny)
    # each project has its own log; the broken one's log holds its error
    logs = sorted((broken_dir / "workspace" / "logs").glob("run-*.log"))
    assert logs and "boundary.gpkg" in logs[-1].read_text(encoding="utf-8")
    assert not (broken_dir / "workspace" / "outputs" / "units" / MANIFEST).exists()


# ---------------------------------------------------------------------------
# clear errors: a scheduler that cannot be reached, workers that cannot see the project
# ---------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_names_the_fix(tiny, monkeypatch):
    from minecarbon.pipeline import scheduler

    monkeypatch.setattr(scheduler, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    res = _run(str(tiny), "--scheduler", address)
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert f"Cannot reach the dask scheduler at {address} within 2 s" in out
    assert "dask scheduler" in out and "--scheduler threads" in out
    assert "Traceback" not in res.output


def test_bad_scheduler_names():
    from minecarbon.errors import ConfigError
    from minecarbon.pipeline.scheduler import parse_local, use_scheduler

    assert parse_local("local") is None and parse_local("local:3") == 3
    for bad in ("local:0", "local:two"):
        with pytest.raises(ConfigError, match="whole number >= 1"):
            parse_local(bad)
    with pytest.raises(ConfigError, match="Unknown scheduler 'thread'"):
        with use_scheduler("thread"):
            pass


def _blind_worker(address: str, hidden: Path):
    """A real ``dask worker`` process in its own mount namespace, where ``hidden`` is an empty tmpfs."""
    import subprocess
    import sys

    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("needs 'unshare -m' (root, Linux) to give a worker a different view of the disk")
    cmd = (f"mount -t tmpfs none {hidden} && exec {sys.executable} -m distributed.cli.dask_worker {address} "
           f"--nworkers 1 --nthreads 1 --no-dashboard")
    return subprocess.Popen(["unshare", "-m", "sh", "-c", cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_workers_that_cannot_see_the_project_are_named(tiny):
    from distributed import Client, LocalCluster

    hidden = tiny.parent
    with LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        worker = _blind_worker(cluster.scheduler_address, hidden)
        try:
            with Client(cluster.scheduler_address) as client:
                client.wait_for_workers(1, timeout=120)
            res = _run(str(tiny), "--scheduler", cluster.scheduler_address)
        finally:
            worker.terminate()
            worker.wait(30)
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert "1 of 1 dask worker(s)" in out
    assert f"cannot see the project's workspace {(hidden / 'workspace').resolve()}" in out
    assert "shared filesystem" in out and "--scheduler threads" in out
    assert "Traceback" not in res.output
