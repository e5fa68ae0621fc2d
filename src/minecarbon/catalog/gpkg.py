"""The embedded backend: one GeoPackage (SQLite) file.

Tables are written through GDAL (pyogrio), so every table is registered in
``gpkg_contents`` - feature tables as ``features`` with their CRS, the others
as ``attributes`` - and QGIS / ArcGIS open the file directly.  Reads go through
:mod:`sqlite3` in read-only mode (attribute tables) and pyogrio (feature
tables).  The file is written once per catalog build (the builder writes a
temporary file and renames it), never updated in place.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from ..errors import InputError, MissingInputError
from .backend import CatalogBackend

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def table_name(text: str) -> str:
    """A safe SQL table name from free text (lower case, [a-z0-9_], starting with a letter)."""
    s = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return s if s and s[0].isalpha() else f"t_{s}"


def _storable(df: pd.DataFrame) -> pd.DataFrame:
    """Columns GDAL can store: booleans as integers, objects and mixed types as text, JSON for containers."""
    out = df.copy()
    for c in out.columns:
        if c == getattr(out, "_geometry_column_name", None):
            continue
        s = out[c]
        if s.dtype == bool:
            out[c] = s.astype(np.int64)
        elif s.dtype == object or str(s.dtype) in ("str", "string"):
            out[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                           else json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list, tuple))
                           else str(v)).astype(object)
    out.columns = [str(c) for c in out.columns]
    return out


class GeoPackageBackend(CatalogBackend):
    """Catalog in a GeoPackage file.

    Parameters
    ----------
    path : the ``.gpkg`` file.
    mode : 'r' to read an existing catalog, 'w' to fill a new (not yet existing) file.
    """

    def __init__(self, path: str | Path, mode: str = "r") -> None:
        self.path = Path(path)
        self.mode = mode
        self._con: sqlite3.Connection | None = None
        self._kinds: dict[str, str] | None = None
        if mode == "r" and not self.path.is_file():
            raise MissingInputError(f"The monitoring database {self.path} does not exist. Run the pipeline "
                                    f"('minecarbon run PROJECT') to build it.")
        if mode not in ("r", "w"):
            raise ValueError(f"mode must be 'r' or 'w', not {mode!r}")

    # -- connection --------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            if self.mode == "r":
                uri = f"file:{self.path.resolve().as_posix()}?mode=ro"
                self._con = sqlite3.connect(uri, uri=True)
            else:
                self._con = sqlite3.connect(self.path)
            try:
                self._con.execute("SELECT count(*) FROM gpkg_contents").fetchone()
            except sqlite3.DatabaseError as exc:
                self._con.close()
                self._con = None
                raise InputError(f"{self.path} is not a readable monitoring database ({exc}). Delete it and "
                                 f"re-run 'minecarbon run PROJECT' to rebuild it.") from None
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _table_kinds(self) -> dict[str, str]:
        if self._kinds is None:
            rows = self._connect().execute("SELECT table_name, data_type FROM gpkg_contents").fetchall()
            self._kinds = {str(n): str(k) for n, k in rows}
        return self._kinds

    # -- writing -----------------------------------------------------------------
    def write_table(self, name: str, df: pd.DataFrame) -> None:
        if self.mode != "w":
            raise ValueError("the catalog was opened read-only")
        if not _NAME.match(name):
            raise ValueError(f"invalid table name {name!r}")
        self.close()  # GDAL writes; our sqlite connection must not hold the file
        data = _storable(df)
        if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
            data = gpd.GeoDataFrame(data, geometry=df.geometry.name, crs=df.crs)
            pyogrio.write_dataframe(data, self.path, layer=name, driver="GPKG", promote_to_multi=False)
        else:
            if len(data.columns) == 0:
                data = pd.DataFrame({"empty": pd.Series(dtype=object)})
            pyogrio.write_dataframe(data, self.path, layer=name, driver="GPKG")
        self._kinds = None

    def finalize(self) -> None:
        con = self._connect()
        stmts = [
            'CREATE UNIQUE INDEX IF NOT EXISTS datasets_id ON datasets (id)',
            'CREATE INDEX IF NOT EXISTS datasets_stage ON datasets (stage)',
            'CREATE INDEX IF NOT EXISTS lineage_dataset ON lineage (dataset_id)',
            'CREATE UNIQUE INDEX IF NOT EXISTS data_tables_name ON data_tables (table_name)',
        ]
        for s in stmts:
            table = s.split(" ON ")[1].split(" ")[0]
            if table in self._table_kinds():
                con.execute(s)
        con.commit()
        self.close()

    # -- reading -----------------------------------------------------------------
    def tables(self) -> list[str]:
        return sorted(self._table_kinds())

    def read_table(self, name: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
        kinds = self._table_kinds()
        if name not in kinds:
            raise KeyError(f"the monitoring database {self.path} has no table {name!r}")
        if kinds[name] == "features":
            self.close()
            gdf = pyogrio.read_dataframe(self.path, layer=name, columns=list(columns) if columns else None)
            return gdf
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        df = pd.read_sql_query(f'SELECT {cols} FROM "{name}"', self._connect())
        return df.drop(columns=["fid"], errors="ignore")

    def dataset(self, dataset_id: str) -> dict | None:
        cur = self._connect().execute('SELECT * FROM datasets WHERE id = ?', (dataset_id,))
        row = cur.fetchone()
        if row is None:
            return None
        names = [d[0] for d in cur.description]
        rec = dict(zip(names, row))
        rec.pop("fid", None)
        return rec

    def lineage(self, dataset_id: str | None = None) -> pd.DataFrame:
        if dataset_id is None:
            return self.read_table("lineage")
        df = pd.read_sql_query('SELECT * FROM lineage WHERE dataset_id = ?', self._connect(), params=(dataset_id,))
        return df.drop(columns=["fid"], errors="ignore")

    def runs(self) -> pd.DataFrame:
        return self.read_table("runs")

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ('ok' when the file is sound)."""
        row = self._connect().execute("PRAGMA integrity_check").fetchone()
        return str(row[0]) if row else "no answer"
