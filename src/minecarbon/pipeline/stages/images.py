"""Stage `images`: scenes -> yearly (and monthly) composites, when the project file names scenes.

With ``[images].scenes`` (a folder of Landsat Collection 2 Level-2 / Sentinel-2
L2A scenes or a local STAC catalog) this stage writes one composite per
project year (``composite_<year>.tif``, and ``composite_<end year>-<MM>.tif``
with ``[images].monthly``) with its scenes CSV, and ``composites.csv``; the
project's ``[images].path`` then points at these files, so every later stage
reads them as it reads user composites.  With ``[images].path`` (ready
composites) the stage does nothing.  Library: :mod:`minecarbon.composite`.

Scene files are not hashed (there may be thousands): after changing files in
the scene folder, re-run with ``--force --stages images``.
"""

from __future__ import annotations

import logging

from ..core import Context, Output, Stage

log = logging.getLogger(__name__)


def _run_images(ctx: Context) -> None:
    cfg = ctx.cfg
    if not cfg.images.scenes:
        log.info("images: [images].path names composites; nothing to do")
        return
    from ...composite.project import run_project_composites

    results = run_project_composites(cfg, ctx.stage_dir(), progress=ctx.progress)
    for r in results:
        ctx.produced(r.path)
        ctx.produced(r.scenes_csv)
        log.info("images: %s from %d of %d scenes, clear observations per pixel min %d, median %.0f; "
                 "%.2f %% without any", r.label, r.n_scenes_used, r.n_scenes, r.clear_count_min,
                 r.clear_count_median, 100 * r.share_no_clear)
    ctx.produced(ctx.out("summary"))
    from ...composite.consistency import write_consistency

    table = write_consistency(cfg, ctx.out("consistency"))
    if table is not None:
        ctx.produced(table)


STAGE = Stage(
    name="images",
    about="Scenes (Landsat C2 L2, Sentinel-2 L2A, STAC) -> cloud-free yearly composites with clear-observation "
          "counts (only when [images].scenes is set)",
    func=_run_images,
    inputs=("area.boundary",),
    settings=("images", "area", "project"),
    outputs=(
        Output("composite", "composite_{year}.tif", "DN (reflectance = DN x 0.0000275 - 0.2); clear_count",
               "Composite of the year's season: bands blue..swir2 and the clear-observation count", per_year=True),
        Output("scenes", "composite_{year}_scenes.csv", "table", "Scenes of the year's window, dates and clear "
               "pixels each", per_year=True),
        Output("summary", "composites.csv", "table", "Every composite: scenes used, dates, clear counts"),
        Output("consistency", "consistency.csv", "reflectance", "Per-year reflectance statistics over stable "
               "pixels (never disturbed, forest in the base and end years): sensor jumps show here"),
    ),
)
