"""``[classify].years``: the classify stage maps only those years, from the samples of those years.

The tiny simulated area with the classify inputs of its end year only (``simulate(..., classify_years=[2016])``:
no monthly composites of the other years exist, so any use of them would fail). Checked against the input files
(which samples of which year) and the simulator's truth (forest extent of the classified year).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.windows import from_bounds

from minecarbon.config import load_config
from minecarbon.errors import ConfigError
from minecarbon.pipeline import run_pipeline

START, END = 2012, 2016


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("tiny_classify_years")
    toml = simulate(out, size="tiny", seed=1, start_year=START, end_year=END, als_pulses_per_m2=0, classify=True,
                    classify_years=[END])
    cfg = load_config(toml)
    assert cfg.classify.validation  # the simulator writes one; this project runs without it (the blocked-CV path)
    cfg = cfg.model_copy(update={"classify": cfg.classify.model_copy(update={"n_estimators": 40, "validation": None})})
    run_pipeline(cfg, ["classify"])
    return cfg


def test_without_validation_layer_areas_come_from_blocked_cv(project):
    """No [classify].validation: area_estimates.csv holds the blocked-CV estimates (source blocked_cv) of the
    labelled layer's samples of the year, and no validation tables are written."""
    import json

    out = project.workspace / "outputs" / "classify"
    areas = pd.read_csv(out / "area_estimates.csv", dtype={"class": str})
    assert set(areas["source"]) == {"blocked_cv"} and set(areas["level"]) == {"forest", "species_chained"}
    assert not (out / "validation_accuracy.csv").exists() and not (out / "validation_confusion.csv").exists()
    info = json.loads((out / "classify.json").read_text(encoding="utf-8"))
    assert info["area_estimates_source"] == "blocked_cv" and info["validation"] is None
    used = pd.read_csv(out / "samples.csv")
    lay = used[(used["source"] == "samples") & (used["year"] == END)]
    mapped = pd.read_csv(out / "mapped_areas.csv").set_index("year")
    f = areas[(areas["level"] == "forest") & areas["note"].isna()].set_index("class")
    assert f["n"].sum() == len(lay)  # every labelled sample of the year, none of the plots
    # the strata: mapped forest / non-forest areas; the estimates add up to them
    assert f.at["forest", "mapped_ha"] == pytest.approx(mapped.at[END, "forest_ha"])
    assert f["area_ha"].sum() == pytest.approx(f["mapped_ha"].sum(), rel=1e-9)
    assert f.at["forest", "n"] == (lay["forest_cv_blocked"].astype(str) == "forest").sum()


def test_only_the_chosen_year_is_mapped(project):
    out = project.workspace / "outputs" / "classify"
    for y in project.project.years:
        for name in ("forest_type", "dominant_species", "leaf_habit", "confidence"):
            assert (out / f"{name}_{y}.tif").is_file() == (y == END), (name, y)
    assert pd.read_csv(out / "mapped_areas.csv")["year"].tolist() == [END]


def test_samples_are_those_of_the_chosen_year(project):
    out = project.workspace / "outputs" / "classify"
    used = pd.read_csv(out / "samples.csv")
    assert set(used["year"]) == {END}
    plots = pd.read_csv(project.root / "inputs" / "field" / "plots.csv")
    points = gpd.read_file(project.root / "inputs" / "reference_samples.gpkg")
    assert (plots["survey_year"] != END).any()  # the other years' plots exist, and are left out
    expected = {"plots": int((plots["survey_year"] == END).sum()), "samples": int((points["year"] == END).sum())}
    import json

    info = json.loads((out / "classify.json").read_text(encoding="utf-8"))
    assert info["samples_by_source"]["plots"] + info["samples_flagged"] >= expected["plots"]
    assert info["samples"] + info["samples_flagged"] == expected["plots"] + expected["samples"]


def test_forest_map_matches_the_truth(project):
    out = project.workspace / "outputs" / "classify"
    path = out / f"forest_type_{END}.tif"
    with rasterio.open(path) as src:
        ft, T, bounds = src.read(1), src.transform, src.bounds
    with rasterio.open(project.root / "truth" / f"forest_type_{END}.tif") as src:
        truth = src.read(1, window=from_bounds(*bounds, transform=src.transform))
    s = pd.read_csv(out / "samples.csv")
    held = np.ones(ft.shape, bool)
    held[((s["y"] - T.f) / T.e).astype(int), ((s["x"] - T.c) / T.a).astype(int)] = False
    oa = float((((ft > 0) & (ft != 255)) == ((truth > 0) & (truth != 255)))[held].mean())
    assert oa >= 0.95


def test_years_must_be_project_years(project, tmp_path):
    text = (project.root / "minecarbon.toml").read_text(encoding="utf-8").replace(f"years = [{END}]", "years = [2030]")
    p = tmp_path / "p.toml"
    p.write_text(text.replace('"inputs/', f'"{project.root}/inputs/').replace('"truth', f'"{project.root}/truth'),
                 encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[classify\].years"):
        load_config(p)


def test_years_need_given_forest_type_maps(project, tmp_path):
    text = (project.root / "minecarbon.toml").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("forest_type =")]
    p = tmp_path / "p.toml"
    p.write_text("\n".join(lines).replace('"inputs/', f'"{project.root}/inputs/'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[classify\].years leaves out project years"):
        load_config(p)
