"""Assessment units (监测评估单元), level 1 and level 2 (the standard, section 2).

Level 1 (by stage of damage and reclamation) and level 2 (by damage type,
after GB/T 43935-2024).  Codes:

=====  ==========================================
L1     meaning
=====  ==========================================
0      outside the monitoring area, or never forest
1      persistent forest 持续森林
2      to-be-damaged forest 拟损毁森林
3      damaged forest 已损毁森林
4      reclaimed forest 已复垦森林
5      other disturbance 其他扰动
=====  ==========================================

Level 2 = 10 x L1 + damage code (1 excavation 挖损, 2 subsidence 塌陷,
3 occupation 压占, 0 none).

The monitoring area is the mining-right boundary buffered by ``[area].buffer_m``
(the standard: generally 100-500 m; :func:`minecarbon.grid.monitoring_area`).
A pixel is in a polygon (area, disturbance, plan, reclamation) when its centre
is (GDAL's rasterisation rule).  Disturbance patches count when their ``year``
is <= the end year, reclaimed patches when their ``year`` (planting) is <= the
end year; planned blocks count whatever their ``planned_year`` (a block still
planned after the end year is to be damaged; one whose planned year has passed
without disturbance is still to be damaged).

Rules, in order of precedence, inside the monitoring area, with F0 / F1 =
forest in the base / end year:

1. reclaimed (reclamation polygon) -> 4, with the damage type of the
   reclamation polygon, or, when it has none, of the disturbance under it
   (0 when neither is known);
2. disturbed by mining by the end year and F0 -> 3, with the damage type
   (where patches of different types overlap: excavation > occupation >
   subsidence, i.e. the more destructive type wins);
3. in a planned mining block, not yet disturbed, and F0 -> 2, damage type of
   the plan (same precedence);
4. F0 and F1 -> 1;
5. F0 xor F1 (forest lost or gained without a mining cause) -> 5;
6. otherwise 0 (e.g. mining on land that was never forest).

Level-1 codes 1 and 5 carry no damage type (level 2 = 10 and 50).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import xarray as xr
from shapely.geometry import shape

from .errors import GridError, InputError

DAMAGE_TYPES = ("excavation", "subsidence", "occupation")
"""Level-2 damage types after GB/T 43935-2024: 挖损, 塌陷, 压占."""

DAMAGE_TYPE_ALIASES = {
    "excavation": "excavation", "挖损": "excavation",
    "subsidence": "subsidence", "塌陷": "subsidence",
    "occupation": "occupation", "压占": "occupation",
}

L1_NODATA = 255
"""Value of the unit rasters outside the monitoring area."""

L1_NAMES = {1: ("persistent forest", "持续森林"), 2: ("to-be-damaged forest", "拟损毁森林"),
            3: ("damaged forest", "已损毁森林"), 4: ("reclaimed forest", "已复垦森林"),
            5: ("other disturbance", "其他扰动")}
DAMAGE_CODES = {"excavation": 1, "subsidence": 2, "occupation": 3}
DAMAGE_NAMES = {0: ("none", "无"), 1: ("excavation", "挖损"), 2: ("subsidence", "塌陷"),
                3: ("occupation", "压占")}
# precedence rank when patches overlap: higher wins
DAMAGE_PRECEDENCE = {"subsidence": 1, "occupation": 2, "excavation": 3}
L2_CODES = (10, 21, 22, 23, 31, 32, 33, 40, 41, 42, 43, 50)
"""Every level-2 code the rules can produce."""


def unit_name(code_l2: int, lang: str = "en") -> str:
    """Human name of a level-2 code, e.g. 32 -> 'damaged forest / subsidence'."""
    l1, dmg = divmod(int(code_l2), 10)
    i = 0 if lang == "en" else 1
    name = L1_NAMES.get(l1, ("outside", "区外"))[i]
    if dmg:
        name += (" / " if lang == "en" else "·") + DAMAGE_NAMES.get(dmg, ("unknown", "未知"))[i]
    return name


def assign_units(in_area: np.ndarray, forest_base: np.ndarray, forest_end: np.ndarray,
                 disturbed_code: np.ndarray, planned_code: np.ndarray,
                 reclaimed_code: np.ndarray, reclaimed: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Apply the unit rules pixel by pixel.

    Parameters
    ----------
    in_area : bool array, pixel centre inside the monitoring area.
    forest_base, forest_end : bool arrays, forest in the base / end year.
    disturbed_code, planned_code : int arrays, damage code (1-3; 0 = none) of mining
        disturbance by the end year and of planned blocks.
    reclaimed_code : int array, damage code of reclaimed land (1-3), 0 = not reclaimed or type
        unknown.
    reclaimed : optional bool array, reclaimed land; default ``reclaimed_code > 0``.  Give it
        when reclaimed polygons may lack a damage type: such pixels then take the disturbance
        code under them.

    Returns
    -------
    (level1, level2) uint8 arrays.

    Raises
    ------
    GridError
        The arrays do not all have the same shape.
    InputError
        A damage code is outside 0-3.
    """
    arrays = {"in_area": in_area, "forest_base": forest_base, "forest_end": forest_end,
              "disturbed_code": disturbed_code, "planned_code": planned_code, "reclaimed_code": reclaimed_code}
    if reclaimed is not None:
        arrays["reclaimed"] = reclaimed
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise GridError(f"The unit layers are not on one grid: shapes {shapes}. Align them to the project "
                        f"grid first.")
    for key in ("disturbed_code", "planned_code", "reclaimed_code"):
        a = np.asarray(arrays[key])
        if a.size and (a.min() < 0 or a.max() > 3):
            raise InputError(f"{key} holds codes outside 0-3 ({np.unique(a[(a < 0) | (a > 3)])[:5]}); damage "
                             f"codes are 1 excavation, 2 subsidence, 3 occupation.")
    f0 = np.asarray(forest_base).astype(bool)
    f1 = np.asarray(forest_end).astype(bool)
    area = np.asarray(in_area).astype(bool)
    disturbed_code = np.asarray(disturbed_code).astype(np.uint8)
    planned_code = np.asarray(planned_code).astype(np.uint8)
    reclaimed_code = np.asarray(reclaimed_code).astype(np.uint8)
    dist = disturbed_code > 0
    rec = (np.asarray(reclaimed).astype(bool) | (reclaimed_code > 0)) if reclaimed is not None \
        else reclaimed_code > 0
    plan = planned_code > 0
    l1 = np.zeros(f0.shape, dtype=np.uint8)
    dmg = np.zeros(f0.shape, dtype=np.uint8)
    rest = area.copy()
    rec_dmg = np.where(reclaimed_code > 0, reclaimed_code, disturbed_code)
    for level, mask, code in ((4, rec, rec_dmg), (3, dist & f0, disturbed_code), (2, plan & f0, planned_code),
                              (1, f0 & f1, None), (5, f0 ^ f1, None)):
        sel = rest & mask
        l1[sel] = level
        if code is not None:
            dmg[sel] = code[sel]
        rest &= ~sel
    l2 = np.where(l1 > 0, l1.astype(np.uint16) * 10 + dmg, 0).astype(np.uint8)
    return l1, l2


