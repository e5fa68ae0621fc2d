"""Benchmark: GLCM texture vs scikit-image, and a full feature stack of a 5000 x 5000 scene-year.

1. **GLCM** (8 measures, 7 x 7 window, 32 grey levels, distance 1, the 4
   directions averaged, symmetric and normalised) of a 1000 x 1000 band:

   * scikit-image per window: ``graycomatrix(window, [1], 4 angles, 32,
     symmetric=True, normed=True)`` + 8 ``graycoprops`` calls, averaged over
     the angles -- timed on the windows of a ``--glcm-crop`` x ``--glcm-crop``
     block (interior, full windows) and extrapolated linearly to 1000 x 1000
     (stated in the table);
   * ours (:func:`minecarbon.features.glcm_numpy`, numba kernel) on the whole
     1000 x 1000 band, median of 5 runs after the one-off compile (both
     threads, and one thread);
   * the ratio of the two, measured in this run, and the largest absolute
     difference between the two on the crop.

2. **Feature stack** of one scene-year (the ``features`` pipeline stage with
   everything switched on: 6 bands, every Landsat index, tasseled cap with
   TCA/TCD/DI, GLCM of NIR (8 measures), all 11 terrain variables = 48 bands)
   on a 5000 x 5000 Landsat-8-like scene.  Input: ``--scene PROJECT.toml``
   (e.g. a ``minecarbon simulate --size large`` project) or, by default, a
   synthetic 6-band uint16 image + QA band + DEM written by this script.  The
   stage runs in a child process (dask threads, ``--chunk-px``) so that its
   peak resident memory (``ru_maxrss``) is measured alone.

Prints a markdown table; ``--out FILE`` also writes it.

    .venv/bin/python benchmarks/bench_features.py [--glcm-crop 100] [--stack-size 5000] [--scene P.toml]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RUNS = HERE / "_runs" / "features"

FULL_FEATURES = """
[features]
bands = ["blue", "green", "red", "nir", "swir1", "swir2"]
indices = ["NDVI", "RVI", "DVI", "EVI", "EVI2", "SAVI", "MSAVI", "OSAVI", "RDVI", "MSR", "GNDVI", "ARVI",
           "NDWI", "MNDWI", "NDMI", "NBR", "NBR2"]
tasseled_cap = ["TCB", "TCG", "TCW", "TCA", "TCD", "DI"]
texture_bands = ["nir"]
texture_window = 7
texture_levels = 32
terrain = ["elevation", "slope", "aspect", "aspect_sin", "aspect_cos", "tpi", "tri", "roughness", "curvature",
           "plan_curvature", "profile_curvature"]
