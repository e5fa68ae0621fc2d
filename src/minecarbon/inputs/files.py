"""The files a project names: each must exist, and a ``{year}`` pattern needs a file for every year.

:func:`project_files` lists the raster files to judge with their specs
(:mod:`minecarbon.inputs.rasters`) and the problems of the files missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import Problem, Severity
from ._text import years_text as _years_text
from .rasters import RasterFile, year_files

if TYPE_CHECKING:  # pragma: no cover
    from ..config import ProjectConfig

__all__ = ["covariate_files", "project_files", "series_files"]


def project_files(cfg: "ProjectConfig", show: Callable[[Any], str], pf: str) -> tuple[list[RasterFile], list[Problem]]:
    """The raster files a project names (every year of a ``{year}`` pattern) and the problems of files that do not
    exist: a named file must exist; a ``{year}`` pattern needs a file for every year; the forest-type maps at least
    the base year's."""
    problems: list[Problem] = []
    rasters: list[RasterFile] = []

    def add(file: str, where: str, message: str, fix: str, severity: Severity = "error", code: str = "") -> None:
        problems.append(Problem(file, where, message, fix, severity, code))

    single: list[tuple[str, str | None]] = [
        ("[area].boundary", cfg.area.boundary), ("[inputs].dem", cfg.inputs.dem),
        ("[inputs].plots", cfg.inputs.plots), ("[inputs].trees", cfg.inputs.trees),
        ("[inputs].disturbance", cfg.inputs.disturbance), ("[inputs].planned", cfg.inputs.planned),
        ("[inputs].reclamation", cfg.inputs.reclamation), ("[inputs].tally", cfg.inputs.tally),
        ("[plots].allometry", cfg.plots.allometry), ("[plots].plan_restoration", cfg.plots.plan_restoration),
        ("[assess].zones", cfg.assess.zones), ("[classify].samples", cfg.classify.samples),
        ("[classify].validation", cfg.classify.validation),
    ] + [("[features].canopy", c) for c in cfg.features.canopy]
    for key, value in single:  # optional ones (None) are skipped; a named file must exist
        if value is None:
            continue
        p = cfg.path(value)
        assert p is not None
        if not p.exists():
            add(show(p), "(file)", f"file named by {key} does not exist",
                    f"Check the path {value!r} in {pf} (relative paths are relative to the project "
                    f"file's folder).", code="missing-file")
        elif p.is_dir() and p.suffix.lower() != ".gdb":  # a FileGDB is a folder
            add(show(p), "(file)", f"{key} names a folder, not a file",
                    f"Point {key} at the file inside it.")
    if (p := cfg.path(cfg.inputs.dem)) is not None and p.is_file():
        rasters.append(RasterFile("dem", "[inputs].dem", None, p))
    for c in dict.fromkeys(cfg.features.canopy):
        if (p := cfg.path(c)) is not None and p.is_file():
            rasters.append(RasterFile("canopy", "[features].canopy", None, p))

    years = cfg.project.years
    yearly = ([] if cfg.images.scenes else [("image", "[images].path", cfg.images.path)]) + [
              ("temperature", "[climate].temperature", cfg.climate.temperature),
              ("precipitation", "[climate].precipitation", cfg.climate.precipitation)]
    for kind, key, pattern in yearly:
        found, missing = year_files(cfg, key, pattern, years, f"every year {years[0]}-{years[-1]}", show, pf)
        problems += missing
        for y, p in found:
            rasters.append(RasterFile(kind, key, y, p))
    base = cfg.project.base
    seen = set()
    for y in years if cfg.inputs.forest_type else ():  # absent: the classify stage makes the maps
        p = cfg.year_path(cfg.inputs.forest_type, y)
        if p in seen:
            continue
        if p.is_file():
            seen.add(p)
            rasters.append(RasterFile("forest_type", "[inputs].forest_type", y, p))
        elif y == base:
            add(show(p), "(file)", f"the forest-type map of the base year {base} "
                    f"([inputs].forest_type) does not exist",
                    f"Provide it, or correct the pattern {cfg.inputs.forest_type!r} in {pf}; at least the "
                    f"base year is required.", code="missing-file")
    series, missing = series_files(cfg, show, pf)
    return rasters + series, problems + missing


def series_files(cfg: "ProjectConfig", show: Callable[[Any], str], pf: str, years: list[int] | None = None
                 ) -> tuple[list[RasterFile], list[Problem]]:
    """``[classify].series`` when the classify stage classifies: the twelve monthly composites of every classified
    year (``years``, default :func:`~minecarbon.inputs.samples.classified_years`), and a problem per year naming
    the months missing."""
    from .samples import classified_years, classify_enabled

    if not cfg.classify.series or not classify_enabled(cfg):
        return [], []
    rasters: list[RasterFile] = []
    problems: list[Problem] = []
    for year in classified_years(cfg) if years is None else years:
        missing = []
        for month in range(1, 13):
            p = cfg.series_path(year, month)
            if p.is_file():
                rasters.append(RasterFile("series", "[classify].series", year, p, label=f"{month:02d}"))
            else:
                missing.append((month, p))
        if missing:
            months = ", ".join(f"{m:02d}" for m, _ in missing)
            problems.append(Problem(
                show(missing[0][1]), "(file)", f"{len(missing)} of the 12 monthly composites of {year} "
                f"([classify].series) do not exist: month(s) {months}",
                f"Provide all 12 months of every classified year (a fully cloudy month as an all-nodata file), "
                f"correct the pattern {cfg.classify.series!r} in {pf}, or leave {year} out of [classify].years.",
                code="missing-file", stage="classify"))
    return rasters, problems


def covariate_files(cfg: "ProjectConfig", first_disturbance_year: int | None, show: Callable[[Any], str], pf: str
                    ) -> list[Problem | RasterFile]:
    """``[assess].cumulative_covariates``: a file for every year the cumulative effect reads (pre-mining years and
    the cumulative period), in order with the problems of the settings and of the years without a file."""
    a = cfg.assess
    out: list[Problem | RasterFile] = []

    def add(*args: Any) -> None:
        out.append(Problem(*args))

    if not (a.cumulative_covariates or a.cumulative_start_year or a.cumulative_end_year):
        return out
    from ..project.plans import cumulative_years

    _, years, why = cumulative_years(cfg, cfg.project.mining_start_year or first_disturbance_year)
    if why is not None:
        key = "[assess].cumulative_covariates" if a.cumulative_covariates else "[assess]"
        add(pf, key, f"the cumulative effect will not be computed ({why}), so the cumulative-effect "
                f"settings are not used", "Set [project].mining_start_year (leaving at least 2 pre-mining "
                "years in the monitoring period) or give a disturbance layer with years; or remove the "
                "settings.", "warning")
        return out
    for name, pattern in a.cumulative_covariates.items():
        key = f"[assess].cumulative_covariates.{name}"
        if "{year}" not in pattern and len(years) > 1:
            add(pf, key, f"the path {pattern!r} has no {{year}}; the same grid will be used for every year "
                    f"(a constant covariate is collinear with the intercept)", "Use one grid per year, e.g. "
                    f"'climate/{name}_{{year}}.tif'.", "warning")
        need = f"each year the cumulative effect reads, {_years_text(years)} (pre-mining years and period)"
        found, missing = year_files(cfg, key, pattern, years, need, show, pf)
        out += missing
        out += [RasterFile("covariate", key, y, p, label=name) for y, p in found]
    return out
