"""The field tables: plot sheet and tree tallies, declared once (columns, units, bounds, rules).

Options the rules read (keyword arguments of ``problems``/``read``/``validate``):

``cfg``
    The :class:`~minecarbon.config.ProjectConfig`: the monitoring period for
    ``survey_year`` and the codes of ``[forest_type_codes]``.  Without it
    those two rules are skipped.
``plot_ids``
    The plot ids of the plot sheet: every tree must belong to one of them.
``plot_sheet``
    The plot sheet's name, for that message.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._crs import crs_name as _crs_name
from ._crs import same_crs as _same_crs

from ._text import numeric, rows, values
from .spec import Column, Report, Sheet, TableInput

BREAST_HEIGHT_M = 1.3
"""Breast height (m) at which DBH is measured; a tree not taller has no DBH."""
DBH_MAX_CM = 300.0
"""Plausibility bound (our choice): a larger DBH is a typo or millimetres."""
DBH_MIN_CM = 1.0
"""Every DBH below this (cm) means the column is in metres; a single one among normal ones is flagged."""
DBH_MM_MEDIAN_CM = 150.0
"""A median DBH above this (cm) means the column is in millimetres."""
HEIGHT_MAX_M = 80.0
"""Plausibility bound (our choice): no North-China tree is taller; larger values are dm/cm."""
WOOD_DENSITY_G_CM3 = (0.05, 1.5)
"""Plausible basic wood density (g/cm3), our bounds around the published range of woods."""
SLOPE_MAX_DEG = 90.0


def report_missing_bad(sheet: Sheet, rep: Report, col: str, expect: str) -> tuple[pd.Series, pd.Series]:
    """Empty and non-numeric cells of a column, one problem each kind; returns (numbers, usable mask)."""
    df, word = sheet.df, sheet.word
    num, missing, bad = numeric(df[col])
    if bool(missing.any()):
        rep.add(rows(df.index[missing], word, col), f"{col} is empty", f"Fill in {col} ({expect}).")
    if bool(bad.any()):
        rep.add(rows(df.index[bad], word, col), f"{col} {values(df[col][bad])} is not a number",
                f"Give {col} as a number ({expect}; '.' as decimal point, no units).")
    return num, num.notna()


def positive_numbers(sheet: Sheet, rep: Report, col: str, expect: str, label: str, fix: str) -> pd.Series:
    """Empty, non-numeric and non-positive cells of a column (``label`` names a value: "DBH {v} cm")."""
    df, word = sheet.df, sheet.word
    num, _ = report_missing_bad(sheet, rep, col, expect)
    nonpos = num.notna() & (num <= 0)
    if bool(nonpos.any()):
        rep.add(rows(df.index[nonpos], word, col), f"{label.format(values(num[nonpos]))} is not positive", fix)
    return num


# ---------------------------------------------------------------------------
# plot sheet
# ---------------------------------------------------------------------------
def _plot_ids(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    ids = df["plot_id"]
    blank = ids == ""
    if bool(blank.any()):
        rep.add(rows(df.index[blank], word, "plot_id"), "plot_id is empty", "Give every plot an identifier.")
    dup = ids[~blank & ids.duplicated(keep=False)]
    for pid, grp in dup.groupby(dup, sort=False):
        rep.add(rows(grp.index, word, "plot_id"), f"plot_id {pid!r} appears {len(grp)} times",
                "Give each plot a unique plot_id (or delete the repeated rows).")


def _survey_year(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    num, _ = report_missing_bad(sheet, rep, "survey_year", "a 4-digit year")
    cfg = opts.get("cfg")
    if cfg is None:
        return
    y0, y1 = cfg.project.start_year, cfg.project.end_year
    out = num.notna() & ((num < y0) | (num > y1))
    if bool(out.any()):
        rep.add(rows(df.index[out], word, "survey_year"), f"survey_year {values(sorted(set(num[out])))} is "
                f"outside the monitoring period {y0}-{y1}", "Correct the year, or widen "
                "[project].start_year/end_year if the survey belongs to the project.")


def _size(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    positive_numbers(sheet, rep, "size_m", "the plot size in metres", "size_m {}", "Give the plot size in metres (> 0).")


def _slope(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    num, _, bad = numeric(df["slope_deg"])
    out = bad | (num.notna() & ((num < 0) | (num >= SLOPE_MAX_DEG)))
    if bool(out.any()):
        rep.add(rows(df.index[out], word, "slope_deg"), f"slope_deg {values(df['slope_deg'][out])} is not a "
                f"slope in degrees (0-90)", "Give the slope in degrees (not percent), or leave it empty.")


def _xy(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    x, xok = report_missing_bad(sheet, rep, "x", "a projected coordinate in metres")
    y, yok = report_missing_bad(sheet, rep, "y", "a projected coordinate in metres")
    deg = xok & yok & (x.abs() <= 180) & (y.abs() <= 90)
    if bool(deg.any()):
        rep.add(rows(df.index[deg], word, "x, y"), "x/y look like longitude/latitude in degrees",
                "Give the plot centres in the project's projected CRS (metres), e.g. convert them in QGIS.")


def plot_xy(sheet: Sheet) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(x, y, usable) of the plot centres: numbers, and not degrees (the rows :func:`_xy` accepts)."""
    x, _, _ = numeric(sheet.df["x"])
    y, _, _ = numeric(sheet.df["y"])
    ok = x.notna() & y.notna()
    return x, y, ok & ~((x.abs() <= 180) & (y.abs() <= 90))


