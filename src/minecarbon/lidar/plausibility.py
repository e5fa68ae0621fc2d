"""Is a TLS plot's tree list plausible?  Units (feet) and cut scans, against the plot's tape tally.

A scan exported in feet gives trees 3.28 times too tall and too thick (mean
DBH 100 cm, 40 m trees); a scan whose lower part was cut off (no ground)
measures heights from the cut and DBH above breast height (half the carbon).
Both run without an error.  :func:`tls_plausibility` compares the median DBH
and height of the scanned in-plot trees with those of the same plot's tally
(tape tally or tree table) and with absolute limits, and returns what is
implausible, in words, naming the scan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FEET_PER_M", "RATIO_RANGE", "agc_plausibility", "tls_plausibility"]

FEET_PER_M = 3.28084
RATIO_RANGE = (0.7, 1.6)
"""Median TLS / tally ratio (DBH or height) outside this range is implausible (our choice: TLS heights and DBH
agree with tape and hypsometer within about 10-20 % in published comparisons; a factor 1.6 or 0.7 is no
measurement difference but a unit or a missing part of the scan)."""
AGC_MIN_RATIO = 0.6
"""A scanned plot's AGC below this share of its tally's AGC is implausible (our choice; see agc_plausibility)."""
MIN_DETECTED_SHARE = 0.3
"""Fewer scanned in-plot trees than this share of the tallied ones (at least 10 tallied) is implausible (our choice;
TLS detection rates in the literature are mostly 60-100 %)."""
MEDIAN_DBH_MAX_CM = 80.0
MEDIAN_HEIGHT_MAX_M = 45.0
MIN_TREES = 3


def _median(df: pd.DataFrame | None, col: str, min_trees: int = MIN_TREES) -> float:
    if df is None or col not in df.columns:
        return float("nan")
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.median(v)) if v.size >= min_trees else float("nan")


def tls_plausibility(scanned: pd.DataFrame, reference: pd.DataFrame | None, what: str,
                     reference_name: str = "tally") -> list[str]:
    """Problems of a scanned plot's trees (``dbh_cm``, ``height_m``), each a sentence naming ``what``.

    Parameters
    ----------
    scanned : the in-plot trees found in the scan.
    reference : the same plot's measured trees (tape tally or tree table), or None.
    what : the scan, for messages.
    reference_name : what ``reference`` is, for messages.
    """
    out: list[str] = []
    # a scan in feet keeps about a tenth of its trees in the plot square: one scanned tree is enough to compare
    d_tls, h_tls = _median(scanned, "dbh_cm", 1), _median(scanned, "height_m", 1)
    d_ref, h_ref = _median(reference, "dbh_cm"), _median(reference, "height_m")
    lo, hi = RATIO_RANGE
    ratios = {k: a / b for k, a, b in (("DBH", d_tls, d_ref), ("height", h_tls, h_ref))
              if np.isfinite(a) and np.isfinite(b)}
    if ratios:
        text = ", ".join(f"median {k} {r:.2f} times the {reference_name}'s" for k, r in ratios.items())
        vals = list(ratios.values())
        if all(r > hi for r in vals):
            feet = any(abs(r / FEET_PER_M - 1) < 0.3 for r in vals)
            out.append(f"{what}: the scanned trees are too large ({text}: DBH {d_tls:.1f} vs {d_ref:.1f} cm, height "
                       f"{h_tls:.1f} vs {h_ref:.1f} m)" + ("; the scan looks like it is in feet (x 3.28)" if feet
                                                           else "") + ". Export the scan in metres.")
        elif any(r < lo for r in vals):
            out.append(f"{what}: the scanned trees are too small ({text}: DBH {d_tls:.1f} vs {d_ref:.1f} cm, height "
                       f"{h_tls:.1f} vs {h_ref:.1f} m); the lower part of the scan (the ground) may be missing, or "
                       f"the scan is in other units. Check the scan (it must hold the ground around the plot).")
        elif any(r > hi for r in vals):
            out.append(f"{what}: the scanned trees differ from the {reference_name} ({text}). Check the scan's units "
                       f"and extent.")
    n_ref = 0 if reference is None else int(len(reference))
    if not out and n_ref >= 10 and len(scanned) < MIN_DETECTED_SHARE * n_ref:
        out.append(f"{what}: only {len(scanned)} tree(s) found in the plot, where the {reference_name} has {n_ref}; "
                   f"the lower part of the scan (stems at breast height, the ground) may be missing, or the scan "
                   f"is in other units. Check the scan.")
    if ratios:
        return out
    if np.isfinite(d_tls) and d_tls > MEDIAN_DBH_MAX_CM or np.isfinite(h_tls) and h_tls > MEDIAN_HEIGHT_MAX_M:
        out.append(f"{what}: median DBH {d_tls:.1f} cm and height {h_tls:.1f} m of the scanned trees are not "
                   f"plausible for a forest plot (limits {MEDIAN_DBH_MAX_CM:g} cm, {MEDIAN_HEIGHT_MAX_M:g} m); is the "
                   f"scan in feet? Export it in metres.")
    return out


def agc_plausibility(agc_tls_t_ha: float, agc_tally_t_ha: float, what: str) -> list[str]:
    """A plot's AGC from the scan against the same plot's tape tally: a ratio below :data:`AGC_MIN_RATIO`.

    On the simulated plots the scans mostly give -4 to -6 % of the tally's AGC (hidden stems); half the carbon
    is a cut scan (its lower part missing), not a measurement difference.  Only the low side is judged: a
    scan may legitimately hold more carbon (one simulated plot: 1.79 times, trees at the plot edge), and too
    large trees are judged by :func:`tls_plausibility`.
    """
    if not (np.isfinite(agc_tls_t_ha) and np.isfinite(agc_tally_t_ha)) or agc_tally_t_ha <= 0:
        return []
    r = agc_tls_t_ha / agc_tally_t_ha
    if r >= AGC_MIN_RATIO:
        return []
    return [f"{what}: the plot's AGC from the scan is {agc_tls_t_ha:.1f} t C/ha, {r:.2f} times the tape tally's "
            f"{agc_tally_t_ha:.1f} t C/ha; the scan may miss part of the plot (its lower part, the ground) or be in "
            f"other units. Check the scan."]
