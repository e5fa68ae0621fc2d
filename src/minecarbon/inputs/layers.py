"""The polygon layers of mining and reclamation, declared once (attributes and their rules).

Options the rules read: ``cfg`` (the monitoring period; without it the
period rule is skipped).  Geometry, CRS and "inside the monitoring area" are
the rules every layer shares (:mod:`minecarbon.inputs.polygons`), which
``check`` and :meth:`VectorInput.read` both run.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..units import DAMAGE_TYPE_ALIASES, DAMAGE_TYPES
from ._text import is_int, numeric, values
from .spec import Field, Report, VectorInput, fid_where

_fid_where = fid_where


def _damage_type(gdf: Any, rep: Report, opts: dict[str, Any]) -> None:
    raw = gdf["damage_type"]
    text = raw.astype(str).str.strip()
    text = text.where(raw.notna(), "")
    ok = text.str.lower().isin(list(DAMAGE_TYPE_ALIASES)) | text.isin(list(DAMAGE_TYPE_ALIASES))
    bad = ~ok
    if bool(bad.any()):
        vals = list(dict.fromkeys(text[bad]))
        rep.add(fid_where(gdf, bad, "damage_type"), f"damage_type {values(vals)} is not one of "
                f"{', '.join(DAMAGE_TYPES)} (or 挖损, 塌陷, 压占)", "Set damage_type of these features to "
                "excavation (挖损), subsidence (塌陷) or occupation (压占).")


def _year_rule(col: str, in_period: bool):
    def rule(gdf: Any, rep: Report, opts: dict[str, Any]) -> None:
        num, missing_year, badnum = numeric(gdf[col].astype(object).where(gdf[col].notna(), ""))
        if bool(missing_year.any()):
            rep.add(fid_where(gdf, missing_year, col), f"{col} is empty", f"Fill in {col} (4-digit year) for "
                    "these features.")
        nonint = ~missing_year & (badnum | ~num.map(lambda v: is_int(v) if pd.notna(v) else True))
        if bool(nonint.any()):
            rep.add(fid_where(gdf, nonint, col), f"{col} {values(gdf[col][nonint])} is not a whole year",
                    f"Give {col} as a 4-digit year, e.g. 2015.")
        cfg = opts.get("cfg")
        if in_period and cfg is not None:
            y0, y1 = cfg.project.start_year, cfg.project.end_year
            out = num.notna() & ~nonint & ((num < y0) | (num > y1))
            if bool(out.any()):
                rep.add(fid_where(gdf, out, col), f"{col} {values(sorted(set(num[out].astype(int))))} is outside "
                        f"the monitoring period {y0}-{y1}", f"Correct the year, or drop these features if they "
                        f"fall outside {y0}-{y1}.")
    return rule


DISTURBANCE = VectorInput(
    key="inputs.disturbance", what="disturbance layer", about="Mining disturbance patches with their year.",
    fields=(Field("year", "Year the patch was disturbed (in the monitoring period)."),
            Field("damage_type", "excavation (挖损), subsidence (塌陷) or occupation (压占).")),
    rules=((("damage_type",), _damage_type), (("year",), _year_rule("year", True))))
"""``[inputs].disturbance``."""

PLANNED = VectorInput(
    key="inputs.planned", what="planned layer", about="Planned mining disturbance with its planned year.",
    fields=(Field("planned_year", "Year the disturbance is planned."),
            Field("damage_type", "excavation (挖损), subsidence (塌陷) or occupation (压占).")),
    rules=((("damage_type",), _damage_type), (("planned_year",), _year_rule("planned_year", False))))
"""``[inputs].planned``."""

RECLAMATION = VectorInput(
    key="inputs.reclamation", what="reclamation layer", about="Reclaimed (replanted) land with its year.",
    fields=(Field("year", "Year of the reclamation (in the monitoring period)."),),
    rules=((("year",), _year_rule("year", True)),))
"""``[inputs].reclamation``.  Only ``year`` is read by a stage (units, plot design, report): a ``species``
attribute may be present and is not required."""

LAYERS = {spec.key: spec for spec in (DISTURBANCE, PLANNED, RECLAMATION)}


def zone_field_problems(rep: Report, gdf: Any, attrs: list[str], usable: bool, zones_field: str | None) -> None:
    """``[assess].zones_field`` on the zone layer ``[assess].zones``: an attribute of it, filled in."""
    if zones_field and zones_field not in attrs:
        near = [c for c in attrs if c.lower() == zones_field.lower()]
        rep.add(f"attribute {zones_field}", f"the zone layer has no attribute {zones_field!r} "
                f"([assess].zones_field); attributes: {', '.join(attrs) or 'none'}",
                f"Set [assess].zones_field = {near[0]!r}." if near else "Set [assess].zones_field to one of its "
                "attributes, or remove it for one zone per polygon.")
    elif zones_field and usable:
        vals = gdf[zones_field]
        blank = vals.isna() | (vals.astype(str).str.strip() == "")
        if bool(blank.any()):
            rep.add(_fid_where(gdf, blank, zones_field), f"{zones_field} is empty, so "
                    f"these polygons belong to no named zone", f"Fill in {zones_field}.", "warning")


def zone_problems(layer: Any, zones_field: str | None) -> list:
    """:func:`zone_field_problems` of an opened zone layer (a :class:`~minecarbon.inputs.polygons.PolygonLayer`)."""
    rep = Report(layer.shown)
    zone_field_problems(rep, layer.gdf, layer.attrs, layer.usable, zones_field)
    return rep.problems
