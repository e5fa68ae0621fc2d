"""CLI: ``minecarbon tool allometry`` and the ``minecarbon plots`` group (plan, check).

Each command parses its arguments and calls one function; errors are one
message without a traceback (:func:`minecarbon.cli.main.handle_errors`).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ..tools.plots import run_allometry_tool
from .main import handle_errors, main, tool
from .options import config_default, json_option

log = logging.getLogger(__name__)


def _parse_carbon_fractions(values: tuple[str, ...]) -> dict[str, tuple[float, str]]:
    from ..errors import InputError

    out: dict[str, tuple[float, str]] = {}
    for v in values:
        group, sep, rest = v.partition("=")
        value, sep2, source = rest.partition(":")
        try:
            num = float(value)
        except ValueError:
            num = float("nan")
        if not sep or not sep2 or not group.strip() or not source.strip() or not 0.3 < num < 0.6:
            raise InputError(f"--carbon-fraction {v!r} must be GROUP=VALUE:SOURCE with VALUE a fraction "
                             f"between 0.3 and 0.6 and SOURCE its citation, e.g. "
                             f"'刺槐=0.47:IPCC 2006 default, chosen by <who>'.")
        out[group.strip()] = (num, source.strip())
    return out


@tool.command("allometry")
@click.argument("trees", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--table", type=click.Path(dir_okay=False, path_type=Path),
              help="Allometry table CSV (default: the shipped verified table).")
@click.option("--plots", "plots_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Plot sheet (plot_id, size_m[, slope_deg, size_on_slope]) for per-plot totals.")
@click.option("--carbon-fraction", "carbon_fraction", multiple=True, metavar="GROUP=VALUE:SOURCE",
              help="Carbon fraction of a species group the table has none for (repeatable).")
@click.option("--dbh-out-of-range", type=click.Choice(["warn", "error"]),
              default=config_default("plots", "dbh_out_of_range"), show_default=True)
@click.option("--draws", type=click.IntRange(10, 100000), default=config_default("plots", "mc_draws"), show_default=True,
              help="Monte Carlo draws (with --plots).")
@click.option("--dbh-error-cm", type=click.FloatRange(0, 10), default=config_default("plots", "dbh_error_cm"),
              show_default=True)
@click.option("--height-error-rel", type=click.FloatRange(0, 0.5), default=config_default("plots", "height_error_rel"),
              show_default=True)
@click.option("--seed", type=int, default=config_default("plots", "mc_seed"), show_default=True)
@json_option
@handle_errors
def allometry_command(trees: Path, out: Path, table: Path | None, plots_path: Path | None,
                      carbon_fraction: tuple[str, ...], dbh_out_of_range: str, draws: int,
                      dbh_error_cm: float, height_error_rel: float, seed: int, as_json: bool) -> None:
    """Tree AGB (kg) and AGC (kg C) of TREES.csv (plot_id, tree_id, species, dbh_cm, height_m) into OUT.csv."""
    summary = run_allometry_tool(trees, out, table, plots_path, _parse_carbon_fractions(carbon_fraction),
                                 dbh_out_of_range, draws, dbh_error_cm, height_error_rel, seed)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for w in summary["warnings"]:
        click.echo(f"Warning: {w}", err=True)
    click.echo(f"{summary['trees']} trees, AGB {summary['agb_kg']:.1f} kg, AGC {summary['agc_kg']:.1f} kg C "
               f"({summary['table']}) -> {summary['output']}")
    if "plots" in summary:
        click.echo(f"{len(summary['plots'])} plots -> {summary['plots_output']}")
        for p in summary["plots"]:
            click.echo(f"  {p['plot_id']:<12} {p['n_trees']:>5} trees  {p['agc_t_ha']:8.2f} t C/ha  "
                       f"95 % [{p['agc_lo95_t_ha']:.2f}, {p['agc_hi95_t_ha']:.2f}]")


@main.group("plots")
def plots_group() -> None:
    """Field plots: layout design before the survey, and plot counts per assessment unit."""


@plots_group.command("plan")
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: <workspace>/outputs/plot_design).")
@click.option("--no-xlsx", is_flag=True, help="Write the field sheet as CSV only.")
@json_option
@handle_errors
def plan_command(project: Path, out_dir: Path | None, no_xlsx: bool, as_json: bool) -> None:
    """Propose square plots for every assessment unit of PROJECT (runs the units stage if needed)."""
    from ..config import load_config
    from ..project.design import plan_plots

    summary = plan_plots(load_config(project), out_dir, xlsx=not no_xlsx)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{summary['n_plots']} plots of {summary['plot_size_m']:g} m in {summary['n_units']} units:")
    for u in summary["per_unit"]:
        if u["unit_l2"] > 0:
            flag = "" if u["enough"] else f"  SHORT by {u['short_by']}"
            click.echo(f"  {u['unit_l2']:>3} {u['name_en']:<40} {u['n_plots']:>3} plots{flag}")
    for f in summary["files"]:
        click.echo(f"Wrote {f}")


@plots_group.command("check")
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=Path),
              help="Plot sheet to count (default: [inputs].plots), e.g. a planned plot_design.csv.")
@json_option
@handle_errors
def check_command(project: Path, sheet: Path | None, as_json: bool) -> None:
    """Count plots per assessment unit; exit 2 when a unit has fewer than [plots].min_per_unit."""
    from ..config import load_config
    from ..project.design import check_plot_counts

    cfg = load_config(project)
    counts = check_plot_counts(cfg, sheet)
    units = counts[counts["unit_l2"] > 0]
    short = units[~units["enough"]]
    if as_json:
        click.echo(json.dumps({"min_per_unit": cfg.plots.min_per_unit, "units": counts.to_dict(orient="records"),
                               "units_short": short["unit_l2"].tolist()}, ensure_ascii=False, indent=2,
                              default=str))
    else:
        for _, u in counts.iterrows():
            flag = "" if u["enough"] else f"  fewer than {cfg.plots.min_per_unit} (short by {u['short_by']})"
            click.echo(f"  {u['unit_l2']:>3} {u['name_en']:<40} {u['n_plots']:>3} plots{flag}")
        if len(short):
            click.echo(f"{len(short)} of {len(units)} unit(s) have fewer than {cfg.plots.min_per_unit} plots "
                       f"(the standard asks for at least 3): {', '.join(map(str, short['unit_l2']))}. "
                       f"Run 'minecarbon plots plan' for a proposal.", err=True)
        else:
            click.echo(f"Every one of the {len(units)} units has at least {cfg.plots.min_per_unit} plots.")
    if len(short):
        sys.exit(2)
