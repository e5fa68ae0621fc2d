"""Filling pixels without a clear observation from the nearest years (optional, after compositing).

A pixel with no clear observation in its year's window keeps ``clear_count
= 0`` but takes the reflectance of the nearest year (``year-1``, ``year+1``,
``year-2``, ... up to ``max_years`` away) whose own composite had a clear
observation there; the number of such pixels is written to the composite's
tags (``filled_px``) and to ``composites.csv``.  Off by default in the
library; the images stage uses ``[images].fill_years``.  Windowed: memory
is bounded by the chunk, and every output is rewritten atomically as a COG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil

from ..io import atomic_path


def fill_order(year: int, years: list[int], max_years: int) -> list[int]:
    """Neighbour years by distance, earlier first: 2010 of 2008-2012 with 2 -> [2009, 2011, 2008, 2012]."""
    out = []
    for d in range(1, max_years + 1):
        out += [y for y in (year - d, year + d) if y in years]
    return out


def fill_gaps(paths: dict[int, Path], max_years: int = 2, chunk_px: int = 512) -> dict[int, int]:
    """Fill the empty pixels of each yearly composite in ``paths``; returns year -> pixels filled."""
    years = sorted(paths)
    filled: dict[int, int] = {}
    originals: dict[int, Path] = {}
    for y in years:
        with rasterio.open(paths[y]) as src:
            needs = any((src.read(src.count, window=w) == 0).any() for _, w in src.block_windows(1))
        if needs:
            originals[y] = paths[y]
    if not originals or max_years < 1:
        return {y: 0 for y in years}
    # read neighbours from copies of the unfilled composites, so that filled values never propagate
    snap: dict[int, Path] = {}
    tmpdir = Path(paths[years[0]]).parent / ".gapfill"
    tmpdir.mkdir(exist_ok=True)
    try:
        for y in years:
            snap[y] = tmpdir / Path(paths[y]).name
            rasterio.shutil.copy(paths[y], snap[y], driver="GTiff")
        for y, path in originals.items():
            order = fill_order(y, years, max_years)
            n_filled = 0
            with rasterio.open(snap[y]) as src:
                profile = src.profile.copy()
                tags = src.tags()
                desc = src.descriptions
                profile.update(driver="GTiff", tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE")
                with atomic_path(path) as tmp:
                    tiled = tmp.with_name(tmp.name + ".tiled.tif")
                    try:
                        with rasterio.open(tiled, "w", **profile) as dst:
                            for r in range(0, src.height, chunk_px):
                                for c in range(0, src.width, chunk_px):
                                    w = rasterio.windows.Window(c, r, min(chunk_px, src.width - c),
                                                                min(chunk_px, src.height - r))
                                    data = src.read(window=w)
                                    empty = data[-1] == 0
                                    for ny in order:
                                        if not empty.any():
                                            break
                                        with rasterio.open(snap[ny]) as nb:
                                            other = nb.read(window=w)
                                        take = empty & (other[-1] > 0)
                                        data[:-1, take] = other[:-1, take]
                                        empty &= ~take
                                        n_filled += int(take.sum())
                                    dst.write(data, window=w)
                            for i, d in enumerate(desc, start=1):
                                if d:
                                    dst.set_band_description(i, d)
                            dst.update_tags(**tags, filled_px=str(n_filled),
                                            filled_from=f"nearest years up to {max_years} away")
                        rasterio.shutil.copy(tiled, tmp, driver="COG", compress="DEFLATE", blocksize=256,
                                             overview_resampling="nearest", BIGTIFF="IF_SAFER")
                    finally:
                        if tiled.exists():
                            tiled.unlink()
            filled[y] = n_filled
    finally:
        for p in snap.values():
            if p.exists():
                p.unlink()
        if tmpdir.exists() and not any(tmpdir.iterdir()):
            tmpdir.rmdir()
    return {y: filled.get(y, 0) for y in years}
