"""Stage `catalog`: the monitoring database, the raw-input archive, the STAC catalog and the QGIS project.

With ``[catalog].url`` the database is also published to a shared PostGIS
database (``minecarbon.catalog.postgis``).

Runs after every other stage except ``report`` (which queries the database).
Its upstream stages are all stages before it in the run order, so any change of
inputs, settings or outputs upstream rebuilds the database; deleting
``<workspace>/catalog/catalog.gpkg`` makes the stage out of date (its outputs
are checked) and the next run rebuilds it.
"""

from __future__ import annotations

import logging

from ...stage_names import STAGE_NAMES
from ..core import Context, Output, Stage

log = logging.getLogger(__name__)


def _run_catalog(ctx: Context) -> None:
    from ...catalog import build_catalog

    summary = build_catalog(ctx.cfg, db_path=ctx.out("db"), progress=ctx.progress)
    ctx.produced(summary.path)
    if summary.stac is not None:
        ctx.produced(ctx.out("stac"))
    if summary.qgis is not None:
        ctx.produced(summary.qgis)
    log.info("catalog: %d raw inputs, %d outputs, %d tables in %s", summary.n_raw, summary.n_outputs,
             summary.n_tables, summary.path)


STAGE = Stage(
    name="catalog",
    about="Monitoring database (datasets, lineage, plots, trees, units, zonal statistics, models, metrics), "
          "raw-input archive with checksums, STAC catalog of the rasters and QGIS project",
    func=_run_catalog,
    upstream=STAGE_NAMES[:STAGE_NAMES.index("catalog")],  # every stage before it
    content_upstream=True,
    settings=("report", "catalog"),
    outputs=(
        Output("db", "../../catalog/catalog.gpkg", "database",
               "Monitoring database (GeoPackage/SQLite) in <workspace>/catalog/"),
        Output("stac", "../../catalog/stac/catalog.json", "STAC",
               "STAC catalog of the raster products in <workspace>/catalog/stac/"),
        Output("qgis", "../../catalog/minecarbon.qgz", "QGIS project",
               "QGIS project of every output, styled like the report (.qml styles beside the files)"),
    ),
)
