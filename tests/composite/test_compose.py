"""Compositing hand-made scenes: exact medians, medoids, clear counts, masking, harmonisation, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import rasterio

from minecarbon.composite import SceneError, TargetGrid, compose, composite_series, find_scenes
from minecarbon.composite.compose import reduce_medoid
from minecarbon.composite.gapfill import fill_order

from .conftest import CLEAR, CLOUD, DILATED, FILL, SHADOW, X0, Y0, dn_of, write_scene

C, K, S, D, F = "clear", "cloud", "shadow", "dilated", "fill"
QA = {C: CLEAR, K: CLOUD, S: SHADOW, D: DILATED, F: FILL}
# (reflectance, flag) per scene (columns) for the pixels A..F of a 2 x 3 grid
PIXELS = {
    "A": [(0.10, C), (0.12, C), (0.50, K), (0.60, K), (0.01, S)],   # clear median 0.11 (all five: 0.12)
    "B": [(0.05, C), (0.06, C), (0.07, C), (0.08, C), (0.09, C)],   # 0.07, five
    "C": [(0.0, F), (0.0, F), (0.20, C), (0.22, C), (0.55, K)],     # SLC gaps, then 0.21 of two
    "D": [(0.40, D), (0.40, D), (0.40, D), (0.15, C), (0.40, D)],   # one clear: 0.15
    "E": [(0.50, K), (0.50, K), (0.50, K), (0.50, K), (0.01, S)],   # none
    "F": [(0.30, C), (0.02, S), (0.31, C), (0.29, C), (0.70, K)],   # 0.30 of three
}
EXPECT = {"A": (0.11, 2), "B": (0.07, 5), "C": (0.21, 2), "D": (0.15, 1), "E": (None, 0), "F": (0.30, 3)}
DATES = [dt.date(2020, 5, 10), dt.date(2020, 6, 11), dt.date(2020, 7, 13), dt.date(2020, 8, 14), dt.date(2020, 9, 15)]


def _write_all(folder):
    names = list(PIXELS)
    for k, date in enumerate(DATES):
        dn = np.zeros((6, 2, 3), dtype=np.uint16)
        qa = np.zeros((2, 3), dtype=np.uint16)
        for i, name in enumerate(names):
            rho, flag = PIXELS[name][k]
            r, c = divmod(i, 3)
            qa[r, c] = QA[flag]
            for b in range(6):  # band b carries rho + 0.01 b
                dn[b, r, c] = 0 if flag == F else dn_of(rho + 0.01 * b)
        write_scene(folder, "LC08", date, dn, qa)


def _grid(w=3, h=2, dx=0):
    from affine import Affine

    return TargetGrid("EPSG:32649", Affine(30.0, 0, X0 + dx * 30.0, 0, -30.0, Y0), w, h)


def test_median_and_clear_count_exact(scene_dir, tmp_path):
    _write_all(scene_dir)
    scenes, problems = find_scenes(scene_dir)
    assert len(scenes) == 5 and problems == []
    res = compose(scenes, _grid(), tmp_path / "c.tif", label="2020")
    with rasterio.open(res.path) as src:
        arr = src.read()
        assert src.descriptions == ("blue", "green", "red", "nir", "swir1", "swir2", "clear_count")
        assert src.tags()["dates"].split(",") == [d.isoformat() for d in DATES]
    for i, name in enumerate(PIXELS):
        r, c = divmod(i, 3)
        rho, n = EXPECT[name]
        assert arr[-1, r, c] == n, name
        for b in range(6):
            if rho is None:
                assert arr[b, r, c] == 0, name  # no observation: nodata
            else:  # DN quantisation: half a DN per median term
                assert arr[b, r, c] * 2.75e-5 - 0.2 == pytest.approx(rho + 0.01 * b, abs=3e-5), (name, b)
    assert (res.clear_count_min, res.share_no_clear) == (0, pytest.approx(1 / 6))
    csv = res.scenes_csv.read_text()
    assert csv.count("\n") == 6  # header + 5 scenes


def test_no_cloud_shadow_or_dilated_value_enters(scene_dir, tmp_path):
    _write_all(scene_dir)
    res = compose(find_scenes(scene_dir)[0], _grid(), tmp_path / "c.tif")
    with rasterio.open(res.path) as src:
        nir = src.read(4).astype(float) * 2.75e-5 - 0.2
    got = nir[nir > -0.2]  # pixels with a value
    flagged = {round(rho + 0.03, 4) for px in PIXELS.values() for rho, f in px if f in (K, S, D)}
    assert not flagged & {round(v, 4) for v in got}


def test_medoid_keeps_one_dates_spectrum():
    stack = np.full((3, 6, 1, 1), 0.2, dtype=np.float32)
    stack[:, 0, 0, 0] = [0.1, 0.2, 0.3]
    stack[:, 1, 0, 0] = [0.5, 0.1, 0.3]  # band-wise median (0.2, 0.3) is no observation; the medoid is obs 3
    out = reduce_medoid(stack)
    assert out[:2, 0, 0] == pytest.approx([0.3, 0.3])
    stack[2] = np.nan  # obs 3 cloudy: distances 0.412 each -> the first of the tie
    assert reduce_medoid(stack)[:2, 0, 0] == pytest.approx([0.1, 0.5])


def test_etm_is_harmonised_to_oli_with_roy_2016(scene_dir, tmp_path):
    dn = np.full((6, 1, 1), dn_of(0.2), dtype=np.uint16)
    write_scene(scene_dir, "LE07", dt.date(2010, 7, 1), dn, np.full((1, 1), 5440))
    scenes = find_scenes(scene_dir)[0]
    out = compose(scenes, _grid(1, 1), tmp_path / "h.tif")
    with rasterio.open(out.path) as src:
        rho = src.read()[:6, 0, 0] * 2.75e-5 - 0.2
    slopes = [0.8474, 0.8483, 0.9047, 0.8462, 0.8937, 0.9071]  # Roy et al. 2016 Table 2 (OLS ETM+ -> OLI)
    icpts = [0.0003, 0.0088, 0.0061, 0.0412, 0.0254, 0.0172]
    assert rho == pytest.approx([0.2 * s + i for s, i in zip(slopes, icpts)], abs=3e-5)
    none = compose(scenes, _grid(1, 1), tmp_path / "n.tif", transform=None)
    with rasterio.open(none.path) as src:
        assert src.read(1)[0, 0] * 2.75e-5 - 0.2 == pytest.approx(0.2, abs=3e-5)


def test_scene_on_a_shifted_grid_is_placed_by_coordinates(scene_dir, tmp_path):
    dn = np.zeros((6, 1, 4), dtype=np.uint16)
    for c in range(4):
        dn[:, 0, c] = dn_of(0.1 * (c + 1))
    write_scene(scene_dir, "LC08", dt.date(2020, 7, 1), dn, np.full((1, 4), CLEAR))
    res = compose(find_scenes(scene_dir)[0], _grid(2, 1, dx=1), tmp_path / "s.tif")  # starts one pixel east
    with rasterio.open(res.path) as src:
        assert src.read(1)[0] * 2.75e-5 - 0.2 == pytest.approx([0.2, 0.3], abs=3e-5)


def test_scene_of_another_area_and_year_without_scene(scene_dir, tmp_path):
    _write_all(scene_dir)
    far = write_scene(scene_dir, "LC08", dt.date(2020, 7, 2), np.full((6, 1, 1), 9000), np.full((1, 1), CLEAR),
                      x0=X0 + 90_000)
    scenes = find_scenes(scene_dir)[0]
    with pytest.raises(SceneError, match=far.parent.name + r".*remove them"):
        composite_series(scenes, _grid(), tmp_path / "out", [2020])
    scenes = [s for s in scenes if s.scene_id != far.parent.name]
    with pytest.raises(SceneError, match=r"No usable scene for 2021 \(2021-05-01 to 2021-09-30\).*2020"):
        composite_series(scenes, _grid(), tmp_path / "out", [2020, 2021], (5, 9))


def test_truncated_band_file_names_the_scene(scene_dir, tmp_path):
    rng = np.random.default_rng(0)
    dn = rng.integers(8000, 20000, (6, 300, 300)).astype(np.uint16)
    mtl = write_scene(scene_dir, "LC08", dt.date(2020, 7, 1), dn, np.full((300, 300), CLEAR))
    red = next(mtl.parent.glob("*_SR_B4.TIF"))
    red.write_bytes(red.read_bytes()[: red.stat().st_size // 3])
    with pytest.raises(SceneError, match=mtl.parent.name + r".*SR_B4.*(damaged|truncated).*Download"):
        compose(find_scenes(scene_dir)[0], _grid(300, 300), tmp_path / "t.tif")
    assert not (tmp_path / "t.tif").exists()  # nothing half-written under the final name


def test_monthly_and_gap_fill(scene_dir, tmp_path):
    _write_all(scene_dir)
    later = [(d.replace(year=2021), k) for k, d in enumerate(DATES)]
    for date, k in later:  # 2021: pixel E clear (0.33) in one scene
        dn = np.full((6, 2, 3), dn_of(0.33), dtype=np.uint16)
        write_scene(scene_dir, "LC08", date, dn, np.full((2, 3), CLEAR if k == 0 else CLOUD))
    scenes = find_scenes(scene_dir)[0]
    res = composite_series(scenes, _grid(), tmp_path / "o", [2020, 2021], (5, 9), months=[(2020, 7)],
                           fill_years=1)
    assert [r.label for r in res] == ["2020", "2021", "2020-07"]
    with rasterio.open(tmp_path / "o" / "composite_2020.tif") as src:
        arr = src.read()
        assert src.tags()["filled_px"] == "1"
    assert arr[-1, 1, 1] == 0 and arr[3, 1, 1] * 2.75e-5 - 0.2 == pytest.approx(0.33, abs=3e-5)  # E from 2021
    with rasterio.open(tmp_path / "o" / "composite_2020-07.tif") as src:
        assert src.read(7).max() == 1  # one scene in July
    assert "filled_px" in (tmp_path / "o" / "composites.csv").read_text()
    assert fill_order(2010, [2008, 2009, 2010, 2011, 2012], 2) == [2009, 2011, 2008, 2012]
