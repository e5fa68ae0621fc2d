"""``minecarbon catalog projects|compare``: many mines in one shared PostGIS monitoring database.

The database is ``--db URL`` (or ``MINECARBON_DB_URL``), else the ``[catalog].url`` of ``--project``
(:func:`minecarbon.tools.catalog.database_url`).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..tools.catalog import database_url, run_compare_tool
from .main import _console, handle_errors
from .options import json_option
from .tools_report import catalog

_db = click.option("--db", "db", envvar="MINECARBON_DB_URL", metavar="URL",
                   help="Shared database postgresql://user@host:port/dbname (password from ~/.pgpass or "
                        "PGPASSWORD); default: [catalog].url of --project.")
_project = click.option("--project", "project", type=click.Path(dir_okay=False, path_type=Path),
                        help="A project file whose [catalog].url names the database.")


def _table(df, columns: list[str], title: str) -> None:
    from rich.table import Table

    t = Table(title=title, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold", justify="right" if df[c].dtype.kind in "if" else "left")
    for _, r in df.iterrows():
        t.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in (r[c] for c in columns)])
    _console().print(t)


@catalog.command("projects")
@_db
@_project
@json_option
@handle_errors
def catalog_projects(db: str | None, project: Path | None, as_json: bool) -> None:
    """List the projects (mines) published to a shared PostGIS database."""
    from ..catalog.postgis import list_projects, shown_url

    url = database_url(db, project)
    df = list_projects(url)
    if as_json:
        out = df.assign(published=df["published"].astype(str)) if len(df) else df
        click.echo(out.to_json(orient="records", force_ascii=False, indent=2))
        return
    _table(df, ["project", "name", "start_year", "end_year", "crs", "n_datasets", "published"],
           f"{len(df)} project(s) in {shown_url(url)}")


@catalog.command("compare")
@_db
@_project
@click.option("--what", type=click.Choice(["totals", "changes", "grades"]), default="totals", show_default=True,
              help="AGC totals per unit and year, their change first to last year, or graded areas.")
@click.option("--level", type=click.Choice(["1", "2"]), default="1", show_default=True, help="Unit level.")
@click.option("--projects", "projects", help="Comma-separated project keys (default: all).")
@click.option("--years", help="Comma-separated years (totals).")
@click.option("--layer", help="Graded layer (grades): change_degree, trend, effect_class ...")
@json_option
@handle_errors
def catalog_compare(db, project, what, level, projects, years, layer, as_json: bool) -> None:
    """Compare unit totals, changes or grades across the mines of a shared PostGIS database."""
    df = run_compare_tool(database_url(db, project), what, level, projects, years, layer)
    if as_json:
        click.echo(df.to_json(orient="records", force_ascii=False, indent=2))
        return
    if df.empty:
        _console().print("Nothing to compare: no published project has these units (run the pipelines with "
                         "[catalog].url set).")
        return
    cols = {"totals": ["project", "zone", "unit_name", "year", "area_ha", "agc_t", "agc_mean_t_ha"],
            "changes": ["project", "zone", "unit_name", "first_year", "last_year", "first_agc_t", "last_agc_t",
                        "change_agc_t", "change_pct"],
            "grades": ["project", "layer", "zone", "unit_name", "class_name", "area_ha", "share_pct"]}[what]
    _table(df, cols, f"AGC {what} of level-{level} units")
