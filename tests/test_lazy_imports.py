"""Lazy package attributes (issue 18): a tool imports only what it uses; the public names stay the same."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from minecarbon._lazy import attach


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_the_trend_needs_no_sklearn_nor_geopandas():
    mods = _modules_after("from minecarbon.assess import mann_kendall_sen\nfrom minecarbon.io import open_raster, "
                          "write_raster")
    assert "minecarbon.assess.trend" in mods
    for heavy in ("sklearn", "geopandas", "minecarbon.assess.cumulative", "minecarbon.assess.zonal",
                  "minecarbon.pipeline", "matplotlib"):
        assert heavy not in mods, heavy


def test_the_texture_tool_does_not_import_the_pipeline():
    mods = _modules_after("from minecarbon.cli.main import main\nfrom minecarbon.cli import tools_features\n"
                          "from minecarbon.tools import features\nfeatures._write")  # the tool's library code
    assert "minecarbon.pipeline" not in mods and "sklearn" not in mods


@pytest.mark.parametrize("package", ["minecarbon.assess", "minecarbon.io"])
def test_every_public_name_is_the_submodules_object(package):
    pkg = importlib.import_module(package)
    for name in pkg.__all__:
        obj = getattr(pkg, name)
        assert getattr(importlib.import_module(obj.__module__ if hasattr(obj, "__module__") and
                                               obj.__module__.startswith(package) else package), name) is obj
        assert name in dir(pkg)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        getattr(pkg, "nope")


def test_a_name_equal_to_a_submodule_is_refused():
    with pytest.raises(ImportError, match=r"lazy names \['trend'\] equal submodule names"):
        attach("minecarbon.assess", {".trend": ["trend"]})
