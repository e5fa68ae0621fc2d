"""Fixtures of the lidar tests: simulated TLS plots with known trees (processed once per session)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from _lidar_sim import make_stand

from minecarbon.lidar import PointCloud, process_tls_plot
from minecarbon.scenario.tls import simulate_tls_scan


def las_to_cloud(las) -> PointCloud:
    return PointCloud(np.column_stack([las.x, las.y, las.z]), None,
                      {"tree_id": np.asarray(las.tree_id), "classification": np.asarray(las.classification)})


@dataclass
class SimPlot:
    trees: pd.DataFrame
    cloud: PointCloud
    slope_deg: float
    aspect_deg: float
    seed: int
    result: object


def _sim(n: int, seed: int, slope: float, aspect: float, label: bool = False, **kw) -> SimPlot:
    trees = make_stand(n, seed, **kw)
    las = simulate_tls_scan(trees, slope, aspect, seed)
    cloud = las_to_cloud(las)
    res = process_tls_plot(cloud, plot_size_m=30.0, label=label, what=f"simulated plot {seed}")
    return SimPlot(trees, cloud, slope, aspect, seed, res)


@pytest.fixture(scope="session")
def sim_moderate() -> SimPlot:
    """50 trees (555 /ha) on a 15 degree slope, conifers and broadleaves; with point labels."""
    return _sim(50, 1, 15.0, 135.0, label=True)


@pytest.fixture(scope="session")
def sim_steep() -> SimPlot:
    """40 trees on a 30 degree slope, mostly broadleaves (ellipsoidal crowns)."""
    return _sim(40, 11, 30.0, 300.0, species=("刺槐", "刺槐", "油松"))


@pytest.fixture(scope="session")
def sim_dense() -> SimPlot:
    """70 trees (780 /ha): some stems are hidden behind others from a single scan position."""
    return _sim(70, 2, 20.0, 45.0)
