"""End-to-end pipeline on the tiny simulated area: outputs, skipping, crash + re-run == clean run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner

from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.pipeline import run_pipeline
from minecarbon.pipeline import STAGES_BY_NAME
from minecarbon.pipeline.core import MANIFEST, is_up_to_date


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("tiny")
    toml = simulate(out, size="tiny", seed=3, start_year=2005, end_year=2016)
    return Path(toml)


@pytest.fixture(scope="module")
def clean_run(project):
    cfg = load_config(project)
    results = run_pipeline(cfg)
    return cfg, results


def _digests(ws: Path) -> dict[str, str]:
    """Checksums of every output, GeoPackages by content (they embed a timestamp)."""
    out = {}
    for p in sorted((ws / "outputs").rglob("*")):
        if not p.is_file() or p.name == MANIFEST:
            continue
        rel = p.relative_to(ws).as_posix()
        if p.suffix in (".pdf", ".docx", ".sqlite", ".db") or "catalog" in p.parts:
            continue  # these embed creation times; their content is tested by tests/report
        if p.suffix in (".html", ".json", ".md"):
            text = p.read_text(encoding="utf-8").replace(str(ws.resolve()), "<ws>").replace(str(ws), "<ws>")
            out[rel] = hashlib.sha256(text.encode()).hexdigest()
            continue
        if p.suffix == ".gpkg":
            gdf = gpd.read_file(p)
            out[rel] = hashlib.sha256(pd.util.hash_pandas_object(
                gdf.drop(columns="geometry"), index=True).values.tobytes()
                + b"".join(gdf.geometry.to_wkb())).hexdigest()
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_all_stages_ran_and_wrote_declared_outputs(clean_run):
    cfg, results = clean_run
    assert [r.name for r in results][:7] == ["units", "plots", "features", "model", "map", "assess", "report"] \
        or {r.name for r in results} >= {"units", "plots", "features", "model", "map", "assess", "report"}
    assert all(r.status == "ran" for r in results)
    ws = cfg.workspace / "outputs"
    for y in cfg.project.years:
        p = ws / "map" / f"agc_{y}.tif"
        with rasterio.open(p) as src:
            assert src.crs.to_epsg() == 32649
            assert src.descriptions == ("agc_t_ha",)
            assert src.tags().get("units") == "t C/ha"
            assert np.isnan(src.nodata)
            assert src.profile.get("tiled")
    html = (ws / "report" / "report.html").read_text(encoding="utf-8")
    assert "<img src=\"data:image/png;base64," in html  # figures embedded: opens offline
    manifest = json.loads((ws / "plots" / MANIFEST).read_text())
    assert manifest["inputs"] and all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    assert set(manifest["outputs"]) >= {"plots_agc.csv", "trees_agc.csv"}
    assert "minecarbon" in manifest["versions"]


def test_report_numbers_come_from_outputs(clean_run):
    cfg, _ = clean_run
    ws = cfg.workspace / "outputs"
    card = json.loads((ws / "model" / "model_card.json").read_text())
    html = (ws / "report" / "report.html").read_text(encoding="utf-8")
    assert f"{card['cv_metrics']['r2']:,.3f}" in html
    assert f"{card['cv_metrics']['rmse']:,.2f}" in html


def test_maps_agree_with_truth(clean_run):
    cfg, _ = clean_run
    val = pd.read_csv(cfg.workspace / "outputs" / "assess" / "validation_truth.csv")
    assert len(val) == len(cfg.project.years)
    # a random forest on a few dozen plots: the maps must at least track the truth
    assert val["r2"].median() > 0.5
    rel_bias = val["total_est_t"].sum() / val["total_truth_t"].sum() - 1
    assert abs(rel_bias) < 0.25


def test_plot_agc_recomputed_by_hand(clean_run):
    cfg, _ = clean_run
    ws = cfg.workspace / "outputs" / "plots"
    trees = pd.read_csv(ws / "trees_agc.csv", dtype={"plot_id": str})
    plots = pd.read_csv(ws / "plots_agc.csv", dtype={"plot_id": str})
    kg = trees.groupby("plot_id")["agc_kg"].sum().reindex(plots["plot_id"], fill_value=0.0).to_numpy()
    by_hand = kg / 1000 / (plots["size_m"].to_numpy() ** 2 / 1e4)  # t C / ha
    np.testing.assert_allclose(plots["agc_t_ha"], by_hand, rtol=1e-12)
    assert (plots.loc[plots["n_trees"] == 0, "agc_t_ha"] == 0).all()  # plots without trees hold no carbon


def test_second_run_skips_everything(clean_run):
    cfg, _ = clean_run
    again = run_pipeline(cfg)
    assert all(r.status == "skipped" for r in again)


def test_changed_setting_reruns_downstream_only(project, tmp_path):
    cfg = load_config(project)
    cfg = cfg.model_copy(update={"project": cfg.project.model_copy(update={"workspace": str(tmp_path / "ws")})})
    run_pipeline(cfg, ["units", "plots"])
    changed = cfg.model_copy(update={"plots": cfg.plots.model_copy(update={"mc_draws": 50})})
    assert is_up_to_date(changed, STAGES_BY_NAME["units"])
    assert not is_up_to_date(changed, STAGES_BY_NAME["plots"])


def test_interrupted_run_then_rerun_equals_clean_run(project, clean_run, tmp_path, monkeypatch):
    cfg_clean, _ = clean_run
    cfg = load_config(project)
    cfg = cfg.model_copy(update={"project": cfg.project.model_copy(update={"workspace": str(tmp_path / "ws")})})

    import minecarbon.pipeline.stages.map as map_stage

    real_write = map_stage.write_raster
    calls = {"n": 0}

    def dying_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated kill in the middle of the map stage")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(map_stage, "write_raster", dying_write)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(cfg)
    monkeypatch.setattr(map_stage, "write_raster", real_write)
    # the killed stage has no manifest, so it is not taken as complete
    assert not (cfg.workspace / "outputs" / "map" / MANIFEST).exists()
    assert not list((cfg.workspace / "outputs").rglob("*.part*"))
    results = {r.name: r.status for r in run_pipeline(cfg)}
    assert results["units"] == "skipped" and results["map"] == "ran"
    assert _digests(cfg.workspace) == _digests(cfg_clean.workspace)


def test_inputs_are_not_modified(project, clean_run):
    inputs = Path(project).parent / "inputs"
    newest_input = max(p.stat().st_mtime for p in inputs.rglob("*") if p.is_file())
    cfg, _ = clean_run
    oldest_output = min(p.stat().st_mtime for p in (cfg.workspace / "outputs").rglob("*") if p.is_file())
    assert newest_input <= oldest_output
    assert not any(p.name.endswith((".aux.xml", ".part")) for p in inputs.rglob("*"))


def test_stage_needing_missing_upstream_is_a_clear_error(project, tmp_path):
    cfg = load_config(project)
    cfg = cfg.model_copy(update={"project": cfg.project.model_copy(update={"workspace": str(tmp_path / "w")})})
    from minecarbon.errors import StageError

    with pytest.raises(StageError, match="needs the outputs of stage 'units'"):
        run_pipeline(cfg, ["plots"])


def test_cli_run_reports_bad_plot_sheet(project, tmp_path):
    import shutil

    src = Path(project).parent
    dst = tmp_path / "broken"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("workspace"))
    plots = pd.read_csv(dst / "inputs" / "field" / "plots.csv")
    plots.loc[1, "plot_id"] = plots.loc[0, "plot_id"]  # duplicate plot id
    plots.to_csv(dst / "inputs" / "field" / "plots.csv", index=False)
    res = CliRunner().invoke(main, ["run", str(dst / "minecarbon.toml"), "--stages", "units,plots"])
    assert res.exit_code == 2, res.output
    # run gives the message of 'minecarbon check' (one rule, one place), which names the lines
    first = str(plots.loc[0, "plot_id"])
    assert f"plot_id '{first}' appears 2 times" in res.output and "lines 2, 3" in res.output
    assert "Traceback" not in res.output


def test_cli_run_progress_is_plain_when_not_a_terminal(project, tmp_path):
    """CliRunner's output is not a terminal: stage lines and loop counts as plain text, no control characters."""
    import shutil

    dst = tmp_path / "plain"
    shutil.copytree(Path(project).parent, dst, ignore=shutil.ignore_patterns("workspace"))
    res = CliRunner().invoke(main, ["run", str(dst / "minecarbon.toml"), "--stages", "units,lidar"])
    assert res.exit_code == 0, res.output
    n_scans, n_tiles = (len(list((dst / "inputs" / d).glob("*.laz"))) for d in ("tls", "als"))
    assert n_scans >= 2 and n_tiles >= 2
    assert "  units     started" in res.output and "  lidar     done in" in res.output
    assert f"  TLS scans: {n_scans} plots" in res.output and f"  ALS tiles: {n_tiles} tiles" in res.output
    assert not any(ch in res.output for ch in ("\x1b", "\r", "\b")), repr(res.output)
    # the project log gives each stage's CPU and the peak RSS so far (issue 16): the run was in this process,
    # so its peak is at most this process' peak, and its CPU at most wall x cores
    import os
    import re
    import resource

    text = "\n".join(p.read_text(encoding="utf-8") for p in (dst / "workspace" / "logs").glob("run-*.log"))
    done = re.findall(r"stage (\w+): done in ([0-9.]+) s \(CPU ([0-9.]+) s in this process, peak RSS ([0-9]+) MiB", text)
    assert [d[0] for d in done] == ["units", "lidar"]
    for _, wall, cpu, peak in done:
        assert 0 <= float(cpu) <= float(wall) * (os.cpu_count() or 1) + 0.2
        assert 50 < int(peak) <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + 1
