"""The standard's hierarchy cross-validated on labelled pixels: forest -> leaf habit -> dominant species.

Per fold (folds of :func:`minecarbon.model.cv.fold_splits`: spatial blocks or random), with everything
learned on the fold's training samples only:

1. **forest**: balanced random forest on the forest features (all samples);
2. **leaf habit**: endmembers from the training samples - green vegetation = median leaf-on spectrum of
   forest samples, bark/litter = median leaf-off spectrum of deciduous samples, soil = median leaf-off
   spectrum of non-forest samples, photometric shade = 0 - unmix every sample's leaf-off spectrum
   (:func:`.unmix.fcls`), green fraction normalised by the non-shade fraction (Adams et al. 1995, Remote
   Sensing of Environment 52:137-154); :func:`.leaf_habit.learn_rule` on leaf-off RVI and that fraction of
   the forest samples;
3. **dominant species**: one balanced random forest per leaf-habit stratum on the species features
   (series values, phenology), trained on the stratum's forest samples.

Each level is scored on the samples that are its reference population (forest: all; leaf habit and
species: reference forest; species inside its *reference* stratum): the standard's per-level accuracies.
The **chained** species prediction (predicted forest -> predicted stratum -> that stratum's model, non-
forest where forest is not predicted) is scored on all samples as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import InputError
from ..model.cv import fold_splits
from ..parallel import map_ordered
from .accuracy import confusion_matrix, sample_accuracy
from .classifier import fit_forest, fit_species, predict_labels
from .leaf_habit import DECIDUOUS, EVERGREEN, LeafHabitRule, learn_rule
from .unmix import fcls

NONFOREST = "nonforest"


def green_fraction(leaf_off: np.ndarray, leaf_on: np.ndarray, forest: np.ndarray, evergreen: np.ndarray,
                   train: np.ndarray) -> np.ndarray:
    """Shade-normalised green-vegetation fraction of the leaf-off spectra, endmembers from ``train`` samples."""
    gv = np.nanmedian(leaf_on[train & forest], axis=0)
    npv = np.nanmedian(leaf_off[train & forest & ~evergreen], axis=0)
    soil = np.nanmedian(leaf_off[train & ~forest], axis=0)
    E = np.column_stack([gv, npv, soil, np.zeros_like(gv)])
    F, _ = fcls(leaf_off, E)
    with np.errstate(invalid="ignore", divide="ignore"):
        return F[:, 0] / (1.0 - F[:, 3])


def _cv_fold(data: tuple, split: tuple[np.ndarray, np.ndarray]) -> tuple:
    """One fold of :func:`hierarchical_cv`: the test rows and their forest, leaf-habit, species (reference
    stratum) and chained species predictions, and the fold's leaf-habit rule (as a dict)."""
    fX, forest, rvi, off, on, evergreen, sX, sp, n_estimators, seed, species_learner = data
    n = len(forest)
    tr_idx, _ = split
    tr = np.zeros(n, bool)
    tr[tr_idx] = True
    te = ~tr
    pf = np.empty(n, dtype=object)
    pe = np.zeros(n, dtype=bool)
    ps_ref = np.empty(n, dtype=object)
    ps_chain = np.empty(n, dtype=object)
    m_f = fit_forest(fX[tr], np.where(forest[tr], "forest", NONFOREST), n_estimators, seed)
    pf[te] = predict_labels(m_f, fX[te])
    gv = green_fraction(off, on, forest, evergreen, tr)
    rule = learn_rule(rvi[tr & forest], evergreen[tr & forest], gv[tr & forest])
    pe[te] = np.asarray(rule.is_evergreen(rvi[te], gv[te]), dtype=bool)
    models = {}
    for stratum, sel in ((True, evergreen), (False, ~evergreen)):
        trs = tr & forest & sel
        labels = np.unique(sp[trs])
        if labels.size == 0:
            continue
        models[stratum] = (fit_species(sX[trs], sp[trs], n_estimators, seed, species_learner)
                           if labels.size > 1 else labels[0])
    for stratum in (True, False):
        ref_rows = te & forest & (evergreen == stratum)
        chain_rows = te & (pf == "forest") & (pe == stratum)
        for rows, out in ((ref_rows, ps_ref), (chain_rows, ps_chain)):
            if not rows.any():
                continue
            mdl = models.get(stratum)
            if mdl is None:
                out[rows] = "unknown"
            elif isinstance(mdl, str):
                out[rows] = mdl
            else:
                out[rows] = predict_labels(mdl, sX[rows])
    ps_chain[te & (pf != "forest")] = NONFOREST
    return te, pf[te], pe[te], rule.to_dict(), ps_ref[te], ps_chain[te]


