"""A QGIS project of every output, styled like the report's figures.

Written by the ``catalog`` stage from the catalogued datasets:

* ``<workspace>/catalog/minecarbon.qgz`` - a QGIS 3 project (zipped ``.qgs``
  XML, paths relative to it): one group per stage, the mining-right boundary,
  the monitoring area and the units on top;
* a ``.qml`` style beside every catalogued GeoTIFF and GeoPackage
  (``agc_2016.qml`` beside ``agc_2016.tif``), which QGIS applies when the file
  is opened on its own.

Styles follow :mod:`minecarbon.report.figures`: AGC maps ``YlGn`` from 0 to the
99th percentile of all AGC maps (one scale for every year, as the report's
panels); uncertainty ``magma_r`` from 0; change and effect maps ``RdBu``
symmetric about 0 at the 99th percentile of the absolute values; trend,
effect grades, hot spots and units the report's class colours with its
legend texts in the project's language.  Colour ramps are sampled from
matplotlib's colormaps, so the two agree.

The XML follows the QGIS 3 project and style formats; it is written with
:mod:`xml.etree` (no QGIS needed) and checked structurally by the tests.
"""

from __future__ import annotations

import re
import uuid
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import atomic_path, atomic_write_bytes

QGIS_VERSION = "3.28.0"
PROJECT_NAME = "minecarbon.qgz"
RAMP_STOPS = 9


@dataclass
class Style:
    """A layer style: ``kind`` 'ramp' (band, cmap, vmin, vmax), 'classes' (band, {value: (label, colour)}),
    'rgb' (red, green, blue bands with min/max), 'fill'/'outline'/'categories' (vectors)."""

    kind: str
    band: int = 1
    cmap: str | None = None
    vmin: float = 0.0
    vmax: float = 1.0
    classes: dict = field(default_factory=dict)
    attr: str | None = None
    rgb: tuple = ()
    color: str = "#000000"
    width_mm: float = 0.26
    dashed: bool = False


