"""``minecarbon check`` reads the labelled layers of ``[classify]`` with the classify stage's rules.

The project is the hand-made one of ``test_check`` plus a ``[classify]`` section (``run = "always"``): a code
list, labelled samples and validation points. Each broken layer gives one problem whose text is the stage's
error (the readers of ``pipeline.stages.classify`` raise it), and ``minecarbon check`` exits 2 without a
traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point
from test_check import CRS, build_project, format_problems, write_gpkg

from minecarbon.check import check_project
from minecarbon.cli.main import main
from minecarbon.config import load_config
from minecarbon.errors import InputError

CLASSIFY = """
[classify]
run = "always"
series = "inputs/series/sr_{year}-{month}.tif"
samples = "inputs/samples.gpkg"
validation = "inputs/validation.gpkg"
species_codes = "inputs/species_codes.csv"
evergreen = ["油松"]
min_per_class = 2
"""

CODES = pd.DataFrame({"code": [1, 2, 3, 4], "name_zh": ["油松", "侧柏", "刺槐", "杨树"],
                      "name_latin": ["Pinus tabuliformis", "Platycladus orientalis", "Robinia pseudoacacia",
                                     "Populus"]})


def _points(xy, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x, y in xy], crs=CRS)


def classify_project(root: Path, samples: gpd.GeoDataFrame | None = None,
                     validation: gpd.GeoDataFrame | None = None) -> Path:
    toml = build_project(root)
    toml.write_text(toml.read_text(encoding="utf-8") + CLASSIFY, encoding="utf-8")
    CODES.to_csv(root / "inputs" / "species_codes.csv", index=False, encoding="utf-8-sig")
    (root / "inputs" / "series").mkdir()
    for y in (2018, 2019, 2020):  # the monthly composites: the year's image for every month
        for m in range(1, 13):
            shutil.copy(root / "inputs" / "images" / f"sr_{y}.tif", root / "inputs" / "series" / f"sr_{y}-{m:02d}.tif")
    if samples is None:
        samples = _points([(500150.0, 4000150.0), (500450.0, 4000450.0), (500750.0, 4000750.0)],
                          year=[2018, 2019, 2020], label=["油松", "Robinia pseudoacacia", "nonforest"])
    if validation is None:
        validation = _points([(500620.0, 4000280.0), (500280.0, 4000620.0)], year=[2019, 2020], label=["2", "杨树"])
    write_gpkg(root / "inputs" / "samples.gpkg", samples)
    write_gpkg(root / "inputs" / "validation.gpkg", validation)
    return toml


def _stage_error(toml: Path, which: str) -> str:
    """The classify stage's error: its readers of the samples (and plots) and of the validation points."""
    from minecarbon.inputs.grid import project_grid
    from minecarbon.pipeline.stages import classify

    cfg = load_config(toml)
    tmpl = project_grid(cfg)[0]
    _, look = classify.species_table(cfg)
    with pytest.raises(InputError) as err:
        samples = classify._samples(cfg, tmpl, look)
        if which == "validation":
            classify._validation(cfg, tmpl, look, samples)
    return str(err.value)


def _the_problem(toml: Path, file: str):
    problems = check_project(toml)
    assert len(problems) == 1, format_problems(problems)
    p = problems[0]
    assert p.file == file and p.is_error and p.stage == "classify"
    return p


