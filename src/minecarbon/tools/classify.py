"""The classification tools on files: cross-validated classifier, accuracy and area estimates, unmixing, phenology.

Each ``run_*_tool`` reads its inputs, calls :mod:`minecarbon.classify`,
writes its outputs and returns a summary (a dict). ``minecarbon tool classify
| accuracy | unmix | phenology`` (:mod:`minecarbon.cli.tools_classify`) only
parses options and prints it (see docs/classify.md).
"""

from __future__ import annotations

from pathlib import Path


def run_classify_tool(table: Path, label: str, features: list[str], folds: int = 5, cv_scheme: str = "auto",
                      x_col: str = "x", y_col: str = "y", block_m: float = 1000.0, classes: list[str] | None = None,
                      min_per_class: int = 5, n_estimators: int = 200, seed: int = 0) -> dict:
    """Cross-validated balanced random forest on a samples table: OA, kappa, UA/PA, confusion matrix."""
    from ..classify.tables import classify_table
    from ..io import read_table

    df = read_table(table, what="samples table")
    return classify_table(df, label, features, folds=folds, scheme=cv_scheme, x_col=x_col, y_col=y_col,
                          block_m=block_m, seed=seed, n_estimators=n_estimators, min_per_class=min_per_class,
                          classes=classes or None, what=f"samples table {table}")


def run_accuracy_tool(matrix: Path | None = None, map_path: Path | None = None, points_path: Path | None = None,
                      ref_col: str = "class", areas_path: Path | None = None, unit_factor: float = 1.0,
                      z: float = 1.96, out_path: Path | None = None) -> dict:
    """OA, UA, PA and area estimates with intervals (Olofsson et al. 2014); returns them with the per-class
    ``"table"`` (a DataFrame), written to ``out_path`` when given.

    ``matrix``: a confusion-matrix table (first column the map class, one column per reference class,
    optionally ``mapped_area``), with mapped areas from ``areas_path`` (class, area) when given; or
    ``map_path`` with ``points_path``: the matrix from the map at the points, mapped areas from the map's
    pixel counts x pixel area (ha).
    """
    import pandas as pd

    from ..classify.tables import accuracy_from_table
    from ..errors import InputError
    from ..io import read_table, write_table

    if (matrix is None) == (map_path is None):
        raise InputError("Give either a confusion-matrix table (MATRIX) or --map with --points, not both.")
    if map_path is not None:
        res = _accuracy_from_map(Path(map_path), points_path, ref_col, unit_factor, z, out_path)
    else:
        matrix = Path(matrix)
        cm = read_table(matrix, what="confusion matrix")
        areas = None
        if areas_path is not None:
            a = read_table(areas_path, required=("class", "area"), what="mapped areas")
            areas = pd.Series(pd.to_numeric(a["area"], errors="coerce").to_numpy(),
                              index=a["class"].astype(str).str.strip())
            if areas.isna().any():
                raise InputError(f"mapped areas {areas_path}: column area has a missing or non-numeric value "
                                 f"(class {areas.index[areas.isna()][0]}).")
        if out_path is not None and Path(out_path).resolve() in (matrix.resolve(),
                                                                  Path(areas_path or matrix).resolve()):
            raise InputError(f"--out {out_path} is an input file; choose another name.")
        res = accuracy_from_table(cm, areas, unit_factor=unit_factor, z=z, what=f"confusion matrix {matrix}")
    if out_path is not None:
        write_table(res["table"].reset_index(), out_path)
        res["saved"] = str(out_path)
    return res


def _accuracy_from_map(map_path: Path, points_path: Path | None, ref_col: str, unit_factor: float, z: float,
                       out_path: Path | None) -> dict:
    from ..classify.tables import accuracy_from_table, map_vs_points
    from ..errors import InputError
    from ..io import open_raster, read_vector

    if points_path is None:
        raise InputError("--map needs --points (the reference sample).")
    points_path = Path(points_path)
    if out_path is not None and Path(out_path).resolve() in (map_path.resolve(), points_path.resolve()):
        raise InputError(f"--out {out_path} is an input file; choose another name.")
    cmap = open_raster(map_path, what="class map", chunks=1024, masked=False).isel(band=0)
    pts = read_vector(points_path, what="reference points", target_crs=cmap.rio.crs, required=(ref_col,))
    cm, pixels = map_vs_points(cmap, pts, ref_col, what=f"class map {map_path}")
    px_ha = abs(cmap.rio.transform().a * cmap.rio.transform().e) / 10000.0
    table = cm.reset_index()
    table["mapped_area"] = (pixels * px_ha).to_numpy()
    res = accuracy_from_table(table, None, unit_factor=unit_factor, z=z, what=f"class map {map_path} at {points_path}")
    res["area_unit"] = "ha" if unit_factor == 1.0 else f"ha x {unit_factor:g}"
    res["confusion"] = {"classes": list(cm.index), "rows_map_cols_reference": cm.to_numpy().tolist()}
    return res


def run_unmix_tool(image: Path, out: Path, em_path: Path, chunk_px: int = 1024) -> dict:
    """Fully constrained unmixing of ``image``: one fraction band per endmember, then rmse, into ``out`` (COG)."""
    import numpy as np
    import xarray as xr

    from ..classify.unmix import unmix
    from ..errors import InputError
    from ..io import open_raster, read_table
    from ..io.stack import write_stack

    if Path(out).resolve() == Path(image).resolve():
        raise InputError(f"Output {out} is the input image; choose another name.")
    da = open_raster(image, what="image", chunks=chunk_px, require_projected=False)
    em = read_table(em_path, required=("endmember",), what="endmember table")
    bands = [str(b) for b in da["band"].values]
    missing = [b for b in bands if b not in em.columns]
    if missing:
        raise InputError(f"endmember table {em_path} lacks column(s) for band(s) {', '.join(missing)} of {image}.")
    vals = em[bands].apply(lambda s: s.astype(float) if s.dtype != object else s.str.strip().astype(float))
    E = xr.DataArray(np.asarray(vals, dtype=float), dims=("endmember", "band"),
                     coords={"endmember": em["endmember"].astype(str).tolist(), "band": bands})
    frac = unmix(da.chunk({"band": -1}), E).rename({"component": "band"})
    write_stack(frac, out)
    return {"output": str(out), "bands": [str(b) for b in frac["band"].values]}


def run_phenology_tool(table: Path, out: Path, date_col: str = "date", value_col: str = "ndvi",
                       id_col: str | None = None, clear_col: str | None = None, min_clear: int = 3,
                       frac: float = 0.5) -> dict:
    """Gap-fill each series' cloudy observations and write phenology features per series and year to ``out``."""
    from ..classify.tables import phenology_table
    from ..errors import InputError
    from ..io import read_table, write_table

    if Path(out).resolve() == Path(table).resolve():
        raise InputError(f"Output {out} is the input table; choose another name.")
    df = read_table(table, what="series table")
    res = phenology_table(df, date_col, value_col, id_col, clear_col, min_clear, frac, what=f"series table {table}")
    write_table(res, out)
    return {"output": str(out), "series_years": int(len(res)), "flagged": int(res["flagged"].sum())}
