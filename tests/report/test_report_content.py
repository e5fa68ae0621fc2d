"""The rendered report of the tiny scenario: numbers equal the output tables, both languages, three formats."""

from __future__ import annotations

import html as htmllib
import json
import re

import geopandas as gpd
import pandas as pd
import pytest

from .conftest import EVIL_NAME, EVIL_PLOT


def _text(path) -> str:
    """Visible text of an HTML file (tags dropped, entities decoded)."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<style.*?</style>", " ", raw, flags=re.S)
    raw = re.sub(r'src="data:[^"]+"', "", raw)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", raw))


def _docx_text(path) -> str:
    import docx

    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def out(report_cfg):
    return report_cfg.workspace / "outputs"


def test_all_languages_and_formats_written(out, report_cfg):
    rep = out / "report"
    assert report_cfg.project.language == "en"
    for name in ("report.html", "report.pdf", "report.docx", "report_zh.html", "report_zh.pdf", "report_zh.docx",
                 "management_advice.csv"):
        assert (rep / name).is_file() and (rep / name).stat().st_size > 1000, name
    for name in ("report_en.html", "report_en.pdf", "report_en.docx"):
        assert not (rep / name).exists()  # English is the project's language: report.<fmt>
    manifest = json.loads((rep / "_manifest.json").read_text())
    assert set(manifest["outputs"]) >= {"report.html", "report_zh.pdf", "management_advice.csv"}
    assert (rep / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert (rep / "report_zh.pdf").read_bytes().count(b"/FontFile2") >= 2  # DejaVu and the CJK subset embedded


def test_key_figures_in_text_equal_output_tables(out, report_cfg):
    """Numbers recomputed here from the CSV/JSON outputs appear, formatted, in every language and format."""
    y1, y2 = report_cfg.reference_year, report_cfg.compare_year
    card = json.loads((out / "model" / "model_card.json").read_text(encoding="utf-8"))
    plots = pd.read_csv(out / "plots" / "plots_agc.csv", encoding="utf-8-sig")
    totals = pd.read_csv(out / "map" / "agc_unit_totals.csv", encoding="utf-8-sig")
    t1 = totals[(totals["level"] == "level1") & (totals["year"] == y1)]["agc_t"].sum()
    t2 = totals[(totals["level"] == "level1") & (totals["year"] == y2)]["agc_t"].sum()
    area = gpd.read_file(out / "units" / "monitoring_area.gpkg").geometry.area.sum() / 1e4
    areas = pd.read_csv(out / "units" / "unit_areas_level1.csv", encoding="utf-8-sig")
    expected = [
        f"{card['cv_metrics']['r2']:.3f}", f"{card['cv_metrics']['rmse']:.2f}",
        f"{t1:,.0f} t C", f"{t2:,.0f} t C", f"{t2 - t1:+,.0f} t C",
        f"{plots['agc_t_ha'].mean():.2f}", f"{plots['agc_t_ha'].std(ddof=1):.2f}",
        f"{area:,.1f} ha", f"{areas['area_ha'].sum():,.1f} ha",
        f"{int(plots['n_trees'].sum())}",
    ]
    texts = {name: _text(out / "report" / name) for name in ("report.html", "report_zh.html")}
    texts.update({name: _docx_text(out / "report" / name) for name in ("report.docx", "report_zh.docx")})
    for name, text in texts.items():
        for value in expected:
            assert value in text, f"{value} not in {name}"
    # a table row: the level-1 stock of the persistent forest in the compare year
    pers = totals[(totals["level"] == "level1") & (totals["year"] == y2) & (totals["unit"] == 1)]["agc_t"].iloc[0]
    assert f"{pers:,.0f}" in texts["report.html"]


def test_zonal_and_advice_numbers_come_from_outputs(out, report_cfg):
    z = pd.read_csv(out / "assess" / "zonal_stats.csv", encoding="utf-8-sig")
    row = z[(z["layer"] == "change_amount") & (z["level"] == "level2") & (z["zone"] == 32)].iloc[0]
    text = _text(out / "report" / "report.html")
    for stat in ("mean", "max", "min", "variance"):
        assert f"{row[stat]:,.2f}" in text
    adv = pd.read_csv(out / "report" / "management_advice.csv", encoding="utf-8-sig")
    units = pd.read_csv(out / "units" / "unit_areas.csv", encoding="utf-8-sig")
    assert sorted(adv["unit_l2"]) == sorted(units["unit_l2"])
    ca = pd.read_csv(out / "assess" / "class_areas.csv", encoding="utf-8-sig")
    sel = ca[(ca["layer"] == "gi_change") & (ca["level"] == "level2") & (ca["zone"] == 32)]
    share = 100 * sel.loc[sel["class"] <= -2, "pixels"].sum() / sel["pixels"].sum()
    assert adv.set_index("unit_l2").loc[32, "cold_spot_share_pct"] == pytest.approx(share)
    expect_rule = "R1" if share >= report_cfg.report.advice_min_share_pct else "R3"
    assert adv.set_index("unit_l2").loc[32, "rule"] == expect_rule


def test_user_supplied_names_are_escaped(out):
    for name in ("report.html", "report_zh.html"):
        raw = (out / "report" / name).read_text(encoding="utf-8")
        assert "<script" not in raw.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
        assert "<img src=x" not in raw and "&lt;img src=x onerror=alert(2)&gt;" in raw
    assert EVIL_PLOT in _docx_text(out / "report" / "report.docx")  # Word escapes XML itself
    assert EVIL_NAME in _docx_text(out / "report" / "report_zh.docx")


def test_html_is_self_contained(out):
    raw = (out / "report" / "report_zh.html").read_text(encoding="utf-8")
    assert raw.count('src="data:image/png;base64,') >= 10
    assert "data:font/woff;base64," in raw  # the Chinese glyphs travel with the file
    refs = re.findall(r'(?:src|href)="([^"#][^"]*)"', raw)
    assert [r for r in refs if not r.startswith("data:")] == []


def test_every_part_built_and_chinese_report_in_chinese(out):
    from minecarbon.report.fonts import has_cjk
    from minecarbon.report.i18n import Translator

    heads = {}
    for name, lang in (("report.html", "en"), ("report_zh.html", "zh")):
        raw = (out / "report" / name).read_text(encoding="utf-8")
        failed = Translator(lang)("common.part_failed", what="§", error="§").split("§")[0]
        assert failed not in _text(out / "report" / name)  # no part was left out for unreadable outputs
        heads[lang] = [htmllib.unescape(h) for h in re.findall(r'<h[12] class="(?:chapter|section)"[^>]*>([^<]+)<', raw)]
    assert len(heads["zh"]) == len(heads["en"]) >= 11
    assert all(has_cjk(h) for h in heads["zh"])
    assert not any(has_cjk(h) for h in heads["en"])


def test_inventory_size_is_the_data_on_disk(out, report_cfg):
    """The annex's MiB is the raw inputs' and outputs' bytes (the files on disk), without the stage manifests,
    whose size follows the run (times, workspace path): an interrupted and re-run project reports the same."""
    import sqlite3

    from minecarbon.catalog.build import catalog_path

    with sqlite3.connect(catalog_path(report_cfg)) as con:
        ds = pd.read_sql("select kind, path from datasets", con)
    assert set(ds["kind"]) >= {"raw", "output", "manifest"}
    total = 0
    for kind, rel in zip(ds["kind"], ds["path"]):
        if kind == "manifest":
            continue
        base = report_cfg.workspace if rel.startswith("outputs/") else report_cfg.root
        total += (base / rel).stat().st_size
    mib = f"{total / 2 ** 20:.1f}"
    assert f"({mib} MiB of data)" in _text(out / "report" / "report.html")
    assert f"数据共 {mib} MiB" in _text(out / "report" / "report_zh.html")
