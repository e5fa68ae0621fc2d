"""Benchmark: the map stage's 5-year running median, before and after issue #18's session 7, same data, same run.

Before: the filtered stack of all years written into one multi-band temporary GeoTIFF, read back and each year
written from it with ``write_raster``.  After: ``map._filter_years``, one chunked pass that writes every year's
band straight into its own COG (``io.raster.write_rasters``).  Synthetic unfiltered maps (``--years`` x
``--size``\\ :sup:`2` float32, 20 % nodata as outside the forest units), alternating the two ``--repeats`` times;
every output of the two is compared byte for byte.  Reports wall and process CPU (user + sys, all threads).

    .venv/bin/python benchmarks/bench_map_filter.py [--size 1000] [--years 20] [--repeats 2] [--chunk 512]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import xarray as xr
from rasterio.transform import from_origin


def _raw(raw_dir: Path, years: list[int], n: int) -> None:
    from minecarbon.io import write_raster

    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 20.0, size=(n, n)).astype(np.float32)
    t = from_origin(500000.0, 4100000.0, 30.0, 30.0)
    coords = {"y": 4100000.0 - 15.0 - 30.0 * np.arange(n), "x": 500015.0 + 30.0 * np.arange(n)}
    for i, y in enumerate(years):
        a = base * (1.0 + 0.01 * i) + rng.normal(0.0, 2.0, (n, n)).astype(np.float32)
        a[: n // 5] = np.nan
        da = xr.DataArray(a, dims=("y", "x"), coords=coords).rio.write_transform(t).rio.write_crs("EPSG:32649")
        write_raster(da, raw_dir / f"agc_{y}.tif", ["agc_t_ha"], units="t C/ha", cog=False)


def _before(raw_dir: Path, out_dir: Path, years: list[int], window: int, chunk: int) -> None:
    from minecarbon.io import open_raster, write_raster
    from minecarbon.model.temporal_filter import running_median
    from minecarbon.pipeline.stages.map import _band

    layers = [_band(raw_dir / f"agc_{y}.tif", f"unfiltered AGC map {y}", chunk) for y in years]
    stack = xr.concat(layers, dim="year").assign_coords(year=years)
    filt = running_median(stack, window).rename({"year": "band"}).assign_coords(band=[str(y) for y in years])
    tmp = raw_dir / "filtered.tif"
    write_raster(filt.rio.write_crs(layers[0].rio.crs), tmp, [str(y) for y in years], units="t C/ha", cog=False)
    whole = open_raster(tmp, what="filtered AGC maps", chunks=chunk)
    for i, y in enumerate(years):
        band = whole.isel(band=i, drop=True).rio.write_crs(layers[0].rio.crs)
        write_raster(band, out_dir / f"agc_{y}.tif", ["agc_t_ha"], units="t C/ha")
    shutil.rmtree(raw_dir, ignore_errors=True)


def _after(raw_dir: Path, out_dir: Path, years: list[int], window: int, chunk: int) -> None:
    from minecarbon.pipeline.stages.map import _filter_years

    ctx = SimpleNamespace(cfg=SimpleNamespace(project=SimpleNamespace(years=years)),
                          out=lambda what, year: out_dir / f"agc_{year}.tif", produced=lambda p: p)
    _filter_years(ctx, raw_dir, window, chunk)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=512)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    years = list(range(2005, 2005 + args.years))
    runs = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        tmp = Path(tmp)
        _raw(tmp / "raw0", years, args.size)
        for r in range(args.repeats):
            for name, fn in (("before", _before), ("after", _after)):
                raw, out = tmp / f"raw_{name}", tmp / f"out_{name}"
                shutil.rmtree(out, ignore_errors=True)
                shutil.copytree(tmp / "raw0", raw)
                t0, c0 = time.perf_counter(), time.process_time()
                fn(raw, out, years, 5, args.chunk)
                runs[name].append((time.perf_counter() - t0, time.process_time() - c0, os.getloadavg()[0]))
            same = all((tmp / "out_before" / f"agc_{y}.tif").read_bytes() == (tmp / "out_after" / f"agc_{y}.tif")
                       .read_bytes() for y in years)
            if not same:
                raise SystemExit("outputs differ")
    res = {"size": args.size, "years": args.years, "chunk": args.chunk, "byte_identical": True,
           **{f"{k}_wall_s": [round(w, 2) for w, _, _ in v] for k, v in runs.items()},
           **{f"{k}_cpu_s": [round(c, 2) for _, c, _ in v] for k, v in runs.items()},
           "load_after_each": [round(l, 1) for v in zip(runs["before"], runs["after"]) for _, _, l in v],
           "machine": platform.platform()}
    print(json.dumps(res, indent=2))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
