"""Checks of the lidar inputs: TLS scans, scan positions, ALS tiles."""

from __future__ import annotations

from pathlib import Path

from ..errors import MinecarbonError
from ..inputs._text import values as _values
from ._context import _Context


def _check_tls(ctx: _Context) -> None:
    pattern = ctx.cfg.inputs.tls
    if not pattern:
        return
    if Path(pattern).is_absolute():
        files = sorted(Path(Path(pattern).anchor).glob(str(Path(pattern).relative_to(Path(pattern).anchor))))
    else:
        files = sorted(Path(ctx.cfg.root).glob(pattern))
    files = [f for f in files if f.is_file()]
    if not files:
        ctx.add(ctx.project_file, "[inputs].tls", f"the pattern {pattern!r} matches no file",
                "Correct the glob (relative to the project folder, e.g. 'tls/*.laz') or remove [inputs].tls "
                "if there are no scans.", "warning")
        return
    from ..inputs.pointclouds import TLS_SCAN

    for f in files:
        ctx.problems += TLS_SCAN.problems(f, ctx.show(f))
    if ctx.plot_ids is not None:
        unknown = [f for f in files if f.stem not in ctx.plot_ids]
        if unknown:
            ctx.add(ctx.project_file, "[inputs].tls", f"scan(s) {_values([f.name for f in unknown], 8)} are "
                    f"not named after a plot_id of the plot sheet", "Name each scan <plot_id>.laz.",
                    "warning")


def _check_scan_positions(ctx: _Context) -> None:
    """``[lidar].scan_positions``: readable, one row per plot, numbers in range (the stage's own reader)."""
    cfg = ctx.cfg
    if not cfg.lidar.scan_positions:
        return
    path = cfg.path(cfg.lidar.scan_positions)
    if not path.is_file():
        ctx.add(ctx.project_file, "[lidar].scan_positions", f"the file {ctx.show(path)} does not exist",
                "Correct the path (relative to the project folder) or remove the key; without it every scan is "
                "taken at its plot centre, oriented to grid north.")
        return
    from ..project.readers import read_scan_positions, scan_paths

    try:
        read_scan_positions(cfg, list(scan_paths(cfg)))
    except MinecarbonError as exc:
        ctx.add(ctx.show(path), "(file)", str(exc).split(". Each row")[0],
                "Each row is plot_id, centre_x_m, centre_y_m (the plot centre in the scan frame, m) and "
                "rotation_deg (clockwise from the scan's +y axis to grid north).")


def _check_als(ctx: _Context) -> None:
    """``[lidar].als``: tiles exist, have points, a projected CRS (header or project) and overlap the area."""
    cfg = ctx.cfg
    if not cfg.lidar.als:
        return
    files = [p for k, p in cfg.input_paths().items() if k.startswith("lidar.als[")]
    if not files:
        ctx.add(ctx.project_file, "[lidar].als", f"the pattern {cfg.lidar.als!r} matches no file",
                "Correct the glob (relative to the project folder, e.g. 'inputs/als/*.laz') or remove [lidar].als.")
        return
    from ..inputs.pointclouds import ALS_TILE

    hit, placed = False, 0
    for f in files:
        found, _, inside = ALS_TILE.header_problems(f, ctx.show(f), target_crs=ctx.target_crs, area=ctx.area,
                                                    area_crs=ctx.area_crs)
        ctx.problems += found
        if inside is not None:
            hit |= inside
            placed += 1
    if placed and not hit:
        ctx.add(ctx.project_file, "[lidar].als", "no ALS tile overlaps the monitoring area",
                "Check that these are the tiles of this mine and that their CRS is right.")
