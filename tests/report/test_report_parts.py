"""Parts of the report and the catalog checked on their own: messages, numbers, fonts, figures, rules, files."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from minecarbon.report import advice
from minecarbon.report.figures import Figures, MapLabels, nice_length
from minecarbon.report.fonts import find_cjk_font, has_cjk, subset_font
from minecarbon.report.i18n import LANGUAGES, Translator, catalogue


def test_every_message_has_both_languages():
    missing = [k for k, v in catalogue().items() if not k.startswith("output.") and set(v) != set(LANGUAGES)]
    assert missing == []
    # placeholders agree between the languages
    import string

    for key, v in catalogue().items():
        if len(v) == 2:
            fields = [{f for _, f, _, _ in string.Formatter().parse(v[lang]) if f} for lang in LANGUAGES]
            assert fields[0] == fields[1], key


def test_every_declared_output_is_described_in_chinese():
    """The Chinese report's inventory names every output of every stage in Chinese (no English fallback)."""
    from minecarbon.pipeline import STAGES

    zh = Translator("zh")
    missing = [f"{st.name}.{o.id}" for st in STAGES for o in st.outputs if not zh.has(f"output.{st.name}.{o.id}")]
    assert missing == []
    assert any(not all(ord(c) < 128 for c in zh(f"output.{st.name}.{o.id}")) for st in STAGES for o in st.outputs)


def test_number_formatting_by_hand():
    t = Translator("zh")
    assert t.num(1234.5678, 2) == "1,234.57"
    assert t.num(-0.0004, 3) == "0.000"  # no "-0.000"
    assert t.num(float("nan")) == "–" and t.num(None) == "–"
    assert t.signed(369.4, 0) == "+369" and t.signed(-2.5, 1) == "-2.5"
    assert t.join(["a", "b"]) == "a、b" and Translator("en").join(["a", "b"]) == "a, b"
    with pytest.raises(KeyError):
        t("no.such.message")


def test_scale_bar_lengths_are_round():
    assert nice_length(1680.0) == 200.0  # a quarter is 420 m -> 200 m
    assert nice_length(4000.0) == 1000.0
    assert nice_length(2100.0) == 500.0
    assert nice_length(55_000.0) == 10_000.0


@pytest.fixture(scope="module")
def cjk():
    font = find_cjk_font(None)
    if font is None:
        pytest.skip("no CJK font installed (pip install noto-cjk-sans-otc)")
    return font


def test_subset_font_has_the_glyphs_and_keeps_the_licence(cjk):
    from fontTools.ttLib import TTFont

    sub = subset_font(cjk, "森林地上碳储量 AGC 123 （表 1-1）")
    f = TTFont(io.BytesIO(sub.ttf))
    cmap = f.getBestCmap()
    assert all(ord(c) in cmap for c in "森林地上碳储量（）")
    assert ord("A") in cmap
    assert f["maxp"].numGlyphs < 200  # a subset, not 65 000 glyphs
    assert "Open Font License" in (f["name"].getDebugName(13) or "")
    assert f["name"].getDebugName(1) == "minecarbon CJK"
    woff = TTFont(io.BytesIO(sub.woff))
    assert woff.flavor == "woff" and ord("碳") in woff.getBestCmap()


def _grid() -> xr.DataArray:
    da = xr.DataArray(np.arange(400, dtype=float).reshape(20, 20), dims=("y", "x"),
                      coords={"y": 4_100_000 - 15 - 30 * np.arange(20), "x": 380_015 + 30 * np.arange(20)})
    return da.rio.write_crs("EPSG:32649")


def test_chinese_figures_render_without_missing_glyphs(cjk):
    fig = Figures(cjk, MapLabels(north="北", easting="东坐标", northing="北坐标", boundary="采矿权范围",
                                 area="监测范围", plots="样地"))
    da = _grid()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font.*")  # matplotlib's missing-glyph warning
        png = fig.continuous_map(da, "地上碳储量", "地上碳储量（t C/ha）")
        png2 = fig.class_map(da.where(da < 3, 1) * 0 + 1, {1: ("持续森林", "#1b7837")}, "一级单元", "监测评估单元")
    for p in (png, png2):
        assert p[:8] == b"\x89PNG\r\n\x1a\n"


