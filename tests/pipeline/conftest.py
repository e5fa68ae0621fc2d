"""Fixtures of the pipeline tests: the tiny simulated project of issue 17 (seed 7), run once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the helper module _mutations


@pytest.fixture(scope="session")
def tiny7(tmp_path_factory) -> Path:
    """Folder of the tiny simulated project, seed 7, 2005-2014, after one full ``run``."""
    from minecarbon.config import load_config
    from minecarbon.pipeline import run_pipeline
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("tiny7")
    toml = Path(simulate(out, size="tiny", seed=7, start_year=2005, end_year=2014))
    run_pipeline(load_config(toml))
    return toml.parent


@pytest.fixture()
def project(tiny7, tmp_path) -> Path:
    """A fresh copy of :func:`tiny7` (inputs and workspace) to damage; returns its folder."""
    from _mutations import copy_project

    return copy_project(tiny7, tmp_path / "p").parent