def plots_outside(rep: Report, o: Any, df: pd.DataFrame, word: str, x: pd.Series, y: pd.Series,
                   ok: pd.Series) -> None:
    """Plot centres outside the monitoring area (a cross-file rule: ``o`` holds ``area``, ``area_crs``, ``buffer_m``
    and ``target_crs``, the CRS the centres are read in)."""
    import shapely

    xs, ys = x[ok].to_numpy(float), y[ok].to_numpy(float)
    plots_crs = o.target_crs or o.area_crs
    if not _same_crs(plots_crs, o.area_crs):
        from pyproj import Transformer

        xs, ys = Transformer.from_crs(plots_crs, o.area_crs, always_xy=True).transform(xs, ys)
    inside = shapely.contains_xy(o.area, np.asarray(xs), np.asarray(ys))
    idx = df.index[ok][~inside]
    if len(idx):
        ids = list(df.loc[idx, "plot_id"]) if "plot_id" in df.columns else []
        rep.add(rows(idx, word, "x, y"), f"plot(s) {values(ids, 8)} lie outside the monitoring "
                f"area (boundary + {o.buffer_m:g} m buffer, coordinates read in "
                f"{_crs_name(plots_crs)})", "Check the coordinates (swapped x/y, another CRS or a typo); "
                "plots outside the area are not used.", "warning")


