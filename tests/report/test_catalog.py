"""The monitoring database: checksums, lineage, tables, STAC, verification, rebuilding."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pandas as pd
import pytest
from click.testing import CliRunner

from minecarbon.catalog import build_catalog, catalog_path, open_catalog, verify_catalog
from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.pipeline import run_pipeline
from minecarbon.pipeline import STAGES_BY_NAME
from minecarbon.pipeline.core import MANIFEST, is_up_to_date


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_output_has_checksum_and_lineage(report_cfg):
    ws = report_cfg.workspace
    with open_catalog(report_cfg) as db:
        ds = db.datasets()
        lin = db.lineage()
        runs = db.runs()
    outs = ds[ds["kind"] == "output"]
    assert len(outs) > 30
    for _, r in outs.iterrows():
        assert _sha(ws / r["path"]) == r["sha256"], r["id"]
        rows = lin[lin["dataset_id"] == r["id"]]
        assert len(rows) >= 2, r["id"]
        assert {"settings"} <= set(rows["relation"])
    # every output of every catalogued stage's manifest is in the database
    for stage in runs["stage"]:
        m = json.loads((ws / "outputs" / stage / MANIFEST).read_text(encoding="utf-8"))
        assert {f"output:{stage}/{rel}" for rel in m["outputs"]} <= set(outs["id"])
        upstream = lin[(lin["stage"] == stage) & (lin["relation"] == "upstream")]
        assert set(upstream["source_id"]) == {f"run:{u}" for u in m["upstream"]}
    # raw inputs: every file of the project file, with the checksum it has now
    raw = ds[ds["kind"] == "raw"].set_index("output_id")
    for key, path in report_cfg.input_paths().items():
        assert raw.loc[key, "sha256"] == _sha(path), key


def test_tables_equal_the_outputs(report_cfg):
    out = report_cfg.workspace / "outputs"
    with open_catalog(report_cfg) as db:
        assert {"datasets", "lineage", "runs", "plots", "trees", "units", "zonal_statistics", "models",
                "metrics"} <= set(db.tables())
        trees = db.read_table("trees")
        zonal = db.read_table("zonal_statistics")
        plots = db.read_table("plots")
        models = db.read_table("models")
        metrics = db.read_table("metrics")
    csv = pd.read_csv(out / "plots" / "trees_agc.csv", encoding="utf-8-sig", dtype={"plot_id": str, "tree_id": str})
    assert len(trees) == len(csv)
    pd.testing.assert_series_equal(trees["agc_kg"], csv["agc_kg"], check_names=False)
    zcsv = pd.read_csv(out / "assess" / "zonal_stats.csv", encoding="utf-8-sig")
    assert zonal["mean"].sum() == pytest.approx(zcsv["mean"].sum(), rel=1e-12)
    assert plots.crs.to_epsg() == 32649 and len(plots) == 38 * 4  # 38 permanent plots, visited 2005, 2010, 2015, 2016
    card = json.loads((out / "model" / "model_card.json").read_text(encoding="utf-8"))
    top = models[models["model_id"] == "model/card"]
    assert len(top) == 1
    r2 = metrics[(metrics["source"] == "model/card") & (metrics["scope"] == "cv") & (metrics["metric"] == "r2")]
    assert r2["value"].iloc[0] == card["cv_metrics"]["r2"]


def test_stac_catalog_lists_every_raster_with_its_checksum(report_cfg):
    import pystac

    cat = pystac.Catalog.from_file(str(report_cfg.workspace / "catalog" / "stac" / "catalog.json"))
    items = list(cat.get_items(recursive=True))
    tifs = sorted((report_cfg.workspace / "outputs").rglob("*.tif"))
    assert len(items) == len(tifs)
    for item in items:
        asset = item.assets["data"]
        path = asset.get_absolute_href()
        assert os.path.isfile(path)
        assert asset.extra_fields["file:checksum"] == "1220" + _sha(__import__("pathlib").Path(path))
        assert item.properties["proj:code"] == "EPSG:32649"
        assert -180 <= item.bbox[0] < item.bbox[2] <= 180


def test_verify_passes_then_fails_naming_tampered_files(project_copy):
    cfg = load_config(project_copy)
    assert verify_catalog(cfg).ok
    ws = cfg.workspace
    tampered = ws / "outputs" / "plots" / "plots_agc.csv"
    tampered.write_bytes(tampered.read_bytes().replace(b"P002", b"P00X"))  # same size, other content
    (ws / "outputs" / "map" / "agc_2010.tif").unlink()
    report = ws / "outputs" / "report" / "report.html"
    report.write_text(report.read_text(encoding="utf-8") + "<!-- edited -->", encoding="utf-8")
    raw = cfg.path(cfg.inputs.trees)
    raw.write_text(raw.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    res = verify_catalog(cfg)
    bad = {p.path: p.status for p in res.problems}
    assert bad == {"outputs/plots/plots_agc.csv": "changed", "outputs/map/agc_2010.tif": "missing",
                   "outputs/report/report.html": "changed", "inputs/field/trees.csv": "changed"}
    result = CliRunner().invoke(main, ["catalog", "verify", str(project_copy)])
    assert result.exit_code == 3
    assert "plots_agc.csv" in result.output and "agc_2010.tif" in result.output


def test_deleting_the_database_rebuilds_it(project_copy):
    cfg = load_config(project_copy)
    db = catalog_path(cfg)
    with open_catalog(cfg) as be:
        before = be.datasets()[["id", "sha256"]]
    db.unlink()
    assert not is_up_to_date(cfg, STAGES_BY_NAME["catalog"])
    results = {r.name: r.status for r in run_pipeline(cfg)}
    assert results["catalog"] == "ran" and results["units"] == "skipped" and results["report"] == "skipped"
    with open_catalog(cfg) as be:
        after = be.datasets()[["id", "sha256"]]
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True))
    assert verify_catalog(cfg).ok


def test_copy_archive_is_read_only_and_verified(project_copy, tmp_path):
    cfg = load_config(project_copy)
    cfg = cfg.model_copy(update={"report": cfg.report.model_copy(update={"archive": "copy"})})
    summary = build_catalog(cfg, db_path=tmp_path / "c.gpkg", stac=False)
    with __import__("minecarbon.catalog.gpkg", fromlist=["x"]).GeoPackageBackend(summary.path) as be:
        raw = be.datasets(kind="raw")
    assert raw["archive_path"].notna().all()
    for _, r in raw.iterrows():
        copy = cfg.workspace / r["archive_path"]
        assert _sha(copy) == r["sha256"]
        assert not copy.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        assert r["sha256"] in str(r["archive_path"])  # content addressed
    # archiving again stores nothing twice
    n = sum(1 for _ in (cfg.workspace / "catalog" / "archive").rglob("*") if _.is_file())
    build_catalog(cfg, db_path=tmp_path / "c2.gpkg", stac=False)
    assert n == sum(1 for _ in (cfg.workspace / "catalog" / "archive").rglob("*") if _.is_file())


def test_catalog_cli_list_and_show(report_project):
    r = CliRunner().invoke(main, ["catalog", "list", str(report_project), "--kind", "output", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert all(x["kind"] == "output" for x in rows) and len(rows) > 30
    r = CliRunner().invoke(main, ["catalog", "show", str(report_project), "output:map/agc_2010.tif", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["dataset"]["year"] == 2010 and doc["dataset"]["units"] == "t C/ha"
    assert {"input", "upstream", "settings"} <= {x["relation"] for x in doc["lineage"]}
    r = CliRunner().invoke(main, ["catalog", "show", str(report_project), "agc_2010"])
    assert r.exit_code == 2 and "output:map/agc_2010.tif" in r.output  # suggests the id


def test_report_cli_writes_the_asked_language_and_format(project_copy):
    r = CliRunner().invoke(main, ["report", str(project_copy), "--lang", "zh", "--format", "html", "--json"])
    assert r.exit_code == 0, r.output
    files = json.loads(r.output)["files"]
    rep = load_config(project_copy).workspace / "outputs" / "report"
    assert sorted(os.path.basename(f) for f in files) == ["management_advice.csv", "report_zh.html"]
    assert not (rep / "report.pdf").exists()  # the folder matches the stage manifest
    assert json.loads(r.output)["written"] is True
    again = CliRunner().invoke(main, ["report", str(project_copy), "--lang", "zh", "--format", "html"])
    assert again.exit_code == 0 and "Report up to date" in again.output  # nothing changed: not rewritten
    r = CliRunner().invoke(main, ["report", str(project_copy), "--lang", "fr"])
    assert r.exit_code == 2 and "--lang fr" in r.output
