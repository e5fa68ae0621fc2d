"""On the tiny simulated mining area: ``plots plan`` / ``plots check`` and the ``plots`` stage against truth."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features
from click.testing import CliRunner
from shapely.geometry import box

from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.pipeline import run_pipeline


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from minecarbon.scenario import simulate

    return Path(simulate(tmp_path_factory.mktemp("plots_tiny"), size="tiny", seed=3))


@pytest.fixture(scope="module")
def plan(project):
    res = CliRunner().invoke(main, ["plots", "plan", str(project), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    out = load_config(project).workspace / "outputs" / "plot_design"
    sheet = pd.read_csv(out / "plot_design.csv", encoding="utf-8-sig", dtype={"plot_id": str})
    return summary, sheet, out


def _units(project) -> tuple[np.ndarray, rasterio.Affine]:
    path = load_config(project).workspace / "outputs" / "units" / "units_level2.tif"
    with rasterio.open(path) as src:
        return src.read(1), src.transform


def test_plan_has_three_plots_in_every_unit(project, plan):
    summary, sheet, _ = plan
    l2, transform = _units(project)
    codes = [int(c) for c in np.unique(l2) if 0 < c < 255]
    # the unit under each planned centre, read independently with rasterio
    rows, cols = rasterio.transform.rowcol(transform, sheet["x"], sheet["y"])
    under = l2[np.asarray(rows), np.asarray(cols)]
    np.testing.assert_array_equal(under, sheet["unit_l2"])
    n = pd.Series(under).value_counts()
    assert len(codes) >= 5
    for c in codes:
        assert n.get(c, 0) >= (5 if c // 10 == 2 else 3), c  # the standard's 3; +2 in to-be-damaged units
    assert summary["units_short"] == [] and summary["n_plots"] == len(sheet)
    assert set(sheet["size_m"]) == {abs(transform.a)}  # sized to the pixel


def test_plan_spacing_and_edges(project, plan):
    _, sheet, _ = plan
    l2, transform = _units(project)
    half = sheet["size_m"].iloc[0] / 2
    squares = [box(x - half, y - half, x + half, y + half) for x, y in zip(sheet.x, sheet.y)]
    for i in range(len(squares)):
        for j in range(i + 1, len(squares)):
            assert squares[i].intersection(squares[j]).area < 1e-6
    for code, grp in sheet.groupby("unit_l2"):
        xy = grp[["x", "y"]].to_numpy()
        d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))[np.triu_indices(len(xy), 1)]
        assert d.min() >= grp["spacing_m"].iloc[0] - 1e-6
    for sq, (_, p) in zip(squares, sheet.iterrows()):
        grown = sq.buffer(p["edge_margin_m"], join_style=2) if p["edge_margin_m"] else sq
        m = rasterio.features.geometry_mask([grown.buffer(-1e-6)], l2.shape, transform, all_touched=True,
                                            invert=True)
        assert (l2[m] == p["unit_l2"]).all(), p["plot_id"]


def test_plan_files(plan):
    _, sheet, out = plan
    xl = pd.read_excel(out / "plot_design.xlsx", dtype={"plot_id": str})
    assert list(xl["plot_id"]) == list(sheet["plot_id"])
    sq = gpd.read_file(out / "plot_design.gpkg")
    assert len(sq) == len(sheet) and np.allclose(sq.area, sheet["size_m"] ** 2)
    pts = gpd.read_file(out / "plot_centres.gpkg")
    assert np.allclose(pts.to_crs(4326).geometry.x, sheet["lon"], atol=1e-6)
    assert sheet["lat"].between(-90, 90).all() and "x_nw" in sheet.columns


def test_check_counts_plans_and_sheets(project, plan):
    _, sheet, out = plan
    res = CliRunner().invoke(main, ["plots", "check", str(project), "--sheet", str(out / "plot_design.csv")])
    assert res.exit_code == 0, res.output
    first = int(sheet["unit_l2"].iloc[0])
    sheet[sheet.unit_l2 != first].to_csv(out.parent / "partial.csv", index=False)
    res = CliRunner().invoke(main, ["plots", "check", str(project), "--sheet", str(out.parent / "partial.csv"),
                                    "--json"])
    assert res.exit_code == 2
    assert json.loads(res.output)["units_short"] == [first]


def test_plots_stage_against_the_simulator(project):
    cfg = load_config(project)
    run_pipeline(cfg, ["units", "plots"])
    ws = cfg.workspace / "outputs" / "plots"
    got = pd.read_csv(ws / "plots_agc.csv", dtype={"plot_id": str}).set_index("plot_id")
    truth = pd.read_csv(project.parent / "truth" / "plots_truth.csv", dtype={"plot_id": str}).set_index("plot_id")
    # the simulator's tally AGC (rounded to 4 decimals) from the same trees
    np.testing.assert_allclose(got.loc[truth.index, "agc_t_ha"], truth["agc_tally_t_ha"], atol=5.1e-5)
    np.testing.assert_array_equal(got.loc[truth.index, "unit_l2"], truth["unit_level2"])
    assert (got["agc_lo95_t_ha"] <= got["agc_hi95_t_ha"]).all()
    by_group = pd.read_csv(ws / "plots_by_group.csv", dtype={"plot_id": str})
    np.testing.assert_allclose(by_group.groupby("plot_id")["agc_kg"].sum(),
                               got.loc[got["n_trees"] > 0, "agc_kg"].sort_index(), rtol=1e-12)
    ft = pd.read_csv(ws / "plots_by_forest_type.csv")
    assert ft["n_plots"].sum() == len(got)
    per_unit = pd.read_csv(ws / "plots_per_unit.csv")
    assert per_unit["n_plots"].sum() == int((got["unit_l2"] > 0).sum())


def test_plan_never_writes_into_an_input_folder(project):
    field = project.parent / "inputs" / "field"
    before = sorted(p.name for p in field.iterdir())
    res = CliRunner().invoke(main, ["plots", "plan", str(project), "--out", str(field)])
    assert res.exit_code == 2 and "never writes into input folders" in res.output.replace("\n", " ")
    assert sorted(p.name for p in field.iterdir()) == before
