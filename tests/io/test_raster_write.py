"""``write_raster`` (issue 18): valid COGs (rio-cogeo's validator), lossless in every codec, the
predictor suited to the data type, overviews only on large rasters, and the same bytes whether
the array is written in one pass from memory or chunk by chunk under any scheduler's lock."""

from __future__ import annotations

import hashlib

import dask
import numpy as np
import pytest
import rasterio
import xarray as xr

from minecarbon.io import raster as rio_mod
from minecarbon.io.raster import CODECS, write_raster

cogeo = pytest.importorskip("rio_cogeo.cogeo")


def _da(n: int = 300, bands: int = 3, dtype: str = "float32", seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.floating):
        a = (rng.gamma(3.0, 20.0, (bands, n, n))).astype(dtype)
        a[:, :17, :23] = np.nan  # nodata corner
    else:
        a = rng.choice(np.array([0, 10, 200], dtype=dtype), size=(bands, n, n))
    names = [f"b{i}" for i in range(bands)]
    return xr.DataArray(a, dims=("band", "y", "x"),
                        coords={"band": names, "y": 4_000_000 - 30.0 * np.arange(n) - 15,
                                "x": 380_000 + 30.0 * np.arange(n) + 15}).rio.write_crs("EPSG:32649")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_every_codec_is_a_valid_lossless_cog(tmp_path, codec, dtype):
    da = _da(dtype=dtype)
    p = write_raster(da, tmp_path / "out.tif", units="t C/ha", codec=codec,
                     nodata=None if dtype == "float32" else 255)
    valid, errors, _warnings = cogeo.cog_validate(str(p), quiet=True)
    assert valid, errors
    with rasterio.open(p) as src:
        back = src.read()
        assert src.descriptions == ("b0", "b1", "b2")
        assert src.units == ("t C/ha",) * 3
        assert src.block_shapes[0] == (256, 256)
        assert src.profile["compress"].upper() == {"ZSTD": "ZSTD", "DEFLATE": "DEFLATE", "LERC": "LERC_ZSTD"}[codec]
        predictor = src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR")
        if codec != "LERC":  # 3 = floating-point predictor, 2 = horizontal differencing (TIFF tag 317)
            assert predictor == ("3" if dtype == "float32" else "2")
        if dtype == "float32":
            assert np.isnan(src.nodata)
    # lossless: the same values, NaN where NaN
    np.testing.assert_array_equal(back, da.values)


