"""The map stage's running median writes each filtered year straight from one chunked pass (issue #18).

Reference: the way it was done before (the filtered stack written to one multi-band temporary GeoTIFF, read back
and every year written from it with ``write_raster``) - the files must be byte-identical - and the values
against :func:`running_median_np` on the whole stack in memory.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from rasterio.transform import from_origin

from minecarbon.io import open_raster, write_raster
from minecarbon.model.temporal_filter import running_median, running_median_np
from minecarbon.pipeline.stages.map import _band, _filter_years

YEARS = list(range(2005, 2012))  # 7 years, window 5
NY, NX, CHUNK = 300, 260, 128  # several chunks, the last ones partial


def _raw_maps(raw_dir: Path) -> np.ndarray:
    rng = np.random.default_rng(18)
    stack = rng.gamma(2.0, 20.0, size=(len(YEARS), NY, NX)).astype(np.float32)
    stack[:, :20, :] = np.nan  # outside the forest units
    stack[3, 50:60, 40:90] = np.nan  # a year without value at some pixels
    stack[2, 100:110, :] += 80.0  # a one-year shock
    t = from_origin(500000.0, 4100000.0, 30.0, 30.0)
    for y, a in zip(YEARS, stack):
        da = xr.DataArray(a, dims=("y", "x"),
                          coords={"y": 4100000.0 - 15.0 - 30.0 * np.arange(NY),
                                  "x": 500015.0 + 30.0 * np.arange(NX)})
        da = da.rio.write_transform(t).rio.write_crs("EPSG:32649")
        write_raster(da, raw_dir / f"agc_{y}.tif", ["agc_t_ha"], units="t C/ha", cog=False)
    return stack


def _ctx(out_dir: Path):
    produced = []
    ctx = SimpleNamespace(cfg=SimpleNamespace(project=SimpleNamespace(years=YEARS)),
                          out=lambda what, year: out_dir / f"agc_{year}.tif", produced=produced.append)
    return ctx, produced


def _before(raw_dir: Path, out_dir: Path, window: int) -> None:
    """The running median as the map stage wrote it before: a multi-band temporary, then year by year."""
    layers = [_band(raw_dir / f"agc_{y}.tif", f"unfiltered AGC map {y}", CHUNK) for y in YEARS]
    stack = xr.concat(layers, dim="year").assign_coords(year=YEARS)
    filt = running_median(stack, window).rename({"year": "band"}).assign_coords(band=[str(y) for y in YEARS])
    tmp = raw_dir / "filtered.tif"
    write_raster(filt.rio.write_crs(layers[0].rio.crs), tmp, [str(y) for y in YEARS], units="t C/ha", cog=False)
    whole = open_raster(tmp, what="filtered AGC maps", chunks=CHUNK)
    for i, y in enumerate(YEARS):
        band = whole.isel(band=i, drop=True).rio.write_crs(layers[0].rio.crs)
        write_raster(band, out_dir / f"agc_{y}.tif", ["agc_t_ha"], units="t C/ha")


@pytest.mark.parametrize("in_memory", [True, False], ids=["whole-stack", "chunked-pass"])
def test_filtered_years_equal_the_multiband_way_byte_for_byte(tmp_path, monkeypatch, in_memory):
    if not in_memory:  # the chunked pass of big scenes, forced here on a small stack
        monkeypatch.setattr("minecarbon.io.raster.IN_MEMORY_MAX_BYTES", 100_000)
    raw_a, raw_b = tmp_path / "raw_a", tmp_path / "raw_b"
    stack = _raw_maps(raw_a)
    _raw_maps(raw_b)
    before, after = tmp_path / "before", tmp_path / "after"
    _before(raw_b, before, 5)
    ctx, produced = _ctx(after)
    _filter_years(ctx, raw_a, 5, CHUNK)
    assert produced == [after / f"agc_{y}.tif" for y in YEARS]
    assert not raw_a.exists()  # the unfiltered maps are removed
    expect = np.clip(running_median_np(stack, 5, axis=0), 0, None).astype(np.float32)
    for i, y in enumerate(YEARS):
        assert (after / f"agc_{y}.tif").read_bytes() == (before / f"agc_{y}.tif").read_bytes(), y
        got = open_raster(after / f"agc_{y}.tif", chunks=None)
        assert [str(b) for b in got["band"].values] == ["agc_t_ha"]
        np.testing.assert_array_equal(got.values[0], expect[i])
    # the shock is gone: the filtered year equals its neighbours' median, not the shocked value
    assert np.nanmax(open_raster(after / f"agc_{YEARS[2]}.tif", chunks=None).values[0, 100:110]) < \
        np.nanmax(stack[2, 100:110])
