"""Training table: each plot joined to the features of its survey year, averaged over its footprint.

A plot is a square of side ``size_m`` centred on (x, y).  Its feature vector is
the mean of every band over the pixels whose centres fall inside the square;
a plot smaller than a pixel takes the pixel that contains its centre.  Plots
that fall off the stack, or whose footprint is masked (nodata, cloud) in any
band, are *reported* in the excluded table with the reason - never silently
dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import CRSError, InputError, MissingInputError

PLOT_COLUMNS = ("plot_id", "x", "y", "survey_year", "size_m")
KEEP_COLUMNS = ("plot_id", "permanent_id", "x", "y", "survey_year", "size_m", "forest_type", "unit_l1", "unit_l2",
                "agc_t_ha", "agc_sd_t_ha")


def footprint_means(stack: xr.DataArray, x: np.ndarray, y: np.ndarray, size_m: np.ndarray) -> np.ndarray:
    """Mean of each band over each plot's square footprint (pixels whose centres fall inside).

    Parameters
    ----------
    stack : (band, y, x) DataArray on a regular grid (map units: metres).
    x, y : plot centres (m, CRS of the stack).
    size_m : plot side lengths (m).

    Returns
    -------
    ndarray (n_plots, n_bands)
        NaN where the footprint is off the grid or every pixel of it is masked
        in that band.  A plot smaller than a pixel takes the pixel containing
        its centre.
    """
    xs = np.asarray(stack["x"].values, dtype=float)
    ys = np.asarray(stack["y"].values, dtype=float)
    res = abs(float(stack.rio.transform().a))
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    size_m = np.asarray(size_m, dtype=float)
    nb = stack.sizes["band"]
    out = np.full((len(x), nb), np.nan)
    windows = []
    for i, (px, py, s) in enumerate(zip(x, y, size_m)):
        if not (np.isfinite(px) and np.isfinite(py) and np.isfinite(s)):
            continue
        half = max(float(s) / 2.0, res / 2.0 * 0.999)
        cols = np.flatnonzero((xs >= px - half) & (xs <= px + half))
        rows = np.flatnonzero((ys >= py - half) & (ys <= py + half))
        if cols.size == 0 or rows.size == 0:
            continue
        windows.append((i, slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)))
    if not windows:
        return out
    data = stack.data
    if hasattr(data, "dask"):  # read only the windows, in one compute
        import dask

        blocks = dask.compute(*[data[:, r, c] for _, r, c in windows])
    else:
        arr = np.asarray(data)
        blocks = [arr[:, r, c] for _, r, c in windows]
    for (i, _, _), block in zip(windows, blocks):
        flat = np.asarray(block, dtype=float).reshape(nb, -1)
        with np.errstate(all="ignore"):
            cnt = np.isfinite(flat).sum(axis=1)
            tot = np.where(np.isfinite(flat), flat, 0.0).sum(axis=1)
            out[i] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out


def training_table(plots: pd.DataFrame, stacks: Mapping[int, xr.DataArray], target: str = "agc_t_ha",
                   plots_crs=None, what: str = "plot table") -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Join plots to the feature stack of their survey year.

    Parameters
    ----------
    plots : one row per plot with ``plot_id``, ``x``, ``y`` (m), ``survey_year``,
        ``size_m`` and ``target`` (t C/ha); other columns of
        :data:`KEEP_COLUMNS` are carried over when present.
    stacks : survey year -> (band, y, x) feature stack; band names are feature names.
    target : column of the response.
    plots_crs : CRS of the plot coordinates, if known; must equal the stacks' CRS.
    what : name of the plot table for messages.

    Returns
    -------
    table : usable plots with their features (one column per feature).
    excluded : plot_id, survey_year, reason for each plot left out.
    names : feature names (band order of the stacks).

    Raises
    ------
    InputError
        Missing columns; feature stacks of the survey years with different bands.
    MissingInputError
        No feature stack for a survey year.
    CRSError
        The plots' CRS differs from the stacks', or no plot falls on any stack
        (coordinates in another CRS).
    """
    missing = [c for c in (*PLOT_COLUMNS, target) if c not in plots.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)} (it has: {', '.join(map(str, plots.columns))}). "
                         f"Add them (x, y in the project CRS, metres).")
    years = sorted({int(v) for v in pd.to_numeric(plots["survey_year"], errors="coerce").dropna()})
    absent = [y for y in years if y not in stacks]
    if absent:
        raise MissingInputError(f"No feature stack for survey year(s) {', '.join(map(str, absent))} of the plots in "
                                f"{what}. Add the imagery of those years (or correct survey_year) and re-run the "
                                f"features stage.")
    names: list[str] | None = None
    ref_year = None
    for yr in years:
        got = [str(b) for b in stacks[yr]["band"].values]
        if names is None:
            names, ref_year = got, yr
        elif got != names:
            lost = [n for n in names if n not in got]
            extra = [n for n in got if n not in names]
            raise InputError(f"The feature stack of {yr} differs from that of {ref_year}: missing "
                             f"{', '.join(lost) or 'none'}, extra {', '.join(extra) or 'none'}. Every year needs the "
                             f"same features; re-run the features stage for all years (minecarbon run --force "
                             f"--stages features).")
        crs = stacks[yr].rio.crs
        if plots_crs is not None and crs is not None and not _same_crs(plots_crs, crs):
            raise CRSError(f"The plots of {what} are in {plots_crs} but the feature stack of {yr} is in {crs}. "
                           f"Reproject the plot coordinates to the project CRS.")
    names = names or []
    rows, excluded = [], []
    on_grid = 0
    for year, grp in plots.groupby(pd.to_numeric(plots["survey_year"], errors="coerce")):
        year = int(year)
        stack = stacks[year]
        vals = footprint_means(stack, grp["x"].to_numpy(float), grp["y"].to_numpy(float),
                               grp["size_m"].to_numpy(float))
        l, b, r, t = stack.rio.bounds()
        xs, ys = grp["x"].to_numpy(float), grp["y"].to_numpy(float)
        inside = (xs >= l) & (xs <= r) & (ys >= b) & (ys <= t)
        on_grid += int(inside.sum())
        keep = [c for c in KEEP_COLUMNS if c in grp.columns and c != target]
        for (_, row), v, ins in zip(grp.iterrows(), vals, inside):
            reason = None
            if not ins:
                reason = f"outside the feature stack of {year} (x {row['x']:.1f}, y {row['y']:.1f})"
            elif not np.all(np.isfinite(v)):
                bad = [n for n, val in zip(names, v) if not np.isfinite(val)]
                reason = f"on masked or nodata pixels in {year} (features {', '.join(bad[:6])}" \
                         f"{', ...' if len(bad) > 6 else ''})"
            elif not np.isfinite(pd.to_numeric(row[target], errors="coerce")):
                reason = f"no {target} value"
            if reason:
                excluded.append({"plot_id": row["plot_id"], "survey_year": year, "reason": reason})
                continue
            rows.append({**{c: row[c] for c in keep}, target: float(row[target]), **dict(zip(names, v))})
    if len(plots) and on_grid == 0:
        s = stacks[years[0]]
        l, b, r, t = s.rio.bounds()
        raise CRSError(f"None of the {len(plots)} plots of {what} falls on the feature stacks (plots x "
                       f"{plots['x'].min():.6g}..{plots['x'].max():.6g}, y {plots['y'].min():.6g}..{plots['y'].max():.6g}; "
                       f"stack bounds {l:.0f}, {b:.0f}, {r:.0f}, {t:.0f} in {s.rio.crs}). The plot coordinates are "
                       f"probably in another CRS (e.g. longitude/latitude); convert them to the project CRS.")
    cols = [c for c in KEEP_COLUMNS if c in plots.columns or c == target] + names
    table = pd.DataFrame(rows, columns=[c for c in cols if c != target] + [target])
    table = table[[c for c in cols if c in table.columns]]
    return table, pd.DataFrame(excluded, columns=["plot_id", "survey_year", "reason"]), names


def _same_crs(a, b) -> bool:
    from ..errors import CRSError
    from ..io.crs import same_crs

    try:
        return same_crs(a, b)
    except CRSError:  # unparsable CRS: compare as text
        return str(a) == str(b)