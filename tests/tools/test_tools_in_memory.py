"""Issue 18: ``tool trend`` and ``tool texture`` compute a raster that fits in memory with numpy (no dask graph,
no scheduler) and write the same file, byte for byte, as the dask path in chunks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from minecarbon.errors import InputError
from minecarbon.io import open_raster, open_raster_fitting
from minecarbon.tools import assess as tools_assess
from minecarbon.tools.assess import run_trend_tool
from minecarbon.tools.features import run_texture

H, W = 70, 90
YEARS = list(range(2005, 2025))


def _write(path: Path, arr: np.ndarray, names: list[str], interleave: str = "pixel") -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                       dtype=arr.dtype, crs="EPSG:32649", transform=from_origin(380000, 4100000, 30, 30),
                       tiled=True, blockxsize=32, blockysize=32, compress="DEFLATE", interleave=interleave,
                       nodata=np.nan if arr.dtype.kind == "f" else None) as dst:
        dst.write(arr)
        for i, n in enumerate(names, 1):
            dst.set_band_description(i, n)
    return path


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    rng = np.random.default_rng(18)
    t = np.arange(len(YEARS), dtype=np.float32)[:, None, None]
    a = (50 + rng.normal(0, 1, (H, W)) * t * 0.5 + rng.normal(0, 4, (len(YEARS), H, W))).astype(np.float32)
    a = np.round(a, 0)  # ties
    a[rng.random(a.shape) < 0.1] = np.nan  # missing years
    a[:, :5, :7] = np.nan  # pixels without any year
    a[:17, 10:12, 20:30] = np.nan  # pixels with too few years
    return _write(tmp_path / "stack.tif", a, [str(y) for y in YEARS])


@pytest.fixture
def grey(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    g = rng.random((1, H, W)) * 0.6
    g[0, 30:34, 40:50] = np.nan
    return _write(tmp_path / "grey.tif", g.astype(np.float32), ["nir"])


def _in_chunks(monkeypatch) -> None:
    """Every raster larger than 0 bytes: the dask path (opened in 32 px chunks, written chunk by chunk)."""
    monkeypatch.setattr("minecarbon.io.raster.IN_MEMORY_MAX_BYTES", 0)
    monkeypatch.setattr("minecarbon.io.geotiff.IN_MEMORY_MAX_BYTES", 0)
    monkeypatch.setattr(tools_assess, "CHUNK_PX", 32)


def test_open_raster_fitting_reads_numpy_when_it_fits_and_dask_chunks_otherwise(stack: Path) -> None:
    whole = open_raster_fitting(stack, "stack", chunks=32, require_projected=False)
    lazy = open_raster_fitting(stack, "stack", chunks=32, require_projected=False, max_bytes=1000)
    ref = open_raster(stack, "stack", chunks=32, require_projected=False)
    assert whole.chunks is None and isinstance(whole.data, np.ndarray)
    assert lazy.chunks == ref.chunks and lazy.chunks[1] == (32, 32, 6)
    for da in (whole, lazy):
        assert da.values.tobytes() == ref.values.tobytes()
        assert list(da["band"].values) == [str(y) for y in YEARS] and da.attrs["source_path"] == str(stack)
        assert da.rio.crs == ref.rio.crs and da.rio.transform() == ref.rio.transform()


def test_open_raster_fitting_names_a_damaged_file(tmp_path: Path, stack: Path) -> None:
    p = tmp_path / "bad.tif"
    p.write_bytes(stack.read_bytes())
    with rasterio.open(p) as src:
        off = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    with open(p, "r+b") as f:  # a block that is no Deflate stream: the header opens, the read fails
        f.seek(off)
        f.write(b"\xff" * 64)
    with pytest.raises(InputError, match=r"stack .*bad\.tif cannot be read: it is damaged or truncated"):
        open_raster_fitting(p, "stack", require_projected=False)


@pytest.fixture
def stack_int16(tmp_path: Path) -> Path:
    """Integer AGC with a nodata value and tags of its own (carried into the output)."""
    rng = np.random.default_rng(19)
    a = (500 + np.arange(len(YEARS))[:, None, None] * rng.normal(0, 3, (H, W)) + rng.normal(0, 20, (len(YEARS), H, W)))
    a = a.astype(np.int16)
    a[rng.random(a.shape) < 0.05] = -9999
    p = _write(tmp_path / "stack_i16.tif", a, [f"agc_{y}" for y in YEARS])
    with rasterio.open(p, "r+") as dst:
        dst.nodata = -9999
        dst.update_tags(source="plots 2024", scale="0.1", version="1e3")
    return p


@pytest.mark.parametrize("which", ["stack", "stack_int16"])
def test_trend_tool_numpy_and_dask_write_the_same_bytes(tmp_path: Path, which: str, request, monkeypatch) -> None:
    stack = request.getfixturevalue(which)
    a = run_trend_tool(stack, tmp_path / "numpy.tif")
    with monkeypatch.context() as m:
        _in_chunks(m)
        b = run_trend_tool(stack, tmp_path / "dask.tif")
    assert (tmp_path / "numpy.tif").read_bytes() == (tmp_path / "dask.tif").read_bytes()
    a.pop("output"), b.pop("output")
    assert a == b
    if which == "stack":
        assert a["pixels_too_few_years"] > 0 and 0 < a["pixels_with_trend"] < H * W
    else:
        with rasterio.open(tmp_path / "numpy.tif") as src:
            assert src.tags()["source"] == "plots 2024" and src.tags()["version"] == "1000.0"


def test_texture_tool_numpy_and_dask_write_the_same_bytes(tmp_path: Path, grey: Path, monkeypatch) -> None:
    a = run_texture(grey, tmp_path / "numpy.tif", window=5, levels=16)
    with monkeypatch.context() as m:
        _in_chunks(m)
        b = run_texture(grey, tmp_path / "dask.tif", window=5, levels=16, chunk_px=32)
    assert (tmp_path / "numpy.tif").read_bytes() == (tmp_path / "dask.tif").read_bytes()
    a.pop("output"), b.pop("output")
    assert a == b
    with rasterio.open(tmp_path / "numpy.tif") as src:
        v = src.read()
    assert np.isnan(v[:, 30:34, 40:50]).all() and np.isfinite(v[:, :20, :20]).all()


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def _cli(*args: str) -> str:
    return ("from minecarbon.cli.main import main\ntry:\n    main(" + repr(list(args)) + ")\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n")


def test_the_trend_tool_on_a_raster_in_memory_imports_no_array_library(tmp_path: Path, stack: Path) -> None:
    mods = _modules_after(_cli("tool", "trend", str(stack), str(tmp_path / "out.tif")))
    assert (tmp_path / "out.tif").is_file()
    for heavy in ("xarray", "rioxarray", "dask", "pandas", "distributed"):
        assert heavy not in mods, heavy


def test_help_imports_no_array_library() -> None:
    mods = _modules_after(_cli("tool", "trend", "--help"))
    for heavy in ("xarray", "rioxarray", "dask", "numba", "pandas", "scipy", "sklearn", "geopandas",
                  "minecarbon.assess.trend"):
        assert heavy not in mods, heavy


@pytest.mark.parametrize("tool", ["trend", "texture"])
def test_the_tools_on_a_raster_in_memory_need_no_dask_scheduler(tmp_path: Path, stack: Path, grey: Path,
                                                                   tool: str) -> None:
    args = ("tool", "trend", str(stack)) if tool == "trend" else ("tool", "texture", str(grey))
    mods = _modules_after(_cli(*args, str(tmp_path / "out.tif")))
    assert (tmp_path / "out.tif").is_file()
    # no dask compute: dask's scheduler lookup imports distributed; nor what these tools never use
    for heavy in ("distributed", "dask.dataframe", "sklearn", "geopandas", "minecarbon.pipeline",
                  "minecarbon.assess.cumulative", "minecarbon.assess.zonal", "matplotlib"):
        assert heavy not in mods, heavy
