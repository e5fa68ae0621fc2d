"""Provenance helpers below everything: file checksums, package versions, stage manifests.

The runner (:mod:`minecarbon.pipeline`) writes one manifest per stage
(``outputs/<stage>/_manifest.json``); the catalog, ``catalog verify`` and the
report read them through this module and never import the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST = "_manifest.json"
"""File name of a stage's manifest in ``outputs/<stage>/``."""
VERSIONED = ("minecarbon", "numpy", "scipy", "pandas", "xarray", "rioxarray", "rasterio", "dask",
             "geopandas", "scikit-learn", "laspy", "jinja2", "matplotlib", "pydantic")
"""Packages whose versions a manifest records."""

__all__ = ["MANIFEST", "VERSIONED", "manifest_path", "package_versions", "read_manifest", "sha256_file"]


def sha256_file(path: Path, _cache: dict | None = None) -> str:
    """SHA-256 of a file, cached on (path, size, mtime) for the life of the cache dict."""
    path = Path(path)
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if _cache is not None and key in _cache:
        return _cache[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if _cache is not None:
        _cache[key] = digest
    return digest


def package_versions() -> dict[str, str]:
    """Python's and the :data:`VERSIONED` packages' versions (those installed)."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def manifest_path(cfg: Any, stage: str) -> Path:
    """``<workspace>/outputs/<stage>/_manifest.json`` of a project (anything with a ``workspace`` path)."""
    return Path(cfg.workspace) / "outputs" / stage / MANIFEST


def read_manifest(cfg: Any, stage: str) -> dict | None:
    """A stage's manifest, or None when the stage has not completed (or the file is unreadable)."""
    p = manifest_path(cfg, stage)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
