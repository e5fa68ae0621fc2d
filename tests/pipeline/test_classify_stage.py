"""Stage `classify` on the tiny simulated area without forest-type maps, and the stages that read its maps.

The simulator (``classify=True, forest_type_inputs=False``) writes cloud-gapped monthly composites of every
year, labelled reference points and a project without ``[inputs].forest_type``. Checked against the
simulator's truth (forest extent of each year) and by recomputing the stage's tables by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.windows import from_bounds
from shapely.geometry import Point

from minecarbon.config import load_config
from minecarbon.errors import InputError
from minecarbon.pipeline import run_pipeline
from minecarbon.pipeline import STAGES_BY_NAME
from minecarbon.pipeline.core import run_stage

YEARS = (2012, 2016)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("tiny_classify")
    toml = simulate(out, size="tiny", seed=1, start_year=YEARS[0], end_year=YEARS[1], als_pulses_per_m2=0,
                    classify=True, forest_type_inputs=False)
    cfg = load_config(toml)
    assert cfg.inputs.forest_type is None
    cfg = cfg.model_copy(update={
        "classify": cfg.classify.model_copy(update={"n_estimators": 40}),
        "model": cfg.model.model_copy(update={"learners": ["mlr", "rf"]})})
    run_pipeline(cfg)  # every stage, to the report, without forest-type maps
    return cfg


def _read(path: Path, like: Path | None = None) -> np.ndarray:
    with rasterio.open(path) as src:
        if like is None:
            return src.read(1)
        with rasterio.open(like) as ref:
            return src.read(1, window=from_bounds(*ref.bounds, transform=src.transform))


def _out(cfg) -> Path:
    return cfg.workspace / "outputs" / "classify"


def test_yearly_forest_maps_match_the_truth(project):
    """Every year's forest extent from that year's images: OA against the truth on the pixels that are not samples."""
    cfg = project
    samples = pd.read_csv(_out(cfg) / "samples.csv")
    with rasterio.open(_out(cfg) / f"forest_type_{YEARS[0]}.tif") as src:
        T = src.transform
    oa = {}
    for year in cfg.project.years:
        path = _out(cfg) / f"forest_type_{year}.tif"
        ft = _read(path)
        truth = _read(cfg.root / "truth" / f"forest_type_{year}.tif", like=path)
        held = np.ones(ft.shape, bool)
        s = samples[samples["year"] == year]
        held[((s["y"] - T.f) / T.e).astype(int), ((s["x"] - T.c) / T.a).astype(int)] = False
        mapped = (ft > 0) & (ft != 255)
        oa[year] = float((mapped == ((truth > 0) & (truth != 255)))[held].mean())
        codes = set(cfg.forest_type_codes.model_dump().values()) | {255}
        assert set(np.unique(ft).tolist()) <= codes
    print(f"\ntiny seed 1: forest OA vs truth per year {oa}")
    assert oa[YEARS[0]] >= 0.95 and oa[YEARS[1]] >= 0.95
    # the end-year extent is not a copy of the base year's: where the truth lost forest, so does the map
    f0 = _read(cfg.root / "truth" / f"forest_type_{YEARS[0]}.tif", like=_out(cfg) / f"forest_type_{YEARS[0]}.tif")
    f1 = _read(cfg.root / "truth" / f"forest_type_{YEARS[1]}.tif", like=_out(cfg) / f"forest_type_{YEARS[1]}.tif")
    lost = (f0 > 0) & (f0 != 255) & (f1 == 0)
    m0 = _read(_out(cfg) / f"forest_type_{YEARS[0]}.tif")
    m1 = _read(_out(cfg) / f"forest_type_{YEARS[1]}.tif")
    if lost.sum() >= 10:
        assert (m1[lost] == 0).mean() > 0.8 and (m0[lost] > 0).mean() > 0.8


def test_species_maps_and_tables_recomputed(project):
    cfg = project
    out = _out(cfg)
    codes = pd.read_csv(cfg.root / "inputs" / "species_codes.csv", encoding="utf-8-sig")["code"].tolist()
    for year in cfg.project.years:
        sp = _read(out / f"dominant_species_{year}.tif")
        assert set(np.unique(sp).tolist()) <= set(codes) | {0, 255}
        ft = _read(out / f"forest_type_{year}.tif")
        assert ((sp == 0) == (ft == cfg.forest_type_codes.nonforest)).all()
        with rasterio.open(out / f"confidence_{year}.tif") as src:
            assert list(src.descriptions) == ["species_probability", "margin", "n_clear"]
            prob, margin, n_clear = src.read(1), src.read(2), src.read(3)
        ok = np.isfinite(margin)
        assert (margin[ok] >= 0).all() and (margin[ok] <= prob[ok] + 1e-6).all()
        assert n_clear.max() <= 12 and n_clear.min() >= 0
    acc = pd.read_csv(out / "accuracy.csv")
    conf = pd.read_csv(out / "confusion.csv")
    pc = pd.read_csv(out / "accuracy_per_class.csv")
    assert set(acc["scheme"]) == {"blocked", "random"}
    assert set(acc["level"]) == {"forest", "leaf_habit", "species", "species_chained"}
    for r in acc.itertuples():
        c = conf[(conf["level"] == r.level) & (conf["scheme"] == r.scheme)]
        m = c.pivot(index="map", columns="reference", values="count")
        n = m.to_numpy()
        assert n.sum() == r.n
        po = np.trace(n) / n.sum()  # OA and kappa by hand from the matrix
        pe = (n.sum(1) * n.sum(0)).sum() / n.sum() ** 2
        assert r.oa == pytest.approx(po) and r.kappa == pytest.approx((po - pe) / (1 - pe))
        for p in pc[(pc["level"] == r.level) & (pc["scheme"] == r.scheme)].to_dict("records"):
            k = [str(v) for v in m.index].index(str(p["class"]))
            if n[k].sum():
                assert p["ua"] == pytest.approx(n[k, k] / n[k].sum())
            if n[:, k].sum():
                assert p["pa"] == pytest.approx(n[k, k] / n[:, k].sum())
    forest = acc[(acc["level"] == "forest") & (acc["scheme"] == "blocked")]["oa"].iloc[0]
    assert forest >= 0.95
    info = json.loads((out / "classify.json").read_text(encoding="utf-8"))
    assert info["status"] == "classified" and info["evergreen"] == ["1", "2"]
    # Olofsson areas: per year and level, the estimated areas add up to the mapped total
    areas = pd.read_csv(out / "area_estimates.csv")
    for (year, level), g in areas[areas["note"].isna()].groupby(["year", "level"]):
        assert g["area_ha"].sum() == pytest.approx(g["mapped_ha"].sum(), rel=1e-9)
        assert (g["area_ci95_ha"] >= 0).all()


def test_mapped_areas_are_the_maps_pixel_counts(project):
    """mapped_areas.csv (counted chunk by chunk while the maps are written) against the written maps by hand."""
    cfg = project
    out = _out(cfg)
    mapped = pd.read_csv(out / "mapped_areas.csv").set_index("year")
    for year in cfg.project.years:
        sp = _read(out / f"dominant_species_{year}.tif")
        with rasterio.open(out / f"confidence_{year}.tif") as src:
            n_clear = src.read(3)
            px_ha = abs(src.transform.a * src.transform.e) / 1e4
        r = mapped.loc[year]
        assert r["nonforest_ha"] == pytest.approx((sp == 0).sum() * px_ha)
        assert r["forest_ha"] - r["forest_without_species_ha"] == pytest.approx(((sp != 0) & (sp != 255)).sum() * px_ha)
        assert r["nodata_ha"] + r["forest_without_species_ha"] == pytest.approx((sp == 255).sum() * px_ha)
        assert r["flagged_px"] == (n_clear < cfg.classify.min_clear).sum()


def test_species_oa_under_blocked_cv(project):
    """The issue's aim: dominant-species OA >= 0.80 under spatially blocked CV (within the reference stratum),
    here on the tiny simulated area (seed 1, 2012-2016, 40 trees, terrain features on)."""
    acc = pd.read_csv(_out(project) / "accuracy.csv").set_index(["level", "scheme"])["oa"]
    print(f"\ntiny seed 1: species OA blocked {acc['species', 'blocked']:.3f}, random {acc['species', 'random']:.3f}")
    assert acc["species", "blocked"] >= 0.80


def test_validation_confusion_is_an_independent_count(project):
    """validation_confusion.csv / validation_accuracy.csv against the written maps read with rasterio at the
    simulator's validation points and counted with pandas."""
    cfg = project
    out = _out(cfg)
    pts = gpd.read_file(cfg.root / cfg.classify.validation)
    conf = pd.read_csv(out / "validation_confusion.csv", dtype={"map": str, "reference": str})
    acc = pd.read_csv(out / "validation_accuracy.csv").set_index(["year", "level"])
    assert sorted(set(acc.index.get_level_values(0))) == sorted(set(pts["year"]))
    for year, g in pts.groupby("year"):
        xy = list(zip(g.geometry.x, g.geometry.y))
        with rasterio.open(out / f"dominant_species_{year}.tif") as src:
            sp = np.array([v[0] for v in src.sample(xy)], dtype=int)
        with rasterio.open(out / f"leaf_habit_{year}.tif") as src:
            lh = np.array([v[0] for v in src.sample(xy)], dtype=int)
        lab = g["label"].astype(str).to_numpy()
        ref_f = np.where(lab == "nonforest", "nonforest", "forest")
        ref_l = np.where(lab == "nonforest", "nonforest", np.where(np.isin(lab, ["1", "2"]), "evergreen", "deciduous"))
        levels = {  # (map class or None, reference) by hand from the codes
            "forest": (np.where(lh == 255, None, np.where(sp == 0, "nonforest", "forest")), ref_f),
            "leaf_habit": (np.where(lh == 255, None, np.where(sp == 0, "nonforest", np.where(
                lh == 1, "evergreen", np.where(lh == 2, "deciduous", None)))), ref_l),
            "species": (np.where((lh == 255) | (sp == 255), None, np.where(sp == 0, "nonforest", sp.astype(str))), lab)}
        for level, (m, r) in levels.items():
            ok = np.array([v is not None for v in m])
            want = pd.crosstab(pd.Series(m[ok].astype(str), name="map"), pd.Series(r[ok], name="reference"))
            got = conf[(conf["year"] == year) & (conf["level"] == level)].pivot(index="map", columns="reference",
                                                                                 values="count")
            got = got.loc[got.sum(axis=1) > 0, got.sum(axis=0) > 0]
            pd.testing.assert_frame_equal(got.sort_index().sort_index(axis=1), want.sort_index().sort_index(axis=1),
                                          check_names=False, check_dtype=False)
            a = acc.loc[(year, level)]
            n = int(ok.sum())
            assert a["n"] == n and a["n_nodata"] == len(g) - n
            k = int((m[ok].astype(str) == r[ok]).sum())
            assert a["oa"] == pytest.approx(k / n)
            assert a["oa_ci95"] == pytest.approx(1.96 * np.sqrt(k / n * (1 - k / n) / (n - 1)))
    assert (acc["oa"] > 0.9).all()  # the simulator's maps are good at every level (tiny, seed 1)


