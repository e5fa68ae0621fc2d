"""``run`` applies what ``check`` rejects (issue 17): one rule, one place.

Each bad input of the issue made ``run --stages <the stage reading it> --force``
exit 0 with results built from the bad input.  Now the stage stops before it
reads anything, with the message ``check`` gives, naming the file; plausibility
warnings are errors in ``run`` unless ``[check].accept`` lists them.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import _mutations as M
from minecarbon.check import check_project
from minecarbon.cli.main import main
from minecarbon.config import PLAUSIBILITY_CODES, load_config
from minecarbon.errors import ConfigError
from minecarbon.pipeline.core import MANIFEST


def _run(project, *args):
    return CliRunner().invoke(main, ["run", str(project / "minecarbon.toml"), *args])


@pytest.mark.parametrize("name", sorted(M.EXAMPLES))
def test_run_stops_on_what_check_reports(project, name):
    mutate, stage, needle = M.EXAMPLES[name]
    manifest = project / "workspace" / "outputs" / stage / MANIFEST
    before = manifest.read_bytes()
    mutate(project)
    problems = check_project(project / "minecarbon.toml")
    assert any(needle in p.file for p in problems), problems  # check sees it ...
    res = _run(project, "--stages", stage, "--force")
    assert res.exit_code == 2, res.output  # ... and run stops on it
    assert f"Stage '{stage}' cannot run" in res.output
    assert needle in res.output
    assert "Internal error" not in res.output and "Traceback" not in res.output
    # the stage did not start: its manifest (and so its outputs) are as the clean run left them
    assert manifest.read_bytes() == before


def test_accepted_warning_lets_the_stage_run(project):
    M.dem_huge(project)
    assert _run(project, "--stages", "features", "--force").exit_code == 2
    M.set_toml(project, "check", "accept", '["dem-values"]')
    res = _run(project, "--stages", "features", "--force")
    assert res.exit_code == 0, res.output
    manifest = json.loads((project / "workspace" / "outputs" / "features" / MANIFEST).read_text())
    assert manifest["stage"] == "features"


def test_warnings_outside_the_stage_do_not_stop_it(project):
    """A bad DEM concerns the features stage, not the plots stage."""
    M.dem_huge(project)
    res = _run(project, "--stages", "plots", "--force")
    assert res.exit_code == 0, res.output


def test_accept_rejects_unknown_names(project):
    M.set_toml(project, "check", "accept", '["dem-value"]')
    with pytest.raises(ConfigError, match="dem-value"):
        load_config(project / "minecarbon.toml")
    assert "dem-values" in PLAUSIBILITY_CODES


def test_check_flags_infinite_climate_values(project):
    M.climate_inf(project, 2006)
    found = [p for p in check_project(project / "minecarbon.toml") if p.code == "non-finite"]
    assert len(found) == 1 and "tmean_2006.tif" in found[0].file and "1 pixel(s)" in found[0].message


@pytest.mark.parametrize("name", sorted(M.EXAMPLES_LIDAR))
def test_implausible_scans_stop_the_lidar_stage(project, name):
    """A scan in feet (trees 3.3 x too large) or without its lower 40 % (heights 0.63 x the tally's)."""
    mutate, stage, needle = M.EXAMPLES_LIDAR[name]
    scan = M.tallied_scan(project)
    mutate(project)
    res = _run(project, "--stages", stage, "--force")
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert scan.name in out and "tape tally" in out and "Internal error" not in out
    assert ("feet" in out) if name == "tls_in_feet" else ("lower part" in out)
    M.set_toml(project, "check", "accept", '["tls-plausibility"]')  # the user's explicit word lets it pass
    assert _run(project, "--stages", stage, "--force").exit_code == 0
