"""The embedded scenario: a simulated coal-mining area with known truth.

:func:`simulate` writes the files a user would bring (DEM, mining vectors,
yearly images, climate grids, forest-type maps, plot sheets, tree tallies,
TLS scans, an airborne laser scan of the end year) and a project file naming
them, plus ``truth/`` (yearly AGC with and without mining, forest types,
assessment units, plot truth, canopy height).  See
``docs/scenario.md`` for the file layout.

Modules: :mod:`.noise` (coordinate-hashed fields), :mod:`.grid`,
:mod:`.terrain`, :mod:`.climate`, :mod:`.species`, :mod:`.landscape`,
:mod:`.mining`, :mod:`.growth`, :mod:`.sensor`, :mod:`.blocks` (one window of
every raster), :mod:`.plots`, :mod:`.trees`, :mod:`.world`, :mod:`.writer`,
:mod:`.simulation`; the TLS point-cloud simulator is :mod:`.tls`, the
airborne one :mod:`.als`.
"""

from __future__ import annotations

from .grid import SIZES_PX
from .simulation import pixel_histories, pixel_history, simulate
from .world import GENERATOR_VERSION, World, build_world

__all__ = ["GENERATOR_VERSION", "SIZES_PX", "World", "build_world", "pixel_histories", "pixel_history", "simulate"]
