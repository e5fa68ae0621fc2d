"""The `lidar` pipeline stage and the `minecarbon tool tls | tls-validate | chm | treetops` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _lidar_sim import make_stand
from click.testing import CliRunner

from minecarbon.cli.main import main
from minecarbon.scenario.tls import simulate_tls_scan, write_laz

CRS = "EPSG:32649"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A minimal project: one scanned plot (P7) with a tape tally, one plot without scan."""
    root = tmp_path_factory.mktemp("lidar_project")
    trees = make_stand(35, 21, species=("油松", "侧柏"))
    write_laz(simulate_tls_scan(trees, 12.0, 80.0, 21), root / "inputs" / "tls" / "P7.laz")
    field = root / "inputs" / "field"
    field.mkdir(parents=True)
    pd.DataFrame({"plot_id": ["P7", "P8"], "x": [500015.0, 500100.0], "y": [4000015.0, 4000100.0],
                  "survey_year": [2020, 2020], "size_m": [30, 30]}).to_csv(field / "plots.csv", index=False)
    tally = trees.assign(plot_id="P7")[["plot_id", "tree_id", "species", "dbh_cm", "height_m", "x_local_m",
                                        "y_local_m"]]
    tally.to_csv(field / "tally.csv", index=False)
    tally.drop(columns=["x_local_m", "y_local_m"]).to_csv(field / "trees.csv", index=False)
    (root / "minecarbon.toml").write_text(f"""
[project]
name = "lidar test"
crs = "{CRS}"
start_year = 2015
end_year = 2020

[area]
boundary = "inputs/boundary.gpkg"

[images]
path = "inputs/images/img_{{year}}.tif"

[climate]
temperature = "inputs/t_{{year}}.tif"
precipitation = "inputs/p_{{year}}.tif"

[inputs]
dem = "inputs/dem.tif"
forest_type = "inputs/ft_{{year}}.tif"
plots = "inputs/field/plots.csv"
trees = "inputs/field/trees.csv"
tls = "inputs/tls/*.laz"
tally = "inputs/field/tally.csv"

[plots]
mc_draws = 50
""", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def stage_out(project):
    from minecarbon.config import load_config
    from minecarbon.pipeline import STAGES_BY_NAME
    from minecarbon.pipeline.core import run_stage

    cfg = load_config(project / "minecarbon.toml")
    run_stage(cfg, STAGES_BY_NAME["lidar"], lambda msg: None, {})
    return cfg.workspace / "outputs" / "lidar", project


def _csv(path):
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"plot_id": str})


def test_stage_tree_lists_validation_and_agc(stage_out):
    out, project = stage_out
    trees = _csv(out / "tls_trees.csv")
    tally = _csv(project / "inputs" / "field" / "tally.csv")
    assert set(trees["plot_id"]) == {"P7"}
    # georeferenced from the plot centre: project x = centre + scanner-frame x
    assert np.allclose(trees["x"] - trees["x_local_m"], 500015.0)
    assert np.allclose(trees["y"] - trees["y_local_m"], 4000015.0)
    assert set(trees["species_source"]) <= {"tally_match", "plot_dominant"}
    val = _csv(out / "tls_validation.csv").iloc[0]
    assert val["n_tally"] == len(tally)
    assert val["detection_rate"] >= 0.95
    assert val["dbh_rmse_cm"] <= 1.0
    assert val["height_rmse_m_qc_ok"] <= 1.0
    plots = _csv(out / "tls_plots.csv").iloc[0]
    assert plots["trees_in_plot"] >= 0.95 * len(tally)
    assert val["n_tls"] == plots["trees_in_plot"]            # commission counts the scanned trees in the plot
    # tally AGC recomputed independently of the stage's code path, from the allometry table directly
    from minecarbon.allometry import AllometryTable

    res = AllometryTable.default().tree_biomass(tally["species"], tally["dbh_cm"].to_numpy(), tally["height_m"].to_numpy())
    agc_tally = res["agc_kg"].sum() / 1000.0 / 0.09          # kg C -> t C over 30 m x 30 m = 0.09 ha
    assert plots["agc_t_ha_tally"] == pytest.approx(agc_tally, rel=1e-9)
    assert abs(plots["agc_diff_pct"]) < 10.0                 # TLS trees give nearly the tally's plot AGC
    table = _csv(out / "tls_trees_table.csv")
    assert list(table.columns[:5]) == ["plot_id", "tree_id", "species", "dbh_cm", "height_m"]
    assert len(table) == plots["trees_in_plot"] and (table["height_m"] > 1.3).all()
    assert (out / "tls_validation.png").stat().st_size > 10_000
    assert (out / "tls_trees.gpkg").is_file() and (out / "_manifest.json").is_file()


