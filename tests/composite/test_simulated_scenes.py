"""Composites of the simulator's Landsat scenes against its truth (the clear-sky composites).

The tiny world over 2011-2014 has TM (until 2011-11), ETM+ SLC-off (2012 alone), OLI (from 2013-04), two
overlapping path/rows, 15 scenes a year, 30-60 % cloud.  Truth: ``truth/clear_sky/LC08_SR_<year>.tif``.
Independent checks: the clear count is recounted from the QA_PIXEL files by value (the simulator writes
21824/5440 for clear pixels only) and placed by each file's own transform.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from minecarbon.composite import TargetGrid, composite_series, find_scenes
from minecarbon.scenario import simulate

YEARS = [2011, 2012, 2013, 2014]


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("simscenes")
    simulate(out, size="tiny", seed=3, start_year=YEARS[0], end_year=YEARS[-1], als_pulses_per_m2=None,
             flavour="scenes")
    scenes, problems = find_scenes(out / "inputs" / "scenes")
    grid = TargetGrid.from_raster(out / "truth" / "clear_sky" / f"LC08_SR_{YEARS[0]}.tif")
    results = composite_series(scenes, grid, out / "composites", YEARS, (5, 9))
    return out, scenes, problems, grid, {int(r.label): r for r in results}


def _read(path):
    with rasterio.open(path) as src:
        return src.read().astype(np.float64)


def _recount(scenes, grid, year):
    count = np.zeros((grid.height, grid.width), dtype=int)
    for s in scenes:
        if s.year != year:
            continue
        with rasterio.open(s.qa) as src:
            qa = src.read(1)
            r0 = int(round((grid.transform.f - src.transform.f) / 30.0))
            c0 = int(round((src.transform.c - grid.transform.c) / 30.0))
        clear = np.isin(qa, [21824, 5440])
        rr, cc = np.arange(qa.shape[0]) + r0, np.arange(qa.shape[1]) + c0  # grid row/col of each scene px
        keep_r, keep_c = (rr >= 0) & (rr < grid.height), (cc >= 0) & (cc < grid.width)
        count[np.ix_(rr[keep_r], cc[keep_c])] += clear[np.ix_(keep_r, keep_c)]
    return count


def test_scene_set_is_realistic(sim):
    out, scenes, problems, _, _ = sim
    assert problems == []
    by_year = {y: [s for s in scenes if s.year == y] for y in YEARS}
    assert all(len(v) == 15 for v in by_year.values())
    assert {s.family for s in by_year[2011]} == {"tm", "etm"} and {s.family for s in by_year[2012]} == {"etm"}
    assert "oli" in {s.family for s in by_year[2013]} and all(s.slc_off for s in by_year[2012])
    assert {s.tile for s in scenes} == {"125034", "126034"}
    covers = [float(s.extra["cloud_cover"]) for s in scenes]
    assert 30 <= min(covers) and max(covers) <= 60


def test_composites_match_truth_where_three_clear(sim):
    out, _, _, _, res = sim
    for y in YEARS:
        comp = _read(res[y].path)
        truth = _read(out / "truth" / "clear_sky" / f"LC08_SR_{y}.tif")
        ok = comp[-1] >= 3
        assert ok.mean() > 0.4, y
        err = np.abs(comp[:-1] - truth) * 2.75e-5
        assert np.median(err[:, ok]) <= 0.005, y
        assert np.median(err[:, ok]) <= 0.002, y  # what it achieves (noise sd 0.002, harmonised)


def test_no_cloud_shadow_or_ring_observation_enters(sim):
    out, _, _, _, res = sim
    for y in YEARS:
        comp = _read(res[y].path)
        truth = _read(out / "truth" / "clear_sky" / f"LC08_SR_{y}.tif")
        seen = comp[-1] >= 1
        nir_err = np.abs(comp[3] - truth[3])[seen] * 2.75e-5  # a shadow or cloud would be off by > 0.1
        assert nir_err.max() < 0.02, y


def test_clear_count_exact(sim):
    _, scenes, _, grid, res = sim
    for y in YEARS:
        assert np.array_equal(_read(res[y].path)[-1].astype(int), _recount(scenes, grid, y)), y


def test_slc_off_gaps_filled(sim):
    _, scenes, _, grid, res = sim
    etm = [s for s in scenes if s.year == 2012]
    gap_share = []
    for s in etm:
        with rasterio.open(s.qa) as src:
            gap_share.append(float((src.read(1) == 1).mean()))
    assert np.mean(gap_share) > 0.1  # every 2012 scene has stripes of fill
    comp = _read(res[2012].path)
    assert (comp[-1] == 0).mean() < 0.1  # yet nearly every pixel has a clear observation
