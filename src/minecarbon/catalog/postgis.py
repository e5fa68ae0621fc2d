"""The shared backend: a PostgreSQL/PostGIS database that holds the catalogs of many projects.

Layout (``docs/report.md``, "A PostgreSQL/PostGIS backend"):

* one schema per project, ``mc_<key>``, with the same tables as the GeoPackage
  (``datasets``, ``lineage``, ``runs``, ``data_tables``, the content tables;
  feature tables as PostGIS geometry columns with their SRID and a GiST index);
* schema ``minecarbon``: table ``projects`` (one row per catalogued project)
  and the cross-project views of :mod:`minecarbon.catalog.views`.

A build writes every table into ``mc_<key>__build`` inside **one transaction**,
then drops the old schema, renames the new one into place, updates
``minecarbon.projects`` and the views, and commits.  A build that fails or is
killed midway rolls back: readers keep seeing the previous complete catalog.
Two builds of one project are serialised by an advisory lock; builds of
different projects run side by side (only the final swap is serialised).

Credentials: the URL carries no password (the project file refuses one);
libpq reads it from ``PGPASSWORD`` or ``~/.pgpass`` (``PGPASSFILE``).  Only
``host:port/database`` is ever shown in messages.  Every value goes to the
server as a bound parameter; identifiers (schema, table, role names) are
checked against ``[a-z][a-z0-9_]*`` and quoted.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import geopandas as gpd
import pandas as pd

from ..errors import InputError, MissingInputError, StageError
from .backend import CatalogBackend
from .gpkg import _storable, table_name
from .sql import _IDENT, REGISTRY_SCHEMA, ident  # noqa: F401  (REGISTRY_SCHEMA, ident: also this module's names)

SCHEMA_PREFIX = "mc_"
FID = "fid"
"""Row number (1..n) of every table: its primary key and its order, as the ``fid`` of a GeoPackage."""
_SETUP_LOCK = 0x6D63_0001
"""Advisory-lock key serialising the creation of the registry and the schema swaps (with their views)."""

PROJECTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {REGISTRY_SCHEMA}.projects (
    project text PRIMARY KEY,
    schema_name text NOT NULL UNIQUE,
    name text NOT NULL,
    start_year integer,
    end_year integer,
    crs text,
    catalog_sha256 text,
    n_datasets integer,
    minecarbon_version text,
    read_role text,
    published timestamptz NOT NULL DEFAULT now()
)"""


def _quote(column: str) -> str:
    """A double-quoted column name (any text; embedded quotes doubled)."""
    return '"' + str(column).replace('"', '""') + '"'


def project_key(name: str) -> str:
    """Default key of a project in the shared database, from its name.

    ASCII names give their slug (``Simulated mining area (seed 0)`` -> ``simulated_mining_area_seed_0``);
    names with other characters (Chinese) give ``p_`` and 12 hex digits of their SHA-256, so two different
    names never share a key.  ``[catalog].project`` overrides it.
    """
    slug = table_name(name)
    if name.isascii() and slug and not slug.startswith("t_") and len(slug) <= 40:
        return slug
    return "p_" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]


def sqlalchemy_url(url: str):
    """The SQLAlchemy URL (driver psycopg 3) of a ``postgresql://`` URL."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.set(drivername="postgresql+psycopg")


def shown_url(url: str) -> str:
    """``host:port/database`` of a URL: what messages and logs show (no user, no password)."""
    u = sqlalchemy_url(url)
    return f"{u.host or 'localhost'}:{u.port or 5432}/{u.database or ''}"


def make_engine(url: str):
    """A SQLAlchemy engine on ``url`` (no pooling beyond this process; no SQL echo)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(sqlalchemy_url(url), poolclass=NullPool, hide_parameters=True)


def _connect_error(url: str, exc: Exception) -> InputError:
    first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"Cannot connect to the monitoring database {shown_url(url)} ({first}). Check "
                      f"[catalog].url in the project file, that the server runs, and that the password is in "
                      f"~/.pgpass or PGPASSWORD.")


