"""The compiled barycentric transforms equal scipy's ``Delaunay.transform`` bit for bit where this machine's
BLAS computes them as the loop does (issue #18), within 1e-12 everywhere, and the TIN DTM and interpolation
equal scipy's alone either way: where the loop does not match (``matches_scipy()`` is False, e.g. OpenBLAS's
kernels on some AMD CPUs differ in the last bit of ~3 % of the entries), scipy computes the transforms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import Delaunay

from minecarbon.lidar import _barycentric as bary
from minecarbon.lidar import ground


def _clouds():
    rng = np.random.default_rng(7)
    yield "uniform", rng.uniform(0.0, 1000.0, (20000, 2))
    # ALS-like ground: clustered returns, relative to a corner as tin_surface triangulates them
    c = rng.uniform(0.0, 1060.0, (400, 2))
    yield "clustered", (c[rng.integers(0, 400, 15000)] + rng.normal(0.0, 6.0, (15000, 2)))
    # a lattice (cocircular points, qhull's Qz) with a few near-collinear slivers along a line
    g = np.stack(np.meshgrid(np.arange(60.0), np.arange(60.0)), -1).reshape(-1, 2) * 0.5
    line = np.column_stack([np.linspace(0.0, 29.5, 50), 10.25 + 1e-9 * rng.standard_normal(50)])
    yield "lattice", np.vstack([g, line])
    yield "tiny_scale", rng.uniform(0.0, 1e-3, (3000, 2))


@pytest.mark.parametrize("name,pts", list(_clouds()), ids=lambda v: v if isinstance(v, str) else "")
def test_transforms_equal_scipy_bit_for_bit(name, pts):
    tri = Delaunay(pts)
    ours = bary.transforms(tri.points, tri.simplices)
    ref = Delaunay(pts).transform  # scipy's three LAPACK calls per triangle
    assert ours.shape == ref.shape
    assert np.array_equal(np.isnan(ours), np.isnan(ref)), name
    scale = np.nanmax(np.abs(ref), axis=(1, 2), keepdims=True)  # per triangle
    assert np.nanmax(np.abs(ours - ref) / scale) <= 1e-12, name  # the same numbers up to rounding, on any machine
    if bary.matches_scipy():  # this machine's BLAS rounds as the loop does: the loop is used, bit for bit
        assert np.array_equal(ours, ref, equal_nan=True), name


def test_degenerate_triangles_go_to_scipy():
    # three collinear points and one off the line: a zero-area triangle is NaN in scipy and here
    pts = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [0.0, 1.0]])
    simplices = np.array([[0, 1, 2], [0, 1, 3]], dtype=np.int32)
    ours = bary.transforms(pts, simplices)
    ref = bary._scipy(pts, simplices)
    assert np.isnan(ref[0, :2]).all() and np.isfinite(ref[1]).all()
    assert np.array_equal(ours, ref, equal_nan=True)


def test_interpolation_with_them_equals_scipys():
    rng = np.random.default_rng(3)
    pts = rng.uniform(0.0, 500.0, (8000, 2))
    z = 100.0 + 0.05 * pts[:, 0] - 0.02 * pts[:, 1] + rng.normal(0.0, 0.3, 8000)
    q = rng.uniform(-20.0, 520.0, (50000, 2))  # some outside the hull: NaN in both
    tri = Delaunay(pts)
    bary.set_transforms(tri)
    # set here where the loop matches this machine's scipy bit for bit; else left to scipy
    assert (tri._transform is not None) == bary.matches_scipy()
    ours = LinearNDInterpolator(tri, z)(q)
    ref = LinearNDInterpolator(pts, z)(q)
    assert np.array_equal(ours, ref, equal_nan=True)
    assert np.isnan(ref).any() and np.isfinite(ref).any()


def test_tin_surface_unchanged(monkeypatch):
    rng = np.random.default_rng(11)
    g = np.column_stack([rng.uniform(500000.0, 501000.0, 30000), rng.uniform(4100000.0, 4101000.0, 30000),
                         rng.normal(1300.0, 5.0, 30000)])
    lo, hi = np.array([499970.0, 4099970.0]), np.array([501030.0, 4101030.0])
    fast = ground.tin_surface(g, lo, hi, 2.5, None)
    monkeypatch.setattr(ground, "set_transforms", lambda tri: None)  # scipy alone, as before
    ref = ground.tin_surface(g, lo, hi, 2.5, None)
    assert np.array_equal(fast.z, ref.z)
    assert np.isfinite(ref.z).all()  # cells outside the hull took the nearest height


def test_no_match_leaves_scipy_in_charge(monkeypatch):
    monkeypatch.setattr(bary, "matches_scipy", lambda: False)
    tri = Delaunay(np.random.default_rng(0).uniform(0.0, 1.0, (100, 2)))
    bary.set_transforms(tri)
    assert tri._transform is None
