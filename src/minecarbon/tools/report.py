"""The report and catalogue commands as a library: option lists, writing the report, one dataset's record.

``minecarbon report`` and ``minecarbon catalog show`` (:mod:`minecarbon.cli.tools_report`) only parse options
and print what these functions return.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError


def split_choices(value: str | None, allowed: tuple[str, ...], what: str) -> list[str] | None:
    """``"zh, EN"`` -> ``["zh", "en"]`` (None when empty); :class:`ConfigError` naming ``--what`` for others."""
    if not value:
        return None
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise ConfigError(f"--{what} {', '.join(bad)} is not one of {', '.join(allowed)}. Use e.g. "
                          f"--{what} {','.join(allowed)}.")
    return items


def run_report_tool(project: Path, lang: str | None = None, formats: str | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the report of ``project`` (running the stages that are out of date first).

    Returns ``{"files": [paths], "written": whether the report stage ran (else it was up to date)}``.
    """
    from ..config import load_config
    from ..pipeline import make_report
    from ..report import FORMATS, LANGUAGES

    cfg = load_config(project)
    statuses: dict[str, str] = {}
    files = make_report(cfg, split_choices(lang, LANGUAGES, "lang"), split_choices(formats, FORMATS, "format"),
                        progress=progress or (lambda msg: None),
                        on_stage=lambda stage, st: statuses.__setitem__(stage.name, st))
    return {"files": [str(f) for f in files], "written": statuses.get("report") == "ran"}


def dataset_record(project: Path, dataset_id: str) -> tuple[dict[str, Any], Any]:
    """(record with NaN as None, lineage DataFrame) of one catalogued dataset; :class:`InputError` naming close
    ids when there is none."""
    from ..catalog import open_catalog
    from ..config import load_config

    cfg = load_config(project)
    with open_catalog(cfg) as db:
        rec = db.dataset(dataset_id)
        if rec is None:
            ids = db.datasets()["id"].tolist()
            close = [i for i in ids if dataset_id.lower() in i.lower()][:8]
            raise InputError(f"No dataset {dataset_id!r} in the monitoring database. "
                             + (f"Did you mean: {', '.join(close)}?" if close else
                                "Run 'minecarbon catalog list PROJECT' for the ids."))
        lin = db.lineage(dataset_id)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}, lin
