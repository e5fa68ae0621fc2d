"""The database interface of the monitoring catalog.

:class:`CatalogBackend` is what the catalog builder, ``minecarbon catalog``
and the report use; they never issue SQL of their own.  The embedded default
is :class:`minecarbon.catalog.gpkg.GeoPackageBackend` (one GeoPackage /
SQLite file in ``<workspace>/catalog/``); the shared one for many projects and
users is :class:`minecarbon.catalog.postgis.PostGISBackend` (PostgreSQL/PostGIS,
one schema per project; ``docs/report.md``, "Monitoring database").

Core tables (columns in :data:`DATASET_COLUMNS`, :data:`LINEAGE_COLUMNS`,
:data:`RUN_COLUMNS`, :data:`TABLE_COLUMNS`):

``datasets``
    every catalogued file: raw inputs (``kind='raw'``), stage outputs
    (``'output'``) and stage manifests (``'manifest'``), with SHA-256, size,
    CRS, bounding box, time span, units, source, producing stage, creation time.
``lineage``
    for each output: the raw inputs (with the checksum they had), the upstream
    stage runs (their fingerprints) and the settings (hash) that produced it.
``runs``
    one row per completed stage: fingerprint, settings (JSON), package
    versions (JSON), start and end time.
``data_tables``
    which database table holds the content of which dataset.

Content tables: ``plots`` and ``units`` (feature layers), ``trees``,
``zonal_statistics``, ``models`` (model cards as JSON), ``metrics`` (long
format), and one table ``<stage>_<output id>`` for every other tabular output.
"""

from __future__ import annotations

import abc
from typing import Iterable

import pandas as pd

DATASET_COLUMNS: tuple[str, ...] = (
    "id", "kind", "stage", "output_id", "year", "path", "archive_path", "sha256", "size_bytes", "format",
    "crs", "bbox_minx", "bbox_miny", "bbox_maxx", "bbox_maxy", "bbox_wgs84", "time_start", "time_end",
    "units", "about", "source", "created", "details")
"""Columns of ``datasets``.  ``path`` is relative to the workspace for outputs and absolute (or relative to
the project file) for raw inputs; ``bbox_*`` are in ``crs``; ``bbox_wgs84`` is 'minlon,minlat,maxlon,maxlat';
``time_start``/``time_end`` are years; ``details`` is JSON (bands, layers, rows, columns ...)."""

LINEAGE_COLUMNS: tuple[str, ...] = ("dataset_id", "stage", "relation", "source_id", "source_sha256")
"""Columns of ``lineage``.  ``relation`` is 'input' (``source_id`` = a raw dataset id, ``source_sha256`` its
checksum when the stage ran), 'upstream' (``source_id`` = 'run:<stage>', ``source_sha256`` that stage's
fingerprint) or 'settings' (``source_id`` = 'settings:<stage>', ``source_sha256`` = SHA-256 of the settings JSON)."""

RUN_COLUMNS: tuple[str, ...] = ("stage", "about", "fingerprint", "settings_json", "settings_sha256",
                                "versions_json", "started", "finished", "seconds", "manifest_path")
"""Columns of ``runs``."""

TABLE_COLUMNS: tuple[str, ...] = ("table_name", "dataset_id", "stage", "output_id", "geometry", "rows")
"""Columns of ``data_tables``."""

STANDARD_TABLES: dict[tuple[str, str], str] = {
    ("plots", "plots_gpkg"): "plots",
    ("plots", "trees"): "trees",
    ("units", "polygons"): "units",
    ("units", "polygons_l1"): "units_level1",
    ("assess", "zonal"): "zonal_statistics",
}
"""Outputs (stage, output id) stored under the standard's table names; every other tabular output is stored
as ``<stage>_<output id>``."""


class CatalogBackend(abc.ABC):
    """What a monitoring-database backend provides.

    Writers are used by :func:`minecarbon.catalog.build_catalog` on a fresh,
    empty database; readers by the CLI, the verifier and the report.  All
    tables are exchanged as pandas / geopandas frames.
    """

    # -- writing ----------------------------------------------------------------
    @abc.abstractmethod
    def write_table(self, name: str, df: pd.DataFrame) -> None:
        """Create table ``name`` from ``df`` (a GeoDataFrame becomes a spatial/feature table)."""

    @abc.abstractmethod
    def finalize(self) -> None:
        """Add indexes and constraints after all tables are written (called once by the builder)."""

    # -- reading ----------------------------------------------------------------
    @abc.abstractmethod
    def tables(self) -> list[str]:
        """Names of the tables in the database."""

    @abc.abstractmethod
    def read_table(self, name: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """A whole table (a GeoDataFrame for feature tables); columns in their stored order."""

    def datasets(self, kind: str | None = None, stage: str | None = None) -> pd.DataFrame:
        """Rows of ``datasets``, optionally filtered by kind and producing stage, ordered by id."""
        df = self.read_table("datasets")
        if kind is not None:
            df = df[df["kind"] == kind]
        if stage is not None:
            df = df[df["stage"] == stage]
        return df.sort_values("id").reset_index(drop=True)

    @abc.abstractmethod
    def dataset(self, dataset_id: str) -> dict | None:
        """One row of ``datasets`` as a dict, or None."""

    @abc.abstractmethod
    def lineage(self, dataset_id: str | None = None) -> pd.DataFrame:
        """Rows of ``lineage`` (of one dataset, or all)."""

    @abc.abstractmethod
    def runs(self) -> pd.DataFrame:
        """Rows of ``runs``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""

    # -- derived helpers (backend independent) --------------------------------------
    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def table_for(self, stage: str, output_id: str) -> str | None:
        """The table holding the content of an output, or None when it was not catalogued as a table."""
        if not self.has_table("data_tables"):
            return None
        t = self.read_table("data_tables")
        hit = t[(t["stage"] == stage) & (t["output_id"] == output_id)]
        return str(hit["table_name"].iloc[0]) if len(hit) else None

    def output_table(self, stage: str, output_id: str) -> pd.DataFrame | None:
        """The content of a tabular output, or None when it is not in the database."""
        name = self.table_for(stage, output_id)
        return None if name is None else self.read_table(name)

    def __enter__(self) -> "CatalogBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
