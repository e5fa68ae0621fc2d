"""The classify stage's one-task-per-chunk reflectance read equals the whole-grid, band-by-band read bit for bit.

Reference: the whole-grid path (``open_raster`` with dask chunks, ``surface_reflectance``, ``align_to`` per band,
:func:`minecarbon.pipeline.stages.classify._reflectance`), computed on the tiny simulated area's files, at chunk
sizes that divide the grid and that do not, and on a grid reaching beyond the rasters (NaN there in both).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from minecarbon.config import load_config
from minecarbon.grid import pad_template
from minecarbon.pipeline.stages import classify as stage
from minecarbon.pipeline.stages._classify_inputs import chunked_reflectance, on_lattice
from minecarbon.inputs.grid import project_grid

YEAR = 2016


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("tiny_chunked_read")
    toml = simulate(out, size="tiny", seed=3, start_year=2014, end_year=YEAR, als_pulses_per_m2=0, classify=True,
                    classify_years=[YEAR])
    return load_config(toml)


def _files(cfg):
    paths = [stage.series_path(cfg, YEAR, m) for m in (1, 7, 12)] + [cfg.year_path(cfg.images.path, YEAR)]
    return paths, [p.name for p in paths]


def _whole_grid(cfg, paths, whats, tmpl, chunk):
    c = cfg.model_copy(update={"run": cfg.run.model_copy(update={"chunk_px": chunk})})
    return xr.concat([stage._reflectance(c, p, w, tmpl) for p, w in zip(paths, whats)], dim="file").values


@pytest.mark.parametrize("chunk", [16, 25, 512])
def test_equals_the_whole_grid_read(cfg, chunk):
    tmpl, _, _ = project_grid(cfg)
    paths, whats = _files(cfg)
    assert all(on_lattice(p, tmpl) for p in paths)
    got = chunked_reflectance(paths, whats, tmpl, chunk, lambda img, w: stage._scaled(cfg, img, w), stage.BANDS)
    assert got.numblocks[2:] == (-(-tmpl.shape[0] // chunk), -(-tmpl.shape[1] // chunk))
    ref = _whole_grid(cfg, paths, whats, tmpl, chunk)
    assert np.isfinite(ref).mean() > 0.3  # clouds leave gaps, not everything
    np.testing.assert_array_equal(got.compute(), ref)  # NaN where NaN, every value bit for bit


def test_grid_beyond_the_rasters_is_nan(cfg):
    tmpl, _, _ = project_grid(cfg)
    big = pad_template(tmpl, 200)  # 200 px beyond the 64-px scene on every side
    paths, whats = _files(cfg)
    got = chunked_reflectance(paths, whats, big, 32, lambda img, w: stage._scaled(cfg, img, w), stage.BANDS).compute()
    ref = _whole_grid(cfg, paths, whats, big, 32)
    np.testing.assert_array_equal(got, ref)
    assert np.isnan(got[..., :150, :]).all() and np.isfinite(got).any()


def test_one_task_per_chunk(cfg):
    """The year's inputs cost a few tasks per spatial chunk (the band-by-band path: hundreds)."""
    tmpl, _, _ = project_grid(cfg)
    c = cfg.model_copy(update={"run": cfg.run.model_copy(update={"chunk_px": 16})})
    monthly, yearly = stage.year_inputs(c, YEAR, tmpl)
    n_chunks = int(np.prod(monthly.data.numblocks))
    assert n_chunks == int(np.prod(yearly.data.numblocks)) >= 16
    graph = dict(monthly.data.__dask_graph__())
    graph.update(dict(yearly.data.__dask_graph__()))
    assert len(graph) <= 4 * n_chunks


def test_off_lattice_rasters_keep_the_whole_grid_path(cfg):
    tmpl, _, _ = project_grid(cfg)
    t = tmpl.rio.transform()
    shifted = tmpl.assign_coords(x=tmpl.x + t.a / 2).rio.write_transform(t * t.translation(0.5, 0))
    paths, _ = _files(cfg)
    assert not on_lattice(paths[0], shifted)
    assert not on_lattice(paths[0].with_name("missing.tif"), tmpl)


def test_the_cube_computes_in_other_processes(cfg):
    """The graph pickles (open files are reopened by the worker): the processes scheduler gives the same cube."""
    import dask

    tmpl, _, _ = project_grid(cfg)
    paths, whats = _files(cfg)
    cube = chunked_reflectance(paths, whats, tmpl, 32, lambda img, w: stage._scaled(cfg, img, w), stage.BANDS)
    ref = cube.compute(scheduler="threads")
    with dask.config.set({"multiprocessing.context": "spawn"}):
        got = cube.compute(scheduler="processes", num_workers=2)
    np.testing.assert_array_equal(got, ref)
