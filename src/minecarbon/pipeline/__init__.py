"""Pipeline: stages declared as data (:mod:`.core`), the stages (:mod:`.stages`) and the runner (:mod:`.runner`)."""

from .core import Context, Output, Stage, is_up_to_date
from .runner import make_report, resolve_stages, run_pipeline
from .stages import STAGES, STAGES_BY_NAME

__all__ = ["STAGES", "STAGES_BY_NAME", "Context", "Output", "Stage", "is_up_to_date", "make_report",
           "resolve_stages", "run_pipeline"]
