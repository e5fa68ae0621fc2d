"""What every input rule shares: the problem report of one file, raising or warning its problems, feature ids.

Kept apart from :mod:`minecarbon.inputs.spec` so that the shared polygon
rules (:mod:`minecarbon.inputs.polygons`) and the specs that run them do not
import each other.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, MinecarbonWarning, Problem, Severity

__all__ = ["Report", "fid_where", "raise_or_warn"]


@dataclass
class Report:
    """Collects the problems of one file (the ``file`` shown in every problem)."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, where: str, message: str, fix: str, severity: Severity = "error", code: str = "") -> None:
        self.problems.append(Problem(self.file, where, message, fix, severity, code))


def raise_or_warn(found: Sequence[Problem], head: str) -> None:
    """Raise :class:`InputError` when ``found`` holds errors; else issue each warning."""
    if any(p.is_error for p in found):
        raise InputError.from_problems(found, head)
    for p in found:
        warnings.warn(str(p), MinecarbonWarning, stacklevel=3)


def fid_where(gdf: Any, mask: Any, col: str | None = None) -> str:
    """Where-text for features: ``"fid 2, attribute damage_type"``."""
    from ._text import listing

    return listing([int(i) if str(i).lstrip("-").isdigit() else i for i in gdf.index[np.asarray(mask)]],
                   "fid", col, noun="attribute")
