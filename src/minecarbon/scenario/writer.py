"""Writing the scenario: rasters window by window, vectors, tables and the project file.

:class:`RasterSink` keeps one tiled GeoTIFF per output raster open (each
inside :func:`minecarbon.io.atomic_path`), writes every window into all of
them as soon as it is simulated, and at the end turns each into a
Cloud-Optimized GeoTIFF with GDAL's COG driver, with the creation options of
:func:`minecarbon.io.write_raster` (DEFLATE, 256-px blocks, average
overviews, band descriptions, units tag) and the nodata value set.  Small
scenes are one window; the ``large`` scene never holds a whole band stack.

(``write_raster`` itself is not used: in this version it drops the nodata
value - it pops ``_FillValue`` after ``rio.write_nodata`` - see the report.)
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from ..io import atomic_path, atomic_write_text
from .grid import Grid


@dataclass(frozen=True)
class RasterSpec:
    """One output raster: where, bands, type, nodata and units."""

    paths: tuple[Path, ...]
    band_names: tuple[str, ...]
    dtype: str
    nodata: float
    units: str | None = None


class RasterSink:
    """Receives ``(key, array)`` from :func:`.blocks.simulate_window` and writes the rasters.

    Parameters
    ----------
    grid : the scene grid.
    specs : output key -> :class:`RasterSpec`; keys not listed are ignored.
    keep : keys whose whole-scene arrays are also kept in memory (``kept``).
    """

    def __init__(self, grid: Grid, specs: dict[tuple, RasterSpec], keep: Sequence[tuple] = ()) -> None:
        self.grid = grid
        self.specs = specs
        self.window: Window | None = None
        self.kept: dict[tuple, np.ndarray] = {}
        self._keep = set(keep)
        self._stack = contextlib.ExitStack()
        self._open: dict[Path, tuple[Any, Path, Path, RasterSpec]] = {}

    # -- receiving -----------------------------------------------------------
    def set_window(self, window: Window) -> None:
        self.window = window

    def __call__(self, key: tuple, array: np.ndarray) -> None:
        w = self.window
        assert w is not None
        r0, c0, h, wd = int(w.row_off), int(w.col_off), int(w.height), int(w.width)
        if key in self._keep:
            if key not in self.kept:
                self.kept[key] = np.zeros((self.grid.n_px, self.grid.n_px), dtype=array.dtype)
            self.kept[key][r0:r0 + h, c0:c0 + wd] = array
        spec = self.specs.get(key)
        if spec is None:
            return
        data = array if array.ndim == 3 else array[None]
        for path in spec.paths:
            if path not in self._open:
                self._open_file(path, spec)
            self._open[path][0].write(data.astype(spec.dtype), window=w)

    def _open_file(self, path: Path, spec: RasterSpec) -> None:
        tmp = self._stack.enter_context(atomic_path(path))
        tiled = tmp.with_name(tmp.name + ".tiled.tif")
        self._stack.callback(lambda p=tiled: p.unlink() if p.exists() else None)
        n = self.grid.n_px
        ds = rasterio.open(tiled, "w", driver="GTiff", width=n, height=n, count=len(spec.band_names),
                           dtype=spec.dtype, crs=self.grid.crs, transform=self.grid.transform, nodata=spec.nodata,
                           tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE", BIGTIFF="IF_SAFER",
                           NUM_THREADS="ALL_CPUS")
        self._open[path] = (ds, tmp, tiled, spec)

    # -- finishing -----------------------------------------------------------
    def close(self, progress: Callable[[str], None] | None = None) -> None:
        """Finish every open file: descriptions, COG conversion, atomic rename."""
        try:
            for i, (ds, tmp, tiled, spec) in enumerate(self._open.values()):
                for b, name in enumerate(spec.band_names, start=1):
                    ds.set_band_description(b, name)
                    if spec.units:
                        ds.set_band_unit(b, spec.units)
                if spec.units:
                    ds.update_tags(units=spec.units)
                ds.close()
                if progress and i % 10 == 0:
                    progress(f"Converting rasters to COG ({i + 1}/{len(self._open)})")
                rasterio.shutil.copy(tiled, tmp, driver="COG", compress="DEFLATE", blocksize=256,
                                     overview_resampling="average", BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS")
        except BaseException:
            self.abort()
            raise
        self._stack.close()
        self._open.clear()

    def abort(self) -> None:
        """Close everything and remove the partial files (the final paths stay untouched)."""
        for ds, *_ in self._open.values():
            if not ds.closed:
                ds.close()
        self._open.clear()
        try:
            raise RuntimeError("scenario writing aborted")
        except RuntimeError:
            self._stack.__exit__(*sys.exc_info())


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def project_toml(name: str, start_year: int, end_year: int, base_year: int, mining_start_year: int,
                 crs: str, paths: dict[str, str], robinia_cf: float, robinia_cf_source: str,
                 settings: dict[str, dict[str, float]] | None = None) -> str:
    """The text of ``minecarbon.toml`` naming every simulated input (paths relative to the file).

    ``settings``: extra numeric keys per table (``{"lidar": {"chm_resolution_m": 3.5}, "model": {...}}``)
    that suit the simulated data; each is written with a comment saying why.
    """
    settings = settings or {}
    q = _toml_str
    lines = [
        "# Project file written by minecarbon.scenario (simulated mining area).",
        "# Paths are relative to this file. See docs/scenario.md.",
        "",
        "[project]",
        f"name = {q(name)}",
        f"start_year = {start_year}",
        f"end_year = {end_year}",
        f"base_year = {base_year}",
        f"mining_start_year = {mining_start_year}",
        f"workspace = {q('workspace')}",
        f"crs = {q(crs)}",
        "",
        "[area]",
        f"boundary = {q(paths['boundary'])}",
        "buffer_m = 300",
        "",
        "[images]",
        f"path = {q(paths['images'])}" if not paths.get("scenes") else f"scenes = {q(paths['scenes'])}",
        "",
        "[climate]",
        f"temperature = {q(paths['temperature'])}",
        f"precipitation = {q(paths['precipitation'])}",
        "",
        "[inputs]",
    ]
    for key in ("dem", "forest_type", "disturbance", "planned", "reclamation", "plots", "trees", "tls", "tally"):
        if paths.get(key):
            lines.append(f"{key} = {q(paths[key])}")
    lidar = {key: paths[key] for key in ("als",) if paths.get(key)}
    if lidar:  # one [lidar] table holding every lidar key
        lines += ["", "[lidar]"] + [f"{key} = {q(value)}" for key, value in lidar.items()]
        lines += [f"{key} = {value}  # suits the simulated scan's density" for key, value in
                  settings.get("lidar", {}).items()]
    if settings.get("model"):
        lines += ["", "[model]"] + [f"{key} = {value}  # suits the size of the simulated area" for key, value in
                                    settings["model"].items()]
    lines += [
        "",
        f"[plots.carbon_fractions.{q('刺槐')}]",
        f"value = {robinia_cf}",
        f"source = {q(robinia_cf_source)}",
        "",
        "[validation]",
        f"truth_dir = {q(paths['truth'])}",
        "",
    ]
    return "\n".join(lines)


def write_json(path: Path, data: dict) -> Path:
    """Write a JSON document atomically (UTF-8, indented)."""
    return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
