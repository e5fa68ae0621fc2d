"""The labelled point layers of ``[classify]``, declared once: ``[classify].samples`` and ``[classify].validation``.

Both need the attributes ``year`` and ``label``:

* ``year``: a project year (samples; those of years outside ``[classify].years`` are left out, logged) or a
  classified year (validation points);
* ``label``: a species of ``[classify].species_codes`` by code, Chinese or Latin name (validation points also
  by genus, 'Populus spp.'), or ``nonforest``;
* every kept point inside the images' grid (:func:`minecarbon.inputs.grid.project_grid`); a validation layer
  holds at least one point.

:func:`labelled_points` reads a layer with these rules or raises :class:`~minecarbon.errors.InputError` naming
the file, the feature numbers and the fix (its ``problems`` hold the same text as a
:class:`~minecarbon.errors.Problem`); the classify stage reads the layers with it and ``minecarbon check``
lists its problems, so ``check`` and ``run`` agree by construction.  What needs the plots as well (a validation
point on the pixel of a training sample or plot) stays in the stage.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import ProjectConfig
from ..errors import InputError, Problem

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = ["LABELLED_LAYERS", "NONFOREST", "classified_years", "classify_enabled", "genus_alias",
           "labelled_points", "rowcol", "species_table", "too_few_samples", "training_samples",
           "evergreen_labels"]

log = logging.getLogger("minecarbon.pipeline.stages.classify")

NONFOREST = "nonforest"

LABELLED_LAYERS = {"samples": ("classify.samples", "labelled samples ([classify].samples)"),
                   "validation": ("classify.validation", "validation points ([classify].validation)")}
"""The labelled layers by name: (config key, name in messages)."""


def classify_enabled(cfg: ProjectConfig) -> bool:
    """True when the classify stage classifies (no forest-type maps given, ``[classify].run = "always"``, or
    model groups by dominant species)."""
    return not cfg.inputs.forest_type or cfg.classify.run == "always" or cfg.model.groups == "species"


def classified_years(cfg: ProjectConfig) -> list[int]:
    """The years the classify stage classifies: ``[classify].years``, default every project year."""
    return sorted(cfg.classify.years) if cfg.classify.years is not None else list(cfg.project.years)


def species_table(cfg: ProjectConfig) -> tuple[pd.DataFrame, dict[str, str]]:
    """The species code list and a lookup (code, Chinese and Latin name, 'nonforest') -> label."""
    from ..io import read_table

    path = cfg.path(cfg.classify.species_codes) if cfg.classify.species_codes else None
    if path is None:
        raise InputError("[classify].species_codes is not set: give the CSV of dominant species (code, name_zh, "
                         "name_latin) whose codes the species maps use.")
    tab = read_table(path, ("code",), what="species code list")
    codes = pd.to_numeric(tab["code"], errors="coerce")
    bad = codes.isna() | (codes < 1) | (codes > 254) | (codes != codes.round())
    if bad.any():
        raise InputError(f"Species code list {path}: code is not an integer 1-254 on line(s) "
                         f"{', '.join(str(i + 2) for i in np.flatnonzero(bad))}. Correct these rows.")
    tab["code"] = codes.astype(int)
    look = {"nonforest": NONFOREST, "0": NONFOREST, "非林地": NONFOREST}
    for r in tab.itertuples(index=False):
        for col in ("code", "name_zh", "name_latin"):
            v = getattr(r, col, None)
            if v is not None and not (isinstance(v, float) and np.isnan(v)):
                look[str(v).strip()] = str(int(r.code))
    return tab, look


def genus_alias(name: str, look: dict[str, str]) -> str:
    """A genus-level name ('Populus spp.', 'Populus sp.') matches the code list's genus ('Populus')."""
    if name in look:
        return name
    for suffix in (" spp.", " spp", " sp.", " sp"):
        if name.endswith(suffix) and name[: -len(suffix)].strip() in look:
            return name[: -len(suffix)].strip()
    return name