def hierarchical_cv(forest_X: np.ndarray, forest: Sequence[bool], rvi_off: np.ndarray, leaf_off: np.ndarray,
                    leaf_on: np.ndarray, evergreen: Sequence[bool], species_X: np.ndarray, species: Sequence,
                    groups: np.ndarray | None = None, folds: int = 5, seed: int = 0,
                    n_estimators: int = 200, species_learner: str = "rf") -> dict:
    """Cross-validate the hierarchy (see the module text).

    Parameters
    ----------
    forest_X : (n, p) forest features.  forest : reference forest (bool).
    rvi_off : (n,) leaf-off RVI.  leaf_off, leaf_on : (n, b) leaf-off and leaf-on spectra (reflectance).
    evergreen : reference leaf habit (bool; ignored off forest).  species_X : (n, q) species features.
    species : reference dominant species (ignored off forest).
    groups : spatial groups (None: random k-fold).
    species_learner : ``"rf"`` or ``"lda_rf"`` (:func:`.classifier.fit_species`).

    Returns
    -------
    dict with per-level ``forest``, ``leaf_habit``, ``species``, ``species_chained`` (sample accuracy dicts with
    ``confusion``) and the leaf-habit rules of the folds.
    """
    forest = np.asarray(forest, dtype=bool)
    evergreen = np.asarray(evergreen, dtype=bool) & forest
    sp = np.where(forest, np.asarray(species).astype(str), NONFOREST)
    arrays = [np.asarray(a, dtype=float) for a in (forest_X, rvi_off, leaf_off, leaf_on, species_X)]
    n = len(forest)
    if any(len(a) != n for a in arrays) or len(sp) != n:
        raise InputError("Every sample array of the hierarchy must have one row per sample.")
    fX, rvi, off, on, sX = arrays
    bad = ~(np.all(np.isfinite(fX), 1) & np.isfinite(rvi) & np.all(np.isfinite(off), 1) & np.all(np.isfinite(on), 1)
            & np.all(np.isfinite(sX), 1))
    if bad.any():
        raise InputError(f"{int(bad.sum())} samples have missing values (e.g. pixels without clear observations); "
                         f"drop them before cross-validating.")
    pf = np.empty(n, dtype=object)
    pe = np.zeros(n, dtype=bool)
    ps_ref = np.empty(n, dtype=object)
    ps_chain = np.empty(n, dtype=object)
    rules = []
    # folds are independent (each learns on its training samples only, seeded by `seed`, not by where it
    # runs): in threads, or as tasks on a dask.distributed cluster that adds cores; results in fold order
    data = (fX, forest, rvi, off, on, evergreen, sX, sp, n_estimators, seed, species_learner)
    for te, f_pf, f_pe, rule, f_ref, f_chain in map_ordered(_cv_fold, fold_splits(n, groups, folds, seed),
                                                             shared=(data,)):
        pf[te], pe[te], ps_ref[te], ps_chain[te] = f_pf, f_pe, f_ref, f_chain
        rules.append(rule)
    ref_f = np.where(forest, "forest", NONFOREST)
    ref_l = np.where(evergreen, EVERGREEN, DECIDUOUS)
    pred_l = np.where(pe, EVERGREEN, DECIDUOUS)

    def score(pred, ref, rows, classes):
        cm = confusion_matrix(pred[rows], ref[rows], classes)
        return {**sample_accuracy(cm), "confusion": {"classes": list(cm.index),
                                                     "rows_map_cols_reference": cm.to_numpy().tolist()}}

    sp_classes = sorted(set(sp[forest]) | set(ps_ref[forest].astype(str)))
    return {"n": int(n), "n_forest": int(forest.sum()), "scheme": "spatial" if groups is not None else "random",
            "folds": folds,
            "forest": score(pf, ref_f, np.ones(n, bool), ["forest", NONFOREST]),
            "leaf_habit": score(pred_l, ref_l, forest, [EVERGREEN, DECIDUOUS]),
            "species": score(ps_ref.astype(str), sp, forest, sp_classes),
            "species_chained": score(ps_chain.astype(str), sp, np.ones(n, bool),
                                     sorted(set(sp) | set(ps_chain.astype(str)))),
            "leaf_habit_rules": rules,
            # out-of-fold predictions of every sample (for area estimates from the CV; not JSON)
            "predictions": {"forest": pf.astype(str), "leaf_habit": pred_l, "species_chained": ps_chain.astype(str)}}


