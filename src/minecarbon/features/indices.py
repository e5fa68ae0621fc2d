"""Spectral indices, defined once in ``minecarbon/data/spectral_indices.csv``.

Each row gives the index name, its formula in common band names (``blue``,
``green``, ``red``, ``rededge1..3``, ``nir``, ``swir1``, ``swir2``), its
constants (``L=0.5;g=2.5``), units, reference, where the formula was checked
and a note.  Formulas follow ``DOMAIN.md`` section 2.3 (awesome-spectral-indices
definitions) with two pinned choices:

* **RVI = NIR / Red** (the meaning in Chinese forestry use; awesome-spectral-
  indices calls this SR and defines RVI = RE2/Red, RStoolbox Red/NIR);
* **ARVI** follows Kaufman & Tanre (1992), ``rho_rb = R - gamma (B - R)``,
  i.e. ``(N - 2R + B) / (N + 2R - B)`` at gamma = 1.

Formulas are parsed into a whitelisted expression tree (numbers, band and
constant names, ``+ - * / **``, unary minus, ``sqrt``/``abs``); nothing is
``eval``-ed.  The tree is evaluated on numpy blocks (one dask task per chunk
and index), in float64, and stored as float32; a zero denominator or a
negative square root gives NaN.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError
from .sensors import COMMON_NAMES


@dataclass(frozen=True)
class SpectralIndex:
    """One row of ``spectral_indices.csv``."""

    name: str
    long_name: str
    formula: str
    constants: dict[str, float]
    units: str
    reference: str
    verified_in: str
    status: str
    note: str
    bands: tuple[str, ...]
    """Common band names the formula uses, in order of first appearance."""


def _quiet(ufunc):  # used by the tasseled cap
    """``ufunc`` applied without floating-point warnings, also when a dask graph runs later."""

    def inner(*args):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return ufunc(*args)

    def apply(*args):
        if not any(isinstance(a, xr.DataArray) for a in args):
            return inner(*args)
        return xr.apply_ufunc(inner, *args, dask="parallelized", output_dtypes=[np.float64], keep_attrs=True)

    return apply


_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}
_FUNCS = {"sqrt": np.sqrt, "abs": np.abs}


def _check_tree(node: ast.AST, name: str, consts: Mapping[str, float]) -> list[str]:
    """Validate a parsed formula; return the band names it uses."""
    bands: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, (ast.Expression, ast.Load, ast.operator, ast.unaryop)):
            if isinstance(n, ast.operator) and type(n) not in _BINOPS:
                raise ValueError(f"index {name}: operator {type(n).__name__} not allowed")
            if isinstance(n, ast.unaryop) and not isinstance(n, (ast.USub, ast.UAdd)):
                raise ValueError(f"index {name}: unary {type(n).__name__} not allowed")
            continue
        if isinstance(n, (ast.BinOp, ast.UnaryOp)):
            continue
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            continue
        if isinstance(n, ast.Call):
            if not (isinstance(n.func, ast.Name) and n.func.id in _FUNCS and len(n.args) == 1 and not n.keywords):
                raise ValueError(f"index {name}: only sqrt(x) and abs(x) calls are allowed")
            continue
        if isinstance(n, ast.Name):
            if n.id in _FUNCS:
                continue
            if n.id in consts:
                continue
            if n.id in COMMON_NAMES:
                if n.id not in bands:
                    bands.append(n.id)
                continue
            raise ValueError(f"index {name}: unknown name {n.id!r} (not a band or constant)")
        raise ValueError(f"index {name}: element {type(n).__name__} not allowed")
    return bands


def _parse_constants(text: Any) -> dict[str, float]:
    if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
        return {}
    out = {}
    for part in str(text).split(";"):
        k, v = part.split("=")
        out[k.strip()] = float(v)
    return out


@functools.cache
def index_table() -> dict[str, SpectralIndex]:
    """All shipped spectral indices, by upper-case name."""
    path = resources.files("minecarbon") / "data" / "spectral_indices.csv"
    with path.open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    out: dict[str, SpectralIndex] = {}
    for r in df.itertuples(index=False):
        consts = _parse_constants(r.constants)
        tree = ast.parse(r.formula, mode="eval")
        bands = _check_tree(tree, r.name, consts)
        out[r.name.upper()] = SpectralIndex(name=r.name, long_name=r.long_name, formula=r.formula,
                                            constants=consts, units=r.units, reference=r.reference,
                                            verified_in=r.verified_in, status=r.status, note=r.note,
                                            bands=tuple(bands))
    return out


class _IndexView(Mapping[str, SpectralIndex]):
    """Read-only mapping name -> :class:`SpectralIndex`, loaded lazily from the table."""

    def __getitem__(self, key: str) -> SpectralIndex:
        return index_table()[key.upper()]

    def __iter__(self):
        return iter(index_table())

    def __len__(self) -> int:
        return len(index_table())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.upper() in index_table()


INDICES: Mapping[str, SpectralIndex] = _IndexView()
"""The shipped spectral indices (name -> :class:`SpectralIndex`)."""


def get_index(name: str) -> SpectralIndex:
    """An index by name (case-insensitive); unknown names raise :class:`InputError`."""
    key = str(name).strip().upper()
    table = index_table()
    if key not in table:
        raise InputError(f"Unknown spectral index {name!r}; known: {', '.join(table)}. "
                         f"Fix [features].indices in the project file (or --indices).")
    return table[key]


def index_bands(name: str) -> tuple[str, ...]:
    """Common band names an index needs."""
    return get_index(name).bands


def _evaluate(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, ast.UnaryOp):
        v = _evaluate(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.Call):
        return _FUNCS[node.func.id](_evaluate(node.args[0], env))  # type: ignore[attr-defined]
    raise ValueError(f"cannot evaluate {type(node).__name__}")  # unreachable: checked on load


def spectral_index(bands: Mapping[str, xr.DataArray], name: str,
                   constants: Mapping[str, float] | None = None) -> xr.DataArray:
    """Compute one spectral index from named reflectance bands.

    Parameters
    ----------
    bands : common band name -> (y, x) reflectance (unitless, 0-1).
    name : index name (case-insensitive), a row of ``spectral_indices.csv``.
    constants : override the table's constants (e.g. ``{"L": 1.0}`` for SAVI).

    Returns
    -------
    xarray.DataArray
        float32, named after the index; NaN where the formula is undefined
        (zero denominator, negative square root) or an input is NaN.

    Raises
    ------
    InputError
        Unknown index, or a band it needs is missing (the message names both).
    """
    idx = get_index(name)
    missing = [b for b in idx.bands if b not in bands]
    if missing:
        raise InputError(f"Index {idx.name} needs band(s) {', '.join(missing)}, which the image does not "
                         f"have (available: {', '.join(bands) or 'none'}). Map them in [images].bands "
                         f"(or --bands), or drop {idx.name} from the index list.")
    consts = dict(idx.constants)
    if constants:
        consts.update({k: float(v) for k, v in constants.items()})
    tree = ast.parse(idx.formula, mode="eval")

    def compute(*arrays: np.ndarray) -> np.ndarray:
        env: dict[str, Any] = {b: np.asarray(a, dtype=np.float64) for b, a in zip(idx.bands, arrays)}
        env.update(consts)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            v = np.asarray(_evaluate(tree, env), dtype=np.float64)
            return np.where(np.isfinite(v), v, np.nan).astype(np.float32)

    # one blockwise task per index and chunk (the whole formula runs on numpy blocks)
    out = xr.apply_ufunc(compute, *[bands[b] for b in idx.bands], dask="parallelized",
                         output_dtypes=[np.float32], keep_attrs=True)
    out.attrs = {"long_name": idx.long_name, "units": idx.units}
    return out.rename(idx.name)


def spectral_indices(bands: Mapping[str, xr.DataArray], names: list[str] | tuple[str, ...]) -> xr.DataArray:
    """Several indices stacked on a ``band`` dimension named after the indices."""
    layers = [spectral_index(bands, n) for n in names]
    return xr.concat(layers, dim="band").assign_coords(band=[str(layer.name) for layer in layers])
