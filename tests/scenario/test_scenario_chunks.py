"""Windows and chunks: any window of the scene has the values of the whole-scene run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import rasterio
from rasterio.windows import Window

from minecarbon.scenario import build_world, pixel_histories
from minecarbon.scenario import simulation as sim
from minecarbon.scenario.blocks import simulate_window

KEYS = [("dem",), ("agc", 2024), ("agc_nomining", 2012), ("forest_type", 2024), ("image", 2024),
        ("image_month", 1), ("units_level2",)]


def _collect(world, window):
    out = {}
    simulate_window(world, window, lambda k, a: out.__setitem__(k, a))
    return out


def test_window_values_do_not_depend_on_the_window():
    world = build_world("tiny", 3, 2005, 2024)
    whole = _collect(world, Window(0, 0, 64, 64))
    part = _collect(world, Window(10, 20, 30, 25))
    for key in KEYS:
        a = whole[key][..., 20:45, 10:40]
        assert np.array_equal(a, part[key]), key
    hist = pixel_histories(world, np.array([21, 40]), np.array([11, 5]))
    assert hist[0][("agc", 2024)] == whole[("agc", 2024)][21, 11]
    assert hist[1][("forest_type", 2010)] == whole[("forest_type", 2010)][40, 5]


def test_chunked_writer_gives_the_same_files(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(sim, "CHUNK_PX", 24)  # 64 px scene -> 9 windows through the tiled-file path
    out = tmp_path / "chunked"
    sim.simulate(out, size="tiny", seed=0)
    for rel in ["inputs/dem.tif", "inputs/images/LC08_SR_2024.tif", "inputs/images_monthly/LC08_SR_2024-07.tif",
                "truth/agc_2019.tif", "truth/units_level2.tif", "inputs/forest_type/forest_type_2005.tif",
                "truth/canopy_height_2024.tif"]:
        with rasterio.open(tiny.out / rel) as a, rasterio.open(out / rel) as b:
            assert np.array_equal(a.read(), b.read()), rel
            assert a.descriptions == b.descriptions and a.nodata == b.nodata and a.crs == b.crs
            assert a.transform == b.transform
            assert b.profile.get("tiled") and b.overviews(1) == a.overviews(1)
    for rel in ["inputs/field/plots.csv", "inputs/field/trees.csv", "truth/plots_truth.csv"]:
        pd.testing.assert_frame_equal(pd.read_csv(tiny.out / rel), pd.read_csv(out / rel))
    als_a = sorted((tiny.out / "inputs" / "als").glob("*.laz"))
    assert als_a and [p.name for p in als_a] == sorted(p.name for p in (out / "inputs" / "als").glob("*.laz"))
    for p in als_a:
        assert p.read_bytes() == (out / "inputs" / "als" / p.name).read_bytes(), p.name
