"""Laser scanning: TLS plots -> tree lists, ALS -> CHM, treetops and canopy metrics.

The standard has crews scan every plot with terrestrial laser scanning (TLS),
fit each tree's DBH and height from the cloud, and check them on 1-2 plots
against a tape tally (每木检尺).  Airborne scans (ALS) give canopy height
models and canopy metrics for the feature stack.  See ``docs/lidar.md``.

Modules: :mod:`.lasfile` (LAS/LAZ in and out), :mod:`.ground` (ground, DTM),
:mod:`.circle` (circle fits), :mod:`.stems` (stems, DBH), :mod:`.height`
(heights, point labels), :mod:`.tls` (plot -> tree list), :mod:`.validate`
(tally matching and statistics), :mod:`.chm` (canopy height models),
:mod:`.treetops` (variable-window treetops), :mod:`.metrics` (canopy metrics).
"""

from __future__ import annotations

from .chm import canopy_height_model, fill_pits, normalize_heights
from .circle import CircleFit, fit_circle
from .cloud import PointCloud
from .ground import GroundResult, Surface, classify_ground, height_above_ground
from .height import HeightParams
from .lasfile import read_cloud, write_cloud
from .metrics import pixel_metrics, plot_metrics
from .stems import StemParams
from .tls import QC_REASONS, TLSParams, TLSResult, georeference, process_tls_plot
from .treetops import find_treetops, treetop_mask
from .validate import match_trees, match_treetops, paired_table, validation_stats

__all__ = [
    "QC_REASONS",
    "CircleFit",
    "GroundResult",
    "HeightParams",
    "PointCloud",
    "StemParams",
    "Surface",
    "TLSParams",
    "TLSResult",
    "canopy_height_model",
    "classify_ground",
    "fill_pits",
    "find_treetops",
    "fit_circle",
    "georeference",
    "height_above_ground",
    "match_trees",
    "match_treetops",
    "normalize_heights",
    "paired_table",
    "pixel_metrics",
    "plot_metrics",
    "process_tls_plot",
    "read_cloud",
    "treetop_mask",
    "validation_stats",
    "write_cloud",
]
