"""Simulated Landsat Collection 2 Level-2 *scenes* made from the clear-sky composites (truth).

For every year about ``per_year`` acquisitions in the growing season, over two
overlapping WRS-2 path/rows (path 125 covering the east of the area, path
126 the west, both row 034, overlapping over the middle 60 %):

* sensors as the archive had them: Landsat 5 TM until 2011-11, Landsat 7
  ETM+ (scan-line-corrector failure 2003-05-31: SLC-off stripes) until
  2022-04, Landsat 8 OLI from 2013-04, Landsat 9 OLI-2 from 2021-11;
* TM and ETM+ reflectance differs from OLI by the inverse of the Roy et al.
  (2016) ETM+ -> OLI transformation (``data/harmonisation.csv``), so a
  compositor must harmonise to recover the truth;
* per-pixel observation noise (sd 0.002 reflectance);
* clouds covering 30-60 % of each scene (a smooth random field above a
  threshold), their shadows cast to the north-west (sun in the south-east
  in the morning) and a 2-pixel dilated-cloud ring of cloud-contaminated
  reflectance, all flagged in QA_PIXEL (bits 1, 3, 4 and the confidence
  pairs), fill (bit 0) in the SLC-off gaps and outside the footprint;
* SLC-off gaps: wedge-shaped stripes every 32 lines, 1 px wide at nadir and
  14 px at 3500 px cross-track, tilted ~10 deg, a different phase per date;
* files named as USGS names them: ``<product id>/<product id>_SR_B<n>.TIF``,
  ``_QA_PIXEL.TIF`` and ``_MTL.txt`` with the keys the readers use.

The truth of a year is the composite the default simulator writes
(``truth/clear_sky/LC08_SR_<year>.tif``): the reflectance every clear
observation of that year scatters around.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from scipy import ndimage

from ..composite.harmonise import unharmonise
from ..composite.landsat import SLC_OFF_DATE
from ..composite.mask import qa_pixel_value
from ..features.sensors import get_sensor
from ..io import atomic_path, atomic_write_text
from .grid import Grid
from .species import BANDS

SCALE, OFFSET = 2.75e-5, -0.2
NOISE_SD = 0.002
CLOUD_COVER = (0.30, 0.60)
SEASON = (5, 9)
PATHS = (125, 126)
ROW = 34
PAD_PX = 12
CLOUD_SIGMA_PX = 8.0
DILATION_PX = 2
OVERLAP = (0.2, 0.8)
SLC_PERIOD_PX = 32
MISSIONS = (  # (id, first date, last date, sensor table, family)
    ("LT05", dt.date(1984, 3, 1), dt.date(2011, 11, 18), "landsat5", "tm"),
    ("LE07", dt.date(1999, 5, 28), dt.date(2022, 4, 6), "landsat7", "etm"),
    ("LC08", dt.date(2013, 4, 11), dt.date(2099, 1, 1), "landsat8", "oli"),
    ("LC09", dt.date(2021, 10, 31), dt.date(2099, 1, 1), "landsat9", "oli"),
)
SPACECRAFT = {"LT05": ("LANDSAT_5", "TM"), "LE07": ("LANDSAT_7", "ETM"), "LC08": ("LANDSAT_8", "OLI_TIRS"),
              "LC09": ("LANDSAT_9", "OLI_TIRS")}


def acquisitions(year: int, rng: np.random.Generator, per_year: int = 15,
                 season: tuple[int, int] = SEASON) -> list[tuple[str, int, dt.date]]:
    """(mission, path, date) of the year's scenes: every 16-day overpass of each mission and path, thinned."""
    start = dt.date(year, season[0], 1)
    end = dt.date(year + (season[1] == 12), season[1] % 12 + 1, 1) - dt.timedelta(days=1)
    cands = []
    for k, (mid, first, last, _, _) in enumerate(MISSIONS):
        for p, path in enumerate(PATHS):
            phase = (3 * k + 7 * p + 8 * (k % 2)) % 16  # missions on the same track are 8 days apart
            d = start + dt.timedelta(days=phase)
            while d <= end:
                if first <= d <= last:
                    cands.append((mid, path, d))
                d += dt.timedelta(days=16)
    half = [c for c in cands if c[1] == PATHS[0]], [c for c in cands if c[1] == PATHS[1]]
    out = []
    for i, group in enumerate(half):
        n = min(len(group), (per_year + 1 - i) // 2)
        idx = rng.choice(len(group), size=n, replace=False) if n else []
        out += [group[j] for j in idx]
    return sorted(out, key=lambda c: (c[2], c[1]))


def footprint(grid: Grid, path: int) -> tuple[int, int, int, int]:
    """(row0, col0, height, width) of a path's scene in project-grid pixels (may extend past the area)."""
    n = grid.n_px
    if path == PATHS[0]:  # east
        c0, c1 = int(round(OVERLAP[0] * n)), n + PAD_PX
    else:  # west
        c0, c1 = -PAD_PX, int(round(OVERLAP[1] * n))
    return -PAD_PX, c0, n + 2 * PAD_PX, c1 - c0


def _smooth(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-12)


def cloud_masks(rng: np.random.Generator, shape: tuple[int, int], cover: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cloud, dilated ring, shadow) boolean masks; ``cover`` = cloud share of the scene."""
    f = _smooth(rng, shape, sigma=CLOUD_SIGMA_PX)
    cloud = f > np.quantile(f, 1.0 - cover)
    ring = ndimage.binary_dilation(cloud, iterations=DILATION_PX) & ~cloud
    dy, dx = int(rng.integers(5, 12)), int(rng.integers(4, 10))
    shifted = np.zeros_like(cloud)
    shifted[:-dy, :-dx] = cloud[dy:, dx:]  # shadow to the north-west
    shadow = shifted & ~cloud & ~ring
    return cloud, ring, shadow


def slc_gaps(shape: tuple[int, int], cross_track_px: float, phase: float, tilt: float = 0.18) -> np.ndarray:
    """True in the SLC-off gaps of a scene whose first column lies ``cross_track_px`` from nadir."""
    rows = np.arange(shape[0])[:, None]
    cols = np.arange(shape[1])[None, :]
    width = 1.0 + 13.0 * np.minimum(np.abs(cross_track_px + cols) / 3500.0, 1.0)
    pos = np.mod(rows + tilt * cols + phase, SLC_PERIOD_PX)
    return pos < width


def product_id(mission: str, path: int, date: dt.date, processed: dt.date) -> str:
    return f"{mission}_L2SP_{path:03d}{ROW:03d}_{date:%Y%m%d}_{processed:%Y%m%d}_02_T1"


def mtl_text(pid: str, mission: str, path: int, date: dt.date, cover: float, bands: dict[str, str],
             shape: tuple[int, int], transform, crs_epsg: int) -> str:
    """A Collection 2 Level-2 MTL (the groups and keys a reader needs; values of this scene)."""
    spacecraft, sensor = SPACECRAFT[mission]
    lines = ["GROUP = LANDSAT_METADATA_FILE", "  GROUP = PRODUCT_CONTENTS",
             '    ORIGIN = "Image courtesy of the U.S. Geological Survey (simulated by minecarbon)"',
             f'    LANDSAT_PRODUCT_ID = "{pid}"', '    PROCESSING_LEVEL = "L2SP"', '    COLLECTION_NUMBER = 02',
             '    COLLECTION_CATEGORY = "T1"']
    for suffix in bands.values():
        lines.append(f'    FILE_NAME_BAND_{suffix[4:]} = "{pid}_{suffix}.TIF"')
    lines += [f'    FILE_NAME_QUALITY_L1_PIXEL = "{pid}_QA_PIXEL.TIF"', f'    FILE_NAME_METADATA_ODL = "{pid}_MTL.txt"',
              "  END_GROUP = PRODUCT_CONTENTS", "  GROUP = IMAGE_ATTRIBUTES",
              f'    SPACECRAFT_ID = "{spacecraft}"', f'    SENSOR_ID = "{sensor}"', f"    WRS_PATH = {path}",
              f"    WRS_ROW = {ROW}", f"    DATE_ACQUIRED = {date.isoformat()}",
              '    SCENE_CENTER_TIME = "03:05:00.0000000Z"', f"    CLOUD_COVER = {100 * cover:.2f}",
              "  END_GROUP = IMAGE_ATTRIBUTES", "  GROUP = PROJECTION_ATTRIBUTES", '    MAP_PROJECTION = "UTM"',
              '    DATUM = "WGS84"', f"    UTM_ZONE = {crs_epsg % 100}", "    GRID_CELL_SIZE_REFLECTIVE = 30.00",
              f"    REFLECTIVE_LINES = {shape[0]}", f"    REFLECTIVE_SAMPLES = {shape[1]}",
              f"    CORNER_UL_PROJECTION_X_PRODUCT = {transform.c:.3f}",
              f"    CORNER_UL_PROJECTION_Y_PRODUCT = {transform.f:.3f}",
              "  END_GROUP = PROJECTION_ATTRIBUTES", "  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]
    for suffix in bands.values():
        n = suffix[4:]
        lines += [f"    REFLECTANCE_MULT_BAND_{n} = 2.75E-05", f"    REFLECTANCE_ADD_BAND_{n} = -0.200000"]
    lines += ["  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", "END_GROUP = LANDSAT_METADATA_FILE", "END", ""]
    return "\n".join(lines)


def _write_tif(path: Path, arr: np.ndarray, transform, crs: str, nodata: int) -> None:
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                           dtype="uint16", crs=crs, transform=transform, nodata=nodata, tiled=True,
                           blockxsize=256, blockysize=256, compress="DEFLATE") as dst:
            dst.write(arr, 1)


def write_scenes(truth: Callable[[int], Path], out_dir: Path, years: list[int], grid: Grid, seed: int,
                 per_year: int = 15, progress: Callable[[str], None] | None = None) -> dict:
    """Write the scenes of ``years`` under ``out_dir``; returns counts (scenes, cloud cover, clear shares).

    ``truth(year)`` is the path of the year's clear-sky composite (uint16 DN, bands ``BANDS``).
    """
    from affine import Affine

    out_dir = Path(out_dir)
    rng = np.random.default_rng([int(seed), 4242])
    epsg = int(str(grid.crs).split(":")[1])
    n_scenes, covers = 0, []
    for year in years:
        with rasterio.open(truth(year)) as src:
            rho_truth = src.read().astype(np.float64) * SCALE + OFFSET  # (6, n, n)
        if progress:
            progress(f"Writing the scenes of {year}")
        for mission, path, date in acquisitions(year, rng, per_year):
            r0, c0, h, w = footprint(grid, path)
            rows = np.clip(np.arange(r0, r0 + h), 0, grid.n_px - 1)
            cols = np.clip(np.arange(c0, c0 + w), 0, grid.n_px - 1)
            surf = rho_truth[:, rows][:, :, cols]  # edge-extended outside the area
            family = next(m[4] for m in MISSIONS if m[0] == mission)
            sensor = next(m[3] for m in MISSIONS if m[0] == mission)
            oli = family == "oli"
            cover = float(rng.uniform(*CLOUD_COVER))
            cloud, ring, shadow = cloud_masks(rng, (h, w), cover)
            bright = 0.45 + 0.1 * _smooth(rng, (h, w), 4.0)
            gaps = np.zeros((h, w), dtype=bool)
            if family == "etm" and date >= SLC_OFF_DATE:
                gaps = slc_gaps((h, w), float(rng.uniform(800, 3000)), float(rng.uniform(0, SLC_PERIOD_PX)))
            qa = np.full((h, w), qa_pixel_value(oli=oli), dtype=np.uint16)
            qa[ring] = qa_pixel_value(dilated=True, oli=oli)
            qa[shadow] = qa_pixel_value(shadow=True, oli=oli)
            qa[cloud] = qa_pixel_value(cloud=True, oli=oli)
            qa[gaps] = 1
            suffixes = {b: next(a for a in get_sensor(sensor).band(b).aliases if a.startswith("SR_B"))  # type: ignore
                        for b in BANDS}
            processed = date + dt.timedelta(days=int(rng.integers(10, 60)))
            pid = product_id(mission, path, date, processed)
            folder = out_dir / pid
            transform = Affine(grid.pixel_m, 0, grid.x0_m + c0 * grid.pixel_m, 0, -grid.pixel_m,
                               grid.y0_m - r0 * grid.pixel_m)
            for i, b in enumerate(BANDS):
                rho = unharmonise(surf[i], b, family) + rng.normal(0.0, NOISE_SD, (h, w))
                rho = np.where(cloud, bright, rho)
                rho = np.where(ring, 0.5 * rho + 0.5 * bright, rho)
                rho = np.where(shadow, 0.3 * rho, rho)
                dn = np.clip(np.rint((rho - OFFSET) / SCALE), 1, 65535).astype(np.uint16)
                dn[gaps] = 0
                _write_tif(folder / f"{pid}_{suffixes[b]}.TIF", dn, transform, grid.crs, 0)
            _write_tif(folder / f"{pid}_QA_PIXEL.TIF", qa, transform, grid.crs, 1)
            atomic_write_text(folder / f"{pid}_MTL.txt",
                              mtl_text(pid, mission, path, date, cover, suffixes, (h, w), transform, epsg))
            n_scenes += 1
            covers.append(cover)
    return {"scenes": n_scenes, "years": len(years), "cloud_cover_mean": float(np.mean(covers)) if covers else 0.0}


def move_composites_to_truth(images: Path, clear_sky: Path) -> Path:
    """Move the yearly clear-sky composites from ``inputs/images`` to ``truth/clear_sky`` (the scenes' truth)."""
    import os

    clear_sky.mkdir(parents=True, exist_ok=True)
    for p in sorted(Path(images).glob("*.tif")):
        os.replace(p, clear_sky / p.name)
    if Path(images).is_dir() and not any(Path(images).iterdir()):
        Path(images).rmdir()
    return clear_sky