"""


# ---------------------------------------------------------------------------
# 1. GLCM
# ---------------------------------------------------------------------------
def quantised_band(n: int, levels: int = 32, seed: int = 0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    z = gaussian_filter(rng.normal(size=(n, n)), 1.5) + 0.3 * gaussian_filter(rng.normal(size=(n, n)), 8)
    lo, hi = np.percentile(z, [2, 98])
    return np.clip(np.floor((z - lo) / (hi - lo) * levels), 0, levels - 1).astype(np.int64)


def skimage_loop(q: np.ndarray, r0: int, c0: int, size: int, window: int = 7, levels: int = 32) -> np.ndarray:
    from skimage.feature import graycomatrix, graycoprops

    from minecarbon.features.texture import MEASURES, SKIMAGE_PROPS

    h = window // 2
    angles = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    out = np.empty((len(MEASURES), size, size))
    img = q.astype(np.uint8)
    for r in range(size):
        for c in range(size):
            win = img[r0 + r - h:r0 + r + h + 1, c0 + c - h:c0 + c + h + 1]
            g = graycomatrix(win, [1], angles, levels=levels, symmetric=True, normed=True)
            for k, m in enumerate(MEASURES):
                out[k, r, c] = graycoprops(g, SKIMAGE_PROPS[m]).mean()
    return out


def bench_glcm(n: int, crop: int, repeat_skimage: int) -> dict:
    import numba

    from minecarbon.features import glcm_numpy

    q = quantised_band(n)
    t0 = time.perf_counter()
    glcm_numpy(q[:40, :40], 7, 32, 1)
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ours = glcm_numpy(q, 7, 32, 1)
        times.append(time.perf_counter() - t0)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    t1 = []
    for _ in range(3):
        t0 = time.perf_counter()
        glcm_numpy(q, 7, 32, 1)
        t1.append(time.perf_counter() - t0)
    numba.set_num_threads(threads)
    r0 = c0 = n // 2 - crop // 2
    sk_times = []
    for _ in range(repeat_skimage):
        t0 = time.perf_counter()
        ref = skimage_loop(q, r0, c0, crop)
        sk_times.append(time.perf_counter() - t0)
    diff = float(np.abs(ours[:, r0:r0 + crop, c0:c0 + crop] - ref).max())
    sk_crop = statistics.median(sk_times)
    sk_full = sk_crop * (n * n) / (crop * crop)
    ours_s = statistics.median(times)
    return {"n": n, "crop": crop, "skimage_crop_s": sk_crop, "skimage_runs": repeat_skimage,
            "skimage_full_s": sk_full, "ours_s": ours_s, "ours_1thr_s": statistics.median(t1),
            "compile_s": compile_s, "ratio": sk_full / ours_s, "max_abs_diff": diff, "threads": threads}


# ---------------------------------------------------------------------------
# 2. feature stack
# ---------------------------------------------------------------------------
def synthetic_project(folder: Path, size: int, chunk_px: int) -> Path:
    """A one-year project: 6-band Landsat-8 C2 L2 image (+ QA_PIXEL), DEM, boundary; written window by window."""
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    from shapely.geometry import box

    folder.mkdir(parents=True, exist_ok=True)
    x0, y0, res = 400000.0, 4200000.0, 30.0
    transform = from_origin(x0, y0, res, res)
    img_path, dem_path = folder / "L8_2020.tif", folder / "dem.tif"
    names = ["SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "QA_PIXEL"]
    base = np.array([0.04, 0.07, 0.06, 0.30, 0.18, 0.09])
    prof = dict(driver="GTiff", height=size, width=size, crs="EPSG:32649", transform=transform, tiled=True,
                blockxsize=512, blockysize=512, compress="DEFLATE")
    rng = np.random.default_rng(0)
    with rasterio.open(img_path, "w", count=7, dtype="uint16", nodata=0, **prof) as img, \
            rasterio.open(dem_path, "w", count=1, dtype="float32", **prof) as dem, \
            rasterio.open(folder / "ft_2020.tif", "w", count=1, dtype="uint8", **prof) as ft:
        for i, n in enumerate(names, start=1):
            img.set_band_description(i, n)
        dem.set_band_description(1, "elevation")
        step = 1000
        for r in range(0, size, step):
            for c in range(0, size, step):
                h, w = min(step, size - r), min(step, size - c)
                yy, xx = np.mgrid[r:r + h, c:c + w].astype(np.float64)
                field = (np.sin(xx / 97.0) * np.cos(yy / 131.0) + 0.5 * np.sin((xx + yy) / 23.0)
                         + 0.3 * rng.normal(size=(h, w)))
                win = Window(c, r, w, h)
                for k in range(6):
                    refl = np.clip(base[k] * (1 + 0.35 * field * (1 if k == 3 else -0.6)), 0.002, 0.9)
                    img.write(np.round((refl + 0.2) / 2.75e-5).astype("uint16"), k + 1, window=win)
                qa = np.full((h, w), 1 << 6, dtype="uint16")
                qa[(field > 1.55)] = (1 << 3) | (1 << 6)          # a few clouds
                img.write(qa, 7, window=win)
                z = 900 + 250 * np.sin(xx / 400.0) * np.cos(yy / 300.0) + 40 * np.sin(xx / 37.0) + 5 * field
                dem.write(z.astype("float32"), 1, window=win)
                ft.write(np.where(field > -0.3, 1 + (xx > size / 2), 0).astype("uint8"), 1, window=win)
    m = 300.0  # boundary inset by the 300 m buffer: the project grid is the whole scene
    gpd.GeoDataFrame({"name": ["mine"]}, geometry=[box(x0 + m, y0 - size * res + m, x0 + size * res - m, y0 - m)],
                     crs="EPSG:32649").to_file(folder / "boundary.gpkg")
    toml = folder / "minecarbon.toml"
    toml.write_text(f"""[project]
