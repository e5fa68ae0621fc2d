"""The compositing tool as a library: scenes in, yearly (and monthly) composites out.

``minecarbon tool composite`` (:mod:`minecarbon.cli.tools_composite`) only
parses options and prints the rows :func:`run_composite_tool` returns.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def parse_ints(text: str, what: str) -> list[int]:
    """``"2005-2007,2010"`` -> ``[2005, 2006, 2007, 2010]``; :class:`InputError` naming ``what`` otherwise."""
    out: list[int] = []
    try:
        for part in text.split(","):
            a, _, b = part.strip().partition("-")
            out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    except ValueError:
        raise InputError(f"{what} {text!r}: use e.g. 2005-2024 or 2010,2015") from None
    return out


def run_composite_tool(scenes: Path, out_dir: Path, *, years: str, grid_raster: Path | None = None,
                       bounds: str | None = None, crs: str | None = None, res_m: float = 30.0, season: str = "5-9",
                       monthly_year: int | None = None, method: str = "median",
                       harmonisation: str = "roy2016_ols_etm_to_oli", fill_years: int = 0, keep_snow: bool = False,
                       chunk_px: int = 512) -> dict:
    """Composite ``scenes`` (a folder of Landsat C2 L2 / Sentinel-2 L2A scenes, or a STAC catalog.json).

    The output grid is ``grid_raster``'s, or ``bounds`` (``"minx,miny,maxx,maxy"`` in ``crs``, default the first
    scene's) at ``res_m``.  Returns ``{"composites": [one row per composite], "scenes": number found}``.
    """
    from ..composite import TargetGrid, composite_series, find_scenes

    year_list = parse_ints(years, "--years")
    s = parse_ints(season, "--season")
    if len(s) < 1 or not all(1 <= m <= 12 for m in s):
        raise InputError(f"--season {season!r}: months 1-12, e.g. 5-9")
    found, _ = find_scenes(scenes)
    if grid_raster is not None:
        grid = TargetGrid.from_raster(grid_raster)
    elif bounds:
        try:
            b = tuple(float(v) for v in bounds.split(","))
            assert len(b) == 4
        except (ValueError, AssertionError):
            raise InputError(f"--bounds {bounds!r}: give minx,miny,maxx,maxy") from None
        import rasterio

        with rasterio.open(found[0].qa) as src:
            grid = TargetGrid.from_bounds(b, crs or src.crs.to_string(), res_m)  # type: ignore[arg-type]
    else:
        raise InputError("Give the output grid: --grid RASTER or --bounds minx,miny,maxx,maxy.")
    months = [(monthly_year, m) for m in range(1, 13)] if monthly_year else []
    results = composite_series(found, grid, out_dir, year_list, (min(s), max(s)), months, method=method,
                               chunk_px=chunk_px, snow=not keep_snow,
                               transform=None if harmonisation == "none" else harmonisation,
                               fill_years=fill_years)
    rows = [{"composite": r.label, "path": str(r.path), "scenes": r.n_scenes, "scenes_used": r.n_scenes_used,
             "clear_count_min": r.clear_count_min, "clear_count_median": r.clear_count_median,
             "share_no_clear": round(r.share_no_clear, 6), "filled_px": r.extra.get("filled_px", 0)}
            for r in results]
    return {"composites": rows, "scenes": len(found)}
