"""The uncertainty layer's 90 % intervals against the simulator's truth on the `small` area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from minecarbon.config import load_config
from minecarbon.pipeline import run_pipeline


@pytest.mark.slow
def test_90_percent_intervals_cover_the_truth_at_85_to_95_percent_of_pixels(tmp_path):
    from minecarbon.scenario import simulate

    toml = simulate(tmp_path / "small", size="small", seed=0, start_year=2012, end_year=2016)
    cfg = load_config(toml)
    assert cfg.validation.truth_dir  # the simulator names its truth
    run_pipeline(cfg, ["units", "plots", "features", "model", "map"])
    val = pd.read_csv(cfg.workspace / "outputs" / "map" / "map_validation.csv")
    allpx = val[val["forest_type"] == "all"]
    assert len(allpx) == 5 and (allpx["n"] > 20000).all()
    pooled = float(np.average(allpx["interval_coverage"], weights=allpx["n"]))
    assert 0.85 <= pooled <= 0.95, allpx
    assert allpx["interval_coverage"].between(0.80, 0.97).all(), allpx  # every single year close to nominal
    assert allpx["r2"].min() > 0.6  # and the maps themselves track the truth
