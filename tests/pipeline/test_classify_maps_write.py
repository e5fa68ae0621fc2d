"""The classify stage's yearly maps are written chunk by chunk (``_write_year_maps``): each chunk of the
classification is computed once for the four rasters and the pixel counts, the codes follow the species and
forest-type code lists, and the counts equal the written maps' pixels (counted by hand with numpy)."""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
import xarray as xr

from minecarbon.classify.mapping import LAYERS
from minecarbon.pipeline.stages.classify import NODATA, _write_year_maps


class _Ctx:
    def __init__(self, root: Path) -> None:
        self.root, self.files = root, []

    def out(self, name: str, year: int) -> Path:
        return self.root / f"{name}_{year}.tif"

    def produced(self, path: Path) -> None:
        self.files.append(Path(path))


def test_each_chunk_classified_once_and_counts_match_the_maps(tmp_path):
    n, ch = 90, 32
    rng = np.random.default_rng(0)
    forest = rng.choice([0, 1, NODATA], (n, n), p=[0.4, 0.55, 0.05])
    sidx = np.where(forest == 1, rng.integers(-1, 3, (n, n)), -1)  # -1: forest without species
    lh = np.where(forest == 1, rng.integers(1, 3, (n, n)), 0)
    prob, margin = rng.random((n, n)), rng.random((n, n)) * 0.5
    n_clear = rng.integers(0, 13, (n, n))
    stack = np.stack([forest, lh, sidx, prob, margin, n_clear]).astype(np.float32)
    calls = []

    def classify(block):  # stands for classify.mapping's one task per chunk
        calls.append(block.shape)
        return block

    coords = {"y": 4_000_000 - 30.0 * np.arange(n), "x": 380_000 + 30.0 * np.arange(n)}
    res = xr.DataArray(da.from_array(stack, chunks=(6, ch, ch)).map_blocks(classify, meta=np.empty((0, 0, 0), np.float32)),
                       dims=("_o", "y", "x"), coords=coords)
    types = (np.uint8, np.uint8, np.int16, np.float32, np.float32, np.int16)
    ds = xr.Dataset({v: res[i].astype(t).drop_vars("_o", errors="ignore") for i, (v, t) in enumerate(zip(LAYERS, types))})
    tmpl = xr.DataArray(np.zeros((n, n), np.float32), dims=("y", "x"), coords=coords).rio.write_crs("EPSG:32649")
    sp_code, ft_code = np.array([11, 12, 13]), np.array([2, 2, 3])
    ctx = _Ctx(tmp_path)
    with dask.config.set(scheduler="threads"):
        counts = _write_year_maps(ctx, 2020, tmpl, ds, sp_code, ft_code, nonforest=9, min_clear=4)
    assert len(calls) == 3 * 3  # 3 x 3 chunks, each classified once
    assert [p.name for p in ctx.files] == ["forest_type_2020.tif", "species_2020.tif", "leaf_habit_2020.tif",
                                           "confidence_2020.tif"]
    read = {p.stem.rsplit("_", 1)[0]: rasterio.open(p).read() for p in ctx.files}
    has = sidx >= 0
    sp = np.where(forest == NODATA, NODATA, np.where(forest == 1, np.where(has, sp_code[np.clip(sidx, 0, None)], NODATA), 0))
    ft = np.where(forest == NODATA, NODATA, np.where(forest == 1, np.where(has, ft_code[np.clip(sidx, 0, None)], NODATA), 9))
    np.testing.assert_array_equal(read["species"][0], sp)
    np.testing.assert_array_equal(read["forest_type"][0], ft)
    np.testing.assert_array_equal(read["leaf_habit"][0], np.where(forest == NODATA, NODATA, lh))
    np.testing.assert_array_equal(read["confidence"], stack[[3, 4, 5]])
    assert counts["forest"] == (forest == 1).sum() and counts["nonforest"] == (forest == 0).sum()
    assert counts["nodata"] == (forest == NODATA).sum()
    assert counts["forest_without_species"] == ((forest == 1) & ~has).sum()
    assert list(counts["species"]) == [((forest == 1) & (sidx == i)).sum() for i in range(3)]
    assert counts["flagged"] == (n_clear < 4).sum()
    assert counts["evergreen"] == ((forest == 1) & (lh == 1)).sum()  # the leaf-habit strata of the validation
    assert counts["deciduous"] == ((forest == 1) & (lh == 2)).sum()
