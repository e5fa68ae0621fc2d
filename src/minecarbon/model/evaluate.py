"""Evaluate learners on a user's own table (``minecarbon tool fit``): one call, one summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .cv import spatial_groups
from .per_type import FitOptions, ModelSet, fit_model_set


def fit_table(table: pd.DataFrame, target: str, features: Sequence[str], options: FitOptions | None = None,
              x_col: str = "x", y_col: str = "y", block_m: float = 1000.0, link_m: float = 100.0,
              spatial: bool | None = None, type_col: str | None = None, what: str = "table"
              ) -> tuple[ModelSet, dict[str, Any]]:
    """Cross-validate learners on a table of samples (rows) with a target and feature columns.

    Parameters
    ----------
    table : one row per sample (plot).
    target : column of the response (e.g. ``agc_t_ha``).
    features : feature columns.
    options : :class:`.per_type.FitOptions` (learners, folds, grids, ...).
    x_col, y_col : coordinate columns (m, projected CRS) for spatial-block CV.
    block_m, link_m : spatial blocks and linking distance (see :func:`.cv.spatial_groups`).
    spatial : True/False forces the scheme; None: spatial when both coordinate columns exist.
    type_col : optional column of forest type (or any group) for per-type selection.
    what : name of the table for messages.

    Returns
    -------
    (model set, info) with info: ``n``, ``n_dropped`` (rows with a missing value), ``scheme``.

    Raises
    ------
    InputError
        Missing or non-numeric columns, too few rows, constant target.
    """
    cols = [target, *features]
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise InputError(f"{what} has no column(s) {', '.join(missing)} (it has: {', '.join(map(str, table.columns))}). "
                         f"Check --target and --features.")
    if not features:
        raise InputError("No feature columns given; list them with --features A,B,...")
    if len(set(features)) != len(features) or target in features:
        raise InputError(f"Features {', '.join(features)} repeat a column or include the target {target}.")
    num = {}
    for c in cols:
        v = pd.to_numeric(table[c], errors="coerce")
        bad = v.isna() & table[c].notna()
        if bad.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:5])
            raise InputError(f"{what}: column {c} has non-numeric values (e.g. {table[c][bad].iloc[0]!r}) on line(s) "
                             f"{rows}. Fix or remove those rows.")
        num[c] = v.to_numpy(float)
    have_xy = x_col in table.columns and y_col in table.columns
    use_spatial = have_xy if spatial is None else spatial
    if use_spatial and not have_xy:
        raise InputError(f"Spatial-block CV needs coordinate columns {x_col} and {y_col}; {what} lacks them. "
                         f"Name them with --x/--y or use --cv-scheme random.")
    ok = np.all([np.isfinite(num[c]) for c in cols], axis=0)
    if use_spatial:
        xs = pd.to_numeric(table[x_col], errors="coerce").to_numpy(float)
        ys = pd.to_numeric(table[y_col], errors="coerce").to_numpy(float)
        ok &= np.isfinite(xs) & np.isfinite(ys)
    X = np.stack([num[c] for c in features], axis=1)[ok]
    y = num[target][ok]
    groups = spatial_groups(xs[ok], ys[ok], block_m, link_m) if use_spatial else None
    types = None
    if type_col is not None:
        if type_col not in table.columns:
            raise InputError(f"{what} has no column {type_col} (--by).")
        types = table[type_col].to_numpy(object)[ok]
    ms = fit_model_set(X, y, list(features), types, groups, options or FitOptions())
    scheme = (f"spatial blocks of {block_m:g} m ({len(np.unique(groups))} groups)" if use_spatial
              else "random (plain k-fold: no coordinates)")
    return ms, {"n": int(ok.sum()), "n_dropped": int((~ok).sum()), "scheme": scheme}


def summary(ms: ModelSet, info: dict, target: str) -> dict[str, Any]:
    """JSON-ready summary: per learner CV (nested), tuned and training metrics, and the best learner."""
    opts = ms.options
    out = {"target": target, "n": info["n"], "n_dropped": info["n_dropped"], "features": ms.feature_names,
           "cv": {"folds": opts.folds, "repeats": opts.repeats, "inner_folds": opts.inner_folds,
                  "scheme": info["scheme"], "grid_search": opts.grid_search, "selection": opts.selection,
                  "seed": opts.seed},
           "learners": {}, "best": ms.pooled_best}
    for L, f in ms.pooled.items():
        out["learners"][L] = {"cv": f.cv.metrics, "cv_sd_over_repeats": f.cv.metrics_sd,
                              "tuned": f.tuned_metrics, "training": f.training_metrics,
                              "hyper_parameters": {k.removeprefix("learner__"): v for k, v in f.params.items()},
                              "features_used": f.features}
    if ms.choices:
        out["types"] = {str(c): {"n": ch.n_plots, "source": ch.source, "learner": ch.learner, "reason": ch.reason,
                                 "cv": ch.cv_metrics} for c, ch in ms.choices.items()}
    return out
