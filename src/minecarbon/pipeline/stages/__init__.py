"""The stages of the standard's method, one module each.

:data:`STAGES` is the run order, written out; each stage module declares its
``STAGE`` (a :class:`~minecarbon.pipeline.core.Stage`) and imports only
:mod:`..core`, :mod:`minecarbon.project`, :mod:`minecarbon.io`,
:mod:`minecarbon.inputs` and science modules.  To add a stage: write
``stages/<name>.py`` with ``STAGE = Stage(...)``, put it in :data:`STAGES`
and its name in :data:`minecarbon.stage_names.STAGE_NAMES` (a test checks
that the two agree).
"""

from __future__ import annotations

from ..core import Stage
from . import assess, catalog, classify, features, images, lidar, map, model, plots, report, units

STAGES: tuple[Stage, ...] = (images.STAGE, classify.STAGE, units.STAGE, lidar.STAGE, plots.STAGE, features.STAGE,
                             model.STAGE, map.STAGE, assess.STAGE, catalog.STAGE, report.STAGE)
"""Every stage, in run order."""

STAGES_BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}

__all__ = ["STAGES", "STAGES_BY_NAME"]