def test_scan_positions_rotate_and_shift_the_scan(stage_out, tmp_path):
    """A scan taken off-centre and not oriented to north gives the same trees once [lidar].scan_positions says so."""
    import shutil

    import laspy

    out0, project = stage_out
    root = tmp_path / "rotated"
    shutil.copytree(project / "inputs" / "field", root / "inputs" / "field")
    (root / "minecarbon.toml").write_text((project / "minecarbon.toml").read_text(encoding="utf-8")
                                          + '\n[lidar]\nscan_positions = "inputs/field/scan_positions.csv"\n',
                                          encoding="utf-8")
    # scan frame = north frame rotated by -rot about the plot centre, then shifted so the scanner is off-centre
    rot, sx, sy = 35.0, 2.5, -1.5          # plot centre in the scan frame (m); rotation to north (deg)
    a = np.radians(rot)

    def to_scan(nx, ny):
        return nx * np.cos(a) - ny * np.sin(a) + sx, nx * np.sin(a) + ny * np.cos(a) + sy

    las = laspy.read(project / "inputs" / "tls" / "P7.laz")
    xs, ys = to_scan(np.asarray(las.x), np.asarray(las.y))
    las.header.offsets = [float(np.floor(xs.min())), float(np.floor(ys.min())), las.header.offsets[2]]
    las.x, las.y = xs, ys
    write_laz(las, root / "inputs" / "tls" / "P7.laz")
    tally = _csv(root / "inputs" / "field" / "tally.csv")
    tally["x_local_m"], tally["y_local_m"] = to_scan(tally["x_local_m"].to_numpy(), tally["y_local_m"].to_numpy())
    tally.to_csv(root / "inputs" / "field" / "tally.csv", index=False)
    pd.DataFrame({"plot_id": ["P7"], "centre_x_m": [sx], "centre_y_m": [sy], "rotation_deg": [rot]}).to_csv(
        root / "inputs" / "field" / "scan_positions.csv", index=False)

    from minecarbon.config import load_config
    from minecarbon.pipeline import STAGES_BY_NAME
    from minecarbon.pipeline.core import run_stage

    cfg = load_config(root / "minecarbon.toml")
    run_stage(cfg, STAGES_BY_NAME["lidar"], lambda msg: None, {})
    got = _csv(cfg.workspace / "outputs" / "lidar" / "tls_trees.csv")
    ref = _csv(out0 / "tls_trees.csv")
    # every reference tree is found at the same map position (within a few cm), with the same DBH and plot membership
    from scipy.spatial import cKDTree

    d, j = cKDTree(got[["x", "y"]].to_numpy()).query(ref[["x", "y"]].to_numpy())
    assert np.quantile(d, 0.95) < 0.05
    close = d < 0.05
    assert np.median(np.abs(got["dbh_cm"].to_numpy()[j[close]] - ref["dbh_cm"].to_numpy()[close])) < 0.3
    np.testing.assert_array_equal(got["in_plot"].to_numpy(dtype=bool)[j[close]], ref["in_plot"].to_numpy(dtype=bool)[close])
    val = _csv(cfg.workspace / "outputs" / "lidar" / "tls_validation.csv").iloc[0]
    assert val["detection_rate"] >= 0.95 and val["dbh_rmse_cm"] <= 1.0
    # bad scan-position rows are named
    pd.DataFrame({"plot_id": ["P7", "P7"], "rotation_deg": ["x", 10]}).to_csv(
        root / "inputs" / "field" / "scan_positions.csv", index=False)
    res = CliRunner().invoke(main, ["run", str(root / "minecarbon.toml"), "--stages", "lidar"])
    assert res.exit_code == 2, res.output
    msg = " ".join(res.output.split())
    assert "scan_positions.csv" in msg and "line(s) 2, 3" in msg and "rotation_deg" in msg
    assert "Traceback" not in res.output


