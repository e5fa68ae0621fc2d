"""Chinese and English text of the report: one message catalogue, one translator.

Every sentence, caption, legend and table header of the report is a key of
``templates/messages.toml``::

    [chapter.basic]
    title.en = "Basic situation of the mining-forest area"
    title.zh = "矿林复合区基本情况"

Values are ``str.format`` templates filled with numbers read from the outputs
(``{area_ha}``); the translator formats the numbers, the template only places
them.  A key missing in one language is an error (tested), never a silent
fallback to the other language.
"""

from __future__ import annotations

import functools
import math
import tomllib
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")


def _flatten(d: dict, prefix: str = "") -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and set(v) <= set(LANGUAGES) and all(isinstance(x, str) for x in v.values()):
            out[key] = v
        elif isinstance(v, dict):
            out.update(_flatten(v, key))
        else:
            raise ValueError(f"messages.toml: {key} must be a table with 'en' and 'zh' strings")
    return out


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All messages: key -> {'en': ..., 'zh': ...}."""
    text = resources.files("minecarbon.report").joinpath("templates/messages.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


class Translator:
    """Messages and number formatting in one language.

    Parameters
    ----------
    lang : 'zh' or 'en'.
    """

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {lang!r}")
        self.lang = lang
        self._m = catalogue()

    def __call__(self, key: str, **values: Any) -> str:
        """The message ``key`` with ``values`` filled in."""
        try:
            text = self._m[key][self.lang]
        except KeyError:
            raise KeyError(f"message {key!r} has no {self.lang!r} text in report/templates/messages.toml") from None
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._m and self.lang in self._m[key]

    def get(self, key: str, default: str) -> str:
        """The message, or ``default`` when the catalogue has no such key (for names declared elsewhere)."""
        return self(key) if self.has(key) else default

    # -- numbers ----------------------------------------------------------------------
    @staticmethod
    def num(value: Any, nd: int = 2) -> str:
        """``1,234.57`` (``nd`` decimals, thousands separated); '–' for missing values."""
        v = _finite(value)
        if v is None:
            return "–"
        if round(v, nd) == 0:
            v = 0.0  # no "-0.00"
        return f"{v:,.{nd}f}"

    @staticmethod
    def signed(value: Any, nd: int = 2) -> str:
        """Like :meth:`num` with an explicit sign: ``+12.30``, ``-4.00``."""
        v = _finite(value)
        if v is None:
            return "–"
        if round(v, nd) == 0:
            return f"{0.0:,.{nd}f}"
        return f"{v:+,.{nd}f}"

    def yes_no(self, value: Any) -> str:
        return self("common.yes") if bool(value) else self("common.no")

    def sep(self) -> str:
        """List separator: '、' in Chinese, ', ' in English."""
        return "、" if self.lang == "zh" else ", "

    def join(self, items) -> str:
        return self.sep().join(str(i) for i in items)


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is missing, not a number, or infinite."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
