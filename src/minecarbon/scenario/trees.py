"""Simulated tree tallies (每木检尺) whose plot AGC matches the pixel truth.

For a plot with true AGC ``A`` (t C/ha) in its survey year, trees are drawn
one after the other:

* species: the dominant species of the stand (90 % in young stands and
  plantations, 75 % in natural stands, 55 % in mixed forest) and companions
  typical of it (in mixed forest mostly the other partner of the pine-oak
  mix);
* stem density (trees/ha): ``2200 * exp(-0.025 * age)`` within 450-2500
  (self-thinning), times U(0.8, 1.2), times 0.35 in sparse forest;
* DBH (cm): Weibull with shape 3 (plantations) or 2 (natural stands),
  truncated to 5-60 cm (1-60 cm in young stands whose scale is below 10 cm);
  the scale is solved (bisection) so that the expected tree AGC times the
  stem density gives the plot's AGC, so tree sizes fit the stand;
* height (m): ``1.3 + (Hmax - 1.3) * (1 - exp(-b D)) ** c`` of the species,
  times a log-normal error (sd 8 %), at least 1.5 m;
* position: uniform in the square plot, at least ~0.6-1 m from other trees.

Their AGC is computed with the project's own allometry (the equations and
carbon fractions of :class:`minecarbon.allometry.AllometryTable` with the
project file's carbon-fraction override) on the values as written (1 decimal); the tally stops at the
number of trees whose plot AGC is closest to ``A``.  Plots with ``A`` below
0.5 t C/ha get no trees.  Species are written in Chinese or, on about a
quarter of the sheets, in Latin, as real field sheets are.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..allometry import AllometryTable
from .landscape import MIXED, SPARSE
from .species import BY_CODE, COMPANIONS, LATIN_ON_SHEETS, OAK, PINE, POPLAR, ROBINIA

MIN_AGC_FOR_TREES_T_HA = 0.5
MAX_TREES = 5000
TREE_COLUMNS = ["plot_id", "tree_id", "species", "dbh_cm", "height_m", "x_local_m", "y_local_m"]


def _species_mix(dominant: int, forest_type: int, age_yr: float) -> tuple[list[int], list[float]]:
    comp = list(COMPANIONS.get(dominant, ()))
    if forest_type == MIXED:
        partner = OAK if dominant == PINE else PINE
        others = [c for c in comp if c != partner]
        codes = [dominant, partner] + others
        rest = 0.45
        probs = [0.55, rest * 0.8] + [rest * 0.2 / max(1, len(others))] * len(others)
        return codes, probs
    share = 0.9 if (dominant in (ROBINIA, POPLAR) or age_yr < 15) else 0.75
    probs = [share] + [(1 - share) / max(1, len(comp))] * len(comp)
    return [dominant] + comp, probs if comp else [1.0]


def _positions(n: int, side_m: float, rng: np.random.Generator) -> np.ndarray:
    """Dart-throwing tree positions (m) in a square centred on 0."""
    if n == 0:
        return np.zeros((0, 2))
    r_min = min(1.0, 0.45 * side_m / np.sqrt(n))
    pts = np.empty((n, 2))
    k = 0
    tries = 0
    while k < n:
        cand = rng.uniform(-side_m / 2, side_m / 2, 2)
        tries += 1
        if k == 0 or np.min(np.hypot(*(pts[:k] - cand).T)) >= r_min or tries > 60 * n:
            pts[k] = cand
            k += 1
    return pts


def _weibull_shape(dominant: int, age_yr: float) -> float:
    return 3.0 if (dominant in (ROBINIA, POPLAR) or age_yr < 15) else 2.0


def _lower_dbh_cm(scale_cm: float) -> float:
    return 5.0 if scale_cm >= 10.0 else 1.0


def _truncated_weibull_quantiles(p: np.ndarray, scale: float, shape: float, lo: float,
                                 hi: float = 60.0) -> np.ndarray:
    cdf = lambda x: 1.0 - np.exp(-(x / scale) ** shape)
    q = cdf(lo) + p * (cdf(hi) - cdf(lo))
    return scale * (-np.log1p(-np.clip(q, 0.0, 1.0 - 1e-12))) ** (1.0 / shape)


def _heights_m(codes: np.ndarray, dbh_cm: np.ndarray) -> np.ndarray:
    hmax = np.array([BY_CODE[c].hmax_m for c in codes])
    b = np.array([BY_CODE[c].hd_b for c in codes])
    c = np.array([BY_CODE[c].hd_c for c in codes])
    return 1.3 + (hmax - 1.3) * (1.0 - np.exp(-b * dbh_cm)) ** c


def stem_density_per_ha(age_yr: float, forest_type: int, rng: np.random.Generator) -> float:
    """Simulated stem density (trees/ha) of a stand (self-thinning with age)."""
    n = float(np.clip(2200.0 * np.exp(-0.025 * age_yr), 450.0, 2500.0)) * rng.uniform(0.8, 1.2)
    return n * (0.35 if forest_type == SPARSE else 1.0)


class TreeCarbon:
    """Vectorised tree AGC (kg C) per species code, from an allometry table.

    The same equations and carbon fractions as
    :meth:`minecarbon.allometry.AllometryTable.tree_biomass`, without its
    per-call bookkeeping (this is called thousands of times).
    """

    def __init__(self, table: AllometryTable) -> None:
        self._eqs = {}
        for s in BY_CODE.values():
            group = table.resolve(s.name_zh)
            self._eqs[s.code] = (table.equations_for(group), table.carbon_fraction(group)[0])

    def agc_kg(self, codes: np.ndarray, dbh_cm: np.ndarray, height_m: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes)
        out = np.zeros(codes.shape)
        for code in np.unique(codes):
            idx = codes == code
            eqs, cf = self._eqs[int(code)]
            out[idx] = cf * sum(e.biomass_kg(dbh_cm[idx], height_m[idx]) for e in eqs)
        return out


def solve_dbh_scale(tree_agc_kg: float, dominant: int, forest_type: int, age_yr: float,
                    carbon: TreeCarbon) -> float:
    """Weibull DBH scale (cm) whose expected tree AGC (kg C) is ``tree_agc_kg`` (bisection)."""
    codes, probs = _species_mix(dominant, forest_type, age_yr)
    w = np.asarray(probs) / np.sum(probs)
    shape = _weibull_shape(dominant, age_yr)
    p = (np.arange(40) + 0.5) / 40.0
    sp = np.repeat(codes, p.size)
    weights = np.repeat(w, p.size) / p.size

    def mean_agc(scale: float) -> float:
        d = np.tile(_truncated_weibull_quantiles(p, scale, shape, _lower_dbh_cm(scale)), len(codes))
        agc = carbon.agc_kg(sp, d, _heights_m(sp, d))
        return float(np.sum(agc * weights))

    lo, hi = np.log(1.5), np.log(45.0)
    for _ in range(22):
        mid = 0.5 * (lo + hi)
        if mean_agc(float(np.exp(mid))) < tree_agc_kg:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def draw_trees(n: int, dominant: int, forest_type: int, age_yr: float, rng: np.random.Generator,
               scale_cm: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` trees: species codes, DBH (cm, 1 decimal) and height (m, 1 decimal).

    ``scale_cm`` is the Weibull DBH scale (default ``clip(1.5 + 0.5 age, 3, 30)``).
    """
    codes, probs = _species_mix(dominant, forest_type, age_yr)
    sp = rng.choice(np.asarray(codes), size=n, p=np.asarray(probs) / np.sum(probs))
    scale = float(np.clip(1.5 + 0.5 * age_yr, 3.0, 30.0)) if scale_cm is None else scale_cm
    lo = _lower_dbh_cm(scale)
    shape = _weibull_shape(dominant, age_yr)
    dbh = np.empty(0)
    while dbh.size < n:
        d = scale * rng.weibull(shape, 2 * n + 16)
        dbh = np.concatenate([dbh, d[(d >= lo) & (d <= 60.0)]])
    dbh = np.round(dbh[:n], 1)
    h = _heights_m(sp, dbh) * np.exp(rng.normal(0.0, 0.08, n))
    return sp, dbh, np.round(np.maximum(h, 1.5), 1)


