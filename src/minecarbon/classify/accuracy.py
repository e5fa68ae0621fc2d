"""Accuracy of class maps: confusion matrix, OA, kappa, UA/PA, and stratified area estimates.

Two kinds of numbers, kept apart:

* **Sample accuracy** (:func:`sample_accuracy`): proportions of a confusion
  matrix of counts, every sample weighted alike - what cross-validation gives.
  OA = sum n_ii / n; UA_i = n_ii / n_i. (map row); PA_j = n_jj / n_.j
  (reference column); Cohen's kappa = (p_o - p_e) / (1 - p_e) with
  p_e = sum n_i. n_.i / n^2.
* **Area-weighted accuracy and area estimates** (:func:`area_estimates`): the
  stratified estimator of Olofsson et al. (2014, Remote Sensing of
  Environment 148:42-57, equations 2-11) for a validation sample drawn by
  stratified random sampling with the map classes as strata (simple random
  and systematic samples are the post-stratified case). With W_i the mapped
  area share of class i and n_i. its sample size:

  p_ij = W_i n_ij / n_i.                                       (eq. 4)
  OA = sum_j p_jj; UA_i = p_ii / p_i.; PA_j = p_jj / p_.j       (eq. 1-3)
  V(OA) = sum_i W_i^2 UA_i (1 - UA_i) / (n_i. - 1)             (eq. 5)
  V(UA_i) = UA_i (1 - UA_i) / (n_i. - 1)                       (eq. 6)
  V(PA_j) = N_.j^-2 [ N_j.^2 (1 - PA_j)^2 UA_j (1 - UA_j) / (n_j. - 1)
            + PA_j^2 sum_{i != j} N_i.^2 n_ij/n_i. (1 - n_ij/n_i.) / (n_i. - 1) ]
                                    with N_.j = sum_i N_i. n_ij / n_i.   (eq. 7)
  area_j = A p_.j; S(p_.j) = sqrt( sum_i (W_i p_ij - p_ij^2) / (n_i. - 1) )
                                                               (eq. 9-10)
  95 % interval: estimate +/- 1.96 SE                          (eq. 11)

  Checked against the paper's worked example (section 5, Table 8) in
  ``tests/classify/test_accuracy.py``.

Rows of every confusion matrix are **map** (predicted) classes, columns
**reference** classes, as in Olofsson et al. (2014).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

Z95 = 1.959963984540054
"""Two-sided 95 % normal quantile (Olofsson et al. 2014 use 1.96)."""


def confusion_matrix(map_labels: Sequence, ref_labels: Sequence, classes: Sequence | None = None) -> pd.DataFrame:
    """Counts of (map, reference) pairs: rows = map classes, columns = reference classes.

    ``classes`` fixes the order and includes classes absent from both inputs; labels outside it raise
    :class:`InputError`. Missing labels (None/NaN) are left out.
    """
    m = pd.Series(list(map_labels), dtype=object)
    r = pd.Series(list(ref_labels), dtype=object)
    if len(m) != len(r):
        raise InputError(f"Map and reference labels differ in length ({len(m)} and {len(r)}).")
    keep = m.notna() & r.notna()
    m, r = m[keep], r[keep]
    if classes is None:
        classes = sorted(set(m) | set(r), key=lambda c: (str(type(c)), c))
    classes = list(classes)
    unknown = sorted({str(c) for c in set(m) | set(r)} - {str(c) for c in classes})
    if unknown:
        raise InputError(f"Label(s) {', '.join(unknown)} are not in the class list ({', '.join(map(str, classes))}). "
                         f"Fix the labels or add the classes to the code list.")
    pos = {str(c): i for i, c in enumerate(classes)}
    cm = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(cm, (np.array([pos[str(c)] for c in m], dtype=np.int64),
                   np.array([pos[str(c)] for c in r], dtype=np.int64)), 1)
    names = [str(c) for c in classes]
    return pd.DataFrame(cm, index=pd.Index(names, name="map"), columns=pd.Index(names, name="reference"))


def _counts(cm) -> tuple[np.ndarray, list[str]]:
    if isinstance(cm, pd.DataFrame):
        names = [str(c) for c in cm.index]
        if [str(c) for c in cm.columns] != names:
            raise InputError(f"The confusion matrix must have the same classes in rows (map) and columns "
                             f"(reference), in the same order; rows {names}, columns {list(map(str, cm.columns))}.")
        arr = cm.to_numpy(dtype=float)
    else:
        arr = np.asarray(cm, dtype=float)
        names = [str(i) for i in range(arr.shape[0])]
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise InputError(f"A confusion matrix must be square with at least 2 classes, not shape {arr.shape}.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InputError("The confusion matrix has negative, missing or infinite counts; it must hold sample counts.")
    return arr, names


def sample_accuracy(cm) -> dict:
    """OA, Cohen's kappa, per-class UA (rows) and PA (columns) of a count matrix, samples weighted alike.

    A class with no mapped (UA) or no reference (PA) sample gets NaN.
    """
    n, names = _counts(cm)
    tot = n.sum()
    if tot == 0:
        raise InputError("The confusion matrix is empty (no samples).")
    diag = np.diag(n)
    rows, cols = n.sum(axis=1), n.sum(axis=0)
    po = diag.sum() / tot
    pe = float((rows * cols).sum() / tot**2)
    kappa = (po - pe) / (1 - pe) if pe < 1 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        ua = np.where(rows > 0, diag / rows, np.nan)
        pa = np.where(cols > 0, diag / cols, np.nan)
        f1 = np.where(ua + pa > 0, 2 * ua * pa / (ua + pa), np.nan)
    return {"n": int(tot), "oa": float(po), "kappa": float(kappa),
            "ua": dict(zip(names, map(float, ua))), "pa": dict(zip(names, map(float, pa))),
            "f1": dict(zip(names, map(float, f1)))}


@dataclass
class AreaAccuracy:
    """Olofsson et al. (2014) estimates of a stratified validation sample."""

    table: pd.DataFrame
    """One row per class: n (samples mapped to it), mapped_area, weight, ua, ua_se, ua_ci, pa, pa_se, pa_ci,
    area, area_se, area_ci (95 % half-widths = z x SE), area_lo, area_hi."""
    p: pd.DataFrame
    """Estimated area proportions p_ij (rows map, columns reference)."""
    oa: float
    oa_se: float
    oa_ci: float
    z: float

    def to_dict(self) -> dict:
        return {"oa": self.oa, "oa_se": self.oa_se, "oa_ci": self.oa_ci, "z": self.z,
                "classes": {str(k): {c: float(v) for c, v in row.items()} for k, row in self.table.iterrows()},
                "p": self.p.round(12).to_dict(orient="index")}


def area_estimates(cm, mapped_area: Sequence[float] | pd.Series, z: float = 1.96) -> AreaAccuracy:
    """Stratified estimator of accuracy and area (Olofsson et al. 2014, eq. 1-11).

    Parameters
    ----------
    cm : sample counts, rows = map classes (strata), columns = reference classes (DataFrame or array).
    mapped_area : mapped area (or pixel count) of each map class, in the rows' order (a Series is aligned
        by class name). Areas come out in the same unit.
    z : normal quantile of the interval (1.96 in the paper; :data:`Z95` for the exact 95 %).
    """
    n, names = _counts(cm)
    if isinstance(mapped_area, pd.Series):
        missing = [c for c in names if c not in set(map(str, mapped_area.index))]
        if missing:
            raise InputError(f"No mapped area for class(es) {', '.join(missing)}; give one per map class.")
        am = np.array([float(mapped_area.rename(index=str)[c]) for c in names])
    else:
        am = np.asarray(mapped_area, dtype=float)
    if am.shape != (len(names),):
        raise InputError(f"{len(am)} mapped area(s) for {len(names)} classes; give one per map class (row).")
    if not np.all(np.isfinite(am)) or np.any(am < 0) or am.sum() <= 0:
        raise InputError("Mapped areas must be finite, non-negative and not all zero.")
    ni = n.sum(axis=1)
    small = [names[i] for i in range(len(names)) if am[i] > 0 and ni[i] < 2]
    if small:
        raise InputError(f"Map class(es) {', '.join(small)} have fewer than 2 validation samples; the variance "
                         f"needs at least 2 per stratum (Olofsson et al. 2014, eq. 5-10). Add samples.")
    A = am.sum()
    W = am / A
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(ni[:, None] > 0, n / ni[:, None], 0.0)  # n_ij / n_i.
        p = W[:, None] * frac
        dof = np.where(ni > 1, ni - 1, np.inf)
        diag = np.diag(p)
        pi, pj = p.sum(axis=1), p.sum(axis=0)
        ua = np.where(pi > 0, diag / pi, np.nan)
        pa = np.where(pj > 0, diag / pj, np.nan)
        oa = float(diag.sum())
        ua0 = np.nan_to_num(ua)
        v_oa = float(np.sum(W**2 * ua0 * (1 - ua0) / dof))
        v_ua = ua * (1 - ua) / dof
        Ni = am  # N_i. (mapped size of stratum i)
        Nj = (Ni[:, None] * frac).sum(axis=0)  # estimated reference size of class j
        v_pa = np.full(len(names), np.nan)
        for j in range(len(names)):
            if not Nj[j] > 0:
                continue
            other = sum(Ni[i] ** 2 * frac[i, j] * (1 - frac[i, j]) / dof[i] for i in range(len(names)) if i != j)
            v_pa[j] = (Ni[j] ** 2 * (1 - pa[j]) ** 2 * ua0[j] * (1 - ua0[j]) / dof[j] + pa[j] ** 2 * other) / Nj[j] ** 2
        s_p = np.sqrt(((W[:, None] * p - p**2) / dof[:, None]).sum(axis=0))
    area = A * pj
    area_se = A * s_p
    table = pd.DataFrame({
        "n": ni.astype(int), "mapped_area": am, "weight": W,
        "ua": ua, "ua_se": np.sqrt(v_ua), "ua_ci": z * np.sqrt(v_ua),
        "pa": pa, "pa_se": np.sqrt(v_pa), "pa_ci": z * np.sqrt(v_pa),
        "area": area, "area_se": area_se, "area_ci": z * area_se,
        "area_lo": area - z * area_se, "area_hi": area + z * area_se,
    }, index=pd.Index(names, name="class"))
    return AreaAccuracy(table=table, p=pd.DataFrame(p, index=names, columns=names), oa=oa,
                        oa_se=float(np.sqrt(v_oa)), oa_ci=float(z * np.sqrt(v_oa)), z=z)