def test_validation_forest_area_interval_covers_the_truth(project):
    """The area estimates come from the validation points (source), their strata are the written maps' pixel
    counts, and the forest area's 95 % interval covers the true forest area of each validation year (on the
    pixels with a map class; the simulator's truth/forest_type_<year>.tif)."""
    cfg = project
    out = _out(cfg)
    areas = pd.read_csv(out / "area_estimates.csv", dtype={"class": str})
    assert set(areas["source"]) == {"validation"}
    info = json.loads((out / "classify.json").read_text(encoding="utf-8"))
    assert info["area_estimates_source"] == "validation" and info["validation"]["points"] == 1800
    for year in sorted(set(areas["year"])):
        sp = _read(out / f"dominant_species_{year}.tif")
        lh = _read(out / f"leaf_habit_{year}.tif")
        truth = _read(cfg.root / "truth" / f"forest_type_{year}.tif", like=out / f"dominant_species_{year}.tif")
        with rasterio.open(out / f"dominant_species_{year}.tif") as src:
            px_ha = abs(src.transform.a * src.transform.e) / 1e4
        classed = lh != 255
        f = areas[(areas["year"] == year) & (areas["level"] == "forest")].set_index("class")
        assert f.at["forest", "mapped_ha"] == pytest.approx(((sp != 0) & classed).sum() * px_ha)
        assert f.at["nonforest", "mapped_ha"] == pytest.approx((sp == 0).sum() * px_ha)
        true_ha = (((truth > 0) & (truth != 255)) & classed).sum() * px_ha
        est, ci = f.at["forest", "area_ha"], f.at["forest", "area_ci95_ha"]
        print(f"\ntiny seed 1, {year}: forest {est:.2f} +- {ci:.2f} ha, truth {true_ha:.2f} ha")
        assert abs(est - true_ha) <= ci + 1e-6
        lhab = areas[(areas["year"] == year) & (areas["level"] == "leaf_habit")].set_index("class")
        assert lhab.at["evergreen", "mapped_ha"] == pytest.approx(((lh == 1) & (sp != 0)).sum() * px_ha)
        assert lhab.at["deciduous", "mapped_ha"] == pytest.approx(((lh == 2) & (sp != 0)).sum() * px_ha)


