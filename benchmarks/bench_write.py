"""Benchmark: GeoTIFF writing (``minecarbon.io.write_raster``) - codecs for size and speed, before vs after (issue #18).

For each raster, in the same process and interleaved rounds:

* **before**: the ``write_raster`` of before issue #18, reproduced here: a tiled DEFLATE GeoTIFF written
  window by window (no predictor, one thread), then copied by GDAL's COG driver (DEFLATE, overviews
  AUTO with average resampling, one thread);
* **after**: ``write_raster`` with each codec (ZSTD level 1, DEFLATE, LERC - all lossless; floating-point
  predictor for floats, horizontal differencing for integers; compression on all cores; overviews
  only above 1024 px).

Rasters: a carbon-like 8-band float32 1000 x 1000 stack (the trend tool's output size; 20 % NaN), a
1000 x 1000 uint8 class map, a 48-band float32 600 x 600 feature stack, each numpy- and dask-backed
(dask: 256 px chunks, the pipeline's case), plus any GeoTIFFs given with ``--files`` (e.g. a demo's
outputs: they are read and rewritten).  Size in MB, median wall time of ``--repeat`` runs, and every
output read back and compared with the input (lossless check).

    .venv/bin/python benchmarks/bench_write.py [--repeat 3] [--files a.tif b.tif ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from scipy import ndimage

from minecarbon.io.atomic import atomic_path
from minecarbon.io.raster import CODECS, write_raster


def carbon_like(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = sum(ndimage.gaussian_filter(rng.normal(size=(h, w)), s) * wgt for s, wgt in ((25, 1.0), (4, 0.5), (1, 0.25)))
    f = (f - f.mean()) / f.std()
    return np.clip(60 + 22 * f, 0, None).astype(np.float32)


def _da(arr: np.ndarray, names: list[str]) -> xr.DataArray:
    import rioxarray  # noqa: F401

    b, h, w = arr.shape
    return xr.DataArray(arr, dims=("band", "y", "x"),
                        coords={"band": names, "y": 4_100_000 - 30.0 * (np.arange(h) + 0.5),
                                "x": 380_000 + 30.0 * (np.arange(w) + 0.5)}).rio.write_crs("EPSG:32649")


def before_write(da: xr.DataArray, path: Path, nodata) -> Path:
    """``write_raster`` before issue #18 (its body, without the checks): DEFLATE tiled GTiff, then a COG copy."""
    from minecarbon.io.locks import chunk_write_lock

    da = da.copy()
    if nodata is not None:
        if np.issubdtype(da.dtype, np.floating):
            da = da.fillna(nodata)
        da = da.rio.write_nodata(nodata, encoded=False)
    names = [str(b) for b in da["band"].values]
    da = da.assign_coords(band=np.arange(1, len(names) + 1))
    with atomic_path(path) as tmp:
        tiled = tmp.with_name(tmp.name + ".tiled.tif")
        lock, unlock = chunk_write_lock(tiled) if da.chunks else (None, lambda: None)
        try:
            da.rio.to_raster(tiled, driver="GTiff", tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE",
                             BIGTIFF="IF_SAFER", lock=lock, windowed=bool(da.chunks))
            with rasterio.open(tiled, "r+") as dst:
                for i, n in enumerate(names, start=1):
                    dst.set_band_description(i, n)
            rasterio.shutil.copy(tiled, tmp, driver="COG", compress="DEFLATE", blocksize=256,
                                 overview_resampling="average", BIGTIFF="IF_SAFER")
        finally:
            unlock()
            if tiled.exists():
                tiled.unlink()
    return path


def cases(files: list[Path]) -> list[tuple[str, xr.DataArray, object]]:
    out = []
    trend = np.stack([carbon_like(1000, 1000, s) for s in range(8)])
    trend[:, :, :200] = np.nan  # outside the area
    out.append(("8 x float32 1000x1000", _da(trend, [f"b{i}" for i in range(8)]), np.nan))
    cls = np.digitize(carbon_like(1000, 1000, 9), [30, 50, 70, 90]).astype(np.uint8)[None]
    out.append(("uint8 classes 1000x1000", _da(cls, ["class"]), 255))
    stack = np.stack([carbon_like(600, 600, 20 + s) for s in range(48)])
    out.append(("48 x float32 600x600", _da(stack, [f"f{i}" for i in range(48)]), np.nan))
    for f in files:
        with rasterio.open(f) as src:
            arr, nd = src.read(), src.nodata
            names = [d or f"band_{i + 1}" for i, d in enumerate(src.descriptions)]
        if nd is not None and np.issubdtype(arr.dtype, np.floating) and not np.isnan(nd):
            arr = np.where(arr == nd, np.nan, arr)
            nd = np.nan
        out.append((f.name, _da(arr, names), nd))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--files", type=Path, nargs="*", default=[])
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, GDAL {rasterio.__gdal_version__}, load {os.getloadavg()}")
    print("| raster | backing | writer | MB | median s | x before | lossless |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for label, da, nodata in cases(args.files):
            for backing in ("numpy", "dask"):
                d = da.chunk({"band": -1, "y": 256, "x": 256}) if backing == "dask" else da
                writers = {"before (DEFLATE, 2 passes)": lambda p: before_write(d, p, nodata)}
                for codec in CODECS:
                    writers[f"after {codec}"] = (lambda c: lambda p: write_raster(d, p, nodata=nodata, codec=c))(codec)
                times: dict[str, list[float]] = {k: [] for k in writers}
                for _ in range(args.repeat):
                    for name, fn in writers.items():
                        p = tmp / f"{abs(hash(name))}.tif"
                        t0 = time.perf_counter()
                        fn(p)
                        times[name].append(time.perf_counter() - t0)
                ref = statistics.median(times["before (DEFLATE, 2 passes)"])
                for name in writers:
                    p = tmp / f"{abs(hash(name))}.tif"
                    with rasterio.open(p) as src:
                        back = src.read()
                    want = np.where(np.isnan(da.values), np.nan, da.values) if da.dtype.kind == "f" else da.values
                    same = np.array_equal(back, want, equal_nan=da.dtype.kind == "f")
                    med = statistics.median(times[name])
                    print(f"| {label} | {backing} | {name} | {p.stat().st_size / 1e6:.2f} | {med:.3f} | "
                          f"{ref / med:.2f} | {'yes' if same else 'NO'} |", flush=True)
    print(f"load after: {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
