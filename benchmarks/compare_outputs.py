"""Compare two demo (or project) workspaces: rasters band by band, tables cell by cell (issue #18).

    .venv/bin/python benchmarks/compare_outputs.py BEFORE AFTER [--atol 0] [--json out.json]

BEFORE and AFTER are workspace folders (or demo folders holding ``workspace/``); every file under their
``outputs/`` is paired by relative path:

* GeoTIFFs: size, CRS, transform, dtype, nodata, band descriptions and every band's pixel values (NaN equal
  to NaN); the codec, tiling and overviews may differ (they are not the values);
* tables (.csv, .xlsx, .parquet) and vector layers (.gpkg, every layer): columns, rows and values (geometries
  as WKB); float cells equal within ``--atol`` (default 0: identical); text cells with the folder of BEFORE
  (e.g. the path of an input scan) compared with that folder replaced by AFTER's;
* anything else (reports, figures, JSON, manifests): byte-identical or not, listed but not failing, since
  they embed times, paths or file sizes.

Exit status 0 when every raster and table is identical (within ``--atol``), 1 otherwise, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

RASTER = {".tif", ".tiff"}
TABLE = {".csv", ".xlsx", ".parquet"}
VECTOR = {".gpkg"}


def outputs_dir(p: Path) -> Path:
    for cand in (p / "outputs", p / "workspace" / "outputs"):
        if cand.is_dir():
            return cand
    raise SystemExit(f"{p}: no outputs/ or workspace/outputs/ folder")


def compare_raster(a: Path, b: Path, atol: float) -> str | None:
    import rasterio

    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        for what in ("width", "height", "count", "crs", "transform", "dtypes", "descriptions"):
            if getattr(ra, what) != getattr(rb, what):
                return f"{what}: {getattr(ra, what)} vs {getattr(rb, what)}"
        na, nb = ra.nodata, rb.nodata
        if not (na == nb or (na is not None and nb is not None and np.isnan(na) and np.isnan(nb))):
            return f"nodata: {na} vs {nb}"
        worst = []
        for i in range(1, ra.count + 1):
            x, y = ra.read(i), rb.read(i)
            if np.issubdtype(x.dtype, np.floating):
                nan_x, nan_y = np.isnan(x), np.isnan(y)
                if (nan_x != nan_y).any():
                    worst.append(f"band {i} ({ra.descriptions[i - 1]}): NaN at {int((nan_x != nan_y).sum())} "
                                 f"different pixels")
                    continue
                d = np.abs(x[~nan_x].astype(np.float64) - y[~nan_y].astype(np.float64))
                dmax = float(d.max()) if d.size else 0.0
            else:
                dmax = float(np.abs(x.astype(np.int64) - y.astype(np.int64)).max()) if x.size else 0.0
            if dmax > atol:
                worst.append(f"band {i} ({ra.descriptions[i - 1]}): max abs diff {dmax:.3g}")
        return "; ".join(worst) or None


def _read_table(p: Path):
    import pandas as pd

    if p.suffix == ".csv":
        return {"": pd.read_csv(p)}
    if p.suffix == ".parquet":
        return {"": pd.read_parquet(p)}
    return pd.read_excel(p, sheet_name=None)


def _read_layers(p: Path):
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    out = {}
    for name, _geom in pyogrio.list_layers(p):
        df = gpd.read_file(p, layer=name)
        if "geometry" in df:
            df = pd.DataFrame(df).assign(geometry=df.geometry.to_wkb())
        out[name] = df.drop(columns=["last_change"], errors="ignore")
    return out


def compare_frames(fa: dict, fb: dict, atol: float, roots: tuple[str, str] = ("", "")) -> str | None:
    import pandas as pd

    if sorted(fa) != sorted(fb):
        return f"sheets/layers: {sorted(fa)} vs {sorted(fb)}"
    msgs = []
    for k in fa:
        a, b = fa[k], fb[k]
        where = f"[{k}] " if k else ""
        if list(a.columns) != list(b.columns):
            msgs.append(f"{where}columns: {list(a.columns)} vs {list(b.columns)}")
            continue
        if len(a) != len(b):
            msgs.append(f"{where}rows: {len(a)} vs {len(b)}")
            continue
        for c in a.columns:
            x, y = a[c], b[c]
            if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
                xv, yv = x.to_numpy(float), y.to_numpy(float)
                same_nan = np.isnan(xv) == np.isnan(yv)
                d = np.abs(np.nan_to_num(xv) - np.nan_to_num(yv))
                if not same_nan.all() or (d.size and d.max() > atol):
                    msgs.append(f"{where}column {c!r}: max abs diff {float(d.max()):.3g}, "
                                f"{int((~same_nan).sum())} NaN mismatches")
            else:
                if roots[0] and not pd.api.types.is_numeric_dtype(x):
                    x = x.map(lambda v: v.replace(roots[0], roots[1]) if isinstance(v, str) else v)
                if x.equals(y):
                    continue
                n = int((x.astype(str) != y.astype(str)).sum())
                msgs.append(f"{where}column {c!r}: {n} differing cells")
    return "; ".join(msgs) or None


def compare(before: Path, after: Path, atol: float = 0.0) -> dict:
    da, db = outputs_dir(before), outputs_dir(after)
    fa = {p.relative_to(da).as_posix() for p in da.rglob("*") if p.is_file()}
    fb = {p.relative_to(db).as_posix() for p in db.rglob("*") if p.is_file()}
    res = {"only_before": sorted(fa - fb), "only_after": sorted(fb - fa), "rasters": {}, "tables": {}, "other": {}}
    roots = (str(before.resolve()), str(after.resolve()))
    for rel in sorted(fa & fb):
        a, b = da / rel, db / rel
        suffix = a.suffix.lower()
        if suffix in RASTER:
            res["rasters"][rel] = compare_raster(a, b, atol)
        elif suffix in TABLE:
            res["tables"][rel] = compare_frames(_read_table(a), _read_table(b), atol, roots)
        elif suffix in VECTOR:
            res["tables"][rel] = compare_frames(_read_layers(a), _read_layers(b), atol, roots)
        else:
            res["other"][rel] = None if a.read_bytes() == b.read_bytes() else "bytes differ"
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--atol", type=float, default=0.0, help="largest absolute difference that counts as equal")
    ap.add_argument("--json", type=Path, help="write the full comparison here")
    args = ap.parse_args(argv)
    res = compare(args.before, args.after, args.atol)
    bad = {k: v for kind in ("rasters", "tables") for k, v in res[kind].items() if v}
    for kind in ("rasters", "tables"):
        n_same = sum(v is None for v in res[kind].values())
        print(f"{kind}: {n_same} of {len(res[kind])} identical" + (f" (atol {args.atol:g})" if args.atol else ""))
    n_other = sum(v is None for v in res["other"].values())
    print(f"other files: {n_other} of {len(res['other'])} byte-identical (reports, figures, manifests; not compared "
          f"by value)")
    for k, v in bad.items():
        print(f"  DIFFERS {k}: {v}")
    for side in ("only_before", "only_after"):
        for k in res[side]:
            print(f"  {side.replace('_', ' ')}: {k}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 1 if bad or res["only_before"] or res["only_after"] else 0


if __name__ == "__main__":
    sys.exit(main())
