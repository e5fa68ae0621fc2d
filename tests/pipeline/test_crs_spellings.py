"""``[project].crs`` compared by meaning, not by spelling (issue 17).

``run`` crashed with ``AttributeError: 'rasterio.crs.CRS' object has no
attribute 'equals'`` for any spelling other than the images' own text.  Every
way users write UTM 49N now gives the grid of the clean run; another CRS gives
a grid reprojected to it.
"""

from __future__ import annotations

import json

import pytest
import rasterio
from click.testing import CliRunner
from pyproj import CRS

import _mutations as M
from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.io.crs import same_crs
from minecarbon.pipeline.core import MANIFEST
from minecarbon.inputs.grid import project_grid

UTM49 = CRS.from_epsg(32649)
SPELLINGS = {
    "EPSG upper": "EPSG:32649",
    "epsg lower": "epsg:32649",
    "PROJ string": "+proj=utm +zone=49 +datum=WGS84 +units=m +no_defs",
    "WKT2": UTM49.to_wkt(),
    "WKT1 (ESRI .prj)": UTM49.to_wkt("WKT1_ESRI"),
    "OGC URN": "urn:ogc:def:crs:EPSG::32649",
}


@pytest.mark.parametrize("text", list(SPELLINGS.values()), ids=list(SPELLINGS))
def test_same_crs_by_meaning(text):
    assert same_crs(text, rasterio.crs.CRS.from_epsg(32649))
    assert same_crs(rasterio.crs.CRS.from_epsg(32649), text)
    assert not same_crs(text, "EPSG:32650")
    assert not same_crs(text, "EPSG:4326")


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_project_grid_for_every_spelling(project, name):
    ref_grid, _, ref_area = project_grid(load_config(project / "minecarbon.toml"))
    M.set_toml(project, "project", "crs", json.dumps(SPELLINGS[name]))
    grid, boundary, area = project_grid(load_config(project / "minecarbon.toml"))
    assert grid.shape == ref_grid.shape
    assert grid.rio.transform() == ref_grid.rio.transform()
    assert grid.rio.crs.to_epsg() == 32649
    assert area.geometry.iloc[0].equals_exact(ref_area.geometry.iloc[0], 1e-6)


def test_another_crs_reprojects(project):
    ref_grid, _, _ = project_grid(load_config(project / "minecarbon.toml"))
    M.set_toml(project, "project", "crs", '"EPSG:32650"')
    grid, boundary, _ = project_grid(load_config(project / "minecarbon.toml"))
    assert grid.rio.crs.to_epsg() == 32650 and boundary.crs.to_epsg() == 32650
    # UTM 50N lies east of 49N: the same place has a smaller easting there, by ~ hundreds of km
    assert ref_grid.rio.bounds()[0] - grid.rio.bounds()[0] > 100_000


def test_run_units_with_lowercase_and_proj_crs(project):
    """The stage that crashed: same outputs as the clean run whatever the spelling."""
    units = project / "workspace" / "outputs" / "units"
    before = {p.name: p.read_bytes() for p in units.glob("*.tif")}
    for text in ("epsg:32649", SPELLINGS["PROJ string"]):
        M.set_toml(project, "project", "crs", json.dumps(text))
        res = CliRunner().invoke(main, ["run", str(project / "minecarbon.toml"), "--stages", "units", "--force"])
        assert res.exit_code == 0, res.output
        assert "Internal error" not in res.output
        assert json.loads((units / MANIFEST).read_text())["stage"] == "units"
        assert {p.name: p.read_bytes() for p in units.glob("*.tif")} == before
