"""Simulated single-scan terrestrial laser scans (TLS) of forest field plots.

The simulator turns a tree table of one plot into the point cloud a user
would bring back from the field: one scan from a tripod at the plot centre,
in the scanner's own metric frame, unclassified, with the shadows, density
fall-off, bark roughness and stray returns that the processing has to cope
with.

Frame
-----
Local scanner coordinates, metres, no CRS: the scanner's optical centre is
the origin ``(0, 0, 0)``, ``+x`` points east, ``+y`` north, ``+z`` up.  The
ground under the scanner therefore lies ``scanner_height_m`` (default 1.5 m)
*below* the origin, at ``z = -1.5``.  Tree positions ``x_local_m`` /
``y_local_m`` are horizontal coordinates in the same frame.

What is simulated
-----------------
* **Ground**: a plane with the given slope and aspect (aspect = downslope
  direction, degrees clockwise from north) plus smooth micro-relief (a few
  centimetres) and litter roughness; point density falls with the horizontal
  distance from the scanner (``points_per_m2_ground`` at 10 m, rising as
  ``1/r**2`` up to a cap at 2.5 m, nothing under the tripod within 0.6 m).
* **Stems**: a tapering circular stem per tree, rooted at the ground height
  under the tree, with a slight random lean (below 5 degrees), butt flare
  below 0.6 m, diameter ``dbh_cm`` at 1.3 m along the stem and a linear to
  mildly curved taper to the top.  Only the half of the circumference facing
  the scanner is sampled, with the density of a scanner sampling in angle
  (denser facing the scanner, sparser at the silhouette edges), bark noise of
  3-5 mm.  The stem is dense up to the crown base and sparse inside the crown.
* **Crowns**: a cone (conifers) or ellipsoid (broadleaves) of foliage points
  from the crown base (40-60 % of the height) to the top, denser on the side
  facing the scanner, plus a few main branches and a leader, so that the
  highest points of a tree are within about 0.3 m of ``height_m`` above its
  stem base.
* **Shrubs**: a few low bushes (0.3-1.5 m), unattributed.
* **Occlusion**: every point behind a stem (in its angular shadow) is
  removed; points seen through a crown are thinned with a Beer-Lambert
  transmission along the ray.
* **Artefacts**: isolated noise returns in the air and a few below the
  ground (``noise_fraction`` of the points), and mixed-pixel "ghost" points
  trailing behind stem silhouettes.
* **Attributes**: classification 0 (never classified) for every point,
  plausible ``intensity`` (reflectance x range fall-off x incidence), GPS
  time in scan order (points are stored in scan order, not grouped by
  object), ``scan_angle`` = elevation angle, and the truth extra dimension
  ``tree_id`` (uint32): the 1-based position of the tree in the input table,
  0 for ground, shrubs and noise (including mixed pixels).
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import laspy
import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.atomic import atomic_path

__all__ = ["simulate_tls_scan", "write_laz", "TREE_COLUMNS"]

#: Columns ``simulate_tls_scan`` needs in its tree table.
TREE_COLUMNS = ("tree_id", "x_local_m", "y_local_m", "species", "dbh_cm", "height_m")

_CONIFER_KEYS = ("松", "杉", "柏", "pinus", "picea", "larix", "abies", "platycladus", "juniperus",
                 "cupressus", "pine", "spruce", "larch", "fir", "cypress", "conifer", "cedar")

# Reflectance-like factors for intensity.
_REFL_GROUND, _REFL_BARK, _REFL_FOLIAGE, _REFL_SHRUB, _REFL_NOISE = 0.32, 0.42, 0.55, 0.5, 0.12

_DIST_REF = 10.0          # reference distance of the density parameters [m]
_DIST_CAP = 2.5           # densities stop rising closer than this [m]
_BLIND_RADIUS = 0.6       # no ground returns under the tripod [m]
_FOLIAGE_EXTINCTION = 0.3  # Beer-Lambert coefficient of crowns [1/m]


def _is_conifer(species: object) -> bool:
    text = str(species).lower()
    return any(key in text for key in _CONIFER_KEYS)


class _Ground:
    """Sloped plane with smooth micro-relief; ``z(x, y)`` in the scanner frame."""

    def __init__(self, slope_deg: float, aspect_deg: float, scanner_height_m: float,
                 rng: np.random.Generator) -> None:
        t = math.tan(math.radians(slope_deg))
        a = math.radians(aspect_deg)
        # z decreases towards the downslope direction (sin a, cos a).
        self.gx = -t * math.sin(a)
        self.gy = -t * math.cos(a)
        n = 6
        wavelength = rng.uniform(2.5, 12.0, n)
        direction = rng.uniform(0.0, 2.0 * math.pi, n)
        k = 2.0 * math.pi / wavelength
        self.kx = k * np.cos(direction)
        self.ky = k * np.sin(direction)
        self.amp = rng.uniform(0.008, 0.022, n)
        self.phase = rng.uniform(0.0, 2.0 * math.pi, n)
        self.z0 = -scanner_height_m - float(self.relief(np.zeros(1), np.zeros(1))[0])

    def relief(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        arg = np.multiply.outer(x, self.kx) + np.multiply.outer(y, self.ky) + self.phase
        return np.sin(arg) @ self.amp

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        return self.z0 + self.gx * x + self.gy * y + self.relief(x, y)


class _Tree:
    """Geometry of one simulated tree (stem axis, taper, crown)."""

    def __init__(self, index: int, x: float, y: float, species: object, dbh_cm: float,
                 height_m: float, ground: _Ground, rng: np.random.Generator) -> None:
        self.tid = index + 1
        self.conifer = _is_conifer(species)
        self.dbh = dbh_cm / 100.0
        self.height = height_m
        self.base = np.array([x, y, float(ground(np.array([x]), np.array([y]))[0])])
        lean = min(abs(rng.normal(0.0, math.radians(1.8))), math.radians(4.5))
        lean_az = rng.uniform(0.0, 2.0 * math.pi)
        self.axis = np.array([math.sin(lean) * math.cos(lean_az), math.sin(lean) * math.sin(lean_az),
                              math.cos(lean)])
        helper = np.array([1.0, 0.0, 0.0]) if abs(self.axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        self.u = np.cross(self.axis, helper)
        self.u /= np.linalg.norm(self.u)
        self.v = np.cross(self.axis, self.u)
        # along-axis length such that the apex is exactly height_m above the base
        self.length = height_m / self.axis[2]
        self.taper_exp = rng.uniform(0.8, 1.1)
        self.bark_sd = rng.uniform(0.003, 0.005)
        crown_ratio = rng.uniform(0.4, 0.6)
        self.crown_base = crown_ratio * height_m                      # vertical, above base
        self.s_crown_base = self.crown_base / self.axis[2]
        if self.conifer:
            rc = 0.35 + 0.06 * dbh_cm
            self.crown_radius = float(np.clip(rc * rng.uniform(0.85, 1.15), 0.5, 4.0))
        else:
            rc = 0.5 + 0.09 * dbh_cm
            self.crown_radius = float(np.clip(rc * rng.uniform(0.85, 1.15), 0.7, 6.0))
        self.dist = math.hypot(x, y)
        self.azimuth = math.atan2(y, x)
        # horizontal offset of the axis per metre of height
        self.lean_xy = self.axis[:2] / self.axis[2]
        self.bound = max(self.crown_radius, self.dbh) + float(np.hypot(*self.lean_xy)) * height_m + 0.2

    def radius(self, s: np.ndarray) -> np.ndarray:
        """Stem radius [m] at along-axis distance ``s`` from the base."""
        s = np.asarray(s, dtype=float)
        rel = np.clip((self.length - s) / max(self.length - 1.3, 1e-3), 0.0, None)
        r = 0.5 * self.dbh * rel ** self.taper_exp
        flare = 1.0 + 0.25 * np.clip((0.6 - s) / 0.6, 0.0, 1.0) ** 2
        return np.maximum(r * flare, 0.004)

    def axis_point(self, s: np.ndarray) -> np.ndarray:
        return self.base + np.multiply.outer(np.asarray(s, dtype=float), self.axis)

    def axis_xy_at_z(self, z: np.ndarray) -> np.ndarray:
        return self.base[:2] + np.multiply.outer(np.asarray(z, dtype=float) - self.base[2], self.lean_xy)


def _density_factor(d: float | np.ndarray) -> float | np.ndarray:
    """Relative point density of a surface facing the scanner at horizontal distance ``d``."""
    return (_DIST_REF / np.maximum(d, _DIST_CAP)) ** 2


def _sample_ground(ground: _Ground, half: float, density10: float,
                   rng: np.random.Generator) -> np.ndarray:
    """Ground points with density ``density10 * (10 / max(r, 2.5))**2`` inside the square."""
    r_cap, r_out = _DIST_CAP, half * math.sqrt(2.0)
    rho_max = density10 * (_DIST_REF / r_cap) ** 2
    n_inner = rho_max * math.pi * (r_cap ** 2 - _BLIND_RADIUS ** 2)
    n_outer = 2.0 * math.pi * density10 * _DIST_REF ** 2 * math.log(r_out / r_cap)
    n = int(rng.poisson(n_inner + n_outer))
    inner = rng.random(n) < n_inner / (n_inner + n_outer)
    u = rng.random(n)
    r = np.where(inner, np.sqrt(_BLIND_RADIUS ** 2 + u * (r_cap ** 2 - _BLIND_RADIUS ** 2)),
                 r_cap * (r_out / r_cap) ** u)
    theta = rng.uniform(0.0, 2.0 * math.pi, n)
    x, y = r * np.cos(theta), r * np.sin(theta)
    keep = (np.abs(x) <= half) & (np.abs(y) <= half)
    x, y = x[keep], y[keep]
    z = ground(x, y) + rng.normal(0.0, 0.006, x.size)
    litter = rng.random(x.size) < 0.1
    z[litter] += np.abs(rng.normal(0.0, 0.02, int(litter.sum())))
    return np.column_stack([x, y, z])


def _sample_stem(tree: _Tree, s_lo: float, s_hi: float, density: float, ground: _Ground,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points on the visible half of the stem between ``s_lo`` and ``s_hi``.

    Returns points, cosine of incidence and an "edge of silhouette" flag.
    """
    if s_hi <= s_lo:
        empty = np.empty((0, 3))
        return empty, np.empty(0), np.empty(0, dtype=bool)
    mean_diam = 2.0 * float(np.mean(tree.radius(np.linspace(s_lo, s_hi, 9))))
    expected = density * _density_factor(tree.dist) * mean_diam * (s_hi - s_lo)
    n = int(rng.poisson(expected))
    s = rng.uniform(s_lo, s_hi, n)
    centre = tree.axis_point(s)
    to_scanner = -centre
    theta0 = np.arctan2(to_scanner @ tree.v, to_scanner @ tree.u)
    offset = np.arcsin(rng.uniform(-1.0, 1.0, n))       # scanner samples evenly in angle
    theta = theta0 + offset
    r = tree.radius(s) + rng.normal(0.0, tree.bark_sd, n)
    pts = centre + r[:, None] * (np.multiply.outer(np.cos(theta), tree.u)
                                 + np.multiply.outer(np.sin(theta), tree.v))
    rng_h = np.hypot(pts[:, 0], pts[:, 1])
    rng_3d = np.linalg.norm(pts, axis=1)
    # range fall-off and foreshortening of the stem seen from below/above
    keep = rng.random(n) < (rng_h / np.maximum(rng_3d, 1e-6)) ** 3
    keep &= pts[:, 2] >= ground(pts[:, 0], pts[:, 1]) - 0.005
    cos_inc = np.cos(offset)
    edge = np.abs(offset) > math.radians(65.0)
    return pts[keep], cos_inc[keep], edge[keep]


