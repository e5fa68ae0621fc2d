"""Assessment (the standard, section 5): change, trend, cumulative effect, natural breaks,
zonal statistics and Getis-Ord Gi* hot spots.

Submodules, each named after what it does:

* :mod:`.change` - two-date change amount (t C/ha) and degree (%);
* :mod:`.trend` - per-pixel Sen's slope and Mann-Kendall test (numba kernel);
* :mod:`.cumulative` - ideal (climate-only) accumulation by MLR, cumulative effect and its grades;
* :mod:`.breaks` - exact Fisher-Jenks natural breaks, O(k n log n);
* :mod:`.zonal` - zonal statistics per unit / zone raster / polygons (numba kernel);
* :mod:`.hotspot` - Getis-Ord Gi* z, p and confidence bins, optional FDR.

Raster functions take and return ``xarray.DataArray`` and give identical
results on numpy- and dask-backed arrays.
"""

from .breaks import NaturalBreaks, classify, fisher_jenks, natural_breaks
from .change import change_amount, change_degree, change_sd
from .cumulative import EFFECT_CLASSES, IdealModel, cumulative_effect, effect_grades, fit_ideal_model, ideal_trajectory
from .hotspot import footprint, gi_star
from .trend import TREND_CLASSES, mann_kendall_sen, mann_kendall_sen_array
from .zonal import polygon_zonal_stats, zonal_stats

__all__ = [
    "change_amount", "change_degree", "change_sd",
    "mann_kendall_sen", "mann_kendall_sen_array", "TREND_CLASSES",
    "fit_ideal_model", "ideal_trajectory", "cumulative_effect", "effect_grades", "IdealModel", "EFFECT_CLASSES",
    "fisher_jenks", "natural_breaks", "classify", "NaturalBreaks",
    "zonal_stats", "polygon_zonal_stats",
    "gi_star", "footprint",
]
