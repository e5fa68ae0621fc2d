"""Scene problems for ``minecarbon check``: every one at once, each with its fix.

Called from :func:`minecarbon.check.check_config` when ``[images].scenes``
is set.  Lists: scenes that cannot be used (missing band files, unreadable
or contradicting MTL, a bad product name), band files that are damaged or
truncated, files whose size contradicts the MTL, mixed CRSs (a warning:
they are reprojected), scenes outside the monitoring area, years with no
scene in the season, and years where part of the area has no clear
observation at all (a warning; the composite is empty there).
"""

from __future__ import annotations

from pathlib import Path

import rasterio

from .compose import compose_window, overlaps, season_window, select
from ..errors import InputError
from .landsat import SceneError

Finding = tuple[str, str, str, str, str]
"""(file, where, message, fix, severity)."""


def scene_findings(cfg, read_pixels: bool = True) -> list[Finding]:
    """Every problem of the project's scenes (see the module docstring)."""
    from ..io.raster import damaged_block
    from .project import project_target_grid, scenes_source
    from .series import find_scenes

    src = scenes_source(cfg)
    out: list[Finding] = []
    key = "[images].scenes"
    try:
        scenes, problems = find_scenes(src, strict=False)
    except InputError as exc:  # the folder or catalog itself is missing or unreadable
        return [(str(src), key, str(exc), "Correct [images].scenes.", "error")]
    out += [(str(src), key, p, "See the message.", "error") for p in problems]
    crss: dict[str, list[str]] = {}
    good = []
    for s in scenes:
        bad = None
        for f in s.files():
            try:
                with rasterio.open(f) as ds:
                    crss.setdefault(ds.crs.to_string() if ds.crs else "none", []).append(s.scene_id)
                    samples, lines = s.extra.get("samples"), s.extra.get("lines")
                    if samples and lines and (int(samples), int(lines)) != (ds.width, ds.height):
                        bad = (f"{f.name} is {ds.width} x {ds.height} pixels but the MTL says REFLECTIVE_SAMPLES = "
                               f"{samples}, REFLECTIVE_LINES = {lines}: the MTL contradicts the file")
                        break
                why = damaged_block(f) if read_pixels else None
                if why:
                    bad = f"{f.name}: {why}"
                    break
            except rasterio.errors.RasterioError as exc:
                bad = f"{f.name} cannot be opened ({exc})"
                break
        if bad:
            out.append((str(s.folder), key, f"scene {s.scene_id}: {bad}",
                        "Download the scene again (or remove it from the folder).", "error"))
        else:
            good.append(s)
    if len(crss) > 1:
        listing = "; ".join(f"{c}: {len(set(v))} scene(s)" for c, v in crss.items())
        out.append((str(src), key, f"the scenes are in {len(crss)} CRSs ({listing})",
                    "Nothing to do if intended: they are reprojected to the project CRS ([project].crs, else the "
                    "first scene's). Set [project].crs to choose it.", "warning"))
    if not good:
        return out
    try:
        grid = project_target_grid(cfg, good)
    except Exception as exc:  # noqa: BLE001  (the boundary's own checks report it)
        out.append((str(src), key, f"the composite grid cannot be set up ({exc})", "Fix the boundary first.",
                    "warning"))
        return out
    inside = []
    for s in good:
        if overlaps(s, grid):
            inside.append(s)
        else:
            out.append((str(s.folder), key, f"scene {s.scene_id} does not overlap the monitoring area",
                        "It belongs to another area: remove it from the scene folder (or check its CRS).", "error"))
    season = tuple(cfg.images.season_months)
    empty = []
    for y in cfg.project.years:
        chosen = select(inside, season_window(y, season))
        if not chosen:
            empty.append(y)
            continue
        if read_pixels:
            step = max(1, grid.width // 128)  # a coarse look: every step-th pixel of a thinned grid
            coarse = _thin(grid, step)
            try:
                block, _ = compose_window(chosen, coarse, _full(coarse))
            except SceneError as exc:
                out.append((str(src), key, str(exc), "Download the scene again.", "error"))
                continue
            share = float((block[-1] == 0).mean())
            if share > 0:
                out.append((str(src), key, f"{y}: {100 * share:.1f} % of the area has no clear observation in "
                            f"{len(chosen)} scene(s) of months {season[0]}-{season[1]}", "Add scenes of that "
                            "season, or widen [images].season_months; those pixels stay empty (no AGC).",
                            "warning"))
    if empty:
        out.append((str(src), key, f"no scene in months {season[0]}-{season[1]} of year(s) "
                    f"{', '.join(map(str, empty))}", "Add scenes of those years, widen [images].season_months, or "
                    "shorten the project period.", "error"))
    return out


def _thin(grid, step: int):
    from .compose import TargetGrid

    t = grid.transform
    from affine import Affine

    return TargetGrid(grid.crs, Affine(t.a * step, 0.0, t.c, 0.0, t.e * step, t.f), max(1, grid.width // step),
                      max(1, grid.height // step))


def _full(grid):
    from rasterio.windows import Window

    return Window(0, 0, grid.width, grid.height)


def shown(cfg, path: str | Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(cfg.root).resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)