def _cli_reports(toml: Path, *texts: str) -> None:
    res = CliRunner().invoke(main, ["check", str(toml)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    flat = " ".join(res.output.split())
    for t in texts:
        assert t in flat, (t, res.output)


def test_valid_classify_inputs_have_no_problems(tmp_path):
    toml = classify_project(tmp_path)
    problems = check_project(toml)
    assert problems == [], format_problems(problems)


def test_samples_without_label(tmp_path):
    toml = classify_project(tmp_path, samples=_points([(500150.0, 4000150.0)], year=[2018]))
    p = _the_problem(toml, "inputs/samples.gpkg")
    stage = _stage_error(toml, "samples")
    assert p.message == stage
    assert "lacks attribute(s) label" in stage and "samples.gpkg" in stage
    _cli_reports(toml, "lacks attribute(s) label", "[classify].samples")


def test_validation_label_not_in_code_list(tmp_path):
    val = _points([(500620.0, 4000280.0), (500280.0, 4000620.0)], year=[2019, 2020], label=["2", "Ginkgo biloba"])
    toml = classify_project(tmp_path, validation=val)
    p = _the_problem(toml, "inputs/validation.gpkg")
    stage = _stage_error(toml, "validation")
    assert f"{p.message} {p.fix}" == stage
    assert "Ginkgo biloba" in p.message and "feature(s) 2" in p.message and "code list" in p.message
    assert p.where == "feature(s) 2, attribute label"
    _cli_reports(toml, "label(s) Ginkgo biloba (feature(s) 2) are not in the species code list",
                 "Fix the labels or add the species to the list")


def test_sample_year_outside_the_project_years(tmp_path):
    smp = _points([(500150.0, 4000150.0), (500450.0, 4000450.0), (500750.0, 4000750.0)],
                  year=[2018, 2030, 2020], label=["油松", "刺槐", "nonforest"])
    toml = classify_project(tmp_path, samples=smp)
    p = _the_problem(toml, "inputs/samples.gpkg")
    stage = _stage_error(toml, "samples")
    assert f"{p.message} {p.fix}" == stage
    assert "'year' is not a project year (2018-2020) on feature(s) 2" in p.message
    _cli_reports(toml, "'year' is not a project year (2018-2020) on feature(s) 2", "Correct them")


def test_validation_year_not_classified_and_point_outside_the_grid(tmp_path):
    """The validation rules in their order (year first); then, years fixed, a point off the images' grid."""
    val = _points([(500620.0, 4000280.0), (500280.0, 4000620.0)], year=[2019, 2017], label=["2", "杨树"])
    toml = classify_project(tmp_path, validation=val)
    p = _the_problem(toml, "inputs/validation.gpkg")
    assert f"{p.message} {p.fix}" == _stage_error(toml, "validation")
    assert "'year' is not a classified year" in p.message and "feature(s) 2" in p.message
    val = _points([(500620.0, 4000280.0), (0.0, 0.0)], year=[2019, 2020], label=["2", "杨树"])
    write_gpkg(tmp_path / "inputs" / "validation.gpkg", val)
    p = _the_problem(toml, "inputs/validation.gpkg")
    assert f"{p.message} {p.fix}" == _stage_error(toml, "validation")
    assert "feature(s) 2 lie outside the images' grid" in p.message


def test_not_classifying_skips_the_layers(tmp_path):
    """With forest-type maps given and run = "auto", the stage reads no labelled layer: check leaves them."""
    toml = classify_project(tmp_path, samples=_points([(500150.0, 4000150.0)], year=[2018]))
    toml.write_text(toml.read_text(encoding="utf-8").replace('run = "always"', 'run = "auto"'), encoding="utf-8")
    assert check_project(toml) == []


def test_missing_monthly_composites_named_by_check_and_by_the_stage_before_it_samples(tmp_path):
    """Two months of 2019 missing: ``check`` names the year and the months (one problem), the classify stage raises
    the same problem before its sampling; a year left out of ``[classify].years`` needs no composites."""
    from minecarbon.errors import MissingInputError
    from minecarbon.pipeline.stages import classify

    toml = classify_project(tmp_path)
    for m in (3, 11):
        (tmp_path / "inputs" / "series" / f"sr_2019-{m:02d}.tif").unlink()
    p = _the_problem(toml, "inputs/series/sr_2019-03.tif")
    assert p.code == "missing-file" and p.where == "(file)"
    assert p.message == "2 of the 12 monthly composites of 2019 ([classify].series) do not exist: month(s) 03, 11"
    _cli_reports(toml, "monthly composites of 2019 ([classify].series) do not exist: month(s) 03, 11",
                 "Provide all 12 months of every classified year")
    cfg = load_config(toml)
    with pytest.raises(MissingInputError, match=r"month\(s\) 03, 11") as err:
        classify._require_series(cfg, classify.classified_years(cfg))
    assert [q.message for q in err.value.problems] == [p.message]
    classify._require_series(cfg, [2018, 2020])  # the other years are complete
    toml.write_text(toml.read_text(encoding="utf-8").replace('run = "always"', 'run = "always"\nyears = [2018, 2020]'),
                    encoding="utf-8")
    problems = check_project(toml)  # (2019's validation point and sample now have problems of their own)
    assert problems and not [q for q in problems if q.file.startswith("inputs/series/")], format_problems(problems)


def test_monthly_composite_without_crs_is_named(tmp_path):
    """A monthly composite is opened by ``check`` like the yearly images: no CRS is a problem of that file."""
    import rasterio

    toml = classify_project(tmp_path)
    bad = tmp_path / "inputs" / "series" / "sr_2020-07.tif"
    with rasterio.open(bad) as src:
        data, profile = src.read(), {**src.profile, "crs": None}
    with rasterio.open(bad, "w", **profile) as dst:
        dst.write(data)
    problems = [q for q in check_project(toml) if q.file == "inputs/series/sr_2020-07.tif"]
    assert len(problems) == 1 and problems[0].is_error
    assert problems[0].message == "the monthly composite 2020-07 has no CRS"


def test_too_few_samples_per_class_named_by_check_as_the_stage_says(tmp_path):
    """The hand-made project trains on its 10 plots and 3 samples; with min_per_class = 4 two classes are short:
    ``check`` says so before a run, in the stage's words (:func:`~minecarbon.inputs.samples.too_few_samples`)."""
    from minecarbon.inputs.grid import project_grid
    from minecarbon.inputs.samples import evergreen_labels, too_few_samples, training_samples
    from minecarbon.pipeline.stages import classify

    toml = classify_project(tmp_path)
    toml.write_text(toml.read_text(encoding="utf-8").replace("min_per_class = 2", "min_per_class = 4"),
                    encoding="utf-8")
    cfg = load_config(toml)
    _, look = classify.species_table(cfg)
    labels = training_samples(cfg, project_grid(cfg)[0], look)["label"].to_numpy(str)
    counts = {k: int((labels == k).sum()) for k in set(labels)}
    short = {k: v for k, v in counts.items() if v < 4}
    assert short and len(labels) == 13  # 10 plots + 3 samples
    p = _the_problem(toml, "inputs/samples.gpkg")
    assert (p.message, p.fix) == too_few_samples(cfg, labels, evergreen_labels(cfg, look))
    assert p.message.startswith("Too few usable samples per class for the classification: ")
    for k, v in short.items():
        assert f"{k} ({v})" in p.message
    _cli_reports(toml, "Too few usable samples per class", "(at least 4 per class, [classify].min_per_class")


def test_evergreen_not_in_the_code_list_named_by_check(tmp_path):
    toml = classify_project(tmp_path)
    toml.write_text(toml.read_text(encoding="utf-8").replace('evergreen = ["油松"]', 'evergreen = ["Ginkgo"]'),
                    encoding="utf-8")
    p = _the_problem(toml, str(toml))
    assert p.where == "[classify].evergreen" and "'Ginkgo' is not a species of the code list" in p.message