def test_tool_tls_with_tally_and_labelled_cloud(project, tmp_path):
    scan = project / "inputs" / "tls" / "P7.laz"
    out = tmp_path / "p7.csv"
    res = CliRunner().invoke(main, ["tool", "tls", str(scan), str(out), "--tally",
                                    str(project / "inputs" / "field" / "tally.csv"), "--plot-size", "30",
                                    "--labelled", str(tmp_path / "p7_labelled.laz"), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["validation"]["all_matched"]["detection_rate"] >= 0.95
    assert (tmp_path / "p7_pairs.csv").is_file() and (tmp_path / "p7_validation.png").is_file()
    from minecarbon.lidar import read_cloud

    lab = read_cloud(tmp_path / "p7_labelled.laz")
    trees = pd.read_csv(out, encoding="utf-8-sig")
    assert set(np.unique(lab.fields["tree_id"])) - {0} <= set(trees["tree_id"])
    assert (lab.fields["classification"] == 2).mean() > 0.1
    # the validation alone gives the same numbers
    res2 = CliRunner().invoke(main, ["tool", "tls-validate", str(out), str(project / "inputs" / "field" / "tally.csv"),
                                     str(tmp_path / "again"), "--json"])
    assert res2.exit_code == 0, res2.output
    a, b = json.loads(res2.output)["all_matched"], summary["validation"]["all_matched"]
    assert a["detection_rate"] == b["detection_rate"] and a["n_matched"] == b["n_matched"]
    for name in ("dbh_cm", "height_m"):
        assert a[name]["rmse"] == pytest.approx(b[name]["rmse"], rel=1e-9)


def test_tool_chm_and_treetops(tmp_path):
    from minecarbon.io import open_raster
    from minecarbon.lidar import PointCloud, write_cloud

    rng = np.random.default_rng(0)
    g = np.column_stack([rng.uniform(0, 30, 30000), rng.uniform(0, 30, 30000), np.full(30000, 50.0)])
    crowns = []
    for (x, y, h) in ((8.0, 8.0, 15.0), (22.0, 9.0, 11.0), (15.0, 23.0, 18.0)):
        t = rng.uniform(0, 1, 3000)
        r = 0.3 * h * np.sqrt(rng.uniform(0, 1, 3000)) * (1 - t)
        a = rng.uniform(0, 2 * np.pi, 3000)
        crowns.append(np.column_stack([x + r * np.cos(a), y + r * np.sin(a), 50.0 + 0.5 * h + 0.49 * h * t]))
        crowns.append(np.array([[x, y, 50.0 + h]]))  # the apex: one highest return per crown
    from pyproj import CRS as PCRS

    cloud = PointCloud(np.vstack([g] + crowns) + [500000, 4000000, 0], PCRS.from_user_input(CRS),
                       {"classification": np.r_[np.full(30000, 2), np.full(9003, 1)].astype(np.uint8)})
    laz = write_cloud(tmp_path / "als.laz", cloud)
    chm_path = tmp_path / "chm.tif"
    res = CliRunner().invoke(main, ["tool", "chm", str(laz), str(chm_path), "--resolution", "0.5",
                                    "--dtm", str(tmp_path / "dtm.tif")])
    assert res.exit_code == 0, res.output
    chm = open_raster(chm_path, chunks=None)
    assert chm.rio.crs.to_epsg() == 32649 and float(chm.max()) == pytest.approx(18.0, abs=0.2)
    assert float(open_raster(tmp_path / "dtm.tif", chunks=None).mean()) == pytest.approx(50.0, abs=1e-3)
    res = CliRunner().invoke(main, ["tool", "treetops", str(chm_path), str(tmp_path / "tops.gpkg"), "--min-height",
                                    "5", "--json"])
    assert res.exit_code == 0, res.output
    import geopandas as gpd

    tops = gpd.read_file(tmp_path / "tops.gpkg")
    assert len(tops) == 3
    assert sorted(tops["height_m"].round(0)) == [11.0, 15.0, 18.0]


def test_tool_errors_are_one_message(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["tool", "tls", str(tmp_path / "none.laz"), str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output
    bad = tmp_path / "bad.laz"
    bad.write_bytes(b"\x00" * 4096)
    res = runner.invoke(main, ["tool", "chm", str(bad), str(tmp_path / "o.tif"), "--resolution", "1"])
    assert res.exit_code == 2 and "LAS/LAZ" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["tool", "tls", str(bad), str(bad)])
    assert res.exit_code == 2 and "input" in res.output
