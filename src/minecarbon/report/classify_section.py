"""Report section: the forest, leaf-habit and dominant-species classification (classify stage), en and zh.

Written by :func:`classify_section` into the maps chapter when the classify stage classified (its
``classify.json`` says ``"classified"``): the standard's four headline accuracies (forest, leaf habit -
evergreen and deciduous - and dominant species) under spatially blocked CV with random CV beside them, the
base- and end-year dominant-species maps, the blocked-CV confusion matrix of the species, the written maps'
accuracy at the independent validation points (``[classify].validation``, when given), and the area estimates
with 95 % intervals (Olofsson et al. 2014), saying which source they come from (the validation points, else the
blocked-CV predictions of the labelled samples). Its messages are the ``[classify_section]`` table of
``templates/messages.toml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .document import Heading, Paragraph
from .i18n import Translator

SPECIES_COLOURS = ("#1b7837", "#5aae61", "#a6dba0", "#d95f02", "#e6ab02", "#7570b3", "#e7298a", "#66a61e",
                   "#a6761d", "#1f78b4")


def msg(lang: str, key: str, **kw) -> str:
    """The section's message ``key`` (``[classify_section]`` of ``templates/messages.toml``)."""
    return Translator(lang)(f"classify_section.{key}", **kw)


def _pct(b, v) -> str:
    return b.n(100 * float(v), 1) if v is not None and np.isfinite(float(v)) else "–"