def rowcol(tmpl: "xr.DataArray", x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of points on a grid."""
    t = tmpl.rio.transform()
    col = np.floor((x - t.c) / t.a).astype(int)
    row = np.floor((y - t.f) / t.e).astype(int)
    return row, col


def on_grid(cfg: ProjectConfig, df: pd.DataFrame, grid: Any) -> tuple[pd.DataFrame, pd.Series]:
    """Samples (columns year, x, y) of the classified years (others left out, logged), with their ``row`` and
    ``col`` on ``grid``, and the mask of those outside it."""
    if cfg.classify.years is not None:
        keep = df["year"].isin(classified_years(cfg))
        if not keep.all():
            log.info("classify: %d samples of years outside [classify].years left out", int((~keep).sum()))
        df = df[keep].reset_index(drop=True)
    df["row"], df["col"] = rowcol(grid, df["x"].to_numpy(), df["y"].to_numpy())
    h, w = grid.shape[-2:]
    return df, ~(df["row"].between(0, h - 1) & df["col"].between(0, w - 1))


def feature_numbers(mask: np.ndarray) -> str:
    """The 1-based numbers of the features where ``mask`` is true, the first ten (and how many in all)."""
    idx = np.flatnonzero(mask)
    return ", ".join(str(i + 1) for i in idx[:10]) + (f" ... ({len(idx)} in all)" if len(idx) > 10 else "")


def _fail(path: Path, where: str, message: str, fix: str) -> None:
    """Raise the :class:`InputError` of one problem: its text is the message and the fix."""
    raise InputError(f"{message} {fix}", problems=[Problem(str(path), where, message, fix)])


def labelled_points(cfg: ProjectConfig, which: str, grid: "xr.DataArray | None" = None,
                    look: dict[str, str] | None = None) -> pd.DataFrame | None:
    """Read ``[classify].samples`` (``which="samples"``) or ``[classify].validation`` with their rules.

    Parameters
    ----------
    cfg : ProjectConfig
    which : {"samples", "validation"}
    grid : DataArray, optional
        The project grid (default :func:`minecarbon.inputs.grid.project_grid`).
    look : dict, optional
        The species lookup of :func:`species_table` (default: read it).

    Returns
    -------
    DataFrame or None
        None when the layer is not set. Samples: source ('samples'), id ('sample N'), year, x, y, label
        (species code as text or 'nonforest'), forest_type (NaN), row, col; of the classified years only.
        Validation points: id ('feature N'), year, x, y, label, row, col.

    Raises
    ------
    InputError
        Naming the file, the feature numbers and the fix; ``problems`` holds the same text.
    """
    key, what = LABELLED_LAYERS[which]
    value = cfg.classify.samples if which == "samples" else cfg.classify.validation
    if not value:
        return None
    path = cfg.path(value)
    if grid is None:
        from .grid import project_grid

        grid = project_grid(cfg)[0]
    if look is None:
        look = species_table(cfg)[1]
    from ..io import read_vector

    lay = read_vector(path, what=what, target_crs=grid.rio.crs, required=("year", "label"))
    h, w = grid.shape[-2:]
    if which == "samples":
        years = set(cfg.project.years)
        cols = ["source", "id", "year", "x", "y", "label", "forest_type"]
        if not len(lay):
            return pd.DataFrame({c: [] for c in cols + ["row", "col"]})
        pts = lay.geometry.representative_point()
        yr = pd.to_numeric(lay["year"], errors="coerce")
        bad = yr.isna() | ~yr.isin(list(years))
        if bad.any():
            _fail(path, f"feature(s) {', '.join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:10])}, "
                  "attribute year",
                  f"Labelled samples {path}: 'year' is not a project year "
                  f"({cfg.project.start_year}-{cfg.project.end_year}) on feature(s) "
                  f"{', '.join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:10])}.", "Correct them.")
        lab = lay["label"].astype(str).str.strip()
        lab = lab.str.replace(r"\.0$", "", regex=True)
        off = ~lab.isin(list(look))
        if off.any():
            feats = ', '.join(str(i + 1) for i in np.flatnonzero(off.to_numpy())[:10])
            _fail(path, f"feature(s) {feats}, attribute label",
                  f"Labelled samples {path}: label(s) {', '.join(sorted(set(lab[off]))[:10])} (feature(s) "
                  f"{feats}) are not in the species code list {cfg.classify.species_codes} nor 'nonforest'.",
                  "Fix the labels or add the species to the list.")
        df = pd.DataFrame({"source": "samples", "id": [f"sample {i + 1}" for i in range(len(lay))],
                           "year": yr.to_numpy(int), "x": pts.x.to_numpy(), "y": pts.y.to_numpy(),
                           "label": [look[v] for v in lab], "forest_type": np.nan})
        df, out = on_grid(cfg, df, grid)
        if out.any():
            _fail(path, f"feature(s) {', '.join(df.loc[out, 'id'].str.replace('sample ', ''))[:300]}",
                  *outside_grid_text(df[out]))
        return df

    if not len(lay):
        _fail(path, "(file)", f"Validation points {path} ([classify].validation) hold no feature.",
              "Give the points of a random sample of the monitoring area, or remove [classify].validation.")
    years = classified_years(cfg)
    yr = pd.to_numeric(lay["year"], errors="coerce")
    bad = (yr.isna() | ~yr.isin(years)).to_numpy()
    if bad.any():
        _fail(path, f"feature(s) {feature_numbers(bad)}, attribute year",
              f"Validation points {path}: 'year' is not a classified year ({', '.join(map(str, years))}; "
              f"[classify].years or the project years) on feature(s) {feature_numbers(bad)}.",
              "Correct the years, drop these points, or classify their years.")
    lab = lay["label"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    lab = lab.map(lambda v: genus_alias(v, look))
    off = (~lab.isin(list(look))).to_numpy()
    if off.any():
        _fail(path, f"feature(s) {feature_numbers(off)}, attribute label",
              f"Validation points {path}: label(s) {', '.join(sorted(set(lab[off]))[:10])} (feature(s) "
              f"{feature_numbers(off)}) are not in the species code list {cfg.classify.species_codes} nor 'nonforest'.",
              "Fix the labels or add the species to the list.")
    pts = lay.geometry.representative_point()
    df = pd.DataFrame({"id": [f"feature {i + 1}" for i in range(len(lay))], "year": yr.to_numpy(int),
                       "x": pts.x.to_numpy(), "y": pts.y.to_numpy(), "label": [look[v] for v in lab]})
    df["row"], df["col"] = rowcol(grid, df["x"].to_numpy(), df["y"].to_numpy())
    out = (~(df["row"].between(0, h - 1) & df["col"].between(0, w - 1))).to_numpy()
    if out.any():
        _fail(path, f"feature(s) {feature_numbers(out)}",
              f"Validation points {path}: feature(s) {feature_numbers(out)} lie outside the images' grid (the "
              f"monitoring area).", "Check their coordinates and CRS, or drop them.")
    return df


def outside_grid_text(out: pd.DataFrame) -> tuple[str, str]:
    """(message, fix) for samples (columns source, id) outside the images' grid."""
    ids = ", ".join(f"{s} {i}" for s, i in zip(out["source"], out["id"]))
    return (f"{len(out)} sample(s) lie outside the images' grid (the monitoring area): {ids[:400]}.",
            "Check their coordinates and CRS, or drop them.")


def labelled_problems(cfg: ProjectConfig, which: str, grid: Any = None, look: dict[str, str] | None = None
                      ) -> list[Problem]:
    """The problems of a labelled layer (empty when it reads): what ``check`` lists, never raising an
    :class:`InputError` (other exceptions propagate to the caller's guard)."""
    try:
        labelled_points(cfg, which, grid, look)
    except InputError as exc:
        path = cfg.path(cfg.classify.samples if which == "samples" else cfg.classify.validation)
        return list(exc.problems) or [Problem(str(path), "(file)", str(exc), "Correct the layer (what it must "
                                              "hold: docs/check.md, '[classify]').")]
    return []


def evergreen_labels(cfg: ProjectConfig, look: dict[str, str]) -> set[str]:
    """The labels of ``[classify].evergreen`` (codes or names of the code list); :class:`InputError` for a name
    not in the list or an empty list."""
    c = cfg.classify
    evergreen = set()
    for e in c.evergreen:
        if str(e).strip() not in look or look[str(e).strip()] == NONFOREST:
            raise InputError(f"[classify].evergreen: {e!r} is not a species of the code list {c.species_codes}.")
        evergreen.add(look[str(e).strip()])
    if not evergreen:
        raise InputError("[classify].evergreen is empty: list the evergreen species (codes or names) of the code "
                         "list; the leaf-habit level splits the forest by it.")
    return evergreen


def training_samples(cfg: ProjectConfig, tmpl: "xr.DataArray", look: dict[str, str]) -> pd.DataFrame:
    """The classify stage's training samples: the plots (label: the dominant species of their trees, 'nonforest'
    for a plot without trees) and the points of ``[classify].samples`` (:func:`labelled_points`).

    Returns source ('plots' or 'samples'), id, year, x, y, label (species code as text or 'nonforest'),
    forest_type (the plot sheet's, when given), row, col. Samples of years outside ``[classify].years`` (when set)
    are left out (logged). Raises :class:`InputError`: a plot's dominant species not in the code list, a plot
    outside the images' grid, a broken samples layer.
    """
    from ..io import read_table
    from ..plots import dominant_species
    from ..project.readers import read_plot_sheet

    sheet = read_plot_sheet(cfg)
    tpath = cfg.path(cfg.inputs.trees)
    trees = read_table(tpath, ("plot_id", "species", "dbh_cm"), what="tree table")
    trees["plot_id"] = trees["plot_id"].astype(str).str.strip()
    by_plot = dict(list(trees.groupby("plot_id")))
    dom = [dominant_species(by_plot.get(pid)) for pid in sheet["plot_id"]]
    raw = [NONFOREST if d is None else genus_alias(d, look) for d in dom]
    unknown = sorted({r for r in raw if r not in look})
    if unknown:
        raise InputError(f"Tree table {tpath}: dominant species {', '.join(unknown)} of some plots are not in the "
                         f"species code list {cfg.classify.species_codes}. Add them to the list (code, name_zh, "
                         f"name_latin) or correct the species names.")
    plots = pd.DataFrame({"source": "plots", "id": sheet["plot_id"].to_numpy(),
                          "year": sheet["survey_year"].to_numpy(int), "x": sheet["x"].to_numpy(float),
                          "y": sheet["y"].to_numpy(float), "label": [look[r] for r in raw],
                          "forest_type": pd.to_numeric(sheet.get("forest_type"), errors="coerce")
                          if "forest_type" in sheet else np.nan})
    lay = labelled_points(cfg, "samples", tmpl, look)  # the layer's rules, as check runs them
    df, out = on_grid(cfg, plots, tmpl)
    if out.any():
        raise InputError(" ".join(outside_grid_text(df[out])))
    if lay is not None and len(lay):
        df = pd.concat([df, lay[df.columns]], ignore_index=True)
    return df


def too_few_samples(cfg: ProjectConfig, labels: np.ndarray, evergreen: set[str]) -> tuple[str, str] | None:
    """(message, fix) when the samples cannot train the hierarchy, else None: a class with fewer than
    ``[classify].min_per_class`` samples, no forest or no non-forest sample, or forest samples of one leaf habit
    only (``evergreen``: the evergreen species' labels). The stage applies it to the samples it keeps (those with
    enough clear months); ``check`` to every labelled sample, so a class short there is short in the run too."""
    c = cfg.classify
    labels = np.asarray(labels, dtype=str)
    counts = pd.Series(labels).value_counts()
    few = counts[counts < c.min_per_class]
    forest = labels != NONFOREST
    if not forest.any() or forest.all() or len(few):
        detail = ", ".join(f"{k} ({v})" for k, v in few.items()) or "forest or non-forest missing"
        return (f"Too few usable samples per class for the classification: {detail} (at least {c.min_per_class} "
                f"per class, [classify].min_per_class; forest and non-forest both needed).",
                f"Add labelled points to {c.samples} or merge rare species.")
    ever = np.isin(labels, list(evergreen))
    if ever[forest].all() or not ever[forest].any():
        return ("The forest samples are all evergreen or all deciduous ([classify].evergreen); the leaf-habit level "
                "needs samples of both.", "Add labelled points of the other leaf habit, or correct "
                "[classify].evergreen.")
    return None
