"""The QGIS project and the .qml styles written by the catalog stage (minecarbon.catalog.qgis).

Lives beside the report tests to reuse their one completed pipeline run.  The
XML is checked structurally (every layer's file exists, every style parses and
holds the report's colours and limits); the colours are compared with the
published ColorBrewer YlGn and RdBu ramps (Brewer 2003, colorbrewer2.org) and
the limits with percentiles computed here from the rasters.  When QGIS's own
Python bindings are installed (Debian python3-qgis), the project is also opened
headless and every layer must be valid.
"""

from __future__ import annotations

import os
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio

from minecarbon.report.figures import TREND_COLORS, UNIT_COLORS
from minecarbon.report.i18n import Translator

YLGN9 = ["#ffffe5", "#f7fcb9", "#d9f0a3", "#addd8e", "#78c679", "#41ab5d", "#238443", "#006837", "#004529"]
"""ColorBrewer YlGn, 9 classes."""


def _rgb(h: str) -> np.ndarray:
    h = h.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)])


def _qgs(cfg) -> ET.Element:
    qgz = cfg.workspace / "catalog" / "minecarbon.qgz"
    with zipfile.ZipFile(qgz) as z:
        names = z.namelist()
        assert names == ["minecarbon.qgs"]
        return ET.fromstring(z.read(names[0]))


def test_project_lists_every_output_in_stage_groups(report_cfg):
    root = _qgs(report_cfg)
    assert root.tag == "qgis" and root.find("projectCrs/spatialrefsys/authid").text == "EPSG:32649"
    base = report_cfg.workspace / "catalog"
    layers = {ml.find("id").text: ml for ml in root.iter("maplayer")}
    tree = root.find("layer-tree-group")
    groups = [g.get("name") for g in tree.findall("layer-tree-group")]
    assert groups[0] == "Monitoring area and units" and "AGC maps" in groups and "Assessment" in groups
    top = [lyr.get("name") for lyr in tree.find("layer-tree-group").findall("layer-tree-layer")]
    assert top[:4] == ["mining-right boundary", "monitoring_area", "units", "units_level1"]
    tree_ids = [lyr.get("id") for lyr in tree.iter("layer-tree-layer")]
    assert sorted(tree_ids) == sorted(layers) and len(set(tree_ids)) == len(tree_ids)
    sources = set()
    for lid, ml in layers.items():
        src = ml.find("datasource").text
        assert src.startswith("./")
        p = (base / src.split("|")[0]).resolve()
        assert p.is_file(), src
        sources.add(p)
        assert ml.find("provider").text == ("gdal" if ml.get("type") == "raster" else "ogr")
    # every catalogued GeoTIFF / GeoPackage output is a layer of the project
    outs = report_cfg.workspace / "outputs"
    for stage in ("units", "plots", "map", "assess"):
        for f in list((outs / stage).glob("*.tif")) + list((outs / stage).glob("*.gpkg")):
            assert f.resolve() in sources, f
    # drawn when opened: the last AGC map, not the others
    checked = {lyr.get("name") for lyr in tree.iter("layer-tree-layer") if lyr.get("checked") == "Qt::Checked"}
    agc = sorted(p.stem for p in (outs / "map").glob("agc_????.tif"))
    assert agc[-1] in checked and not set(agc[:-1]) & checked


def _style(path: Path) -> ET.Element:
    qml = path.with_suffix(".qml")
    assert qml.is_file(), qml
    root = ET.parse(qml).getroot()
    assert root.tag == "qgis"
    return root


def test_agc_style_is_the_report_ramp(report_cfg):
    maps = sorted((report_cfg.workspace / "outputs" / "map").glob("agc_????.tif"))
    vals = []
    for p in maps:
        with rasterio.open(p) as src:
            assert max(src.width, src.height) <= 1024  # read whole: the percentile below is exact
            vals.append(src.read(1, masked=True).astype(float).filled(np.nan).ravel())
    p99 = float(np.nanpercentile(np.concatenate(vals), 99))
    for p in maps:
        r = _style(p).find("pipe/rasterrenderer")
        assert r.get("type") == "singlebandpseudocolor" and r.get("band") == "1"
        shader = r.find("rastershader/colorrampshader")
        assert float(shader.get("minimumValue")) == 0.0
        assert float(shader.get("maximumValue")) == pytest.approx(p99, rel=1e-9)
        items = shader.findall("item")
        assert len(items) == 9
        for it, want in zip(items, YLGN9):
            assert np.abs(_rgb(it.get("color")) - _rgb(want)).max() <= 1, (it.get("color"), want)
        assert [float(it.get("value")) for it in items] == pytest.approx(np.linspace(0, p99, 9))