def test_downstream_stages_read_the_classified_maps(project):
    cfg = project
    for st in ("units", "features", "model", "map"):
        assert "classify" in STAGES_BY_NAME[st].upstream_for(cfg)
        m = json.loads((cfg.workspace / "outputs" / st / "_manifest.json").read_text())
        assert "classify" in m["upstream"]
    # units: level-1 forest units where the classified base- or end-year map has forest
    l1 = _read(cfg.workspace / "outputs" / "units" / "units_level1.tif")
    f0 = _read(_out(cfg) / f"forest_type_{YEARS[0]}.tif")
    f1 = _read(_out(cfg) / f"forest_type_{YEARS[1]}.tif")
    forest_any = ((f0 > 0) & (f0 != 255)) | ((f1 > 0) & (f1 != 255))
    inside = l1 != 255
    assert ((l1 > 0) <= forest_any)[inside].all()
    # features: radiometric normalisation ran with the classified maps (non-forest pseudo-invariant pixels)
    norm = pd.read_csv(cfg.workspace / "outputs" / "features" / "normalization.csv")
    assert len(norm) and norm["applied"].any()
    for year in cfg.project.years:
        assert (cfg.workspace / "outputs" / "map" / f"agc_{year}.tif").is_file()


def test_report_has_the_classification_section(project):
    rep = project.workspace / "outputs" / "report"
    en = (rep / "report.html").read_text(encoding="utf-8")
    zh = (rep / "report_zh.html").read_text(encoding="utf-8")
    from minecarbon.report.i18n import catalogue

    MESSAGES = {k.removeprefix("classify_section."): v for k, v in catalogue().items()
                if k.startswith("classify_section.")}
    for lang, html in (("en", en), ("zh", zh)):
        for key in ("s_title", "tab_accuracy", "tab_confusion", "legend", "tab_validation"):
            assert MESSAGES[key][lang] in html, (lang, key)
        # the area estimates say they come from the validation points, not the blocked CV
        assert MESSAGES["tab_areas_validation"][lang].split("{year}")[-1] in html, lang
        assert MESSAGES["p_areas_cv"][lang] not in html, lang
        assert "could not be built" not in html and "无法由计算结果生成" not in html
    # the table's blocked forest OA is the stage's number
    acc = pd.read_csv(_out(project) / "accuracy.csv")
    oa = acc[(acc["level"] == "forest") & (acc["scheme"] == "blocked")]["oa"].iloc[0]
    assert f"{100 * oa:.1f}" in en
    # the validation table's OA of the end year's forest level is the stage's number
    va = pd.read_csv(_out(project) / "validation_accuracy.csv").set_index(["year", "level"])
    r = va.loc[(YEARS[1], "forest")]
    assert f"{100 * r['oa']:.1f} ± {100 * r['oa_ci95']:.1f}" in en


