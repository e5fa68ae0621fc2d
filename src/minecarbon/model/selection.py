"""Feature selection (the standard's Appendix C): correlation, principal components, RF importance.

Every selector is a scikit-learn transformer, so it sits in the model pipeline
and is fitted *inside* each cross-validation fold on that fold's training plots
only: selection cannot leak the test plots' AGC into the score.

* :class:`CorrelationSelector` - Pearson correlation of each feature with AGC,
  then greedy pruning of collinear pairs: features are visited from the most to
  the least correlated with AGC, and one is kept only if its |r| with every
  feature already kept is at most ``max_collinearity``.  Optionally a minimum
  |r| with AGC and a cap on the number of features.
* :class:`ImportanceSelector` - random-forest impurity importance (mean decrease
  of squared error) or permutation importance (mean increase of the squared
  error when a feature is shuffled; scikit-learn ``permutation_importance``
  on held-out thirds of the fold's training plots), keeping the top ``max_features``.
* ``"pca"`` - standardise, then principal components explaining
  ``pca_variance`` of the variance (scikit-learn ``PCA``).  Components replace
  the features (a transform, not a selection).

:func:`selection_report` computes all of them once on the whole training table
so that the report can show which features carry information; the reported
model scores never use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.feature_selection import SelectorMixin
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import InputError

SELECTIONS = ("none", "correlation", "rf_importance", "permutation", "pca")


def _pearson(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of every column of X with y; 0 where a column (or y) is constant."""
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    den = np.sqrt((Xc ** 2).sum(axis=0) * (yc ** 2).sum())
    with np.errstate(all="ignore"):
        r = (Xc * yc[:, None]).sum(axis=0) / den
    return np.where(den > 0, r, 0.0)


def _corr_matrix(X: np.ndarray) -> np.ndarray:
    Xc = X - X.mean(axis=0)
    sd = np.sqrt((Xc ** 2).sum(axis=0))
    with np.errstate(all="ignore"):
        Z = Xc / sd
        R = Z.T @ Z
    R[~np.isfinite(R)] = 0.0
    return R


class CorrelationSelector(SelectorMixin, BaseEstimator):
    """Keep features correlated with the target, pruning collinear pairs.

    Parameters
    ----------
    max_collinearity : a feature whose |Pearson r| with an already kept (more
        target-correlated) feature exceeds this is dropped.  1.0 disables pruning.
    min_abs_r : drop features whose |r| with the target is below this.
    max_features : keep at most this many (the most target-correlated); None: no cap.

    Attributes
    ----------
    target_r_ : r of each input feature with the target.
    collinear_with_ : index of the kept feature that caused each drop (-1: kept or
        dropped for another reason).
    """

    def __init__(self, max_collinearity: float = 0.9, min_abs_r: float = 0.0, max_features: int | None = None):
        self.max_collinearity = max_collinearity
        self.min_abs_r = min_abs_r
        self.max_features = max_features

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        X = X.astype(float)
        y = np.asarray(y, dtype=float)
        r = _pearson(X, y)
        R = _corr_matrix(X)
        order = np.argsort(-np.abs(r), kind="stable")
        kept: list[int] = []
        collinear = np.full(X.shape[1], -1)
        for j in order:
            if abs(r[j]) < self.min_abs_r and kept:
                continue
            clash = [k for k in kept if abs(R[j, k]) > self.max_collinearity]
            if clash:
                collinear[j] = clash[0]
                continue
            kept.append(int(j))
            if self.max_features is not None and len(kept) >= self.max_features:
                break
        mask = np.zeros(X.shape[1], dtype=bool)
        mask[kept] = True
        self.target_r_ = r
        self.collinear_with_ = collinear
        self.support_ = mask
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_


class ImportanceSelector(SelectorMixin, BaseEstimator):
    """Keep the features a random forest finds most important.

    Parameters
    ----------
    method : ``"impurity"`` (mean decrease of squared error) or ``"permutation"``.
    max_features : number of features kept (the most important); None: those with
        importance above the mean importance (impurity) or above 0 (permutation).
    n_estimators, random_state : the forest (``min_samples_leaf=2``).
    n_repeats : shuffles per feature for permutation importance.

    Attributes
    ----------
    importances_ : importance of each input feature.
    """

    def __init__(self, method: str = "impurity", max_features: int | None = 8, n_estimators: int = 200,
                 random_state: int = 0, n_repeats: int = 5):
        self.method = method
        self.max_features = max_features
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_repeats = n_repeats

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        if self.method not in ("impurity", "permutation"):
            raise InputError(f"ImportanceSelector method {self.method!r} is not 'impurity' or 'permutation'.")
        if self.method == "impurity":
            imp = self._forest().fit(X, y).feature_importances_
        else:
            imp = held_out_permutation_importance(self._forest(), X, y, n_repeats=self.n_repeats,
                                                  random_state=self.random_state)
        self.importances_ = np.asarray(imp, dtype=float)
        order = np.argsort(-self.importances_, kind="stable")
        if self.max_features is not None:
            keep = order[:max(1, min(self.max_features, X.shape[1]))]
        else:
            thr = self.importances_.mean() if self.method == "impurity" else 0.0
            keep = np.flatnonzero(self.importances_ > thr)
            if keep.size == 0:
                keep = order[:1]
        mask = np.zeros(X.shape[1], dtype=bool)
        mask[keep] = True
        self.support_ = mask
        return self

    def _get_support_mask(self):
        check_is_fitted(self, "support_")
        return self.support_

    def _forest(self) -> RandomForestRegressor:
        return RandomForestRegressor(n_estimators=self.n_estimators, min_samples_leaf=2,
                                     random_state=self.random_state, n_jobs=1)


