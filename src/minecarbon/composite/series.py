"""Finding scenes and compositing a series of years (and months): the library entry point.

:func:`find_scenes` reads a folder of Landsat Collection 2 Level-2 products
(``*_MTL.txt`` + band files), of Sentinel-2 L2A products (SAFE folders or
per-band COGs, :mod:`.sentinel2`) or a local STAC catalog (``catalog.json``
or ``collection.json``, :mod:`.stac`).  :func:`composite_series` writes one
composite per year (the growing season ``season_months``) and, on request,
one per month, each with its scenes CSV, and a ``composites.csv`` summary;
with ``fill_years`` the yearly composites' empty pixels are filled from the
nearest years (:mod:`.gapfill`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from ..errors import MissingInputError
from ..io import write_table
from . import harmonise as hm
from .compose import CompositeResult, DateWindow, TargetGrid, compose, month_window, overlaps, season_window, select
from .landsat import SceneError, find_landsat_scenes
from .scene import COMPOSITE_BANDS, Scene


def find_scenes(source: str | Path, bands: tuple[str, ...] = COMPOSITE_BANDS,
                strict: bool = True) -> tuple[list[Scene], list[str]]:
    """Every scene in a folder or a local STAC catalog, and the problems found (one line each).

    With ``strict`` the first problems raise :class:`SceneError` listing all of them.
    """
    source = Path(source)
    if not source.exists():
        raise MissingInputError(f"Scenes {source} do not exist. Set [images].scenes (or --scenes) to the folder "
                                f"holding the downloaded scenes or to a local STAC catalog.json.")
    scenes: list[Scene] = []
    problems: list[str] = []
    if source.is_file() and source.suffix.lower() == ".json":
        from .stac import find_stac_scenes

        s, p = find_stac_scenes(source, bands)
        scenes += s
        problems += p
    else:
        s, p = find_landsat_scenes(source, bands)
        scenes += s
        problems += p
        from .sentinel2 import find_sentinel2_scenes

        s, p = find_sentinel2_scenes(source, bands)
        scenes += s
        problems += p
    if not scenes and not problems:
        problems.append(f"No scene found in {source}: expected Landsat Collection 2 Level-2 products (*_MTL.txt "
                        f"with the SR_B* and QA_PIXEL GeoTIFFs beside it), Sentinel-2 L2A products (.SAFE folders "
                        f"or per-band COGs with SCL) or a STAC catalog.json. Check the path.")
    if strict and problems:
        raise SceneError(f"{len(problems)} problem(s) with the scenes in {source}:\n" +
                         "\n".join(f"  - {p}" for p in problems))
    return sorted(scenes, key=lambda s: (s.date, s.scene_id)), problems


def outside_area(scenes: Sequence[Scene], grid: TargetGrid) -> list[Scene]:
    """The scenes that do not overlap the grid at all."""
    return [s for s in scenes if not overlaps(s, grid)]


def composite_series(scenes: Sequence[Scene], grid: TargetGrid, out_dir: str | Path, years: Sequence[int],
                     season_months: tuple[int, int] = (1, 12), months: Sequence[tuple[int, int]] = (),
                     method: str = "median", chunk_px: int = 512, snow: bool = True,
                     transform: str | None = hm.DEFAULT_TRANSFORM, resampling: str = "nearest",
                     name: str = "composite_{label}.tif", fill_years: int = 0,
                     progress: Callable[[str], None] | None = None) -> list[CompositeResult]:
    """Write the yearly composites of ``years`` (and the monthly ones of ``months`` = (year, month) pairs).

    Raises
    ------
    SceneError
        Scenes that do not overlap the area (each named), or a year/month with no scene in its window.
    """
    out_dir = Path(out_dir)
    away = outside_area(scenes, grid)
    if away:
        raise SceneError(f"{len(away)} scene(s) do not overlap the monitoring area ({grid.crs}, bounds "
                         f"{', '.join(f'{v:.0f}' for v in grid.bounds)}): " +
                         ", ".join(f"{s.scene_id} ({s.folder})" for s in away) +
                         ". They belong to another area: remove them from the scene folder (or check the CRS).")
    windows: list[DateWindow] = [season_window(int(y), season_months) for y in years]
    windows += [month_window(int(y), int(m)) for y, m in months]
    empty = [w for w in windows if not select(scenes, w)]
    if empty:
        have = sorted({s.year for s in scenes})
        raise SceneError("No usable scene for " + ", ".join(f"{w.label} ({w.start} to {w.end})" for w in empty) +
                         f". Scenes found cover the years {', '.join(map(str, have)) or 'none'}. Add scenes of "
                         f"that period to the folder, widen the season ([images].season_months), or leave the "
                         f"year out of the project period.")
    results = []
    for w in windows:
        chosen = select(scenes, w)
        results.append(compose(chosen, grid, out_dir / name.format(label=w.label), label=w.label, method=method,
                               chunk_px=chunk_px, snow=snow, transform=transform, resampling=resampling,
                               progress=progress))
    if fill_years > 0:
        from .gapfill import fill_gaps

        yearly = {int(r.label): r.path for r in results if r.label.isdigit()}
        for y, n in fill_gaps(yearly, fill_years, chunk_px).items():
            next(r for r in results if r.label == str(y)).extra["filled_px"] = n
    write_table(pd.DataFrame([{"composite": r.label, "path": r.path.name, "scenes": r.n_scenes,
                               "scenes_used": r.n_scenes_used, "dates": ";".join(r.dates),
                               "clear_count_min": r.clear_count_min, "clear_count_median": r.clear_count_median,
                               "share_no_clear": round(r.share_no_clear, 6),
                               "filled_px": r.extra.get("filled_px", 0)} for r in results]),
                out_dir / "composites.csv")
    return results