def _sample_crown(tree: _Tree, density: float, rng: np.random.Generator) -> np.ndarray:
    """Foliage points of the crown (cone or ellipsoid), biased to the scanner side."""
    length = tree.height - tree.crown_base
    rc = tree.crown_radius
    shape = 0.5 if tree.conifer else math.pi / 4.0
    n = int(rng.poisson(density * _density_factor(tree.dist) * 2.0 * rc * length * shape * 2.5))
    depth = np.clip(1.0 - np.abs(rng.normal(0.0, 0.15, n)), 0.2, 1.0)
    if tree.conifer:
        t = 1.0 - np.sqrt(1.0 - rng.random(n))
        z = tree.base[2] + tree.crown_base + t * length
        rad = rc * (1.0 - t) * depth
        ang = rng.uniform(0.0, 2.0 * math.pi, n)
        dx, dy = rad * np.cos(ang), rad * np.sin(ang)
    else:
        vec = rng.normal(size=(n, 3))
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        c = 0.5 * length
        z = tree.base[2] + tree.crown_base + c + c * depth * vec[:, 2]
        dx, dy = rc * depth * vec[:, 0], rc * depth * vec[:, 1]
    centre = tree.axis_xy_at_z(z)
    pts = np.column_stack([centre[:, 0] + dx, centre[:, 1] + dy, z])
    pts += rng.normal(0.0, 0.02, pts.shape)
    pts[:, 2] = np.minimum(pts[:, 2], tree.base[2] + tree.height)
    # the side facing the scanner is seen better than the far side
    out = np.column_stack([dx, dy])
    out_norm = np.linalg.norm(out, axis=1)
    ph = pts[:, :2]
    ph_norm = np.linalg.norm(ph, axis=1)
    cos_face = -np.einsum("ij,ij->i", out, ph) / np.maximum(out_norm * ph_norm, 1e-9)
    p_face = 0.3 + 0.7 * np.clip(cos_face, 0.0, 1.0)
    rng_3d = np.linalg.norm(pts, axis=1)
    p_range = (np.maximum(ph_norm, _DIST_CAP) / np.maximum(rng_3d, 1e-6)) ** 2
    keep = rng.random(n) < p_face * np.minimum(p_range, 1.0)
    return pts[keep]