class PostGISBackend(CatalogBackend):
    """One project's catalog in a shared PostGIS database.

    Parameters
    ----------
    url : ``postgresql://user@host:port/dbname`` (no password).
    project : the project's key (schema ``mc_<project>``).
    mode : 'r' to read the published catalog; 'w' to build a new one (published by :meth:`finalize`).
    info : for 'w': the row of ``minecarbon.projects`` (name, start_year, end_year, crs, catalog_sha256 ...).
    read_role : for 'w': a role granted SELECT on the new tables and the views.
    """

    def __init__(self, url: str, project: str, mode: str = "r", info: dict | None = None,
                 read_role: str | None = None) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        if mode not in ("r", "w"):
            raise ValueError(f"mode must be 'r' or 'w', not {mode!r}")
        self.url, self.project, self.mode = url, project, mode
        self.schema = SCHEMA_PREFIX + project
        self.build_schema = self.schema + "__build"
        ident(self.build_schema)
        self.info = dict(info or {})
        self.read_role = read_role
        if read_role is not None:
            ident(read_role)
        self._engine = make_engine(url)
        self._con = None
        self._tx = None
        self._geometry: dict[str, tuple[str, int]] | None = None
        try:
            if mode == "w":
                ensure_registry(self._engine)
                self._con = self._engine.connect()
                self._tx = self._con.begin()
                self._exec("SELECT pg_advisory_xact_lock(hashtext(:k))", k=f"minecarbon:{self.project}")
                self._exec(f"DROP SCHEMA IF EXISTS {ident(self.build_schema)} CASCADE")
                self._exec(f"CREATE SCHEMA {ident(self.build_schema)}")
            else:
                self._con = self._engine.connect()
                found = self._exec("SELECT 1 FROM pg_namespace WHERE nspname = :s", s=self.schema).first()
                if found is None:
                    raise MissingInputError(
                        f"The monitoring database {shown_url(url)} holds no catalog of project '{project}' "
                        f"(schema {self.schema}). Run the pipeline with [catalog].url set to publish it.")
        except SQLAlchemyError as exc:
            self.close()
            raise _connect_error(url, exc) from None
        except BaseException:
            self.close()
            raise

    # -- connection --------------------------------------------------------------
    def _exec(self, sql: str, **params):
        from sqlalchemy import text

        return self._con.execute(text(sql), params)

    @property
    def _read_schema(self) -> str:
        return self.build_schema if self.mode == "w" else self.schema

    def close(self) -> None:
        """Release the connection; an unpublished build is rolled back (the previous catalog stays)."""
        if self._tx is not None:
            try:
                self._tx.rollback()
            except Exception:
                pass
            self._tx = None
        if self._con is not None:
            try:
                self._con.close()
            except Exception:
                pass
            self._con = None
        if getattr(self, "_engine", None) is not None:
            self._engine.dispose()
            self._engine = None

    # -- writing -----------------------------------------------------------------
    def _failed(self, what: str, exc: Exception) -> StageError:
        """Roll the build back and say so (the previously published catalog stays as it was)."""
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        self.close()
        return StageError(f"Publishing project '{self.project}' to the monitoring database {shown_url(self.url)} "
                          f"failed while {what} ({first[0] if first else type(exc).__name__}). Nothing was "
                          f"changed there: the previously published catalog stays. Re-run 'minecarbon run PROJECT "
                          f"--stages catalog --force' when the database is reachable.")

    def write_table(self, name: str, df: pd.DataFrame) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self._write_table(name, df)
        except SQLAlchemyError as exc:
            raise self._failed(f"writing table {name}", exc) from None

    def _write_table(self, name: str, df: pd.DataFrame) -> None:
        if self.mode != "w" or self._tx is None:
            raise ValueError("the catalog was opened read-only (or is already published)")
        ident(name)
        if FID in df.columns:
            raise ValueError(f"table {name!r} has a column {FID!r}, which the database keeps for the row order")
        data = _storable(df)
        if len(data.columns) == 0:
            data = pd.DataFrame({"empty": pd.Series(dtype=object)})
        data.index = pd.RangeIndex(1, len(data) + 1, name=FID)  # row order (SQL tables have none), as in GPKG
        if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
            data = gpd.GeoDataFrame(data, geometry=df.geometry.name, crs=df.crs)
            data.to_postgis(name, self._con, schema=self.build_schema, if_exists="fail", index=True)
        else:
            data.to_sql(name, self._con, schema=self.build_schema, if_exists="fail", index=True)
        self._exec(f"ALTER TABLE {ident(self.build_schema)}.{ident(name)} ADD PRIMARY KEY ({FID})")
        self._geometry = None

    def finalize(self) -> None:
        """Keys and indexes, grants, then publish: swap the build schema in and commit (all or nothing)."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self._finalize()
        except SQLAlchemyError as exc:
            raise self._failed("publishing the tables", exc) from None

    def _finalize(self) -> None:
        from . import views

        if self._tx is None:
            raise ValueError("nothing to publish: the catalog was opened read-only or is already published")
        b = ident(self.build_schema)
        have = set(self.tables())
        if "datasets" in have:
            self._exec(f"ALTER TABLE {b}.datasets ADD UNIQUE (id)")
            self._exec(f"CREATE INDEX ON {b}.datasets (stage)")
        if "lineage" in have:
            self._exec(f"CREATE INDEX ON {b}.lineage (dataset_id)")
            if "datasets" in have:
                # lineage rows of outputs point to catalogued datasets (their sources may be runs/settings)
                self._exec(f"ALTER TABLE {b}.lineage ADD FOREIGN KEY (dataset_id) REFERENCES {b}.datasets (id)")
        if "data_tables" in have:
            self._exec(f"ALTER TABLE {b}.data_tables ADD UNIQUE (table_name)")
        if self.read_role is not None:
            r = ident(self.read_role)
            self._exec(f"GRANT USAGE ON SCHEMA {b} TO {r}")
            self._exec(f"GRANT SELECT ON ALL TABLES IN SCHEMA {b} TO {r}")
        # publish: from here to the commit other builds' swaps wait (short)
        s = ident(self.schema)
        self._exec("SELECT pg_advisory_xact_lock(:k)", k=_SETUP_LOCK)
        self._exec(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        self._exec(f"ALTER SCHEMA {b} RENAME TO {s}")
        n = self._exec(f"SELECT count(*) FROM {s}.datasets").scalar() if "datasets" in have else 0
        info = {"name": self.project, "start_year": None, "end_year": None, "crs": None, "catalog_sha256": None,
                "minecarbon_version": None, **self.info}
        self._exec(f"""
            INSERT INTO {REGISTRY_SCHEMA}.projects (project, schema_name, name, start_year, end_year, crs,
                catalog_sha256, n_datasets, minecarbon_version, read_role, published)
            VALUES (:project, :schema, :name, :start_year, :end_year, :crs, :catalog_sha256, :n, :version,
                    :read_role, now())
            ON CONFLICT (project) DO UPDATE SET schema_name = EXCLUDED.schema_name, name = EXCLUDED.name,
                start_year = EXCLUDED.start_year, end_year = EXCLUDED.end_year, crs = EXCLUDED.crs,
                catalog_sha256 = EXCLUDED.catalog_sha256, n_datasets = EXCLUDED.n_datasets,
                minecarbon_version = EXCLUDED.minecarbon_version, read_role = EXCLUDED.read_role,
                published = now()""",
                   project=self.project, schema=self.schema, name=str(info["name"]),
                   start_year=info["start_year"], end_year=info["end_year"], crs=info["crs"],
                   catalog_sha256=info["catalog_sha256"], n=int(n), version=info["minecarbon_version"],
                   read_role=self.read_role)
        views.create_views(self._con)
        self._tx.commit()
        self._tx = None
        self.mode = "r"
        self._geometry = None

    # -- reading -----------------------------------------------------------------
    def tables(self) -> list[str]:
        rows = self._exec("SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                          "AND table_type = 'BASE TABLE' ORDER BY table_name", s=self._read_schema)
        return [str(r[0]) for r in rows]

    def _geometry_columns(self) -> dict[str, tuple[str, int]]:
        if self._geometry is None:
            rows = self._exec("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns "
                              "WHERE f_table_schema = :s", s=self._read_schema)
            self._geometry = {str(t): (str(c), int(srid)) for t, c, srid in rows}
        return self._geometry

    def read_table(self, name: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
        from sqlalchemy import text

        if not _IDENT.match(name) or name not in self.tables():
            raise KeyError(f"the monitoring database {shown_url(self.url)} has no table {name!r} in schema "
                           f"{self._read_schema}")
        cols = list(columns) if columns else None
        geom = self._geometry_columns().get(name)
        if cols and geom and geom[0] not in cols:
            cols.append(geom[0])
        sel = ", ".join(_quote(c) for c in cols) if cols else "*"
        sql = text(f"SELECT {sel} FROM {ident(self._read_schema)}.{ident(name)} ORDER BY {FID}")
        if geom:
            crs = f"EPSG:{geom[1]}" if geom[1] > 0 else None
            df = gpd.read_postgis(sql, self._con, geom_col=geom[0], crs=crs)
        else:
            df = pd.read_sql_query(sql, self._con)
        return df.drop(columns=[FID], errors="ignore")

    def dataset(self, dataset_id: str) -> dict | None:
        row = self._exec(f"SELECT * FROM {ident(self._read_schema)}.datasets WHERE id = :id",
                         id=dataset_id).mappings().first()
        if row is None:
            return None
        rec = dict(row)
        rec.pop(FID, None)
        return rec

    def lineage(self, dataset_id: str | None = None) -> pd.DataFrame:
        from sqlalchemy import text

        if dataset_id is None:
            return self.read_table("lineage")
        df = pd.read_sql_query(text(f"SELECT * FROM {ident(self._read_schema)}.lineage WHERE dataset_id = :d "
                                    f"ORDER BY {FID}"), self._con, params={"d": dataset_id})
        return df.drop(columns=[FID], errors="ignore")

    def runs(self) -> pd.DataFrame:
        return self.read_table("runs")

    def project_info(self) -> dict | None:
        """This project's row of ``minecarbon.projects`` (None before the first publication)."""
        row = self._exec(f"SELECT * FROM {REGISTRY_SCHEMA}.projects WHERE project = :p",
                         p=self.project).mappings().first()
        return None if row is None else dict(row)


