"""Defaults of the project-file fields whose values the CLI's tool options also take, without pydantic.

:mod:`minecarbon.config` declares these fields with these defaults, and ``minecarbon tool ...`` options
take theirs from here (:func:`minecarbon.cli.options.config_default`), so the two never disagree and a
command's start-up need not import pydantic and build the project-file models (0.3-0.4 s of a short
process such as ``minecarbon tool trend``).  Keyed by section of the project file.
"""

from __future__ import annotations

FIELD_DEFAULTS: dict[str, dict[str, object]] = {
    "plots": {
        "dbh_error_cm": 0.5,
        "height_error_rel": 0.05,
        "mc_draws": 500,
        "mc_seed": 0,
        "dbh_out_of_range": "warn",
    },
    "model": {
        "learners": ("svm", "rf", "gbdt", "xgb", "mlr"),
        "n_estimators": 100,
        "cv_folds": 5,
        "cv_repeats": 1,
        "cv_inner_folds": 3,
        "cv_block_m": 1000.0,
        "min_plots_per_type": 15,
        "seed": 0,
    },
    "assess": {
        "degree_min_agc_t_ha": 1.0,
        "trend_alpha": 0.05,
        "trend_stable_slope_t_ha_yr": 0.0,
        "trend_min_years": 3,
    },
}
"""``{section: {field: default}}``; a list default is given as a tuple (copied into a list where used)."""
