"""AGC models: training table, feature selection, learners, honest cross-validation, per-type
selection, safe persistence, blockwise prediction and per-pixel uncertainty.

Modules
-------
:mod:`.metrics`      R², RMSE, MAE, bias, relative errors (formulas in the docstring)
:mod:`.training`     plots joined to their survey year's features over their footprint
:mod:`.selection`    correlation + collinearity pruning, PCA, RF / permutation importance (transformers)
:mod:`.learners`     SVR, random forest, GBDT, XGBoost, MLR as ``select -> scale -> learner`` pipelines
:mod:`.cv`           spatial-block repeated k-fold, nested grid search
:mod:`.nested`       nested CV and final fits of many learners and plot sets, all fits scheduled together
:mod:`.per_type`     best learner per forest type by CV RMSE, pooled fallback
:mod:`.persist`      skops model files with checksum, versions and feature names
:mod:`.predict`      blockwise prediction per forest type, unit totals
:mod:`.uncertainty`  CV-residual interval model and coverage
:mod:`.estimation`   model-assisted (difference / GREG) totals and change from plots, map as model

See ``docs/model.md`` and ``docs/estimation.md``.
"""

from .cv import (
    CVResult,
    check_training_data,
    cross_validate,
    fold_splits,
    grid_search,
    spatial_groups,
)
from .estimation import (
    ChangeResult,
    DensityResult,
    EstimationInputError,
    GregResult,
    StratumRow,
    density,
    greg_change,
    greg_estimate,
)
from .learners import DEFAULT_GRIDS, LEARNERS, fit_forest, make_forest, make_learner, make_model, single_thread
from .metrics import METRIC_KEYS, metrics
from .nested import FitJob, FitResult, nested_cv, run_jobs, tune_and_fit
from .per_type import POOLED, FitOptions, ModelSet, PooledFallbackWarning, fit_model_set
from .persist import ModelVersionWarning, load_models, save_models
from .predict import check_features, predict_by_type, predict_stack, unit_totals
from .selection import (
    SELECTIONS,
    CorrelationSelector,
    ImportanceSelector,
    make_selector,
    selected_features,
    selection_report,
)
from .training import footprint_means, training_table
from .uncertainty import ResidualIntervalModel, coverage, interval_layers

__all__ = [
    "DEFAULT_GRIDS",
    "LEARNERS",
    "METRIC_KEYS",
    "POOLED",
    "SELECTIONS",
    "CVResult",
    "ChangeResult",
    "CorrelationSelector",
    "DensityResult",
    "EstimationInputError",
    "FitJob",
    "FitOptions",
    "FitResult",
    "GregResult",
    "ImportanceSelector",
    "ModelSet",
    "ModelVersionWarning",
    "PooledFallbackWarning",
    "ResidualIntervalModel",
    "StratumRow",
    "check_features",
    "check_training_data",
    "coverage",
    "cross_validate",
    "density",
    "fit_forest",
    "fit_model_set",
    "fold_splits",
    "footprint_means",
    "greg_change",
    "greg_estimate",
    "grid_search",
    "interval_layers",
    "load_models",
    "make_forest",
    "make_learner",
    "make_model",
    "make_selector",
    "metrics",
    "nested_cv",
    "predict_by_type",
    "predict_stack",
    "run_jobs",
    "save_models",
    "selected_features",
    "selection_report",
    "single_thread",
    "spatial_groups",
    "training_table",
    "tune_and_fit",
    "unit_totals",
]
