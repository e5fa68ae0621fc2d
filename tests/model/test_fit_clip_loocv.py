"""``tool fit``: clipping at 0 is an explicit, reported option; without it, leave-one-out MLR is R's (issue 17)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from minecarbon.cli.main import main

ARGS = ["--target", "G_m2_ha", "--features", "zmax,zq95", "--learners", "mlr", "--cv", "96", "--no-grid",
        "--selection", "none", "--cv-scheme", "random", "--json"]


def _fit(table, *extra):
    res = CliRunner().invoke(main, ["tool", "fit", str(table), *ARGS, *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])


@pytest.mark.realdata
def test_loocv_rmse_of_lm_matches_r(realdata_dir):
    """lidaRtRee's quatre_montagnes: R 4.2.2 lm(G_m2_ha ~ zmax + zq95), leave-one-out RMSE 18.5638 (reference file)."""
    folder = realdata_dir / "lidaRtRee_chablais3"
    ref = (folder / "quatre_montagnes_lm_reference_R.txt").read_text()
    r_loocv = float(re.search(r"LOOCV_RMSE ([0-9.]+)", ref).group(1))
    r_r2 = float(re.search(r"^R2 ([0-9.]+)", ref, flags=re.M).group(1))
    raw = _fit(folder / "quatre_montagnes.csv", "--no-clip")
    assert raw["cv"]["predictions_clipped_at"] is None
    assert raw["learners"]["mlr"]["cv"]["rmse"] == pytest.approx(r_loocv, rel=1e-6)
    assert raw["learners"]["mlr"]["training"]["r2"] == pytest.approx(r_r2, rel=1e-6)
    clipped = _fit(folder / "quatre_montagnes.csv")  # the default clips, and says so
    assert clipped["cv"]["predictions_clipped_at"] == 0.0
    assert clipped["learners"]["mlr"]["cv"]["rmse"] < r_loocv  # negative predictions were raised to 0


def test_clipping_is_reported_in_the_text_output(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.random(30) * 10
    pd.DataFrame({"a": x, "y": 2 * x - 5 + rng.normal(0, 1, 30)}).to_csv(tmp_path / "t.csv", index=False)
    base = ["tool", "fit", str(tmp_path / "t.csv"), "--target", "y", "--features", "a", "--learners", "mlr",
            "--no-grid", "--selection", "none"]
    assert "predictions clipped at 0" in CliRunner().invoke(main, base).output
    assert "predictions not clipped" in CliRunner().invoke(main, base + ["--no-clip"]).output