start_year = 2020
end_year = 2020
workspace = "workspace"
[area]
boundary = "boundary.gpkg"
buffer_m = 300
[images]
path = "L8_{{year}}.tif"
sensor = "landsat8"
[climate]
temperature = "t_{{year}}.tif"
precipitation = "p_{{year}}.tif"
[inputs]
dem = "dem.tif"
forest_type = "ft_{{year}}.tif"
plots = "plots.csv"
trees = "trees.csv"
{FULL_FEATURES}
[run]
chunk_px = {chunk_px}
""", encoding="utf-8")
    return toml


def stack_worker(toml: str, year: int, chunk_px: int, workspace: str) -> None:
    """Child process: run the features stage for one year with the full selection; print a JSON line."""
    import tomllib

    from minecarbon.config import ProjectConfig
    from minecarbon.pipeline import run_pipeline

    path = Path(toml)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["features"] = tomllib.loads(FULL_FEATURES)["features"]
    if data.get("images", {}).get("sensor") is None:
        data["features"]["tasseled_cap_coefficients"] = "baig2014"
    data["project"].update(start_year=year, end_year=year, base_year=year)
    data["project"]["workspace"] = workspace
    data.setdefault("run", {})["chunk_px"] = chunk_px
    data["run"]["scheduler"] = "threads"
    cfg = ProjectConfig.model_validate({**data, "root": path.resolve().parent})
    t0 = time.perf_counter()
    run_pipeline(cfg, ["features"], force=True)
    wall = time.perf_counter() - t0
    out = Path(workspace) / "outputs" / "features" / f"features_{year}.tif"
    import rasterio

    with rasterio.open(out) as src:
        shape, count = (src.height, src.width), src.count
    print(json.dumps({"wall_s": wall, "height": shape[0], "width": shape[1], "bands": count,
                      "output_mb": out.stat().st_size / 2**20}))


def bench_stack(size: int, chunk_px: int, scene: str | None, year: int | None) -> dict:
    if scene is None:
        t0 = time.perf_counter()
        toml = synthetic_project(RUNS / f"synthetic_{size}", size, chunk_px)
        gen_s = time.perf_counter() - t0
        year = 2020
        source = f"synthetic {size} x {size} Landsat-8-like image (written in {gen_s:.0f} s)"
    else:
        toml = Path(scene)
        if year is None:
            import tomllib

            year = tomllib.loads(toml.read_text(encoding="utf-8"))["project"]["end_year"]
        source = f"project {toml} (year {year})"
    workspace = RUNS / "workspace"
    shutil.rmtree(workspace, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, __file__, "--stack-worker", str(toml), "--year", str(year),
                           "--chunk-px", str(chunk_px), "--workspace", str(workspace)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res.update(source=source, peak_rss_gib=max(peak_kib, before) / 2**20, chunk_px=chunk_px)
    return res


def table(glcm: dict | None, stack: dict | None) -> str:
    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}.", ""]
    if glcm:
        g = glcm
        lines += [
            f"### GLCM texture, {g['n']} x {g['n']} band (8 measures, 7 x 7 window, 32 levels, d = 1, "
            "4 directions averaged)", "",
            f"| method | wall time at {g['n']} x {g['n']} | throughput (px/s) | ratio |",
            "|---|---|---|---|",
            f"| scikit-image `graycomatrix` + 8 `graycoprops` per window (1 thread) | "
            f"{g['skimage_full_s']:.0f} s (extrapolated x{g['n'] ** 2 // g['crop'] ** 2} from a "
            f"{g['crop']} x {g['crop']} crop: {g['skimage_crop_s']:.2f} s, median of {g['skimage_runs']}) | "
            f"{g['n'] ** 2 / g['skimage_full_s']:,.0f} | {g['ratio']:.0f} |",
            f"| **minecarbon** `glcm_numpy` (numba, {g['threads']} threads) | {g['ours_s']:.2f} s (median of 5; "
            f"compile {g['compile_s']:.1f} s once) | {g['n'] ** 2 / g['ours_s']:,.0f} | 1 |",
            f"| minecarbon, 1 thread | {g['ours_1thr_s']:.2f} s | {g['n'] ** 2 / g['ours_1thr_s']:,.0f} | "
            f"{g['skimage_full_s'] / g['ours_1thr_s']:.0f} x faster than scikit-image |",
            "", f"Largest absolute difference, minecarbon vs scikit-image, all 8 measures on the crop: "
                f"{g['max_abs_diff']:.1e}.", ""]
    if stack:
        s = stack
        px = s["height"] * s["width"]
        lines += [
            f"### Feature stack of one scene-year ({s['bands']} bands: 6 reflectance, 17 indices, 6 tasseled cap, "
            "8 GLCM of NIR, 11 terrain)", "",
            "| input | grid | wall time | throughput | peak memory (process RSS) | output COG |",
            "|---|---|---|---|---|---|",
            f"| {s['source']} | {s['height']} x {s['width']} px, chunks {s['chunk_px']} | {s['wall_s']:.0f} s "
            f"({s['wall_s'] / 60:.1f} min) | {px / s['wall_s'] / 1e3:,.0f} k px/s | {s['peak_rss_gib']:.2f} GiB | "
            f"{s['output_mb']:.0f} MiB |", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--glcm-size", type=int, default=1000)
    ap.add_argument("--glcm-crop", type=int, default=100)
    ap.add_argument("--skimage-repeat", type=int, default=3)
    ap.add_argument("--stack-size", type=int, default=5000)
    ap.add_argument("--chunk-px", type=int, default=512)
    ap.add_argument("--scene", help="Project file of a simulated (or real) project to use for the stack.")
    ap.add_argument("--year", type=int)
    ap.add_argument("--skip-glcm", action="store_true")
    ap.add_argument("--skip-stack", action="store_true")
    ap.add_argument("--out", help="Also write the markdown table to this file.")
    ap.add_argument("--stack-worker", help=argparse.SUPPRESS)
    ap.add_argument("--workspace", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stack_worker:
        stack_worker(a.stack_worker, a.year, a.chunk_px, a.workspace)
        return
    glcm = None if a.skip_glcm else bench_glcm(a.glcm_size, a.glcm_crop, a.skimage_repeat)
    if glcm:
        print(json.dumps(glcm), flush=True)
    stack = None if a.skip_stack else bench_stack(a.stack_size, a.chunk_px, a.scene, a.year)
    text = table(glcm, stack)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
