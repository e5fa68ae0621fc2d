"""Issue 13: check and run agree by construction.

Every declared input's bad cases are fed to ``minecarbon check`` (through
:func:`minecarbon.check.check_project` on a whole project) and to the reader
the stages use (``spec.read``); both must name the same problems (where,
message, severity).  The three disagreements of the issue are tested by name.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from minecarbon.check import check_project
from minecarbon.config import load_config
from minecarbon.errors import ConfigError, InputError, MinecarbonWarning, Problem
from minecarbon.inputs import DISTURBANCE, INPUTS, PLANNED, PLOT_SHEET, RECLAMATION, TREE_SHEET
from minecarbon.project.readers import read_plot_sheet
from minecarbon.plots import validate_trees
from test_check import CRS, PLOTS, PROJECT_TOML, TREES, build_project


def _key(p: Problem) -> tuple[str, str, str]:
    return p.where, p.message, p.severity


def _check(toml: Path, file: str) -> list[tuple[str, str, str]]:
    """The problems check reports for one input file (cross-file ones left out: they are not the spec's)."""
    cross = ("allometry table", "carbon fraction", "monitoring area", "fitted range", "AGC model needs")
    return sorted(_key(p) for p in check_project(toml) if p.file == file and not any(c in p.message for c in cross))


def _run(read) -> list[tuple[str, str, str]]:
    """The problems the run-time reader raises (errors) or warns (warnings)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        try:
            read()
        except InputError as exc:
            assert exc.problems, "the run-time error carries its problems"
            return sorted(_key(p) for p in exc.problems)
    return sorted(("warning", str(w.message), "warning") for w in caught if issubclass(w.category, MinecarbonWarning))


TREE_CASES = {
    "dbh not positive and missing": {"dbh_cm": ["12.5", "", "8.3", "-1", "30.2", "25"]},
    "dbh in metres": {"dbh_cm": ["0.125", "0.2", "0.083", "0.15", "0.3", "0.25"]},
    "dbh in millimetres": {"dbh_cm": ["125", "201", "183", "150", "302", "250"]},
    "dbh absurd": {"dbh_cm": ["12.5", "20.1", "8.3", "450", "30.2", "25"]},
    "dbh not a number": {"dbh_cm": ["12.5", "x", "8.3", "15", "30.2", "25"]},
    "height below breast height and absurd": {"height_m": ["8", "1.2", "5.2", "9", "95", "16.5"]},
    "height in decimetres": {"height_m": ["80", "115", "52", "90", "140", "165"]},
    "species empty": {"species": ["油松", "", "侧柏", "刺槐", "油松", "杨树"]},
    "duplicate tree": {"tree_id": ["1", "1", "1", "2", "1", "2"]},
    "unknown plot": {"plot_id": ["P1", "P1", "P2", "P99", "P3", "P3"]},
    "wood density out of range": {"wood_density": ["0.5", "0.6", "", "2.4", "0.5", "0.01"]},
    "missing column": {"height_m": None},
}


@pytest.mark.parametrize("case", list(TREE_CASES))
def test_tree_sheet_bad_cases_same_in_check_and_run(tmp_path: Path, case: str) -> None:
    toml = build_project(tmp_path)
    trees = TREES.astype(str)
    for col, vals in TREE_CASES[case].items():
        trees = trees.drop(columns=col) if vals is None else trees.assign(**{col: vals})
    path = tmp_path / "inputs" / "field" / "trees.csv"
    trees.to_csv(path, index=False)
    cfg = load_config(toml)
    ids = set(PLOTS["plot_id"])
    in_check = _check(toml, "inputs/field/trees.csv")
    at_run = _run(lambda: TREE_SHEET.read(path, "inputs/field/trees.csv", plot_ids=ids,
                                          plot_sheet="inputs/field/plots.csv"))
    assert in_check and in_check == at_run
    assert cfg  # the project itself is valid
    # the stage's tree reader and the file-in/file-out tool's validate_trees apply the same rules
    if any(s == "error" for *_, s in at_run):
        with pytest.raises(InputError) as exc:
            validate_trees(pd.read_csv(path, keep_default_na=True), PLOTS, "inputs/field/trees.csv")
        assert {p.where for p in exc.value.problems} == {w for w, _, s in at_run if s == "error"}


PLOT_CASES = {
    "duplicate id and empty id": {"plot_id": ["P1", "P2", "P2", "", "P5", "P6", "P7", "P8", "P9", "P10"]},
    "survey year outside the period": {"survey_year": ["2020", "2020", "2005", "2020", "2020", "2019", "2019",
                                                       "2018", "x", "2020"]},
    "size not positive": {"size_m": ["30", "0", "20", "30", "-5", "30", "30", "30", "30", "30"]},
    "slope in percent": {"slope_deg": ["5", "120", "20", "3", "0", "8", "11", "2.5", "7", "15"]},
    "degrees for metres": {"x": ["111.0"] + [str(v) for v in PLOTS["x"][1:]],
                           "y": ["36.1"] + [str(v) for v in PLOTS["y"][1:]]},
    "unknown forest type code": {"forest_type": ["1", "2", "", "7", "pine", "3", "4", "0", "1", "2"]},
    "missing column": {"size_m": None},
}


@pytest.mark.parametrize("case", list(PLOT_CASES))
def test_plot_sheet_bad_cases_same_in_check_and_run(tmp_path: Path, case: str) -> None:
    toml = build_project(tmp_path)
    plots = PLOTS.astype(str)
    for col, vals in PLOT_CASES[case].items():
        plots = plots.drop(columns=col) if vals is None else plots.assign(**{col: vals})
    path = tmp_path / "inputs" / "field" / "plots.csv"
    plots.to_csv(path, index=False)
    cfg = load_config(toml)
    in_check = _check(toml, "inputs/field/plots.csv")
    at_run = _run(lambda: PLOT_SHEET.read(path, "inputs/field/plots.csv", cfg=cfg))
    assert in_check and in_check == at_run
    with pytest.raises(InputError) as exc:  # the plots stage's reader
        read_plot_sheet(cfg)
    assert sorted(_key(replace(p, file="")) for p in exc.value.problems) == at_run


LAYER_CASES = {
    DISTURBANCE.key: ({"year": [2019, 2030], "damage_type": ["excavation", "landslide"]}, "disturbance.gpkg"),
    PLANNED.key: ({"planned_year": [2022.5], "damage_type": ["flood"]}, "planned.gpkg"),
    RECLAMATION.key: ({"year": [None]}, "reclamation.gpkg"),
}


@pytest.mark.parametrize("key", list(LAYER_CASES))
def test_layer_bad_cases_same_in_check_and_run(tmp_path: Path, key: str) -> None:
    toml = build_project(tmp_path)
    attrs, name = LAYER_CASES[key]
    n = len(next(iter(attrs.values())))
    path = tmp_path / "inputs" / name
    geoms = [box(500100 + 100 * i, 4000100, 500200 + 100 * i, 4000200) for i in range(n)]
    gpd.GeoDataFrame(attrs, geometry=geoms, crs=CRS).to_file(path, driver="GPKG", engine="pyogrio")
    cfg = load_config(toml)
    file = f"inputs/{name}"
    in_check = _check(toml, file)
    at_run = _run(lambda: INPUTS[key].read(path, file=file, cfg=cfg))
    assert in_check and in_check == at_run


def test_every_declared_input_is_a_key_of_the_project_file() -> None:
    from minecarbon.config import ProjectConfig

    for key in INPUTS:
        section, name = key.split(".")
        model = ProjectConfig.model_fields[section].annotation
        assert name in model.model_fields, key


# ---------------------------------------------------------------------------
# the three disagreements of issue 13
# ---------------------------------------------------------------------------
def test_dbh_between_1_and_1_5_cm_passes_check_and_run(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    trees = TREES.assign(dbh_cm=[1.0, 1.2, 1.5, 1.1, 1.3, 1.4], height_m=[1.6, 1.8, 2.0, 1.7, 1.9, 2.1])
    path = tmp_path / "inputs" / "field" / "trees.csv"
    trees.to_csv(path, index=False)
    assert _check(toml, "inputs/field/trees.csv") == []
    got = validate_trees(pd.read_csv(path), PLOTS, str(path))
    assert got["dbh_cm"].tolist() == [1.0, 1.2, 1.5, 1.1, 1.3, 1.4]
    # DBH all below 1 cm: metres, for both
    trees.assign(dbh_cm=[0.1, 0.2, 0.15, 0.12, 0.3, 0.25]).to_csv(path, index=False)
    assert [m for _, m, _ in _check(toml, "inputs/field/trees.csv")] == [
        "every DBH is below 1 cm (median 0.175); the values look like metres"]
    with pytest.raises(InputError, match="look like metres"):
        validate_trees(pd.read_csv(path), PLOTS, str(path))


def test_reclamation_layer_without_species_passes_check_and_run(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    path = tmp_path / "inputs" / "reclamation.gpkg"
    gpd.GeoDataFrame({"year": [2020]}, geometry=[box(500100, 4000100, 500200, 4000200)], crs=CRS).to_file(
        path, driver="GPKG", engine="pyogrio")
    assert _check(toml, "inputs/reclamation.gpkg") == []
    assert len(RECLAMATION.read(path, cfg=load_config(toml))) == 1


def test_settings_rules_are_enforced_by_load_config(tmp_path: Path) -> None:
    """run loads the project with load_config: the reference year must be before the comparison year."""
    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML + "\n[assess]\nreference_year = 2020\ncompare_year = 2019\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(toml)
    assert [p.where for p in exc.value.problems] == ["[assess]"]
    assert "reference year 2020 is not before the comparison year 2019" in exc.value.problems[0].message
    # check lists the same problem, with the inputs' problems
    found = [p for p in check_project(toml) if p.where == "[assess]"]
    assert [(p.message, p.fix) for p in found] == [(q.message, q.fix) for q in exc.value.problems]
    # and the CLI's run stops with exit 2 before any stage
    from click.testing import CliRunner

    from minecarbon.cli.main import main

    res = CliRunner().invoke(main, ["run", str(toml)])
    assert res.exit_code == 2 and "not before the comparison year" in res.output
    assert not (tmp_path / "workspace" / "outputs").exists()


def test_schema_errors_carry_their_location(tmp_path: Path) -> None:
    toml = build_project(tmp_path)
    toml.write_text(PROJECT_TOML.replace("cv_block_m = 300", "cv_block_m = 300\ncv_folds = 1"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(toml)
    assert [p.where for p in exc.value.problems] == ["[model].cv_folds"]
    assert exc.value.problems[0].file == str(toml)
