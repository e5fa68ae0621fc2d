"""The truth of the tiny scenario is consistent with its inputs and behaves as designed."""

from __future__ import annotations

import geopandas as gpd
import laspy
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.features import rasterize
from scipy.stats import spearmanr

from minecarbon.allometry import AllometryTable

END = 2024
CF = {"刺槐": (0.47, "IPCC (2006) default, test")}


def _read(path, band=1):
    with rasterio.open(path) as src:
        return src.read(band), src.transform


def _burn(gdf, transform, values=None, n=64):
    shapes = [(g, 1 if values is None else v) for g, v in zip(gdf.geometry, values if values is not None
                                                              else [1] * len(gdf))]
    if not shapes:
        return np.zeros((n, n), dtype="int32")
    return rasterize(shapes, out_shape=(n, n), transform=transform, fill=0, dtype="int32")


def _plots(tiny):
    plots = pd.read_csv(tiny.out / "inputs/field/plots.csv", encoding="utf-8-sig")
    truth = pd.read_csv(tiny.out / "truth/plots_truth.csv", encoding="utf-8-sig")
    plots = plots.merge(truth, on=["plot_id", "permanent_id", "survey_year"])
    plots["row"] = ((4_100_000 - plots.y) // 30).astype(int)
    plots["col"] = ((plots.x - 380_000) // 30).astype(int)
    return plots


def test_tally_agc_matches_pixel_truth(tiny):
    plots = _plots(tiny)
    diff = (plots.agc_tally_t_ha - plots.agc_truth_t_ha).abs()
    assert diff.mean() < 0.1 * plots.agc_truth_t_ha.mean()
    forested = plots[plots.agc_truth_t_ha > 5]
    assert ((forested.agc_tally_t_ha - forested.agc_truth_t_ha).abs() / forested.agc_truth_t_ha).median() < 0.05
    # the tally AGC is what the project's allometry gives on trees.csv
    trees = pd.read_csv(tiny.out / "inputs/field/trees.csv", encoding="utf-8-sig")
    table = AllometryTable.default(carbon_fractions=CF)
    trees["agc_kg"] = table.tree_biomass(trees.species, trees.dbh_cm.to_numpy(), trees.height_m.to_numpy())[
        "agc_kg"].to_numpy()
    per_plot = trees.groupby("plot_id").agc_kg.sum() / 0.09 / 1000.0
    got = plots.set_index("plot_id").agc_tally_t_ha
    assert np.allclose(per_plot, got[per_plot.index], atol=1e-3)
    assert (got.drop(per_plot.index) == 0).all(), "plots without trees have zero tally AGC"
    assert (plots[plots.agc_truth_t_ha < 0.5].plot_id.isin(trees.plot_id) == False).all()


def test_plot_truth_is_the_pixel_of_its_survey_year(tiny):
    plots = _plots(tiny)
    for p in plots.itertuples():
        agc, _ = _read(tiny.out / f"truth/agc_{p.survey_year}.tif")
        ft, _ = _read(tiny.out / f"truth/forest_type_{p.survey_year}.tif")
        assert agc[p.row, p.col] == pytest.approx(p.agc_truth_t_ha, abs=1e-3)
        assert ft[p.row, p.col] == p.forest_type


def test_at_least_three_plots_per_level2_unit(tiny):
    units, _ = _read(tiny.out / "truth/units_level2.tif")
    plots = _plots(tiny)
    assert np.array_equal(units[plots.row, plots.col], plots.unit_level2.to_numpy())
    plots_once = plots.drop_duplicates("permanent_id")  # count plots, not their visits
    plot_units = units[plots_once.row, plots_once.col]
    present = {int(u) for u in np.unique(units) if u > 0}
    assert present == {10, 21, 22, 23, 31, 32, 33, 41, 43, 50}
    counts = pd.Series(plot_units).value_counts()
    for unit in present:
        assert counts.get(unit, 0) >= 3, f"unit {unit}"
    assert counts[[u for u in present if u // 10 == 2]].min() >= 4, "more plots in to-be-damaged forest"
    # pre- and post-damage visits exist among the damaged units
    dmg = plots[plots.unit_level2 // 10 == 3]
    assert dmg.survey_year.nunique() == 5


def test_units_follow_the_rules_from_the_inputs(tiny):
    inp = tiny.out / "inputs"
    f0, tr = _read(inp / "forest_type/forest_type_2005.tif")
    f1, _ = _read(inp / f"forest_type/forest_type_{END}.tif")
    f0, f1 = f0 > 0, f1 > 0
    boundary = gpd.read_file(inp / "boundary.gpkg")
    m = _burn(boundary.buffer(300), tr) > 0
    code = {"excavation": 1, "subsidence": 2, "occupation": 3}
    rank = {1: 3, 3: 2, 2: 1}  # precedence excavation > occupation > subsidence

    def typed(gdf):
        out = np.zeros((64, 64), dtype=int)
        for kind in ("subsidence", "occupation", "excavation"):
            sel = gdf[gdf.damage_type == kind]
            out = np.where(_burn(sel, tr) > 0, code[kind], out)
        assert rank  # documents the burn order above
        return out

    dist = typed(gpd.read_file(inp / "disturbance.gpkg"))
    plan = typed(gpd.read_file(inp / "planned_mining.gpkg"))
    rec = typed(gpd.read_file(inp / "reclamation.gpkg"))
    l1 = np.zeros((64, 64), dtype=int)
    dc = np.zeros((64, 64), dtype=int)
    rest = m.copy()
    for level, mask, t in ((4, rec > 0, rec), (3, (dist > 0) & f0, dist), (2, (plan > 0) & f0, plan),
                           (1, f0 & f1, None), (5, f0 ^ f1, None)):
        sel = rest & mask
        l1[sel] = level
        if t is not None:
            dc[sel] = t[sel]
        rest &= ~sel
    l2 = np.where(l1 > 0, 10 * l1 + dc, 0)
    t1, _ = _read(tiny.out / "truth/units_level1.tif")
    t2, _ = _read(tiny.out / "truth/units_level2.tif")
    assert np.array_equal(t1, l1)
    assert np.array_equal(t2, l2)


def test_reflectance_responds_to_agc(tiny):
    with rasterio.open(tiny.out / f"inputs/images/LC08_SR_{END}.tif") as src:
        rho = src.read().astype(float) * 2.75e-5 - 0.2
    agc, _ = _read(tiny.out / f"truth/agc_{END}.tif")
    ft, _ = _read(tiny.out / f"truth/forest_type_{END}.tif")
    ndvi = (rho[3] - rho[2]) / (rho[3] + rho[2])
    forest = ft > 0
    assert spearmanr(ndvi[forest], agc[forest]).correlation > 0.6
    # bare mined ground is darker in NIR and less green than forest
    assert np.median(ndvi[~forest & (agc == 0)]) < np.median(ndvi[forest])


def test_monthly_phenology(tiny):
    def ndvi(month):
        with rasterio.open(tiny.out / f"inputs/images_monthly/LC08_SR_{END}-{month:02d}.tif") as src:
            rho = src.read().astype(float) * 2.75e-5 - 0.2
        return (rho[3] - rho[2]) / (rho[3] + rho[2])

    species, _ = _read(tiny.out / "inputs/dominant_species.tif")
    ft, _ = _read(tiny.out / f"truth/forest_type_{END}.tif")
    ft0, _ = _read(tiny.out / "truth/forest_type_2005.tif")
    stable = (ft == ft0) & (ft > 0) & (ft != 4)
    jan, jul = ndvi(1), ndvi(7)
    evergreen = stable & np.isin(species, (1, 2))
    deciduous = stable & np.isin(species, (3, 4, 5, 6, 7))
    assert evergreen.sum() > 20 and deciduous.sum() > 20
    drop_e = np.median(jul[evergreen] - jan[evergreen])
    drop_d = np.median(jul[deciduous] - jan[deciduous])
    assert drop_d > 0.25 and drop_e < 0.2
    assert np.median(jan[evergreen]) > np.median(jan[deciduous]) + 0.15


def test_disturbed_pixels_lose_carbon(tiny):
    inp = tiny.out / "inputs"
    _, tr = _read(inp / "dem.tif")
    dist = gpd.read_file(inp / "disturbance.gpkg")
    rec = gpd.read_file(inp / "reclamation.gpkg")
    agc, _ = _read(tiny.out / f"truth/agc_{END}.tif")
    nomining, _ = _read(tiny.out / f"truth/agc_nomining_{END}.tif")
    f0, _ = _read(inp / "forest_type/forest_type_2005.tif")
    reclaimed = _burn(rec, tr) > 0
    removed = _burn(dist[dist.damage_type.isin(["excavation", "occupation"])], tr) > 0
    subsided = (_burn(dist[dist.damage_type == "subsidence"], tr) > 0) & ~removed
    bare = removed & ~reclaimed
    assert bare.sum() > 20 and np.all(agc[bare] == 0)
    lost = removed & (f0 > 0)
    assert np.all(agc[lost] < nomining[lost])
    s = subsided & (f0 > 0)
    ratio = agc[s] / nomining[s]
    assert s.sum() > 20 and ratio.max() <= 1.0 and 0.35 < ratio.min() and np.median(ratio) < 0.85
    # reclaimed land regrows from zero; years before mining are identical in both worlds
    assert agc[reclaimed].max() > 0
    a, _ = _read(tiny.out / "truth/agc_2007.tif")
    b, _ = _read(tiny.out / "truth/agc_nomining_2007.tif")
    assert np.array_equal(a, b)
    # outside all mining polygons the two worlds agree
    anywhere = removed | subsided | reclaimed
    assert np.allclose(agc[~anywhere], nomining[~anywhere])


def test_agc_grows_with_climate_signal(tiny):
    years = range(2005, 2008)
    agc = np.stack([_read(tiny.out / f"truth/agc_{y}.tif")[0] for y in years])
    f0, _ = _read(tiny.out / "inputs/forest_type/forest_type_2005.tif")
    inc = np.diff(agc, axis=0)[:, f0 > 0]
    assert (inc >= -1e-4).all() and inc.mean() > 0.1


def test_tls_plots(tiny):
    plots = _plots(tiny)
    trees = pd.read_csv(tiny.out / "inputs/field/trees.csv", encoding="utf-8-sig")
    tally = pd.read_csv(tiny.out / "inputs/field/tally.csv", encoding="utf-8-sig")
    scans = sorted((tiny.out / "truth").glob("tls_trees_*.csv"))
    assert len(scans) == 2
    for path in scans:
        pid = path.stem.removeprefix("tls_trees_")
        assert plots.set_index("plot_id").loc[pid, "survey_year"] == END
        scan = pd.read_csv(path, encoding="utf-8-sig")
        assert list(scan.columns) == ["tree_id", "x_local_m", "y_local_m", "species", "dbh_cm", "height_m"]
        inside = scan[(scan.x_local_m.abs() <= 15) & (scan.y_local_m.abs() <= 15)]
        plot_trees = trees[trees.plot_id == pid]
        assert set(inside.tree_id) == set(plot_trees.tree_id)
        assert len(scan) > len(inside), "a few trees outside the plot"
        merged = inside.merge(plot_trees, on="tree_id", suffixes=("", "_sheet"))
        assert np.allclose(merged.dbh_cm, merged.dbh_cm_sheet) and np.allclose(merged.height_m, merged.height_m_sheet)
        laz = tiny.out / "inputs" / "tls" / f"{pid}.laz"
        if laz.exists():
            las = laspy.read(laz)
            assert len(las.points) > 1000
    assert tally.plot_id.iloc[0] in [p.stem.removeprefix("tls_trees_") for p in scans]
    merged = tally.merge(trees, on=["plot_id", "tree_id"], suffixes=("", "_true"))
    assert len(merged) == len(tally)
    assert 0.1 < (merged.dbh_cm - merged.dbh_cm_true).std() < 0.6
    assert (merged.height_m - merged.height_m_true).abs().max() < 3.0
