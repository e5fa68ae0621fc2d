"""Across mines: the projects of a shared PostGIS database and their unit totals, changes and grades.

Reads the views of :mod:`minecarbon.catalog.views`; every filter value is a
bound parameter.  Used by ``minecarbon catalog projects|compare``.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from ..errors import ConfigError
from .postgis import REGISTRY_SCHEMA, _connect_error, list_projects, make_engine

VIEWS = {"totals": "unit_totals", "changes": "unit_changes", "grades": "unit_grades"}
"""What can be compared, and the view that holds it."""
ORDER = {"totals": "project, year, zone", "changes": "project, zone", "grades": "project, layer, zone, class"}

__all__ = ["VIEWS", "compare_units", "list_projects"]


def compare_units(url: str, what: str = "totals", level: str = "level1", projects: Sequence[str] | None = None,
                  years: Sequence[int] | None = None, layer: str | None = None) -> pd.DataFrame:
    """Rows of one cross-project view.

    Parameters
    ----------
    url : the shared database (``postgresql://user@host:port/dbname``).
    what : 'totals' (AGC per unit and year, t C), 'changes' (first to last mapped year) or 'grades'
        (area and share per class of a graded layer).
    level : 'level1' or 'level2' units.
    projects : keys of the projects to show (default all).
    years : for 'totals': only these years.
    layer : for 'grades': only this graded layer (e.g. 'change_degree', 'trend', 'effect_class').
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if what not in VIEWS:
        raise ConfigError(f"cannot compare {what!r}: use one of {', '.join(VIEWS)}.")
    if level not in ("level1", "level2"):
        raise ConfigError(f"unit level {level!r} is not level1 or level2.")
    where, params = ["level = :level"], {"level": level}
    if projects:
        where.append("project = ANY(:projects)")
        params["projects"] = list(projects)
    if years and what == "totals":
        where.append("year = ANY(:years)")
        params["years"] = [int(y) for y in years]
    if layer and what == "grades":
        where.append("layer = :layer")
        params["layer"] = layer
    sql = (f"SELECT * FROM {REGISTRY_SCHEMA}.{VIEWS[what]} WHERE {' AND '.join(where)} "
           f"ORDER BY {ORDER[what]}")
    eng = make_engine(url)
    try:
        with eng.connect() as con:
            if con.execute(text(f"SELECT to_regclass('{REGISTRY_SCHEMA}.{VIEWS[what]}')")).scalar() is None:
                return pd.DataFrame()
            return pd.read_sql_query(text(sql), con, params=params)
    except SQLAlchemyError as exc:
        raise _connect_error(url, exc) from None
    finally:
        eng.dispose()