def ensure_registry(engine) -> None:
    """Create (once, safely under concurrency) the PostGIS extension, schema ``minecarbon`` and its table."""
    from sqlalchemy import text

    with engine.connect() as con:
        with con.begin():
            con.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SETUP_LOCK})
            has = con.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
            if has is None:
                try:
                    with con.begin_nested():
                        con.execute(text("CREATE EXTENSION postgis"))
                except Exception as exc:
                    raise InputError(
                        f"The database {shown_url(str(engine.url))} has no PostGIS extension and this user "
                        f"cannot create it ({type(exc).__name__}). Ask the database administrator to run "
                        f"'CREATE EXTENSION postgis' in it.") from None
            con.execute(text(f"CREATE SCHEMA IF NOT EXISTS {REGISTRY_SCHEMA}"))
            con.execute(text(PROJECTS_DDL))


def list_projects(url: str) -> pd.DataFrame:
    """Rows of ``minecarbon.projects`` (an empty frame when nothing was published yet)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    eng = make_engine(url)
    try:
        with eng.connect() as con:
            if con.execute(text("SELECT to_regclass('minecarbon.projects')")).scalar() is None:
                return pd.DataFrame(columns=["project", "schema_name", "name", "start_year", "end_year", "crs",
                                             "catalog_sha256", "n_datasets", "minecarbon_version", "read_role",
                                             "published"])
            return pd.read_sql_query(text(f"SELECT * FROM {REGISTRY_SCHEMA}.projects ORDER BY project"), con)
    except SQLAlchemyError as exc:
        raise _connect_error(url, exc) from None
    finally:
        eng.dispose()