def test_class_styles_carry_report_colours_and_legends(report_cfg):
    t = Translator(report_cfg.project.language)
    ws = report_cfg.workspace
    trend = ws / "outputs" / "assess" / "trend.tif"
    with rasterio.open(trend) as src:
        band = list(src.descriptions).index("trend") + 1
    r = _style(trend).find("pipe/rasterrenderer")
    assert r.get("type") == "paletted" and int(r.get("band")) == band
    pal = {int(e.get("value")): (e.get("label"), e.get("color")) for e in r.iter("paletteEntry")}
    assert pal == {c: (t(f"trend.{c}"), TREND_COLORS[c]) for c in TREND_COLORS}
    # change map: RdBu, symmetric about 0 at the 99th percentile of |change|
    change = ws / "outputs" / "assess" / "change_amount.tif"
    with rasterio.open(change) as src:
        lim = float(np.nanpercentile(np.abs(src.read(1, masked=True).astype(float).filled(np.nan)), 99))
    sh = _style(change).find("pipe/rasterrenderer/rastershader/colorrampshader")
    assert float(sh.get("minimumValue")) == pytest.approx(-lim) and float(sh.get("maximumValue")) == pytest.approx(lim)
    items = sh.findall("item")
    assert np.abs(_rgb(items[0].get("color")) - _rgb("#67001f")).max() <= 1  # RdBu: dark red at the low end
    assert np.abs(_rgb(items[-1].get("color")) - _rgb("#053061")).max() <= 1  # and dark blue at the high end
    # units: one category per level-1 unit of the layer, in the report's unit colours
    units = ws / "outputs" / "units" / "units.gpkg"
    codes = sorted(set(pyogrio.read_dataframe(units, read_geometry=False)["unit_l1"].astype(int)))
    rr = _style(units).find("renderer-v2")
    assert rr.get("type") == "categorizedSymbol" and rr.get("attr") == "unit_l1"
    cats = [int(c.get("value")) for c in rr.iter("category")]
    assert cats == codes
    fills = {}
    for sym in rr.iter("symbol"):
        opts = {o.get("name"): o.get("value") for o in sym.iter("Option") if o.get("name")}
        fills[sym.get("name")] = opts["color"]
    for c in rr.iter("category"):
        r_, g_, b_ = (int(v) for v in fills[c.get("symbol")].split(",")[:3])
        assert (r_, g_, b_) == tuple(_rgb(UNIT_COLORS[int(c.get("value"))]))


def test_project_is_in_the_catalog_manifest(report_cfg):
    from minecarbon.provenance import read_manifest

    m = read_manifest(report_cfg, "catalog")
    assert any(k.endswith("catalog/minecarbon.qgz") for k in m["outputs"])


QGIS_CHECK = """
import json, sys
from qgis.core import QgsApplication, QgsProject, QgsMapSettings, QgsMapRendererSequentialJob
from qgis.PyQt.QtCore import QSize
app = QgsApplication([], False)
app.initQgis()
proj = QgsProject.instance()
ok = proj.read(sys.argv[1])
layers = list(proj.mapLayers().values())
info = {"read": ok, "layers": [{"name": l.name(), "valid": l.isValid(), "crs": l.crs().authid(),
                                "renderer": l.renderer().type() if l.renderer() else None} for l in layers]}
agc = proj.mapLayersByName(sys.argv[3])[0]
info["ramp"] = [i.color.name() for i in agc.renderer().shader().rasterShaderFunction().colorRampItemList()]
s = QgsMapSettings()
s.setLayers([agc])
s.setDestinationCrs(agc.crs())
s.setExtent(agc.extent())
s.setOutputSize(QSize(200, 200))
job = QgsMapRendererSequentialJob(s)
job.start()
job.waitForFinished()
info["saved"] = job.renderedImage().save(sys.argv[2], "PNG")
app.exitQgis()
print("QGIS-RESULT " + json.dumps(info))
"""


def _qgis_python() -> str | None:
    import shutil
    import subprocess

    for exe in ("/usr/bin/python3", shutil.which("python3")):
        if exe and Path(exe).is_file() and subprocess.run([exe, "-c", "import qgis.core"], capture_output=True,
                                                          timeout=120).returncode == 0:
            return exe
    return None


def test_qgis_opens_the_project(report_cfg, tmp_path):
    """QGIS itself (Debian python3-qgis, headless) opens the project: every layer valid and styled, and its
    map renderer draws the last AGC map in the report's YlGn ramp.  Skips where QGIS is not installed (CI)."""
    import json
    import subprocess

    from PIL import Image

    exe = _qgis_python()
    if exe is None:
        pytest.skip("QGIS Python bindings not installed (apt-get install python3-qgis qgis-providers); "
                    "the QGIS project is checked structurally only")
    agc = sorted(p.stem for p in (report_cfg.workspace / "outputs" / "map").glob("agc_????.tif"))[-1]
    png = tmp_path / "agc.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    res = subprocess.run([exe, "-c", QGIS_CHECK, str(report_cfg.workspace / "catalog" / "minecarbon.qgz"),
                          str(png), agc], capture_output=True, text=True, timeout=300, env=env)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("QGIS-RESULT ")), None)
    assert line is not None, res.stdout[-2000:] + res.stderr[-2000:]
    info = json.loads(line[len("QGIS-RESULT "):])
    assert info["read"] and len(info["layers"]) > 20
    assert [lyr["name"] for lyr in info["layers"] if not lyr["valid"]] == []
    assert {lyr["crs"] for lyr in info["layers"]} == {"EPSG:32649"}
    kinds = {lyr["name"]: lyr["renderer"] for lyr in info["layers"]}
    assert kinds[agc] == "singlebandpseudocolor" and kinds["trend"] == "paletted"
    assert kinds["units"] == "categorizedSymbol" and kinds["effect_class"] == "paletted"
    for got, want in zip(info["ramp"], YLGN9, strict=True):
        assert np.abs(_rgb(got) - _rgb(want)).max() <= 1
    assert info["saved"]
    px = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
    drawn = px[(px != 255).any(axis=1)]
    assert len(drawn) > 0.5 * len(px)
    # every drawn pixel lies on the YlGn ramp: within a few units of a segment between two neighbouring stops
    ramp = np.array([_rgb(c) for c in YLGN9], dtype=float)
    a, b = ramp[:-1], ramp[1:]
    d = drawn[:, None, :] - a[None]
    seg = b - a
    tpar = np.clip((d * seg[None]).sum(2) / (seg ** 2).sum(1)[None], 0, 1)
    dist = np.linalg.norm(d - tpar[..., None] * seg[None], axis=2).min(axis=1)
    assert np.percentile(dist, 99) <= 4.0, np.percentile(dist, [50, 99, 100])
