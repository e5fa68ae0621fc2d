"""The assessment tools on plain files: ``trend``, ``hotspot``, ``breaks``, ``zonal``, ``change``.

Each ``run_*_tool`` opens its files through :mod:`minecarbon.io`, calls the
science function of :mod:`minecarbon.assess`, writes the result atomically
and returns a summary (a dict); ``minecarbon tool ...``
(:mod:`minecarbon.cli.tools_assess`) only parses options and prints it.
Tested without click.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CHUNK_PX = 1024


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _not_an_input(out: Path, *inputs: Path) -> None:
    from ..errors import InputError

    for i in inputs:
        if Path(out).resolve() == Path(i).resolve():
            raise InputError(f"Output {out} is also an input; choose another output name (inputs are never "
                             f"overwritten).")


def _open_band(path: Path, band: int | None, what: str, require_projected: bool = False):
    """One band of a raster as (y, x); the band number is 1-based."""
    from ..errors import InputError
    from ..io import open_raster

    da = open_raster(path, what=what, chunks=CHUNK_PX, require_projected=require_projected)
    nb = da.sizes["band"]
    if band is None:
        if nb != 1:
            raise InputError(f"{what} {path} has {nb} bands; choose one with --band N (1..{nb}).")
        band = 1
    if not 1 <= band <= nb:
        raise InputError(f"{what} {path} has {nb} band(s); --band {band} does not exist.")
    return da.isel(band=band - 1, drop=True)


def _fits_in_memory(da) -> bool:
    """A result small enough to compute once and keep (``io.raster.IN_MEMORY_MAX_BYTES``, also the size that
    ``write_raster`` writes in one pass), rather than computing it again for the file and for the summary."""
    from ..io.raster import IN_MEMORY_MAX_BYTES

    return da.nbytes <= IN_MEMORY_MAX_BYTES


def _require_data(da, path: Path, what: str) -> int:
    """Number of valid pixels; an all-nodata raster is an error."""
    n = int(np.isfinite(da).sum().compute() if hasattr(da.data, "dask") else np.isfinite(da.values).sum())
    if n == 0:
        raise _no_data(path, what)
    return n


def _no_data(path: Path, what: str):
    from ..errors import InputError

    return InputError(f"{what} {path} has no valid pixel (all nodata). Check its nodata value and that "
                      f"it is the right file.")


def parse_years(text: str) -> list[int]:
    """'2005,2006,2010' or '2005-2024' (or a mix) -> list of years."""
    from ..errors import InputError

    years: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"(-?\d+)(?:-(\d+))?", part)
        if not m:
            raise InputError(f"--years {text!r}: {part!r} is not a year or a range like 2005-2024.")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if b < a:
            raise InputError(f"--years {text!r}: the range {part} goes backwards.")
        years.extend(range(a, b + 1))
    return years


def years_from_descriptions(names: list[str]) -> list[int] | None:
    """Years read from band descriptions such as '2005' or 'agc_2005' (None when any band has none)."""
    out = []
    for n in names:
        m = re.findall(r"(?<!\d)(\d{4})(?!\d)", str(n))
        if len(m) != 1:
            return None
        out.append(int(m[0]))
    return out


# ---------------------------------------------------------------------------
# library-level tool functions
# ---------------------------------------------------------------------------
def run_trend_tool(stack_path: Path, out_path: Path, years: list[int] | None = None, alpha: float = 0.05,
                   stable_slope: float = 0.0, min_years: int = 3) -> dict:
    """Sen + Mann-Kendall per pixel of a yearly stack (bands = years in order); returns a summary.

    A stack that fits in memory (``io.geotiff.IN_MEMORY_MAX_BYTES``) is read whole with rasterio, computed by
    :func:`~minecarbon.assess.trend.mann_kendall_sen_stack` (the kernel on every core) and written by
    :func:`~minecarbon.io.geotiff.write_cog`: no xarray, rioxarray nor dask in the process.  A larger one (or
    one whose tags only rioxarray reads faithfully) goes through :func:`~minecarbon.assess.mann_kendall_sen` on
    dask chunks of ``CHUNK_PX``.  Either way the same file, byte for byte.
    """
    from ..assess.trend import TREND_BANDS
    from ..io.geotiff import read_array

    _not_an_input(out_path, stack_path)
    ga = read_array(stack_path, what="stack", require_projected=False)
    if ga is None or ga.tags is None:
        return _trend_in_chunks(stack_path, out_path, years, alpha, stable_slope, min_years)
    from ..assess.trend import STATS, mann_kendall_sen_stack, trend_attrs
    from ..io.geotiff import write_cog

    years, t = _trend_years(stack_path, ga.names, years)
    res = mann_kendall_sen_stack(ga.values, t, min_years, alpha, stable_slope,
                                 what=f"The stack ({stack_path})")
    out = res[[STATS.index(b) for b in TREND_BANDS]].astype(np.float32)
    del res
    n = out[TREND_BANDS.index("n")]
    if not (n > 0).any():
        raise _no_data(stack_path, "stack")  # no year of any pixel is valid
    write_cog(out, out_path, list(TREND_BANDS), ga.crs, ga.transform,
              tags={**ga.tags, **trend_attrs(t, min_years, alpha, stable_slope)})
    return _trend_summary(out_path, years, out[TREND_BANDS.index("trend")], n, out[TREND_BANDS.index("slope")],
                          min_years, alpha, stable_slope)


def _trend_summary(out_path: Path, years: list[int], cls, n, slope, min_years: int, alpha: float,
                   stable_slope: float) -> dict:
    """The trend tool's summary from the written bands (numpy arrays, or DataArrays: dask ones computed here)."""
    from ..assess.trend import TREND_BANDS, TREND_CLASSES

    counts = {TREND_CLASSES[c][0]: int((cls == c).sum()) for c in sorted(TREND_CLASSES, reverse=True)}
    finite = np.isfinite(slope)
    return {"output": str(out_path), "bands": list(TREND_BANDS), "years": [int(y) for y in years],
            "pixels": int(slope.size), "pixels_with_trend": int(finite.sum()),
            "pixels_too_few_years": int(((n < min_years) & (n > 0)).sum()),
            "alpha": alpha, "stable_slope": stable_slope, "class_counts": counts,
            "median_slope": float(np.nanmedian(np.asarray(slope))) if bool(finite.any()) else None}


