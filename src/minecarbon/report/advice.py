"""Zoning management advice (分区管理建议) derived from the assessment by documented rules.

Each level-2 assessment unit gets one management zone: the first rule below
whose condition holds, evaluated on the unit's class areas (``class_areas``
of stage ``assess``) and zonal statistics.  ``share`` is the share of the
unit's pixels (%), compared with ``[report].advice_min_share_pct`` (our
choice, default 10 %; the standard gives no number).

=====  ======================================  ========================================================
rule   zone                                    condition
=====  ======================================  ========================================================
R1     restoration priority (修复优先区)        damaged forest (level 1 = 3), Gi* cold spots (95 % or
                                               99 %) of the AGC change cover >= share
R2     tending or replanting (抚育或补植区)      reclaimed forest (level 1 = 4) whose AGC trend is not
                                               significantly positive on most of it (significant
                                               increase on < 50 % of the pixels)
R3     reclamation as planned (按方案复垦区)     damaged forest not in R1
R4     baseline and protection before damage   to-be-damaged forest (level 1 = 2)
       (损毁前本底保护区)
R5     enhanced monitoring (加强监测区)          persistent forest (level 1 = 1) with a high or low
                                               negative cumulative effect (grades 1-2), or a
                                               significant AGC decrease, on >= share
R6     conservation (保育区)                     persistent forest not in R5
R7     cause check (成因核查区)                  other disturbance (level 1 = 5)
=====  ======================================  ========================================================

Without a layer (e.g. no cumulative effect because mining started in the first
year) the conditions that need it are false, and the evidence says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ZONES: dict[str, dict] = {
    "R1": {"zone": "restoration_priority", "color": "#b2182b"},
    "R2": {"zone": "tending_replanting", "color": "#f1a340"},
    "R3": {"zone": "reclamation_plan", "color": "#de77ae"},
    "R4": {"zone": "baseline_protection", "color": "#fee08b"},
    "R5": {"zone": "enhanced_monitoring", "color": "#8073ac"},
    "R6": {"zone": "conservation", "color": "#1b7837"},
    "R7": {"zone": "cause_check", "color": "#bababa"},
}
"""Rule -> zone key (message ``advice.zone.<key>``) and map colour, in priority order."""

MAJORITY_PCT = 50.0
"""R2: the trend is 'significantly positive' for a unit when at least this share of it increases significantly."""


def _share(class_areas: pd.DataFrame | None, layer: str, zone: int, classes) -> float:
    """Share (%) of a level-2 unit's classified pixels in ``classes`` of ``layer`` (NaN without the layer)."""
    if class_areas is None or not len(class_areas):
        return float("nan")
    sel = class_areas[(class_areas["layer"] == layer) & (class_areas["level"] == "level2")
                      & (class_areas["zone"] == zone)]
    if not len(sel):
        return float("nan")
    total = float(sel["pixels"].sum())
    if total <= 0:
        return float("nan")
    return 100.0 * float(sel.loc[sel["class"].isin(list(classes)), "pixels"].sum()) / total


def _zonal(zonal: pd.DataFrame | None, layer: str, zone: int, stat: str) -> float:
    if zonal is None or not len(zonal):
        return float("nan")
    sel = zonal[(zonal["layer"] == layer) & (zonal["level"] == "level2") & (zonal["zone"] == zone)]
    return float(sel[stat].iloc[0]) if len(sel) and stat in sel else float("nan")


def zoning_advice(unit_areas: pd.DataFrame, class_areas: pd.DataFrame | None, zonal: pd.DataFrame | None,
                  compare_year: int, min_share_pct: float = 10.0) -> pd.DataFrame:
    """One row per level-2 unit: the zone, the rule that gave it and the evidence.

    Parameters
    ----------
    unit_areas : ``unit_areas`` of stage ``units`` (unit_l1, unit_l2, name_en, name_zh, area_ha).
    class_areas : ``class_areas`` of stage ``assess`` (layer, level, zone, class, pixels).
    zonal : ``zonal_stats`` of stage ``assess`` (layer, level, zone, mean, sum_t ...).
    compare_year : the year whose AGC is the unit's current state.
    min_share_pct : the share (%) that makes R1 and R5 fire.

    Returns
    -------
    DataFrame with unit_l2, unit_l1, name_en, name_zh, area_ha, rule, zone, color and the evidence columns
    cold_spot_share_pct, sig_increase_share_pct, sig_decrease_share_pct, negative_effect_share_pct,
    agc_mean_t_ha, agc_stock_t, change_mean_t_ha, slope_mean_t_ha_yr.
    """
    rows = []
    for _, u in unit_areas.sort_values("unit_l2").iterrows():
        z = int(u["unit_l2"])
        l1 = int(u["unit_l1"]) if "unit_l1" in u else z // 10
        ev = {
            "cold_spot_share_pct": _share(class_areas, "gi_change", z, (-3, -2)),
            "sig_increase_share_pct": _share(class_areas, "trend", z, (2,)),
            "sig_decrease_share_pct": _share(class_areas, "trend", z, (-2,)),
            "negative_effect_share_pct": _share(class_areas, "effect", z, (1, 2)),
            "agc_mean_t_ha": _zonal(zonal, f"agc_{compare_year}", z, "mean"),
            "agc_stock_t": _zonal(zonal, f"agc_{compare_year}", z, "sum_t"),
            "change_mean_t_ha": _zonal(zonal, "change_amount", z, "mean"),
            "slope_mean_t_ha_yr": _zonal(zonal, "trend_slope", z, "mean"),
        }

        def ge(v: float, thr: float) -> bool:
            return bool(np.isfinite(v) and v >= thr)

        if l1 == 3 and ge(ev["cold_spot_share_pct"], min_share_pct):
            rule = "R1"
        elif l1 == 4 and not ge(ev["sig_increase_share_pct"], MAJORITY_PCT):
            rule = "R2"
        elif l1 == 3:
            rule = "R3"
        elif l1 == 2:
            rule = "R4"
        elif l1 == 1 and (ge(ev["negative_effect_share_pct"], min_share_pct)
                          or ge(ev["sig_decrease_share_pct"], min_share_pct)):
            rule = "R5"
        elif l1 == 1:
            rule = "R6"
        elif l1 == 4:
            rule = "R6"  # reclaimed forest that grows significantly on most of its area: conserve it
        else:
            rule = "R7"
        rows.append({"unit_l2": z, "unit_l1": l1, "name_en": u.get("name_en"), "name_zh": u.get("name_zh"),
                     "area_ha": float(u["area_ha"]), "rule": rule, "zone": ZONES[rule]["zone"],
                     "color": ZONES[rule]["color"], **ev})
    return pd.DataFrame(rows)