def _hex(rgba) -> str:
    r, g, b = (int(round(255 * c)) for c in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _qcolor(hexcolor: str, alpha: int = 255) -> str:
    h = hexcolor.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def ramp_colors(cmap: str, n: int = RAMP_STOPS) -> list[str]:
    """``n`` colours of a matplotlib colormap at 0, 1/(n-1) ... 1 (hex)."""
    import matplotlib

    cm = matplotlib.colormaps[cmap]
    return [_hex(cm(i / (n - 1))) for i in range(n)]


# -- raster styles ------------------------------------------------------------------------------------------
def _band_index(path: Path, name: str) -> int | None:
    import rasterio

    with rasterio.open(path) as src:
        names = list(src.descriptions)
    return names.index(name) + 1 if name in names else None


SAMPLE_PX = 1024
"""Style limits are computed on at most SAMPLE_PX x SAMPLE_PX pixels of a band (read from the COG overviews)."""


def _read(path: Path, band: int) -> np.ndarray:
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as src:
        k = max(1, int(np.ceil(max(src.height, src.width) / SAMPLE_PX)))
        shape = (max(1, src.height // k), max(1, src.width // k))
        return src.read(band, masked=True, out_shape=shape, resampling=Resampling.nearest).astype(float).filled(np.nan)


def _percentile(paths: list[Path], q: float, band: int = 1, absolute: bool = False) -> float:
    return _percentiles(paths, (q,), band, absolute)[0]


def _percentiles(paths: list[Path], qs: tuple[float, ...], band: int = 1, absolute: bool = False) -> tuple[float, ...]:
    """Percentiles ``qs`` of a band over ``paths``, each band read once (1.0 each when it has no finite value)."""
    vals = []
    for p in paths:
        a = _read(p, band)
        vals.append(np.abs(a) if absolute else a)
    v = np.concatenate([a.ravel() for a in vals]) if vals else np.array([])
    if not np.isfinite(v).any():
        return tuple(1.0 for _ in qs)
    return tuple(float(np.nanpercentile(v, q)) for q in qs)


def _max(path: Path, band: int = 1) -> float:
    a = _read(path, band)
    return float(np.nanmax(a)) if np.isfinite(a).any() else 1.0


def raster_styles(ws: Path, outputs: pd.DataFrame, lang: str) -> dict[str, Style]:
    """Style of each catalogued GeoTIFF (by workspace-relative path); files without a rule are left out."""
    from ..report.figures import EFFECT_COLORS, GI_COLORS, TREND_COLORS, UNIT_COLORS
    from ..report.i18n import Translator

    t = Translator(lang)
    tifs = outputs[outputs["format"] == "GeoTIFF"]
    rel = [str(p) for p in tifs["path"]]
    agc = [r for r in rel if re.fullmatch(r"outputs/map/agc_\d{4}\.tif", r)]
    agc_max = _percentile([ws / r for r in agc], 99) if agc else 1.0
    out: dict[str, Style] = {}
    for r in rel:
        p = ws / r
        name = Path(r).name
        if r in agc:
            out[r] = Style("ramp", 1, "YlGn", 0.0, agc_max or 1.0)
        elif re.fullmatch(r"agc_uncertainty_\d{4}\.tif", name):
            out[r] = Style("ramp", 1, "magma_r", 0.0, _max(p) or 1.0)
        elif name in ("change_amount.tif", "change_degree.tif"):
            lim = _percentile([p], 99, absolute=True) or 1.0
            out[r] = Style("ramp", 1, "RdBu", -lim, lim)
        elif name == "cumulative_effect.tif":
            b = _band_index(p, "effect_t_ha") or 1
            lim = _percentile([p], 99, band=b, absolute=True) or 1.0
            out[r] = Style("ramp", b, "RdBu", -lim, lim)
        elif name == "trend.tif" and (b := _band_index(p, "trend")):
            out[r] = Style("classes", b, classes={c: (t(f"trend.{c}"), TREND_COLORS[c])
                                                  for c in sorted(TREND_COLORS, reverse=True)})
        elif name == "effect_class.tif":
            out[r] = Style("classes", 1, classes={c: (t(f"effect.{c}"), EFFECT_COLORS[c]) for c in EFFECT_COLORS})
        elif name.startswith("hotspots_") and (b := _band_index(p, "bin")):
            out[r] = Style("classes", b, classes={c: (t(f"gi.{c}"), GI_COLORS[c])
                                                  for c in sorted(GI_COLORS, reverse=True)})
        elif name == "units_level1.tif":
            out[r] = Style("classes", 1, classes={c: (str(c), UNIT_COLORS[c]) for c in UNIT_COLORS})
        elif name == "als_chm.tif" or name == "als_canopy_metrics.tif":
            out[r] = Style("ramp", 1, "YlGn", 0.0, _max(p) or 1.0)
        elif re.fullmatch(r"features_\d{4}\.tif", name):
            bands = [_band_index(p, b) for b in ("red", "green", "blue")]
            if all(bands):
                lims = tuple(_percentiles([p], (2, 98), band=b) for b in bands)  # one read per band
                out[r] = Style("rgb", rgb=tuple(zip(bands, lims)))
    return out


def _ramp_shader(parent: ET.Element, s: Style) -> None:
    cols = ramp_colors(s.cmap)
    shader = ET.SubElement(parent, "rastershader")
    crs = ET.SubElement(shader, "colorrampshader", colorRampType="INTERPOLATED", classificationMode="1",
                        clip="0", minimumValue=repr(s.vmin), maximumValue=repr(s.vmax), labelPrecision="2")
    ramp = ET.SubElement(crs, "colorramp", type="gradient", name="[source]")
    opt = ET.SubElement(ramp, "Option", type="Map")
    stops = ":".join(f"{i / (len(cols) - 1):.6g};{_qcolor(c)}" for i, c in enumerate(cols[1:-1], start=1))
    for k, v in (("color1", _qcolor(cols[0])), ("color2", _qcolor(cols[-1])), ("discrete", "0"),
                 ("rampType", "gradient"), ("stops", stops)):
        ET.SubElement(opt, "Option", type="QString", name=k, value=v)
    for i, c in enumerate(cols):
        v = s.vmin + (s.vmax - s.vmin) * i / (len(cols) - 1)
        ET.SubElement(crs, "item", alpha="255", value=repr(v), label=f"{v:.2f}", color=c)


def raster_pipe(s: Style) -> ET.Element:
    """The ``<pipe>`` of a raster style (the renderer QGIS draws the layer with)."""
    pipe = ET.Element("pipe")
    if s.kind == "ramp":
        rr = ET.SubElement(pipe, "rasterrenderer", type="singlebandpseudocolor", band=str(s.band), opacity="1",
                           alphaBand="-1", classificationMin=repr(s.vmin), classificationMax=repr(s.vmax),
                           nodataColor="")
        ET.SubElement(rr, "rasterTransparency")
        mm = ET.SubElement(rr, "minMaxOrigin")
        for k, v in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated")):
            ET.SubElement(mm, k).text = v
        _ramp_shader(rr, s)
    elif s.kind == "classes":
        rr = ET.SubElement(pipe, "rasterrenderer", type="paletted", band=str(s.band), opacity="1", alphaBand="-1",
                           nodataColor="")
        ET.SubElement(rr, "rasterTransparency")
        pal = ET.SubElement(rr, "colorPalette")
        for v, (label, color) in s.classes.items():
            ET.SubElement(pal, "paletteEntry", value=str(v), color=color, alpha="255", label=label)
    else:  # rgb
        (rb, rl), (gb, gl), (bb, bl) = s.rgb
        rr = ET.SubElement(pipe, "rasterrenderer", type="multibandcolor", redBand=str(rb), greenBand=str(gb),
                           blueBand=str(bb), opacity="1", alphaBand="-1", nodataColor="")
        ET.SubElement(rr, "rasterTransparency")
        for tag, (lo, hi) in (("redContrastEnhancement", rl), ("greenContrastEnhancement", gl),
                              ("blueContrastEnhancement", bl)):
            ce = ET.SubElement(rr, tag)
            ET.SubElement(ce, "minValue").text = repr(lo)
            ET.SubElement(ce, "maxValue").text = repr(hi)
            ET.SubElement(ce, "algorithm").text = "StretchToMinimumMaximum"
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    return pipe


# -- vector styles ------------------------------------------------------------------------------------------
def _fill_symbol(name: str, fill: str | None, outline: str, width_mm: float, dashed: bool) -> ET.Element:
    sym = ET.Element("symbol", type="fill", name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    lay = ET.SubElement(sym, "layer", attrib={"class": "SimpleFill", "enabled": "1", "pass": "0", "locked": "0"})
    opt = ET.SubElement(lay, "Option", type="Map")
    for k, v in (("color", _qcolor(fill, 150) if fill else "0,0,0,0"), ("style", "solid" if fill else "no"),
                 ("outline_color", _qcolor(outline)), ("outline_style", "dash" if dashed else "solid"),
                 ("outline_width", f"{width_mm:g}"), ("outline_width_unit", "MM"), ("joinstyle", "bevel")):
        ET.SubElement(opt, "Option", type="QString", name=k, value=v)
    return sym


def vector_renderer(s: Style) -> ET.Element:
    """The ``<renderer-v2>`` of a vector style."""
    if s.kind == "categories":
        r = ET.Element("renderer-v2", type="categorizedSymbol", attr=s.attr or "", symbollevels="0",
                       enableorderby="0", forceraster="0")
        cats = ET.SubElement(r, "categories")
        syms = ET.SubElement(r, "symbols")
        for i, (v, (label, color)) in enumerate(s.classes.items()):
            ET.SubElement(cats, "category", value=str(v), symbol=str(i), label=label, render="true")
            syms.append(_fill_symbol(str(i), color, "#4d4d4d", 0.2, False))
        return r
    r = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0")
    syms = ET.SubElement(r, "symbols")
    syms.append(_fill_symbol("0", s.color if s.kind == "fill" else None, s.color, s.width_mm, s.dashed))
    return r


def vector_styles(ws: Path, outputs: pd.DataFrame) -> dict[str, Style]:
    """Styles of the area, unit and plot layers (by workspace-relative path)."""
    import pyogrio

    from ..report.figures import UNIT_COLORS

    out: dict[str, Style] = {}
    for r in outputs.loc[outputs["format"] == "GeoPackage", "path"].astype(str):
        name = Path(r).name
        if name == "monitoring_area.gpkg":
            out[r] = Style("outline", color="#595959", width_mm=0.5, dashed=True)  # report: '0.35' grey, dashed
        elif name in ("units.gpkg", "units_level1.gpkg"):
            df = pyogrio.read_dataframe(ws / r, read_geometry=False)
            lab = "name_en" if "name_en" in df.columns else None
            classes = {}
            for _, row in df.drop_duplicates("unit_l1").sort_values("unit_l1").iterrows():
                c = int(row["unit_l1"])
                classes[c] = (str(row[lab]) if lab else str(c), UNIT_COLORS.get(c, "#bdbdbd"))
            out[r] = Style("categories", attr="unit_l1", classes=classes)
        elif name == "plots_agc.gpkg":
            out[r] = Style("fill", color="#000000", width_mm=0.2)  # report: black plot squares
    return out


# -- files ----------------------------------------------------------------------------------------------------
def _qml(body: ET.Element, kind: str) -> bytes:
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories")
    root.append(body)
    if kind == "vector":
        ET.SubElement(root, "layerGeometryType").text = "2"
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    return b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="utf-8")




def _srs(parent: ET.Element, crs: str | None) -> None:
    s = ET.SubElement(ET.SubElement(parent, "srs" if parent.tag == "maplayer" else "projectCrs"), "spatialrefsys")
    ET.SubElement(s, "authid").text = crs or ""


GROUPS = {"units": "Monitoring area and units", "plots": "Field plots", "lidar": "Lidar", "features": "Features",
          "map": "AGC maps", "assess": "Assessment"}
"""Layer-tree groups (one per stage), top to bottom after the boundary."""


def write_qgis_project(cfg, outputs: pd.DataFrame, dest: Path) -> tuple[Path, list[Path]]:
    """Write the ``.qml`` styles beside the outputs and the ``.qgz`` project ``dest``.

    ``outputs``: catalogued output datasets (columns ``path`` relative to the workspace, ``stage``, ``format``,
    ``crs``, ``year``). Returns the project and the style files written.
    """
    ws = cfg.workspace
    outputs = outputs[outputs["path"].map(lambda r: (ws / str(r)).is_file())]
    rstyles = raster_styles(ws, outputs, cfg.project.language)
    vstyles = vector_styles(ws, outputs)
    qmls = []
    for r, s in rstyles.items():
        qmls.append(atomic_write_bytes((ws / r).with_suffix(".qml"), _qml(raster_pipe(s), "raster")))
    for r, s in vstyles.items():
        qmls.append(atomic_write_bytes((ws / r).with_suffix(".qml"), _qml(vector_renderer(s), "vector")))

    root = ET.Element("qgis", projectname=cfg.project.name, version=QGIS_VERSION)
    ET.SubElement(root, "title").text = cfg.project.name
    crs = cfg.project.crs or next((str(c) for c in outputs["crs"] if isinstance(c, str) and c), None)
    _srs(root, crs)
    tree = ET.SubElement(root, "layer-tree-group")
    layers = ET.SubElement(root, "projectlayers")
    order = ET.SubElement(root, "layerorder")
    rel_base = dest.parent
    boundary = cfg.path(cfg.area.boundary)

    agc_tifs = sorted(r for r in outputs["path"].astype(str) if re.fullmatch(r"outputs/map/agc_\d{4}\.tif", r))
    shown = {"outputs/units/monitoring_area.gpkg", "outputs/units/units.gpkg", "outputs/plots/plots_agc.gpkg",
             *agc_tifs[-1:]}
    """Layers drawn when the project opens: boundary, area, units, plots and the last AGC map."""

    def add(group: ET.Element, path: Path, name: str, kind: str, pipe_or_renderer: ET.Element | None,
            sublayer: str | None = None) -> None:
        lid = f"{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{uuid.uuid5(uuid.NAMESPACE_URL, str(path)).hex[:12]}"
        src = Path(_relpath(path, rel_base)).as_posix()
        source = f"./{src}" + (f"|layername={sublayer}" if sublayer else "")
        provider = "gdal" if kind == "raster" else "ogr"
        ET.SubElement(group, "layer-tree-layer", id=lid, name=name, source=source, providerKey=provider,
                      checked="Qt::Checked" if path == boundary or _relpath(path, ws) in shown else "Qt::Unchecked",
                      expanded="0")
        ml = ET.SubElement(layers, "maplayer", type=kind)
        ET.SubElement(ml, "id").text = lid
        ET.SubElement(ml, "datasource").text = source
        ET.SubElement(ml, "layername").text = name
        _srs(ml, crs)
        ET.SubElement(ml, "provider").text = provider
        if pipe_or_renderer is not None:
            ml.append(pipe_or_renderer)
        ET.SubElement(order, "layer", id=lid)

    # on top: the mining-right boundary (raw input), the monitoring area and the units
    top = ET.SubElement(tree, "layer-tree-group", name=GROUPS["units"], checked="Qt::Checked", expanded="1")
    if boundary.is_file():
        add(top, boundary, "mining-right boundary", "vector",
            vector_renderer(Style("outline", color="#000000", width_mm=0.6)))
    vec = outputs[outputs["format"] == "GeoPackage"]
    firsts = ["outputs/units/monitoring_area.gpkg", "outputs/units/units.gpkg", "outputs/units/units_level1.gpkg"]
    for r in firsts:
        if r in set(vec["path"]):
            add(top, ws / r, Path(r).stem, "vector", vector_renderer(vstyles[r]) if r in vstyles else None)
    groups = {"units": top}
    for stage in GROUPS:
        rows = outputs[(outputs["stage"] == stage) & outputs["format"].isin(["GeoTIFF", "GeoPackage"])]
        rows = rows[~rows["path"].isin(firsts)].sort_values("path")
        if rows.empty:
            continue
        g = groups.get(stage)
        if g is None:
            g = groups[stage] = ET.SubElement(tree, "layer-tree-group", name=GROUPS[stage], checked="Qt::Checked",
                                              expanded="0" if stage == "features" else "1")
        for _, row in rows.iterrows():
            r = str(row["path"])
            if row["format"] == "GeoTIFF":
                add(g, ws / r, Path(r).stem, "raster", raster_pipe(rstyles[r]) if r in rstyles else None)
            else:
                add(g, ws / r, Path(r).stem, "vector", vector_renderer(vstyles[r]) if r in vstyles else None)
    props = ET.SubElement(ET.SubElement(root, "properties"), "Paths")
    ET.SubElement(props, "Absolute", type="bool").text = "false"
    ET.indent(root)
    qgs = b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="utf-8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(dest.with_suffix(".qgs").name, qgs)
    return dest, qmls


def _relpath(path: Path, base: Path) -> str:
    import os

    return os.path.relpath(Path(path).resolve(), Path(base).resolve())
