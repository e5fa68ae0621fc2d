"""From scenes to composites, offline: Landsat Collection 2 Level-2, Sentinel-2 L2A, local STAC catalogs.

Modules: :mod:`.scene` (the :class:`Scene` record), :mod:`.landsat` (product
names, MTL, band files), :mod:`.sentinel2` (SAFE and COG layouts, the
processing-baseline offset), :mod:`.stac` (local catalogs through pystac),
:mod:`.mask` (QA_PIXEL bits, SCL classes), :mod:`.harmonise` (sensor
transformations of ``data/harmonisation.csv``), :mod:`.compose` (reading
onto the project grid, median/medoid, clear counts, COG output),
:mod:`.series` (years and months), :mod:`.checks` (scene problems for
``minecarbon check``), :mod:`.consistency` (cross-year statistics over
stable pixels).  See ``docs/composite.md``.
"""

from __future__ import annotations

from .compose import CompositeResult, TargetGrid, compose, month_window, season_window
from .landsat import SceneError, parse_mtl, parse_product_id, scene_from_mtl
from .scene import COMPOSITE_BANDS, Scene
from .series import composite_series, find_scenes

__all__ = ["COMPOSITE_BANDS", "CompositeResult", "Scene", "SceneError", "TargetGrid", "compose",
           "composite_series", "find_scenes", "month_window", "parse_mtl", "parse_product_id", "scene_from_mtl",
           "season_window"]
