#!/usr/bin/env python3
"""Rewrite the generated tables of docs/design.md from the declarations (stages, input specs)."""

from pathlib import Path

from minecarbon.pipeline.docs import update

path = Path(__file__).resolve().parents[1] / "docs" / "design.md"
path.write_text(update(path.read_text(encoding="utf-8")), encoding="utf-8")
print(f"updated {path}")
