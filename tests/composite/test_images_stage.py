"""The images stage, ``minecarbon check`` on scenes and ``minecarbon tool composite`` on a simulated project."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from minecarbon.check import check_project
from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.pipeline import run_pipeline
from minecarbon.scenario import simulate


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    out = tmp_path_factory.mktemp("sceneproject")
    toml = simulate(out, size="tiny", seed=5, start_year=2012, end_year=2014, als_pulses_per_m2=None,
                    flavour="scenes")
    return toml


def test_project_file_names_scenes_and_images_stage_writes_composites(project, tmp_path):
    work = tmp_path / "p"
    shutil.copytree(project.parent, work)
    cfg = load_config(work / "minecarbon.toml")
    assert cfg.images.scenes == "inputs/scenes"
    assert cfg.images.path.endswith("outputs/images/composite_{year}.tif")
    assert [p for p in check_project(work / "minecarbon.toml") if p.severity == "error"] == []
    run_pipeline(cfg, stages=["images"])
    for y in (2012, 2013, 2014):
        with rasterio.open(cfg.year_path(cfg.images.path, y)) as src:
            assert src.descriptions[-1] == "clear_count" and src.count == 7
            with rasterio.open(work / "truth" / "clear_sky" / f"LC08_SR_{y}.tif") as t:
                # the composite grid holds the area with a margin; compare where both have data
                win = rasterio.windows.from_bounds(*t.bounds, transform=src.transform)
                comp = src.read(window=win, boundless=True)
                truth = t.read()
        ok = comp[-1] >= 3
        assert np.median(np.abs(comp[:-1] - truth)[:, ok]) * 2.75e-5 < 0.005
    summary = (cfg.workspace / "outputs" / "images" / "composites.csv").read_text()
    assert summary.count("\n") == 4
    cons = (cfg.workspace / "outputs" / "images" / "consistency.csv").read_text().splitlines()
    assert cons[0].lstrip("\ufeff").startswith("year,stable_px,sensors") and len(cons) == 4


def test_check_lists_every_scene_problem_at_once(project, tmp_path):
    work = tmp_path / "p"
    shutil.copytree(project.parent, work)
    scenes = sorted((work / "inputs" / "scenes").iterdir())
    y2013 = [d for d in scenes if d.name.split("_")[3].startswith("2013")]
    s_band, s_mtl, s_trunc, s_far, s_crs = [d for d in scenes if d not in y2013][:5]
    next(s_band.glob("*_SR_B3.TIF")).unlink()
    next(s_mtl.glob("*_MTL.txt")).write_text("GROUP = LANDSAT_METADATA_FILE\n")
    qa = next(s_trunc.glob("*_QA_PIXEL.TIF"))
    qa.write_bytes(qa.read_bytes()[: qa.stat().st_size // 2])
    for f in s_far.glob("*.TIF"):
        with rasterio.open(f, "r+") as ds:
            t = ds.transform
            ds.transform = rasterio.Affine(t.a, 0, t.c + 200_000, 0, t.e, t.f)
    for f in s_crs.glob("*.TIF"):  # another UTM zone (a neighbouring path/row can be)
        with rasterio.open(f, "r+") as ds:
            ds.crs = rasterio.crs.CRS.from_epsg(32650)
    for d in y2013:  # no scene left in 2013
        shutil.rmtree(d)
    text = "\n".join(str(p) for p in check_project(work / "minecarbon.toml"))
    assert s_band.name in text and "SR_B3" in text
    assert s_mtl.name in text and "cannot be read" in text
    assert s_trunc.name in text and "truncated" in text
    assert s_far.name in text and "does not overlap" in text
    assert "no scene in months 5-9 of year(s) 2013" in text
    assert "the scenes are in 2 CRSs" in text and "EPSG:32650: 1 scene(s)" in text


def test_tool_composite_cli(project, tmp_path):
    scenes = project.parent / "inputs" / "scenes"
    grid = project.parent / "truth" / "clear_sky" / "LC08_SR_2013.tif"
    r = CliRunner().invoke(main, ["tool", "composite", str(scenes), "--out", str(tmp_path / "o"), "--grid",
                                  str(grid), "--years", "2013", "--method", "medoid", "--json"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "composite_2013.tif").is_file() and '"scenes_used": 15' in r.output
    r = CliRunner().invoke(main, ["tool", "composite", str(scenes), "--out", str(tmp_path / "o"), "--grid",
                                  str(grid), "--years", "2030"])
    assert r.exit_code == 2 and "No usable scene for 2030" in r.output and "Traceback" not in r.output
