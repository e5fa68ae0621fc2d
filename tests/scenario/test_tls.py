"""Tests of the simulated terrestrial laser scan (minecarbon.scenario.tls)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import laspy
import numpy as np
import pandas as pd
import pytest

from minecarbon.errors import InputError
from minecarbon.scenario.tls import simulate_tls_scan, write_laz

SLOPE_DEG = 15.0
ASPECT_DEG = 220.0
SEED = 7


def _five_trees() -> pd.DataFrame:
    """Five trees in well separated directions (no tree shadows another)."""
    azimuth = np.radians([10.0, 82.0, 154.0, 226.0, 298.0])
    dist = np.array([4.0, 6.5, 5.0, 7.5, 6.0])
    return pd.DataFrame({
        "tree_id": [101, 102, 103, 104, 105],
        "x_local_m": dist * np.sin(azimuth),
        "y_local_m": dist * np.cos(azimuth),
        "species": ["油松", "杨树", "刺槐", "华北落叶松", "白桦"],
        "dbh_cm": [22.0, 31.5, 17.0, 26.0, 14.5],
        "height_m": [14.0, 19.5, 12.0, 17.0, 11.0],
    })


def _random_trees(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dbh = rng.uniform(10.0, 35.0, n)
    return pd.DataFrame({
        "tree_id": np.arange(1, n + 1),
        "x_local_m": rng.uniform(-15.0, 15.0, n),
        "y_local_m": rng.uniform(-15.0, 15.0, n),
        "species": rng.choice(["油松", "刺槐", "杨树", "华北落叶松"], n),
        "dbh_cm": dbh,
        "height_m": 4.0 + 0.9 * dbh ** 0.8 + rng.normal(0.0, 1.0, n),
    })


def _plane_fit(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    a = np.column_stack([x, y, np.ones_like(x)])
    return np.linalg.lstsq(a, z, rcond=None)[0]


def _ground_plane(las: laspy.LasData) -> np.ndarray:
    """Robust plane ``z = c0*x + c1*y + c2`` through the ground returns (tree_id 0)."""
    sel = np.asarray(las.tree_id) == 0
    x, y, z = np.asarray(las.x)[sel], np.asarray(las.y)[sel], np.asarray(las.z)[sel]
    cells = pd.DataFrame({"ix": np.floor(x), "iy": np.floor(y), "z": z})
    low = cells.groupby(["ix", "iy"])["z"].quantile(0.2).reset_index()
    coef = _plane_fit(low["ix"].to_numpy() + 0.5, low["iy"].to_numpy() + 0.5, low["z"].to_numpy())
    for _ in range(3):
        res = z - (coef[0] * x + coef[1] * y + coef[2])
        ok = np.abs(res) < 0.15
        coef = _plane_fit(x[ok], y[ok], z[ok])
    return coef


def _taubin_circle(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Algebraic (Taubin) least-squares circle fit: centre x, centre y, radius."""
    xm, ym = x.mean(), y.mean()
    u, v = x - xm, y - ym
    zz = u * u + v * v
    zm = zz.mean()
    z0 = (zz - zm) / (2.0 * math.sqrt(zm))
    _, _, vt = np.linalg.svd(np.column_stack([z0, u, v]), full_matrices=False)
    a = vt[2]
    a0 = a[0] / (2.0 * math.sqrt(zm))
    a3 = -zm * a0
    cx = -a[1] / (2.0 * a0) + xm
    cy = -a[2] / (2.0 * a0) + ym
    r = math.sqrt(a[1] ** 2 + a[2] ** 2 - 4.0 * a0 * a3) / (2.0 * abs(a0))
    return cx, cy, r


@pytest.fixture(scope="module")
def trees() -> pd.DataFrame:
    return _five_trees()


@pytest.fixture(scope="module")
def scan(trees: pd.DataFrame) -> laspy.LasData:
    return simulate_tls_scan(trees, SLOPE_DEG, ASPECT_DEG, seed=SEED)


@pytest.fixture(scope="module")
def laz(scan: laspy.LasData, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, laspy.LasData]:
    path = tmp_path_factory.mktemp("tls") / "plot_01.laz"
    out = write_laz(scan, path)
    return out, laspy.read(str(out))


@pytest.fixture(scope="module")
def plane(laz: tuple[Path, laspy.LasData]) -> np.ndarray:
    return _ground_plane(laz[1])


def test_laz_roundtrip_header(scan: laspy.LasData, laz: tuple[Path, laspy.LasData]) -> None:
    path, back = laz
    assert path.exists() and path.suffix == ".laz"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers
    assert back.header.point_count == len(scan.points) == len(back.points)
    assert 40_000 < len(back.points) < 400_000
    assert str(back.header.version) == "1.4"
    assert back.header.point_format.id in (6, 7)
    np.testing.assert_allclose(back.header.scales, 0.001)
    assert back.header.parse_crs() is None
    assert "tree_id" in list(back.point_format.extra_dimension_names)
    assert np.asarray(back.tree_id).dtype == np.uint32
    assert set(np.unique(np.asarray(back.classification))) <= {0, 1}
    intensity = np.asarray(back.intensity)
    assert intensity.min() > 0 and 1000 < np.median(intensity) < 40000
    np.testing.assert_allclose(np.asarray(back.x), np.asarray(scan.x), atol=1e-3)
    np.testing.assert_array_equal(np.asarray(back.tree_id), np.asarray(scan.tree_id))