def held_out_permutation_importance(model, X: np.ndarray, y: np.ndarray, n_splits: int = 3, n_repeats: int = 5,
                                    random_state: int = 0) -> np.ndarray:
    """Permutation importance on held-out samples: mean over ``n_splits`` shuffled folds.

    In each fold ``model`` (cloned) is fitted on the other folds and each feature's
    importance is the mean increase of the squared error on the held-out fold when
    that feature is shuffled (scikit-learn ``permutation_importance``, ``n_repeats``
    shuffles).  On the training samples themselves a forest would find noise
    features important, because it has memorised them.
    """
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    k = max(2, min(n_splits, len(y) // 2))
    out = []
    for tr, te in KFold(k, shuffle=True, random_state=random_state).split(X):
        est = clone(model).fit(X[tr], y[tr])
        out.append(permutation_importance(est, X[te], y[te], n_repeats=n_repeats, random_state=random_state,
                                          scoring="neg_mean_squared_error", n_jobs=1).importances_mean)
    return np.mean(out, axis=0)


def make_selector(name: str, max_collinearity: float = 0.9, min_abs_r: float = 0.0,
                  max_features: int | None = None, pca_variance: float = 0.95, seed: int = 0,
                  n_estimators: int = 200):
    """The transformer for selection ``name`` (one of :data:`SELECTIONS`); ``"passthrough"`` for none."""
    if name == "none":
        return "passthrough"
    if name == "correlation":
        return CorrelationSelector(max_collinearity=max_collinearity, min_abs_r=min_abs_r,
                                   max_features=max_features)
    if name in ("rf_importance", "permutation"):
        return ImportanceSelector(method="impurity" if name == "rf_importance" else "permutation",
                                  max_features=max_features if max_features is not None else 8,
                                  n_estimators=n_estimators, random_state=seed)
    if name == "pca":
        return Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=pca_variance, svd_solver="full"))])
    raise InputError(f"Unknown feature selection {name!r}; use one of {', '.join(SELECTIONS)}.")


def selected_features(model, names: list[str]) -> list[str]:
    """Names of the features a fitted model pipeline keeps (PCA: the input names, all used)."""
    sel = getattr(model, "named_steps", {}).get("select") if hasattr(model, "named_steps") else None
    if sel is None or sel == "passthrough" or isinstance(sel, Pipeline):
        return list(names)
    return [n for n, keep in zip(names, sel.get_support()) if keep]


def selection_report(X: np.ndarray, y: np.ndarray, names: list[str], max_collinearity: float = 0.9,
                     seed: int = 0, n_estimators: int = 200, pca_variance: float = 0.95
                     ) -> tuple[pd.DataFrame, dict]:
    """Every selection criterion on the whole table, for the report (not used for scoring).

    Returns
    -------
    table : one row per feature: ``r_with_target``, ``rank_abs_r``, ``kept_by_correlation``,
        ``collinear_with``, ``rf_importance`` (impurity), ``permutation_importance`` (held out,
        increase of MSE, see :func:`held_out_permutation_importance`), ``pc1_loading``, ``pc2_loading``.
    pca : ``explained_variance_ratio`` (list) and ``n_components`` reaching ``pca_variance``.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    cs = CorrelationSelector(max_collinearity=max_collinearity).fit(X, y)
    rf = RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=2, random_state=seed, n_jobs=1)
    perm = held_out_permutation_importance(rf, X, y, n_repeats=5, random_state=seed)
    rf.fit(X, y)
    Z = StandardScaler().fit_transform(X)
    pca = PCA(svd_solver="full").fit(Z)
    ratio = pca.explained_variance_ratio_
    n_comp = int(np.searchsorted(np.cumsum(ratio), pca_variance) + 1)
    rank = np.empty(len(names), dtype=int)
    rank[np.argsort(-np.abs(cs.target_r_), kind="stable")] = np.arange(1, len(names) + 1)
    table = pd.DataFrame({
        "feature": names,
        "r_with_target": cs.target_r_,
        "rank_abs_r": rank,
        "kept_by_correlation": cs.get_support(),
        "collinear_with": [names[k] if k >= 0 else "" for k in cs.collinear_with_],
        "rf_importance": rf.feature_importances_,
        "permutation_importance": perm,
        "pc1_loading": pca.components_[0] if len(ratio) > 0 else np.nan,
        "pc2_loading": pca.components_[1] if len(ratio) > 1 else np.nan,
    })
    return table, {"explained_variance_ratio": [float(v) for v in ratio],
                   "n_components": min(n_comp, len(ratio)), "variance_target": pca_variance}
