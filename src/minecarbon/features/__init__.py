"""Remote-sensing feature variables (the standard's Appendix A) for any sensor.

* :mod:`~minecarbon.features.sensors` -- band tables (Landsat 5/7/8/9,
  Sentinel-2), surface-reflectance scaling, QA_PIXEL / SCL masks, band
  recognition by description or explicit map;
* :mod:`~minecarbon.features.indices` -- spectral indices defined once in
  ``data/spectral_indices.csv``;
* :mod:`~minecarbon.features.tasseled_cap` -- tasseled cap (coefficients in
  ``data/tasseled_cap.csv``) and TCA, TCD, DI;
* :mod:`~minecarbon.features.texture` -- GLCM texture (8 ENVI measures) with
  a numba moving-window kernel equal to scikit-image;
* :mod:`~minecarbon.features.terrain` -- slope, aspect, TPI, TRI, roughness,
  curvatures (equal to ``gdaldem`` where GDAL has them);
* :mod:`~minecarbon.features.stack` -- the per-year feature stack.

Functions take and return ``xarray.DataArray`` and give identical results on
numpy- and dask-backed arrays, for any chunking.  Method, formulas, sources and
options: ``docs/features.md``.
"""

from .indices import INDICES, SpectralIndex, get_index, index_bands, spectral_index, spectral_indices
from .sensors import (
    COMMON_NAMES,
    Sensor,
    find_bands,
    get_sensor,
    landsat_qa_valid,
    reflectance,
    scl_valid,
    sensors,
    surface_reflectance,
)
from .stack import StackSpec, TextureSpec, feature_stack, required_bands
from .tasseled_cap import TC_VARIABLES, coefficient_sets, resolve_set, tasseled_cap
from .terrain import TERRAIN, terrain, terrain_variables
from .texture import MEASURES, glcm_numpy, glcm_texture, quantize

__all__ = [
    "COMMON_NAMES", "INDICES", "MEASURES", "TC_VARIABLES", "TERRAIN",
    "Sensor", "SpectralIndex", "StackSpec", "TextureSpec",
    "coefficient_sets", "feature_stack", "find_bands", "get_index", "get_sensor", "glcm_numpy", "glcm_texture",
    "index_bands", "landsat_qa_valid", "quantize", "reflectance", "required_bands", "resolve_set", "scl_valid",
    "sensors", "spectral_index", "spectral_indices", "surface_reflectance", "tasseled_cap", "terrain",
    "terrain_variables",
]
