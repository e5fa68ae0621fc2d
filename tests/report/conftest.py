"""One simulated project, run once per test session, shared by the report and catalog tests.

The simulated inputs are edited before the run so that user-supplied names
carry HTML: a plot called ``<script>alert(1)</script>`` and a project name with
an ``<img onerror>`` tag.  Tests that change files work on a copy
(:func:`project_copy`).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

EVIL_PLOT = "<script>alert(1)</script>"
EVIL_NAME = "Test <img src=x onerror=alert(2)> mine"
RENAMED = "P006-2010"  # a mid-period visit (end-year visits may be TLS scans, named after the plot)


def _rename_plot(project_dir: Path) -> None:
    for name in ("plots.csv", "trees.csv"):
        p = project_dir / "inputs" / "field" / name
        lines = p.read_text(encoding="utf-8-sig").splitlines()
        out = [lines[0]] + [(EVIL_PLOT + line[len(RENAMED):]) if line.startswith(RENAMED + ",") else line
                            for line in lines[1:]]
        p.write_text("\n".join(out) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def report_project(tmp_path_factory) -> Path:
    """Path of the simulated project's TOML, after a complete pipeline run (both languages, three formats)."""
    from minecarbon.config import load_config
    from minecarbon.pipeline import run_pipeline
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("report_tiny")
    toml = Path(simulate(out, size="tiny", seed=0, start_year=2005, end_year=2016))
    _rename_plot(out)
    text = toml.read_text(encoding="utf-8")
    text = re.sub(r'^name = .*$', f"name = '{EVIL_NAME}'", text, count=1, flags=re.M)
    toml.write_text(text, encoding="utf-8")
    run_pipeline(load_config(toml))
    return toml


@pytest.fixture(scope="session")
def report_cfg(report_project):
    from minecarbon.config import load_config

    return load_config(report_project)


@pytest.fixture()
def project_copy(report_project, tmp_path) -> Path:
    """A copy of the completed project (inputs, workspace) that a test may change; returns its TOML."""
    dst = tmp_path / "copy"
    shutil.copytree(report_project.parent, dst)
    return dst / report_project.name