def test_report_messages_in_both_languages():
    import re

    from minecarbon.report.i18n import catalogue

    MESSAGES = {k.removeprefix("classify_section."): v for k, v in catalogue().items()
                if k.startswith("classify_section.")}
    assert len(MESSAGES) >= 26  # the section's messages are in the catalogue
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "zh"}, key
        assert set(re.findall(r"{(\w+)}", texts["en"])) == set(re.findall(r"{(\w+)}", texts["zh"])), key


def test_with_given_maps_auto_does_not_classify(project, tmp_path):
    cfg = project.model_copy(update={
        "inputs": project.inputs.model_copy(update={"forest_type": "truth/forest_type_{year}.tif"}),
        "project": project.project.model_copy(update={"workspace": str(tmp_path / "ws")})})
    run_stage(cfg, STAGES_BY_NAME["classify"], lambda m: None, {})
    info = json.loads((tmp_path / "ws" / "outputs" / "classify" / "classify.json").read_text())
    assert info["status"] == "not run"
    assert STAGES_BY_NAME["units"].upstream_for(cfg) == ()


def _bad(project, tmp_path, **classify):
    cfg = project.model_copy(update={
        "classify": project.classify.model_copy(update=classify),
        "project": project.project.model_copy(update={"workspace": str(tmp_path / "ws")})})
    with pytest.raises(InputError) as err:
        run_stage(cfg, STAGES_BY_NAME["classify"], lambda m: None, {})
    return str(err.value)