def _trend_years(stack_path: Path, names: list[str], years: list[int] | None) -> tuple[list[int], np.ndarray]:
    """The years of the stack's bands (given, or read from the band descriptions), checked against the bands."""
    from ..errors import InputError

    if years is None:
        years = years_from_descriptions(names)
        if years is None:
            raise InputError(f"Cannot read the years from the band descriptions of {stack_path} ({', '.join(names[:5])}"
                             f"{'...' if len(names) > 5 else ''}); give them with --years 2005-2024 or "
                             f"--years 2005,2006,...")
    if len(years) != len(names):
        raise InputError(f"{stack_path} has {len(names)} bands but {len(years)} years were given "
                         f"({years[:5]}...); give one year per band, in band order.")
    if len(names) < 3:
        raise InputError(f"{stack_path} has {len(names)} band(s); a Mann-Kendall trend needs at least 3 "
                         f"years. Use 'minecarbon tool change' for two dates.")
    return years, np.asarray(years, dtype=np.float64)


def _trend_in_chunks(stack_path: Path, out_path: Path, years: list[int] | None, alpha: float, stable_slope: float,
                     min_years: int) -> dict:
    """:func:`run_trend_tool` on a stack opened through rioxarray (dask chunks of ``CHUNK_PX`` when it does not fit
    in memory)."""
    from ..assess import mann_kendall_sen
    from ..assess.trend import TREND_BANDS
    from ..io import open_raster_fitting, write_raster

    da = open_raster_fitting(stack_path, what="stack", chunks=CHUNK_PX, require_projected=False)
    years, _ = _trend_years(stack_path, [str(b) for b in da["band"].values], years)
    stack = da.rename({"band": "year"}).assign_coords(year=years)
    res = mann_kendall_sen(stack, min_years=min_years, alpha=alpha, stable_slope=stable_slope)
    out = res.sel(stat=list(TREND_BANDS)).rename({"stat": "band"}).astype(np.float32)
    if out.chunks is None or _fits_in_memory(out):  # one read of the stack: computed once, written, summarised
        out = out.compute()  # (numpy-backed: computed already)
        if not (out.sel(band="n").values > 0).any():
            raise _no_data(stack_path, "stack")  # no year of any pixel is valid
    else:
        _require_data(stack, stack_path, "stack")
    write_raster(out, out_path, list(TREND_BANDS))
    from ..io import open_raster as _open

    written = out if out.chunks is None else _open(out_path, chunks=CHUNK_PX, require_projected=False)
    return _trend_summary(out_path, years, written.sel(band="trend"), written.sel(band="n"),
                          written.sel(band="slope"), min_years, alpha, stable_slope)


