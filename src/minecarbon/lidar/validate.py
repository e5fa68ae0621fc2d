"""Validation of scanned trees against a tape tally (每木检尺) or field trees.

Matching is one-to-one and optimal: the Hungarian algorithm
(:func:`scipy.optimize.linear_sum_assignment`) minimises the summed cost of
the pairs, and pairs beyond the tolerances are not allowed.  Two costs:

* :func:`match_trees` (TLS vs tally): ``(d / max_distance_m)^2 +
  (delta_dbh / dbh_tolerance)^2`` with ``d`` the horizontal distance (m) and
  ``dbh_tolerance = dbh_tolerance_rel * dbh_ref + dbh_tolerance_abs_cm``; a
  pair needs ``d <= max_distance_m`` and ``|delta_dbh| <= dbh_tolerance``.
* :func:`match_treetops` (ALS/CHM treetops vs field trees): the matching index
  of lidaRtRee ``tree_matching`` (Monnet 2011, PhD thesis, Univ. Grenoble,
  pp. 53-55): squared 3-D distance (x, y, height) divided by the squared
  radius ``delta_ground_m + h_prec * H_ref`` (defaults 2.1 m and 0.14), pairs
  with index < 1.  ``greedy=True`` reproduces lidaRtRee's iterative
  lowest-index pairing; the default is the optimal assignment.

:func:`validation_stats` gives detection rate (matched / reference),
commission rate (unmatched detected / detected, optionally counting only the
detected trees inside the plot), and for DBH and height the
bias (mean of detected - reference), RMSE and relative RMSE (RMSE / mean of
the reference values, in %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ..errors import InputError

__all__ = ["match_trees", "match_treetops", "paired_table", "scatter_figure", "validation_stats"]

_BIG = 1e9


def _xy(df: pd.DataFrame, cols: Sequence[str], what: str) -> np.ndarray:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"The {what} lacks column(s) {', '.join(missing)} (it has: {', '.join(map(str, df.columns))}). "
                         f"Add the tree positions (metres, in the scan's frame for a tally: x_local_m, y_local_m).")
    out = df[list(cols)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(out)):
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))[:8] + 2
        raise InputError(f"The {what} has missing or non-numeric positions on line(s) {', '.join(map(str, bad))}. "
                         f"Fill them in or remove those trees.")
    return out


def _assign(cost: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if cost.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    c = np.where(allowed, cost, _BIG)
    r, k = linear_sum_assignment(c)
    ok = allowed[r, k]
    return r[ok], k[ok]


def match_trees(reference: pd.DataFrame, detected: pd.DataFrame, *, max_distance_m: float = 1.0,
                dbh_tolerance_rel: float = 0.3, dbh_tolerance_abs_cm: float = 3.0,
                ref_xy: Sequence[str] = ("x_local_m", "y_local_m"), det_xy: Sequence[str] = ("x", "y"),
                dbh_col: str = "dbh_cm") -> pd.DataFrame:
    """One-to-one matching of detected trees to reference trees by position and DBH.

    Parameters
    ----------
    reference : reference (tally) trees with positions ``ref_xy`` (m) and ``dbh_col`` (cm).
    detected : scanned trees with positions ``det_xy`` (m) and ``dbh_col`` (cm).
    max_distance_m : largest horizontal distance of a pair (m).
    dbh_tolerance_rel, dbh_tolerance_abs_cm : largest DBH difference of a pair:
        ``rel * dbh_ref + abs`` (cm).  Use ``dbh_tolerance_rel = inf`` to match by position only.

    Returns
    -------
    DataFrame with one row per pair: ``ref_index``, ``det_index`` (positional
    indices into the inputs) and ``distance_m``.
    """
    a = _xy(reference, ref_xy, "reference (tally) table")
    b = _xy(detected, det_xy, "detected tree table")
    d = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    allowed = d <= max_distance_m
    cost = (d / max_distance_m) ** 2
    if math.isfinite(dbh_tolerance_rel) and dbh_col in reference.columns and dbh_col in detected.columns:
        dr = pd.to_numeric(reference[dbh_col], errors="coerce").to_numpy(dtype=float)
        dd = pd.to_numeric(detected[dbh_col], errors="coerce").to_numpy(dtype=float)
        tol = dbh_tolerance_rel * dr + dbh_tolerance_abs_cm
        diff = np.abs(dr[:, None] - dd[None, :])
        known = np.isfinite(diff)
        allowed &= ~known | (diff <= tol[:, None])
        cost = cost + np.where(known, (diff / tol[:, None]) ** 2, 1.0)
    r, k = _assign(cost, allowed)
    return pd.DataFrame({"ref_index": r, "det_index": k, "distance_m": d[r, k]})


def match_treetops(reference: np.ndarray, detected: np.ndarray, *, delta_ground_m: float = 2.1,
                   h_prec: float = 0.14, greedy: bool = False) -> pd.DataFrame:
    """Match detected treetops to reference trees with lidaRtRee's 3-D matching index.

    Parameters
    ----------
    reference, detected : (n, 3) arrays of x, y (m) and height (m).
    delta_ground_m, h_prec : matching radius = delta_ground_m + h_prec * reference height.
    greedy : pair the lowest index first and repeat (lidaRtRee); default: optimal assignment.

    Returns
    -------
    DataFrame ``ref_index``, ``det_index``, ``index`` (matching index), ``h_diff_m``
    (detected - reference height), ``plan_diff_m`` (horizontal distance).
    """
    a = np.asarray(reference, dtype=float).reshape(-1, 3)
    b = np.asarray(detected, dtype=float).reshape(-1, 3)
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    norm = (delta_ground_m + h_prec * a[:, 2]) ** 2
    idx = d2 / norm[:, None]
    allowed = idx < 1.0
    if greedy:
        work = np.where(allowed, idx, np.inf)
        r_list, k_list = [], []
        while work.size and np.isfinite(work).any():
            flat = int(np.argmin(work))
            i, j = divmod(flat, work.shape[1])
            r_list.append(i)
            k_list.append(j)
            work[i, :] = np.inf
            work[:, j] = np.inf
        r, k = np.array(r_list, dtype=np.int64), np.array(k_list, dtype=np.int64)
    else:
        r, k = _assign(idx, allowed)
    order = np.argsort(r, kind="stable")
    r, k = r[order], k[order]
    return pd.DataFrame({"ref_index": r, "det_index": k, "index": idx[r, k], "h_diff_m": b[k, 2] - a[r, 2],
                         "plan_diff_m": np.hypot(b[k, 0] - a[r, 0], b[k, 1] - a[r, 1])})


def _errors(det: np.ndarray, ref: np.ndarray) -> dict:
    ok = np.isfinite(det) & np.isfinite(ref)
    if not ok.any():
        return {"n": 0, "bias": math.nan, "rmse": math.nan, "rrmse_pct": math.nan}
    e = det[ok] - ref[ok]
    rmse = float(np.sqrt(np.mean(e ** 2)))
    return {"n": int(ok.sum()), "bias": float(np.mean(e)), "rmse": rmse,
            "rrmse_pct": float(100.0 * rmse / np.mean(ref[ok])) if np.mean(ref[ok]) else math.nan}


def paired_table(reference: pd.DataFrame, detected: pd.DataFrame, matches: pd.DataFrame,
                 ref_id: str = "tree_id", det_id: str = "tree_id") -> pd.DataFrame:
    """Every reference and detected tree in one table: pairs, omissions and commissions.

    Columns ``ref_tree_id``, ``det_tree_id``, ``status`` (matched / omission /
    commission), ``distance_m``, and ``dbh_cm_ref``, ``dbh_cm_det``,
    ``height_m_ref``, ``height_m_det`` where available, plus ``det_qc``.
    """
    def col(df: pd.DataFrame, name: str, idx: np.ndarray) -> np.ndarray:
        if name in df.columns:
            return df[name].to_numpy()[idx]
        return np.full(idx.size, np.nan)

    r = matches["ref_index"].to_numpy(dtype=np.int64)
    k = matches["det_index"].to_numpy(dtype=np.int64)
    om = np.setdiff1d(np.arange(len(reference)), r)
    cm = np.setdiff1d(np.arange(len(detected)), k)
    rows = {
        "ref_tree_id": np.concatenate([col(reference, ref_id, r), col(reference, ref_id, om), np.full(cm.size, None)]),
        "det_tree_id": np.concatenate([col(detected, det_id, k), np.full(om.size, None), col(detected, det_id, cm)]),
        "status": ["matched"] * r.size + ["omission"] * om.size + ["commission"] * cm.size,
        "distance_m": np.concatenate([matches["distance_m"].to_numpy() if "distance_m" in matches else
                                      np.full(r.size, np.nan), np.full(om.size + cm.size, np.nan)]),
    }
    for name in ("dbh_cm", "height_m"):
        rows[f"{name}_ref"] = np.concatenate([col(reference, name, r), col(reference, name, om),
                                              np.full(cm.size, np.nan)]).astype(float)
        rows[f"{name}_det"] = np.concatenate([col(detected, name, k), np.full(om.size, np.nan),
                                              col(detected, name, cm)]).astype(float)
    rows["det_qc"] = np.concatenate([col(detected, "qc", k), np.full(om.size, None), col(detected, "qc", cm)])
    return pd.DataFrame(rows)


def validation_stats(reference: pd.DataFrame, detected: pd.DataFrame, matches: pd.DataFrame,
                     qc_ok_only: bool = False, commission_mask: np.ndarray | None = None) -> dict:
    """Detection, commission and DBH / height errors of matched pairs.

    Parameters
    ----------
    reference, detected, matches : as for :func:`match_trees`.
    qc_ok_only : compute the DBH/height errors on pairs whose detected tree has ``qc == "ok"`` only.
    commission_mask : detected trees that count for the commission rate (e.g. those inside the
        plot: a scan covers a margin around the plot, the tally does not); default all.

    Returns
    -------
    dict with ``n_reference``, ``n_detected``, ``n_matched``, ``detection_rate``,
    ``commission_rate``, and ``dbh_cm`` / ``height_m`` dicts of ``n``, ``bias``,
    ``rmse`` and ``rrmse_pct``.
    """
    r = matches["ref_index"].to_numpy(dtype=np.int64)
    k = matches["det_index"].to_numpy(dtype=np.int64)
    if qc_ok_only and "qc" in detected.columns:
        keep = detected["qc"].to_numpy()[k] == "ok"
        r_e, k_e = r[keep], k[keep]
    else:
        r_e, k_e = r, k
    counted = np.ones(len(detected), dtype=bool) if commission_mask is None else np.asarray(commission_mask, bool)
    unmatched = counted.copy()
    unmatched[k] = False
    n_counted = int(counted.sum())
    out = {"n_reference": len(reference), "n_detected": n_counted, "n_matched": int(r.size),
           "detection_rate": float(r.size / len(reference)) if len(reference) else math.nan,
           "commission_rate": float(unmatched.sum() / n_counted) if n_counted else math.nan}
    for name in ("dbh_cm", "height_m"):
        if name in reference.columns and name in detected.columns:
            ref = pd.to_numeric(reference[name], errors="coerce").to_numpy(dtype=float)[r_e]
            det = pd.to_numeric(detected[name], errors="coerce").to_numpy(dtype=float)[k_e]
            out[name] = _errors(det, ref)
    return out


def scatter_figure(pairs: pd.DataFrame, title: str = ""):
    """Matplotlib figure: scanned vs tallied DBH and height with the 1:1 line (QC-flagged trees hollow)."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    m = pairs[pairs["status"] == "matched"]
    fig = Figure(figsize=(9, 4.2))
    axes = fig.subplots(1, 2)
    for ax, name, label in ((axes[0], "dbh_cm", "DBH (cm)"), (axes[1], "height_m", "Height (m)")):
        ref, det = m[f"{name}_ref"].to_numpy(float), m[f"{name}_det"].to_numpy(float)
        ok = (m["det_qc"].astype(str) == "ok").to_numpy()
        ax.scatter(ref[ok], det[ok], s=18, color="tab:blue", label="QC ok")
        ax.scatter(ref[~ok], det[~ok], s=18, facecolors="none", edgecolors="tab:red", label="QC flagged")
        fin = np.isfinite(ref) & np.isfinite(det)
        if fin.any():
            lo, hi = float(min(ref[fin].min(), det[fin].min())), float(max(ref[fin].max(), det[fin].max()))
            ax.plot([lo, hi], [lo, hi], color="0.4", lw=1)
        ax.set_xlabel(f"Tally {label}")
        ax.set_ylabel(f"TLS {label}")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="upper left", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
