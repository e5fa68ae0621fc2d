"""The rasters, declared once: DEM, climate grids, forest-type maps, canopy rasters, covariates, yearly images.

A :class:`RasterInput` lists every problem of one raster file (``problems``)
and reads it or raises an :class:`~minecarbon.errors.InputError` carrying
the same problems (``read``), as the table and layer specs do.  Its rules:
readable, bands, georeferenced, projected, in the project CRS, overlapping
the monitoring area, undamaged, not all nodata, no infinite pixels, values
in plausible units; for a year's image every band ``[features]`` needs,
found as the features stage finds it; for a forest-type map its codes.

Options the rules read (keyword arguments of ``problems``/``read``):

``cfg``
    The :class:`~minecarbon.config.ProjectConfig` (required): image scale,
    offset, nodata and band map, ``[forest_type_codes]``, the buffer width.
``target_crs``, ``target_from``
    The CRS the project works in and where it comes from (for messages);
    without it the "not in the project CRS" rule is skipped.
``area``, ``area_crs``
    The monitoring area (boundary + buffer, a shapely geometry) and its CRS;
    without it the overlap rule is skipped.
``need_bands``
    For images: band (common name) -> the feature that needs it
    (:func:`minecarbon.features.required_bands`).

Opening (:meth:`RasterInput.open`) and the content rules
(:meth:`RasterInput.content_problems`) are separate so that ``check`` can
choose the project CRS from the opened rasters before judging them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MissingInputError, Problem
from ._crs import crs_name as _crs_name
from ._crs import pyproj_crs as _pyproj
from ._crs import same_crs as _same_crs
from ._crs import transform_bounds as _transform_bounds
from ._text import fmt as _fmt
from ._text import one_line as _one_line
from ._text import values as _values
from ._text import years_text as _years_text
from .spec import Report, raise_or_warn

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from ..config import ProjectConfig

__all__ = ["CANOPY", "CLIMATE", "COVARIATE", "DEM", "FOREST_TYPE", "IMAGE", "PRECIPITATION", "RASTERS", "SERIES",
           "RasterFile", "RasterInput", "TEMPERATURE", "band_name_problems", "what_of", "year_files"]

SAMPLE_PX = 1024
"""Rasters up to this many pixels a side are read whole for the value rules; larger ones are sampled."""

GDAL_READONLY = {"GDAL_PAM_ENABLED": "NO"}  # never write .aux.xml beside the inputs

CHECK_CACHE_MB = 64
"""GDAL's block cache (MB) while a raster's content is checked. Each sample window decodes a whole tile of every
band into the cache, which GDAL empties only when the file closes: with its default (5 % of the machine's memory)
sampling one 5000 x 5000 six-band composite held about 300 MiB (memray, the large simulated scene), so the memory
of ``check`` and of ``run``'s input checks grew with the size of the files. Measured on the large scene (run's
checks): default 662 MiB / 27 s, 256 MB 617 MiB / 35 s, 64 MB 448 MiB / 37 s (benchmarks/README.md, "Session 9:
the classify stage's memory"; session 9 chose 64 MB but committed 256, corrected in session 10)."""


@dataclass
class RasterFile:
    """One raster file of an input and, once opened (:meth:`RasterInput.open`), its metadata."""

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


_OPTIONS = {"cfg": None, "target_crs": None, "target_from": "", "area": None, "area_crs": None, "need_bands": None}


@dataclass(frozen=True)
class RasterInput:
    """A raster input (one file, or one per year with ``yearly``)."""

    key: str
    """Config key (``"inputs.dem"``)."""
    kind: str
    """``image``, ``temperature``, ``precipitation``, ``dem``, ``forest_type``, ``canopy`` or ``covariate``."""
    about: str
    units: str = ""
    yearly: bool = False
    """A ``{year}`` pattern: one file per year."""

    @property
    def what(self) -> str:
        return _WHAT[self.kind]

    @property
    def shown_key(self) -> str:
        """``"[inputs].dem"``: the key as messages name it."""
        section, _, name = self.key.partition(".")
        return f"[{section}].{name}"

    def file(self, path: str | Path, year: int | None = None, label: str = "") -> RasterFile:
        return RasterFile(self.kind, self.shown_key, year, Path(path), label=label)

    # -- the rules -----------------------------------------------------------
    def open(self, r: RasterFile, file: str) -> list[Problem]:
        """Open the file read-only and fill ``r``'s metadata; the problems of its header."""
        rep = Report(file)
        _open_one_raster(SimpleNamespace(), rep, r)
        return rep.problems

    def content_problems(self, r: RasterFile, file: str, **options: Any) -> list[Problem]:
        """The problems of an opened file (``r.ok``): integrity, CRS, area, bands, nodata, values."""
        o = SimpleNamespace(**{**_OPTIONS, **options})
        rep = Report(file)
        _check_one_raster(o, rep, r)
        return rep.problems

    def problems(self, path: str | Path, file: str | None = None, *, year: int | None = None, label: str = "",
                 **options: Any) -> list[Problem]:
        """Every problem of the file; never raises."""
        r = self.file(path, year, label)
        file = file or str(path)
        found = self.open(r, file)
        if r.ok:
            found += self.content_problems(r, file, **options)
        return found

    def read(self, path: str | Path, file: str | None = None, *, year: int | None = None, label: str = "",
             chunks: int | bool | None = 512, masked: bool = True, **options: Any) -> "xr.DataArray":
        """Open the raster (:func:`minecarbon.io.open_raster`); raise on the problems :meth:`problems` lists."""
        from ..io import open_raster

        path = Path(path)
        file = file or str(path)
        what = what_of(self.file(path, year, label))
        if not path.is_file():
            raise MissingInputError(f"{what} {path} does not exist. Check the path (or {{year}} pattern) in the "
                                    f"project file.", problems=[Problem(file, "(file)", f"the {what} does not "
                                    "exist", "Check the path in the project file.", code="missing-file")])
        found = self.problems(path, file, year=year, label=label, **options)
        raise_or_warn(found, f"{file}: {sum(p.is_error for p in found)} problem(s) in the {what}:")
        return open_raster(path, what=what, chunks=chunks, masked=masked)


_WHAT = {"image": "image", "temperature": "temperature grid", "precipitation": "precipitation grid",
         "dem": "DEM", "forest_type": "forest-type map", "canopy": "canopy raster", "covariate": "covariate",
         "series": "monthly composite"}

IMAGE = RasterInput("images.path", "image", "Surface-reflectance composite of each year, with the bands "
                    "[features] needs.", yearly=True)
"""``[images].path``: one image (composite) per year."""
TEMPERATURE = RasterInput("climate.temperature", "temperature", "Mean annual temperature of each year.", "deg C",
                          yearly=True)
PRECIPITATION = RasterInput("climate.precipitation", "precipitation", "Annual precipitation of each year.",
                            "mm", yearly=True)
DEM = RasterInput("inputs.dem", "dem", "Elevation, one band.", "m")
FOREST_TYPE = RasterInput("inputs.forest_type", "forest_type", "Forest-type map of a year: codes of "
                          "[forest_type_codes].", "class code", yearly=True)
CANOPY = RasterInput("features.canopy", "canopy", "Canopy rasters; each band becomes a feature named after its "
                     "description.")
COVARIATE = RasterInput("assess.cumulative_covariates", "covariate", "A covariate grid of each year the "
                        "cumulative effect reads.", yearly=True)
SERIES = RasterInput("classify.series", "series", "Monthly composite of each month (01-12) of each year the classify "
                     "stage classifies ({year}, {month}): surface reflectance with the bands of [images], clouds "
                     "as nodata.", yearly=True)
"""``[classify].series``: twelve per classified year. ``check`` opens each (readable, georeferenced, projected CRS,
overlapping the area) but does not decode them (twelve files a year); the classify stage reads their bands before
it classifies (:func:`minecarbon.pipeline.stages.classify.year_inputs`)."""
CLIMATE = (TEMPERATURE, PRECIPITATION)
RASTERS = {spec.key: spec for spec in (IMAGE, TEMPERATURE, PRECIPITATION, DEM, FOREST_TYPE, CANOPY, COVARIATE,
                                       SERIES)}
"""The declared rasters, by config key."""


def what_of(r: RasterFile) -> str:
    """The file in messages: "image 2020", "covariate 'ndvi' 2019", "DEM", "monthly composite 2020-07"."""
    if r.kind == "series":
        return f"{_WHAT[r.kind]} {r.year}-{r.label}"
    return (_WHAT[r.kind] + (f" {r.label!r}" if r.label else "")
            + (f" {r.year}" if r.year is not None and r.kind != "dem" else ""))



def _open_one_raster(o: Any, rep: Report, r: RasterFile) -> None:
    import rasterio

    try:
        with rasterio.Env(**GDAL_READONLY), rasterio.open(r.path) as src:
            r.count = src.count
            r.descriptions = tuple(d or "" for d in src.descriptions)
            r.bounds = tuple(src.bounds)  # type: ignore[assignment]
            no_georef = src.transform.is_identity and not src.gcps[0]
            r.crs = _pyproj(src.crs) if src.crs else None
    except Exception as exc:  # noqa: BLE001 - not a raster at all
        rep.add("(file)", f"the {what_of(r)} ({r.key}) cannot be read as a raster "
                f"({_one_line(str(exc))[:200]})", "Check that it is a GeoTIFF and not truncated; re-export "
                "it from the GIS.")
        return
    r.ok = True
    if r.count == 0:
        rep.add("(file)", f"the {what_of(r)} has no bands", "Re-export the raster with its data.")
        r.ok = False
    if no_georef:
        rep.add("(file)", f"the {what_of(r)} has no georeferencing (no geotransform)",
                "Re-export it as a GeoTIFF with its position (georeferenced).")
        r.bounds = None
    if r.crs is None:
        rep.add("(file)", f"the {what_of(r)} has no CRS",
                f"Assign the right projected CRS, e.g. 'gdal_edit.py -a_srs EPSG:32649 {r.path.name}' "
                f"(only if that is the CRS its coordinates are in).")
    elif not r.crs.is_projected:
        rep.add("(file)", f"the {what_of(r)} is in a geographic CRS ({_crs_name(r.crs)}, degrees); "
                f"areas and distances need metres", "Reproject it to a projected CRS in metres, e.g. "
                f"'gdalwarp -t_srs EPSG:32649 {r.path.name} out.tif'.")



def _check_one_raster(o: Any, rep: Report, r: RasterFile) -> None:
    import rasterio

    from ..io.raster import damaged_block

    what = what_of(r)
    # integrity: every block decodes and passes its checksum (flipped bytes, truncation)
    damage = damaged_block(r.path) if r.kind != "series" else None  # twelve a year: not decoded (see SERIES)
    if damage:
        rep.add("(file)", f"the {what} ({r.key}) is damaged: {damage}", "Copy or download the file "
                "again, or re-export it from the GIS; do not use it as it is.")
        return
    # CRS consistency
    if r.crs is not None and o.target_crs is not None and not _same_crs(r.crs, o.target_crs):
        try:
            _transform_bounds(r.bounds or (0, 0, 1, 1), r.crs, o.target_crs)
        except Exception:  # noqa: BLE001
            rep.add("(file)", f"the {what} is in {_crs_name(r.crs)}, which cannot be transformed "
                    f"to {o.target_from}", "Reproject it to the project CRS with gdalwarp.")
        else:
            if r.crs.is_projected:
                rep.add("(file)", f"the {what} is in {_crs_name(r.crs)}, not {o.target_from}; "
                        f"it will be reprojected (resampled)", "Nothing, if that is intended; to avoid "
                        f"resampling, deliver it in {_crs_name(o.target_crs)}.", "warning")
    # overlap with the monitoring area
    if r.crs is not None and r.bounds is not None and o.area is not None:
        try:
            b = _transform_bounds(r.bounds, r.crs, o.area_crs)
        except Exception:  # noqa: BLE001
            b = None
        if b is not None:
            minx, miny, maxx, maxy = o.area.bounds
            if b[2] <= minx or b[0] >= maxx or b[3] <= miny or b[1] >= maxy:
                rep.add("(file)", f"the {what} (bounds {b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, "
                        f"{b[3]:.0f}) does not overlap the monitoring area (boundary + "
                        f"{o.cfg.area.buffer_m:g} m buffer: {minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}, "
                        f"{_crs_name(o.area_crs)})", "Check that it is the right file and that its CRS "
                        "is assigned correctly (a wrong CRS shifts the data far away).")
            elif b[0] > minx or b[1] > miny or b[2] < maxx or b[3] < maxy:
                rep.add("(file)", f"the {what} covers only part of the monitoring area (boundary "
                        f"+ {o.cfg.area.buffer_m:g} m buffer)", "Provide a raster that covers the whole "
                        "area; pixels outside it will be nodata.", "warning")
    if r.kind == "series":
        return  # twelve a year: not decoded here (see SERIES)
    # bands
    wanted = _image_bands(o, rep, r, what) if r.kind == "image" else [("band_1", 1)]
    if not wanted:
        return
    # content: nodata and plausible values
    with rasterio.Env(**GDAL_READONLY, GDAL_CACHEMAX=CHECK_CACHE_MB * 2**20), rasterio.open(r.path) as src:
        empty_bands = []
        samples: dict[str, np.ndarray] = {}
        for label, idx in wanted:
            nodata = src.nodatavals[idx - 1]
            if r.kind == "image" and o.cfg.images.nodata is not None:
                nodata = o.cfg.images.nodata
            sample = _valid_sample(src, idx, nodata)
            if sample.size == 0:
                empty_bands.append(label)
            samples[label] = sample
        if len(empty_bands) == len(wanted):
            scope = " in the bands used" if r.kind == "image" else ""
            extra = ", [images].nodata" if r.kind == "image" else ""
            rep.add("(file)", f"the {what} contains only nodata (every pixel{scope})",
                    f"Check the export (clip extent, nodata value{extra}); the file holds no data.")
            return
        for label in empty_bands:
            rep.add(f"band '{label}'", f"band '{label}' of the {what} contains only nodata",
                    "Re-export the image with data in that band.")
        if r.kind == "forest_type":
            _check_forest_codes(o, rep, src, what)
        for label, idx in wanted:
            n_inf = _count_infinite(src, idx)
            if n_inf:
                where = f"band '{label}'" if r.kind == "image" else "(file)"
                rep.add(where, f"the {what} has {n_inf} pixel(s) of value +inf or -inf"
                        + (f" in band '{label}'" if r.kind == "image" else "") + "; they are not nodata "
                        "and would enter the computation as numbers", "Set them to the nodata value (e.g. "
                        "'gdal_calc.py ... --calc \"where(isinf(A), -9999, A)\" --NoDataValue=-9999') or "
                        "fix the export.", "warning", "non-finite")
    _check_values(o, rep, r, what, samples)


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


def _image_bands(o: Any, rep: Report, r: RasterFile, what: str) -> list[tuple[str, int]]:
    """The bands of a year's image that the features need, found as the features stage finds them.

    Each needed band (:func:`minecarbon.features.required_bands` of
    ``[features]``) is looked up with :func:`minecarbon.features.find_bands`
    (``[images].bands``, band descriptions, the sensor's band ids) on the
    image's band descriptions; each one missing is a problem naming the
    feature that needs it.  Returns (common name, 1-based index) of the
    bands found.
    """
    import xarray as xr

    from ..errors import InputError
    from ..features import find_bands
    from ..features.sensors import get_sensor

    need = o.need_bands
    if not need:
        return []
    cfg = o.cfg
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
            rep.add(f"band {spec}", f"the {what} has {r.count} band(s), so band index {spec} "
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
        rep.add(f"band '{label}'", f"the {what} has no band '{label}' ({role}needed by {why}); bands "
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
    if h * w <= SAMPLE_PX * SAMPLE_PX:
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


def _check_forest_codes(o: Any, rep: Report, src: Any, what: str) -> None:
    from rasterio.windows import Window

    codes = o.cfg.forest_type_codes.model_dump()
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
        rep.add("(file)", f"the {what} has value(s) {_values(unknown, 8)} that are not forest-type "
                f"codes ({legend}) nor its nodata ({_fmt(nodata) if nodata is not None else 'none set'})",
                "Recode the map to these codes, set its nodata value, or give your codes in "
                "[forest_type_codes].")


def _check_values(o: Any, rep: Report, r: RasterFile, what: str, samples: dict[str, np.ndarray]) -> None:
    """Warn about values in unexpected units (a wrong scale is the commonest silent error)."""
    vals = next((v for v in samples.values() if v.size), None)
    if vals is None:
        return
    med = float(np.median(vals.astype(float)))
    if r.kind == "image":
        label = next(k for k, v in samples.items() if v.size)
        refl = med * o.cfg.images.scale + o.cfg.images.offset
        if not -0.1 <= refl <= 1.2:
            rep.add(f"band '{label}'", f"the {what} gives a median reflectance of {refl:.3g} in band "
                    f"'{label}' with scale {o.cfg.images.scale:g} and offset {o.cfg.images.offset:g} "
                    f"(median value {med:.4g}); reflectance should be about 0-1",
                    "Set [images].scale and [images].offset for your product (already-scaled "
                    "reflectance: scale = 1, offset = 0).", "warning", "reflectance-scale")
    elif r.kind == "temperature" and not -40 <= med <= 40:
        rep.add("(file)", f"the {what} has a median of {med:.4g}; mean annual temperature in deg C "
                "is expected (about -40 to 40)", "Convert it to deg C (Kelvin: subtract 273.15; "
                "tenths of a degree: divide by 10).", "warning", "climate-units")
    elif r.kind == "precipitation" and not 20 <= med <= 10000:
        rep.add("(file)", f"the {what} has a median of {med:.4g}; annual precipitation in mm is "
                "expected (about 20-10000)", "Convert it to mm per year (metres: multiply by 1000; "
                "mm/day: multiply by 365).", "warning", "climate-units")
    elif r.kind == "dem" and (float(np.min(vals)) < -500 or float(np.max(vals)) > 9000):
        rep.add("(file)", f"the DEM has values from {float(np.min(vals)):.4g} to "
                f"{float(np.max(vals)):.4g}; elevation in metres is expected", "Convert it to metres or "
                "set its nodata value.", "warning", "dem-values")


def year_files(cfg: "ProjectConfig", key: str, pattern: str, years: Sequence[int], need: str, show: Any,
               project_file: str) -> tuple[list[tuple[int, Path]], list[Problem]]:
    """The files of a ``{year}`` pattern that exist; one problem lists the years without a file."""
    found, missing, problems = [], [], []
    for y in years:
        p = cfg.year_path(pattern, y)
        if p.is_file():
            found.append((y, p))
        else:
            missing.append(y)
    if missing:
        example = show(cfg.year_path(pattern, missing[0]))
        every = len(missing) == len(years)
        problems.append(Problem(show(cfg.path(pattern)), "(file)", f"{key} has no file for {'any year' if every else 'year(s)'} "
                f"{_years_text(missing)} (e.g. {example} does not exist); one is needed for {need}",
                f"Add the missing file(s) or correct the pattern {pattern!r} in {project_file} ({{year}} is "
                f"replaced by the 4-digit year).", code="missing-file"))
    return found, problems


def band_name_problems(rasters: Sequence[RasterFile], cfg: "ProjectConfig", show: Any) -> list[Problem]:
    """Canopy rasters whose band names collide, and a DEM with several bands (the features stage fails)."""
    out: list[Problem] = []

    def add(*args: Any) -> None:
        out.append(Problem(*args))

    seen: dict[str, Path] = {}
    for r in rasters:
        if r.kind == "dem" and r.ok and r.count > 1 and cfg.features.terrain:
            add(show(r.path), "(file)", f"the DEM has {r.count} bands; the terrain features "
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
            in_what = "another band of this file" if other == r.path else f"a band of {show(other)}"
            add(show(r.path), f"band {i + 1} ('{name}')", f"canopy band name {name!r} is also "
                    f"{in_what}; every canopy band becomes a feature named after its description, so names "
                    f"must be unique across [features].canopy" + ("" if d else " (the band has no description)"),
                    "Give the bands distinct descriptions (e.g. 'chm_mean_m', 'cover_pct') when writing the "
                    "rasters.")
    return out
