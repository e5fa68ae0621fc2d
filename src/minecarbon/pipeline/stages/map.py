"""Stage `map`."""

from __future__ import annotations

import json
import logging

import pandas as pd

from ... import model
from ...errors import StageError
from ...io import open_raster, write_raster
from ..core import Context, Output, Stage, register
from ._common import L1_NODATA

log = logging.getLogger(__name__)


def _run_map(ctx: Context) -> None:
    cfg = ctx.cfg
    tab = pd.read_csv(ctx.out("training", stage="model"))
    card = json.loads(ctx.out("card", stage="model").read_text(encoding="utf-8"))
    names = card["features"]
    rf = model.fit_forest(tab[names].to_numpy(float), tab["agc_t_ha"].to_numpy(float),
                          cfg.model.n_estimators, cfg.model.seed)
    l1 = open_raster(ctx.out("level1", stage="units"), what="units", chunks=cfg.run.chunk_px, masked=False)
    mask = (l1.isel(band=0) > 0) & (l1.isel(band=0) != L1_NODATA)
    for year in cfg.project.years:
        ctx.progress(f"AGC map {year}")
        stack = open_raster(ctx.out("stack", year=year, stage="features"), what=f"features {year}",
                            chunks=cfg.run.chunk_px)
        got = [str(b) for b in stack["band"].values]
        if got != names:
            raise StageError(f"Feature stack {year} has bands {got}, the model was trained on {names}. "
                             f"Re-run with --force --stages features,model,map.")
        agc = model.predict_stack(rf, stack, mask).clip(min=0)
        ctx.produced(write_raster(agc, ctx.out("agc", year=year), ["agc_t_ha"], units="t C/ha"))


register(Stage(
    name="map",
    about="Yearly AGC density maps (t C/ha) inside the forest units",
    func=_run_map,
    upstream=("model", "features", "units"),
    settings=("model", "run"),
    outputs=(Output("agc", "agc_{year}.tif", "t C/ha", "AGC density of one year", per_year=True),),
))

