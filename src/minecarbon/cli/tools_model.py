"""CLI: ``minecarbon tool fit`` - cross-validate AGC learners on a user's own table."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .main import handle_errors, tool
from .options import config_default, json_option


@tool.command("fit")
@click.argument("table", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--target", required=True, help="Column of the response, e.g. agc_t_ha.")
@click.option("--features", required=True, help="Comma-separated feature columns.")
@click.option("--learners", default=",".join(config_default("model", "learners")), show_default=True,
              help="Comma-separated learners: svm, rf, gbdt, xgb, mlr.")
@click.option("--cv", "folds", type=click.IntRange(2, 10000), default=config_default("model", "cv_folds"),
              show_default=True, help="Outer folds (k); the number of rows gives leave-one-out.")
@click.option("--repeats", type=click.IntRange(1, 50), default=config_default("model", "cv_repeats"), show_default=True,
              help="Repeats of the k-fold CV.")
@click.option("--inner", "inner_folds", type=click.IntRange(2, 10), default=config_default("model", "cv_inner_folds"),
              show_default=True,
              help="Folds of the inner grid search.")
@click.option("--no-grid", is_flag=True, help="No grid search (each learner's defaults).")
@click.option("--selection", type=click.Choice(["none", "correlation", "rf_importance", "permutation", "pca"]),
              default="correlation", show_default=True, help="Feature selection inside every fold.")
@click.option("--x", "x_col", default="x", show_default=True, help="Easting column (m) for spatial-block CV.")
@click.option("--y", "y_col", default="y", show_default=True, help="Northing column (m) for spatial-block CV.")
@click.option("--cv-scheme", type=click.Choice(["auto", "spatial", "random"]), default="auto", show_default=True,
              help="auto: spatial blocks when the coordinate columns exist, else plain k-fold.")
@click.option("--block-m", type=float, default=config_default("model", "cv_block_m"), show_default=True,
              help="Spatial block side (m).")
@click.option("--by", "type_col", help="Column of forest type (or group): also choose a model per group.")
@click.option("--min-per-type", type=click.IntRange(2, None), default=config_default("model", "min_plots_per_type"),
              show_default=True,
              help="With --by: groups with fewer rows use the pooled model.")
@click.option("--trees", "n_estimators", type=click.IntRange(10, 5000), default=config_default("model", "n_estimators"),
              show_default=True,
              help="Trees of rf, gbdt and xgb.")
@click.option("--seed", type=int, default=config_default("model", "seed"), show_default=True)
@click.option("--clip/--no-clip", default=True, show_default=True,
              help="Clip predictions at 0 before scoring (AGC is never negative, as the map stage does). "
                   "--no-clip scores the learners' raw predictions, as R's lm with leave-one-out does.")
@click.option("--save", "save_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the best pooled model (and per-group models with --by) as a .skops file + manifest.")
@json_option
@handle_errors
def fit_cmd(table: Path, target: str, features: str, learners: str, folds: int, repeats: int, inner_folds: int,
            no_grid: bool, selection: str, x_col: str, y_col: str, cv_scheme: str, block_m: float,
            type_col: str | None, min_per_type: int, n_estimators: int, seed: int, clip: bool,
            save_path: Path | None, as_json: bool) -> None:
    """Cross-validate learners on TABLE (CSV/XLSX/Parquet): nested grid search, spatial blocks when it has x/y."""
    from ..tools.model import run_fit_tool

    out = run_fit_tool(table, target, features, learners=learners, folds=folds, repeats=repeats,
                       inner_folds=inner_folds, no_grid=no_grid, selection=selection, x_col=x_col, y_col=y_col,
                       cv_scheme=cv_scheme, block_m=block_m, type_col=type_col, min_per_type=min_per_type,
                       n_estimators=n_estimators, seed=seed, clip=clip, save_path=save_path)
    scheme = out["cv"]["scheme"]
    if as_json:
        click.echo(json.dumps(out, indent=2, ensure_ascii=False, default=float))
        return
    click.echo(f"{out['n']} rows ({out['n_dropped']} with missing values left out); {folds}-fold x {repeats} CV, "
               f"{scheme}; grid search {'nested' if not no_grid else 'off'}; selection {selection}; "
               f"{'predictions clipped at 0 (--no-clip for raw)' if clip else 'predictions not clipped'}")
    click.echo(f"{'learner':<8}{'CV R2':>8}{'RMSE':>10}{'MAE':>10}{'bias':>9}{'rRMSE%':>9}{'MRE%':>8}"
               f"{'train R2':>10}")
    for L, d in out["learners"].items():
        c, t = d["cv"], d["training"]
        click.echo(f"{L:<8}{c['r2']:>8.3f}{c['rmse']:>10.3f}{c['mae']:>10.3f}{c['bias']:>9.3f}{c['rrmse_pct']:>9.1f}"
                   f"{c['mre_pct']:>8.1f}{t['r2']:>10.3f}")
    click.echo(f"best (lowest CV RMSE): {out['best']}")
    for msg in out["warnings"]:
        click.echo(f"warning: {msg}", err=True)
    if save_path is not None:
        click.echo(f"saved {save_path} (+ {save_path.with_suffix('.json').name})")
