"""``run --stages`` help names every stage, in order (issue 17: it listed 7 of the 9)."""

from click.testing import CliRunner

from minecarbon.cli.main import main
from minecarbon.pipeline import STAGES


def test_run_help_lists_every_registered_stage():
    names = [s.name for s in STAGES]
    assert len(names) == 11  # images (issue 15) + classify (issue 14) + the 9 of issue 17
    out = "".join(CliRunner().invoke(main, ["run", "--help"]).output.split())  # help text wraps lines
    assert ",".join(names) in out
