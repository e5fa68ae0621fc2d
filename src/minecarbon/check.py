"""``minecarbon check``: validate a whole project before anything is computed.

:func:`check_project` loads the project file and opens every input it names;
it returns *every* problem it finds as a :class:`Problem` (file, where in the
file, what is wrong, how to fix it) instead of stopping at the first.  It
never raises on bad inputs: a check that fails unexpectedly becomes a
problem too, and the other checks still run.

The check is read-only: it opens files for reading only, disables GDAL's
``.aux.xml`` side-car files and writes nothing anywhere (not even a cache).

Row numbers are reported as they appear in the file: the header is line 1,
so the first data row is "line 2".

What is checked, in order:

1. settings the schema cannot judge: buffer width, CRS, years of
   ``[assess]`` (reference, compare, cumulative period), duplicate
   ``[forest_type_codes]``, covariate names, the tasseled-cap coefficient
   choice, learners and grids that would be ignored or fail;
2. every named file exists (``{year}`` patterns for every year);
3. rasters (images, climate, DEM, forest-type maps, ``[features].canopy``):
   readable, georeferenced, projected, in the project CRS, overlapping the
   monitoring area, not all nodata, plausible units; per year image, every
   band that ``[features]`` needs, found as the features stage finds it
   (:func:`minecarbon.features.required_bands` and
   :func:`~minecarbon.features.find_bands`); canopy band names unique;
4. polygon layers (boundary, disturbance, planned, reclamation,
   ``[assess].zones`` with ``zones_field``, ``[plots].plan_restoration``):
   readable, CRS plausible, polygons, attributes, years, in the area;
5. ``[assess].cumulative_covariates``: a raster for every year the
   cumulative effect reads (pre-mining years and the cumulative period);
6. plot sheet, tree tally, tape tally, allometry table, TLS scans;
7. the plot sheet against ``[model]``: enough plots and enough spatial
   cross-validation groups for the folds, forest-type codes.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .config import DAMAGE_TYPE_ALIASES, DAMAGE_TYPES, ProjectConfig, load_config
from .errors import (
    ConfigError,
    MinecarbonError,
    MissingInputError,
    MissingValueError,
    UnknownSpeciesError,
)
from .features.sensors import get_sensor

__all__ = ["Problem", "check_config", "check_project", "format_problems"]

Severity = Literal["error", "warning"]

BUFFER_RANGE_M = (100.0, 500.0)
"""The standard says the buffer is 'generally 100-500 m'."""
DBH_MAX_CM = 300.0
HEIGHT_MIN_M = 1.3
HEIGHT_MAX_M = 80.0
MAX_LISTED = 10
"""At most this many rows / features / values are named in one problem."""
PLOT_COLUMNS = ("plot_id", "x", "y", "survey_year", "size_m")
TREE_COLUMNS = ("plot_id", "tree_id", "species", "dbh_cm", "height_m")
_SAMPLE_PX = 1024
_GDAL_READONLY = {"GDAL_PAM_ENABLED": "NO"}  # never write .aux.xml beside the inputs


# ---------------------------------------------------------------------------
# Problem
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One problem found in a project.

    Attributes
    ----------
    file : str
        The file concerned (relative to the project folder where possible).
    where : str
        Where in that file: a key (``"[area].buffer_m"``), rows and a column
        (``"line 12, column dbh_cm"``), a band (``"band 'nir'"``), features
        (``"fid 3"``) or ``"(file)"`` for the file as a whole.
    message : str
        What is wrong.
    fix : str
        How to fix it.
    severity : {"error", "warning"}
        Errors stop the pipeline; warnings are worth a look.
    code : str
        For a plausibility warning that would make the numbers meaningless,
        its name in :data:`minecarbon.config.PLAUSIBILITY_CODES`: ``run``
        treats it as an error unless the project file accepts it
        (``[check].accept``).  ``"missing-file"`` for a named file that does
        not exist (``run`` leaves these to the stage that needs the file).
        Empty for other problems.
    stage : str
        The pipeline stage whose rule this is, when the rule is not about the
        file as such (e.g. "too few plots for the model's folds" is the
        ``model`` stage's, not every stage reading the plot sheet's).
    """

    file: str
    where: str
    message: str
    fix: str
    severity: Severity = "error"
    code: str = ""
    stage: str = ""

    @property
    def is_error(self) -> bool:
        """True for an error, False for a warning."""
        return self.severity == "error"

    def __str__(self) -> str:
        msg = _one_line(self.message).rstrip(". ")
        return f"{self.file}: {self.where}: {msg}. Fix: {_one_line(self.fix)}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def format_problems(problems: Sequence[Problem]) -> str:
    """Format problems for people: a summary line, then errors, then warnings.

    Parameters
    ----------
    problems : sequence of Problem

    Returns
    -------
    str
        ``"No problems found."`` or one line per problem, each prefixed with
        ``error:`` or ``warning:``.
    """
    if not problems:
        return "No problems found."
    errors = [p for p in problems if p.is_error]
    warns = [p for p in problems if not p.is_error]
    lines = [f"{len(errors)} error(s), {len(warns)} warning(s):"]
    lines += [f"error: {p}" for p in errors]
    lines += [f"warning: {p}" for p in warns]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------
def check_project(path: str | Path) -> list[Problem]:
    """Check a whole project: the project file and every input it names.

    Parameters
    ----------
    path : str or Path
        The project file (``minecarbon.toml``) or the folder holding it.

    Returns
    -------
    list of Problem
        Every problem found, in the order of the checks; empty when the
        project is ready.  If the project file itself is malformed, its
        problems are returned and the content checks are skipped.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "minecarbon.toml"
    shown = str(path)
    try:
        cfg = load_config(path)
    except MissingInputError:
        return [Problem(shown, "(file)", "the project file does not exist",
                        "Create one (see docs/design.md, 'Project file') or run 'minecarbon simulate DIR' "
                        "to get an example.")]
    except ConfigError as exc:
        return _config_error_problems(shown, str(exc))
    except Exception as exc:  # noqa: BLE001 - unreadable file, permissions, ...
        return [Problem(shown, "(file)", f"the project file cannot be read ({type(exc).__name__}: {exc})",
                        "Check that it is a readable UTF-8 text file.")]
    return check_config(cfg, project_file=shown)


def check_config(cfg: ProjectConfig, project_file: str | None = None) -> list[Problem]:
    """Check the inputs named by a loaded project file.

    Parameters
    ----------
    cfg : ProjectConfig
        A project file loaded with :func:`minecarbon.config.load_config`.
    project_file : str, optional
        Name of the project file for problems about its keys (default
        ``<root>/minecarbon.toml``).

    Returns
    -------
    list of Problem
        Every problem found; empty when the project is ready.
    """
    ctx = _Context(cfg=cfg, project_file=project_file or str(cfg.root / "minecarbon.toml"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steps: list[tuple[str, str, Callable[[_Context], None]]] = [
            (ctx.project_file, "(project settings)", _check_settings),
            (ctx.project_file, "(input files)", _check_files_exist),
            (ctx.project_file, "(rasters)", _open_rasters),
            (ctx.project_file, "[project].crs", _choose_target_crs),
            (ctx.show(cfg.path(cfg.area.boundary)), "(file)", _check_boundary),
            (ctx.project_file, "(rasters)", _check_rasters),
            (ctx.project_file, "(vector layers)", _check_layers),
            (ctx.project_file, "[features].canopy", _check_feature_rasters),
            (ctx.project_file, "[assess].zones", _check_zones),
            (ctx.project_file, "[assess].cumulative_covariates", _check_covariates),
            (ctx.project_file, "[plots].plan_restoration", _check_plan_restoration),
            (ctx.project_file, "[plots].allometry", _load_allometry),
            (ctx.show(cfg.path(cfg.inputs.plots)), "(file)", _check_plots),
            (ctx.show(cfg.path(cfg.inputs.trees)), "(file)", _check_trees),
            (ctx.show(cfg.path(cfg.inputs.tally)) if cfg.inputs.tally else "", "(file)", _check_tally),
            (ctx.project_file, "[inputs].tls", _check_tls),
            (ctx.project_file, "[lidar].scan_positions", _check_scan_positions),
            (ctx.project_file, "[lidar].als", _check_als),
            (ctx.project_file, "[model]", _check_model_plots),
            (ctx.project_file, "[images].scenes", _check_scenes),
        ]
        for file, where, step in steps:
            before = len(ctx.problems)
            ctx.guard(file, where, step, ctx)
            if step is _check_model_plots:  # rules of the model stage, whatever file they name
                ctx.problems[before:] = [replace(p, stage="model") for p in ctx.problems[before:]]
    return ctx.problems


# ---------------------------------------------------------------------------
# Project-file errors -> problems
# ---------------------------------------------------------------------------
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_TOML_AT_EOF = re.compile(r"\s*\(at end of document\)")


def _config_error_problems(shown: str, text: str) -> list[Problem]:
    """Turn the message of a :class:`ConfigError` into one problem per line."""
    out: list[Problem] = []
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) == 1 and " is not valid TOML: " in lines[0]:
        detail = lines[0].split(" is not valid TOML: ", 1)[1]
        detail = detail.removesuffix(" Fix the syntax at that line.").rstrip(". ")
        where = "(file)"
        m = _TOML_AT.search(detail)
        if m:
            where = f"line {m.group(1)}, column {m.group(2)}"
            detail = _TOML_AT.sub("", detail)
        elif _TOML_AT_EOF.search(detail):
            where = "end of file"
            detail = _TOML_AT_EOF.sub("", detail)
        return [Problem(shown, where, f"not valid TOML: {detail}",
                        "Fix the TOML syntax there (quotes around text, '=' between key and value, "
                        "[section] headers).")]
    for line in lines:
        if re.match(r"^\d+ problem\(s\) in the project file:$", line):
            continue
        body = line[len(shown) + 2:] if line.startswith(shown + ": ") else line
        m = re.match(r"^\[(?P<loc>[^\]]*)\] (?P<rest>.*)$", body)
        if not m:
            out.append(Problem(shown, "(file)", body, "Correct the project file."))
            continue
        rest = m.group("rest")
        msg, fix = rest.rsplit(" - ", 1) if " - " in rest else (rest, "correct the value.")
        fix = fix[:1].upper() + fix[1:]
        out.append(Problem(shown, _loc_to_where(m.group("loc")), msg, fix))
    if not out:
        out.append(Problem(shown, "(file)", _one_line(text), "Correct the project file."))
    return out


def _loc_to_where(loc: str) -> str:
    if loc.startswith("("):
        return loc
    parts = loc.split(".")
    return f"[{parts[0]}]" + ("." + ".".join(parts[1:]) if len(parts) > 1 else "")


# ---------------------------------------------------------------------------
# Context and small helpers
# ---------------------------------------------------------------------------
@dataclass
class _Raster:
    """One raster input: what it is and, once opened, its metadata."""

    kind: str  # image, temperature, precipitation, dem, forest_type, canopy, covariate
    key: str  # "[images].path"
    year: int | None
    path: Path
    label: str = ""  # a covariate's name
    crs: Any = None  # pyproj CRS or None
    bounds: tuple[float, float, float, float] | None = None
    count: int = 0
    descriptions: tuple[str, ...] = ()
    ok: bool = False  # opened


@dataclass
class _Context:
    cfg: ProjectConfig
    project_file: str
    problems: list[Problem] = field(default_factory=list)
    rasters: list[_Raster] = field(default_factory=list)
    target_crs: Any = None  # pyproj CRS every input is brought to
    target_from: str = ""  # where target_crs comes from, for messages
    area: Any = None  # shapely geometry of the monitoring area (boundary + buffer)
    area_crs: Any = None
    plot_ids: set[str] | None = None
    plot_xy: Any = None  # (n, 2) plot centres with usable coordinates (plot sheet CRS)
    table: Any = None  # AllometryTable
    need_bands: dict[str, str] | None = None  # image band (common name) -> the feature needing it
    first_disturbance_year: int | None = None

    def add(self, file: str, where: str, message: str, fix: str, severity: Severity = "error",
            code: str = "") -> None:
        self.problems.append(Problem(file, where, message, fix, severity, code))

    def show(self, path: Path | None) -> str:
        """A path for messages: relative to the project folder where possible."""
        if path is None:
            return ""
        try:
            return Path(path).resolve().relative_to(Path(self.cfg.root).resolve()).as_posix()
        except (ValueError, OSError):
            return str(path)

    def guard(self, file: str, where: str, fn: Callable[..., None], *args: Any) -> None:
        """Run one check; an unexpected exception becomes a problem instead of a traceback."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - the check must never raise
            self.add(file or self.project_file, where,
                     f"this could not be checked ({type(exc).__name__}: {_one_line(str(exc))[:300]})",
                     "Check that the file is complete and in a supported format; if it is, report this "
                     "as a bug of minecarbon (the other checks still ran).")


