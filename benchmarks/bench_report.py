"""Benchmark: the monitoring database and the report on a simulated project, and the two places where
minecarbon does not use a library's default path (CJK font subsetting, GeoPackage writes).

    .venv/bin/python benchmarks/bench_report.py [--size small] [--seed 0]

Prints a markdown table.  Rows:

* the ``catalog`` and ``report`` stages (both languages, HTML + PDF + DOCX) as run by the pipeline, and their
  share of the whole pipeline run;
* the report split by step (one process, CPU seconds): building the documents (figures), font subset, HTML,
  PDF, DOCX;
* font subset: fontTools' ``Subsetter`` on the Noto Sans CJK face (the library) vs
  :func:`minecarbon.report.fonts.subset_font` (draws only the needed glyphs), same characters, same run;
* GeoPackage tables: pyogrio with GDAL's default synchronous SQLite vs ``OGR_SQLITE_SYNCHRONOUS=OFF`` (what the
  catalog uses while writing its temporary file), same tables, same run.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

logging.basicConfig(level=logging.ERROR)


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small", choices=["tiny", "small", "medium"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="folder to keep the simulated project in (default: a temporary one)")
    args = ap.parse_args()

    from minecarbon.config import load_config
    from minecarbon.pipeline import run_pipeline
    from minecarbon.scenario import simulate

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-report-"))
    rows = []
    try:
        toml = Path(simulate(tmp / "project", size=args.size, seed=args.seed))
        cfg = load_config(toml)
        t0 = time.perf_counter()
        res = run_pipeline(cfg)
        total = time.perf_counter() - t0
        sec = {r.name: r.seconds for r in res}
        for name in ("catalog", "report"):
            rows.append((f"stage `{name}` ({args.size}, pipeline run)", f"{sec.get(name, float('nan')):.1f} s",
                         f"{100 * sec.get(name, 0) / total:.0f} % of the {total:.0f} s pipeline"))

        # -- the report by step -------------------------------------------------------------------------
        from minecarbon.catalog import open_catalog
        from minecarbon.report.build import build_document
        from minecarbon.report.data import ReportData
        from minecarbon.report.docx import write_docx
        from minecarbon.report.fonts import find_cjk_font, subset_font
        from minecarbon.report.html import write_html
        from minecarbon.report.pdf import write_pdf

        font = find_cjk_font(cfg.report.font)
        out = tmp / "steps"
        out.mkdir(exist_ok=True)
        steps = {"documents (figures, zh + en)": 0.0, "font subset": 0.0, "html (zh + en)": 0.0,
                 "pdf (zh + en)": 0.0, "docx (zh + en)": 0.0}
        with open_catalog(cfg) as db:
            data = ReportData(cfg, db)
            docs = {}
            for lang in ("zh", "en"):
                c = time.process_time()
                docs[lang], _ = build_document(cfg, data, lang, font)
                steps["documents (figures, zh + en)"] += time.process_time() - c
        c = time.process_time()
        sub = subset_font(font, "\n".join(d.text() for d in docs.values()))
        steps["font subset"] += time.process_time() - c
        for lang, doc in docs.items():
            for key, fn, ext, extra in (("html (zh + en)", write_html, "html", (sub,)),
                                        ("pdf (zh + en)", write_pdf, "pdf", (sub,)),
                                        ("docx (zh + en)", write_docx, "docx", ())):
                c = time.process_time()
                fn(doc, out / f"r_{lang}.{ext}", *extra)
                steps[key] += time.process_time() - c
        for k, v in steps.items():
            rows.append((f"report step: {k}", f"{v:.2f} s CPU", ""))

        # -- font subset: fontTools Subsetter vs minecarbon ---------------------------------------------------
        from fontTools import subset
        from fontTools.ttLib import TTFont

        text = "\n".join(d.text() for d in docs.values())
        chars = {c for c in text if ord(c) > 0x7E and not c.isspace()}

        def lib_subset():
            f = TTFont(str(font.path), fontNumber=font.index)
            opts = subset.Options()
            opts.hinting = True
            opts.layout_features = ["*"]
            s = subset.Subsetter(opts)
            s.populate(unicodes=[ord(c) for c in chars] + list(range(0x20, 0x7F)))
            s.subset(f)
            buf = io.BytesIO()
            f.save(buf)
            return buf.getvalue()

        from minecarbon.report import fonts as fonts_mod

        _, t_lib = _timed(lib_subset)
        fonts_mod._subset_cached.cache_clear()
        _, t_own = _timed(subset_font, font, text)
        rows.append((f"font subset, {len(chars)} characters: fontTools Subsetter (library)", f"{t_lib:.2f} s", ""))
        rows.append(("font subset: minecarbon subset_font", f"{t_own:.2f} s",
                     f"{t_lib / t_own:.1f}x faster than the library"))

        # -- GeoPackage writes: default vs synchronous off -------------------------------------------------------
        import pyogrio

        with open_catalog(cfg) as db:
            tables = {n: db.read_table(n) for n in db.tables() if n not in ("plots", "units", "units_level1")}
        for label, opt in (("default (synchronous)", None), ("OGR_SQLITE_SYNCHRONOUS=OFF", "OFF")):
            p = tmp / f"gpkg-{opt}.gpkg"
            before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
            if opt:
                pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": opt})
            t0 = time.perf_counter()
            for n, df in tables.items():
                pyogrio.write_dataframe(df, p, layer=n, driver="GPKG")
            dt = time.perf_counter() - t0
            pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": before})
            rows.append((f"GeoPackage, {len(tables)} attribute tables, pyogrio {label}", f"{dt:.2f} s", ""))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"Report and catalog, `{args.size}` scenario (seed {args.seed}); {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.machine()}\n")
    print("| case | time | note |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    sys.exit(main())
