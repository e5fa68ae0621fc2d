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

from .._lazy import attach

# public names, imported from their submodule on first use (see minecarbon._lazy)
__getattr__, __dir__ = attach(__name__, {
    ".breaks": ["NaturalBreaks", "classify", "fisher_jenks", "natural_breaks"],
    ".change": ["change_amount", "change_degree", "change_sd"],
    ".cumulative": ["EFFECT_CLASSES", "IdealModel", "cumulative_effect", "effect_grades", "fit_ideal_model",
                    "ideal_trajectory"],
    ".hotspot": ["footprint", "gi_star"],
    ".trend": ["TREND_CLASSES", "mann_kendall_sen", "mann_kendall_sen_array", "mann_kendall_sen_stack"],
    ".zonal": ["polygon_zonal_stats", "zonal_stats"],
})

__all__ = [
    "change_amount", "change_degree", "change_sd",
    "mann_kendall_sen", "mann_kendall_sen_array", "mann_kendall_sen_stack", "TREND_CLASSES",
    "fit_ideal_model", "ideal_trajectory", "cumulative_effect", "effect_grades", "IdealModel", "EFFECT_CLASSES",
    "fisher_jenks", "natural_breaks", "classify", "NaturalBreaks",
    "zonal_stats", "polygon_zonal_stats",
    "gi_star", "footprint",
]
