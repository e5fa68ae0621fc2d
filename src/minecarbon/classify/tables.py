"""Table-level entry points (samples table, confusion-matrix table, series table) used by the CLI tools.

Pure functions on pandas DataFrames: they check columns and values and call the science modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model.cv import spatial_groups
from .accuracy import area_estimates
from .classifier import MIN_PER_CLASS, check_samples, cross_validate, majority_baseline


def _numeric(df: pd.DataFrame, cols: Sequence[str], what: str) -> pd.DataFrame:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)} (it has: {', '.join(map(str, df.columns))}).")
    out = df[list(cols)].apply(pd.to_numeric, errors="coerce")
    for c in cols:
        bad = out[c].isna() & df[c].notna()
        if bad.any():
            r = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{what}, column {c}, row {r + 2}: {df[c].iloc[r]!r} is not a number.")
    return out


def classify_table(df: pd.DataFrame, label: str, features: Sequence[str], folds: int = 5, scheme: str = "auto",
                   x_col: str = "x", y_col: str = "y", block_m: float = 1000.0, link_m: float = 0.0,
                   seed: int = 0, n_estimators: int = 200, min_per_class: int = MIN_PER_CLASS,
                   classes: Sequence[str] | None = None, what: str = "table") -> dict:
    """Cross-validated balanced random forest on a samples table: spatial blocks (headline) and random k-fold.

    ``scheme``: ``auto`` (spatial and random when both coordinate columns exist, else random only),
    ``spatial`` (both, spatial first; coordinates required) or ``random`` (random only).
    Rows with a missing feature are left out and counted.
    """
    if not features:
        raise InputError("Give at least one feature column (--features A,B,...).")
    if label not in df.columns:
        raise InputError(f"{what} has no label column {label!r} (it has: {', '.join(map(str, df.columns))}).")
    X = _numeric(df, features, what)
    ok = X.notna().all(axis=1) & df[label].notna()
    n_dropped = int((~ok).sum())
    sub = df[ok]
    y = check_samples(sub[label], classes, min_per_class, what=f"rows of {what}")
    Xv = X[ok].to_numpy(dtype=float)
    have_xy = x_col in df.columns and y_col in df.columns
    if scheme == "spatial" and not have_xy:
        raise InputError(f"--cv-scheme spatial needs coordinate columns {x_col!r} and {y_col!r} in {what} "
                         f"(set --x/--y), or use --cv-scheme random.")
    cls = sorted(set(y))
    out: dict = {"n": int(len(y)), "n_dropped": n_dropped, "label": label, "features": list(features),
                 "classes": cls, "class_counts": {c: int((y == c).sum()) for c in cls},
                 "majority_baseline_oa": majority_baseline(y), "trees": n_estimators, "seed": seed, "cv": {}}
    if scheme in ("auto", "spatial") and have_xy:
        xy = _numeric(sub, [x_col, y_col], what)
        groups = spatial_groups(xy[x_col].to_numpy(), xy[y_col].to_numpy(), block_m, link_m)
        cv = cross_validate(Xv, y, groups, folds, seed, n_estimators, "spatial", cls)
        out["cv"]["spatial"] = {**cv.to_dict(), "block_m": block_m, "link_m": link_m}
    cv = cross_validate(Xv, y, None, folds, seed, n_estimators, "random", cls)
    out["cv"]["random"] = cv.to_dict()
    out["headline"] = "spatial" if "spatial" in out["cv"] else "random"
    return out


def accuracy_from_table(cm: pd.DataFrame, mapped_area: pd.Series | None = None, area_col: str = "mapped_area",
                        unit_factor: float = 1.0, z: float = 1.96, what: str = "confusion matrix") -> dict:
    """OA/UA/PA with 95 % intervals and area estimates from a confusion-matrix table.

    ``cm``: first column the map class of each row, then one column per reference class (same names), counts;
    optionally a column ``area_col`` with the mapped area (or pixel count) of each map class, else
    ``mapped_area`` (Series indexed by class). Areas are multiplied by ``unit_factor`` (e.g. 0.09 ha per
    30 m pixel).
    """
    if cm.shape[1] < 3:
        raise InputError(f"{what} needs a first column of map classes and one column per reference class.")
    cm = cm.copy()
    cm.index = cm.iloc[:, 0].astype(str).str.strip()
    cm = cm.iloc[:, 1:]
    if area_col in cm.columns:
        if mapped_area is not None:
            raise InputError(f"{what} has a {area_col!r} column and mapped areas were given too; give one.")
        mapped_area = _numeric(cm, [area_col], what)[area_col]
        cm = cm.drop(columns=[area_col])
    if mapped_area is None:
        raise InputError(f"No mapped areas: add a {area_col!r} column to {what} or give --areas.")
    cm.columns = [str(c).strip() for c in cm.columns]
    rows, cols = list(cm.index), list(cm.columns)
    if set(rows) != set(cols) or len(rows) != len(cols):
        raise InputError(f"{what}: the row classes ({', '.join(rows)}) and the column classes ({', '.join(cols)}) "
                         f"must be the same set (rows = map classes, columns = reference classes).")
    counts = _numeric(cm, cols, what).loc[:, rows]
    if (counts < 0).any().any() or (counts.fillna(-1) % 1 != 0).any().any():
        raise InputError(f"{what}: every cell must be a non-negative whole count of samples.")
    r = area_estimates(counts, pd.Series(mapped_area).rename(index=str), z=z)
    t = r.table.copy()
    for c in ("mapped_area", "area", "area_se", "area_ci", "area_lo", "area_hi"):
        t[c] = t[c] * unit_factor
    from .accuracy import sample_accuracy

    s = sample_accuracy(counts)
    return {"oa": r.oa, "oa_ci": r.oa_ci, "oa_se": r.oa_se, "z": z, "n": s["n"], "kappa_sample": s["kappa"],
            "oa_sample": s["oa"], "classes": {str(k): {c: float(v) for c, v in row.items()} for k, row in t.iterrows()},
            "table": t}


def phenology_table(df: pd.DataFrame, date_col: str, value_col: str, id_col: str | None = None,
                    clear_col: str | None = None, min_clear: int = 3, frac: float = 0.5,
                    what: str = "table") -> pd.DataFrame:
    """Per series (``id_col``) and calendar year: clear count and phenology features of the gap-filled series."""
    import xarray as xr

    from .phenology import FEATURES, phenology
    from .series import fill_gaps

    need = [date_col, value_col] + ([id_col] if id_col else []) + ([clear_col] if clear_col else [])
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)} (it has: {', '.join(map(str, df.columns))}).")
    d = pd.DataFrame({"date": pd.to_datetime(df[date_col], errors="coerce"),
                      "value": pd.to_numeric(df[value_col], errors="coerce"),
                      "id": df[id_col].astype(str) if id_col else "series"})
    bad = d["date"].isna()
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{what}, column {date_col}, row {r + 2}: {df[date_col].iloc[r]!r} is not a date.")
    if clear_col:
        c = df[clear_col]
        if c.dtype == object or pd.api.types.is_string_dtype(c):
            c = c.astype(str).str.strip().str.lower().map({"true": True, "1": True, "false": False, "0": False})
        elif pd.api.types.is_numeric_dtype(c) and not c.dropna().isin([0, 1]).all():
            c = pd.Series(np.nan, index=c.index)
        if c.isna().any():
            r = int(np.flatnonzero(c.isna().to_numpy())[0])
            raise InputError(f"{what}, column {clear_col}, row {r + 2}: {df[clear_col].iloc[r]!r}; use true/false "
                             f"or 1/0.")
        d["clear"] = c.astype(bool).to_numpy()
    else:
        d["clear"] = True
    d["year"] = d["date"].dt.year
    rows = []
    for (sid, year), g in d.groupby(["id", "year"], sort=True):
        g = g.sort_values("date").drop_duplicates("date", keep="first")
        if len(g) < 5:
            rows.append({"id": sid, "year": int(year), "n_obs": len(g), "n_clear": int(g["clear"].sum()),
                         "flagged": True, **{f: np.nan for f in FEATURES}})
            continue
        v = xr.DataArray(g["value"].to_numpy(float), dims="time", coords={"time": g["date"].to_numpy()})
        c = xr.DataArray(g["clear"].to_numpy(bool), dims="time", coords={"time": g["date"].to_numpy()})
        ds = fill_gaps(v, c, min_clear=min_clear)
        f = phenology(ds.filled, frac=frac).values
        n_clear = int(ds.n_clear)
        rows.append({"id": sid, "year": int(year), "n_obs": len(g), "n_clear": n_clear,
                     "flagged": bool(n_clear < min_clear), **dict(zip(FEATURES, map(float, f)))})
    return pd.DataFrame(rows)


def map_vs_points(class_map, points, ref_col: str, what: str = "class map") -> tuple[pd.DataFrame, pd.Series]:
    """Confusion matrix (counts) of a class map at reference points, and the mapped pixel count per class.

    ``class_map``: (y, x) DataArray of integer class codes (numpy or dask; nodata as NaN or the rio nodata),
    with a transform. ``points``: GeoDataFrame of points in the map's CRS with the reference class in
    ``ref_col``. Points outside the map or on its no-data pixels are an error (they name how many and the
    first row). Classes are compared as text ('2' == 2).
    """
    import dask.array as da_
    import xarray as xr

    if ref_col not in points.columns:
        raise InputError(f"The reference points lack column {ref_col!r} (they have: "
                         f"{', '.join(c for c in points.columns if c != 'geometry')}).")
    if points.empty:
        raise InputError("The reference points layer is empty.")
    if not (points.geom_type == "Point").all():
        raise InputError("The reference layer must hold points (one per validation sample).")
    T = class_map.rio.transform()
    H, W = class_map.sizes["y"], class_map.sizes["x"]
    col = np.floor((points.geometry.x.to_numpy() - T.c) / T.a).astype(np.int64)
    row = np.floor((points.geometry.y.to_numpy() - T.f) / T.e).astype(np.int64)
    outside = (col < 0) | (col >= W) | (row < 0) | (row >= H)
    if outside.any():
        raise InputError(f"{int(outside.sum())} reference point(s) lie outside the {what} (first: row "
                         f"{int(np.flatnonzero(outside)[0]) + 1} of the layer). Remove them or use a map that "
                         f"covers them.")
    vals = class_map.isel(x=xr.DataArray(col, dims="p"), y=xr.DataArray(row, dims="p")).values.astype(float)
    nodata = class_map.rio.nodata
    bad = ~np.isfinite(vals) | ((vals == nodata) if nodata is not None else False)
    if bad.any():
        raise InputError(f"{int(bad.sum())} reference point(s) fall on no-data pixels of the {what} (first: row "
                         f"{int(np.flatnonzero(bad)[0]) + 1}). Remove them.")
    ref = points[ref_col]
    if ref.isna().any():
        raise InputError(f"{int(ref.isna().sum())} reference point(s) have no {ref_col}; label them or drop them.")
    fmt = lambda v: str(int(v)) if float(v).is_integer() else str(v)  # noqa: E731
    map_lab = [fmt(v) for v in vals]
    ref_lab = [fmt(v) if isinstance(v, (int, float, np.integer, np.floating)) else str(v).strip() for v in ref]
    def _count(block):
        b = np.asarray(block).ravel()
        b = b[np.isfinite(b) & ((b != nodata) if nodata is not None else True)].astype(np.int64)
        return np.unique(b, return_counts=True)

    data = class_map.data
    if isinstance(data, da_.Array):
        import dask

        parts = dask.compute(*[dask.delayed(_count)(b) for b in data.to_delayed().ravel()])
    else:
        parts = [_count(data)]
    tally: dict[int, float] = {}
    for c_, n_ in parts:
        for c, n in zip(c_.tolist(), n_.tolist()):
            tally[c] = tally.get(c, 0.0) + n
    codes, counts = np.array(sorted(tally), dtype=np.int64), np.array([tally[k] for k in sorted(tally)])
    mapped = pd.Series(counts.astype(float), index=[str(int(c)) for c in codes])
    classes = sorted(set(mapped.index) | set(map_lab) | set(ref_lab), key=lambda c: (not c.isdigit(), int(c) if c.isdigit() else 0, c))
    from .accuracy import confusion_matrix

    cm = confusion_matrix(map_lab, ref_lab, classes)
    return cm, mapped.reindex(classes).fillna(0.0)
