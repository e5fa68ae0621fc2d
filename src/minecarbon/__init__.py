"""minecarbon: forest aboveground carbon (AGC) monitoring and assessment in coal-mining areas.

Implements the group standard 煤炭矿区森林地上碳储量监测与评估技术指南 as a
library with a thin command-line tool (``minecarbon``).
"""

from __future__ import annotations

import logging

from .errors import (
    ConfigError,
    CRSError,
    GridError,
    InputError,
    MinecarbonError,
    MissingInputError,
    MissingValueError,
    StageError,
    UnknownSpeciesError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "MinecarbonError",
    "InputError",
    "MissingInputError",
    "CRSError",
    "GridError",
    "ConfigError",
    "UnknownSpeciesError",
    "MissingValueError",
    "StageError",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
