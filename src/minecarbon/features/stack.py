"""The feature stack of one scene-year: bands, indices, tasseled cap, texture, terrain, canopy.

Every layer is a pure function of aligned (y, x) DataArrays; the stack is a
lazy (band, y, x) float32 DataArray when the inputs are dask-backed, so a
whole scene is computed chunk by chunk (texture and terrain with halos) as
it is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..errors import InputError
from .indices import get_index, spectral_index
from .tasseled_cap import TC_VARIABLES, tasseled_cap, tasseled_cap_bands
from .terrain import terrain_variables
from .texture import MEASURES, glcm_texture


@dataclass(frozen=True)
class TextureSpec:
    """Which layers get GLCM texture, and how (see :func:`~minecarbon.features.texture.glcm_texture`)."""

    bands: tuple[str, ...] = ()
    """Source layers: common band names (``nir``) or index names (``NDVI``)."""
    window: int = 7
    levels: int = 32
    distance: int = 1
    measures: tuple[str, ...] = MEASURES
    value_range: tuple[float, float] | None = None
    percentiles: tuple[float, float] = (2.0, 98.0)

    @property
    def halo(self) -> int:
        return self.window // 2 if self.bands else 0


@dataclass(frozen=True)
class StackSpec:
    """A whole feature selection (what ``[features]`` of the project file describes)."""

    bands: tuple[str, ...] = ()
    indices: tuple[str, ...] = ()
    tasseled_cap: tuple[str, ...] = ()
    tc_coefficients: str | None = None
    texture: TextureSpec = field(default_factory=TextureSpec)
    terrain: tuple[str, ...] = ()

    @property
    def halo(self) -> int:
        """Pixels of context needed around the output grid (texture and terrain)."""
        return max(self.texture.halo, 1 if self.terrain else 0)


def required_bands(spec: StackSpec, sensor: str | None = None) -> dict[str, str]:
    """Common band names a stack needs -> the first feature needing each (for error messages)."""
    need: dict[str, str] = {}
    for b in spec.bands:
        need.setdefault(b, f"feature band {b}")
    for name in spec.indices:
        for b in get_index(name).bands:
            need.setdefault(b, f"index {get_index(name).name}")
    if spec.tasseled_cap:
        for b in tasseled_cap_bands(spec.tc_coefficients, sensor):
            need.setdefault(b, "the tasseled cap")
    for src in spec.texture.bands:
        if src.upper() in _index_names():
            for b in get_index(src).bands:
                need.setdefault(b, f"texture of {src}")
        else:
            need.setdefault(src, f"texture of {src}")
    return need


def _index_names() -> set[str]:
    from .indices import index_table

    return set(index_table())


def _as_stack(layer: xr.DataArray, name: str | None = None) -> xr.DataArray:
    if "band" in layer.dims:
        return layer
    layer = layer.drop_vars("band", errors="ignore")
    return layer.expand_dims(band=[name if name is not None else str(layer.name)])


def feature_stack(bands: Mapping[str, xr.DataArray], dem: xr.DataArray | None = None,
                  band_names: Sequence[str] = (), indices: Sequence[str] = (), terrain_vars: Sequence[str] = (),
                  *, tasseled_cap_vars: Sequence[str] = (), tc_coefficients: str | None = None,
                  sensor: str | None = None, texture: TextureSpec | None = None,
                  canopy: Mapping[str, xr.DataArray] | None = None,
                  forest: xr.DataArray | np.ndarray | None = None) -> xr.DataArray:
    """Stack of features (band, y, x), float32, ``band`` = feature names.

    Parameters
    ----------
    bands : common name -> (y, x) reflectance, all on one grid (NaN = masked).
    dem : (y, x) elevation (m) on the same grid (needed for terrain).
    band_names : reflectance bands to include as they are.
    indices : spectral index names (``spectral_indices.csv``).
    terrain_vars : terrain variables (:data:`~minecarbon.features.terrain.TERRAIN`).
    tasseled_cap_vars : any of ``TCB, TCG, TCW, TCA, TCD, DI``.
    tc_coefficients : tasseled-cap coefficient set (default: the sensor's).
    sensor : sensor name (for the default tasseled-cap set).
    texture : GLCM texture selection; output bands ``{source}_glcm_{measure}``.
    canopy : extra layers (e.g. canopy height and lidar metrics), name ->
        (y, x) on the same grid, included as they are.
    forest : (y, x) boolean forest mask for the disturbance index statistics.

    Order of the bands: reflectance bands, indices, tasseled cap, texture,
    terrain, canopy.

    Raises
    ------
    InputError
        A band a feature needs is missing (named), an unknown feature name,
        a duplicated feature name, or terrain requested without a DEM.
    """
    layers: list[xr.DataArray] = []
    for b in band_names:
        if b not in bands:
            raise InputError(f"Feature band {b!r} is not among the image bands ({', '.join(bands)}). Map it "
                             f"in [images].bands or remove it from [features].bands.")
        layers.append(_as_stack(bands[b].astype("float32"), b))
    computed: dict[str, xr.DataArray] = {}
    for name in indices:
        idx = spectral_index(bands, name)
        computed[str(idx.name)] = idx
        layers.append(_as_stack(idx))
    if tasseled_cap_vars:
        bad = [v for v in tasseled_cap_vars if v not in TC_VARIABLES]
        if bad:
            raise InputError(f"Unknown tasseled-cap variable(s) {', '.join(bad)}; known: {', '.join(TC_VARIABLES)}.")
        layers.append(tasseled_cap(bands, tc_coefficients, sensor, tuple(tasseled_cap_vars), forest=forest))
    if texture is not None and texture.bands:
        for src in texture.bands:
            if src in bands:
                base = bands[src]
            elif src.upper() in _index_names():
                key = get_index(src).name
                base = computed[key] if key in computed else spectral_index(bands, key)
            else:
                raise InputError(f"Texture source {src!r} is neither an image band ({', '.join(bands)}) nor a "
                                 f"spectral index. Fix [features].texture_bands.")
            layers.append(glcm_texture(base, window=texture.window, levels=texture.levels,
                                       distance=texture.distance, measures=texture.measures,
                                       value_range=texture.value_range, percentiles=texture.percentiles,
                                       prefix=src))
    if terrain_vars:
        if dem is None:
            raise InputError("Terrain variables were requested but no DEM was given. Set [inputs].dem, or "
                             "empty [features].terrain.")
        layers.append(terrain_variables(dem, list(terrain_vars)))
    for name, layer in (canopy or {}).items():
        layers.append(_as_stack(layer.astype("float32"), name))
    if not layers:
        raise InputError("No feature selected: [features] lists no bands, indices, tasseled cap, texture, "
                         "terrain or canopy layers.")
    names = [str(n) for layer in layers for n in layer["band"].values]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"Feature name(s) {', '.join(dup)} appear twice in the stack; remove the duplicate "
                         f"from [features].")
    clean = []
    for layer in layers:
        layer = layer.astype("float32")
        layer.attrs = {}
        clean.append(layer.reset_coords([c for c in layer.coords if c not in layer.dims and c != "spatial_ref"],
                                        drop=True))
    stack = xr.concat(clean, dim="band", coords="minimal", compat="override", join="override")
    return stack.assign_coords(band=names).astype("float32")
