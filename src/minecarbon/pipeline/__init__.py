"""Pipeline: stages declared as data, and the runner."""

from .core import STAGES, STAGES_BY_NAME, Context, Output, Stage, is_up_to_date, run_pipeline

__all__ = ["STAGES", "STAGES_BY_NAME", "Context", "Output", "Stage", "is_up_to_date", "run_pipeline"]

from . import stages as _stages  # noqa: E402,F401  (registers the stages in order)
