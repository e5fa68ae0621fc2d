"""Terrestrial laser scan of a plot -> tree list with DBH, height and QC.

:func:`process_tls_plot` chains the steps of this package:

1. checks that the cloud is in metres and plausibly a plot scan;
2. ground, DTM and height normalisation (:mod:`minecarbon.lidar.ground`);
3. stems and DBH (:mod:`minecarbon.lidar.stems`);
4. heights and their QC against the plot's height-diameter curve
   (:mod:`minecarbon.lidar.height`);
5. optionally, the tree id of every point (:func:`minecarbon.lidar.height.label_points`).

A scan in the scanner's own frame (no CRS) is processed as it is; positions
are metres east/north of the scanner.  :func:`georeference` moves the tree list
to the project CRS from the plot centre.

Tree ids are 1, 2, ... clockwise from north around the scanner, nearest first
at equal bearing, as field crews number trees.  ``height_used_m`` is the
height to use for biomass: the scanned height, or, where it is in doubt
(flags ``top_hidden``, ``height``, ``no_height``), the plot's own
height-diameter curve (``height_used_source`` says which).  QC: ``qc`` is ``"ok"`` or
``"check"``; ``qc_flags`` lists the reasons (see :data:`QC_REASONS`).  No
detected stem is ever dropped for quality; candidates that are not stems are
returned in ``rejected`` with their reason.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ._threads import single_threaded_blas
from .cloud import PointCloud, col_max, col_min
from .ground import GroundMethod, GroundResult, classify_ground, height_above_ground
from .height import HeightParams, canopy_points, height_diameter_check, label_points, tree_heights
from .stems import StemParams, detect_stems

log = logging.getLogger(__name__)

__all__ = ["QC_REASONS", "TREE_COLUMNS", "TLSParams", "TLSResult", "georeference", "process_tls_plot"]

#: Meaning of each QC flag.
QC_REASONS = {
    "arc": "stem seen over a small arc (partly hidden): DBH less reliable",
    "residual": "circle fit residual above the limit: rough or irregular stem section",
    "taper": "breast-height DBH disagrees with the stem's taper line",
    "leaning": "stem leans more than the limit",
    "occluded": "stem followed over too few slices or too few points (occluded)",
    "top_hidden": "top below or inside another crown: the height along the stem axis is uncertain",
    "height": "height disagrees with the plot's height-diameter curve (top hidden or a neighbour's crown)",
    "no_height": "no height could be measured",
}

#: Columns of the tree list, in order.
TREE_COLUMNS = ("tree_id", "x", "y", "z_base", "distance_m", "bearing_deg", "in_plot", "dbh_cm", "height_m",
                "height_source", "height_hd_m", "height_used_m", "height_used_source", "qc", "qc_flags", "qc_reason", "fit_rmse_cm", "arc_coverage_deg",
                "n_band_points", "n_slices", "lean_deg", "lean_azimuth_deg", "taper_cm_per_m", "dbh_taper_cm")


@dataclass(frozen=True)
class TLSParams:
    """Settings of :func:`process_tls_plot` (lengths in metres)."""

    ground_method: GroundMethod = "csf"
    ground_cell_m: float = 0.5
    stems: StemParams = field(default_factory=StemParams)
    heights: HeightParams = field(default_factory=HeightParams)
    max_extent_m: float = 1000.0
    """Largest horizontal extent accepted for a plot scan (larger: not metres, or not a plot)."""
    max_height_m: float = 150.0
    """Largest vertical extent accepted (larger: not metres)."""


@dataclass
class TLSResult:
    """What :func:`process_tls_plot` returns."""

    trees: pd.DataFrame
    rejected: pd.DataFrame
    ground: GroundResult
    hag: np.ndarray
    labels: np.ndarray | None
    summary: dict[str, Any]


def _check_scan(cloud: PointCloud, p: TLSParams, what: str) -> None:
    if len(cloud) < 1000:
        raise InputError(f"{what} has only {len(cloud)} points; a plot scan has hundreds of thousands. "
                         f"Check that the file is the complete scan.")
    lo, hi = col_min(cloud.xyz), col_max(cloud.xyz)
    ext = hi - lo
    if max(ext[0], ext[1]) > p.max_extent_m or ext[2] > p.max_height_m:
        raise InputError(f"{what} spans {ext[0]:.0f} x {ext[1]:.0f} x {ext[2]:.0f} units (x, y, z). A plot scan in "
                         f"metres spans tens of metres; the coordinates are probably in millimetres or "
                         f"centimetres, or the file is not a plot scan. Export the scan in metres.")


@single_threaded_blas
def process_tls_plot(cloud: PointCloud, params: TLSParams | None = None, *, plot_size_m: float | None = None,
                     plot_centre: tuple[float, float] = (0.0, 0.0), label: bool = False,
                     what: str = "TLS scan") -> TLSResult:
    """Tree list of a terrestrial scan of a plot.

    Parameters
    ----------
    cloud : the scan (metres; local scanner frame or projected CRS).
    params : settings; defaults as in :class:`TLSParams`.
    plot_size_m : side of the square plot centred on ``plot_centre``; trees
        whose stem centre lies inside get ``in_plot = True`` (all trees when None).
    plot_centre : plot centre in the cloud's frame (m); the scanner (0, 0) by default.
    label : also return the tree id of every point (``labels``).
    what : name of the scan in messages.

    Returns
    -------
    TLSResult with ``trees`` (columns :data:`TREE_COLUMNS`), ``rejected``
    (candidates that are not stems, with the reason), the ground result, the
    heights above ground, optional labels and a ``summary`` dict.

    Raises
    ------
    InputError : too few points, wrong units, no ground, a cloud of noise.
    """
    p = params or TLSParams()
    _check_scan(cloud, p, what)
    xyz = cloud.xyz
    ground = classify_ground(xyz, method=p.ground_method, cell_m=p.ground_cell_m, crs=cloud.crs, what=what)
    hag = height_above_ground(xyz, ground.dtm)
    stems, rejected = detect_stems(xyz, hag, ground.dtm, p.stems)
    canopy = canopy_points(xyz, hag, p.heights.voxel_m, p.heights.min_voxel_neighbourhood,
                           relative=p.heights.relative_neighbourhood)
    heights = tree_heights(xyz, hag, stems, ground.dtm, p.heights, canopy=canopy)
    cx, cy = plot_centre
    rows = []
    for s, (_, h) in zip(stems, heights.iterrows()):
        dx, dy = s.x - cx, s.y - cy
        rows.append({"x": s.x, "y": s.y, "z_base": s.z_base, "distance_m": math.hypot(dx, dy),
                     "bearing_deg": math.degrees(math.atan2(dx, dy)) % 360.0,
                     "in_plot": True if plot_size_m is None else bool(max(abs(dx), abs(dy)) <= plot_size_m / 2.0),
                     "dbh_cm": s.dbh_cm, "height_m": h["height_m"], "height_source": h["height_source"],
                     "fit_rmse_cm": s.rmse_cm, "arc_coverage_deg": s.arc_deg, "n_band_points": s.n_band_points,
                     "n_slices": s.n_slices, "lean_deg": s.lean_deg, "lean_azimuth_deg": s.lean_azimuth_deg,
                     "taper_cm_per_m": s.taper_cm_per_m, "dbh_taper_cm": s.dbh_taper_cm,
                     "_flags": list(s.qc_flags) + ([] if h["top_clear"] or h["height_source"] == "none"
                                                   else ["top_hidden"])})
    trees = pd.DataFrame(rows)
    if len(trees):
        # the curve is fitted to the trees whose height is trusted (treetop or clear top), applied to all
        trusted = (heights["top_clear"].to_numpy(dtype=bool)
                   & np.isfinite(trees["height_m"].to_numpy(dtype=float)))
        flag_h, h_model, hd_info = height_diameter_check(trees["dbh_cm"].to_numpy(), trees["height_m"].to_numpy(),
                                                         p.heights.hd_min_trees, p.heights.hd_k,
                                                         p.heights.hd_min_rel, fit_mask=trusted)
        trees["height_hd_m"] = h_model
        for i in range(len(trees)):
            if not np.isfinite(trees.at[i, "height_m"]):
                trees.at[i, "_flags"].append("no_height")
            elif flag_h[i]:
                trees.at[i, "_flags"].append("height")
        order = np.lexsort((trees["distance_m"].to_numpy(), np.round(trees["bearing_deg"].to_numpy(), 1)))
        trees = trees.iloc[order].reset_index(drop=True)
        stems = [stems[i] for i in order]
        trees.insert(0, "tree_id", np.arange(1, len(trees) + 1))
        # height for biomass: the scanned one unless it is in doubt and the plot's H-D curve exists
        doubt = np.array([bool({"top_hidden", "height", "no_height"} & set(f)) for f in trees["_flags"]])
        use_curve = doubt & np.isfinite(trees["height_hd_m"].to_numpy(dtype=float))
        trees["height_used_m"] = np.where(use_curve, trees["height_hd_m"], trees["height_m"])
        trees["height_used_source"] = np.where(use_curve, "hd_curve", "scan")
        trees["qc_flags"] = [",".join(f) for f in trees["_flags"]]
        trees["qc"] = np.where(trees["qc_flags"] == "", "ok", "check")
        trees["qc_reason"] = ["; ".join(QC_REASONS[f] for f in fl) for fl in trees["_flags"]]
        trees = trees.drop(columns="_flags")[list(TREE_COLUMNS)]
    else:
        hd_info = {"n": 0}
        trees = pd.DataFrame({c: pd.Series(dtype=float) for c in TREE_COLUMNS})
    labels = None
    if label:
        labels = label_points(xyz, hag, stems, trees["height_m"].to_numpy(dtype=float), canopy,
                              trees["tree_id"].to_numpy(dtype=np.uint32))
    summary = {
        "points": len(cloud), "trees": len(trees), "trees_in_plot": int(trees["in_plot"].sum()) if len(trees) else 0,
        "trees_qc_ok": int((trees["qc"] == "ok").sum()) if len(trees) else 0,
        "rejected_candidates": len(rejected), "ground": ground.info, "ground_method": ground.method,
        "height_diameter_curve": hd_info,
        "heights_from_treetops": int((trees["height_source"] == "treetop").sum()) if len(trees) else 0,
    }
    if len(trees) == 0:
        log.warning("%s: no stem found (%d candidates rejected)", what, len(rejected))
    log.info("%s: %d trees (%d QC ok), %d candidates rejected", what, summary["trees"], summary["trees_qc_ok"],
             summary["rejected_candidates"])
    return TLSResult(trees, rejected, ground, hag, labels, summary)


def georeference(trees: pd.DataFrame, centre_x: float, centre_y: float, crs: Any = None,
                 rotation_deg: float = 0.0, scanner_offset: tuple[float, float] = (0.0, 0.0)) -> gpd.GeoDataFrame:
    """Tree list in scanner coordinates -> points in the project CRS.

    Parameters
    ----------
    trees : tree list with ``x``, ``y`` in the scanner frame (m).
    centre_x, centre_y : plot centre in the project CRS (m).
    crs : the project CRS.
    rotation_deg : clockwise angle from the scan's +y axis to grid north (0 when
        the scan was levelled and oriented to north, as the simulator's scans are).
    scanner_offset : position of the plot centre in the scan frame (m).

    Returns
    -------
    GeoDataFrame with the columns of ``trees`` plus ``x_local_m``, ``y_local_m``
    (scan frame) and projected ``x``, ``y`` and point geometries.
    """
    a = math.radians(rotation_deg)
    lx = trees["x"].to_numpy(dtype=float) - scanner_offset[0]
    ly = trees["y"].to_numpy(dtype=float) - scanner_offset[1]
    ex = centre_x + lx * math.cos(a) + ly * math.sin(a)
    ny = centre_y - lx * math.sin(a) + ly * math.cos(a)
    out = trees.copy()
    out.insert(out.columns.get_loc("x"), "x_local_m", trees["x"].to_numpy())
    out.insert(out.columns.get_loc("x"), "y_local_m", trees["y"].to_numpy())
    out["x"] = ex
    out["y"] = ny
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(ex, ny), crs=crs)