@dataclass
class Hierarchy:
    """The fitted hierarchy (all samples): forest model, leaf-habit rule and endmembers, species models."""

    forest_model: object
    rule: LeafHabitRule
    endmembers: np.ndarray
    """(bands, 4): green vegetation, bark/litter, soil, shade."""
    species_models: dict
    """True (evergreen) / False (deciduous) -> fitted forest, or a single label when the stratum has one."""
    species_classes: list[str]
    n_forest_features: int
    n_bands: int
    n_species_features: int


def fit_hierarchy(forest_X, forest, rvi_off, leaf_off, leaf_on, evergreen, species_X, species,
                  n_estimators: int = 200, seed: int = 0, species_learner: str = "rf") -> Hierarchy:
    """Fit every level on all samples (arguments as :func:`hierarchical_cv`)."""
    forest = np.asarray(forest, dtype=bool)
    evergreen = np.asarray(evergreen, dtype=bool) & forest
    sp = np.asarray(species).astype(str)
    fX, rvi, off, on, sX = (np.asarray(a, dtype=float) for a in (forest_X, rvi_off, leaf_off, leaf_on, species_X))
    allrows = np.ones(len(forest), bool)
    m_f = fit_forest(fX, np.where(forest, "forest", NONFOREST), n_estimators, seed)
    gv = np.nanmedian(on[forest], axis=0)
    npv = np.nanmedian(off[forest & ~evergreen], axis=0)
    soil = np.nanmedian(off[~forest], axis=0)
    E = np.column_stack([gv, npv, soil, np.zeros_like(gv)])
    g = green_fraction(off, on, forest, evergreen, allrows)
    rule = learn_rule(rvi[forest], evergreen[forest], g[forest])
    models: dict = {}
    for stratum, sel in ((True, evergreen), (False, forest & ~evergreen)):
        labels = np.unique(sp[sel])
        if labels.size == 1:
            models[stratum] = str(labels[0])
        elif labels.size > 1:
            models[stratum] = fit_species(sX[sel], sp[sel], n_estimators, seed, species_learner)
    classes = sorted(set(sp[forest]))
    return Hierarchy(m_f, rule, E, models, classes, fX.shape[1], off.shape[1], sX.shape[1])