def damage_codes(gdf: gpd.GeoDataFrame, what: str = "layer", column: str = "damage_type") -> np.ndarray:
    """Damage codes (1-3) of the features from their ``damage_type`` (English or Chinese names).

    Raises
    ------
    InputError
        A value is not excavation/subsidence/occupation (挖损/塌陷/压占); the message lists the rows.
    """
    if column not in gdf.columns:
        raise InputError(f"{what} has no {column!r} attribute (it has: "
                         f"{', '.join(c for c in gdf.columns if c != 'geometry')}). Add it with one of "
                         f"excavation/subsidence/occupation (挖损/塌陷/压占).")
    raw = gdf[column].astype(str).str.strip()
    mapped = raw.map(lambda s: DAMAGE_TYPE_ALIASES.get(s.lower(), DAMAGE_TYPE_ALIASES.get(s)))
    bad = mapped.isna().to_numpy()
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:8])
        raise InputError(f"{what}: {column} {sorted(set(raw[bad]))} on feature(s) {rows} is not one of "
                         f"excavation/subsidence/occupation (挖损/塌陷/压占). Correct the attribute.")
    return mapped.map(DAMAGE_CODES).to_numpy().astype(np.uint8)


def burn_damage(gdf: gpd.GeoDataFrame | None, template: xr.DataArray, what: str = "layer") -> np.ndarray:
    """Rasterise damage types on the template grid (pixel centres), uint8 codes 1-3 (0 = none).

    Where features overlap, the more destructive type wins: excavation > occupation > subsidence.
    """
    from .grid import rasterize

    if gdf is None or len(gdf) == 0:
        return np.zeros(template.shape[-2:], dtype=np.uint8)
    codes = damage_codes(gdf, what)
    rank_of_code = {DAMAGE_CODES[k]: v for k, v in DAMAGE_PRECEDENCE.items()}
    rank = np.array([rank_of_code[int(c)] for c in codes])
    order = np.argsort(rank, kind="stable")  # higher precedence burned last, wins
    return rasterize(gdf.iloc[order], template, values=codes[order], dtype="uint8")


