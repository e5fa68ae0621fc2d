"""Hierarchical classification (standard section 4.3): forest, leaf habit, dominant species; map accuracy.

Modules: :mod:`.accuracy` (confusion matrix, OA, kappa, UA/PA, Olofsson et al. 2014 area estimates),
:mod:`.unmix` (fully constrained linear unmixing), :mod:`.leaf_habit` (RVI threshold learned from samples),
:mod:`.series` (cloud-gap filling with clear-observation counts), :mod:`.phenology` (season features),
:mod:`.classifier` (balanced random forest, spatially blocked vs random CV, class maps). Science only:
DataArrays and arrays in and out, no files.
"""

from .accuracy import AreaAccuracy, area_estimates, confusion_matrix, sample_accuracy
from .classifier import cross_validate, fit_forest, make_forest, predict_map, spatial_vs_random
from .hierarchy import Hierarchy, fit_hierarchy, hierarchical_cv, map_hierarchy
from .leaf_habit import LeafHabitRule, Threshold, learn_rule, learn_threshold, leaf_habit, rvi
from .phenology import FEATURES as PHENOLOGY_FEATURES
from .phenology import phenology
from .series import fill_gaps
from .unmix import fcls, unmix

__all__ = ["AreaAccuracy", "area_estimates", "confusion_matrix", "sample_accuracy", "cross_validate", "make_forest",
           "predict_map", "spatial_vs_random", "fit_forest", "Hierarchy", "fit_hierarchy", "hierarchical_cv", "map_hierarchy", "LeafHabitRule", "Threshold", "learn_rule", "learn_threshold", "leaf_habit", "rvi",
           "PHENOLOGY_FEATURES", "phenology", "fill_gaps", "fcls", "unmix"]