def tally_plot(plot_id: str, target_agc_t_ha: float, dominant: int, forest_type: int, age_yr: float,
               plot_side_m: float, carbon: TreeCarbon, rng: np.random.Generator,
               latin: bool = False) -> tuple[pd.DataFrame, float]:
    """Tree tally of one plot whose AGC best matches ``target_agc_t_ha``.

    Returns
    -------
    (trees, agc_tally_t_ha) : trees with :data:`TREE_COLUMNS` (local coordinates
        in m from the plot centre, x east, y north) and their plot AGC (t C/ha).
    """
    area_ha = plot_side_m ** 2 / 10_000.0
    target_kg = target_agc_t_ha * area_ha * 1000.0
    if target_agc_t_ha < MIN_AGC_FOR_TREES_T_HA or dominant == 0:
        return pd.DataFrame(columns=TREE_COLUMNS), 0.0
    n_expected = max(1.0, stem_density_per_ha(age_yr, forest_type, rng) * area_ha)
    scale = solve_dbh_scale(target_kg / n_expected, dominant, forest_type, age_yr, carbon)
    sp_all, dbh_all, h_all, c_all = [], [], [], []
    total = 0.0
    batch = 64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while total < 1.05 * target_kg and sum(len(x) for x in sp_all) < MAX_TREES:
            sp, dbh, h = draw_trees(batch, dominant, forest_type, age_yr, rng, scale)
            agc_kg = carbon.agc_kg(sp, dbh, h)
            sp_all.append(sp)
            dbh_all.append(dbh)
            h_all.append(h)
            c_all.append(agc_kg)
            total += float(agc_kg.sum())
            batch = min(512, batch * 2)
    sp = np.concatenate(sp_all)
    dbh = np.concatenate(dbh_all)
    h = np.concatenate(h_all)
    cum = np.concatenate([[0.0], np.cumsum(np.concatenate(c_all))])
    n = int(np.argmin(np.abs(cum - target_kg)))
    pos = _positions(n, plot_side_m, rng)
    names = [LATIN_ON_SHEETS[BY_CODE[s].name_zh] if latin else BY_CODE[s].name_zh for s in sp[:n]]
    trees = pd.DataFrame({
        "plot_id": plot_id,
        "tree_id": [f"{plot_id}-T{i + 1:03d}" for i in range(n)],
        "species": names,
        "dbh_cm": dbh[:n],
        "height_m": h[:n],
        "x_local_m": np.round(pos[:, 0], 2),
        "y_local_m": np.round(pos[:, 1], 2),
    }, columns=TREE_COLUMNS)
    return trees, float(cum[n] / area_ha / 1000.0)
