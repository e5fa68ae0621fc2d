"""``minecarbon catalog projects|compare``: many mines in one shared PostGIS monitoring database.

The database is ``--db URL`` (or ``MINECARBON_DB_URL``), else the ``[catalog].url`` of ``--project``.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .main import _console, handle_errors
from .options import json_option
from .tools_report import catalog

_db = click.option("--db", "db", envvar="MINECARBON_DB_URL", metavar="URL",
                   help="Shared database postgresql://user@host:port/dbname (password from ~/.pgpass or "
                        "PGPASSWORD); default: [catalog].url of --project.")
_project = click.option("--project", "project", type=click.Path(dir_okay=False, path_type=Path),
                        help="A project file whose [catalog].url names the database.")


def _url(db: str | None, project: Path | None) -> str:
    if db:
        from ..config import CatalogConfig

        from pydantic import ValidationError

        try:
            CatalogConfig(url=db)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ConfigError(f"--db: {msg}.") from None
        return db
    if project is not None:
        from ..config import load_config

        cfg = load_config(project)
        if cfg.catalog.url:
            return cfg.catalog.url
        raise ConfigError(f"{project} sets no shared database: add [catalog] url = \"postgresql://...\" or pass --db.")
    raise ConfigError("Name the shared database: --db postgresql://user@host:5432/dbname (or MINECARBON_DB_URL), "
                      "or --project PROJECT.toml with [catalog].url.")


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

    url = _url(db, project)
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
    from ..catalog.compare import compare_units

    url = _url(db, project)
    try:
        yrs = [int(y) for y in years.split(",")] if years else None
    except ValueError:
        raise ConfigError(f"--years {years!r}: give years as numbers, e.g. --years 2005,2016.") from None
    keys = [p.strip() for p in projects.split(",") if p.strip()] if projects else None
    df = compare_units(url, what, f"level{level}", keys, yrs, layer)
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