def unit_polygons(codes: np.ndarray, template: xr.DataArray, level: int = 2) -> gpd.GeoDataFrame:
    """Dissolved polygons of the level-1 or level-2 units with their areas.

    Parameters
    ----------
    codes : (y, x) unit codes of that level (0 = no unit; 255 = outside).
    template : grid of ``codes`` (transform and CRS).
    level : 1 or 2.

    Returns
    -------
    GeoDataFrame, one (multi)polygon per code present: ``unit_l1``, ``unit_l2`` (level 2),
    ``name_en``, ``name_zh``, ``pixels``, ``area_ha`` (pixel count x pixel area, exactly the
    area of the polygon), sorted by code.
    """
    if level not in (1, 2):
        raise InputError(f"level must be 1 or 2, not {level}.")
    l2 = np.asarray(codes).astype(np.int32)
    if level == 1:
        l2 = np.where(np.isin(l2, list(L1_NAMES)), l2 * 10, 0).astype(np.int32)
    mask = np.isin(l2, L2_CODES if level == 2 else [c * 10 for c in L1_NAMES])
    t = template.rio.transform()
    px_ha = abs(t.a * t.e) / 10_000.0
    recs = [{"unit_l2": int(val), "geometry": shape(geom)}
            for geom, val in rasterio.features.shapes(l2, mask=mask.astype(bool), transform=t)]
    crs = template.rio.crs
    if recs:
        polys = gpd.GeoDataFrame(recs, crs=crs).dissolve(by="unit_l2", as_index=False).sort_values("unit_l2")
    else:
        polys = gpd.GeoDataFrame({"unit_l2": pd.Series([], dtype=int)}, geometry=[], crs=crs)
    counts = pd.Series(l2[mask.astype(bool)]).value_counts()
    polys["unit_l1"] = polys["unit_l2"] // 10
    polys["name_en"] = [unit_name(c, "en") for c in polys["unit_l2"]]
    polys["name_zh"] = [unit_name(c, "zh") for c in polys["unit_l2"]]
    polys["pixels"] = [int(counts.get(c, 0)) for c in polys["unit_l2"]]
    polys["unit_l2"] = polys["unit_l2"].astype(int)
    polys["area_ha"] = polys["pixels"] * px_ha
    cols = ["unit_l1", "unit_l2", "name_en", "name_zh", "pixels", "area_ha", "geometry"]
    if level == 1:
        cols.remove("unit_l2")
        polys["name_en"] = [L1_NAMES[c][0] for c in polys["unit_l1"]]
        polys["name_zh"] = [L1_NAMES[c][1] for c in polys["unit_l1"]]
    return polys[cols].reset_index(drop=True)


def unit_areas(codes: np.ndarray, pixel_area_ha: float, level: int = 2) -> pd.DataFrame:
    """Area table of the level-1 or level-2 units present.

    Parameters
    ----------
    codes : (y, x) unit codes of that level (other values, e.g. 0 and 255, are not units).
    pixel_area_ha : area of one pixel (ha).
    level : 1 or 2.

    Returns
    -------
    DataFrame ``unit_l1``, ``unit_l2`` (level 2 only), ``name_en``, ``name_zh``, ``pixels``,
    ``area_ha`` (pixels x pixel area), ``share_pct`` (of all units of that level), sorted by code.
    """
    c = np.asarray(codes).astype(np.int64)
    valid = np.isin(c, L2_CODES if level == 2 else list(L1_NAMES))
    total = int(valid.sum())
    rows = []
    for code, n in sorted(pd.Series(c[valid]).value_counts().items()):
        code = int(code)
        l2 = code if level == 2 else code * 10
        row = {"unit_l1": l2 // 10, "unit_l2": code, "name_en": unit_name(l2, "en"),
               "name_zh": unit_name(l2, "zh"), "pixels": int(n)}
        if level == 1:
            del row["unit_l2"]
        rows.append(row)
    cols = ["unit_l1", "unit_l2", "name_en", "name_zh", "pixels"] if level == 2 else \
        ["unit_l1", "name_en", "name_zh", "pixels"]
    df = pd.DataFrame(rows, columns=cols)
    df["area_ha"] = df["pixels"] * pixel_area_ha
    df["share_pct"] = df["pixels"] / total * 100.0 if total else np.nan
    return df
