"""Damaged GeoTIFFs are found and named (issue 17): flipped bytes GDAL reads silently, truncation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from minecarbon.io.raster import damaged_block

sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))
from _mutations import flip_bytes_silently  # noqa: E402


def _write(path: Path, compress: str | None = "deflate", interleave: str = "pixel", count: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    arr = (rng.random((count, 300, 300)) * 3000).astype("uint16")  # 2 x 2 tiles of 256
    kw = {"compress": compress} if compress else {}
    with rasterio.open(path, "w", driver="GTiff", width=300, height=300, count=count, dtype="uint16",
                       crs="EPSG:32649", transform=from_origin(380000, 4100000, 30, 30), tiled=True,
                       blockxsize=256, blockysize=256, interleave=interleave, **kw) as dst:
        dst.write(arr)
    return arr


@pytest.mark.parametrize("interleave", ["pixel", "band"])
def test_intact_file_passes(tmp_path, interleave):
    p = tmp_path / "ok.tif"
    _write(p, interleave=interleave)
    assert damaged_block(p) is None


def test_flipped_bytes_that_gdal_reads_silently_are_found(tmp_path):
    p = tmp_path / "img.tif"
    good = _write(p)
    flip_bytes_silently(p, n=256, seed=3)
    with rasterio.open(p) as src:  # GDAL reads it without a word, to other values ...
        assert (src.read() != good).any()
    msg = damaged_block(p)  # ... the Adler-32 of the block does not match
    assert msg is not None and "block (row 0, column 0)" in msg and "Deflate checksum" in msg


def test_truncated_file_is_found(tmp_path):
    p = tmp_path / "img.tif"
    _write(p, interleave="band")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    msg = damaged_block(p)
    assert msg is not None and "truncated" in msg and f"({len(data) // 2} bytes)" in msg


def test_uncompressed_file_is_read_whole(tmp_path):
    p = tmp_path / "raw.tif"
    _write(p, compress=None)
    assert damaged_block(p) is None
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    msg = damaged_block(p)
    assert msg is not None and "cannot be read completely" in msg
