"""Build the monitoring database from the stage declarations, the stage manifests and the files.

Nothing here knows a list of files: the catalogued outputs are those listed in
the manifests of the completed stages (each output matched to its declaration
for units and description), the raw inputs are those of the project file and
of the manifests.  The database is rebuilt from scratch by every run of the
``catalog`` stage (a temporary file renamed into place), so it always equals
what the manifests say; deleting it and re-running rebuilds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import geopandas as gpd
import pandas as pd

from ..config import ProjectConfig
from ..io.atomic import atomic_path
from ..provenance import MANIFEST, package_versions, read_manifest, sha256_file
from ..stage_names import STAGE_NAMES
from ..progress import track
from .archive import archive_inputs
from .backend import (
    DATASET_COLUMNS,
    LINEAGE_COLUMNS,
    RUN_COLUMNS,
    STANDARD_TABLES,
    TABLE_COLUMNS,
    CatalogBackend,
)
from .describe import describe, file_format
from .gpkg import GeoPackageBackend, table_name
from .tables import read_csv_table, read_json

log = logging.getLogger(__name__)

CATALOG_DIR = "catalog"
DB_NAME = "catalog.gpkg"
ARCHIVE_DIR = "archive"
NOT_CATALOGUED = ("catalog", "report")
"""Stages whose outputs the database does not hold: its own, and the report (built after the database, from
it); ``catalog verify`` checks those against their stage manifests."""


@contextlib.contextmanager
def _fast_sqlite() -> Iterator[None]:
    """GDAL without fsync per table while the temporary database file is written (it is renamed when complete)."""
    import pyogrio

    key = "OGR_SQLITE_SYNCHRONOUS"
    before = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: before})


def catalog_dir(cfg: ProjectConfig) -> Path:
    """``<workspace>/catalog``."""
    return cfg.workspace / CATALOG_DIR


def catalog_path(cfg: ProjectConfig) -> Path:
    """``<workspace>/catalog/catalog.gpkg``, the embedded monitoring database."""
    return catalog_dir(cfg) / DB_NAME


def open_catalog(cfg: ProjectConfig) -> CatalogBackend:
    """The project's monitoring database, read-only (raises MissingInputError when it was never built)."""
    return GeoPackageBackend(catalog_path(cfg), mode="r")


@dataclass(frozen=True)
class CatalogSummary:
    """What :func:`build_catalog` wrote."""

    path: Path
    stac: Path | None
    n_raw: int
    n_outputs: int
    n_tables: int
    qgis: Path | None = None
    """The QGIS project (``<workspace>/catalog/minecarbon.qgz``)."""


def _iso_mtime(p: Path) -> str:
    return dt.datetime.fromtimestamp(p.stat().st_mtime).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")


