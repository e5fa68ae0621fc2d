"""Wall-to-wall prediction of fitted models over a feature stack, blockwise on dask.

Each dask block of the (band, y, x) stack becomes a (pixels, features) table;
pixels with any non-finite feature, outside the mask, or of a forest type
without a model stay NaN.  Blocks are independent, so peak memory is bounded by
the chunk size and the result does not depend on the chunking.  Models should
predict single-threaded (:func:`.learners.single_thread`): parallelism comes
from the blocks, and results are then bit-identical from run to run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputError


def check_features(stack: xr.DataArray, names: Sequence[str], what: str = "feature stack") -> xr.DataArray:
    """The stack's bands in the order ``names``; an error naming missing and extra features otherwise.

    Raises
    ------
    InputError
        The stack's band names differ (as a set) from the model's features.
    """
    got = [str(b) for b in stack["band"].values]
    missing = [n for n in names if n not in got]
    extra = [n for n in got if n not in names]
    if missing or extra:
        src = stack.attrs.get("source_path", what)
        raise InputError(f"{what} {src} does not match the model's features: missing {', '.join(missing) or 'none'}; "
                         f"not used by the model {', '.join(extra) or 'none'}. The model was trained on "
                         f"{', '.join(names)}. Re-run the features and model stages together "
                         f"(minecarbon run --force --stages features,model,map) or use a model trained on these "
                         f"features.")
    return stack if got == list(names) else stack.sel(band=list(names))


def _predict_block(feat: np.ndarray, types: np.ndarray | None, mask: np.ndarray | None,
                   models: Mapping[Any, Any], default: Any) -> np.ndarray:
    nb = feat.shape[0]
    shape = feat.shape[1:]
    ok = np.isfinite(feat).all(axis=0).reshape(-1)  # on the band-major block: contiguous, fast
    if mask is not None:
        ok &= mask.reshape(-1).astype(bool)
    out = np.full(ok.size, np.nan, dtype=np.float32)
    n_ok = int(np.count_nonzero(ok))
    if n_ok == 0:
        return out.reshape(shape)
    flat = feat.reshape(nb, -1).T  # (pixels, features) view; the learners convert it as they need
    if types is None:
        groups = [(default, None)]
    else:
        t = types.reshape(-1)
        tv = t[ok] if n_ok < ok.size else t
        codes = tv[:1] if tv.min() == tv.max() else np.unique(tv)  # min == max: one class, no sort
        groups = [(models.get(c.item() if hasattr(c, "item") else c, default), c) for c in codes]
        if len(groups) == 1:  # one class in the block: no per-class selection needed
            groups = [(groups[0][0], None)]
    for model, code in groups:
        if model is None:
            continue
        sel = ok if code is None else ok & (t == code)
        if code is None and n_ok == ok.size:
            out[:] = model.predict(flat)  # every pixel valid: no gather, no scatter
        else:
            out[sel] = model.predict(flat[sel])
    return out.reshape(shape)


def predict_by_type(stack: xr.DataArray, models: Mapping[Any, Any] | None = None, default: Any = None,
                    types: xr.DataArray | None = None, mask: xr.DataArray | None = None) -> xr.DataArray:
    """Apply one model per class (e.g. forest type) to every pixel of a (band, y, x) stack.

    Parameters
    ----------
    stack : features, bands in the order the models expect (see :func:`check_features`).
    models : class code -> fitted regressor.
    default : regressor for classes not in ``models`` (None: those pixels are NaN).
    types : (y, x) class codes (e.g. forest types); None: ``default`` everywhere.
    mask : (y, x) bool; pixels outside are NaN.

    Returns
    -------
    (y, x) float32 DataArray with the coordinates, CRS and attributes of the stack.
    """
    models = dict(models or {})
    if types is None and default is None:
        raise ValueError("predict_by_type needs a default model when no class map is given")
    template = stack.isel(band=0, drop=True)
    nb = stack.sizes["band"]
    data = stack.data
    if hasattr(data, "map_blocks"):
        import dask.array as da

        data = data.rechunk({0: nb})
        spatial = data.chunks[1:]
        extra = []
        for arr in (types, mask):
            if arr is None:
                continue
            a = arr.data
            a = a.rechunk(spatial) if hasattr(a, "rechunk") else da.from_array(np.asarray(a), chunks=spatial)
            extra.append(a[None, ...])
        has_t, has_m = types is not None, mask is not None

        def _block(f, *rest):
            rest = list(rest)
            t = rest.pop(0)[0] if has_t else None
            m = rest.pop(0)[0] if has_m else None
            return _predict_block(f, t, m, models, default)

        out = da.map_blocks(_block, data, *extra, drop_axis=0, dtype=np.float32)
    else:
        out = _predict_block(np.asarray(data), None if types is None else np.asarray(types),
                             None if mask is None else np.asarray(mask), models, default)
    res = template.copy(data=out).astype("float32")
    res.attrs = dict(stack.attrs)
    res.attrs.pop("long_name", None)
    return res


def predict_stack(model, stack: xr.DataArray, mask: xr.DataArray | None = None) -> xr.DataArray:
    """Apply one fitted regressor to every pixel of a (band, y, x) stack, blockwise on dask.

    Pixels with any NaN feature, or outside ``mask`` (bool y, x), become NaN.
    """
    return predict_by_type(stack, default=model, mask=mask)


def unit_totals(agc: xr.DataArray, layers: xr.DataArray | None, zones: xr.DataArray, pixel_area_ha: float,
                max_code: int = 255) -> dict[str, np.ndarray]:
    """Per-zone pixel count and sums (t C) of AGC density and its interval ends.

    Parameters
    ----------
    agc : (y, x) AGC density (t C/ha).
    layers : (band, y, x) with bands ``agc_sd_t_ha``, ``agc_lo_t_ha``, ``agc_hi_t_ha`` (or None).
    zones : (y, x) integer zone codes 0..max_code (e.g. assessment units; 0 is a zone like any other).
    pixel_area_ha : area of one pixel (ha).

    Returns
    -------
    dict of arrays indexed by zone code: ``n_px`` (pixels with a finite AGC),
    ``agc_t`` (Σ density × area), ``lo_t`` and ``hi_t`` (Σ interval ends × area: the
    interval of the total when pixel errors are fully correlated - conservative),
    ``sd_indep_t`` (√Σ (sd × area)²: independent pixel errors - a lower bound).
    Computed lazily per dask block, so the maps are never loaded whole.
    """
    import dask.array as da

    def arr(x):
        d = x.data
        return d if hasattr(d, "dask") else da.from_array(np.asarray(d), chunks=(1024, 1024))

    z = arr(zones).astype(np.int64).ravel()
    a = arr(agc).ravel().astype(np.float64)
    ok = da.isfinite(a) & (z >= 0) & (z <= max_code)
    zc = da.where(ok, z, max_code + 1)
    n = max_code + 2
    out = {"n_px": da.bincount(zc, minlength=n),
           "agc_t": da.bincount(zc, weights=da.where(ok, a, 0.0), minlength=n) * pixel_area_ha}
    if layers is not None:
        sd, lo, hi = (arr(layers.sel(band=b)).ravel().astype(np.float64)
                      for b in ("agc_sd_t_ha", "agc_lo_t_ha", "agc_hi_t_ha"))
        out["lo_t"] = da.bincount(zc, weights=da.where(ok, lo, 0.0), minlength=n) * pixel_area_ha
        out["hi_t"] = da.bincount(zc, weights=da.where(ok, hi, 0.0), minlength=n) * pixel_area_ha
        out["sd_indep_t"] = da.sqrt(da.bincount(zc, weights=da.where(ok, sd, 0.0) ** 2, minlength=n)) * pixel_area_ha
    import dask

    vals = dask.compute(*out.values())
    return {k: np.asarray(v)[: max_code + 1] for k, v in zip(out, vals)}