def _map_block(z: np.ndarray, h: Hierarchy) -> np.ndarray:
    shape = z.shape[:-1]
    Z = z.reshape(-1, z.shape[-1]).astype(np.float64, copy=False)  # reshape copies the (y, x, band) view once
    a, b = h.n_forest_features, h.n_forest_features + 1
    fX, rvi, off, sX = Z[:, :a], Z[:, a], Z[:, b:b + h.n_bands], Z[:, b + h.n_bands:]
    out = np.zeros((Z.shape[0], 5), dtype=np.float32)
    out[:, 2] = -1
    out[:, 3:] = np.nan
    okf = np.all(np.isfinite(fX), axis=1)
    out[~okf, 0] = 255
    if okf.any():
        is_f = np.zeros(Z.shape[0], bool)
        is_f[okf] = predict_labels(h.forest_model, fX[okf]) == "forest"
        out[okf, 0] = is_f[okf].astype(np.float32)
        okl = is_f & np.isfinite(rvi) & np.all(np.isfinite(off), axis=1)
        if okl.any():
            F, _ = fcls(off[okl], h.endmembers)
            with np.errstate(invalid="ignore", divide="ignore"):
                gv = F[:, 0] / (1.0 - F[:, 3])
            ev = np.asarray(h.rule.is_evergreen(rvi[okl], gv), dtype=bool)
            out[okl, 1] = np.where(ev, 1, 2)
            evergreen = np.zeros(Z.shape[0], bool)
            evergreen[okl] = ev
            for stratum in (True, False):
                rows = okl & (evergreen == stratum) & np.all(np.isfinite(sX), axis=1)
                mdl = h.species_models.get(stratum)
                if not rows.any() or mdl is None:
                    continue
                if isinstance(mdl, str):
                    lab = np.full(int(rows.sum()), mdl)
                    out[rows, 3], out[rows, 4] = 1.0, 1.0
                else:
                    proba = mdl.predict_proba(sX[rows])
                    lab = np.asarray(mdl.class_names_)[np.argmax(proba, axis=1)]
                    top = np.sort(proba, axis=1)
                    out[rows, 3] = top[:, -1]
                    out[rows, 4] = top[:, -1] - (top[:, -2] if top.shape[1] > 1 else 0.0)
                out[rows, 2] = np.searchsorted(np.asarray(h.species_classes), lab)
    return out.reshape(*shape, 5)


def map_hierarchy(h: Hierarchy, forest_features: xr.DataArray, rvi_off: xr.DataArray, leaf_off: xr.DataArray,
                  species_features: xr.DataArray, band_dim: str = "band") -> xr.Dataset:
    """Forest, leaf-habit and species maps of a scene (numpy- or dask-backed, identical results).

    Inputs are (band, y, x) DataArrays on one grid (``rvi_off``: (y, x)), features in the order they were fitted.
    Returns a Dataset: ``forest`` (uint8: 1 forest, 0 not, 255 no data), ``leaf_habit`` (uint8: 1 evergreen,
    2 deciduous, 0 not forest / no data), ``species_index`` (int16 index into ``attrs['species_classes']``, -1
    none), ``species_probability`` (the stratum forest's probability of the mapped species) and ``margin`` (best
    minus second probability; float32, NaN where no species).
    """
    sizes = (forest_features.sizes[band_dim], leaf_off.sizes[band_dim], species_features.sizes[band_dim])
    if sizes != (h.n_forest_features, h.n_bands, h.n_species_features):
        raise InputError(f"The images have {sizes} (forest features, leaf-off bands, species features); the "
                         f"hierarchy was fitted on {(h.n_forest_features, h.n_bands, h.n_species_features)}.")
    parts = [forest_features.drop_vars(band_dim, errors="ignore"), rvi_off.expand_dims({band_dim: 1}),
             leaf_off.drop_vars(band_dim, errors="ignore"), species_features.drop_vars(band_dim, errors="ignore")]
    z = xr.concat([p.astype(np.float64) for p in parts], dim=band_dim, coords="minimal", compat="override")
    if z.chunks is not None:
        z = z.chunk({band_dim: -1})
    res = xr.apply_ufunc(_map_block, z, kwargs={"h": h}, input_core_dims=[[band_dim]], output_core_dims=[["_o"]],
                         dask="parallelized", output_dtypes=[np.float32],
                         dask_gufunc_kwargs={"output_sizes": {"_o": 5}})
    ds = xr.Dataset({"forest": res.isel(_o=0).astype(np.uint8), "leaf_habit": res.isel(_o=1).astype(np.uint8),
                     "species_index": res.isel(_o=2).astype(np.int16),
                     "species_probability": res.isel(_o=3), "margin": res.isel(_o=4)}).drop_vars("_o", errors="ignore")
    ds.attrs = {"species_classes": ",".join(h.species_classes), **{f"leaf_habit_{k}": str(v)
                                                                   for k, v in h.rule.to_dict().items()}}
    return ds
