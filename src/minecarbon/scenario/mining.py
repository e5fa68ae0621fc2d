"""Simulated mining: the mining-right boundary, an open pit, a waste dump, longwall panels,
reclamation, and two non-mining forest changes.

Everything is laid out in a local frame (u along the strike, v across it, in
units of the boundary size ``B``) that is rotated (+-12 deg), mirrored and
placed at the scene centre; of 20 candidate placements the one whose mining
blocks cover the most forest is kept (so that every assessment unit exists).

* **Boundary** (采矿权范围): a jittered square of side ``B`` (~50-58 % of the
  scene side, small enough that a 300 m buffer stays inside the scene).
* **Excavation** (挖损): an open pit, a strip across ``v = -0.06 .. 0.19``
  whose working face advances along ``u`` by equal yearly strips from the
  mining start; the strip mined in year Y is the disturbance feature of Y.
* **Occupation** (压占): an external waste/gangue dump beside the pit
  (``v = 0.22 .. 0.44``), also growing by yearly strips.
* **Subsidence** (塌陷): longwall panels (long rectangles across
  ``v = -0.46 .. -0.12``, separated by chain pillars) mined one after the
  other, each over two years (half a panel per year).  Each half-panel has a
  canopy loss of 20-60 % reached gradually over 2-4 years.
* **Planned blocks**: the mine plan, i.e. every pit/dump strip and half-panel
  with its planned year, including 4 years beyond the end year that are not
  yet disturbed.
* **Reclamation** (复垦): every second year from ``start + 10``, the pit
  strips at least 6 years old (backfilled) and dump strips at least 5 years
  old are planted, with 油松 / 刺槐 / 杨树 in turn.
* **Other disturbance**: a clearing (forest removed for good, ``start + 6``)
  and an afforestation of farmland with poplar or black locust
  (``start + 4``), squares of 0.1 B (150-1200 m) inside the boundary but
  outside any mining block, placed where there is most forest (clearing) and
  most farmland (afforestation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

from .grid import Grid
from .landscape import LandscapeParams, landscape_at_points

BUFFER_M = 300.0
FUTURE_YEARS = 4
RECLAIM_START_OFFSET_YR = 10
PIT_RECLAIM_LAG_YR = 6
DUMP_RECLAIM_LAG_YR = 5
PIT_V = (-0.06, 0.19)
DUMP_V = (0.22, 0.44)
PANEL_V = (-0.46, -0.12)
MINE_U = (-0.44, 0.20)
PANEL_U = (-0.44, 0.44)
FREE_U = (0.25, 0.45)
FREE_V = (-0.08, 0.44)
PATCH_MAX_M = 1200.0
"""Largest side (m) of the clearing and the afforestation patch."""
PIT_SPECIES = ("油松", "刺槐", "杨树")
DUMP_SPECIES = ("刺槐", "杨树", "油松")


@dataclass
class Frame:
    """The local mine frame: ``world = centre + R(theta) @ (flip_u * u * B, flip_v * v * B)``."""

    cx_m: float
    cy_m: float
    b_m: float
    theta_rad: float
    flip_u: int
    flip_v: int

    def to_world(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.flip_u * np.asarray(u) * self.b_m
        b = self.flip_v * np.asarray(v) * self.b_m
        c, s = math.cos(self.theta_rad), math.sin(self.theta_rad)
        return self.cx_m + c * a - s * b, self.cy_m + s * a + c * b

    def polygon(self, uv: np.ndarray) -> Polygon:
        x, y = self.to_world(uv[:, 0], uv[:, 1])
        poly = Polygon(np.column_stack([x, y]))
        return poly if poly.is_valid else poly.buffer(0)


@dataclass
class MineLayout:
    """All vector truth of the mine (EPSG:32649 metres)."""

    frame: Frame
    boundary: Polygon
    disturbance: gpd.GeoDataFrame  # year, damage_type, loss_frac, duration_yr (last two: subsidence)
    planned: gpd.GeoDataFrame      # planned_year, damage_type
    reclamation: gpd.GeoDataFrame  # year, species, damage_type
    clearing: Polygon
    clearing_year: int
    afforestation: Polygon
    afforestation_year: int
    afforestation_species: str
    mining_start_year: int
    forest_score: float = 0.0
    """Smallest forest share among the kinds of mining blocks (what the placement maximised)."""

    @property
    def monitoring_area(self) -> Polygon:
        """Boundary buffered by 300 m (the monitoring area)."""
        return self.boundary.buffer(BUFFER_M)


def _faces(n: int, u0: float, u1: float, v0: float, v1: float, rng: np.random.Generator,
           wobble: float) -> list[np.ndarray]:
    """n+1 face polylines (points along v) between u0 and u1, slightly wavy."""
    vs = np.linspace(v0, v1, 7)
    faces = []
    for k in range(n + 1):
        u = u0 + (u1 - u0) * k / n
        jitter = np.zeros_like(vs) if k in (0, n) else rng.uniform(-wobble, wobble, vs.size)
        faces.append(np.column_stack([u + jitter, vs]))
    return faces


def _strip(face_a: np.ndarray, face_b: np.ndarray) -> np.ndarray:
    return np.vstack([face_a, face_b[::-1], face_a[:1]])


def _box(u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    return np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1], [u0, v0]])


def _boundary_uv(rng: np.random.Generator) -> np.ndarray:
    pts = []
    for (ua, va), (ub, vb) in zip([(-.5, -.5), (.5, -.5), (.5, .5), (-.5, .5)],
                                  [(.5, -.5), (.5, .5), (-.5, .5), (-.5, -.5)]):
        for t in (0.0, 1 / 3, 2 / 3):
            u = ua + (ub - ua) * t
            v = va + (vb - va) * t
            # push outward/inward along the edge normal
            nu, nv = (vb - va), -(ub - ua)
            j = rng.uniform(0.0, 0.03) if t == 0.0 else rng.uniform(-0.02, 0.03)
            pts.append((u + nu * j, v + nv * j))
    pts.append(pts[0])
    return np.array(pts)


def _sample_points(poly: Polygon, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = poly.bounds
    x = rng.uniform(minx, maxx, 4 * n)
    y = rng.uniform(miny, maxy, 4 * n)
    keep = shapely.contains_xy(poly, x, y)
    return x[keep][:n], y[keep][:n]


def _forest_shares(polys: list[Polygon], params: LandscapeParams, pixel_m: float, seed: int,
                   rng: np.random.Generator, n: int = 160) -> list[float]:
    """Share of base-year forest at random points inside each polygon (one batched evaluation)."""
    xs, ys, sizes = [], [], []
    for poly in polys:
        x, y = (np.empty(0), np.empty(0)) if poly.is_empty else _sample_points(poly, n, rng)
        xs.append(x)
        ys.append(y)
        sizes.append(x.size)
    x, y = np.concatenate(xs), np.concatenate(ys)
    forest = landscape_at_points(x, y, params, pixel_m, seed).forest_type > 0 if x.size else np.zeros(0, bool)
    out, i = [], 0
    for k in sizes:
        out.append(float(forest[i:i + k].mean()) if k else 0.0)
        i += k
    return out


def boundary_size_m(grid: Grid, max_theta_deg: float = 12.0) -> float:
    """Side B (m) of the boundary: ~58 % of the scene, less where the 300 m buffer would not fit."""
    ext = 0.53 * (math.cos(math.radians(max_theta_deg)) + math.sin(math.radians(max_theta_deg)))
    fit = (grid.side_m / 2 - BUFFER_M - 1.5 * grid.pixel_m) / ext
    return float(min(0.58 * grid.side_m, fit))


def _frame_candidates(grid: Grid, rng: np.random.Generator) -> list[Frame]:
    cx, cy = grid.centre
    b = boundary_size_m(grid)
    slack = max(0.0, grid.side_m / 2 - BUFFER_M - 1.5 * grid.pixel_m - 0.53 * b * 1.186)
    out = []
    for theta in (-12.0, -6.0, 0.0, 6.0, 12.0):
        for fu in (1, -1):
            for fv in (1, -1):
                dx, dy = rng.uniform(-slack, slack, 2) * 0.8
                out.append(Frame(cx + dx, cy + dy, b, math.radians(theta), fu, fv))
    return out


def build_layout(grid: Grid, start_year: int, end_year: int, mining_start_year: int, params: LandscapeParams,
                 seed: int, rng: np.random.Generator) -> MineLayout:
    """Lay out the mine and its history (see the module docstring)."""
    n_total = (end_year - mining_start_year + 1) + FUTURE_YEARS
    years = [mining_start_year + k for k in range(n_total)]
    boundary_uv = _boundary_uv(rng)
    pit_faces = _faces(n_total, MINE_U[0], MINE_U[1], PIT_V[0], PIT_V[1], rng, 0.008)
    dump_faces = _faces(n_total, MINE_U[0], MINE_U[1], DUMP_V[0], DUMP_V[1], rng, 0.008)
    n_panels = -(-n_total // 2)
    pitch = (PANEL_U[1] - PANEL_U[0]) / n_panels
    width = 0.85 * pitch
    v_mid = (PANEL_V[0] + PANEL_V[1]) / 2
    panel_uv: list[tuple[int, np.ndarray]] = []
    for i in range(n_panels):
        u0 = PANEL_U[0] + i * pitch
        for half, (va, vb) in enumerate(((PANEL_V[0], v_mid), (v_mid, PANEL_V[1]))):
            k = 2 * i + half
            if k < n_total:
                panel_uv.append((years[k], _box(u0, u0 + width, va, vb)))
    panel_loss = rng.uniform(0.2, 0.6, len(panel_uv))
    panel_duration = rng.integers(2, 5, len(panel_uv))

    # choose the placement that puts the most forest under every kind of block
    candidates = _frame_candidates(grid, rng)
    eval_rng_seed = int(rng.integers(0, 2**31))
    all_zones = []
    for frame in candidates:
        future = [k for k, y in enumerate(years) if y > end_year]
        past = [k for k, y in enumerate(years) if y <= end_year]
        recent = past[-min(5, len(past)):]
        zones = [
            unary_union([frame.polygon(_strip(pit_faces[k], pit_faces[k + 1])) for k in future]),
            unary_union([frame.polygon(_strip(dump_faces[k], dump_faces[k + 1])) for k in future]),
            unary_union([frame.polygon(uv) for y, uv in panel_uv if y > end_year]),
            unary_union([frame.polygon(_strip(pit_faces[k], pit_faces[k + 1])) for k in recent]),
            unary_union([frame.polygon(_strip(dump_faces[k], dump_faces[k + 1])) for k in recent]),
            unary_union([frame.polygon(uv) for y, uv in panel_uv if y <= end_year]),
        ]
        all_zones.append(zones)
    shares = _forest_shares([z for zones in all_zones for z in zones], params, grid.pixel_m, seed,
                            np.random.default_rng(eval_rng_seed))
    scores = [min(shares[6 * i:6 * i + 6]) for i in range(len(candidates))]
    best = int(np.argmax(scores))
    frame = candidates[best]

    dist_rows, plan_rows = [], []
    for k, y in enumerate(years):
        pit = frame.polygon(_strip(pit_faces[k], pit_faces[k + 1]))
        dump = frame.polygon(_strip(dump_faces[k], dump_faces[k + 1]))
        plan_rows += [(y, "excavation", pit), (y, "occupation", dump)]
        if y <= end_year:
            dist_rows += [(y, "excavation", pit, np.nan, np.nan), (y, "occupation", dump, np.nan, np.nan)]
    for j, (y, uv) in enumerate(panel_uv):
        poly = frame.polygon(uv)
        plan_rows.append((y, "subsidence", poly))
        if y <= end_year:
            dist_rows.append((y, "subsidence", poly, float(panel_loss[j]), float(panel_duration[j])))
    disturbance = gpd.GeoDataFrame(
        {"year": [r[0] for r in dist_rows], "damage_type": [r[1] for r in dist_rows],
         "loss_frac": [r[3] for r in dist_rows], "duration_yr": [r[4] for r in dist_rows]},
        geometry=[r[2] for r in dist_rows], crs=grid.crs)
    disturbance = disturbance.sort_values(["year", "damage_type"], kind="stable").reset_index(drop=True)
    planned = gpd.GeoDataFrame({"planned_year": [r[0] for r in plan_rows],
                                "damage_type": [r[1] for r in plan_rows]},
                               geometry=[r[2] for r in plan_rows], crs=grid.crs)
    planned = planned.sort_values(["planned_year", "damage_type"], kind="stable").reset_index(drop=True)

    # reclamation of old pit (backfilled) and dump strips
    rec_rows = []
    done_pit, done_dump = 0, 0
    for i, yr in enumerate(range(start_year + RECLAIM_START_OFFSET_YR, end_year + 1, 2)):
        for kind, faces, lag, done, names in (("excavation", pit_faces, PIT_RECLAIM_LAG_YR, done_pit, PIT_SPECIES),
                                              ("occupation", dump_faces, DUMP_RECLAIM_LAG_YR, done_dump,
                                               DUMP_SPECIES)):
            ks = [k for k, y in enumerate(years) if y <= yr - lag and k >= done]
            if not ks:
                continue
            poly = unary_union([frame.polygon(_strip(faces[k], faces[k + 1])) for k in ks])
            rec_rows.append((yr, names[i % len(names)], kind, poly))
            if kind == "excavation":
                done_pit = ks[-1] + 1
            else:
                done_dump = ks[-1] + 1
    reclamation = gpd.GeoDataFrame({"year": [r[0] for r in rec_rows], "species": [r[1] for r in rec_rows],
                                    "damage_type": [r[2] for r in rec_rows]},
                                   geometry=[r[3] for r in rec_rows], crs=grid.crs)

    # non-mining changes in the free corner of the boundary
    side = float(np.clip(0.1 * frame.b_m, 5.0 * grid.pixel_m, PATCH_MAX_M)) / frame.b_m
    best_clear, best_aff = None, None
    crng = np.random.default_rng(eval_rng_seed + 1)
    cands = []
    for u in np.linspace(FREE_U[0] + side / 2, FREE_U[1] - side / 2, 3):
        for v in np.linspace(FREE_V[0] + side / 2, FREE_V[1] - side / 2, 6):
            uv = _box(u - side / 2, u + side / 2, v - side / 2, v + side / 2)
            uv[:-1] += crng.uniform(-0.08, 0.08, (4, 2)) * side
            uv[-1] = uv[0]
            cands.append(frame.polygon(uv))
    cands = list(zip(cands, _forest_shares(cands, params, grid.pixel_m, seed, crng, 120)))
    best_clear = max(cands, key=lambda c: c[1])[0]
    rest = [c for c in cands if not c[0].buffer(2 * grid.pixel_m).intersects(best_clear)]
    best_aff = min(rest or cands, key=lambda c: c[1])[0]
    clearing_year = min(start_year + 6, end_year)
    aff_year = min(start_year + 4, end_year)
    aff_species = ("杨树", "刺槐")[int(rng.integers(0, 2))]
    return MineLayout(frame=frame, boundary=frame.polygon(boundary_uv), disturbance=disturbance,
                      planned=planned, reclamation=reclamation, clearing=best_clear, clearing_year=clearing_year,
                      afforestation=best_aff, afforestation_year=aff_year, afforestation_species=aff_species,
                      mining_start_year=mining_start_year, forest_score=float(scores[best]))
