"""Options shared by several commands."""

from __future__ import annotations

from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON summary.")


def config_default(model: Any, field: str) -> Any:
    """The default of a project-file field (``config_default(AssessConfig, "trend_alpha")``): a tool's option
    takes its default from the config, so the two never disagree."""
    info = model.model_fields[field]
    return info.default_factory() if info.default_factory is not None else info.default