def run_hotspot_tool(in_path: Path, out_path: Path, distance_m: float | None = None, window: int | None = None,
                     fdr: bool = False, band: int | None = None) -> dict:
    """Getis-Ord Gi* z, p and bin of one raster band; returns a summary."""
    from ..assess import gi_star
    from ..io import write_raster

    _not_an_input(out_path, in_path)
    da = _open_band(in_path, band, "raster", require_projected=distance_m is not None)
    _require_data(da, in_path, "raster")
    res = gi_star(da, distance_m=distance_m, window=window, fdr=fdr)
    if _fits_in_memory(res):
        res = res.compute()  # computed once for the file and the summary
    write_raster(res.rename({"stat": "band"}).astype(np.float32), out_path, ["z", "p", "bin"])
    b = np.asarray(res.sel(stat="bin").values)
    valid = np.isfinite(np.asarray(res.sel(stat="z").values))
    counts = {str(int(k)): int(((b == k) & valid).sum()) for k in range(-3, 4)}
    return {"output": str(out_path), "bands": ["z", "p", "bin"], "n": res.attrs["n"], "mean": res.attrs["mean"],
            "std": res.attrs["std"], "neighbourhood": res.attrs["neighbourhood"], "fdr": bool(fdr),
            "p_cutoffs_99_95_90": res.attrs["p_cutoffs"], "bin_counts": counts}


def run_breaks_tool(in_path: Path, out_path: Path, classes: int, band: int | None = None) -> dict:
    """Exact Fisher-Jenks natural breaks of one raster band and the class raster (1..k); returns a summary."""
    from ..assess import natural_breaks
    from ..io import write_raster

    _not_an_input(out_path, in_path)
    da = _open_band(in_path, band, "raster")
    _require_data(da, in_path, "raster")
    cls, res = natural_breaks(da, classes)
    write_raster(cls.fillna(0), out_path, ["class"], nodata=0, dtype="uint8" if classes < 255 else "uint16",
                 units="class")
    return {"output": str(out_path), "classes": res.k, "breaks": [float(x) for x in res.breaks],
            "upper_bounds": [float(x) for x in res.upper_bounds], "counts": [int(c) for c in res.counts],
            "means": [float(m) for m in res.means], "sdcm": res.sdcm, "sdam": res.sdam,
            "goodness_of_variance_fit": res.gvf}


