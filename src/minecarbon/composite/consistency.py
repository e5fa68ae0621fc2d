"""Cross-year radiometric consistency of the composites over stable pixels.

Stable pixels: forest (coniferous, broadleaf, mixed or sparse code of
``[forest_type_codes]``) in the forest-type maps of both the base and the
end year, outside every disturbance polygon of ``[inputs].disturbance``
(any year), with a clear observation in every year.  Per year: the median
and inter-quartile range of each band's reflectance and of NDVI over those
pixels, the sensors whose scenes were used, and the change of the median
from the previous year.  A step in the table where the sensor mix changes
(TM/ETM+ -> OLI) is a harmonisation problem; a smooth drift is growth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.vrt import WarpedVRT

from ..io import write_table
from .compose import OUT_OFFSET, OUT_SCALE
from .scene import COMPOSITE_BANDS


def stable_mask(cfg, ref: Path) -> np.ndarray | None:
    """Boolean stable-pixel mask on the grid of the composite ``ref`` (None without forest-type maps)."""
    c = cfg.forest_type_codes
    forest_codes = [c.coniferous, c.broadleaf, c.mixed, c.sparse]
    with rasterio.open(ref) as r:
        crs, transform, shape = r.crs, r.transform, (r.height, r.width)
    mask = np.ones(shape, dtype=bool)
    for y in (cfg.project.base, cfg.project.end_year):
        p = cfg.year_path(cfg.inputs.forest_type, y)
        if not p.is_file():
            return None
        with rasterio.open(p) as src, WarpedVRT(src, crs=crs, transform=transform, width=shape[1], height=shape[0],
                                                  resampling=Resampling.nearest) as vrt:
            mask &= np.isin(vrt.read(1), forest_codes)
    if cfg.inputs.disturbance:
        import geopandas as gpd

        d = gpd.read_file(cfg.path(cfg.inputs.disturbance)).to_crs(crs)
        if len(d):
            burnt = rasterize(((g, 1) for g in d.geometry if g is not None and not g.is_empty), out_shape=shape,
                              transform=transform, fill=0, dtype="uint8")
            mask &= burnt == 0
    return mask


def consistency_table(paths: dict[int, Path], stable: np.ndarray) -> pd.DataFrame:
    """Per-year statistics of the composites ``paths`` over the ``stable`` pixels (see the module docstring)."""
    data = {}
    ok = stable.copy()
    for y, p in sorted(paths.items()):
        with rasterio.open(p) as src:
            arr = src.read()
        data[y] = arr
        ok &= arr[-1] > 0
    rows = []
    for y, arr in sorted(data.items()):
        rho = arr[:-1, ok].astype(np.float64) * OUT_SCALE + OUT_OFFSET
        row: dict = {"year": y, "stable_px": int(ok.sum())}
        csv = Path(paths[y]).with_name(Path(paths[y]).stem + "_scenes.csv")
        if csv.is_file():
            sc = pd.read_csv(csv)
            row["sensors"] = ";".join(sorted(set(sc.loc[sc["used"], "family"].astype(str))))
        for i, b in enumerate(COMPOSITE_BANDS):
            q1, q2, q3 = (np.percentile(rho[i], [25, 50, 75]) if rho.shape[1] else (np.nan,) * 3)
            row[f"{b}_median"] = round(float(q2), 5)
            row[f"{b}_iqr"] = round(float(q3 - q1), 5)
        red, nir = rho[COMPOSITE_BANDS.index("red")], rho[COMPOSITE_BANDS.index("nir")]
        ndvi = (nir - red) / (nir + red) if rho.shape[1] else np.array([np.nan])
        row["ndvi_median"] = round(float(np.median(ndvi)), 5)
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in [f"{b}_median" for b in COMPOSITE_BANDS] + ["ndvi_median"]:
        df[col.replace("_median", "_step")] = df[col].diff().round(5)
    return df


def write_consistency(cfg, out: Path) -> Path | None:
    """The consistency table of a project's yearly composites (None when no stable pixel can be defined)."""
    paths = {y: cfg.year_path(cfg.images.path, y) for y in cfg.project.years}
    paths = {y: p for y, p in paths.items() if p.is_file()}
    if not paths:
        return None
    stable = stable_mask(cfg, next(iter(paths.values())))
    if stable is None or not stable.any():
        return None
    return write_table(consistency_table(paths, stable), out)
