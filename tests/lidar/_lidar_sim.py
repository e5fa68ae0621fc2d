"""Helpers of the lidar tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_stand(n: int, seed: int, half: float = 15.0, species=("油松", "刺槐"), min_spacing: float = 1.5,
               dbh_median: float = 18.0) -> pd.DataFrame:
    """A random stand of ``n`` trees in a square plot of side ``2 * half`` around the scanner.

    DBH log-normal around ``dbh_median`` (cm); height from a Chapman-Richards
    curve of DBH with 8 % noise (m).  Trees keep ``min_spacing`` m from each
    other and 1.5 m from the scanner.
    """
    rng = np.random.default_rng(seed)
    pos: list[np.ndarray] = []
    while len(pos) < n:
        p = rng.uniform(-half + 0.3, half - 0.3, 2)
        if np.hypot(*p) < 1.5:
            continue
        if all(np.hypot(*(p - q)) > min_spacing for q in pos):
            pos.append(p)
    xy = np.array(pos)
    dbh = np.clip(rng.lognormal(np.log(dbh_median), 0.35, n), 6, 55)
    h = np.clip(1.3 + 25 * (1 - np.exp(-0.05 * dbh)) * rng.normal(1, 0.08, n), 3, 30)
    return pd.DataFrame({"tree_id": np.arange(1, n + 1), "x_local_m": xy[:, 0], "y_local_m": xy[:, 1],
                         "species": rng.choice(species, n), "dbh_cm": dbh.round(1), "height_m": h.round(2)})
