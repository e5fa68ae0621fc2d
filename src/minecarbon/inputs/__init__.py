"""Input files declared once: what ``minecarbon check`` lists and what the stages read.

Each spec (:class:`TableInput`, :class:`VectorInput`, :class:`RasterInput`,
:class:`PointCloudInput`) lists every problem of a file (``problems`` /
``layer_problems``) and reads it or raises an
:class:`~minecarbon.errors.InputError` carrying the same problems (``read``),
so ``check`` and ``run`` agree by construction.  :data:`INPUTS` is the one
list of declared inputs, by config key.

To declare a new input: add its spec to :mod:`.tables` (tables),
:mod:`.layers` (vector layers), :mod:`.rasters` or :mod:`.pointclouds` and
to :data:`INPUTS`; ``check`` loops over
:data:`INPUTS`, and the stage reads it with ``INPUTS[key].read(...)``.
"""

from __future__ import annotations

from .layers import DISTURBANCE, LAYERS, PLANNED, RECLAMATION
from .pointclouds import ALS_TILE, POINT_CLOUDS, TLS_SCAN, PointCloudInput
from .rasters import RASTERS, RasterInput
from .spec import Column, Field, Report, Sheet, TableInput, VectorInput
from .tables import PLOT_COLUMNS, PLOT_LAYOUT, PLOT_SHEET, TALLY_SHEET, TREE_COLUMNS, TREE_SHEET

TABLES = {spec.key: spec for spec in (PLOT_SHEET, TREE_SHEET, TALLY_SHEET)}
"""The declared tables, by config key."""

INPUTS: dict[str, TableInput | VectorInput | RasterInput | PointCloudInput] = {**TABLES, **LAYERS, **RASTERS,
                                                                             **POINT_CLOUDS}
"""Every declared input file, by config key (``"inputs.trees"``)."""

__all__ = ["ALS_TILE", "Column", "DISTURBANCE", "Field", "INPUTS", "LAYERS", "PLANNED", "PLOT_COLUMNS", "PLOT_LAYOUT",
           "PLOT_SHEET", "POINT_CLOUDS", "PointCloudInput", "RASTERS", "RECLAMATION", "RasterInput", "Report",
           "Sheet", "TABLES", "TALLY_SHEET", "TLS_SCAN", "TREE_COLUMNS", "TREE_SHEET", "TableInput", "VectorInput"]
