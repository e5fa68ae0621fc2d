"""The feature tools on plain GeoTIFFs: ``indices``, ``tasseled-cap``, ``texture``, ``terrain``.

Each ``run_*`` reads one raster, calls the feature library and writes one
Cloud-Optimized GeoTIFF (float32, NaN = nodata) whose band descriptions name
the layers, in dask chunks; it returns a summary (a dict).  ``run_texture``
reads a raster that fits in ``io.raster.IN_MEMORY_MAX_BYTES`` whole and
computes it with numpy (no dask graph nor scheduler; the same file).
``minecarbon tool ...`` (:mod:`minecarbon.cli.tools_features`) only parses
options and prints it.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _check_paths(src: Path, out: Path) -> None:
    from ..errors import InputError

    if Path(out).resolve() == Path(src).resolve():
        raise InputError(f"Output {out} is the input file; choose another output name (inputs are never "
                         f"overwritten).")


def _open(path: Path, what: str, chunk_px: int, projected: bool, in_memory: bool = False):
    """The raster in dask chunks of ``chunk_px``; with ``in_memory``, read whole (numpy-backed) when it fits
    in ``io.raster.IN_MEMORY_MAX_BYTES``."""
    from ..errors import CRSError
    from ..io import open_raster, open_raster_fitting

    opener = open_raster_fitting if in_memory else open_raster
    da = opener(path, what=what, chunks=chunk_px, require_projected=projected, masked=True)
    if da.rio.crs is None:
        raise CRSError(f"{what} {path} has no CRS. Assign it first, e.g. 'gdal_edit.py -a_srs EPSG:32649 "
                       f"{Path(path).name}'.")
    return da


def _not_empty(layers, what: str, path: Path) -> None:
    import numpy as np

    from ..errors import InputError

    flags = [np.isfinite(layer).any().data for layer in layers]
    if any(hasattr(f, "dask") for f in flags):
        import dask

        flags = dask.compute(*flags)
    if not any(bool(f) for f in flags):
        raise InputError(f"{what} {path}: every pixel is nodata (or masked by its QA band). Check the nodata "
                         f"value (--nodata), the scale/offset, and the QA band (--no-qa-mask).")


def _write(stack, out: Path) -> dict:
    from ..io.stack import write_stack

    if stack.chunks is not None:  # one write per window with every band (the GeoTIFF is pixel-interleaved)
        stack = stack.chunk({"band": -1})  # spatial chunks start at the raster origin: on tile edges
    write_stack(stack, out)
    return {"output": str(out), "bands": [str(b) for b in stack["band"].values],
            "width": int(stack.sizes["x"]), "height": int(stack.sizes["y"])}


def run_indices(src: Path, out: Path, indices: list[str], sensor: str | None = None,
                band_map: dict[str, str] | None = None, scale: float | None = None, offset: float | None = None,
                nodata: float | None = None, qa_mask: bool = True, chunk_px: int = 1024) -> dict:
    """Spectral indices of an image -> multi-band COG; returns a summary."""
    from .. import features
    from ..errors import InputError

    _check_paths(src, out)
    if not indices:
        raise InputError(f"No index given; use --indices, e.g. NDVI,EVI (known: {', '.join(features.INDICES)}).")
    need: dict[str, str] = {}
    for name in indices:
        for b in features.index_bands(name):
            need.setdefault(b, f"index {features.get_index(name).name}")
    img = _open(src, "image", chunk_px, projected=False)
    bands = features.surface_reflectance(img, list(need), sensor, band_map, scale, offset, nodata, qa_mask,
                                         what="image", why=need)
    _not_empty(bands.values(), "image", src)
    return _write(features.spectral_indices(bands, indices), out)


def run_tasseled_cap(src: Path, out: Path, sensor: str | None = None, coefficients: str | None = None,
                     variables: list[str] | None = None, band_map: dict[str, str] | None = None,
                     scale: float | None = None, offset: float | None = None, nodata: float | None = None,
                     qa_mask: bool = True, chunk_px: int = 1024) -> dict:
    """Tasseled-cap components (and TCA, TCD, DI) of an image -> COG; returns a summary."""
    from .. import features
    from ..features.tasseled_cap import COMPONENTS

    _check_paths(src, out)
    cs = features.resolve_set(coefficients, sensor)
    img = _open(src, "image", chunk_px, projected=False)
    need = {b: f"the tasseled cap ({cs.name})" for b in cs.bands}
    bands = features.surface_reflectance(img, list(need), sensor, band_map, scale, offset, nodata, qa_mask,
                                         what="image", why=need)
    _not_empty(bands.values(), "image", src)
    stack = features.tasseled_cap(bands, cs.name, sensor, tuple(variables or COMPONENTS))
    summary = _write(stack, out)
    summary["coefficients"] = cs.name
    return summary


def run_texture(src: Path, out: Path, window: int = 7, levels: int = 32, distance: int = 1,
                measures: list[str] | None = None, band: str | None = None,
                value_range: tuple[float, float] | None = None, chunk_px: int = 1024) -> dict:
    """GLCM texture of one or every band of a raster -> COG; returns a summary."""
    import xarray as xr

    from .. import features
    from ..errors import InputError

    _check_paths(src, out)
    img = _open(src, "raster", chunk_px, projected=False, in_memory=True)  # fits: numpy, no dask graph
    names = [str(b) for b in img["band"].values]
    if band is not None:
        if band.isdigit() and band not in names:
            k = int(band)
            if not 1 <= k <= len(names):
                raise InputError(f"raster {src} has {len(names)} band(s); --band {k} does not exist.")
            chosen = [names[k - 1]]
        elif band in names:
            chosen = [band]
        else:
            raise InputError(f"raster {src} has no band {band!r} (bands: {', '.join(names)}). Give --band as a "
                             f"band description or a 1-based number.")
    else:
        chosen = names
    layers = []
    _not_empty([img.sel(band=n) for n in chosen], "raster", src)
    for n in chosen:
        prefix = n if len(chosen) > 1 or band is not None else None
        layers.append(features.glcm_texture(img.sel(band=n, drop=True), window=window, levels=levels,
                                            distance=distance, measures=tuple(measures or features.MEASURES),
                                            value_range=value_range, prefix=prefix))
    stack = xr.concat(layers, dim="band") if len(layers) > 1 else layers[0]
    return _write(stack, out)


def run_terrain(src: Path, out: Path, variables: list[str], chunk_px: int = 1024) -> dict:
    """Terrain variables of a DEM -> COG; returns a summary."""
    from .. import features
    from ..errors import InputError

    _check_paths(src, out)
    if not variables:
        raise InputError(f"No terrain variable given; use --vars (known: {', '.join(features.TERRAIN)}).")
    dem = _open(src, "DEM", chunk_px, projected=True)
    if dem.sizes["band"] != 1:
        raise InputError(f"DEM {src} has {dem.sizes['band']} bands; give a single-band elevation raster.")
    _not_empty([dem], "DEM", src)
    return _write(features.terrain_variables(dem.isel(band=0, drop=True), variables), out)