def _forest_type(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    """The optional forest_type column: codes of [forest_type_codes] (the model stage reads them as numbers)."""
    cfg = opts.get("cfg")
    if cfg is None:
        return
    df, word = sheet.df, sheet.word
    codes = cfg.forest_type_codes.model_dump()
    num, _, bad = numeric(df["forest_type"])
    unknown = bad | (num.notna() & ~num.isin([float(v) for v in codes.values()]))
    if bool(unknown.any()):
        legend = ", ".join(f"{v} {k}" for k, v in codes.items())
        rep.add(rows(df.index[unknown], word, "forest_type"), f"forest_type "
                f"{values(list(dict.fromkeys(df['forest_type'][unknown])))} is not a code of [forest_type_codes] "
                f"({legend}); the model would treat it as a type of its own, or ignore it if it is not a number",
                "Give the code of the forest type (or leave it empty to take the forest-type map's), or add the "
                "code to [forest_type_codes].")


PLOT_SHEET = TableInput(
    key="inputs.plots", what="plot sheet", about="One row per surveyed plot (visit).",
    columns=(
        Column("plot_id", "Plot identifier, unique in the sheet.", rule=_plot_ids),
        Column("x", "Plot centre, easting in the project CRS.", "m", kind="number"),
        Column("y", "Plot centre, northing in the project CRS.", "m", kind="number"),
        Column("survey_year", "Year of the survey, inside the monitoring period.", "year", kind="year",
               rule=_survey_year),
        Column("size_m", "Side of the square plot (horizontal unless size_on_slope).", "m", kind="number",
               rule=_size),
        Column("slope_deg", "Slope of the plot, with size_on_slope.", "degree", required=False, kind="any",
               rule=_slope),
        Column("forest_type", "Code of [forest_type_codes]; empty: the forest-type map's.", "class code",
               required=False, kind="any", rule=_forest_type),
    ),
    rules=((("x", "y"), _xy),),
    no_rows_fix="Add one row per surveyed plot.")
"""The plot sheet (``[inputs].plots``)."""

PLOT_LAYOUT = PLOT_SHEET.with_columns(("plot_id", "x", "y"))
"""A plot sheet read for its layout only (``minecarbon plots check``): ids and centres."""

PLOT_COLUMNS = PLOT_SHEET.required


# ---------------------------------------------------------------------------
# tree tallies
# ---------------------------------------------------------------------------
def _tree_ids(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    pid, tid = df["plot_id"], df["tree_id"]
    blank, tblank = pid == "", tid == ""
    if bool(blank.any()):
        rep.add(rows(df.index[blank], word, "plot_id"), "plot_id is empty", "Give the plot of every tree.")
    plot_ids = opts.get("plot_ids")
    if plot_ids is not None:
        unknown = ~blank & ~pid.isin(set(plot_ids))
        if bool(unknown.any()):
            ids = list(dict.fromkeys(pid[unknown]))
            named = f" ({opts['plot_sheet']})" if opts.get("plot_sheet") else ""
            rep.add(rows(df.index[unknown], word, "plot_id"), f"plot_id {values(ids, 8)} not in the plot "
                    f"sheet{named}", "Correct the plot_id or add the plot to the plot sheet.")
    if bool(tblank.any()):
        rep.add(rows(df.index[tblank], word, "tree_id"), "tree_id is empty", "Number every tree within its plot.")
    keyed = df.loc[~tblank & ~blank, ["plot_id", "tree_id"]]
    dup = keyed[keyed.duplicated(keep=False)]
    for (p, t), grp in dup.groupby(["plot_id", "tree_id"], sort=False):
        rep.add(rows(grp.index, word, "tree_id"), f"tree {t!r} of plot {p!r} appears {len(grp)} times "
                f"(duplicate plot_id, tree_id)", "Give each tree a unique tree_id within its plot (or delete the "
                "repeated rows).")


def _dbh(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    d = positive_numbers(sheet, rep, "dbh_cm", "diameter at breast height in cm", "DBH {} cm",
                         "Correct the diameter at breast height (cm, > 0) or delete the row.")
    pos = d[d.notna() & (d > 0)]
    if len(pos) == 0:
        return
    if bool((pos < DBH_MIN_CM).all()):
        rep.add("column dbh_cm", f"every DBH is below {DBH_MIN_CM:g} cm (median {pos.median():g}); the values "
                f"look like metres", "Give DBH in centimetres (multiply by 100).")
    elif pos.median() > DBH_MM_MEDIAN_CM:
        rep.add("column dbh_cm", f"the median DBH is {pos.median():g} cm; the values look like millimetres",
                "Give DBH in centimetres (divide by 10).")
    else:
        huge = d.notna() & (d > DBH_MAX_CM)
        if bool(huge.any()):
            rep.add(rows(df.index[huge], word, "dbh_cm"), f"DBH {values(d[huge])} cm is absurd (above "
                    f"{DBH_MAX_CM:g} cm)", "Correct the value (a typo, or millimetres/circumference instead of "
                    "diameter in cm).")
        tiny = d.notna() & (d > 0) & (d < DBH_MIN_CM)
        if pos.median() >= 5 and bool(tiny.any()):
            rep.add(rows(df.index[tiny], word, "dbh_cm"), f"{int(tiny.sum())} tree(s) have a DBH below "
                    f"{DBH_MIN_CM:g} cm while the median is {pos.median():g} cm (metres?)",
                    "Check these values: a DBH in metres among centimetres.", "warning")


def _height(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    h, _ = report_missing_bad(sheet, rep, "height_m", "tree height in m")
    pos = h[h.notna() & (h > 0)]
    if len(pos) and pos.median() > HEIGHT_MAX_M:
        rep.add("column height_m", f"the median height is {pos.median():g} m; the values look like decimetres or "
                f"centimetres", "Give tree height in metres.")
        return
    low = h.notna() & (h <= BREAST_HEIGHT_M)
    if bool(low.any()):
        rep.add(rows(df.index[low], word, "height_m"), f"height {values(h[low])} m is not above breast height "
                f"({BREAST_HEIGHT_M:g} m), so the tree has no DBH",
                "Correct the height (m), or drop trees shorter than 1.3 m from the tally.")
    high = h.notna() & (h > HEIGHT_MAX_M)
    if bool(high.any()):
        rep.add(rows(df.index[high], word, "height_m"), f"height {values(h[high])} m is absurd (> {HEIGHT_MAX_M:g} "
                f"m)", "Correct the height (m).")


def _species(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    blank = df["species"] == ""
    if bool(blank.any()):
        rep.add(rows(df.index[blank], word, "species"), "species is empty", "Fill in the species (Chinese or Latin "
                "name).")


def _wood_density(sheet: Sheet, rep: Report, opts: dict[str, Any]) -> None:
    df, word = sheet.df, sheet.word
    num, _, bad = numeric(df["wood_density"])
    lo, hi = WOOD_DENSITY_G_CM3
    if bool(bad.any()):
        rep.add(rows(df.index[bad], word, "wood_density"), f"wood_density {values(df['wood_density'][bad])} is not "
                f"a number", f"Give wood_density in g/cm3 ({lo:g}-{hi:g}) or leave it empty.")
    out = num.notna() & ((num < lo) | (num > hi))
    if bool(out.any()):
        rep.add(rows(df.index[out], word, "wood_density"), f"wood_density {values(num[out])} is outside "
                f"{lo:g}-{hi:g} g/cm3", "Give the basic wood density in g/cm3 (kg/m3: divide by 1000).")


TREE_SHEET = TableInput(
    key="inputs.trees", what="tree tally", about="One row per measured tree of the plots.",
    columns=(
        Column("plot_id", "Plot of the tree (a plot_id of the plot sheet).", rule=None),
        Column("tree_id", "Tree number, unique within its plot."),
        Column("species", "Species (Chinese or Latin name of the allometry table).", rule=_species),
        Column("dbh_cm", "Diameter at breast height (1.3 m).", "cm", kind="number", rule=_dbh),
        Column("height_m", "Tree height, above breast height.", "m", kind="number", rule=_height),
        Column("wood_density", "Basic wood density, for equations that use it.", "g/cm3", required=False,
               kind="number", rule=_wood_density),
    ),
    rules=((("plot_id", "tree_id"), _tree_ids),),
    no_rows_fix="Add one row per measured tree.")
"""The tree tally (``[inputs].trees``)."""

TALLY_SHEET = TableInput(key="inputs.tally", what="tape tally", about="Tape-measured trees of the TLS "
                         "validation plots.", columns=TREE_SHEET.columns, rules=TREE_SHEET.rules,
                         no_rows_fix=TREE_SHEET.no_rows_fix)
"""The tape tally (``[inputs].tally``): the tree tally's columns and rules."""

TREE_COLUMNS = TREE_SHEET.required