def _rows(idx: Iterable[int], word: str = "line", col: str | None = None) -> str:
    """Where-text for data rows given their 0-based positions (header = line 1)."""
    nums = [int(i) + 2 for i in idx]
    return _listing(nums, word, col)


def _listing(nums: Sequence[Any], word: str, col: str | None = None, noun: str = "column") -> str:
    shown = ", ".join(str(n) for n in nums[:MAX_LISTED])
    if len(nums) > MAX_LISTED:
        shown += f" (+{len(nums) - MAX_LISTED} more)"
    text = f"{word}{'s' if len(nums) > 1 else ''} {shown}"
    return f"{text}, {noun} {col}" if col else text


def _values(vals: Iterable[Any], n: int = 5) -> str:
    vals = list(vals)
    out = ", ".join(_fmt(v) for v in vals[:n])
    return out + (", ..." if len(vals) > n else "")


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return repr(v) if isinstance(v, str) else str(v)


def _pyproj(crs: Any) -> Any:
    """Any CRS-like object -> pyproj CRS (None stays None)."""
    if crs is None:
        return None
    from pyproj import CRS

    if isinstance(crs, CRS):
        return crs
    to_wkt = getattr(crs, "to_wkt", None)
    return CRS.from_wkt(to_wkt()) if callable(to_wkt) else CRS.from_user_input(crs)


def _crs_name(crs: Any) -> str:
    try:
        epsg = crs.to_epsg()
    except Exception:  # noqa: BLE001
        epsg = None
    return f"EPSG:{epsg}" if epsg else str(getattr(crs, "name", crs))


def _same_crs(a: Any, b: Any) -> bool:
    try:
        return bool(a.equals(b, ignore_axis_order=True)) or (a.to_epsg() is not None
                                                              and a.to_epsg() == b.to_epsg())
    except Exception:  # noqa: BLE001
        return False


def _transform_bounds(bounds: Sequence[float], src: Any, dst: Any) -> tuple[float, float, float, float]:
    """Bounds from CRS ``src`` to ``dst``; raises ValueError if they cannot be transformed."""
    if _same_crs(src, dst):
        return tuple(float(v) for v in bounds)  # type: ignore[return-value]
    from pyproj import Transformer

    t = Transformer.from_crs(src, dst, always_xy=True)
    out = t.transform_bounds(*bounds, densify_pts=21)
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"bounds cannot be transformed from {_crs_name(src)} to {_crs_name(dst)}")
    return tuple(float(v) for v in out)  # type: ignore[return-value]


