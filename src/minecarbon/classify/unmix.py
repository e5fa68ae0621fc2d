"""Fully constrained linear spectral unmixing (FCLS): non-negative fractions that sum to one.

Model: a pixel spectrum x (b bands) is a mix of p endmember spectra, the
columns of E (b x p): x = E a + e, with a >= 0 and sum(a) = 1 (Heinz & Chang
2001, IEEE TGRS 39(3):529-545). The fractions minimise ||E a - x||^2 under
both constraints.

Solver (exact, not iterative): the problem is a convex quadratic programme.
For every non-empty subset S of endmembers, the sum-to-one least-squares
solution with the others at zero comes from the KKT system

    [ 2 E_S'E_S   1 ] [a_S]   [2 E_S' x]
    [ 1'          0 ] [ mu] = [   1    ]

whose solution is affine in x, a_S = M_S x + c_S, with M_S and c_S computed
once. The optimum is the feasible (a_S >= 0) candidate of least residual:
the true optimum is the candidate of its own support, and every feasible
candidate is a feasible point. For p endmembers that is 2^p - 1 small
matrix products per pixel, in a numba kernel (p <= 10 allowed). The
KKT matrix is invertible exactly when [E; 1'] has full column rank; with
collinear endmembers the fractions are not identifiable and
:func:`unmix` raises :class:`InputError`.

Checked against scipy's SLSQP and against NNLS with the sum-to-one row
appended (Heinz & Chang's method) in ``tests/classify/test_unmix.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numba
import numpy as np
import xarray as xr

from ..errors import InputError

MAX_ENDMEMBERS = 10
COND_MAX = 1e10
"""Largest condition number of [E; 1'] (columns scaled) accepted: our choice, far from float64 round-off."""


def _check_endmembers(E: np.ndarray, names: Sequence[str]) -> None:
    b, p = E.shape
    if p < 2 or p > MAX_ENDMEMBERS:
        raise InputError(f"Unmixing needs 2 to {MAX_ENDMEMBERS} endmembers, not {p}.")
    if not np.all(np.isfinite(E)):
        raise InputError("Endmember spectra have missing or infinite values; give a value for every band.")
    A = np.vstack([E, np.ones((1, p)) * np.abs(E).max()])
    A = A / np.linalg.norm(A, axis=0, keepdims=True).clip(1e-300)
    s = np.linalg.svd(A, compute_uv=False)
    if s[-1] <= s[0] / COND_MAX:
        raise InputError(f"Endmembers {', '.join(names)} are collinear (with the sum-to-one row, [E; 1] has "
                         f"condition number {s[0] / max(s[-1], 1e-300):.3g} over {b} bands): their fractions "
                         f"cannot be told apart. Drop or replace an endmember, or use more bands.")


def _subset_solvers(E: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(indices, M_S (k x b), c_S (k,)) for every non-empty subset S."""
    p = E.shape[1]
    out = []
    for k in range(1, p + 1):
        for S in itertools.combinations(range(p), k):
            idx = np.array(S)
            Es = E[:, idx]
            K = np.zeros((k + 1, k + 1))
            K[:k, :k] = 2 * Es.T @ Es
            K[:k, k] = 1
            K[k, :k] = 1
            Kinv = np.linalg.pinv(K)
            out.append((idx, 2 * Kinv[:k, :k] @ Es.T, Kinv[:k, k]))
    return out


def _padded_solvers(E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The subset solvers as padded arrays for the kernel: M (nS, p, b), c (nS, p), in-subset mask (nS, p)."""
    b, p = E.shape
    subs = _subset_solvers(E)
    M = np.zeros((len(subs), p, b))
    c = np.zeros((len(subs), p))
    inS = np.zeros((len(subs), p), dtype=np.bool_)
    for s, (idx, Ms, cs) in enumerate(subs):
        M[s, idx] = Ms
        c[s, idx] = cs
        inS[s, idx] = True
    return M, c, inS


@numba.njit(cache=True, nogil=True)
def _fcls_kernel(X, E, M, c, inS, tol, frac, rmse):  # pragma: no cover - compiled
    n, b = X.shape
    nS, p = c.shape
    a = np.empty(p)
    for i in range(n):
        finite = True
        for j in range(b):
            if not np.isfinite(X[i, j]):
                finite = False
                break
        if not finite:
            for k in range(p):
                frac[i, k] = np.nan
            rmse[i] = np.nan
            continue
        best = np.inf
        for s in range(nS):
            ok = True
            for k in range(p):
                if inS[s, k]:
                    v = c[s, k]
                    for j in range(b):
                        v += M[s, k, j] * X[i, j]
                    if v < -tol:
                        ok = False
                        break
                    a[k] = max(v, 0.0)
                else:
                    a[k] = 0.0
            if not ok:
                continue
            err = 0.0
            for j in range(b):
                r = X[i, j]
                for k in range(p):
                    r -= E[j, k] * a[k]
                err += r * r
            if err < best:
                best = err
                tot = 0.0
                for k in range(p):
                    tot += a[k]
                for k in range(p):
                    frac[i, k] = a[k] / tot
        rmse[i] = np.sqrt(best / b)


def fcls(X: np.ndarray, E: np.ndarray, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of pixel spectra ``X`` (n, b) for endmembers ``E`` (b, p): returns (fractions (n, p), rmse (n,)).

    Pixels with any non-finite band get NaN. ``tol``: a candidate fraction down to -tol counts as 0
    (round-off of the KKT solution).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    E = np.ascontiguousarray(E, dtype=np.float64)
    M, c, inS = _padded_solvers(E)
    frac = np.empty((X.shape[0], E.shape[1]))
    rmse = np.empty(X.shape[0])
    _fcls_kernel(X, E, M, c, inS, tol, frac, rmse)
    return frac, rmse


def _block(x: np.ndarray, E: np.ndarray) -> np.ndarray:
    # x: (..., b) -> (..., p + 1): fractions then rmse
    shape = x.shape[:-1]
    frac, rmse = fcls(x.reshape(-1, x.shape[-1]), E)
    return np.concatenate([frac, rmse[:, None]], axis=1).reshape(*shape, E.shape[1] + 1).astype(np.float32)


def unmix(spectra: xr.DataArray, endmembers: xr.DataArray, band_dim: str = "band") -> xr.DataArray:
    """Fully constrained unmixing of an image (numpy- or dask-backed).

    Parameters
    ----------
    spectra : DataArray with a ``band_dim`` dimension (reflectances; any other dims, e.g. y, x).
    endmembers : DataArray (``endmember``, ``band_dim``): one spectrum per endmember, bands matched by
        coordinate label when both carry labels on ``band_dim``, else by position.

    Returns
    -------
    DataArray (``component``, other dims...) float32: one fraction per endmember (0..1, summing to 1), then
    ``rmse`` (root-mean-square residual over the bands, the units of the spectra). NaN where any band is NaN.
    """
    if band_dim not in spectra.dims:
        raise InputError(f"The image has no '{band_dim}' dimension (it has {', '.join(map(str, spectra.dims))}).")
    if "endmember" not in endmembers.dims or band_dim not in endmembers.dims:
        raise InputError(f"Endmembers need dimensions ('endmember', '{band_dim}'), not {endmembers.dims}.")
    if band_dim in spectra.coords and band_dim in endmembers.coords:
        missing = [str(b) for b in spectra[band_dim].values if b not in set(endmembers[band_dim].values)]
        if missing:
            raise InputError(f"Endmember spectra lack band(s) {', '.join(missing)} of the image; give every band.")
        endmembers = endmembers.sel({band_dim: spectra[band_dim].values})
    elif endmembers.sizes[band_dim] != spectra.sizes[band_dim]:
        raise InputError(f"Endmembers have {endmembers.sizes[band_dim]} bands, the image {spectra.sizes[band_dim]}.")
    names = [str(v) for v in endmembers["endmember"].values] if "endmember" in endmembers.coords else \
        [f"em{i}" for i in range(endmembers.sizes["endmember"])]
    E = np.asarray(endmembers.transpose(band_dim, "endmember").values, dtype=np.float64)
    _check_endmembers(E, names)
    if spectra.chunks is not None:
        spectra = spectra.chunk({band_dim: -1})
    out = xr.apply_ufunc(_block, spectra, kwargs={"E": E}, input_core_dims=[[band_dim]],
                         output_core_dims=[["component"]], dask="parallelized", output_dtypes=[np.float32],
                         dask_gufunc_kwargs={"output_sizes": {"component": len(names) + 1}})
    out = out.assign_coords(component=names + ["rmse"])
    dims = ["component"] + [d for d in spectra.dims if d != band_dim]
    out = out.transpose(*dims)
    out.name = "unmixing"
    out.attrs = {"method": "fully constrained least squares (non-negative, sum-to-one)",
                 "reference": "Heinz & Chang 2001, IEEE TGRS 39(3):529-545"}
    return out


def endmembers_from_samples(spectra: np.ndarray, labels: Sequence, band_names: Sequence[str],
                            min_samples: int = 3) -> xr.DataArray:
    """Endmember spectra as the per-class median of sample spectra (n, b) labelled ``labels``."""
    X = np.asarray(spectra, dtype=float)
    lab = np.asarray([str(v) for v in labels])
    classes = sorted(set(lab))
    rows = []
    for c in classes:
        sel = X[(lab == c) & np.all(np.isfinite(X), axis=1)]
        if len(sel) < min_samples:
            raise InputError(f"Endmember '{c}' has {len(sel)} usable sample(s); at least {min_samples} are needed "
                             f"for its median spectrum. Add samples or give its spectrum.")
        rows.append(np.median(sel, axis=0))
    return xr.DataArray(np.array(rows), dims=("endmember", "band"),
                        coords={"endmember": classes, "band": list(band_names)})