def test_zstd_is_smaller_than_plain_deflate_on_smooth_floats(tmp_path):
    """The predictor is what makes floats compress: same data, DEFLATE without predictor as before issue 18."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(1)
    smooth = np.stack([gaussian_filter(rng.normal(60, 22, (300, 300)), 4) for _ in range(3)]).astype("float32")
    da = _da().copy(data=smooth)
    ours = write_raster(da, tmp_path / "ours.tif")
    plain = tmp_path / "plain.tif"
    da.rio.to_raster(plain, driver="COG", compress="DEFLATE", blocksize=256, overviews="NONE")
    assert ours.stat().st_size < plain.stat().st_size


def test_overviews_only_on_large_rasters_and_nearest_for_classes(tmp_path):
    small = write_raster(_da(300), tmp_path / "small.tif")
    with rasterio.open(small) as src:
        assert src.overviews(1) == []
    big = _da(rio_mod.OVERVIEW_MIN_PX + 100, bands=1, dtype="uint8")
    p = write_raster(big, tmp_path / "classes.tif", nodata=255)
    assert cogeo.cog_validate(str(p), quiet=True)[0]
    with rasterio.open(p) as src:
        assert src.overviews(1) == [2, 4, 8]  # down to one 256 px tile (1124 / 8 < 256)
        ov = src.read(1, out_shape=(src.height // 4, src.width // 4))
    assert set(np.unique(ov)) <= {0, 10, 200}  # nearest keeps class codes (average would mix them)
    # forced off / on
    with rasterio.open(write_raster(big, tmp_path / "no.tif", nodata=255, overviews=False)) as src:
        assert src.overviews(1) == []
    with rasterio.open(write_raster(_da(300), tmp_path / "yes.tif", overviews=True)) as src:
        assert src.overviews(1) == [2]


@pytest.mark.parametrize("scheduler", ["threads", "processes", "synchronous"])
def test_streamed_and_in_memory_paths_write_the_same_bytes(tmp_path, monkeypatch, scheduler):
    da = _da(600)
    ref = write_raster(da, tmp_path / "numpy.tif")  # numpy: one pass from memory
    chunked = da.chunk({"band": 1, "y": 200, "x": 200})
    with dask.config.set(scheduler=scheduler):
        mem = write_raster(chunked, tmp_path / "mem.tif")  # dask, small: computed, one pass
        monkeypatch.setattr(rio_mod, "IN_MEMORY_MAX_BYTES", 0)  # dask, streamed chunk by chunk under the lock
        streamed = write_raster(chunked, tmp_path / "streamed.tif")
    assert _sha(ref) == _sha(mem) == _sha(streamed)
    assert cogeo.cog_validate(str(streamed), quiet=True)[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mem.tif", "numpy.tif", "streamed.tif"]  # no leftovers


def test_unknown_codec_is_named(tmp_path):
    with pytest.raises(ValueError, match="Unknown GeoTIFF codec 'JPEG'.*ZSTD, DEFLATE, LERC"):
        write_raster(_da(), tmp_path / "x.tif", codec="jpeg")


@pytest.mark.parametrize("scheduler", ["threads", "processes", "synchronous"])
def test_write_rasters_one_pass_same_bytes_as_write_raster(tmp_path, scheduler):
    """Several outputs of one dask graph: the same files as ``write_raster`` writes for each, the small
    per-chunk values of ``also`` computed in the same pass, and no leftovers."""
    from minecarbon.io.raster import write_rasters

    da = _da(600, bands=1).isel(band=0).chunk({"y": 200, "x": 200})
    classes = xr.where(da > 60, 1, 0).astype("uint8").rio.write_crs(da.rio.crs)
    scaled = (da * 2).astype("float32").rio.write_crs(da.rio.crs)
    sums = [dask.delayed(np.nansum)(b) for b in da.data.to_delayed().ravel()]
    with dask.config.set(scheduler=scheduler):
        paths, (total, *rest) = write_rasters(
            [(classes, tmp_path / "a.tif", {"band_names": ["cls"], "nodata": 255, "dtype": "uint8", "units": "class"}),
             (scaled, tmp_path / "b.tif", {"band_names": ["twice"], "units": "t"})], also=[sum(sums[1:], sums[0])])
    assert not rest
    ref_a = write_raster(classes.compute(), tmp_path / "ref_a.tif", ["cls"], nodata=255, dtype="uint8", units="class")
    ref_b = write_raster(scaled.compute(), tmp_path / "ref_b.tif", ["twice"], units="t")
    assert _sha(paths[0]) == _sha(ref_a) and _sha(paths[1]) == _sha(ref_b)
    assert total == pytest.approx(float(np.nansum(da.values)), rel=1e-6)
    with rasterio.open(paths[0]) as src:
        assert src.descriptions == ("cls",) and src.units == ("class",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.tif", "ref_a.tif", "ref_b.tif"]


def test_write_rasters_computes_a_shared_upstream_chunk_once(tmp_path):
    from minecarbon.io.raster import write_rasters

    calls = []

    def upstream(block):
        calls.append(block.shape)
        return block * 1.5

    da = _da(400, bands=1).isel(band=0).chunk({"y": 200, "x": 200})
    up = da.copy(data=da.data.map_blocks(upstream, dtype="float32", meta=np.array((), dtype="float32")))
    with dask.config.set(scheduler="threads"):
        write_rasters([((up + 1).rio.write_crs(da.rio.crs), tmp_path / "a.tif", {}),
                       ((up * 2).rio.write_crs(da.rio.crs), tmp_path / "b.tif", {})],
                      also=[dask.delayed(np.nanmax)(b) for b in up.data.to_delayed().ravel()])
    assert len(calls) == 4  # 2 x 2 chunks, each computed once for both files and the maxima
    with rasterio.open(tmp_path / "b.tif") as src:
        np.testing.assert_array_equal(src.read(1), (da.values * 1.5 * 2).astype("float32"))


def test_strips_are_whole_chunk_rows_of_at_most_max_chunks():
    from minecarbon.io.raster import strips

    rows = [128] * 5 + [50]  # 690 px in 6 chunk rows, 4 chunks per row
    assert strips(rows, 4, 8) == [slice(0, 256), slice(256, 512), slice(512, 690)]
    assert strips(rows, 4, 3) == [slice(i * 128, min(i * 128 + 128, 690)) for i in range(6)]  # at least one row
    assert strips(rows, 4, None) == [slice(0, 690)]
    assert strips(rows, 4, 1000) == [slice(0, 690)]


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_write_rasters_in_strips_same_bytes_each_chunk_once(tmp_path, scheduler):
    """Strips of chunk rows, one dask pass each: the files ``write_raster`` writes (1 and 3 bands), the strip's
    summaries from ``also(rows)`` in strip order, and every upstream chunk computed once (threads)."""
    from minecarbon.io.raster import write_rasters

    calls = []

    def upstream(block, block_info=None):
        calls.append(tuple(block_info[0]["array-location"][-2]))
        return block * 1.5

    da = _da(600, bands=3).chunk({"band": -1, "y": 200, "x": 200})
    up = da.copy(data=da.data.map_blocks(upstream, dtype="float32", meta=np.array((), dtype="float32")))
    one = up.isel(band=0).rio.write_crs(da.rio.crs)
    classes = xr.where(one > 90, 1, 0).astype("uint8").rio.write_crs(da.rio.crs)
    seen = []

    def sums(rows):
        seen.append((rows.start, rows.stop))
        return [dask.delayed(np.nansum)(b) for b in one.isel(y=rows).data.to_delayed(optimize_graph=False).ravel()]

    with dask.config.set(scheduler=scheduler):
        paths, got = write_rasters(
            [(classes, tmp_path / "a.tif", {"band_names": ["cls"], "nodata": 255, "dtype": "uint8", "units": "class"}),
             (up.rio.write_crs(da.rio.crs), tmp_path / "b.tif", {"units": "t"})], also=sums, max_chunks=3)
    assert seen == [(0, 200), (200, 400), (400, 600)]  # 3 chunks a row, 3 strips
    assert len(got) == 9
    np.testing.assert_allclose(got, [np.nansum(da.values[0, r:r + 200, c:c + 200] * 1.5)
                                     for r in (0, 200, 400) for c in (0, 200, 400)], rtol=1e-6)
    if scheduler == "threads":
        assert sorted(calls) == sorted((r, r + 200) for r in (0, 200, 400) for _ in range(3))  # each chunk once
    ref_a = write_raster(classes.compute(), tmp_path / "ref_a.tif", ["cls"], nodata=255, dtype="uint8", units="class")
    ref_b = write_raster(up.compute().rio.write_crs(da.rio.crs), tmp_path / "ref_b.tif", units="t")
    assert _sha(paths[0]) == _sha(ref_a) and _sha(paths[1]) == _sha(ref_b)
    with rasterio.open(paths[1]) as src:
        assert src.count == 3 and src.descriptions == ("b0", "b1", "b2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif", "b.tif", "ref_a.tif", "ref_b.tif"]
