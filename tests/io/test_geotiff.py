"""``io.geotiff`` (issue 18): a raster read whole into numpy is what ``open_raster`` loads, and ``write_cog``
writes the bytes ``write_raster`` writes - the numpy path of the file tools, without xarray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from minecarbon.errors import CRSError, InputError, MissingInputError
from minecarbon.io import open_raster, write_raster
from minecarbon.io.geotiff import read_array, write_cog


def _tif(path: Path, arr: np.ndarray, nodata=None, tags: dict | None = None, crs="EPSG:32649",
         names: list[str] | None = None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                       dtype=arr.dtype, crs=crs, transform=from_origin(380012.5, 4100007.25, 30, 30),
                       nodata=nodata, tiled=True, blockxsize=32, blockysize=32, compress="DEFLATE") as dst:
        dst.write(arr)
        if tags:
            dst.update_tags(**tags)
        for i, n in enumerate(names or [], 1):
            dst.set_band_description(i, n)
    return path


def _inputs(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    f = rng.normal(50, 10, (4, 45, 70)).astype(np.float32)
    f[:, :3, :5] = np.nan
    i16 = rng.integers(-100, 3000, (3, 45, 70)).astype(np.int16)
    i16[0, 10:12] = -9999
    i32 = rng.integers(-2**31, 2**31 - 1, (2, 45, 70), dtype=np.int32)
    tags = {"source": "plots 2024", "version": "7", "gain": "1e3", "padded": " 12", "AREA_OR_POINT": "Point",
            "units": "t C/ha", "long_name": "agc"}
    return {
        "float_nan": _tif(tmp_path / "f.tif", f, nodata=np.nan, names=["2001", "2002", "", "2004"]),
        "float_none": _tif(tmp_path / "f0.tif", np.nan_to_num(f), names=["a", "b", "c", "d"]),
        "int16_nodata": _tif(tmp_path / "i16.tif", i16, nodata=-9999, tags=tags),
        "int32": _tif(tmp_path / "i32.tif", i32, tags={"count": "3"}),
    }


@pytest.mark.parametrize("case", ["float_nan", "float_none", "int16_nodata", "int32"])
def test_read_array_is_what_open_raster_loads(tmp_path: Path, case: str) -> None:
    path = _inputs(tmp_path)[case]
    ref = open_raster(path, "raster", chunks=None).load()
    ga = read_array(path, "raster")
    assert ga.values.dtype == ref.dtype and ga.values.tobytes() == ref.values.tobytes()
    assert ga.names == [str(b) for b in ref["band"].values]
    assert ga.crs == ref.rio.crs and ga.transform == ref.rio.transform()
    assert read_array(path, "raster", max_bytes=ga.values.nbytes - 1) is None  # does not fit


@pytest.mark.parametrize("case", ["float_nan", "int16_nodata", "int32"])
def test_write_cog_writes_the_bytes_of_write_raster(tmp_path: Path, case: str) -> None:
    """A result derived from an input (float32 values, the input's attributes plus its own) written both ways."""
    path = _inputs(tmp_path)[case]
    da = open_raster(path, "raster", chunks=None).load()
    res = (da * 1.5).astype(np.float32)
    res.attrs = {k: v for k, v in da.attrs.items() if k not in ("units", "long_name", "source_path", "_FillValue",
                                                                "scale_factor", "add_offset")}
    res.attrs.update(units="t/yr", long_name="x", alpha=0.05, years=[2001.0, 2002.0], n=3)
    res = res.rio.write_crs(da.rio.crs)
    names = [f"r{i}" for i in range(res.sizes["band"])]
    write_raster(res, tmp_path / "a.tif", names)
    ga = read_array(path, "raster")
    write_cog(res.values, tmp_path / "b.tif", names, ga.crs, ga.transform,
              tags={**ga.tags, "alpha": 0.05, "years": [2001.0, 2002.0], "n": 3})
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_tags_only_rioxarray_reads_faithfully_are_left_to_it(tmp_path: Path) -> None:
    a = np.ones((2, 10, 10), np.float32)
    assert read_array(_tif(tmp_path / "a.tif", a, tags={"k": "{1,2}"}), "raster").tags is None
    assert read_array(_tif(tmp_path / "b.tif", a, tags={"band#units": "m"}), "raster").tags is None
    assert read_array(_tif(tmp_path / "c.tif", a, tags={"k": "v", "n": "1_0"}), "raster").tags == {
        "k": "v", "n": "10", "AREA_OR_POINT": "Area"}


def test_read_array_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError, match=r"stack .*nope\.tif does not exist"):
        read_array(tmp_path / "nope.tif", "stack")
    (tmp_path / "text.tif").write_text("not a raster")
    with pytest.raises(InputError, match=r"stack .*text\.tif cannot be read as a raster"):
        read_array(tmp_path / "text.tif", "stack")
    a = np.ones((1, 10, 10), np.float32)
    with pytest.raises(CRSError, match="geographic CRS"):
        read_array(_tif(tmp_path / "g.tif", a, crs="EPSG:4326"), "stack")
    assert read_array(tmp_path / "g.tif", "stack", require_projected=False).values.shape == (1, 10, 10)
    p = _tif(tmp_path / "bad.tif", np.random.default_rng(0).random((2, 64, 64)).astype(np.float32))
    with rasterio.open(p) as src:
        off = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    with open(p, "r+b") as f:
        f.seek(off)
        f.write(b"\xff" * 64)
    with pytest.raises(InputError, match=r"stack .*bad\.tif cannot be read: it is damaged or truncated"):
        read_array(p, "stack")


def test_write_cog_needs_a_crs_and_one_name_per_band(tmp_path: Path) -> None:
    a = np.ones((2, 10, 10), np.float32)
    with pytest.raises(CRSError, match="no CRS"):
        write_cog(a, tmp_path / "x.tif", ["a", "b"], None, from_origin(0, 0, 1, 1))
    with pytest.raises(ValueError, match="1 band names"):
        write_cog(a, tmp_path / "x.tif", ["a"], rasterio.crs.CRS.from_epsg(32649), from_origin(0, 0, 1, 1))
    assert not (tmp_path / "x.tif").exists()


def test_the_module_imports_no_array_library() -> None:
    code = ("import minecarbon.io.geotiff, minecarbon.assess.trend, sys, json; "
            "print(json.dumps(sorted(sys.modules)))")
    mods = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                         check=True).stdout.strip().splitlines()[-1]))
    for heavy in ("xarray", "rioxarray", "dask", "pandas"):
        assert heavy not in mods, heavy