def test_advice_rules_fire_on_hand_made_units():
    units = pd.DataFrame({"unit_l1": [1, 1, 2, 3, 3, 4, 4, 5], "unit_l2": [10, 10, 21, 32, 31, 41, 42, 50],
                          "area_ha": [9.0] * 8})
    units["unit_l2"] = [10, 11, 21, 32, 31, 41, 42, 50]  # 11: a second persistent unit for R5
    rows = []

    def add(layer, zone, counts):
        for cls, n in counts.items():
            rows.append({"layer": layer, "level": "level2", "zone": zone, "class": cls, "pixels": n})

    add("gi_change", 32, {-3: 1, -2: 1, 0: 8})       # 20 % cold spots -> R1
    add("gi_change", 31, {-2: 0, 0: 10})             # none -> R3
    add("trend", 41, {2: 4, 0: 6})                   # 40 % significant increase -> R2
    add("trend", 42, {2: 6, 0: 4})                   # 60 % -> conservation
    add("trend", 10, {2: 9, -2: 0, 0: 1})            # persistent, fine -> R6
    add("effect", 11, {1: 1, 2: 1, 3: 8})            # 20 % negative effect -> R5
    out = advice.zoning_advice(units, pd.DataFrame(rows), None, 2016, min_share_pct=10.0).set_index("unit_l2")
    assert out.loc[32, "cold_spot_share_pct"] == pytest.approx(20.0)
    assert dict(out["rule"]) == {10: "R6", 11: "R5", 21: "R4", 31: "R3", 32: "R1", 41: "R2", 42: "R6", 50: "R7"}
    stricter = advice.zoning_advice(units, pd.DataFrame(rows), None, 2016, min_share_pct=25.0).set_index("unit_l2")
    assert stricter.loc[32, "rule"] == "R3" and stricter.loc[11, "rule"] == "R6"


def test_describe_reads_headers_of_written_files(tmp_path):
    from minecarbon.catalog.describe import describe
    from minecarbon.io import write_raster, write_table

    r = write_raster(_grid().astype("float32"), tmp_path / "a.tif", ["agc_t_ha"], units="t C/ha")
    d = describe(r)
    assert d["format"] == "GeoTIFF" and d["crs"] == "EPSG:32649"
    assert d["bbox"] == (380_000.0, 4_099_400.0, 380_600.0, 4_100_000.0)  # 20 x 30 m from the corner
    lon0, lat0, lon1, lat1 = (float(v) for v in d["bbox_wgs84"].split(","))
    assert 109 < lon0 < lon1 < 110 and 37 < lat0 < lat1 < 38
    t = write_table(pd.DataFrame({"plot_id": ["007", "010"], "v": [1.5, 2.0]}), tmp_path / "t.csv")
    assert '"rows": 2' in describe(t)["details"]
    from minecarbon.catalog.tables import read_csv_table

    assert list(read_csv_table(t)["plot_id"]) == ["007", "010"]  # identifiers stay text
    assert "error" in describe(tmp_path / "missing.tif")["details"]


def test_has_cjk():
    assert has_cjk("森林") and has_cjk("（") and not has_cjk("AGC t C/ha – ≥")


def test_subset_glyphs_match_the_source_font(cjk):
    """minecarbon's subset (its own code: glyphs drawn into a new TrueType font) against the source face."""
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.ttLib import TTFont

    text = "森林地上碳储量监测与评估报告，矿林复合区（表 1-1）AGC t C/ha"
    sub = TTFont(io.BytesIO(subset_font(cjk, text).ttf))
    src = TTFont(str(cjk.path), fontNumber=cjk.index, lazy=True)
    s_cmap, d_cmap = src.getBestCmap(), sub.getBestCmap()
    s_gs, d_gs = src.getGlyphSet(), sub.getGlyphSet()
    for ch in set(text) - {" "}:
        a, b = s_cmap[ord(ch)], d_cmap[ord(ch)]
        assert src["hmtx"][a][0] == sub["hmtx"][b][0], ch  # same advance width
        pa, pb = BoundsPen(s_gs), BoundsPen(d_gs)
        s_gs[a].draw(pa)
        d_gs[b].draw(pb)
        if pa.bounds is None:
            assert pb.bounds is None
            continue
        assert np.allclose(pa.bounds, pb.bounds, atol=2.0), ch  # cubic -> quadratic within 1 font unit (+rounding)
