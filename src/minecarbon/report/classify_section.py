"""Report section: the forest, leaf-habit and dominant-species classification (classify stage), en and zh.

Written by :func:`classify_section` into the maps chapter when the classify stage classified (its
``classify.json`` says ``"classified"``): the standard's four headline accuracies (forest, leaf habit -
evergreen and deciduous - and dominant species) under spatially blocked CV with random CV beside them, the
base- and end-year dominant-species maps, the blocked-CV confusion matrix of the species, and the area
estimates with 95 % intervals (Olofsson et al. 2014). Its messages live here (``MESSAGES``, every key in both
languages), so that the shared message catalogue is not touched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .document import Heading, Paragraph

MESSAGES: dict[str, dict[str, str]] = {
    "s_title": {"en": "Forest-type and dominant-species maps from the images",
                "zh": "基于遥感影像的森林类型与优势树种分类"},
    "p_intro": {
        "en": "No forest-type maps were given: the classify stage made them for every year from that year's "
              "monthly composites (standard section 4.3: forest / non-forest, then evergreen / deciduous by a "
              "leaf-off RVI threshold combined with spectral unmixing, then the dominant species by random forests "
              "on the vegetation-index series). {n} labelled samples ({sources}); species learner {learner}. "
              "Accuracies below are out-of-fold: spatial blocks of {block} m (headline) and random folds (beside "
              "them; optimistic where samples are spatially autocorrelated).",
        "zh": "未提供森林类型图：分类步骤按标准4.3节由每年的月合成影像逐年生成（先分林地/非林地，再以落叶期RVI阈值结合"
              "光谱混合分解区分常绿/落叶，最后以植被指数时间序列的随机森林分类优势树种）。标记样本{n}个（{sources}）；"
              "树种分类器 {learner}。下列精度均为交叉验证的样外精度：以{block}米空间分块为主要指标，随机分折为对照"
              "（样本空间自相关时偏高）。"},
    "given_intro": {
        "en": "Forest-type maps were given; the classify stage ran beside them for comparison ([classify].run = "
              "\"always\"). {n} labelled samples ({sources}).",
        "zh": "项目提供了森林类型图；分类步骤作为对照另行运行（[classify].run = \"always\"）。标记样本{n}个（{sources}）。"},
    "tab_accuracy": {"en": "Classification accuracy per level (overall accuracy OA and kappa)",
                     "zh": "各层级分类精度（总体精度OA与Kappa系数）"},
    "col_level": {"en": "Level", "zh": "层级"},
    "col_blocked": {"en": "OA, blocked CV", "zh": "OA（空间分块）"},
    "col_kappa": {"en": "Kappa, blocked", "zh": "Kappa（空间分块）"},
    "col_random": {"en": "OA, random CV", "zh": "OA（随机分折）"},
    "col_n": {"en": "Samples", "zh": "样本数"},
    "level.forest": {"en": "Forest land", "zh": "林地"},
    "level.evergreen": {"en": "Evergreen forest (UA / PA)", "zh": "常绿林（用户/生产者精度）"},
    "level.deciduous": {"en": "Deciduous forest (UA / PA)", "zh": "落叶林（用户/生产者精度）"},
    "level.leaf_habit": {"en": "Leaf habit", "zh": "常绿/落叶"},
    "level.species": {"en": "Dominant species (in its leaf-habit stratum)", "zh": "优势树种（所属常绿/落叶层内）"},
    "level.species_chained": {"en": "Whole chain (non-forest + species)", "zh": "完整分类链（非林地+树种）"},
    "fig_species": {"en": "Dominant-species map {year} (classify stage)",
                    "zh": "{year}年优势树种分布图（分类结果）"},
    "legend": {"en": "Dominant species", "zh": "优势树种"},
    "nonforest": {"en": "non-forest", "zh": "非林地"},
    "tab_confusion": {"en": "Confusion matrix of the dominant species, blocked CV (rows: map, columns: reference)",
                      "zh": "优势树种混淆矩阵（空间分块交叉验证；行为分类结果，列为参考）"},
    "tab_areas": {"en": "Area estimates with 95 % intervals, {year} (Olofsson et al. 2014; blocked-CV predictions "
                        "of the labelled layer's samples of that year)",
                  "zh": "{year}年面积估计及95%置信区间（Olofsson等2014；该年标记样本的空间分块交叉验证预测）"},
    "col_class": {"en": "Class", "zh": "类别"},
    "col_mapped": {"en": "Mapped (ha)", "zh": "制图面积（公顷）"},
    "col_area": {"en": "Estimated (ha)", "zh": "估计面积（公顷）"},
    "col_ua": {"en": "UA", "zh": "用户精度"},
    "col_pa": {"en": "PA", "zh": "生产者精度"},
    "p_flagged": {"en": "Samples without enough clear monthly observations in their year (left out): {n}.",
                  "zh": "当年晴空观测不足而剔除的样本：{n}个。"},
}

SPECIES_COLOURS = ("#1b7837", "#5aae61", "#a6dba0", "#d95f02", "#e6ab02", "#7570b3", "#e7298a", "#66a61e",
                   "#a6761d", "#1f78b4")


def msg(lang: str, key: str, **kw) -> str:
    text = MESSAGES[key][lang]
    return text.format(**kw) if kw else text


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
    areas = d.nonempty("classify", "areas")
    if areas is not None and "area_ha" in areas:
        for year in sorted({int(y) for y in areas["year"]} & {y1, y2}):
            a = areas[(areas["year"] == year) & (areas["level"] == "species_chained") & areas["area_ha"].notna()]
            if not len(a):
                continue
            rows = []
            for r in a.to_dict("records"):
                k = str(r["class"])
                name = names.get(int(k), k) if k.isdigit() else msg(lang, "nonforest")
                rows.append([name, b.n(r["mapped_ha"], 1), f"{b.n(r['area_ha'], 1)} ± {b.n(r['area_ci95_ha'], 1)}",
                             f"{b.n(r['ua'], 3)} ± {b.n(r['ua_ci95'], 3)}", f"{b.n(r['pa'], 3)} ± {b.n(r['pa_ci95'], 3)}"])
            b.table([msg(lang, "col_class"), msg(lang, "col_mapped"), msg(lang, "col_area"), msg(lang, "col_ua"),
                     msg(lang, "col_pa")], rows, msg(lang, "tab_areas", year=year), align=["l", "r", "r", "r", "r"])


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
