"""Options shared by several commands."""

from __future__ import annotations

from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON summary.")


def config_default(section: str, field: str) -> Any:
    """The default of a project-file field (``config_default("assess", "trend_alpha")``): a tool's option
    takes the default the config declares (:data:`minecarbon.defaults.FIELD_DEFAULTS`), so the two never
    disagree - without importing pydantic (a list default comes as a new list)."""
    from ..defaults import FIELD_DEFAULTS

    value = FIELD_DEFAULTS[section][field]
    return list(value) if isinstance(value, tuple) else value
