"""The learners of the standard (section 4.4 b): SVM, random forest, GBDT, XGBoost, and an MLR baseline.

All are scikit-learn estimators assembled into one pipeline per model::

    select (feature selection, see selection.py) -> scale -> learner

so that selection and scaling are refitted inside every cross-validation fold.
Scaling (``StandardScaler``) is used where the learner needs it: SVR (RBF
kernel distances) and the MLR (only for numerical conditioning; predictions are
unchanged by it).  Tree ensembles are scale-free.

Hyper-parameter grids searched by default (:data:`DEFAULT_GRIDS`) are kept
small so that the demo runs in minutes on two cores; every learner's grid can
be replaced in the project file (``[model.grids.<learner>]``).  Keys are the
parameters of the learner itself (e.g. ``C`` for SVR, ``max_depth`` for GBDT).

Reproducibility: every learner is seeded and runs on one thread
(``n_jobs=1``); parallelism comes from cross-validation folds and from dask
blocks at prediction time.  scikit-learn's multi-threaded forest ``predict``
sums trees in completion order, which changes the last bits from run to run.
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from ..errors import InputError

LEARNERS: dict[str, str] = {
    "svm": "support-vector regression, RBF kernel, standardised features (scikit-learn SVR)",
    "rf": "random forest (scikit-learn RandomForestRegressor, min_samples_leaf=2)",
    "gbdt": "gradient-boosted decision trees (scikit-learn GradientBoostingRegressor)",
    "xgb": "XGBoost (xgboost XGBRegressor, hist trees)",
    "mlr": "multiple linear regression, least squares (scikit-learn LinearRegression) - baseline",
}
"""Learner keys and what they are."""

DEFAULT_GRIDS: dict[str, dict[str, list]] = {
    "svm": {"C": [10.0, 100.0], "epsilon": [0.1, 1.0]},
    "rf": {"max_features": [0.33, 1.0]},
    "gbdt": {"max_depth": [2, 3]},
    "xgb": {"max_depth": [2, 4]},
    "mlr": {},
}
"""Small default hyper-parameter grids (our choice; the standard asks for a grid search but gives none)."""


def make_learner(name: str, seed: int = 0, n_estimators: int = 100) -> Any:
    """A fresh, seeded, single-threaded learner (not a pipeline).

    Parameters
    ----------
    name : one of :data:`LEARNERS`.
    seed : random state.
    n_estimators : trees of rf, gbdt and xgb.
    """
    if name == "svm":
        return SVR(kernel="rbf", C=10.0, epsilon=0.1, gamma="scale")
    if name == "rf":
        return RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=2, max_features=1.0,
                                     random_state=seed, n_jobs=1)
    if name == "gbdt":
        return GradientBoostingRegressor(n_estimators=n_estimators, learning_rate=0.1, max_depth=3,
                                         subsample=0.8, random_state=seed)
    if name == "xgb":
        try:
            from xgboost import XGBRegressor
        except ImportError:
            raise InputError("Learner 'xgb' needs the xgboost package, which is not installed. Install it "
                             "(pip install xgboost) or remove 'xgb' from [model].learners / --learners.") from None

        return XGBRegressor(n_estimators=n_estimators, learning_rate=0.1, max_depth=3, subsample=0.8,
                            colsample_bytree=0.8, min_child_weight=1.0, tree_method="hist",
                            random_state=seed, n_jobs=1)
    if name == "mlr":
        return LinearRegression()
    raise InputError(f"Unknown learner {name!r}; use one of {', '.join(LEARNERS)}.")


def make_model(name: str, selector: Any = "passthrough", seed: int = 0, n_estimators: int = 100) -> Pipeline:
    """``select -> scale -> learner`` pipeline for learner ``name``."""
    scale = StandardScaler() if name in ("svm", "mlr") else "passthrough"
    return Pipeline([("select", selector), ("scale", scale),
                     ("learner", make_learner(name, seed=seed, n_estimators=n_estimators))])


def pipeline_grid(grid: dict[str, list]) -> dict[str, list]:
    """Learner parameter grid -> pipeline parameter grid (``learner__<key>``)."""
    return {f"learner__{k}": list(v) for k, v in grid.items()}


def single_thread(model: Any) -> Any:
    """Set every n_jobs of a fitted model (and its steps) to 1, for bit-reproducible predictions."""
    est = getattr(model, "named_steps", {}).get("learner", model) if hasattr(model, "named_steps") else model
    if hasattr(est, "n_jobs"):
        est.set_params(n_jobs=1)
    return model


def make_forest(n_estimators: int, seed: int) -> RandomForestRegressor:
    """Random forest fitted on all cores (kept for compatibility; see :func:`fit_forest`).

    Call :func:`fit_forest` rather than ``fit``: it switches prediction to one
    thread afterwards, because scikit-learn sums the trees of a multi-threaded
    ``predict`` in completion order, which makes results differ in the last
    bits from run to run.  Parallelism comes from dask blocks instead.
    """
    return RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=2, random_state=seed, n_jobs=-1)


def fit_forest(X, y, n_estimators: int, seed: int) -> RandomForestRegressor:
    """Fit :func:`make_forest` and set it to single-threaded prediction."""
    rf = make_forest(n_estimators, seed).fit(X, y)
    rf.set_params(n_jobs=1)
    return rf