def _sample_branches(tree: _Tree, density: float, rng: np.random.Generator) -> np.ndarray:
    """A few main branches from the stem into the crown, plus the leader at the top."""
    n_branch = int(rng.integers(6, 13) if tree.conifer else rng.integers(4, 9))
    parts = []
    s_top = 0.85 * tree.length
    for _ in range(n_branch):
        s0 = rng.uniform(tree.s_crown_base, s_top)
        start = tree.axis_point(np.array([s0]))[0]
        elev = math.radians(rng.uniform(-15.0, 15.0) if tree.conifer else rng.uniform(20.0, 60.0))
        az = rng.uniform(0.0, 2.0 * math.pi)
        direction = np.array([math.cos(elev) * math.cos(az), math.cos(elev) * math.sin(az), math.sin(elev)])
        if tree.conifer:
            frac = 1.0 - (s0 - tree.s_crown_base) / max(tree.length - tree.s_crown_base, 1e-3)
            reach = tree.crown_radius * max(frac, 0.1) * rng.uniform(0.6, 0.9)
        else:
            reach = tree.crown_radius * rng.uniform(0.5, 0.85)
        blen = reach / max(math.cos(elev), 0.3)
        base_r = 0.3 * float(tree.radius(np.array([s0]))[0])
        expected = density * _density_factor(tree.dist) * 2.0 * base_r * blen * 0.6
        n = int(rng.poisson(expected))
        t = rng.random(n)
        pts = start + np.multiply.outer(t * blen, direction)
        pts += rng.normal(0.0, 1.0, (n, 3)) * (base_r * (1.0 - 0.7 * t))[:, None] * 0.7
        top = tree.base[2] + tree.height
        parts.append(pts[pts[:, 2] <= top])
    # leader: the top 0.3 m of the tree, always caught by a few returns
    n_top = 6 + int(rng.poisson(4))
    z = tree.base[2] + tree.height - rng.uniform(0.0, 0.3, n_top)
    xy = tree.axis_xy_at_z(z) + rng.normal(0.0, 0.04, (n_top, 2))
    parts.append(np.column_stack([xy, z]))
    return np.concatenate(parts) if parts else np.empty((0, 3))


