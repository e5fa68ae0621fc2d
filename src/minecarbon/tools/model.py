"""The model-fitting tool as a library: cross-validate AGC learners on a user's own table.

``minecarbon tool fit`` (:mod:`minecarbon.cli.tools_model`) only parses
options and prints the summary :func:`run_fit_tool` returns.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def names(text: str | None) -> list[str]:
    """``"rf, mlr"`` -> ``["rf", "mlr"]``."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def run_fit_tool(table: Path, target: str, features: str, *, learners: str, folds: int, repeats: int,
                 inner_folds: int, no_grid: bool = False, selection: str = "none", x_col: str = "x",
                 y_col: str = "y", cv_scheme: str = "auto", block_m: float = 1000.0, type_col: str | None = None,
                 min_per_type: int = 15, n_estimators: int = 100, seed: int = 0, clip: bool = True,
                 save_path: Path | None = None) -> dict:
    """Cross-validate ``learners`` on ``table`` (CSV/XLSX/Parquet): nested grid search, spatial blocks when it has
    x/y; save the models to ``save_path`` when given.

    Returns :func:`minecarbon.model.evaluate.summary` with ``warnings`` (minecarbon's) and ``saved`` added.
    """
    import warnings

    from ..io import read_table
    from ..model.evaluate import fit_table, summary
    from ..model.learners import DEFAULT_GRIDS, LEARNERS
    from ..model.per_type import FitOptions

    chosen = names(learners)
    bad = [n for n in chosen if n not in LEARNERS]
    if bad or not chosen:
        raise InputError(f"--learners: unknown {', '.join(bad) or '(none given)'}; use any of {', '.join(LEARNERS)}.")
    if save_path is not None and save_path.resolve() == table.resolve():
        raise InputError(f"--save {save_path} is the input table; choose another file name.")
    df = read_table(table, what="table")
    opts = FitOptions(learners=tuple(chosen), selection=selection, grid_search=not no_grid,
                      grids=dict(DEFAULT_GRIDS), folds=folds, repeats=repeats, inner_folds=min(inner_folds, folds),
                      n_estimators=n_estimators, seed=seed, per_type=type_col is not None,
                      min_plots_per_type=min_per_type, clip_min=0.0 if clip else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ms, info = fit_table(df, target, names(features), opts, x_col=x_col, y_col=y_col, block_m=block_m,
                             spatial=None if cv_scheme == "auto" else cv_scheme == "spatial", type_col=type_col,
                             what=str(table))
    out = summary(ms, info, target)
    out["cv"]["predictions_clipped_at"] = 0.0 if clip else None
    out["warnings"] = [str(w.message) for w in caught if "minecarbon" in w.category.__module__]
    if save_path is not None:
        from ..model.persist import save_models

        save_models(save_path, ms.models, ms.feature_names,
                    {"target": target, "pooled_learner": ms.pooled_best,
                     "type_models": {str(c): ch.model_key for c, ch in ms.choices.items()}})
        out["saved"] = str(save_path)
    return out
