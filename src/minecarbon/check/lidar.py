"""Checks of the lidar inputs: TLS scans, scan positions, ALS tiles."""

from __future__ import annotations

from pathlib import Path

from ..errors import MinecarbonError
from ..inputs._text import one_line as _one_line
from ..inputs._text import values as _values
from ._context import _Context, _pyproj, _crs_name, _transform_bounds


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
    import laspy

    from ..lidar.lasfile import _crs_of

    hit, placed = False, 0
    for f in files:
        shown = ctx.show(f)
        try:
            with laspy.open(str(f)) as reader:
                header = reader.header
                n = int(header.point_count)
                crs = _crs_of(header, f, "ALS tile")
        except Exception as exc:  # noqa: BLE001 - laspy and lazrs raise many kinds
            ctx.add(shown, "(file)", f"cannot be read as LAS/LAZ ({_one_line(str(exc))})",
                    "Re-export the tile as LAS 1.2-1.4 or LAZ.")
            continue
        if n == 0:
            ctx.add(shown, "(file)", "the tile holds no points", "Re-export the tile or remove it from the folder.")
            continue
        crs = crs if crs is not None else ctx.target_crs
        if crs is None:
            ctx.add(shown, "(header)", "no CRS in the header and none in the project",
                    "Set [project].crs or write the CRS into the tile headers.")
            continue
        crs = _pyproj(crs)
        if crs is not None and not crs.is_projected:
            ctx.add(shown, "(header)", f"the CRS {_crs_name(crs)} is not projected (heights and cells need metres)",
                    "Reproject the tiles to the project's projected CRS (e.g. with PDAL or lasinfo/las2las).")
            continue
        x0, y0, x1, y1 = float(header.mins[0]), float(header.mins[1]), float(header.maxs[0]), float(header.maxs[1])
        if max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
            ctx.add(shown, "(header)", f"the coordinates (x {x0:g} .. {x1:g}, y {y0:g} .. {y1:g}) look like "
                    f"degrees (longitude, latitude), but the tile is taken as {_crs_name(crs)} in metres",
                    "Reproject the tile to the project's projected CRS (e.g. 'pdal translate in.laz out.laz "
                    "reprojection --filters.reprojection.in_srs=EPSG:4326 --filters.reprojection.out_srs="
                    "EPSG:32649').")
            continue
        if ctx.area is not None and crs is not None:
            from shapely.geometry import box

            try:
                b = _transform_bounds((x0, y0, x1, y1), crs, ctx.area_crs)
                inside = box(*b).intersects(ctx.area)
                hit |= inside
                placed += 1
            except Exception:  # noqa: BLE001 - bounds that cannot be transformed are not judged
                inside = True
            if not inside:
                ctx.add(shown, "(header)", f"the tile (x {x0:.0f} .. {x1:.0f}, y {y0:.0f} .. {y1:.0f}, "
                        f"{_crs_name(crs)}) lies outside the monitoring area; it is not used",
                        "Remove it from the folder, or check its CRS.", "warning")
    if placed and not hit:
        ctx.add(ctx.project_file, "[lidar].als", "no ALS tile overlaps the monitoring area",
                "Check that these are the tiles of this mine and that their CRS is right.")