def _sample_shrubs(trees: list[_Tree], ground: _Ground, half: float, density: float,
                   rng: np.random.Generator) -> np.ndarray:
    """A few low bushes, kept away from stems."""
    parts = []
    n_shrubs = int(rng.integers(3, 9))
    for _ in range(n_shrubs):
        for _attempt in range(20):
            cx, cy = rng.uniform(-half + 1.0, half - 1.0, 2)
            if math.hypot(cx, cy) > 2.0 and all(math.hypot(cx - t.base[0], cy - t.base[1]) > 1.2 for t in trees):
                break
        h = rng.uniform(0.3, 1.5)
        r = rng.uniform(0.3, 1.0)
        d = math.hypot(cx, cy)
        n = int(rng.poisson(density * _density_factor(d) * 2.0 * r * h * 2.0))
        vec = rng.normal(size=(n, 3))
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        depth = np.clip(1.0 - np.abs(rng.normal(0.0, 0.25, n)), 0.1, 1.0)
        gz = float(ground(np.array([cx]), np.array([cy]))[0])
        pts = np.column_stack([cx + r * depth * vec[:, 0], cy + r * depth * vec[:, 1],
                               gz + 0.5 * h + 0.5 * h * depth * vec[:, 2]])
        pts = pts[pts[:, 2] > ground(pts[:, 0], pts[:, 1]) + 0.02]
        ph = pts[:, :2]
        facing = -np.einsum("ij,ij->i", ph - [cx, cy], ph) / np.maximum(
            np.linalg.norm(ph - [cx, cy], axis=1) * np.linalg.norm(ph, axis=1), 1e-9)
        keep = rng.random(pts.shape[0]) < 0.3 + 0.7 * np.clip(facing, 0.0, 1.0)
        parts.append(pts[keep])
    return np.concatenate(parts) if parts else np.empty((0, 3))


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def _occlusion_keep_prob(pts: np.ndarray, owner: np.ndarray, trees: list[_Tree]) -> np.ndarray:
    """Probability that each point is seen past the stems and crowns of the other trees."""
    prob = np.ones(pts.shape[0])
    if not trees or pts.shape[0] == 0:
        return prob
    rho = np.hypot(pts[:, 0], pts[:, 1])
    az = np.arctan2(pts[:, 1], pts[:, 0])
    for tree in trees:
        if tree.dist > tree.bound:
            half_angle = math.asin(tree.bound / tree.dist)
            cand = (rho > tree.dist - tree.bound) & (np.abs(_wrap(az - tree.azimuth)) < half_angle)
        else:
            cand = np.ones(pts.shape[0], dtype=bool)
        cand &= owner != tree.tid
        idx = np.flatnonzero(cand)
        if idx.size == 0:
            continue
        p = pts[idx]
        r_h = np.maximum(rho[idx], 1e-6)
        p_hat = p[:, :2] / r_h[:, None]
        # --- stem shadow (stem taken as a leaning cylinder, ray height refined once)
        z_ray = p[:, 2] * np.minimum(tree.dist / r_h, 1.0)
        for _ in range(2):
            c = tree.axis_xy_at_z(z_ray)
            t = np.einsum("ij,ij->i", c, p_hat)
            z_ray = p[:, 2] * np.clip(t / r_h, 0.0, 1.0)
        perp = np.linalg.norm(c - t[:, None] * p_hat, axis=1)
        s = (z_ray - tree.base[2]) / tree.axis[2]
        inside = (s > -0.2) & (s < 0.9 * tree.length)
        r_stem = tree.radius(np.clip(s, 0.0, tree.length))
        shadow = inside & (t > 0.0) & (r_h > t) & (perp < r_stem)
        prob[idx[shadow]] = 0.0
        # --- crown transmission (crown taken as an ellipsoid with a vertical axis)
        length = tree.height - tree.crown_base
        semi_v = 0.5 * length
        semi_h = tree.crown_radius * (0.6 if tree.conifer else 0.9)
        cz = tree.base[2] + tree.crown_base + semi_v
        cxy = tree.axis_xy_at_z(np.array([cz]))[0]
        a = (p[:, 0] ** 2 + p[:, 1] ** 2) / semi_h ** 2 + p[:, 2] ** 2 / semi_v ** 2
        b = -2.0 * (p[:, 0] * cxy[0] + p[:, 1] * cxy[1]) / semi_h ** 2 - 2.0 * p[:, 2] * cz / semi_v ** 2
        cc = (cxy[0] ** 2 + cxy[1] ** 2) / semi_h ** 2 + cz ** 2 / semi_v ** 2 - 1.0
        disc = b * b - 4.0 * a * cc
        hit = disc > 0.0
        if np.any(hit):
            sq = np.sqrt(np.where(hit, disc, 0.0))
            t1 = (-b - sq) / (2.0 * a)
            t2 = (-b + sq) / (2.0 * a)
            norm = np.linalg.norm(p, axis=1)
            t_end = 1.0 - 0.05 / np.maximum(norm, 0.05)
            path = np.clip(np.minimum(t2, t_end) - np.maximum(t1, 0.0), 0.0, None) * norm
            path = np.where(hit, path, 0.0)
            prob[idx] *= np.exp(-_FOLIAGE_EXTINCTION * path)
    return prob


