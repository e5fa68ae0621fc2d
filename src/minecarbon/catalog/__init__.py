"""The monitoring database (监测数据库): catalogue, lineage and archive of every dataset of a project.

The standard (section 6) asks that all process data, raw and processed, are
sorted, catalogued and archived, and that a monitoring database is set up.
``minecarbon.catalog`` keeps, in ``<workspace>/catalog/``:

* ``catalog.gpkg`` - the database (GeoPackage/SQLite; tables ``datasets``,
  ``lineage``, ``runs``, ``plots``, ``trees``, ``units``, ``zonal_statistics``,
  ``models``, ``metrics`` and one table per other tabular output; see
  :mod:`minecarbon.catalog.backend`);
* ``archive/`` - read-only copies of the raw inputs (with ``[report].archive =
  "copy"``; by default inputs are referenced in place, with checksums);
* ``stac/`` - a STAC catalog of the raster products.

With ``[catalog].url`` the same tables are also published to a shared
PostgreSQL/PostGIS database (one schema per project, cross-project views; see
:mod:`minecarbon.catalog.postgis`).

:func:`build_catalog` (the ``catalog`` stage) rebuilds it from the stage
manifests; :func:`verify_catalog` (``minecarbon catalog verify``) re-hashes
every catalogued file.  The backend interface
(:class:`~minecarbon.catalog.backend.CatalogBackend`) is what a
PostgreSQL/PostGIS backend implements (``docs/report.md``).
"""

from .backend import CatalogBackend
from .build import (
           CatalogSummary,
           build_catalog,
           catalog_dir,
           catalog_path,
           open_catalog,
           open_shared_catalog,
           shared_key,
)
from .gpkg import GeoPackageBackend
from .verify import Check, VerifyResult, verify_catalog

__all__ = ["CatalogBackend", "CatalogSummary", "Check", "GeoPackageBackend", "VerifyResult", "build_catalog",
           "catalog_dir", "catalog_path", "open_catalog", "open_shared_catalog", "shared_key", "verify_catalog"]