def run_zonal_tool(values_path: Path, zones_path: Path, out_path: Path, field: str | None = None,
                   all_touched: bool = False, band: int | None = None) -> dict:
    """Zonal statistics of one raster band per polygon (or field value) or per zone code of an integer raster.

    ``out_path`` may be ``.csv`` (any zones) or ``.gpkg`` (polygon zones: the table joined to the
    zone polygons).
    """
    import rasterio

    from ..assess import polygon_zonal_stats, zonal_stats
    from ..errors import CRSError, GridError, InputError
    from ..io import open_raster, read_vector, write_table, write_vector

    _not_an_input(out_path, values_path, zones_path)
    da = _open_band(values_path, band, "values raster")
    _require_data(da, values_path, "values raster")
    crs = da.rio.crs
    if crs is not None and crs.is_geographic:
        px_ha = float("nan")
        log.warning("%s is in a geographic CRS: area_ha and sum_t are not computed", values_path)
    else:
        t = da.rio.transform()
        px_ha = abs(t.a * t.e) / 10_000.0
    is_raster = False
    if zones_path.suffix.lower() in (".tif", ".tiff", ".vrt", ".img"):
        is_raster = True
    elif zones_path.is_file():
        try:
            with rasterio.open(zones_path):
                is_raster = True
        except rasterio.errors.RasterioIOError:
            is_raster = False
    if is_raster:
        if field:
            raise InputError("--field applies to polygon zones; the zones here are a raster of codes.")
        if all_touched:
            raise InputError("--all-touched applies to polygon zones; the zones here are a raster of codes.")
        zr = open_raster(zones_path, what="zone raster", chunks=CHUNK_PX, masked=True, require_projected=False)
        if zr.sizes["band"] != 1:
            raise InputError(f"zone raster {zones_path} has {zr.sizes['band']} bands; give a one-band raster of "
                             f"integer zone codes.")
        zr = zr.isel(band=0, drop=True)
        if zr.rio.crs is not None and crs is not None and zr.rio.crs != crs:
            raise CRSError(f"zone raster {zones_path} is in {zr.rio.crs} but {values_path} is in {crs}. "
                           f"Reproject the zones onto the values' grid first (nearest neighbour, e.g. "
                           f"gdalwarp -r near -t_srs ... -te ... -tr ...) - resampling codes changes zone areas, so "
                           f"this tool does not do it silently.")
        if zr.shape != da.shape or not np.allclose(zr.rio.transform()[:6], da.rio.transform()[:6]):
            raise GridError(f"zone raster {zones_path} ({zr.shape[0]} x {zr.shape[1]}, origin "
                            f"{zr.rio.transform().c:.2f}, {zr.rio.transform().f:.2f}) is not on the grid of "
                            f"{values_path} ({da.shape[0]} x {da.shape[1]}, origin {da.rio.transform().c:.2f}, "
                            f"{da.rio.transform().f:.2f}). Put both on one grid first (gdalwarp -r near -te -tr).")
        zr = zr.assign_coords(x=da.x.values, y=da.y.values)
        table = zonal_stats(da, zr, px_ha, ignore_zone=None)
        kind = "raster"
        if out_path.suffix.lower() == ".gpkg":
            raise InputError("A GeoPackage output needs polygon zones; write a .csv for raster zones.")
        write_table(table, out_path)
    else:
        gdf = read_vector(zones_path, what="zone layer")
        table = polygon_zonal_stats(da, gdf, field=field, all_touched=all_touched, pixel_area_ha=px_ha)
        kind = "polygons"
        if out_path.suffix.lower() == ".gpkg":
            gdf = gdf.to_crs(crs) if crs is not None and not gdf.crs.equals(crs) else gdf
            if field:
                geo = gdf.dissolve(by=field, as_index=False)[[field, "geometry"]].rename(columns={field: "zone"})
            else:
                geo = gdf[["geometry"]].copy()
                geo["zone"] = np.arange(len(gdf))
            out = geo.merge(table, on="zone", how="right")
            write_vector(out, out_path, layer="zonal_stats")
        else:
            write_table(table, out_path)
    return {"output": str(out_path), "zones": kind, "n_zones": int(len(table)),
            "zones_with_data": int((table["count"] > 0).sum()), "pixel_area_ha": px_ha,
            "variance": "population (divided by count)", "all_touched": bool(all_touched)}


def run_change_tool(a_path: Path, b_path: Path, out_path: Path, degree_min: float = 1.0,
                    band: int | None = None) -> dict:
    """Change amount (B - A) and degree ((B - A) / A x 100 %) of two rasters on one grid; returns a summary."""
    import xarray as xr

    from ..assess import change_amount, change_degree
    from ..io import write_raster

    _not_an_input(out_path, a_path, b_path)
    a = _open_band(a_path, band, "raster A")
    b = _open_band(b_path, band, "raster B")
    a.attrs["source_path"] = str(a_path)
    b.attrs["source_path"] = str(b_path)
    _require_data(a, a_path, "raster A")
    _require_data(b, b_path, "raster B")
    amount = change_amount(a, b)
    degree = change_degree(a, b, degree_min)
    out = xr.concat([amount, degree], dim="band")
    write_raster(out, out_path, ["change_amount", "change_degree_pct"])
    am = np.asarray(amount.values)
    dg = np.asarray(degree.values)
    return {"output": str(out_path), "bands": ["change_amount", "change_degree_pct"],
            "pixels_both_valid": int(np.isfinite(am).sum()), "mean_change": float(np.nanmean(am)),
            "total_change_sum": float(np.nansum(am)), "degree_min_reference": degree_min,
            "pixels_degree_nodata_low_reference": int((np.isfinite(am) & ~np.isfinite(dg)).sum())}
