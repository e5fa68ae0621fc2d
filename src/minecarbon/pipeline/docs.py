"""The tables of ``docs/design.md`` generated from the declarations (stages and input specs).

``python scripts/update_design_doc.py`` rewrites the blocks between
``<!-- begin generated: NAME -->`` and ``<!-- end generated: NAME -->``;
``tests/pipeline/test_design_doc.py`` fails when they are stale.
"""

from __future__ import annotations

import re

from ..inputs import INPUTS, PointCloudInput, TableInput, VectorInput
from .stages import STAGES

__all__ = ["BLOCKS", "input_reference", "stage_table", "update"]


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def stage_table() -> str:
    """One row per stage of :data:`~minecarbon.pipeline.stages.STAGES`, in run order."""
    rows = ["| stage | upstream | input keys | settings | outputs (`id`: path, units) |", "|---|---|---|---|---|"]
    for st in STAGES:
        up = ", ".join(f"`{u}`" for u in st.upstream) or "-"
        if st.upstream_if is not None:
            up += " (+ some projects: see `upstream_if`)"
        ins = ", ".join(f"`{k}`" for k in st.inputs) or "-"
        sets = ", ".join(f"`[{s}]`" for s in st.settings) or "-"
        outs = "; ".join(f"`{o.id}`: {o.path}, {o.units}" for o in st.outputs)
        rows.append(f"| `{st.name}` | {_cell(up)} | {_cell(ins)} | {_cell(sets)} | {_cell(outs)} |")
    return "\n".join(rows)


def input_reference() -> str:
    """Every declared input (:data:`minecarbon.inputs.INPUTS`): its columns or attributes (rasters, clouds: one row)."""
    rows = ["| input (key) | what | column / attribute | units | required | about |", "|---|---|---|---|---|---|"]
    for key, spec in INPUTS.items():
        if not isinstance(spec, (TableInput, VectorInput)):
            kind = "LAS/LAZ" if isinstance(spec, PointCloudInput) else "raster per year" if spec.yearly else "raster"
            rows.append(f"| `[{key.split('.')[0]}].{key.split('.')[1]}` | {_cell(spec.what)} | ({kind}) | "
                        f"{_cell(getattr(spec, 'units', '') or '-')} | - | {_cell(spec.about)} |")
            continue
        items = spec.columns if isinstance(spec, TableInput) else spec.fields
        for item in items:
            units = getattr(item, "units", "") or "-"
            rows.append(f"| `[{key.split('.')[0]}].{key.split('.')[1]}` | {_cell(spec.what)} | `{item.name}` | "
                        f"{_cell(units)} | {'yes' if item.required else 'no'} | {_cell(item.about)} |")
    return "\n".join(rows)


BLOCKS = {"stages": stage_table, "inputs": input_reference}


def update(text: str) -> str:
    """``text`` (the design page) with every generated block rewritten."""
    for name, render in BLOCKS.items():
        pat = re.compile(rf"(<!-- begin generated: {name} -->\n)(?:.*?\n)?(<!-- end generated: {name} -->)", re.S)
        if not pat.search(text):
            raise ValueError(f"docs/design.md has no generated block {name!r}")
        text = pat.sub(lambda m: m.group(1) + render() + "\n" + m.group(2), text)
    return text
