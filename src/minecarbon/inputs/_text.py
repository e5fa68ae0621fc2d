"""Small text helpers shared by the input specs and ``check``: where-texts, value lists, numbers in text."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

MAX_LISTED = 10
"""At most this many rows / features / values are named in one problem."""


def one_line(text: str) -> str:
    """Collapse white space (messages are printed one per line)."""
    return " ".join(str(text).split())


def rows(idx: Iterable[int], word: str = "line", col: str | None = None) -> str:
    """Where-text for data rows given their 0-based positions (header = line 1)."""
    nums = [int(i) + 2 for i in idx]
    return listing(nums, word, col)


def listing(nums: Sequence[Any], word: str, col: str | None = None, noun: str = "column") -> str:
    """``"lines 3, 4, column plot_id"``: at most :data:`MAX_LISTED` numbers, then a count."""
    shown = ", ".join(str(n) for n in nums[:MAX_LISTED])
    if len(nums) > MAX_LISTED:
        shown += f" (+{len(nums) - MAX_LISTED} more)"
    text = f"{word}{'s' if len(nums) > 1 else ''} {shown}"
    return f"{text}, {noun} {col}" if col else text


def values(vals: Iterable[Any], n: int = 5) -> str:
    """The first ``n`` values, formatted for a message."""
    vals = list(vals)
    out = ", ".join(fmt(v) for v in vals[:n])
    return out + (", ..." if len(vals) > n else "")


def fmt(v: Any) -> str:
    """A value for a message: floats with ``%g``, text quoted."""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return repr(v) if isinstance(v, str) else str(v)


def numeric(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Text column -> (numbers, missing mask, not-a-number mask)."""
    text = s.astype(str).str.strip()
    missing = text.isin(["", "nan", "NaN", "NA", "N/A", "None", "null", "<NA>"])
    num = pd.to_numeric(text.where(~missing), errors="coerce").astype(float)
    bad = ~missing & (num.isna() | ~np.isfinite(num.fillna(0.0)))
    return num.where(~bad), missing, bad


def is_int(v: float) -> bool:
    """True for a finite whole number."""
    return math.isfinite(v) and float(v).is_integer()


def years_text(years: Sequence[int]) -> str:
    """``2018-2020`` for a run of years, else a list."""
    if len(years) > 2 and list(years) == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)