def test_tree_ids_are_positions(laz: tuple[Path, laspy.LasData], trees: pd.DataFrame) -> None:
    tid = np.asarray(laz[1].tree_id)
    assert set(np.unique(tid)) == set(range(len(trees) + 1))
    assert (tid == 0).sum() > 0.2 * tid.size


def test_scanner_at_origin_above_ground(plane: np.ndarray) -> None:
    assert plane[2] == pytest.approx(-1.5, abs=0.1)


def test_ground_follows_slope(plane: np.ndarray) -> None:
    slope = math.degrees(math.atan(math.hypot(plane[0], plane[1])))
    aspect = math.degrees(math.atan2(-plane[0], -plane[1])) % 360.0
    assert slope == pytest.approx(SLOPE_DEG, abs=2.0)
    assert abs((aspect - ASPECT_DEG + 180.0) % 360.0 - 180.0) < 5.0


def test_ground_density_falls_with_distance(laz: tuple[Path, laspy.LasData], plane: np.ndarray) -> None:
    las = laz[1]
    x, y, z = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)
    ground = (np.asarray(las.tree_id) == 0) & (np.abs(z - (plane[0] * x + plane[1] * y + plane[2])) < 0.15)
    r = np.hypot(x[ground], y[ground])

    def density(r0: float, r1: float) -> float:
        return ((r >= r0) & (r < r1)).sum() / (math.pi * (r1 ** 2 - r0 ** 2))

    assert density(3.0, 5.0) > 3.0 * density(12.0, 15.0) > 0.0


def test_stem_cross_section_matches_dbh(laz: tuple[Path, laspy.LasData], trees: pd.DataFrame,
                                        plane: np.ndarray) -> None:
    las = laz[1]
    x, y, z, tid = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z), np.asarray(las.tree_id)
    checked = 0
    for i, row in enumerate(trees.itertuples(index=False)):
        gz = plane[0] * row.x_local_m + plane[1] * row.y_local_m + plane[2]
        band = (tid == i + 1) & (z > gz + 1.2) & (z < gz + 1.4)
        if band.sum() < 60:
            continue
        checked += 1
        cx, cy, r = _taubin_circle(x[band], y[band])
        assert r == pytest.approx(row.dbh_cm / 200.0, abs=0.005), row
        assert math.hypot(cx - row.x_local_m, cy - row.y_local_m) < 0.12
        # only the half facing the scanner is sampled
        to_scanner = math.atan2(-cy, -cx)
        off = (np.arctan2(y[band] - cy, x[band] - cx) - to_scanner + math.pi) % (2 * math.pi) - math.pi
        assert np.abs(off).max() < math.radians(110.0)
        assert np.abs(off).max() > math.radians(50.0)
    assert checked == len(trees)


def test_tree_heights(laz: tuple[Path, laspy.LasData], trees: pd.DataFrame, plane: np.ndarray) -> None:
    las = laz[1]
    z, tid = np.asarray(las.z), np.asarray(las.tree_id)
    for i, row in enumerate(trees.itertuples(index=False)):
        gz = plane[0] * row.x_local_m + plane[1] * row.y_local_m + plane[2]
        top = z[tid == i + 1].max() - gz
        assert top == pytest.approx(row.height_m, abs=0.5), row


def test_deterministic_for_seed(trees: pd.DataFrame, scan: laspy.LasData) -> None:
    again = simulate_tls_scan(trees, SLOPE_DEG, ASPECT_DEG, seed=SEED)
    np.testing.assert_array_equal(np.asarray(again.points.array), np.asarray(scan.points.array))
    other = simulate_tls_scan(trees, SLOPE_DEG, ASPECT_DEG, seed=SEED + 1)
    assert len(other.points) != len(scan.points) or not np.array_equal(np.asarray(other.x), np.asarray(scan.x))


def test_noise_points_present(laz: tuple[Path, laspy.LasData], plane: np.ndarray,
                              trees: pd.DataFrame) -> None:
    las = laz[1]
    x, y, z, tid = np.asarray(las.x), np.asarray(las.y), np.asarray(las.z), np.asarray(las.tree_id)
    hag = z - (plane[0] * x + plane[1] * y + plane[2])
    far = np.ones(x.size, dtype=bool)
    for row in trees.itertuples(index=False):
        far &= np.hypot(x - row.x_local_m, y - row.y_local_m) > 7.0
    in_air = (tid == 0) & (hag > 3.0) & far
    below = (tid == 0) & (hag < -0.15)
    assert in_air.sum() > 0.001 * x.size
    assert below.sum() > 0


def test_missing_column_raises(trees: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="dbh_cm"):
        simulate_tls_scan(trees.drop(columns="dbh_cm"), 5.0, 0.0, seed=1)


def test_empty_plot_is_ground_only() -> None:
    empty = _five_trees().iloc[:0]
    las = simulate_tls_scan(empty, 5.0, 0.0, seed=1)
    assert len(las.points) > 10_000
    assert int(np.asarray(las.tree_id).max()) == 0


def test_thirty_tree_plot_size_and_speed() -> None:
    trees = _random_trees(30, seed=11)
    simulate_tls_scan(trees.iloc[:2], 10.0, 90.0, seed=2)  # warm-up (imports, caches)
    start = time.perf_counter()
    las = simulate_tls_scan(trees, 10.0, 90.0, seed=2)
    elapsed = time.perf_counter() - start
    assert 150_000 <= len(las.points) <= 400_000
    assert elapsed < 5.0  # about 0.8 s on a workstation; generous for slow CI
    tid = np.asarray(las.tree_id)
    assert len(np.unique(tid[tid > 0])) >= 28  # a tree may hide entirely behind another