def classify_section(b) -> None:
    """Write the section into the report being built by ``b`` (a ``report.build`` builder)."""
    d, lang = b.d, b.lang
    info = d.document("classify", "info")
    if not isinstance(info, dict) or info.get("status") != "classified":
        return
    acc = d.nonempty("classify", "accuracy")
    if acc is None:
        return
    b._section += 1
    b.doc.add(Heading(f"{b._chapter}.{b._section} {msg(lang, 's_title')}", 2, f"s{b._chapter}-{b._section}"))
    sources = ", ".join(f"{k}: {v}" for k, v in (info.get("samples_by_source") or {}).items())
    key = "p_intro" if not b.cfg.inputs.forest_type else "given_intro"
    b.doc.add(Paragraph(msg(lang, key, n=info.get("samples", "–"), sources=sources, learner=info.get("species_learner", "rf"),
                    block=b.n(b.cfg.classify.block_m, 0))))
    pc = d.nonempty("classify", "per_class")
    rows = []
    for level in ("forest", "leaf_habit", "evergreen", "deciduous", "species", "species_chained"):
        if level in ("evergreen", "deciduous"):
            if pc is None:
                continue
            r = pc[(pc["level"] == "leaf_habit") & (pc["scheme"] == "blocked") & (pc["class"].astype(str) == level)]
            rr = pc[(pc["level"] == "leaf_habit") & (pc["scheme"] == "random") & (pc["class"].astype(str) == level)]
            if not len(r):
                continue
            rows.append([msg(lang, f"level.{level}"), f"{_pct(b, r['ua'].iloc[0])} / {_pct(b, r['pa'].iloc[0])}",
                         "–", f"{_pct(b, rr['ua'].iloc[0])} / {_pct(b, rr['pa'].iloc[0])}" if len(rr) else "–", "–"])
            continue
        bl = acc[(acc["level"] == level) & (acc["scheme"] == "blocked")]
        ra = acc[(acc["level"] == level) & (acc["scheme"] == "random")]
        if not len(bl):
            continue
        rows.append([msg(lang, f"level.{level}"), _pct(b, bl["oa"].iloc[0]), b.n(bl["kappa"].iloc[0], 3),
                     _pct(b, ra["oa"].iloc[0]) if len(ra) else "–", int(bl["n"].iloc[0])])
    b.table([msg(lang, "col_level"), msg(lang, "col_blocked") + " (%)", msg(lang, "col_kappa"),
             msg(lang, "col_random") + " (%)", msg(lang, "col_n")], rows, msg(lang, "tab_accuracy"),
            align=["l", "r", "r", "r", "r"])
    if info.get("samples_flagged"):
        b.doc.add(Paragraph(msg(lang, "p_flagged", n=info["samples_flagged"])))
    names = _species_names(b, info)
    y1, y2 = b.cfg.project.base, b.cfg.project.end_year
    classes = {0: (msg(lang, "nonforest"), "#f0f0f0")}
    for i, (code, name) in enumerate(sorted(names.items())):
        classes[code] = (name, SPECIES_COLOURS[i % len(SPECIES_COLOURS)])
    for year in (y1, y2):
        da = d.raster("classify", "species", year=year)
        if da is not None:
            da = da.where(da != 255)
            b.figure(b.fig.class_map(da, classes, str(year), msg(lang, "legend"), boundary=d.boundary),
                     msg(lang, "fig_species", year=year))
    conf = d.nonempty("classify", "confusion")
    if conf is not None:
        c = conf[(conf["level"] == "species") & (conf["scheme"] == "blocked")]
        if len(c):
            m = c.pivot_table(index="map", columns="reference", values="count", aggfunc="sum", fill_value=0)
            lab = [names.get(int(k), str(k)) if str(k).isdigit() else str(k) for k in m.index]
            labc = [names.get(int(k), str(k)) if str(k).isdigit() else str(k) for k in m.columns]
            rows = [[lab[i]] + [int(v) for v in m.iloc[i].to_numpy()] for i in range(len(m))]
            b.table([""] + labc, rows, msg(lang, "tab_confusion"), align=["l"] + ["r"] * len(labc))
    val = d.nonempty("classify", "validation_accuracy")
    from_val = info.get("area_estimates_source") == "validation"
    if val is not None and from_val:
        v = info.get("validation") or {}
        b.doc.add(Paragraph(msg(lang, "p_validation", n=v.get("points", "–"), file=v.get("file", "–"))))
        level_msg = {"forest": "level.forest", "leaf_habit": "vlevel.leaf_habit", "species": "level.species_chained"}
        rows = [[int(r["year"]), msg(lang, level_msg.get(r["level"], "level.forest")),
                 f"{int(r['n'])} ({int(r['n_nodata'])})",
                 f"{_pct(b, r['oa'])} ± {_pct(b, r['oa_ci95'])}", b.n(r["kappa"], 3)] for r in val.to_dict("records")]
        b.table([msg(lang, "col_year"), msg(lang, "col_level"), msg(lang, "col_points"), msg(lang, "col_oa_ci"),
                 "Kappa"], rows, msg(lang, "tab_validation"), align=["l", "l", "r", "r", "r"])
    areas = d.nonempty("classify", "areas")
    if areas is not None and "area_ha" in areas:
        if not from_val:
            b.doc.add(Paragraph(msg(lang, "p_areas_cv")))
        level = "species" if from_val else "species_chained"
        for year in sorted({int(y) for y in areas["year"]} & {y1, y2}):
            a = areas[(areas["year"] == year) & (areas["level"] == level) & areas["area_ha"].notna()]
            if not len(a):
                continue
            rows = []
            for r in a.to_dict("records"):
                k = str(r["class"])
                name = names.get(int(k), k) if k.isdigit() else msg(lang, "nonforest")
                rows.append([name, b.n(r["mapped_ha"], 1), f"{b.n(r['area_ha'], 1)} ± {b.n(r['area_ci95_ha'], 1)}",
                             f"{b.n(r['ua'], 3)} ± {b.n(r['ua_ci95'], 3)}", f"{b.n(r['pa'], 3)} ± {b.n(r['pa_ci95'], 3)}"])
            b.table([msg(lang, "col_class"), msg(lang, "col_mapped"), msg(lang, "col_area"), msg(lang, "col_ua"),
                     msg(lang, "col_pa")], rows,
                    msg(lang, "tab_areas_validation" if from_val else "tab_areas", year=year),
                    align=["l", "r", "r", "r", "r"])


def _species_names(b, info: dict) -> dict[int, str]:
    """Species code -> name in the report's language (the code list's name_zh / name_latin)."""
    codes = {int(v) for v in (info.get("species_codes") or {}).values() if int(v) > 0}
    out = {c: str(c) for c in codes}
    path = b.cfg.path(b.cfg.classify.species_codes) if b.cfg.classify.species_codes else None
    if path is not None and path.is_file():
        tab = pd.read_csv(path, encoding="utf-8-sig")
        col = "name_zh" if b.lang == "zh" and "name_zh" in tab else "name_latin" if "name_latin" in tab else None
        if col:
            for r in tab.to_dict("records"):
                if int(r["code"]) in out:
                    out[int(r["code"])] = str(r[col])
    return out
