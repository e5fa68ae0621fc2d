"""Accuracy of the written class maps against an independent validation sample (issue #14).

Pure functions; the classify stage reads the written rasters at the validation points and calls them.

Levels (:data:`LEVELS`), each a map of the whole area with the non-forest class:

* ``forest``: ``forest`` / ``nonforest``;
* ``leaf_habit``: ``evergreen`` / ``deciduous`` / ``nonforest``;
* ``species``: the species code (as text) / ``nonforest``.

A point whose pixel has no class at a level (no data; at the leaf-habit level a forest pixel without a leaf
habit, at the species level a forest pixel without a species) is counted as ``nodata`` at that level and left
out of its confusion matrix; the area estimates of that level cover the pixels that have a class (their mapped
areas are the strata).

The sample's OA (every point alike) has the interval of a proportion of a simple random sample,
p +/- z sqrt(p (1 - p) / (n - 1)) (:func:`proportion_ci`; the n - 1 of Olofsson et al. 2014, eq. 5-6); the
area-weighted OA, UA, PA and the areas come from :func:`minecarbon.classify.accuracy.area_estimates` with the
map classes as strata (post-stratified).

Both are normal-approximation intervals: where every point of a map class has the same reference class (no
error seen in that stratum) its variance terms are 0 and the intervals come out too narrow, down to zero width
(a map whose true error rate is 0.25 % shows no error in 600 points with probability 0.9975^600 = 0.22).
:func:`validate_level` says so in its note (the rule of three: 0 errors in n points still allow an error rate
up to about 3/n at 95 %).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .accuracy import AreaAccuracy, area_estimates, confusion_matrix, sample_accuracy

NONFOREST = "nonforest"
LEVELS = ("forest", "leaf_habit", "species")
NODATA = 255


def proportion_ci(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """(p, half-width) of the proportion ``k / n`` of a simple random sample: z sqrt(p (1 - p) / (n - 1)).

    NaN for n = 0; the half-width is NaN for n = 1.
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    return float(p), float(z * np.sqrt(p * (1 - p) / (n - 1))) if n > 1 else float("nan")


def map_classes(species_code: Iterable[int], leaf_habit: Iterable[int]) -> dict[str, np.ndarray]:
    """The class of each point at every level from the written maps' values at its pixel.

    ``species_code``: ``dominant_species_<year>.tif`` (species code, 0 non-forest, 255 no data or forest without
    species); ``leaf_habit``: ``leaf_habit_<year>.tif`` (1 evergreen, 2 deciduous, 0 non-forest or forest without
    leaf habit, 255 no data). Returns per level an object array of class names, None where the pixel has no class
    at that level.
    """
    sp = np.asarray(species_code, dtype=np.int64)
    lh = np.asarray(leaf_habit, dtype=np.int64)
    nod = lh == NODATA
    nf = (sp == 0) & ~nod
    none = np.full(sp.shape, None, dtype=object)

    def obj(v) -> np.ndarray:
        return np.full(sp.shape, v, dtype=object)

    forest = np.select([nod, nf], [none, obj(NONFOREST)], obj("forest"))
    leaf = np.select([nod, nf, lh == 1, lh == 2], [none, obj(NONFOREST), obj("evergreen"), obj("deciduous")], none)
    species = np.select([nod | (sp == NODATA), nf], [none, obj(NONFOREST)], sp.astype(str).astype(object))
    return {"forest": forest, "leaf_habit": leaf, "species": species}


def reference_classes(labels: Iterable[str], evergreen: Iterable[str]) -> dict[str, np.ndarray]:
    """The reference class of each point at every level from its label (species code as text or 'nonforest')
    and the evergreen species' codes."""
    lab = np.asarray(list(labels), dtype=object)
    ever = {str(e) for e in evergreen}
    nf = lab == NONFOREST
    forest = np.where(nf, NONFOREST, "forest").astype(object)
    leaf = np.array([NONFOREST if v == NONFOREST else "evergreen" if str(v) in ever else "deciduous" for v in lab],
                    dtype=object)
    return {"forest": forest, "leaf_habit": leaf, "species": lab.astype(str).astype(object)}


@dataclass
class LevelValidation:
    """One level's validation of one year's map (:func:`validate_level`)."""

    confusion: pd.DataFrame
    """Point counts, rows = map classes, columns = reference classes (points with a class at this level)."""
    n: int
    """Points with a map class at this level (in the confusion matrix)."""
    n_nodata: int
    """Points whose pixel has no class at this level (left out of the matrix)."""
    oa: float
    oa_ci: float
    kappa: float
    areas: AreaAccuracy | None
    """Olofsson et al. (2014) estimates, strata = map classes; None when they cannot be computed (``note``)."""
    note: str


def validate_level(map_cls: np.ndarray, ref_cls: np.ndarray, mapped_area: pd.Series,
                   z: float = 1.96) -> LevelValidation:
    """Confusion matrix, sample OA with its 95 % interval, kappa, and the stratified area estimates of one level.

    ``map_cls`` (None where the pixel has no class at this level) and ``ref_cls``: per point (from
    :func:`map_classes` and :func:`reference_classes`); ``mapped_area``: mapped area (or pixel count) of every map
    class of this level, the strata. The classes are those of ``mapped_area`` and of the points.
    """
    m = np.asarray(map_cls, dtype=object)
    r = np.asarray(ref_cls, dtype=object)
    has = np.array([v is not None for v in m], dtype=bool)
    m, r = m[has], r[has]
    classes = sorted({str(c) for c in mapped_area.index} | {str(v) for v in m} | {str(v) for v in r})
    cm = confusion_matrix(m, r, classes)
    n = int(has.sum())
    notes = []
    if (~has).sum():
        notes.append(f"{int((~has).sum())} point(s) on pixels without a class at this level (no data) left out")
    if n:
        sa = sample_accuracy(cm)
        oa, oa_ci = proportion_ci(int(np.trace(cm.to_numpy())), n, z)
        kappa = sa["kappa"]
    else:
        oa = oa_ci = kappa = float("nan")
    areas = None
    mapped = mapped_area.rename(index=str).reindex(cm.index, fill_value=0.0)
    try:
        areas = area_estimates(cm, mapped, z=z)
    except InputError as exc:
        notes.append(f"no area estimate: {exc}")
    else:
        pure = [f"{c} ({int(cm.loc[c].sum())})" for c in cm.index
                if mapped[c] > 0 and cm.loc[c].sum() >= 2 and (cm.loc[c] > 0).sum() == 1]
        if pure:
            notes.append(f"all points of map class(es) {', '.join(pure)} have one reference class: their variance "
                         f"terms are 0 and the 95 % intervals too narrow (with 0 errors in n points the error rate "
                         f"may still be up to about 3/n)")
    return LevelValidation(cm, n, int((~has).sum()), oa, oa_ci, float(kappa), areas, "; ".join(notes))
