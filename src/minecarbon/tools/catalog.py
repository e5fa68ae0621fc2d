"""The shared-database tools: which PostGIS database, and the cross-mine comparison.

``minecarbon catalog projects | compare`` (:mod:`minecarbon.cli.tools_catalog`)
only parses options and prints the tables these functions return.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError


def database_url(db: str | None, project: Path | None) -> str:
    """The shared database: ``db`` (checked as ``[catalog].url`` is), else the ``[catalog].url`` of ``project``."""
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


def run_compare_tool(url: str, what: str = "totals", level: str = "1", projects: str | None = None,
                     years: str | None = None, layer: str | None = None):
    """Unit totals, changes or grades across the mines of a shared database (a DataFrame).

    ``projects`` and ``years`` are comma-separated lists (default: all).
    """
    from ..catalog.compare import compare_units

    try:
        yrs = [int(y) for y in years.split(",")] if years else None
    except ValueError:
        raise ConfigError(f"--years {years!r}: give years as numbers, e.g. --years 2005,2016.") from None
    keys = [p.strip() for p in projects.split(",") if p.strip()] if projects else None
    return compare_units(url, what, f"level{level}", keys, yrs, layer)
