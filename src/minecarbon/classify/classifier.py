"""Random-forest classification of samples and images, with spatially blocked and random CV side by side.

Learner: scikit-learn's ``RandomForestClassifier`` with ``class_weight =
"balanced"`` (each class weighted by n / (k n_c), so a rare species is not
swamped by a common one), a fixed ``random_state`` and one thread per forest,
so that identical calls give identical results (sits issue 1517).

Cross-validation reuses the project's folds (:mod:`minecarbon.model.cv`):
samples are grouped in square spatial blocks (``block_m``, merged across
pairs closer than ``link_m``) that never straddle training and test data; the
*random* scheme treats every sample as its own group. Random CV on spatially
autocorrelated samples is optimistic (Roberts et al. 2017, Ecography
40:913-929; Ploton et al. 2020, Nature Communications 11:4540), which is why
:func:`spatial_vs_random` reports both. Out-of-fold predictions of all folds
are pooled into one confusion matrix (rows = predicted, columns = reference)
and scored by :func:`.accuracy.sample_accuracy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.ensemble import RandomForestClassifier

from ..errors import InputError
from ..model.cv import fold_splits, spatial_groups
from .accuracy import confusion_matrix, sample_accuracy

MIN_PER_CLASS = 5
"""Fewest samples of a class for it to be classified (our choice: one per fold of 5-fold CV)."""


def make_forest(n_estimators: int = 200, seed: int = 0, **params) -> RandomForestClassifier:
    """Balanced, seeded, single-threaded random forest."""
    return RandomForestClassifier(n_estimators=n_estimators, class_weight="balanced", random_state=seed,
                                  n_jobs=1, **params)


def fit_forest(X, y, n_estimators: int = 200, seed: int = 0, **params) -> RandomForestClassifier:
    """Fit :func:`make_forest` on labels encoded as integers; ``class_names_`` holds the labels (str).

    (scikit-learn 1.9's balanced class weights fail on labels that are digit strings such as '2', '8':
    integer codes avoid it.)
    """
    names, codes = np.unique(np.asarray(y).astype(str), return_inverse=True)
    model = make_forest(n_estimators, seed, **params).fit(_features(X), codes)
    model.class_names_ = names
    return model


class LdaForest:
    """Random forest on the features plus their linear discriminants (``species_learner = "lda_rf"``).

    The pixel spectra of a stand are linear mixtures (canopy, ground, shade) scaled by illumination, so the
    directions that separate species are linear combinations of many bands and months that single-feature tree
    splits find poorly; Fisher's linear discriminants (Ledoit-Wolf shrinkage, on standardised features, fitted
    on the training samples only) are appended as features of the balanced forest. Measured on the simulator
    (docs/classify.md): blocked-CV species OA 0.669 -> 0.725 (seed 0), the discriminant analysis alone 0.725.
    """

    def __init__(self, n_estimators: int = 200, seed: int = 0, **params) -> None:
        self.n_estimators, self.seed, self.params = n_estimators, seed, params

    def _z(self, X):
        X = _features(X)
        return np.concatenate([X, self.lda_.transform(self.scaler_.transform(X))], axis=1)

    def fit(self, X, y):
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.preprocessing import StandardScaler

        X = _features(X)
        self.scaler_ = StandardScaler().fit(X)
        self.lda_ = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(self.scaler_.transform(X), y)
        self.forest_ = make_forest(self.n_estimators, self.seed, **self.params).fit(self._z(X), y)
        self.classes_ = self.forest_.classes_
        return self

    def predict(self, X):
        return self.forest_.predict(self._z(X))

    def predict_proba(self, X):
        return self.forest_.predict_proba(self._z(X))


def fit_species(X, y, n_estimators: int = 200, seed: int = 0, learner: str = "rf"):
    """A species classifier: ``"rf"`` (:func:`fit_forest`) or ``"lda_rf"`` (:class:`LdaForest`)."""
    if learner == "rf":
        return fit_forest(X, y, n_estimators, seed)
    if learner != "lda_rf":
        raise InputError(f"Unknown species learner {learner!r}; use 'rf' or 'lda_rf'.")
    names, codes = np.unique(np.asarray(y).astype(str), return_inverse=True)
    model = LdaForest(n_estimators, seed).fit(X, codes)
    model.class_names_ = names
    return model


def predict_labels(model, X) -> np.ndarray:
    """Predicted labels (str) of a :func:`fit_forest` model."""
    return np.asarray(model.class_names_)[model.predict(_features(X)).astype(int)]


def check_samples(y: Sequence, classes: Sequence | None = None, min_per_class: int = MIN_PER_CLASS,
                  what: str = "samples") -> np.ndarray:
    """Labels as a str array; :class:`InputError` for labels outside ``classes`` or classes too small."""
    lab = pd.Series(list(y), dtype=object)
    if lab.isna().any():
        raise InputError(f"{int(lab.isna().sum())} of the {what} have no label; label them or drop those rows.")
    lab = lab.astype(str).str.strip()
    if classes is not None:
        known = {str(c) for c in classes}
        bad = sorted(set(lab) - known)
        if bad:
            raise InputError(f"Label(s) {', '.join(bad)} of the {what} are not in the code list "
                             f"({', '.join(sorted(known))}). Fix the labels or add them to the code list.")
    counts = lab.value_counts()
    if counts.size < 2:
        raise InputError(f"The {what} hold only one class ({', '.join(counts.index)}); a classifier needs at least two.")
    few = counts[counts < min_per_class]
    if not few.empty:
        raise InputError(f"Class(es) {', '.join(f'{c} ({n})' for c, n in few.items())} have fewer than "
                         f"{min_per_class} {what}. Add samples, merge the class into another, or drop it.")
    return lab.to_numpy(dtype=str)


def _features(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise InputError(f"Features must be a table (samples x features), not shape {X.shape}.")
    return X


@dataclass
class ClassCV:
    """Cross-validated classification of samples."""

    scheme: str
    oof: np.ndarray
    """Out-of-fold predicted label of each sample."""
    confusion: pd.DataFrame
    metrics: dict
    folds: int
    n_groups: int

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "folds": self.folds, "groups": self.n_groups, **self.metrics,
                "confusion": {"classes": list(self.confusion.index), "rows_map_cols_reference":
                              self.confusion.to_numpy().tolist()}}


def cross_validate(X, y, groups: np.ndarray | None = None, folds: int = 5, seed: int = 0,
                   n_estimators: int = 200, scheme: str | None = None, classes: Sequence | None = None) -> ClassCV:
    """k-fold CV of the balanced random forest; ``groups`` keeps each group on one side (None: random k-fold)."""
    X = _features(X)
    y = np.asarray(y).astype(str)
    if len(X) != len(y):
        raise InputError(f"{len(X)} feature rows for {len(y)} labels.")
    if not np.all(np.isfinite(X)):
        raise InputError(f"{int((~np.all(np.isfinite(X), axis=1)).sum())} samples have missing feature values; "
                         f"drop them (e.g. pixels without clear observations) before classifying.")
    splits = fold_splits(len(y), groups, folds, seed)
    oof = np.empty(len(y), dtype=object)
    for f, (tr, te) in enumerate(splits):
        model = fit_forest(X[tr], y[tr], n_estimators, seed)
        oof[te] = predict_labels(model, X[te])
    cls = list(classes) if classes is not None else sorted(set(y))
    cm = confusion_matrix(oof, y, cls)
    ng = len(y) if groups is None else int(np.unique(groups).size)
    return ClassCV(scheme=scheme or ("spatial" if groups is not None else "random"), oof=oof.astype(str),
                   confusion=cm, metrics=sample_accuracy(cm), folds=folds, n_groups=ng)


def spatial_vs_random(X, y, xs, ys, block_m: float, folds: int = 5, seed: int = 0, n_estimators: int = 200,
                      link_m: float = 0.0) -> dict[str, ClassCV]:
    """Spatially blocked CV (the headline) and random CV (to show the optimism) on the same samples."""
    groups = spatial_groups(np.asarray(xs, float), np.asarray(ys, float), block_m, link_m)
    return {"spatial": cross_validate(X, y, groups, folds, seed, n_estimators, "spatial"),
            "random": cross_validate(X, y, None, folds, seed, n_estimators, "random")}


def majority_baseline(y) -> float:
    """OA of always predicting the most frequent class."""
    y = pd.Series(np.asarray(y).astype(str))
    return float(y.value_counts().iloc[0] / len(y))


def _predict_block(x: np.ndarray, model) -> np.ndarray:
    shape = x.shape[:-1]
    X = x.reshape(-1, x.shape[-1]).astype(np.float64)
    k = len(model.classes_)
    out = np.full((X.shape[0], k + 2), np.nan, dtype=np.float32)
    ok = np.all(np.isfinite(X), axis=1)
    if ok.any():
        P = model.predict_proba(X[ok])
        srt = np.sort(P, axis=1)
        out[ok, 0] = np.argmax(P, axis=1)
        out[ok, 1] = srt[:, -1] - (srt[:, -2] if k > 1 else 0.0)
        out[ok, 2:] = P
    return out.reshape(*shape, k + 2)


def predict_map(model, features: xr.DataArray, feature_names: Sequence[str] | None = None,
                feature_dim: str = "band") -> xr.Dataset:
    """Class, class probabilities and margin of every pixel (numpy- or dask-backed features).

    Returns a Dataset: ``class_index`` (int16, index into ``model.classes_``, -1 where a feature is missing),
    ``margin`` (float32: highest minus second-highest probability), ``probability`` (``class``, ...).
    """
    if feature_dim not in features.dims:
        raise InputError(f"The feature image has no '{feature_dim}' dimension.")
    if feature_names is not None:
        have = [str(v) for v in features[feature_dim].values]
        miss = [f for f in feature_names if f not in have]
        if miss:
            raise InputError(f"The feature image lacks band(s) {', '.join(miss)} the classifier was trained on.")
        features = features.sel({feature_dim: list(feature_names)})
    if features.chunks is not None:
        features = features.chunk({feature_dim: -1})
    k = len(model.classes_)
    res = xr.apply_ufunc(_predict_block, features, kwargs={"model": model}, input_core_dims=[[feature_dim]],
                         output_core_dims=[["_o"]], dask="parallelized", output_dtypes=[np.float32],
                         dask_gufunc_kwargs={"output_sizes": {"_o": k + 2}})
    idx = res.isel(_o=0)
    cls = xr.where(idx.notnull(), idx, -1).astype(np.int16).drop_vars("_o", errors="ignore")
    names = [str(c) for c in getattr(model, "class_names_", model.classes_)]
    prob = res.isel(_o=slice(2, None)).rename({"_o": "class"}).assign_coords({"class": names})
    prob = prob.transpose("class", *[d for d in features.dims if d != feature_dim])
    ds = xr.Dataset({"class_index": cls, "margin": res.isel(_o=1).drop_vars("_o", errors="ignore"),
                     "probability": prob})
    ds.attrs["classes"] = ",".join(names)
    return ds