def _samples_with(project, tmp_path, label=None, point=None) -> str:
    gdf = gpd.read_file(project.root / "inputs" / "reference_samples.gpkg")
    if label is not None:
        gdf.loc[3, "label"] = label
    if point is not None:
        gdf.loc[5, "geometry"] = Point(*point)
    path = tmp_path / "samples.gpkg"
    gdf.to_file(path)
    return str(path)


def test_sample_features_strip_by_strip_equal_one_pass(project, monkeypatch):
    """The samples' features computed one chunk row at a time equal those of one pass over the grid, bit for bit:
    each feature is a function of its own pixel's series and terrain. 32-px chunks (below [run].chunk_px's
    minimum, set past the config's check) give the tiny scene two chunk rows."""
    from minecarbon.inputs.grid import project_grid
    from minecarbon.io import raster
    from minecarbon.pipeline.stages import classify

    cfg = project.model_copy(update={"run": project.run.model_copy(update={"chunk_px": 32})})
    tmpl = project_grid(cfg)[0]
    _, look = classify.species_table(cfg)
    samples = classify._samples(cfg, tmpl, look)
    rows = samples["row"].to_numpy()
    assert len(set(rows // 32)) == 2  # the samples lie in both chunk rows
    monkeypatch.setattr(raster, "STRIP_CHUNKS", None)
    one = classify.sample_features(cfg, samples, tmpl)
    monkeypatch.setattr(raster, "STRIP_CHUNKS", 1)
    per_row = classify.sample_features(cfg, samples, tmpl)
    assert sorted(one) == sorted(per_row) == ["fX", "off", "on", "rvi", "sX"]
    for k in one:
        assert one[k].shape[0] == len(samples) and np.isfinite(one[k]).any()
        np.testing.assert_array_equal(per_row[k], one[k])


def test_bad_input_label_not_in_code_list(project, tmp_path):
    msg = _bad(project, tmp_path, samples=_samples_with(project, tmp_path, label="Ginkgo biloba"))
    assert "Ginkgo biloba" in msg and "feature(s) 4" in msg and "code list" in msg


def test_bad_input_sample_outside_the_images(project, tmp_path):
    msg = _bad(project, tmp_path, samples=_samples_with(project, tmp_path, point=(0.0, 0.0)))
    assert "outside the images" in msg and "sample 6" in msg


def _validation_with(project, tmp_path, **edit) -> str:
    gdf = gpd.read_file(project.root / project.classify.validation)
    for key, v in edit.items():  # "row|column": value
        row, col = key.split("|")
        gdf.loc[int(row), col] = v
    path = tmp_path / "validation.gpkg"
    gdf.to_file(path)
    return str(path)


def test_bad_validation_layer_without_features(project, tmp_path):
    gdf = gpd.read_file(project.root / project.classify.validation).iloc[:0]
    path = tmp_path / "empty.gpkg"
    gdf.to_file(path)
    msg = _bad(project, tmp_path, validation=str(path))
    assert "empty.gpkg" in msg and "no feature" in msg and "[classify].validation" in msg


def test_bad_validation_year_not_classified(project, tmp_path):
    msg = _bad(project, tmp_path, validation=_validation_with(project, tmp_path, **{"2|year": 2030}))
    assert "validation.gpkg" in msg and "feature(s) 3" in msg and "classified year" in msg


def test_bad_validation_label_not_in_code_list(project, tmp_path):
    msg = _bad(project, tmp_path, validation=_validation_with(project, tmp_path, **{"7|label": "Ginkgo biloba"}))
    assert "Ginkgo biloba" in msg and "feature(s) 8" in msg and "code list" in msg and "validation.gpkg" in msg


def test_bad_validation_point_outside_the_grid(project, tmp_path):
    msg = _bad(project, tmp_path, validation=_validation_with(project, tmp_path, **{"4|geometry": Point(0.0, 0.0)}))
    assert "feature(s) 5" in msg and "outside the images' grid" in msg


def test_bad_validation_shares_a_pixel_with_a_training_sample(project, tmp_path):
    """Independence: a validation point on the pixel of a labelled sample of the same year is an error."""
    smp = gpd.read_file(project.root / "inputs" / "reference_samples.gpkg")
    val = gpd.read_file(project.root / project.classify.validation)
    j = int(np.flatnonzero(smp["year"].to_numpy() == val.loc[9, "year"])[0])
    p = smp.geometry.iloc[j]
    msg = _bad(project, tmp_path, validation=_validation_with(
        project, tmp_path, **{"9|geometry": Point(p.x + 3.0, p.y - 3.0)}))  # same pixel, not the same point
    assert "feature(s) 10" in msg and "independent" in msg and f"sample {j + 1}" in msg


def test_bad_input_too_few_samples_for_a_class(project, tmp_path):
    msg = _bad(project, tmp_path, min_per_class=100000)
    assert "Too few usable samples" in msg and "min_per_class" in msg


def test_bad_input_missing_monthly_composite(project, tmp_path):
    msg = _bad(project, tmp_path, series=str(tmp_path / "none" / "LC08_SR_{year}-{month}.tif"))
    assert "12 of the 12 monthly composites of 2012 ([classify].series) do not exist" in msg and "LC08_SR_" in msg
    assert "Also incomplete: 4 more year(s)" in msg


def test_bad_input_unknown_evergreen_species(project, tmp_path):
    msg = _bad(project, tmp_path, evergreen=["Ginkgo"])
    assert "[classify].evergreen" in msg and "Ginkgo" in msg


def test_config_without_maps_needs_series_and_samples(project, tmp_path):
    text = (project.root / "minecarbon.toml").read_text(encoding="utf-8")
    cut = text.split("[classify]")[0]
    p = tmp_path / "p.toml"
    p.write_text(cut.replace('"inputs/', f'"{project.root}/inputs/'), encoding="utf-8")
    from minecarbon.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[classify\].series"):
        load_config(p)


def test_models_per_dominant_species_group(project, tmp_path):
    """[model].groups = "species": the plots' groups are the classified species at the plots, the map stage uses
    the species maps, the card names species."""
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(project.workspace, ws)
    cfg = project.model_copy(update={
        "project": project.project.model_copy(update={"workspace": str(ws)}),
        "model": project.model.model_copy(update={"groups": "species", "min_plots_per_type": 5})})
    assert "classify" in STAGES_BY_NAME["model"].upstream_for(cfg)
    run_pipeline(cfg, ["model", "map"], force=True)
    tab = pd.read_csv(ws / "outputs" / "model" / "training_table.csv")
    for year, g in tab.groupby("survey_year"):
        path = ws / "outputs" / "classify" / f"dominant_species_{year}.tif"
        with rasterio.open(path) as src:
            vals = np.array([v[0] for v in src.sample(zip(g["x"], g["y"]))])
        assert (g["forest_type"].to_numpy() == vals).all()
    card = json.loads((ws / "outputs" / "model" / "model_card.json").read_text(encoding="utf-8"))
    latin = set(pd.read_csv(project.root / "inputs" / "species_codes.csv", encoding="utf-8-sig")["name_latin"])
    assert {t["name"] for t in card["types"]} <= latin | {"nonforest", "255"}
    val = pd.read_csv(ws / "outputs" / "map" / "map_validation.csv") if (
        ws / "outputs" / "map" / "map_validation.csv").exists() else None
    if val is not None:
        assert set(val["forest_type"]) - {"all"} <= latin | {"nonforest", "255"}
