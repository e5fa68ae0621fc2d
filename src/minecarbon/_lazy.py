"""Lazy package attributes: a package names its public functions without importing the modules behind them.

Importing ``minecarbon.assess`` to call the trend must not import scikit-learn (the cumulative
effect's regression) or geopandas (zonal statistics by polygon); each public name is imported
from its submodule on first use (PEP 562 module ``__getattr__``) and then cached on the package,
so ``from minecarbon.assess import mann_kendall_sen`` and ``minecarbon.assess.gi_star`` work as
before.  A name must not equal a submodule's name (importing the submodule would replace it).
"""

from __future__ import annotations

import importlib
from typing import Callable


def attach(package: str, names: dict[str, list[str]]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in submodules: ``{".sub": [names]}``."""
    where = {name: sub for sub, subnames in names.items() for name in subnames}
    clash = sorted(set(where) & {sub.lstrip(".") for sub in names})
    if clash:
        raise ImportError(f"{package}: lazy names {clash} equal submodule names")

    def __getattr__(name: str) -> object:
        sub = where.get(name)
        if sub is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(sub, package), name)
        import sys

        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        import sys

        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
