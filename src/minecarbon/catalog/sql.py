"""SQL names shared by the PostGIS backend and its cross-project views."""

from __future__ import annotations

import re

__all__ = ["REGISTRY_SCHEMA", "ident"]


REGISTRY_SCHEMA = "minecarbon"
"""Schema of the project registry and the cross-project views."""

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ident(name: str) -> str:
    """A checked, double-quoted SQL identifier."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid SQL identifier {name!r}")
    return f'"{name}"'
