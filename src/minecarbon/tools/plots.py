"""The allometry tool on plain tables: tree AGC (and per-plot totals with their Monte Carlo uncertainty).

:func:`run_allometry_tool` reads a tree table (and a plot sheet), applies the
allometry table and writes the results; it returns a summary (a dict).
``minecarbon tool allometry`` (:mod:`minecarbon.cli.tools_plots`) only parses
options and prints it; its defaults are those of ``[plots]``.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def run_allometry_tool(trees_path: Path, out_path: Path, table_path: Path | None = None,
                       plots_path: Path | None = None, carbon_fractions: dict | None = None,
                       dbh_out_of_range: str = "warn", draws: int = 500, dbh_error_cm: float = 0.5,
                       height_error_rel: float = 0.05, seed: int = 0) -> dict:
    """Per-tree AGB/AGC of a tree table (and per-plot totals when a plot sheet is given); returns a summary.

    Writes ``out_path`` (the tree table plus ``species_group, agb_kg,
    carbon_fraction, agc_kg, equation_rows, equation``) and, with a plot
    sheet (``plot_id, size_m``[, ``slope_deg, size_on_slope``]),
    ``<out stem>_plots<suffix>`` with totals, densities and the Monte Carlo
    interval.
    """
    from .. import plots
    from ..allometry import AllometryTable
    from ..errors import InputError, MinecarbonWarning
    from ..io import read_table, write_table

    trees_path, out_path = Path(trees_path), Path(out_path)
    plots_out = out_path.with_name(out_path.stem + "_plots" + out_path.suffix)
    ins = [trees_path] + ([Path(plots_path)] if plots_path else []) + ([Path(table_path)] if table_path else [])
    for o in (out_path, plots_out) if plots_path else (out_path,):
        if any(o.resolve() == i.resolve() for i in ins):
            raise InputError(f"Output {o} is one of the input files; choose another output name "
                             f"(inputs are never overwritten).")
    table = (AllometryTable.from_csv(table_path, carbon_fractions=carbon_fractions) if table_path
             else AllometryTable.default(carbon_fractions=carbon_fractions))
    sheet = None
    if plots_path:
        sheet = read_table(plots_path, ("plot_id", "size_m"), what="plot sheet")
        sheet["plot_id"] = sheet["plot_id"].astype(str).str.strip()
    trees = plots.validate_trees(read_table(trees_path, plots.TREE_COLUMNS, what="tree table"), sheet,
                                 str(trees_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MinecarbonWarning)
        trees = plots.tree_carbon(trees, table, dbh_out_of_range, source=str(trees_path))
    messages = [str(w.message) for w in caught]
    res = plots.plot_carbon(sheet, trees, table, dbh_error_cm, height_error_rel, draws, seed) \
        if sheet is not None else None
    write_table(trees, out_path)
    summary = {"trees": len(trees), "table": table.name, "output": str(out_path),
               "agb_kg": float(trees["agb_kg"].sum()), "agc_kg": float(trees["agc_kg"].sum()),
               "species_groups": {str(g): int(n) for g, n in trees["species_group"].value_counts().items()},
               "warnings": messages}
    if res is not None:
        write_table(res, plots_out)
        summary["plots_output"] = str(plots_out)
        summary["plots"] = res[["plot_id", "n_trees", "agc_t_ha", "agc_sd_t_ha", "agc_lo95_t_ha",
                                "agc_hi95_t_ha"]].to_dict(orient="records")
    return summary
