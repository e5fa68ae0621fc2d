"""AGC models: training table, cross-validated random forest, blockwise prediction.

Metrics (DOMAIN.md 3.1): R^2 = 1 - sum((y - yhat)^2) / sum((y - mean(y))^2);
RMSE = sqrt(mean((y - yhat)^2)); MAE = mean(|y - yhat|);
rRMSE = RMSE / mean(y) x 100 %; bias = mean(yhat - y).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold

from .errors import InputError


def metrics(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    """R2, RMSE, MAE, rRMSE (%), bias and n of predictions ``yhat`` against ``y``."""
    y = np.asarray(y, dtype=float)
    yhat = np.asarray(yhat, dtype=float)
    ok = np.isfinite(y) & np.isfinite(yhat)
    y, yhat = y[ok], yhat[ok]
    resid = yhat - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    rmse = float(np.sqrt(np.mean(resid ** 2)))
    return {"n": int(y.size),
            "r2": float(1.0 - np.sum(resid ** 2) / ss_tot) if ss_tot > 0 else float("nan"),
            "rmse": rmse, "mae": float(np.mean(np.abs(resid))),
            "rrmse_pct": float(rmse / y.mean() * 100.0) if y.mean() != 0 else float("nan"),
            "bias": float(np.mean(resid))}


def footprint_means(stack: xr.DataArray, x: np.ndarray, y: np.ndarray, size_m: np.ndarray) -> np.ndarray:
    """Mean of each band over each plot's square footprint (pixels whose centres fall inside).

    A plot smaller than a pixel takes the pixel containing its centre.
    Returns (n_plots, n_bands); NaN where the footprint is off the grid or all masked.
    """
    xs = stack["x"].values
    ys = stack["y"].values
    t = stack.rio.transform()
    res = abs(t.a)
    out = np.full((len(x), stack.sizes["band"]), np.nan)
    for i, (px, py, s) in enumerate(zip(x, y, size_m)):
        half = max(float(s) / 2.0, res / 2.0 * 0.999)
        cols = np.flatnonzero((xs >= px - half) & (xs <= px + half))
        rows = np.flatnonzero((ys >= py - half) & (ys <= py + half))
        if cols.size == 0 or rows.size == 0:
            continue
        block = stack.isel(x=slice(cols[0], cols[-1] + 1), y=slice(rows[0], rows[-1] + 1)).values
        with np.errstate(all="ignore"):
            vals = np.nanmean(block.reshape(block.shape[0], -1), axis=1) \
                if np.isfinite(block).any() else np.full(block.shape[0], np.nan)
        out[i] = vals
    return out


def make_forest(n_estimators: int, seed: int) -> RandomForestRegressor:
    """Random forest fitted on all cores.

    Call :func:`fit_forest` rather than ``fit``: it switches prediction to one
    thread afterwards, because scikit-learn sums the trees of a multi-threaded
    ``predict`` in completion order, which makes results differ in the last
    bits from run to run.  Parallelism comes from dask blocks instead.
    """
    return RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=2, random_state=seed, n_jobs=-1)


def fit_forest(X: np.ndarray, y: np.ndarray, n_estimators: int, seed: int) -> RandomForestRegressor:
    rf = make_forest(n_estimators, seed).fit(X, y)
    rf.set_params(n_jobs=1)
    return rf


def cross_validate(X: np.ndarray, y: np.ndarray, n_estimators: int, folds: int, seed: int
                   ) -> tuple[dict[str, float], dict[str, float], np.ndarray]:
    """k-fold CV of a random forest (shuffled, seeded).

    Returns (cv_metrics, training_metrics, out-of-fold predictions).
    """
    if len(y) < folds * 2:
        raise InputError(f"Only {len(y)} usable plots for {folds}-fold cross-validation; the model needs "
                         f"at least {folds * 2}. Add plots or lower [model].cv_folds.")
    if np.nanstd(y) == 0:
        raise InputError("Plot AGC is the same on every plot; a model cannot be fitted. Check the tree table.")
    oof = np.full(len(y), np.nan)
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=seed).split(X):
        rf = fit_forest(X[train], y[train], n_estimators, seed)
        oof[test] = rf.predict(X[test])
    full = fit_forest(X, y, n_estimators, seed)
    return metrics(y, oof), metrics(y, full.predict(X)), oof


def predict_stack(model, stack: xr.DataArray, mask: xr.DataArray | None = None) -> xr.DataArray:
    """Apply a fitted regressor to every pixel of a (band, y, x) stack, blockwise on dask.

    Pixels with any NaN feature, or outside ``mask`` (bool y, x), become NaN.
    """
    nb = stack.sizes["band"]

    def _block(feat: np.ndarray, m: np.ndarray | None = None) -> np.ndarray:
        flat = feat.reshape(nb, -1).T
        ok = np.all(np.isfinite(flat), axis=1)
        if m is not None:
            ok &= m.reshape(-1).astype(bool)
        out = np.full(flat.shape[0], np.nan, dtype=np.float32)
        if ok.any():
            out[ok] = model.predict(flat[ok]).astype(np.float32)
        return out.reshape(feat.shape[1:])

    template = stack.isel(band=0, drop=True)
    data = stack.data
    if hasattr(data, "map_blocks"):
        import dask.array as da

        data = data.rechunk({0: nb})
        mdata = None if mask is None else mask.data
        if mdata is not None and not hasattr(mdata, "map_blocks"):
            mdata = da.from_array(np.asarray(mdata), chunks=data.chunks[1:])
        elif mdata is not None:
            mdata = mdata.rechunk(data.chunks[1:])
        if mdata is None:
            out = data.map_blocks(_block, drop_axis=0, dtype=np.float32)
        else:
            out = da.map_blocks(lambda f, m: _block(f, m), data, mdata[None, ...], drop_axis=0,
                                dtype=np.float32)
    else:
        out = _block(np.asarray(data), None if mask is None else np.asarray(mask))
    return template.copy(data=out).astype("float32")