def _intensity(pts: np.ndarray, refl: np.ndarray, cos_inc: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    rng_3d = np.linalg.norm(pts, axis=1)
    value = 52000.0 * refl * (0.45 + 0.55 * np.clip(cos_inc, 0.0, 1.0)) / (1.0 + (rng_3d / 35.0) ** 2)
    value *= rng.lognormal(0.0, 0.15, pts.shape[0])
    return np.clip(np.round(value), 1, 65535).astype(np.uint16)


def _check_trees(trees: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TREE_COLUMNS if c not in trees.columns]
    if missing:
        raise InputError(f"The tree table for the TLS simulation lacks column(s) {missing}; "
                         f"it needs {list(TREE_COLUMNS)}.")
    for col in ("x_local_m", "y_local_m", "dbh_cm", "height_m"):
        values = pd.to_numeric(trees[col], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            raise InputError(f"The tree table for the TLS simulation has missing or non-numeric values "
                             f"in column {col!r}; fill them in or drop those trees.")
    if (trees["dbh_cm"] <= 0).any() or (trees["height_m"] <= 1.5).any():
        raise InputError("The tree table for the TLS simulation has trees with dbh_cm <= 0 or "
                         "height_m <= 1.5 m; only trees taller than breast height can be scanned.")
    return trees


def simulate_tls_scan(
    trees: pd.DataFrame,
    ground_slope_deg: float,
    ground_aspect_deg: float,
    seed: int,
    plot_size_m: float = 30.0,
    points_per_m2_ground: float = 50.0,
    *,
    points_per_m2_stem: float = 2000.0,
    points_per_m2_crown: float = 300.0,
    margin_m: float = 3.0,
    scanner_height_m: float = 1.5,
    noise_fraction: float = 0.007,
    scan_date: datetime.date | None = None,
) -> laspy.LasData:
    """Simulate a single terrestrial laser scan from the centre of a square plot.

    Parameters
    ----------
    trees : pandas.DataFrame
        One row per tree with columns ``tree_id, x_local_m, y_local_m,
        species, dbh_cm, height_m``; positions are metres east/north of the
        plot centre (the scanner).  Species names containing a conifer genus
        (``松``, ``杉``, ``柏``, Pinus, Picea, Larix, ...) get conical crowns,
        all others ellipsoidal ones.
    ground_slope_deg : float
        Slope of the ground plane in degrees.
    ground_aspect_deg : float
        Downslope direction in degrees clockwise from north (+y).
    seed : int
        Seed of the random generator; the same inputs and seed give the same
        points.
    plot_size_m : float, default 30.0
        Side of the square plot; the scan covers the plot plus ``margin_m``
        on each side.
    points_per_m2_ground : float, default 50.0
        Ground point density at 10 m from the scanner; it falls as
        ``1/r**2`` and is capped at the value for 2.5 m.
    points_per_m2_stem : float, default 2000.0
        Density on a stem surface facing the scanner at 10 m (per m2 of
        stem silhouette, same ``1/r**2`` fall-off).
    points_per_m2_crown : float, default 300.0
        Density of crown returns at 10 m (per m2 of crown silhouette).
    margin_m : float, default 3.0
        Extra border around the plot covered by ground, shrubs and noise.
    scanner_height_m : float, default 1.5
        Height of the scanner above the ground; the ground under the scanner
        lies at ``z = -scanner_height_m``.
    noise_fraction : float, default 0.007
        Share of isolated noise returns (85 % in the air, 15 % below ground).
    scan_date : datetime.date, optional
        Creation date written to the header (default: 2024-01-01, fixed so
        that files are reproducible).

    Returns
    -------
    laspy.LasData
        LAS 1.4, point format 6, scale 0.001 m, offsets 0, no CRS, points in
        scan order, all classification 0, extra dimension ``tree_id``
        (uint32; 1-based position in ``trees``, 0 for ground, shrubs and
        noise).
    """
    trees = _check_trees(trees)
    rng = np.random.default_rng(seed)
    half = 0.5 * plot_size_m + margin_m
    ground = _Ground(ground_slope_deg, ground_aspect_deg, scanner_height_m, rng)

    tree_objs = [
        _Tree(i, float(row.x_local_m), float(row.y_local_m), row.species, float(row.dbh_cm),
              float(row.height_m), ground, rng)
        for i, row in enumerate(trees.reset_index(drop=True).itertuples(index=False))
    ]

    pts_list: list[np.ndarray] = []
    owner_list: list[np.ndarray] = []
    refl_list: list[np.ndarray] = []
    cos_list: list[np.ndarray] = []
    edge_list: list[np.ndarray] = []

    def add(pts: np.ndarray, owner: int, refl: float, cos_inc: np.ndarray | None = None,
            edge: np.ndarray | None = None) -> None:
        n = pts.shape[0]
        pts_list.append(pts)
        owner_list.append(np.full(n, owner, dtype=np.uint32))
        refl_list.append(np.full(n, refl))
        cos_list.append(rng.uniform(0.3, 1.0, n) if cos_inc is None else cos_inc)
        edge_list.append(np.zeros(n, dtype=bool) if edge is None else edge)

    g = _sample_ground(ground, half, points_per_m2_ground, rng)
    add(g, 0, _REFL_GROUND, np.clip(scanner_height_m / np.maximum(np.linalg.norm(g, axis=1), 1e-6), 0, 1))
    for tree in tree_objs:
        slope_pad = 0.6 * tree.dbh * math.tan(math.radians(min(abs(ground_slope_deg), 60.0))) + 0.05
        stem, cos_inc, edge = _sample_stem(tree, -slope_pad, tree.s_crown_base, points_per_m2_stem, ground, rng)
        add(stem, tree.tid, _REFL_BARK, cos_inc, edge)
        upper, cos_inc, edge = _sample_stem(tree, tree.s_crown_base, 0.85 * tree.length,
                                            0.25 * points_per_m2_stem, ground, rng)
        add(upper, tree.tid, _REFL_BARK, cos_inc, edge)
        add(_sample_branches(tree, points_per_m2_stem, rng), tree.tid, _REFL_BARK)
        add(_sample_crown(tree, points_per_m2_crown, rng), tree.tid, _REFL_FOLIAGE)
    add(_sample_shrubs(tree_objs, ground, half, points_per_m2_crown, rng), 0, _REFL_SHRUB)

    pts = np.concatenate(pts_list)
    owner = np.concatenate(owner_list)
    refl = np.concatenate(refl_list)
    cos_inc = np.concatenate(cos_list)
    edge = np.concatenate(edge_list)

    inside = (np.abs(pts[:, 0]) <= half) & (np.abs(pts[:, 1]) <= half)
    keep = inside & (rng.random(pts.shape[0]) < _occlusion_keep_prob(pts, owner, tree_objs))
    pts, owner, refl, cos_inc, edge = pts[keep], owner[keep], refl[keep], cos_inc[keep], edge[keep]

    # range noise along the beam
    norm = np.maximum(np.linalg.norm(pts, axis=1), 1e-6)
    pts = pts * (1.0 + rng.normal(0.0, 0.002, pts.shape[0]) / norm)[:, None]

    # mixed pixels: ghosts trailing behind stem silhouettes
    ghost_src = np.flatnonzero(edge & (rng.random(edge.size) < 0.06))
    ghost_dir = pts[ghost_src] / np.linalg.norm(pts[ghost_src], axis=1, keepdims=True)
    ghosts = pts[ghost_src] + ghost_dir * rng.uniform(0.05, 1.5, ghost_src.size)[:, None]

    # isolated noise returns: mostly in the air, some below the ground (multipath)
    n_noise = int(rng.poisson(noise_fraction * pts.shape[0]))
    n_low = int(round(0.15 * n_noise))
    nx = rng.uniform(-half, half, n_noise)
    ny = rng.uniform(-half, half, n_noise)
    gz = ground(nx, ny)
    top = max([t.height for t in tree_objs], default=10.0) + 3.0
    nz = gz + rng.uniform(0.5, top, n_noise)
    nz[:n_low] = gz[:n_low] - rng.uniform(0.2, 1.5, n_low)
    noise = np.column_stack([nx, ny, nz])

    pts = np.concatenate([pts, ghosts, noise])
    owner = np.concatenate([owner, np.zeros(ghosts.shape[0] + n_noise, dtype=np.uint32)])
    refl = np.concatenate([refl, np.full(ghosts.shape[0], 0.5 * _REFL_BARK), np.full(n_noise, _REFL_NOISE)])
    cos_inc = np.concatenate([cos_inc, rng.uniform(0.1, 0.5, ghosts.shape[0] + n_noise)])
    intensity = _intensity(pts, refl, cos_inc, rng)

    # scan order: the head turns in azimuth, the mirror sweeps in elevation
    azimuth = np.mod(np.arctan2(pts[:, 0], pts[:, 1]), 2.0 * math.pi)       # clockwise from north
    elevation = np.arctan2(pts[:, 2], np.hypot(pts[:, 0], pts[:, 1]))
    line = np.floor(azimuth / math.radians(0.04))
    gps_time = 86400.0 * 2 + 36000.0 + (line + (math.pi / 2 - elevation) / math.pi) * 0.0667
    order = np.argsort(gps_time, kind="stable")
    pts, owner, intensity = pts[order], owner[order], intensity[order]
    gps_time, elevation = gps_time[order], elevation[order]

    header = laspy.LasHeader(point_format=6, version="1.4")
    header.add_extra_dims([laspy.ExtraBytesParams(
        name="tree_id", type=np.uint32,
        description="truth: tree index, 1-based")])
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.zeros(3)
    header.system_identifier = "minecarbon simulated TLS"
    header.generating_software = "minecarbon.scenario.tls"
    header.creation_date = scan_date if scan_date is not None else datetime.date(2024, 1, 1)
    las = laspy.LasData(header)
    las.x = pts[:, 0]
    las.y = pts[:, 1]
    las.z = pts[:, 2]
    las.intensity = intensity
    las.return_number = np.ones(pts.shape[0], dtype=np.uint8)
    las.number_of_returns = np.ones(pts.shape[0], dtype=np.uint8)
    las.classification = np.zeros(pts.shape[0], dtype=np.uint8)
    las.scan_angle = np.clip(np.round(np.degrees(elevation) / 0.006), -30000, 30000).astype(np.int16)
    las.point_source_id = np.ones(pts.shape[0], dtype=np.uint16)
    las.gps_time = gps_time
    las.tree_id = owner
    las.update_header()
    return las


def write_laz(las: laspy.LasData, path: str | Path) -> Path:
    """Write ``las`` as compressed LAZ, atomically.

    Parameters
    ----------
    las : laspy.LasData
        Point cloud, e.g. from :func:`simulate_tls_scan`.
    path : str or pathlib.Path
        Destination; should end with ``.laz``.  Parent folders are created.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        las.write(str(tmp))
    return path
