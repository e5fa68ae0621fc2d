"""Circle fits of stem sections against exact geometry and the peer (scikit-image)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from minecarbon.lidar.circle import arc_coverage_deg, fit_circle, fit_circle_taubin, ransac_circle


def _arc(cx, cy, r, start, span, n, noise, rng):
    t = rng.uniform(start, start + span, n)
    return np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)]) + rng.normal(0, noise, (n, 2))


def test_exact_points_give_the_exact_circle():
    rng = np.random.default_rng(0)
    xy = _arc(3.0, -2.0, 0.137, 0.0, np.pi, 40, 0.0, rng)
    for fit in (fit_circle_taubin(xy), fit_circle(xy)):
        x, y, r = (fit.x, fit.y, fit.r) if hasattr(fit, "x") else fit
        assert (x, y, r) == pytest.approx((3.0, -2.0, 0.137), abs=1e-9)


def test_half_arcs_are_unbiased_unlike_the_kasa_fit():
    """The peer (skimage CircleModel: an algebraic Kasa-type fit) shrinks noisy half arcs; ours does not."""
    from skimage.measure import CircleModel

    rng = np.random.default_rng(1)
    ours, peer = [], []
    for _ in range(300):
        r = rng.uniform(0.04, 0.3)
        xy = _arc(2.0, 3.0, r, rng.uniform(0, 2 * np.pi), np.pi, 60, 0.004, rng)
        ours.append(fit_circle(xy, seed=0).r - r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skimage 0.26 deprecates estimate()/params
            m = CircleModel()
            m.estimate(xy)
            peer.append(m.params[2] - r)
    ours, peer = np.array(ours) * 1000, np.array(peer) * 1000  # mm
    assert abs(ours.mean()) < 0.25                     # essentially unbiased (mm)
    assert peer.mean() < -0.2                          # Kasa-type: radius too small on half arcs
    assert np.sqrt(np.mean(ours ** 2)) <= np.sqrt(np.mean(peer ** 2))


def test_ransac_ignores_branches_and_ghost_points():
    rng = np.random.default_rng(2)
    stem = _arc(0.0, 0.0, 0.12, 0.3, np.pi, 150, 0.003, rng)
    branch = np.column_stack([np.linspace(0.12, 0.6, 60), np.full(60, 0.05)]) + rng.normal(0, 0.01, (60, 2))
    ghosts = rng.uniform(-0.5, 0.5, (50, 2))
    fit = fit_circle(np.vstack([stem, branch, ghosts]), inlier_m=0.01, r_max=0.5, seed=3)
    assert (fit.x, fit.y, fit.r) == pytest.approx((0.0, 0.0, 0.12), abs=0.004)
    inl = ransac_circle(np.vstack([stem, branch, ghosts]), 0.01, 0.02, 0.5, seed=3)
    assert inl[:150].mean() > 0.9 and inl[150:].mean() < 0.2


def test_interior_penalty_prefers_an_empty_stem_section():
    """A stem (empty inside) next to a foliage blob: without the penalty a big circle through foliage wins."""
    rng = np.random.default_rng(4)
    stem = _arc(0.0, 0.0, 0.1, 0.0, np.pi, 100, 0.003, rng)
    ang = rng.uniform(0, 2 * np.pi, 900)
    rad = 0.4 * np.sqrt(rng.uniform(0, 1, 900))
    blob = np.column_stack([0.6 + rad * np.cos(ang), rad * np.sin(ang)])
    xy = np.vstack([stem, blob])
    fit = fit_circle(xy, inlier_m=0.015, r_max=0.75, seed=0, trials=3000, interior_margin=0.03)
    assert (fit.x, fit.y, fit.r) == pytest.approx((0.0, 0.0, 0.1), abs=0.01)
    assert fit.interior == 0
    plain = fit_circle(xy, inlier_m=0.015, r_max=0.75, seed=0, trials=3000)
    assert plain.interior > 100 and plain.r > 0.2   # a big circle through the foliage


def test_arc_coverage():
    rng = np.random.default_rng(6)
    half = _arc(0, 0, 1.0, 0.0, np.pi, 2000, 0.0, rng)
    assert arc_coverage_deg(half, 0, 0) == pytest.approx(180, abs=10)
    full = _arc(0, 0, 1.0, 0.0, 2 * np.pi, 4000, 0.0, rng)
    assert arc_coverage_deg(full, 0, 0) == 360
    assert fit_circle(np.zeros((3, 2))).ok is False
