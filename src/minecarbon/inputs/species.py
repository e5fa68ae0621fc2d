"""Species of a tree sheet against the allometry table: the cross-file rule of the tree and tape tallies.

Known names (or aliases), a carbon fraction for every species group used
(tier-1 defaults flagged), DBH inside the fitted range of the equations
(``[plots].dbh_out_of_range`` says whether outside is an error).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import MissingValueError, Problem, UnknownSpeciesError
from ._text import numeric as _numeric
from ._text import one_line as _one_line
from ._text import rows as _rows
from ._text import values as _values
from .spec import Report, Sheet

__all__ = ["species_fix", "species_problems"]


def species_fix(message: str, name: str, table: str) -> str:
    prefix = f"Species {name!r} is not in the allometry table ({table})."
    return message[len(prefix):].strip() if message.startswith(prefix) else ""



def species_problems(sheet: Sheet, file: str, table: Any, project_file: str, dbh_out_of_range: str) -> list[Problem]:
    """Species against the allometry table (a cross-file check): known names, carbon fractions, DBH ranges."""
    rep = Report(file)
    df, word = sheet.df, sheet.word
    sp = df["species"]
    blank = sp == ""
    if table is None:
        return rep.problems
    groups: dict[str, str] = {}
    for name in dict.fromkeys(sp[~blank]):
        try:
            groups[name] = table.resolve(name)
        except UnknownSpeciesError as exc:
            rows = df.index[sp == name]
            rep.add(_rows(rows, word, "species"), f"species {name!r} is not in the allometry table "
                    f"({table.name})", species_fix(str(exc), name, table.name)
                    or "Correct the name, add it as an alias, or load a table that covers it with "
                    "[plots].allometry.")
    used = list(dict.fromkeys(groups.values()))
    from ..allometry import TIER1_MARK

    for group in used:
        try:
            cf, cf_source = table.carbon_fraction(group)
            if cf_source.startswith(TIER1_MARK):
                names = [n for n, g in groups.items() if g == group]
                rep.add(_rows(df.index[sp.isin(names)], word, "species"), f"species group {group!r} "
                        f"({_values(names, 3)}) has no carbon fraction of its own in {table.name}: the tier-1 "
                        f"default {cf:g} is used ({cf_source.split(';')[0]})",
                        f"Nothing, if a generic value suits the report (it is flagged there as tier-1); a "
                        f"species-specific value goes into {project_file} as [plots.carbon_fractions.{group}] "
                        f"with value and source.", "warning")
        except MissingValueError:
            names = [n for n, g in groups.items() if g == group]
            rows = df.index[sp.isin(names)]
            rep.add(_rows(rows, word, "species"), f"no carbon fraction is known for species group "
                    f"{group!r} ({_values(names, 3)}) in {table.name}",
                    f"Supply one in {project_file}: add a table [plots.carbon_fractions.{group}] with "
                    f"value = <fraction, e.g. 0.47> and source = \"<citation or decision, e.g. IPCC 2006 "
                    f"default, chosen by <who>>\".")
        except Exception as exc:  # noqa: BLE001 - inconsistent table rows
            rep.add("column species", f"carbon fraction of {group!r}: {_one_line(str(exc))}",
                    "Fix the allometry table.")
    # DBH outside the fitted range of the equations
    if "dbh_cm" in df.columns and groups:
        d, _, _ = _numeric(df["dbh_cm"])
        outside = pd.Series(False, index=df.index)
        for name, group in groups.items():
            sel = (sp == name) & d.notna() & (d > 0)
            for e in table.equations_for(group):
                lo = e.dbh_min_cm if e.dbh_min_cm is not None else -np.inf
                hi = e.dbh_max_cm if e.dbh_max_cm is not None else np.inf
                outside |= sel & ((d < lo) | (d > hi))
        if bool(outside.any()):
            err = dbh_out_of_range == "error"
            rep.add(_rows(df.index[outside], word, "dbh_cm"), f"DBH {_values(d[outside])} cm is "
                    f"outside the fitted range of the species' biomass equation; the biomass would be "
                    f"extrapolated", "Check the values; set [plots].dbh_out_of_range = 'warn' to accept "
                    "the extrapolation." if err else "Check the values; extrapolation is accepted "
                    "([plots].dbh_out_of_range = 'warn').", "error" if err else "warning")
    return rep.problems
