"""CLI: bad input gives one clear message and a non-zero exit, never a traceback."""

from click.testing import CliRunner

from minecarbon.cli.main import main


def test_missing_project_file_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(main, ["run", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2
    assert "does not exist" in res.output
    assert "Traceback" not in res.output


def test_invalid_toml_is_a_clear_error(tmp_path):
    p = tmp_path / "minecarbon.toml"
    p.write_text("[project]\nname = 'x'\nstart_year = 2005\nend_year = 2000\n[area]\nbufer_m = 3\n")
    res = CliRunner().invoke(main, ["run", str(p)])
    assert res.exit_code == 2
    assert "bufer_m" in res.output and "end_year" in res.output
    assert "Traceback" not in res.output


def test_check_reports_and_exits_nonzero(tmp_path):
    p = tmp_path / "minecarbon.toml"
    p.write_text("[project]\nstart_year = 2005\nend_year = 2010\n")
    res = CliRunner().invoke(main, ["check", str(p)])
    assert res.exit_code == 2
    assert "error" in res.output.lower()


def test_unknown_stage(tmp_path):
    from minecarbon.errors import StageError
    from minecarbon.pipeline import resolve_stages

    import pytest

    with pytest.raises(StageError, match="Stages are: images, classify, units, "):
        resolve_stages(["unitz"])


def test_version():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0 and "minecarbon" in res.output


def test_simulate_without_airborne_scan(tmp_path):
    """--als-density 0 writes no ALS tiles and no [lidar] table; the project file stays valid."""
    from minecarbon.config import load_config

    res = CliRunner().invoke(main, ["simulate", str(tmp_path / "sim"), "--size", "tiny", "--start-year", "2014",
                                    "--end-year", "2016", "--als-density", "0"])
    assert res.exit_code == 0, res.output
    cfg = load_config(tmp_path / "sim" / "minecarbon.toml")
    assert cfg.lidar.als is None
    assert not (tmp_path / "sim" / "inputs" / "als").exists()
    assert cfg.model.cv_block_m == 500.0  # a tiny area gets smaller spatial CV blocks