def _numeric(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Text column -> (numbers, missing mask, not-a-number mask)."""
    text = s.astype(str).str.strip()
    missing = text.isin(["", "nan", "NaN", "NA", "N/A", "None", "null"])
    num = pd.to_numeric(text.where(~missing), errors="coerce").astype(float)
    bad = ~missing & (num.isna() | ~np.isfinite(num.fillna(0.0)))
    return num.where(~bad), missing, bad


def _is_int(v: float) -> bool:
    return math.isfinite(v) and float(v).is_integer()


# ---------------------------------------------------------------------------
# 1. settings that need more than the schema
# ---------------------------------------------------------------------------
def _check_settings(ctx: _Context) -> None:
    cfg, pf = ctx.cfg, ctx.project_file
    lo, hi = BUFFER_RANGE_M
    if not lo <= cfg.area.buffer_m <= hi:
        ctx.add(pf, "[area].buffer_m", f"buffer_m = {cfg.area.buffer_m:g} m is outside the usual "
                f"{lo:g}-{hi:g} m (the standard says the buffer is generally {lo:g}-{hi:g} m)",
                "Use the width found by field reconnaissance, normally 100-500 m; keep it if your "
                "reconnaissance justifies it and say so in the report.", "warning")
    if cfg.project.crs is not None:
        try:
            crs = _pyproj(cfg.project.crs)
        except Exception as exc:  # noqa: BLE001
            ctx.add(pf, "[project].crs", f"{cfg.project.crs!r} is not a known CRS ({_one_line(str(exc))})",
                    "Give an EPSG code such as 'EPSG:32649' (WGS 84 / UTM zone 49N).")
        else:
            if not crs.is_projected:
                ctx.add(pf, "[project].crs", f"{cfg.project.crs!r} is not a projected CRS (units are "
                        f"not metres)", "Use a projected CRS in metres, e.g. the UTM zone of the mine "
                        "('EPSG:32649' for 108-114 deg E) or a CGCS2000 Gauss-Kruger zone.")
    years = cfg.project.years
    assess_years = (("reference_year", cfg.assess.reference_year), ("compare_year", cfg.assess.compare_year))
    for key, val in assess_years:
        if val is not None and val not in years:
            ctx.add(pf, f"[assess].{key}", f"{key} {val} is outside the monitoring period "
                    f"{years[0]}-{years[-1]}", f"Choose a year in {years[0]}-{years[-1]} or widen "
                    f"[project].start_year/end_year.")
    if cfg.reference_year >= cfg.compare_year:
        ctx.add(pf, "[assess]", f"the reference year {cfg.reference_year} is not before the comparison "
                f"year {cfg.compare_year}; there is no change to assess",
                "Set [assess].reference_year earlier than [assess].compare_year (defaults: base year "
                "and end year).")
    ms = cfg.project.mining_start_year
    if ms is not None and ms > cfg.project.end_year:
        ctx.add(pf, "[project].mining_start_year", f"mining_start_year {ms} is after the end year "
                f"{cfg.project.end_year}", "Correct the year or remove the key (default: the first "
                "disturbance year).", "warning")
    if "{year}" not in cfg.images.path and len(years) > 1:
        ctx.add(pf, "[images].path", f"the image path {cfg.images.path!r} has no {{year}}, so every year "
                f"would use the same image", "Name one composite per year, e.g. "
                "'images/sr_{year}.tif'.")
    for key, pat in (("temperature", cfg.climate.temperature), ("precipitation", cfg.climate.precipitation)):
        if "{year}" not in pat and len(years) > 1:
            ctx.add(pf, f"[climate].{key}", f"the path {pat!r} has no {{year}}; the same grid will be "
                    f"used for every year", "Use one grid per year, e.g. 'climate/tmean_{year}.tif', if "
                    "you have them.", "warning")
    _check_feature_settings(ctx)
    _check_assess_settings(ctx)
    _check_model_settings(ctx)
    codes = cfg.forest_type_codes.model_dump()
    by_code: dict[int, list[str]] = {}
    for name, code in codes.items():
        by_code.setdefault(code, []).append(name)
    for code, names in by_code.items():
        if len(names) > 1:
            ctx.add(pf, "[forest_type_codes]", f"code {code} is given to {' and '.join(names)}; the forest "
                    f"types could not be told apart (maps, per-type models and statistics would mix them)",
                    "Give each type its own code, as in the legend of the forest-type map.")


def _check_feature_settings(ctx: _Context) -> None:
    """``[features]``: the image bands the features need (used per image by :func:`_image_bands`)."""
    from .errors import InputError
    from .features import required_bands
    from .pipeline.stages.features import stack_spec

    cfg = ctx.cfg
    try:
        ctx.need_bands = required_bands(stack_spec(cfg), cfg.images.sensor)
    except InputError as exc:
        from .features import coefficient_sets

        if cfg.features.tasseled_cap and cfg.images.sensor is None:
            ctx.add(ctx.project_file, "[features].tasseled_cap_coefficients", f"the tasseled cap "
                    f"({', '.join(cfg.features.tasseled_cap)}) takes its coefficients from the sensor "
                    f"(tasseled_cap_coefficients = {cfg.features.tasseled_cap_coefficients!r}), but "
                    f"[images].sensor is not set", f"Set [images].sensor (e.g. 'landsat8') or name a "
                    f"coefficient set in [features].tasseled_cap_coefficients "
                    f"({', '.join(coefficient_sets())}).")
        else:
            ctx.add(ctx.project_file, "[features]", f"the features cannot be set up: {_one_line(str(exc))}",
                    "Correct [features] / [images].sensor as the message says.")


_CLIMATE_NAMES = ("temperature_c", "precipitation_mm")
"""Names of the climate regressors of the cumulative-effect model (stage ``assess``)."""


def _check_assess_settings(ctx: _Context) -> None:
    cfg, pf, a = ctx.cfg, ctx.project_file, ctx.cfg.assess
    y0, y1 = cfg.project.start_year, cfg.project.end_year
    for key, val, default in (("cumulative_start_year", a.cumulative_start_year, "reference_year"),
                              ("cumulative_end_year", a.cumulative_end_year, "compare_year")):
        if val is not None and not y0 <= val <= y1:
            ctx.add(pf, f"[assess].{key}", f"{key} {val} is outside the monitoring period {y0}-{y1}",
                    f"Choose a year in {y0}-{y1}, or remove the key (default: {default}).")
    c0 = a.cumulative_start_year or cfg.reference_year
    c1 = a.cumulative_end_year or cfg.compare_year
    explicit = a.cumulative_start_year is not None or a.cumulative_end_year is not None
    if explicit and y0 <= c0 <= y1 and y0 <= c1 <= y1 and c0 >= c1:
        ctx.add(pf, "[assess].cumulative_start_year", f"the cumulative-effect period {c0}-{c1} is empty "
                f"(its start is not before its end)", "Set cumulative_start_year before cumulative_end_year "
                "(defaults: the reference and the comparison year).")
    for name in a.cumulative_covariates:
        if name in _CLIMATE_NAMES:
            ctx.add(pf, f"[assess].cumulative_covariates.{name}", f"the covariate name {name!r} is the name of "
                    f"the [climate] regressor, which it would silently replace", "Give the covariate another "
                    "name (e.g. 'pet_mm').")
    if a.zones_field and not a.zones:
        ctx.add(pf, "[assess].zones_field", "zones_field is set but [assess].zones is not, so it is ignored",
                "Set [assess].zones to the zone layer, or remove zones_field.", "warning")


def _check_model_settings(ctx: _Context) -> None:
    import importlib.util

    m, pf = ctx.cfg.model, ctx.project_file
    learners = m.learner_list
    if "xgb" in learners and importlib.util.find_spec("xgboost") is None:
        ctx.add(pf, "[model].learner" if m.learner else "[model].learners", "learner 'xgb' needs the xgboost "
                "package, which is not installed", "Install it ('pip install xgboost') or remove 'xgb' from the "
                "learners.")
    for name in m.grids:
        if name not in learners:
            ctx.add(pf, f"[model.grids.{name}]", f"a grid is given for {name!r}, which is not among the learners "
                    f"compared ({', '.join(learners)}), so it is ignored", f"Add {name!r} to [model].learners or "
                    f"remove the grid.", "warning")
    if m.grids and not m.grid_search:
        ctx.add(pf, "[model].grid_search", "grid_search = false, so the grids of [model.grids] are ignored and "
                "every learner uses its default hyper-parameters", "Set grid_search = true to search them, or "
                "remove [model.grids].", "warning")

# ---------------------------------------------------------------------------
# 2. every named file exists
# ---------------------------------------------------------------------------
def _check_files_exist(ctx: _Context) -> None:
    cfg, pf = ctx.cfg, ctx.project_file
    single: list[tuple[str, str | None]] = [
        ("[area].boundary", cfg.area.boundary), ("[inputs].dem", cfg.inputs.dem),
        ("[inputs].plots", cfg.inputs.plots), ("[inputs].trees", cfg.inputs.trees),
        ("[inputs].disturbance", cfg.inputs.disturbance), ("[inputs].planned", cfg.inputs.planned),
        ("[inputs].reclamation", cfg.inputs.reclamation), ("[inputs].tally", cfg.inputs.tally),
        ("[plots].allometry", cfg.plots.allometry), ("[plots].plan_restoration", cfg.plots.plan_restoration),
        ("[assess].zones", cfg.assess.zones),
    ] + [("[features].canopy", c) for c in cfg.features.canopy]
    for key, value in single:  # optional ones (None) are skipped; a named file must exist
        if value is None:
            continue
        p = cfg.path(value)
        assert p is not None
        if not p.exists():
            ctx.add(ctx.show(p), "(file)", f"file named by {key} does not exist",
                    f"Check the path {value!r} in {pf} (relative paths are relative to the project "
                    f"file's folder).", code="missing-file")
        elif p.is_dir() and p.suffix.lower() != ".gdb":  # a FileGDB is a folder
            ctx.add(ctx.show(p), "(file)", f"{key} names a folder, not a file",
                    f"Point {key} at the file inside it.")
    if (p := cfg.path(cfg.inputs.dem)) is not None and p.is_file():
        ctx.rasters.append(_Raster("dem", "[inputs].dem", None, p))
    for c in dict.fromkeys(cfg.features.canopy):
        if (p := cfg.path(c)) is not None and p.is_file():
            ctx.rasters.append(_Raster("canopy", "[features].canopy", None, p))

    years = cfg.project.years
    yearly = ([] if cfg.images.scenes else [("image", "[images].path", cfg.images.path)]) + [
              ("temperature", "[climate].temperature", cfg.climate.temperature),
              ("precipitation", "[climate].precipitation", cfg.climate.precipitation)]
    for kind, key, pattern in yearly:
        for y, p in _year_files(ctx, key, pattern, years, f"every year {years[0]}-{years[-1]}"):
            ctx.rasters.append(_Raster(kind, key, y, p))
    base = cfg.project.base
    seen = set()
    for y in years:
        p = cfg.year_path(cfg.inputs.forest_type, y)
        if p in seen:
            continue
        if p.is_file():
            seen.add(p)
            ctx.rasters.append(_Raster("forest_type", "[inputs].forest_type", y, p))
        elif y == base:
            ctx.add(ctx.show(p), "(file)", f"the forest-type map of the base year {base} "
                    f"([inputs].forest_type) does not exist",
                    f"Provide it, or correct the pattern {cfg.inputs.forest_type!r} in {pf}; at least the "
                    f"base year is required.", code="missing-file")


def _check_scenes(ctx: _Context) -> None:
    """``[images].scenes``: the rules of :mod:`minecarbon.composite.checks`."""
    if ctx.cfg.images.scenes:
        from .composite.checks import scene_findings

        for file, where, message, fix, severity in scene_findings(ctx.cfg):
            ctx.add(ctx.show(Path(file)), where, message, fix, severity)  # type: ignore[arg-type]


def _year_files(ctx: _Context, key: str, pattern: str, years: Sequence[int], need: str) -> list[tuple[int, Path]]:
    """The files of a ``{year}`` pattern that exist; one problem lists the years without a file."""
    cfg = ctx.cfg
    found, missing = [], []
    for y in years:
        p = cfg.year_path(pattern, y)
        if p.is_file():
            found.append((y, p))
        else:
            missing.append(y)
    if missing:
        example = ctx.show(cfg.year_path(pattern, missing[0]))
        every = len(missing) == len(years)
        ctx.add(ctx.show(cfg.path(pattern)), "(file)", f"{key} has no file for {'any year' if every else 'year(s)'} "
                f"{_years_text(missing)} (e.g. {example} does not exist); one is needed for {need}",
                f"Add the missing file(s) or correct the pattern {pattern!r} in {ctx.project_file} ({{year}} is "
                f"replaced by the 4-digit year).", code="missing-file")
    return found


def _years_text(years: Sequence[int]) -> str:
    if len(years) > 2 and list(years) == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


# ---------------------------------------------------------------------------
# 3. rasters
# ---------------------------------------------------------------------------
_WHAT = {"image": "image", "temperature": "temperature grid", "precipitation": "precipitation grid",
         "dem": "DEM", "forest_type": "forest-type map", "canopy": "canopy raster", "covariate": "covariate"}


def _what(r: _Raster) -> str:
    return (_WHAT[r.kind] + (f" {r.label!r}" if r.label else "")
            + (f" {r.year}" if r.year is not None and r.kind != "dem" else ""))


def _open_rasters(ctx: _Context) -> None:
    for r in ctx.rasters:
        ctx.guard(ctx.show(r.path), "(file)", _open_one_raster, ctx, r)


def _open_one_raster(ctx: _Context, r: _Raster) -> None:
    import rasterio

    shown = ctx.show(r.path)
    try:
        with rasterio.Env(**_GDAL_READONLY), rasterio.open(r.path) as src:
            r.count = src.count
            r.descriptions = tuple(d or "" for d in src.descriptions)
            r.bounds = tuple(src.bounds)  # type: ignore[assignment]
            no_georef = src.transform.is_identity and not src.gcps[0]
            r.crs = _pyproj(src.crs) if src.crs else None
    except Exception as exc:  # noqa: BLE001 - not a raster at all
        ctx.add(shown, "(file)", f"the {_what(r)} ({r.key}) cannot be read as a raster "
                f"({_one_line(str(exc))[:200]})", "Check that it is a GeoTIFF and not truncated; re-export "
                "it from the GIS.")
        return
    r.ok = True
    if r.count == 0:
        ctx.add(shown, "(file)", f"the {_what(r)} has no bands", "Re-export the raster with its data.")
        r.ok = False
    if no_georef:
        ctx.add(shown, "(file)", f"the {_what(r)} has no georeferencing (no geotransform)",
                "Re-export it as a GeoTIFF with its position (georeferenced).")
        r.bounds = None
    if r.crs is None:
        ctx.add(shown, "(file)", f"the {_what(r)} has no CRS",
                f"Assign the right projected CRS, e.g. 'gdal_edit.py -a_srs EPSG:32649 {r.path.name}' "
                f"(only if that is the CRS its coordinates are in).")
    elif not r.crs.is_projected:
        ctx.add(shown, "(file)", f"the {_what(r)} is in a geographic CRS ({_crs_name(r.crs)}, degrees); "
                f"areas and distances need metres", "Reproject it to a projected CRS in metres, e.g. "
                f"'gdalwarp -t_srs EPSG:32649 {r.path.name} out.tif'.")


def _choose_target_crs(ctx: _Context) -> None:
    """The CRS the project works in: [project].crs, else the reference image's."""
    cfg = ctx.cfg
    if cfg.project.crs is not None:
        try:
            crs = _pyproj(cfg.project.crs)
        except Exception:  # noqa: BLE001 - already reported by _check_settings
            crs = None
        if crs is not None and crs.is_projected:
            ctx.target_crs, ctx.target_from = crs, f"[project].crs ({cfg.project.crs})"
            return
    usable = [r for r in ctx.rasters if r.ok and r.crs is not None and r.crs.is_projected]
    order = ([r for r in usable if r.kind == "image" and r.year == cfg.project.base]
             + [r for r in usable if r.kind == "image"] + [r for r in usable if r.kind == "dem"] + usable)
    if order:
        ref = order[0]
        ctx.target_crs = ref.crs
        ctx.target_from = f"the CRS of the reference {_what(ref)} ({_crs_name(ref.crs)})"


def _check_rasters(ctx: _Context) -> None:
    for r in ctx.rasters:
        if r.ok:
            ctx.guard(ctx.show(r.path), "(file)", _check_one_raster, ctx, r)


def _check_one_raster(ctx: _Context, r: _Raster) -> None:
    import rasterio

    from .io.raster import damaged_block

    shown, what = ctx.show(r.path), _what(r)
    # integrity: every block decodes and passes its checksum (flipped bytes, truncation)
    damage = damaged_block(r.path)
    if damage:
        ctx.add(shown, "(file)", f"the {what} ({r.key}) is damaged: {damage}", "Copy or download the file "
                "again, or re-export it from the GIS; do not use it as it is.")
        return
    # CRS consistency
    if r.crs is not None and ctx.target_crs is not None and not _same_crs(r.crs, ctx.target_crs):
        try:
            _transform_bounds(r.bounds or (0, 0, 1, 1), r.crs, ctx.target_crs)
        except Exception:  # noqa: BLE001
            ctx.add(shown, "(file)", f"the {what} is in {_crs_name(r.crs)}, which cannot be transformed "
                    f"to {ctx.target_from}", "Reproject it to the project CRS with gdalwarp.")
        else:
            if r.crs.is_projected:
                ctx.add(shown, "(file)", f"the {what} is in {_crs_name(r.crs)}, not {ctx.target_from}; "
                        f"it will be reprojected (resampled)", "Nothing, if that is intended; to avoid "
                        f"resampling, deliver it in {_crs_name(ctx.target_crs)}.", "warning")
    # overlap with the monitoring area
    if r.crs is not None and r.bounds is not None and ctx.area is not None:
        try:
            b = _transform_bounds(r.bounds, r.crs, ctx.area_crs)
        except Exception:  # noqa: BLE001
            b = None
        if b is not None:
            minx, miny, maxx, maxy = ctx.area.bounds
            if b[2] <= minx or b[0] >= maxx or b[3] <= miny or b[1] >= maxy:
                ctx.add(shown, "(file)", f"the {what} (bounds {b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, "
                        f"{b[3]:.0f}) does not overlap the monitoring area (boundary + "
                        f"{ctx.cfg.area.buffer_m:g} m buffer: {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}, "
                        f"{_crs_name(ctx.area_crs)})", "Check that it is the right file and that its CRS "
                        "is assigned correctly (a wrong CRS shifts the data far away).")
            elif b[0] > minx or b[1] > miny or b[2] < maxx or b[3] < maxy:
                ctx.add(shown, "(file)", f"the {what} covers only part of the monitoring area (boundary "
                        f"+ {ctx.cfg.area.buffer_m:g} m buffer)", "Provide a raster that covers the whole "
                        "area; pixels outside it will be nodata.", "warning")
    # bands
    wanted = _image_bands(ctx, r, shown, what) if r.kind == "image" else [("band_1", 1)]
    if not wanted:
        return
    # content: nodata and plausible values
    with rasterio.Env(**_GDAL_READONLY), rasterio.open(r.path) as src:
        empty_bands = []
        samples: dict[str, np.ndarray] = {}
        for label, idx in wanted:
            nodata = src.nodatavals[idx - 1]
            if r.kind == "image" and ctx.cfg.images.nodata is not None:
                nodata = ctx.cfg.images.nodata
            sample = _valid_sample(src, idx, nodata)
            if sample.size == 0:
                empty_bands.append(label)
            samples[label] = sample
        if len(empty_bands) == len(wanted):
            scope = " in the bands used" if r.kind == "image" else ""
            extra = ", [images].nodata" if r.kind == "image" else ""
            ctx.add(shown, "(file)", f"the {what} contains only nodata (every pixel{scope})",
                    f"Check the export (clip extent, nodata value{extra}); the file holds no data.")
            return
        for label in empty_bands:
            ctx.add(shown, f"band '{label}'", f"band '{label}' of the {what} contains only nodata",
                    "Re-export the image with data in that band.")
        if r.kind == "forest_type":
            _check_forest_codes(ctx, src, shown, what)
        for label, idx in wanted:
            n_inf = _count_infinite(src, idx)
            if n_inf:
                where = f"band '{label}'" if r.kind == "image" else "(file)"
                ctx.add(shown, where, f"the {what} has {n_inf} pixel(s) of value +inf or -inf"
                        + (f" in band '{label}'" if r.kind == "image" else "") + "; they are not nodata "
                        "and would enter the computation as numbers", "Set them to the nodata value (e.g. "
                        "'gdal_calc.py ... --calc \"where(isinf(A), -9999, A)\" --NoDataValue=-9999') or "
                        "fix the export.", "warning", "non-finite")
    _check_values(ctx, r, shown, what, samples)


def _count_infinite(src: Any, idx: int) -> int:
    """Number of +inf/-inf pixels of a floating-point band (0 for integer bands), read in row blocks."""
    from rasterio.windows import Window

    if not np.issubdtype(np.dtype(src.dtypes[idx - 1]), np.floating):
        return 0
    h, w = src.height, src.width
    rows = max(1, 4_000_000 // max(w, 1))
    n = 0
    for r0 in range(0, h, rows):
        block = src.read(idx, window=Window(0, r0, w, min(rows, h - r0)))
        n += int(np.isinf(block).sum())
    return n


def _image_bands(ctx: _Context, r: _Raster, shown: str, what: str) -> list[tuple[str, int]]:
    """The bands of a year's image that the features need, found as the features stage finds them.

    Each needed band (:func:`minecarbon.features.required_bands` of
    ``[features]``) is looked up with :func:`minecarbon.features.find_bands`
    (``[images].bands``, band descriptions, the sensor's band ids) on the
    image's band descriptions; each one missing is a problem naming the
    feature that needs it.  Returns (common name, 1-based index) of the
    bands found.
    """
    import xarray as xr

    from .errors import InputError
    from .features import find_bands

    need = ctx.need_bands
    if not need:
        return []
    cfg = ctx.cfg
    names = [d or f"band_{i + 1}" for i, d in enumerate(r.descriptions)]  # as io.open_raster names them
    probe = xr.DataArray(np.arange(1, len(names) + 1).reshape(-1, 1, 1), dims=("band", "y", "x"),
                         coords={"band": names})
    present = ", ".join(names)
    wanted: list[tuple[str, int]] = []
    for common, why in need.items():
        try:
            found = find_bands(probe, [common], cfg.images.sensor, cfg.images.bands, what=what, why=need)
        except InputError:
            pass
        else:
            wanted.append((common, int(found[common].item())))
            continue
        spec = str(cfg.images.bands.get(common, "")).strip()
        if spec.isdigit() and spec not in names:
            ctx.add(shown, f"band {spec}", f"the {what} has {r.count} band(s), so band index {spec} "
                    f"([images].bands.{common}, needed by {why}) does not exist", f"Correct "
                    f"[images].bands.{common} (bands present: {present}).")
            continue
        sensor = get_sensor(cfg.images.sensor) if cfg.images.sensor else None
        if sensor is not None and sensor.band(common) is None:
            fix = (f"The sensor {sensor.name} ([images].sensor) has no {common} band: remove {why} from "
                   f"[features], or map {common} to a band of the file in [images].bands.")
        elif spec and spec != common:
            fix = (f"Set the band description in the file or map {common} to one of the bands present in "
                   f"[images].bands.")
        else:
            fix = (f"Name the band '{common}' in the file's band descriptions or map it in [images].bands "
                   f"({common} = \"<band description or 1-based index>\")"
                   + ("" if sensor else ", or set [images].sensor so that its band ids (SR_B4, B04, ...) are "
                      "recognised") + ".")
        if not any(r.descriptions):
            fix += " The bands have no descriptions: map them by 1-based index, e.g. nir = \"4\"."
        label = spec or common
        role = f"the {common} band, " if label != common else ""
        ctx.add(shown, f"band '{label}'", f"the {what} has no band '{label}' ({role}needed by {why}); bands "
                f"present: {present}", fix)
    return wanted


def _valid_mask(arr: np.ndarray, nodata: float | None) -> np.ndarray:
    ok = np.ones(arr.shape, dtype=bool)
    if np.issubdtype(arr.dtype, np.floating):
        ok &= np.isfinite(arr)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        ok &= arr != nodata
    return ok


def _valid_sample(src: Any, idx: int, nodata: float | None) -> np.ndarray:
    """Valid pixel values of a band.

    Small rasters are read whole.  Large ones are sampled with a grid of small
    windows (touching few blocks, so a 5000 x 5000 image costs little); only
    when the sample holds no valid pixel is the band scanned completely, so
    that "all nodata" is never claimed from a sample.
    """
    from rasterio.windows import Window

    h, w = src.height, src.width
    if h * w <= _SAMPLE_PX * _SAMPLE_PX:
        arr = src.read(idx)
        return arr[_valid_mask(arr, nodata)]
    n, size = 16, 64
    parts = []
    for r0 in np.linspace(0, max(h - size, 0), n).astype(int):
        for c0 in np.linspace(0, max(w - size, 0), n).astype(int):
            block = src.read(idx, window=Window(int(c0), int(r0), min(size, w), min(size, h)))
            parts.append(block[_valid_mask(block, nodata)])
    vals = np.concatenate(parts)
    if vals.size:
        return vals
    rows = max(1, 4_000_000 // max(w, 1))
    for r0 in range(0, h, rows):
        block = src.read(idx, window=Window(0, r0, w, min(rows, h - r0)))
        vals = block[_valid_mask(block, nodata)]
        if vals.size:
            return vals[:100_000]
    return vals


def _check_forest_codes(ctx: _Context, src: Any, shown: str, what: str) -> None:
    from rasterio.windows import Window

    codes = ctx.cfg.forest_type_codes.model_dump()
    allowed = set(codes.values())
    nodata = src.nodatavals[0]
    h, w = src.height, src.width
    rows = max(1, 4_000_000 // max(w, 1))
    found: set[float] = set()
    for r0 in range(0, h, rows):
        block = src.read(1, window=Window(0, r0, w, min(rows, h - r0)))
        found.update(np.unique(block[_valid_mask(block, nodata)]).tolist())
        if len(found) > 1000:
            break
    unknown = sorted(v for v in found if v not in allowed)
    if unknown:
        legend = ", ".join(f"{v} {k}" for k, v in codes.items())
        ctx.add(shown, "(file)", f"the {what} has value(s) {_values(unknown, 8)} that are not forest-type "
                f"codes ({legend}) nor its nodata ({_fmt(nodata) if nodata is not None else 'none set'})",
                "Recode the map to these codes, set its nodata value, or give your codes in "
                "[forest_type_codes].")


def _check_values(ctx: _Context, r: _Raster, shown: str, what: str, samples: dict[str, np.ndarray]) -> None:
    """Warn about values in unexpected units (a wrong scale is the commonest silent error)."""
    vals = next((v for v in samples.values() if v.size), None)
    if vals is None:
        return
    med = float(np.median(vals.astype(float)))
    if r.kind == "image":
        label = next(k for k, v in samples.items() if v.size)
        refl = med * ctx.cfg.images.scale + ctx.cfg.images.offset
        if not -0.1 <= refl <= 1.2:
            ctx.add(shown, f"band '{label}'", f"the {what} gives a median reflectance of {refl:.3g} in band "
                    f"'{label}' with scale {ctx.cfg.images.scale:g} and offset {ctx.cfg.images.offset:g} "
                    f"(median value {med:.4g}); reflectance should be about 0-1",
                    "Set [images].scale and [images].offset for your product (already-scaled "
                    "reflectance: scale = 1, offset = 0).", "warning", "reflectance-scale")
    elif r.kind == "temperature" and not -40 <= med <= 40:
        ctx.add(shown, "(file)", f"the {what} has a median of {med:.4g}; mean annual temperature in deg C "
                "is expected (about -40 to 40)", "Convert it to deg C (Kelvin: subtract 273.15; "
                "tenths of a degree: divide by 10).", "warning", "climate-units")
    elif r.kind == "precipitation" and not 20 <= med <= 10000:
        ctx.add(shown, "(file)", f"the {what} has a median of {med:.4g}; annual precipitation in mm is "
                "expected (about 20-10000)", "Convert it to mm per year (metres: multiply by 1000; "
                "mm/day: multiply by 365).", "warning", "climate-units")
    elif r.kind == "dem" and (float(np.min(vals)) < -500 or float(np.max(vals)) > 9000):
        ctx.add(shown, "(file)", f"the DEM has values from {float(np.min(vals)):.4g} to "
                f"{float(np.max(vals)):.4g}; elevation in metres is expected", "Convert it to metres or "
                "set its nodata value.", "warning", "dem-values")


# ---------------------------------------------------------------------------
# 4. vector layers
# ---------------------------------------------------------------------------
def _read_layer(ctx: _Context, path: Path, what: str, key: str) -> Any:
    """Open a vector layer read-only; None (with a problem) when it cannot be opened."""
    import geopandas as gpd

    shown = ctx.show(path)
    try:
        import pyogrio

        layers = pyogrio.list_layers(path)
    except Exception:  # noqa: BLE001
        layers = None
    try:
        gdf = gpd.read_file(path, engine="pyogrio", fid_as_index=True)
    except Exception as exc:  # noqa: BLE001
        ctx.add(shown, "(file)", f"the {what} ({key}) cannot be opened as a vector layer "
                f"({_one_line(str(exc))[:200]})", "Save it as a GeoPackage (.gpkg) or a complete "
                "Shapefile (.shp with .shx, .dbf and .prj).")
        return None
    if layers is not None and len(layers) > 1:
        counts = _layer_counts(path, [str(name) for name, _ in layers])
        others = [n for n, c in counts.items() if c and n != str(layers[0][0])]
        if counts.get(str(layers[0][0])) == 0 and others:
            ctx.add(shown, "(file)", f"the {what} has {len(layers)} layers; the first ({layers[0][0]!r}), which "
                    f"is the one used, is empty while {', '.join(map(repr, others[:3]))} has features",
                    "Keep one layer in the file (delete the empty one, e.g. in QGIS: Browser > right-click "
                    "the layer > Delete Layer).", "warning", "empty-first-layer")
        else:
            ctx.add(shown, "(file)", f"the {what} has {len(layers)} layers; the first ({layers[0][0]!r}) is "
                    f"used", "Keep one layer in the file.", "warning")
    gdf.columns = [str(c).strip() if c != gdf.geometry.name else c for c in gdf.columns]
    return gdf


def _layer_counts(path: Path, names: list[str]) -> dict[str, int | None]:
    """Feature count of each layer of a file (None where the driver cannot tell)."""
    import pyogrio

    out: dict[str, int | None] = {}
    for name in names:
        try:
            n = pyogrio.read_info(path, layer=name).get("features")
            out[name] = None if n is None or n < 0 else int(n)
        except Exception:  # noqa: BLE001
            out[name] = None
    return out


def _fid_where(gdf: Any, mask: Any, col: str | None = None) -> str:
    return _listing([int(i) if str(i).lstrip("-").isdigit() else i for i in gdf.index[np.asarray(mask)]],
                    "fid", col, noun="attribute")


def _check_layer_crs(ctx: _Context, gdf: Any, shown: str, what: str, require_projected: bool) -> bool:
    """CRS of a layer: present, plausible, projected where needed; False when there is none."""
    crs = gdf.crs
    if crs is None:
        ctx.add(shown, "(file)", f"the {what} has no CRS", "Set it in QGIS (Layer > Set CRS) or with "
                "'ogr2ogr -a_srs EPSG:XXXX' - the CRS its coordinates are really in.")
        return False
    if not crs.is_projected:
        geoms = gdf.geometry
        ok = ~(geoms.isna() | geoms.is_empty)
        if bool(ok.any()):
            x0, y0, x1, y1 = geoms[ok].total_bounds
            if min(x0, x1) < -360 or max(x0, x1) > 360 or min(y0, y1) < -90 or max(y0, y1) > 90:
                ctx.add(shown, "(file)", f"the {what} says it is in {_crs_name(crs)} (degrees), but its "
                        f"coordinates ({x0:.0f}, {y0:.0f} .. {x1:.0f}, {y1:.0f}) are not longitudes and "
                        f"latitudes: its CRS (.prj) is wrong", "Assign the CRS its coordinates are really in "
                        "(QGIS: Layer > Set CRS; or 'ogr2ogr -a_srs EPSG:XXXX'), probably the project's.")
                return False
        if require_projected:
            ctx.add(shown, "(file)", f"the {what} is in a geographic CRS ({_crs_name(crs)}, degrees); "
                    f"the buffer and areas need metres", "Reproject it to a projected CRS in metres (e.g. "
                    "UTM: 'ogr2ogr -t_srs EPSG:32649 out.gpkg in.gpkg').")
            return True
    if ctx.target_crs is not None and not _same_crs(crs, ctx.target_crs):
        ctx.add(shown, "(file)", f"the {what} is in {_crs_name(crs)}, not {ctx.target_from}; it will be "
                f"reprojected", f"Nothing, if that is intended; or deliver it in "
                f"{_crs_name(ctx.target_crs)}.", "warning")
    return True


_POLY = ("Polygon", "MultiPolygon")


@dataclass
class _Layer:
    """A polygon layer opened by :func:`_polygon_layer`."""

    gdf: Any
    shown: str
    empty: Any  # boolean Series: features without geometry
    has_crs: bool

    @property
    def attrs(self) -> list[str]:
        return [c for c in self.gdf.columns if c != self.gdf.geometry.name]

    @property
    def usable(self) -> bool:
        """True when some feature has a geometry."""
        return len(self.gdf) > 0 and not bool(self.empty.all())


def _polygon_layer(ctx: _Context, path: Path, what: str, key: str, *, no_features: tuple[str, Severity],
                   require_projected: bool = False, draw: str = "Delete them or draw their geometry.",
                   polygon_fix: str = "Save the features as polygons.") -> _Layer | None:
    """Open a polygon layer and run the checks every layer shares.

    Reported: cannot be opened, CRS (missing, implausible, geographic where
    ``require_projected``, another than the project's), no features (with the
    fix and severity ``no_features``), features without geometry (warning) and
    non-polygon features (error).  Returns None when the layer cannot be
    opened.
    """
    shown = ctx.show(path)
    gdf = _read_layer(ctx, path, what, key)
    if gdf is None:
        return None
    has_crs = _check_layer_crs(ctx, gdf, shown, what, require_projected)
    geoms = gdf.geometry
    empty = geoms.isna() | geoms.is_empty
    layer = _Layer(gdf, shown, empty, has_crs)
    if not layer.usable:
        fix, severity = no_features
        ctx.add(shown, "(file)", f"the {what} has no features (or only empty geometries)", fix, severity)
        return layer
    if bool(empty.any()):
        ctx.add(shown, _fid_where(gdf, empty), f"feature(s) of the {what} without geometry", draw, "warning")
    not_poly = ~empty & ~geoms.geom_type.isin(_POLY)
    if bool(not_poly.any()):
        kinds = sorted(set(geoms[not_poly].geom_type))
        ctx.add(shown, _fid_where(gdf, not_poly), f"the {what} must hold polygons, but has "
                f"{', '.join(kinds)} geometries", polygon_fix)
    return layer


def _check_in_area(ctx: _Context, layer: _Layer, what: str) -> None:
    """Error when no feature of the layer lies in the monitoring area (a wrong file or CRS)."""
    if ctx.area is None or not layer.has_crs or not layer.usable:
        return
    try:
        b = _transform_bounds(tuple(layer.gdf.geometry[~layer.empty].total_bounds), layer.gdf.crs, ctx.area_crs)
    except Exception:  # noqa: BLE001
        return
    from shapely.geometry import box

    if not box(*b).intersects(ctx.area):
        ctx.add(layer.shown, "(file)", f"no feature of the {what} lies in the monitoring area",
                "Check that it is the right file and that its CRS is assigned correctly.")


def _check_boundary(ctx: _Context) -> None:
    cfg = ctx.cfg
    path = cfg.path(cfg.area.boundary)
    assert path is not None
    if not path.exists():
        return  # reported by _check_files_exist
    layer = _polygon_layer(ctx, path, "boundary layer ([area].boundary)", "[area].boundary",
                           no_features=("Draw the mining-right boundary (采矿权范围) as a polygon in this layer.",
                                        "error"), require_projected=True,
                           polygon_fix="Save the boundary as a polygon layer (in QGIS: Vector > Geometry Tools "
                                       "> Lines to Polygons).")
    if layer is None or not layer.usable:
        return
    gdf, geoms = layer.gdf, layer.gdf.geometry
    poly = ~layer.empty & geoms.geom_type.isin(_POLY)
    invalid = poly & ~geoms.is_valid
    if bool(invalid.any()):
        ctx.add(layer.shown, _fid_where(gdf, invalid), "invalid polygon geometry (self-intersection or similar)",
                "Repair it (QGIS: Processing > Fix geometries).", "warning", "invalid-geometry")
    if not layer.has_crs or not bool(poly.any()):
        return
    crs = gdf.crs
    if crs.is_projected:
        area_crs = crs
    elif ctx.target_crs is not None:
        area_crs = ctx.target_crs
    else:
        return
    shapes = gdf.loc[np.asarray(poly)]
    if not _same_crs(crs, area_crs):
        shapes = shapes.to_crs(area_crs)
    geom = shapes.geometry.buffer(0).union_all()
    ctx.area = geom.buffer(cfg.area.buffer_m)
    ctx.area_crs = area_crs


_LAYERS = {
    "disturbance": (("year", "damage_type"), "year", True),
    "planned": (("planned_year", "damage_type"), "planned_year", False),
    "reclamation": (("year", "species"), "year", True),
}


def _check_layers(ctx: _Context) -> None:
    for name in _LAYERS:
        value = getattr(ctx.cfg.inputs, name)
        if value is None:
            continue
        path = ctx.cfg.path(value)
        if path is None or not path.exists():
            continue
        ctx.guard(ctx.show(path), "(file)", _check_layer, ctx, name, path)


def _require_attrs(ctx: _Context, layer: _Layer, what: str, required: Sequence[str]) -> list[str]:
    """Report the required attributes a layer lacks; returns them."""
    attrs = layer.attrs
    missing = [c for c in required if c not in attrs]
    for col in missing:
        near = [c for c in attrs if c.lower() == col.lower()]
        ctx.add(layer.shown, f"attribute {col}", f"the {what} lacks the required attribute {col!r} "
                f"(attributes: {', '.join(attrs) or 'none'})",
                f"Rename {near[0]!r} to {col!r}." if near else f"Add the attribute {col!r}.")
    return missing


def _check_layer(ctx: _Context, name: str, path: Path) -> None:
    required, year_col, in_period = _LAYERS[name]
    key = f"[inputs].{name}"
    what = f"{name} layer"
    layer = _polygon_layer(ctx, path, f"{what} ({key})", key,
                           no_features=(f"Add the features, or remove {key} from the project file if none.",
                                        "warning"), polygon_fix="Save the patches as polygons.")
    if layer is None:
        return
    missing = _require_attrs(ctx, layer, what, required)
    if not layer.usable:
        return
    gdf, shown = layer.gdf, layer.shown
    if "damage_type" in required and "damage_type" not in missing:
        raw = gdf["damage_type"]
        text = raw.astype(str).str.strip()
        text = text.where(raw.notna(), "")
        ok = text.str.lower().isin(list(DAMAGE_TYPE_ALIASES)) | text.isin(list(DAMAGE_TYPE_ALIASES))
        bad = ~ok
        if bool(bad.any()):
            vals = list(dict.fromkeys(text[bad]))
            ctx.add(shown, _fid_where(gdf, bad, "damage_type"), f"damage_type {_values(vals)} is not one "
                    f"of {', '.join(DAMAGE_TYPES)} (or 挖损, 塌陷, 压占)",
                    "Set damage_type of these features to excavation (挖损), subsidence (塌陷) or "
                    "occupation (压占).")
    if year_col not in missing:
        num, missing_year, badnum = _numeric(gdf[year_col].astype(object).where(gdf[year_col].notna(), ""))
        if bool(missing_year.any()):
            ctx.add(shown, _fid_where(gdf, missing_year, year_col), f"{year_col} is empty",
                    f"Fill in {year_col} (4-digit year) for these features.")
        nonint = ~missing_year & (badnum | ~num.map(lambda v: _is_int(v) if pd.notna(v) else True))
        if bool(nonint.any()):
            ctx.add(shown, _fid_where(gdf, nonint, year_col), f"{year_col} {_values(gdf[year_col][nonint])} "
                    f"is not a whole year", f"Give {year_col} as a 4-digit year, e.g. 2015.")
        if name == "disturbance" and bool(num.notna().any()):
            ctx.first_disturbance_year = int(num.dropna().min())
        if in_period:
            y0, y1 = ctx.cfg.project.start_year, ctx.cfg.project.end_year
            out = num.notna() & ~nonint & ((num < y0) | (num > y1))
            if bool(out.any()):
                ctx.add(shown, _fid_where(gdf, out, year_col), f"{year_col} "
                        f"{_values(sorted(set(num[out].astype(int))))} is outside the monitoring period "
                        f"{y0}-{y1}", f"Correct the year, or drop these features if they fall outside "
                        f"{y0}-{y1}.")
    if name == "reclamation" and "species" not in missing:
        sp = gdf["species"]
        blank = sp.isna() | (sp.astype(str).str.strip() == "")
        if bool(blank.any()):
            ctx.add(shown, _fid_where(gdf, blank, "species"), "species is empty", "Fill in the planted "
                    "species (Chinese or Latin name).", "warning")
    _check_in_area(ctx, layer, what)



# ---------------------------------------------------------------------------
# 5. inputs of later stages: canopy rasters, zones, covariates, restoration plan
# ---------------------------------------------------------------------------
def _check_feature_rasters(ctx: _Context) -> None:
    """Canopy rasters whose band names collide, and a DEM with several bands (the features stage fails)."""
    cfg = ctx.cfg
    seen: dict[str, Path] = {}
    for r in ctx.rasters:
        if r.kind == "dem" and r.ok and r.count > 1 and cfg.features.terrain:
            ctx.add(ctx.show(r.path), "(file)", f"the DEM has {r.count} bands; the terrain features "
                    f"({', '.join(cfg.features.terrain)}) need one band of elevations (m)",
                    "Point [inputs].dem at a single-band elevation raster (e.g. 'gdal_translate -b 1').")
        if r.kind != "canopy" or not r.ok:
            continue
        for i, d in enumerate(r.descriptions):
            name = d or f"band_{i + 1}"
            other = seen.get(name)
            if other is None:
                seen[name] = r.path
                continue
            in_what = "another band of this file" if other == r.path else f"a band of {ctx.show(other)}"
            ctx.add(ctx.show(r.path), f"band {i + 1} ('{name}')", f"canopy band name {name!r} is also "
                    f"{in_what}; every canopy band becomes a feature named after its description, so names "
                    f"must be unique across [features].canopy" + ("" if d else " (the band has no description)"),
                    "Give the bands distinct descriptions (e.g. 'chm_mean_m', 'cover_pct') when writing the "
                    "rasters.")


def _check_zones(ctx: _Context) -> None:
    a = ctx.cfg.assess
    path = ctx.cfg.path(a.zones)
    if path is None or not path.exists():
        return  # not set, or reported by _check_files_exist
    what = "zone layer ([assess].zones)"
    layer = _polygon_layer(ctx, path, what, "[assess].zones",
                           no_features=("Draw the zones, or remove [assess].zones.", "error"))
    if layer is None:
        return
    if a.zones_field and a.zones_field not in layer.attrs:
        near = [c for c in layer.attrs if c.lower() == a.zones_field.lower()]
        ctx.add(layer.shown, f"attribute {a.zones_field}", f"the zone layer has no attribute {a.zones_field!r} "
                f"([assess].zones_field); attributes: {', '.join(layer.attrs) or 'none'}",
                f"Set [assess].zones_field = {near[0]!r}." if near else "Set [assess].zones_field to one of its "
                "attributes, or remove it for one zone per polygon.")
    elif a.zones_field and layer.usable:
        vals = layer.gdf[a.zones_field]
        blank = vals.isna() | (vals.astype(str).str.strip() == "")
        if bool(blank.any()):
            ctx.add(layer.shown, _fid_where(layer.gdf, blank, a.zones_field), f"{a.zones_field} is empty, so "
                    f"these polygons belong to no named zone", f"Fill in {a.zones_field}.", "warning")
    _check_in_area(ctx, layer, "zone layer")


def _check_plan_restoration(ctx: _Context) -> None:
    path = ctx.cfg.path(ctx.cfg.plots.plan_restoration)
    if path is None or not path.exists():
        return
    layer = _polygon_layer(ctx, path, "planned restoration layer ([plots].plan_restoration)",
                           "[plots].plan_restoration",
                           no_features=("Draw the planned restoration land, or remove [plots].plan_restoration.",
                                        "warning"))
    if layer is not None:
        _check_in_area(ctx, layer, "planned restoration layer")


def _check_covariates(ctx: _Context) -> None:
    pf, a = ctx.project_file, ctx.cfg.assess
    if not (a.cumulative_covariates or a.cumulative_start_year or a.cumulative_end_year):
        return
    from .pipeline.stages.assess import cumulative_years

    _, years, why = cumulative_years(ctx.cfg, ctx.cfg.project.mining_start_year or ctx.first_disturbance_year)
    if why is not None:
        key = "[assess].cumulative_covariates" if a.cumulative_covariates else "[assess]"
        ctx.add(pf, key, f"the cumulative effect will not be computed ({why}), so the cumulative-effect "
                f"settings are not used", "Set [project].mining_start_year (leaving at least 2 pre-mining "
                "years in the monitoring period) or give a disturbance layer with years; or remove the "
                "settings.", "warning")
        return
    for name, pattern in a.cumulative_covariates.items():
        key = f"[assess].cumulative_covariates.{name}"
        if "{year}" not in pattern and len(years) > 1:
            ctx.add(pf, key, f"the path {pattern!r} has no {{year}}; the same grid will be used for every year "
                    f"(a constant covariate is collinear with the intercept)", "Use one grid per year, e.g. "
                    f"'climate/{name}_{{year}}.tif'.", "warning")
        need = f"each year the cumulative effect reads, {_years_text(years)} (pre-mining years and period)"
        for y, p in _year_files(ctx, key, pattern, years, need):
            r = _Raster("covariate", key, y, p, label=name)
            ctx.guard(ctx.show(p), "(file)", _open_one_raster, ctx, r)
            if r.ok:
                ctx.guard(ctx.show(p), "(file)", _check_one_raster, ctx, r)


# ---------------------------------------------------------------------------
# 6. tables
# ---------------------------------------------------------------------------
def _read_sheet(ctx: _Context, path: Path, what: str, key: str) -> tuple[pd.DataFrame, str] | None:
    """Read a CSV / XLSX / Parquet as text, keeping the file's row positions in the index."""
    shown = ctx.show(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xls"):
            from .io.table import excel_sheet

            df = pd.read_excel(path, sheet_name=excel_sheet(path, f"the {what} ({key})"), dtype=str,
                               keep_default_na=False)
            word = "row"
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
            df = df.astype(object).where(df.notna(), "").astype(str)
            word = "row"
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                             skip_blank_lines=False)
            word = "line"
    except MinecarbonError as exc:
        ctx.add(shown, "(file)", str(exc).split(". ", 1)[0].replace(f" {path}", ""),
                "Keep the table on one sheet (delete or move the others), or save that sheet as a UTF-8 CSV.")
        return None
    except UnicodeDecodeError:
        ctx.add(shown, "(file)", f"the {what} ({key}) is not UTF-8 text (perhaps GBK from Excel)",
                "Save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8).")
        return None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad input
        ctx.add(shown, "(file)", f"the {what} ({key}) cannot be read as a table "
                f"({type(exc).__name__}: {_one_line(str(exc))[:200]})",
                "Save it as a UTF-8 CSV with one header row.")
        return None
    df = df.fillna("").astype(str)
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip()) if len(df.columns) else df
    if len(df):
        df = df.loc[~(df == "").all(axis=1)]  # blank lines; the index keeps file positions
    return df, word


def _require_columns(ctx: _Context, df: pd.DataFrame, shown: str, what: str,
                     required: Sequence[str]) -> list[str]:
    present = list(df.columns)
    missing = [c for c in required if c not in present]
    for col in missing:
        near = [c for c in present if c.lower().replace(" ", "_") == col]
        ctx.add(shown, f"column {col}", f"the {what} lacks the required column {col!r} (columns: "
                f"{', '.join(present) or 'none'})",
                f"Rename {near[0]!r} to {col!r}." if near else f"Add a column {col!r} (header in line 1).")
    return missing


def _check_plots(ctx: _Context) -> None:
    cfg = ctx.cfg
    path = cfg.path(cfg.inputs.plots)
    assert path is not None
    if not path.is_file():
        return
    shown, what = ctx.show(path), "plot sheet"
    got = _read_sheet(ctx, path, what, "[inputs].plots")
    if got is None:
        return
    df, word = got
    missing = _require_columns(ctx, df, shown, what, PLOT_COLUMNS)
    if len(df) == 0:
        ctx.add(shown, "(file)", "the plot sheet has no rows", "Add one row per surveyed plot.")
        return
    if "plot_id" not in missing:
        ids = df["plot_id"]
        blank = ids == ""
        if bool(blank.any()):
            ctx.add(shown, _rows(df.index[blank], word, "plot_id"), "plot_id is empty",
                    "Give every plot an identifier.")
        dup = ids[~blank & ids.duplicated(keep=False)]
        for pid, grp in dup.groupby(dup, sort=False):
            ctx.add(shown, _rows(grp.index, word, "plot_id"), f"plot_id {pid!r} appears {len(grp)} times",
                    "Give each plot a unique plot_id (or delete the repeated rows).")
        ctx.plot_ids = set(ids[~blank])
    if "survey_year" not in missing:
        num, miss, bad = _numeric(df["survey_year"])
        _report_missing_bad(ctx, df, shown, word, "survey_year", miss, bad, "a 4-digit year")
        y0, y1 = cfg.project.start_year, cfg.project.end_year
        out = num.notna() & ((num < y0) | (num > y1))
        if bool(out.any()):
            ctx.add(shown, _rows(df.index[out], word, "survey_year"), f"survey_year "
                    f"{_values(sorted(set(num[out])))} is outside the monitoring period {y0}-{y1}",
                    "Correct the year, or widen [project].start_year/end_year if the survey belongs "
                    "to the project.")
    if "size_m" not in missing:
        num, miss, bad = _numeric(df["size_m"])
        _report_missing_bad(ctx, df, shown, word, "size_m", miss, bad, "the plot size in metres")
        nonpos = num.notna() & (num <= 0)
        if bool(nonpos.any()):
            ctx.add(shown, _rows(df.index[nonpos], word, "size_m"), f"size_m {_values(num[nonpos])} is not "
                    f"positive", "Give the plot size in metres (> 0).")
    if "slope_deg" in df.columns:
        num, miss, bad = _numeric(df["slope_deg"])
        out = bad | (num.notna() & ((num < 0) | (num >= 90)))
        if bool(out.any()):
            ctx.add(shown, _rows(df.index[out], word, "slope_deg"), f"slope_deg "
                    f"{_values(df['slope_deg'][out])} is not a slope in degrees (0-90)",
                    "Give the slope in degrees (not percent), or leave it empty.")
    if "x" not in missing and "y" not in missing:
        x, xm, xb = _numeric(df["x"])
        y, ym, yb = _numeric(df["y"])
        _report_missing_bad(ctx, df, shown, word, "x", xm, xb, "a projected coordinate in metres")
        _report_missing_bad(ctx, df, shown, word, "y", ym, yb, "a projected coordinate in metres")
        ok = x.notna() & y.notna()
        deg = ok & (x.abs() <= 180) & (y.abs() <= 90)
        if bool(deg.any()):
            ctx.add(shown, _rows(df.index[deg], word, "x, y"), "x/y look like longitude/latitude in "
                    "degrees", "Give the plot centres in the project's projected CRS (metres), e.g. "
                    "convert them in QGIS.")
        ok &= ~deg
        ctx.plot_xy = np.column_stack([x[ok].to_numpy(float), y[ok].to_numpy(float)])
        if bool(ok.any()) and ctx.area is not None:
            _plots_outside(ctx, df, shown, word, x, y, ok)
    if "forest_type" in df.columns:
        _check_plot_forest_types(ctx, df, shown, word)


def _check_plot_forest_types(ctx: _Context, df: pd.DataFrame, shown: str, word: str) -> None:
    """The optional forest_type column: codes of [forest_type_codes] (the model stage reads them as numbers)."""
    codes = ctx.cfg.forest_type_codes.model_dump()
    num, _, bad = _numeric(df["forest_type"])
    unknown = bad | (num.notna() & ~num.isin([float(v) for v in codes.values()]))
    if bool(unknown.any()):
        legend = ", ".join(f"{v} {k}" for k, v in codes.items())
        ctx.add(shown, _rows(df.index[unknown], word, "forest_type"), f"forest_type "
                f"{_values(list(dict.fromkeys(df['forest_type'][unknown])))} is not a code of "
                f"[forest_type_codes] ({legend}); the model would treat it as a type of its own, or ignore it "
                f"if it is not a number", "Give the code of the forest type (or leave it empty to take the "
                "forest-type map's), or add the code to [forest_type_codes].")


# ---------------------------------------------------------------------------
# model: the plot sheet against the cross-validation settings
# ---------------------------------------------------------------------------
def _check_model_plots(ctx: _Context) -> None:
    """What the model stage would fail on: too few plots, or too few spatial groups, for the CV."""
    from .model.cv import MIN_SAMPLES, spatial_groups

    m, cfg = ctx.cfg.model, ctx.cfg
    if ctx.plot_ids is None:
        return
    shown = ctx.show(cfg.path(cfg.inputs.plots))
    n = len(ctx.plot_ids)
    need = max(m.cv_folds, MIN_SAMPLES)
    if 0 < n < need:
        ctx.add(shown, "(file)", f"the plot sheet has {n} plot(s); the AGC model needs at least {need} "
                f"({m.cv_folds}-fold cross-validation, [model].cv_folds, and at least {MIN_SAMPLES} plots in any "
                f"case)", "Survey more plots" + (" or lower [model].cv_folds" if m.cv_folds > MIN_SAMPLES else "")
                + " (plots without usable features are dropped too, so keep a margin).")
        return
    xy = ctx.plot_xy
    if m.cv_scheme != "spatial" or xy is None or len(xy) < 2:
        return
    k = int(np.unique(spatial_groups(xy[:, 0], xy[:, 1], m.cv_block_m, m.cv_link_m)).size)
    blocks = (f"blocks of [model].cv_block_m = {m.cv_block_m:g} m, plots closer than cv_link_m = "
              f"{m.cv_link_m:g} m joined")
    fix = ("Use smaller blocks ([model].cv_block_m) or a smaller cv_link_m, or cv_scheme = 'random' (optimistic "
           "where plots are spatially autocorrelated).")
    if k < 2:
        ctx.add(ctx.project_file, "[model].cv_block_m", f"all {len(xy)} plots of {shown} fall in one spatial "
                f"cross-validation group ({blocks}), so the cross-validation cannot split them", fix)
    elif k < m.cv_folds:
        ctx.add(ctx.project_file, "[model].cv_folds", f"the {len(xy)} plots of {shown} fall in only {k} spatial "
                f"cross-validation groups ({blocks}), fewer than cv_folds = {m.cv_folds}: the CV will use {k} "
                f"folds", fix + f" Or set cv_folds = {k} so that the model card says what is done.", "warning")


def _report_missing_bad(ctx: _Context, df: pd.DataFrame, shown: str, word: str, col: str,
                        missing: pd.Series, bad: pd.Series, expect: str) -> None:
    if bool(missing.any()):
        ctx.add(shown, _rows(df.index[missing], word, col), f"{col} is empty",
                f"Fill in {col} ({expect}).")
    if bool(bad.any()):
        ctx.add(shown, _rows(df.index[bad], word, col), f"{col} {_values(df[col][bad])} is not a number",
                f"Give {col} as a number ({expect}; '.' as decimal point, no units).")


def _plots_outside(ctx: _Context, df: pd.DataFrame, shown: str, word: str, x: pd.Series, y: pd.Series,
                   ok: pd.Series) -> None:
    import shapely

    xs, ys = x[ok].to_numpy(float), y[ok].to_numpy(float)
    plots_crs = ctx.target_crs or ctx.area_crs
    if not _same_crs(plots_crs, ctx.area_crs):
        from pyproj import Transformer

        xs, ys = Transformer.from_crs(plots_crs, ctx.area_crs, always_xy=True).transform(xs, ys)
    inside = shapely.contains_xy(ctx.area, np.asarray(xs), np.asarray(ys))
    idx = df.index[ok][~inside]
    if len(idx):
        ids = list(df.loc[idx, "plot_id"]) if "plot_id" in df.columns else []
        ctx.add(shown, _rows(idx, word, "x, y"), f"plot(s) {_values(ids, 8)} lie outside the monitoring "
                f"area (boundary + {ctx.cfg.area.buffer_m:g} m buffer, coordinates read in "
                f"{_crs_name(plots_crs)})", "Check the coordinates (swapped x/y, another CRS or a typo); "
                "plots outside the area are not used.", "warning")


def _load_allometry(ctx: _Context) -> None:
    from .allometry import AllometryTable

    cfg, pf = ctx.cfg, ctx.project_file
    src = cfg.plots.allometry
    path = cfg.path(src) if src else None
    if path is not None and not path.is_file():
        return  # reported by _check_files_exist
    try:
        base = AllometryTable.from_csv(path) if path is not None else AllometryTable.default()
    except Exception as exc:  # noqa: BLE001
        ctx.add(ctx.show(path) if path else pf, "(file)" if path else "[plots].allometry",
                f"the allometry table cannot be used: {_one_line(str(exc))}",
                "Fix the table (format in docs/design.md, 'Allometry table format').")
        return
    overrides: dict[str, tuple[float, str]] = {}
    for group, cf in cfg.plots.carbon_fractions.items():
        where = f"[plots.carbon_fractions.{group}]"
        if group in base.groups:
            overrides[group] = (cf.value, cf.source)
            continue
        try:
            real = base.resolve(group)
        except UnknownSpeciesError as exc:
            ctx.add(pf, where, f"{group!r} is not a species group of the allometry table ({base.name})",
                    _species_fix(str(exc), group, base.name) or "Use a species_group name of the table.")
            continue
        ctx.add(pf, where, f"{group!r} is another name of the species group {real!r}; carbon fractions are "
                f"keyed by the group name, so this value would be ignored",
                f"Rename the table to [plots.carbon_fractions.{real}].")
    ctx.table = AllometryTable(base.frame, name=base.name, carbon_fractions=overrides) if overrides else base


def _species_fix(message: str, name: str, table: str) -> str:
    prefix = f"Species {name!r} is not in the allometry table ({table})."
    return message[len(prefix):].strip() if message.startswith(prefix) else ""


def _check_trees(ctx: _Context) -> None:
    path = ctx.cfg.path(ctx.cfg.inputs.trees)
    assert path is not None
    if path.is_file():
        _check_tree_sheet(ctx, path, "tree tally", "[inputs].trees", check_plots=True)


def _check_tally(ctx: _Context) -> None:
    path = ctx.cfg.path(ctx.cfg.inputs.tally)
    if path is not None and path.is_file():
        _check_tree_sheet(ctx, path, "tape tally", "[inputs].tally", check_plots=False)


def _check_tree_sheet(ctx: _Context, path: Path, what: str, key: str, check_plots: bool) -> None:
    shown = ctx.show(path)
    got = _read_sheet(ctx, path, what, key)
    if got is None:
        return
    df, word = got
    missing = _require_columns(ctx, df, shown, what, TREE_COLUMNS)
    if len(df) == 0:
        ctx.add(shown, "(file)", f"the {what} has no rows", "Add one row per measured tree.")
        return
    # identifiers
    if "plot_id" not in missing:
        pid = df["plot_id"]
        blank = pid == ""
        if bool(blank.any()):
            ctx.add(shown, _rows(df.index[blank], word, "plot_id"), "plot_id is empty",
                    "Give the plot of every tree.")
        if check_plots and ctx.plot_ids is not None:
            unknown = ~blank & ~pid.isin(ctx.plot_ids)
            if bool(unknown.any()):
                ids = list(dict.fromkeys(pid[unknown]))
                plots_file = ctx.show(ctx.cfg.path(ctx.cfg.inputs.plots))
                ctx.add(shown, _rows(df.index[unknown], word, "plot_id"), f"plot_id {_values(ids, 8)} "
                        f"is not in the plot sheet ({plots_file})", "Correct the plot_id or add the plot "
                        "to the plot sheet.")
        if "tree_id" not in missing:
            tid = df["tree_id"]
            tblank = tid == ""
            if bool(tblank.any()):
                ctx.add(shown, _rows(df.index[tblank], word, "tree_id"), "tree_id is empty",
                        "Number every tree within its plot.")
            keyed = df.loc[~tblank & ~blank, ["plot_id", "tree_id"]]
            dup = keyed[keyed.duplicated(keep=False)]
            for (p, t), grp in dup.groupby(["plot_id", "tree_id"], sort=False):
                ctx.add(shown, _rows(grp.index, word, "tree_id"), f"tree {t!r} of plot {p!r} appears "
                        f"{len(grp)} times", "Give each tree a unique tree_id within its plot (or delete "
                        "the repeated rows).")
    # DBH
    if "dbh_cm" not in missing:
        _check_dbh(ctx, df, shown, word)
    # height
    if "height_m" not in missing:
        _check_height(ctx, df, shown, word)
    # species
    if "species" not in missing:
        _check_species(ctx, df, shown, word)


def _check_dbh(ctx: _Context, df: pd.DataFrame, shown: str, word: str) -> None:
    d, miss, bad = _numeric(df["dbh_cm"])
    _report_missing_bad(ctx, df, shown, word, "dbh_cm", miss, bad, "diameter at breast height in cm")
    nonpos = d.notna() & (d <= 0)
    if bool(nonpos.any()):
        ctx.add(shown, _rows(df.index[nonpos], word, "dbh_cm"), f"DBH {_values(d[nonpos])} cm is not "
                f"positive", "Correct the diameter at breast height (cm, > 0) or delete the row.")
    pos = d[d.notna() & (d > 0)]
    if len(pos) == 0:
        return
    if bool((pos < 1).all()):
        ctx.add(shown, "column dbh_cm", f"every DBH is below 1 cm (median {pos.median():g}); the values "
                f"look like metres", "Give DBH in centimetres (multiply by 100).")
    elif pos.median() > 150:
        ctx.add(shown, "column dbh_cm", f"the median DBH is {pos.median():g} cm; the values look like "
                f"millimetres", "Give DBH in centimetres (divide by 10).")
    else:
        huge = d.notna() & (d > DBH_MAX_CM)
        if bool(huge.any()):
            ctx.add(shown, _rows(df.index[huge], word, "dbh_cm"), f"DBH {_values(d[huge])} cm is absurd "
                    f"(> {DBH_MAX_CM:g} cm)", "Correct the value (a typo, or millimetres/circumference "
                    "instead of diameter in cm).")


def _check_height(ctx: _Context, df: pd.DataFrame, shown: str, word: str) -> None:
    h, miss, bad = _numeric(df["height_m"])
    _report_missing_bad(ctx, df, shown, word, "height_m", miss, bad, "tree height in m")
    pos = h[h.notna() & (h > 0)]
    if len(pos) and pos.median() > HEIGHT_MAX_M:
        ctx.add(shown, "column height_m", f"the median height is {pos.median():g} m; the values look like "
                f"decimetres or centimetres", "Give tree height in metres.")
        return
    low = h.notna() & (h <= HEIGHT_MIN_M)
    if bool(low.any()):
        ctx.add(shown, _rows(df.index[low], word, "height_m"), f"height {_values(h[low])} m is not above "
                f"breast height ({HEIGHT_MIN_M:g} m), so the tree has no DBH",
                "Correct the height (m), or drop trees shorter than 1.3 m from the tally.")
    high = h.notna() & (h > HEIGHT_MAX_M)
    if bool(high.any()):
        ctx.add(shown, _rows(df.index[high], word, "height_m"), f"height {_values(h[high])} m is absurd "
                f"(> {HEIGHT_MAX_M:g} m)", "Correct the height (m).")


def _check_species(ctx: _Context, df: pd.DataFrame, shown: str, word: str) -> None:
    sp = df["species"]
    blank = sp == ""
    if bool(blank.any()):
        ctx.add(shown, _rows(df.index[blank], word, "species"), "species is empty",
                "Fill in the species (Chinese or Latin name).")
    table = ctx.table
    if table is None:
        return
    groups: dict[str, str] = {}
    for name in dict.fromkeys(sp[~blank]):
        try:
            groups[name] = table.resolve(name)
        except UnknownSpeciesError as exc:
            rows = df.index[sp == name]
            ctx.add(shown, _rows(rows, word, "species"), f"species {name!r} is not in the allometry table "
                    f"({table.name})", _species_fix(str(exc), name, table.name)
                    or "Correct the name, add it as an alias, or load a table that covers it with "
                    "[plots].allometry.")
    used = list(dict.fromkeys(groups.values()))
    from .allometry import TIER1_MARK

    for group in used:
        try:
            cf, cf_source = table.carbon_fraction(group)
            if cf_source.startswith(TIER1_MARK):
                names = [n for n, g in groups.items() if g == group]
                ctx.add(shown, _rows(df.index[sp.isin(names)], word, "species"), f"species group {group!r} "
                        f"({_values(names, 3)}) has no carbon fraction of its own in {table.name}: the tier-1 "
                        f"default {cf:g} is used ({cf_source.split(';')[0]})",
                        f"Nothing, if a generic value suits the report (it is flagged there as tier-1); a "
                        f"species-specific value goes into {ctx.project_file} as [plots.carbon_fractions.{group}] "
                        f"with value and source.", "warning")
        except MissingValueError:
            names = [n for n, g in groups.items() if g == group]
            rows = df.index[sp.isin(names)]
            ctx.add(shown, _rows(rows, word, "species"), f"no carbon fraction is known for species group "
                    f"{group!r} ({_values(names, 3)}) in {table.name}",
                    f"Supply one in {ctx.project_file}: add a table [plots.carbon_fractions.{group}] with "
                    f"value = <fraction, e.g. 0.47> and source = \"<citation or decision, e.g. IPCC 2006 "
                    f"default, chosen by <who>>\".")
        except Exception as exc:  # noqa: BLE001 - inconsistent table rows
            ctx.add(shown, "column species", f"carbon fraction of {group!r}: {_one_line(str(exc))}",
                    "Fix the allometry table.")
    # DBH outside the fitted range of the equations
    if "dbh_cm" in df.columns and groups:
        d, _, _ = _numeric(df["dbh_cm"])
        outside = pd.Series(False, index=df.index)
        for name, group in groups.items():
            sel = (sp == name) & d.notna() & (d > 0)
            for e in table.equations_for(group):
                lo = e.dbh_min_cm if e.dbh_min_cm is not None else -np.inf
                hi = e.dbh_max_cm if e.dbh_max_cm is not None else np.inf
                outside |= sel & ((d < lo) | (d > hi))
        if bool(outside.any()):
            err = ctx.cfg.plots.dbh_out_of_range == "error"
            ctx.add(shown, _rows(df.index[outside], word, "dbh_cm"), f"DBH {_values(d[outside])} cm is "
                    f"outside the fitted range of the species' biomass equation; the biomass would be "
                    f"extrapolated", "Check the values; set [plots].dbh_out_of_range = 'warn' to accept "
                    "the extrapolation." if err else "Check the values; extrapolation is accepted "
                    "([plots].dbh_out_of_range = 'warn').", "error" if err else "warning")


# ---------------------------------------------------------------------------
# 7. TLS scans
# ---------------------------------------------------------------------------
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
    from .pipeline.stages.lidar import read_scan_positions, scan_paths

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

    from .lidar.lasfile import _crs_of

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