def _rel_to(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _year_of_key(key: str) -> int | None:
    m = re.search(r"\[(\d{4})\]", key)
    return int(m.group(1)) if m else None


def _match_declared(rel: str, declared: list[dict]) -> tuple[dict | None, int | None]:
    """The declaration (id, path, units, about) an output path belongs to, and its year for per-year outputs."""
    for d in declared:
        pat = str(d["path"])
        if pat == rel:
            return d, None
        if "{year}" in pat:
            rx = "^" + re.escape(pat).replace(re.escape("{year}"), r"(\d{4})") + "$"
            m = re.match(rx, rel)
            if m:
                return d, int(m.group(1))
    return None, None


def catalogued_stages(stages: Iterable[str] | None = None) -> list[str]:
    """Stages whose outputs go into the database: by default every stage before ``catalog`` in the run order."""
    if stages is not None:
        return [s for s in stages if s not in NOT_CATALOGUED]
    names = list(STAGE_NAMES)
    if "catalog" in names:
        names = names[:names.index("catalog")]
    return [n for n in names if n not in NOT_CATALOGUED]


def _settings_hash(settings) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _dataset_row(**kw) -> dict:
    row = {c: None for c in DATASET_COLUMNS}
    row.update(kw)
    return row


def _with_description(row: dict, path: Path) -> dict:
    d = describe(path)
    row["format"] = d["format"]
    row["crs"] = d["crs"]
    if d["bbox"] is not None:
        row["bbox_minx"], row["bbox_miny"], row["bbox_maxx"], row["bbox_maxy"] = d["bbox"]
    row["bbox_wgs84"] = d["bbox_wgs84"]
    row["details"] = d["details"]
    return row


def _model_cards(doc, prefix: str) -> list[tuple[str, dict]]:
    """Every model card in a JSON document: dicts with 'cv_metrics' and a learner or feature list.

    Nested cards (a pooled model, one model per forest type) are named by their key path, or by their
    'name' when they have one (``model/card/types/coniferous``).
    """
    out = []
    if isinstance(doc, dict):
        if "cv_metrics" in doc and ({"learner", "features", "features_used"} & set(doc)):
            out.append((prefix, doc))
        for k, v in doc.items():
            if isinstance(v, (dict, list)) and not str(k).endswith("metrics") and k != "hyper_parameters":
                out += _model_cards(v, f"{prefix}/{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            name = v.get("name") if isinstance(v, dict) else None
            out += _model_cards(v, f"{prefix}/{name}" if isinstance(name, str) and name else f"{prefix}[{i}]")
    return out


def _metric_rows(model_id: str, card: dict) -> list[dict]:
    rows = []
    for key, val in card.items():
        if key.endswith("metrics") and isinstance(val, dict):
            scope = key[: -len("_metrics")] if key != "metrics" else "all"
            for m, v in val.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    rows.append({"source": model_id, "scope": scope, "metric": m, "value": float(v)})
    return rows


def _validation_metric_rows(dataset_id: str, df: pd.DataFrame) -> list[dict]:
    """Numeric columns of a validation table in long form; the scope names the row by its text/first columns."""
    if df.empty:
        return []
    num = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    keys = [c for c in df.columns if c not in num][:3] or [df.columns[0]]
    if keys[0] in num:
        num = [c for c in num if c != keys[0]]
    rows = []
    for _, r in df.iterrows():
        scope = "; ".join(f"{k}={r[k]}" for k in keys)
        for c in num:
            if pd.notna(r[c]):
                rows.append({"source": dataset_id, "scope": scope, "metric": c, "value": float(r[c])})
    return rows


def _write_all(be: CatalogBackend, tables: dict[str, pd.DataFrame]) -> None:
    for name, df in tables.items():
        be.write_table(name, df)
    be.finalize()


def shared_key(cfg: ProjectConfig) -> str:
    """The project's key in the shared database: ``[catalog].project``, else made from ``[project].name``."""
    from .postgis import project_key

    return cfg.catalog.project or project_key(cfg.project.name)


def publish(cfg: ProjectConfig, tables: dict[str, pd.DataFrame], catalog_sha256: str) -> None:
    """Write the catalog tables into the shared PostGIS database and publish them in one transaction."""
    from .postgis import PostGISBackend

    info = {"name": cfg.project.name, "start_year": cfg.project.start_year, "end_year": cfg.project.end_year,
            "crs": cfg.project.crs, "catalog_sha256": catalog_sha256,
            "minecarbon_version": package_versions().get("minecarbon")}
    be = PostGISBackend(cfg.catalog.url, shared_key(cfg), mode="w", info=info, read_role=cfg.catalog.read_role)
    try:
        _write_all(be, tables)
    finally:
        be.close()


def open_shared_catalog(cfg: ProjectConfig) -> CatalogBackend:
    """The project's catalog in the shared PostGIS database of ``[catalog].url``, read-only."""
    from ..errors import ConfigError
    from .postgis import PostGISBackend

    if not cfg.catalog.url:
        raise ConfigError("The project file sets no shared monitoring database: add [catalog] url = "
                          "\"postgresql://user@host:5432/dbname\" (see docs/report.md).")
    return PostGISBackend(cfg.catalog.url, shared_key(cfg), mode="r")


def build_catalog(cfg: ProjectConfig, db_path: Path | None = None, stages: Iterable[str] | None = None,
                  stac: bool = True, progress: Callable[[str], None] | None = None) -> CatalogSummary:
    """Build (from scratch) the monitoring database of a project, the raw-input archive and the STAC catalog.

    Parameters
    ----------
    cfg : the loaded project.
    db_path : database file (default ``<workspace>/catalog/catalog.gpkg``); written atomically.
    stages : stages whose outputs are catalogued (default: every stage before ``catalog``).
    stac : also write ``<workspace>/catalog/stac/``.
    progress : callable receiving short progress messages.

    Returns
    -------
    CatalogSummary
    """
    progress = progress or (lambda msg: None)
    ws = cfg.workspace
    cdir = catalog_dir(cfg)
    db_path = Path(db_path) if db_path else catalog_path(cfg)
    names = catalogued_stages(stages)
    manifests = {n: m for n in names if (m := read_manifest(cfg, n)) is not None}
    version = package_versions().get("minecarbon", "")
    y0, y1 = cfg.project.start_year, cfg.project.end_year

    # -- raw inputs ---------------------------------------------------------------------
    progress("catalog: archiving the raw inputs")
    keyed = dict(cfg.input_paths())
    for m in manifests.values():
        for k, v in m.get("inputs", {}).items():
            keyed.setdefault(k, Path(v["path"]))
    hash_cache: dict = {}
    raws = archive_inputs(keyed, cfg.report.archive, cdir / ARCHIVE_DIR, hash_cache)
    rows = []
    for r in raws:
        year = _year_of_key(r.key)
        base_key = r.key.split("+")[0]
        row = _dataset_row(id=f"input:{r.key}", kind="raw", stage=None, output_id=base_key,
                           year=year, path=_rel_to(r.path, cfg.root),
                           archive_path=_rel_to(r.archive_path, ws) if r.archive_path else None,
                           sha256=r.sha256, size_bytes=int(r.size_bytes), time_start=year, time_end=year,
                           units=None, about=f"raw input [{base_key.split('[')[0]}]",
                           source=f"project file key {base_key}", created=_iso_mtime(r.path))
        rows.append(_with_description(row, r.path))

    # -- outputs, manifests, runs, lineage ------------------------------------------------
    lineage, runs, out_rows = [], [], []
    for stage, m in track(manifests.items(), "catalog: stages", len(manifests), "stages"):
        progress(f"catalog: stage {stage}")
        sdir = ws / "outputs" / stage
        declared = m.get("declared_outputs") or []  # the manifest is the declaration: no stage is imported
        settings_sha = _settings_hash(m.get("settings"))
        mpath = sdir / MANIFEST
        runs.append({"stage": stage, "about": m.get("about"), "fingerprint": m.get("fingerprint"),
                     "settings_json": json.dumps(m.get("settings"), ensure_ascii=False, sort_keys=True),
                     "settings_sha256": settings_sha,
                     "versions_json": json.dumps(m.get("versions"), ensure_ascii=False, sort_keys=True),
                     "started": m.get("started"), "finished": m.get("finished"), "seconds": m.get("seconds"),
                     "manifest_path": _rel_to(mpath, ws)})
        rows.append(_dataset_row(id=f"manifest:{stage}", kind="manifest", stage=stage, output_id=MANIFEST,
                                 path=_rel_to(mpath, ws), sha256=sha256_file(mpath),
                                 size_bytes=mpath.stat().st_size, format="JSON",
                                 about=f"provenance manifest of stage {stage}", source=f"minecarbon {version}",
                                 created=m.get("finished"), details="{}"))
        for rel, info in sorted(m.get("outputs", {}).items()):
            p = (sdir / rel)
            decl, year = _match_declared(rel, declared)
            did = f"output:{stage}/{rel}"
            row = _dataset_row(id=did, kind="output", stage=stage, output_id=decl["id"] if decl else None,
                               year=year, path=_rel_to(p, ws), sha256=info["sha256"],
                               size_bytes=int(info["size"]), time_start=year or y0, time_end=year or y1,
                               units=decl.get("units") if decl else None,
                               about=decl.get("about") if decl else None,
                               source=f"minecarbon {m.get('versions', {}).get('minecarbon', version)} stage {stage}",
                               created=m.get("finished"))
            if p.is_file():
                row = _with_description(row, p)
            else:
                row["format"] = file_format(p)
                row["details"] = json.dumps({"error": "missing when the catalog was built"})
            out_rows.append(row)
            for k, v in sorted(m.get("inputs", {}).items()):
                lineage.append({"dataset_id": did, "stage": stage, "relation": "input", "source_id": f"input:{k}",
                                "source_sha256": v.get("sha256")})
            for up, fp in sorted((m.get("upstream") or {}).items()):
                lineage.append({"dataset_id": did, "stage": stage, "relation": "upstream", "source_id": f"run:{up}",
                                "source_sha256": fp})
            lineage.append({"dataset_id": did, "stage": stage, "relation": "settings",
                            "source_id": f"settings:{stage}", "source_sha256": settings_sha})
    datasets = pd.DataFrame(rows + out_rows, columns=list(DATASET_COLUMNS))
    for c in ("year", "time_start", "time_end", "size_bytes"):
        datasets[c] = pd.array(datasets[c], dtype="Int64")

    # -- content tables -------------------------------------------------------------------
    progress("catalog: tables")
    content: dict[str, pd.DataFrame] = {}
    registry, models, metrics, documents = [], [], [], []
    for _, r in datasets[datasets["kind"] == "output"].iterrows():
        p = ws / str(r["path"])
        if not p.is_file():
            continue
        stage, oid = str(r["stage"]), r["output_id"]
        base = STANDARD_TABLES.get((stage, oid)) if oid else None
        fmt = r["format"]
        try:
            if fmt in ("CSV", "XLSX", "Parquet"):
                df = read_csv_table(p)
                name = base or table_name(f"{stage}_{oid or Path(str(r['path'])).stem}"
                                          + (f"_{int(r['year'])}" if pd.notna(r["year"]) else ""))
                content[name] = df
                registry.append({"table_name": name, "dataset_id": r["id"], "stage": stage, "output_id": oid,
                                 "geometry": None, "rows": int(len(df))})
                if oid and "validation" in str(oid):
                    metrics += _validation_metric_rows(str(r["id"]), df)
            elif fmt == "GeoPackage":
                from ..io import read_vector

                gdf = read_vector(p, what=f"output {r['path']}")
                name = base or table_name(f"{stage}_{oid or Path(str(r['path'])).stem}")
                content[name] = gdf
                registry.append({"table_name": name, "dataset_id": r["id"], "stage": stage, "output_id": oid,
                                 "geometry": str(gdf.geom_type.iloc[0]) if len(gdf) else None, "rows": int(len(gdf))})
            elif fmt == "JSON":
                doc = read_json(p)
                documents.append({"dataset_id": r["id"], "stage": stage, "output_id": oid,
                                  "json": json.dumps(doc, ensure_ascii=False)})
                for suffix, card in _model_cards(doc, ""):
                    mid = f"{stage}/{oid or p.stem}{suffix}"
                    models.append({"model_id": mid, "dataset_id": r["id"], "learner": str(card.get("learner", "")),
                                   "n_plots": card.get("n_plots"), "features": json.dumps(card.get("features", []),
                                                                                         ensure_ascii=False),
                                   "card": json.dumps(card, ensure_ascii=False)})
                    metrics += _metric_rows(mid, card)
        except Exception as exc:
            log.warning("catalog: content of %s not stored (%s: %s)", r["path"], type(exc).__name__, exc)
    doc_cols = ["dataset_id", "stage", "output_id", "json"]
    content["documents"] = pd.DataFrame(documents, columns=doc_cols)
    content["models"] = pd.DataFrame(models, columns=["model_id", "dataset_id", "learner", "n_plots", "features",
                                                      "card"])
    content["metrics"] = pd.DataFrame(metrics, columns=["source", "scope", "metric", "value"])

    # -- write ------------------------------------------------------------------------------
    progress("catalog: writing the database")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tables = {"datasets": datasets, "lineage": pd.DataFrame(lineage, columns=list(LINEAGE_COLUMNS)),
              "runs": pd.DataFrame(runs, columns=list(RUN_COLUMNS)),
              **{n: df for n, df in content.items() if isinstance(df, gpd.GeoDataFrame) or len(df.columns)},
              "data_tables": pd.DataFrame(registry, columns=list(TABLE_COLUMNS))}
    with atomic_path(db_path) as tmp, _fast_sqlite():
        be = GeoPackageBackend(tmp, mode="w")
        _write_all(be, tables)
        be.close()
    if cfg.catalog.url:
        from .postgis import shown_url

        progress(f"catalog: publishing to {shown_url(cfg.catalog.url)}")
        publish(cfg, tables, sha256_file(db_path))
    stac_path = None
    if stac:
        from .stac import build_stac

        progress("catalog: STAC")
        stac_path = build_stac(datasets, ws, cdir, cfg.project.name, y0, y1)
    from .qgis import PROJECT_NAME, write_qgis_project

    progress("catalog: QGIS project and styles")
    qgz, _ = write_qgis_project(cfg, datasets[datasets["kind"] == "output"], cdir / PROJECT_NAME)
    return CatalogSummary(path=db_path, stac=stac_path, n_raw=len(raws), n_outputs=len(out_rows),
                          n_tables=len(content) + 4, qgis=qgz)
