#!/usr/bin/env python3
"""Compare two minecarbon project folders (e.g. two runs of ``minecarbon demo``) file by file.

Usage::

    python scripts/compare_workspaces.py OLD_DIR NEW_DIR [--show N]

Every file present in either folder is compared byte for byte.  Files that
differ are compared again with the run's clock taken out, and the script says
which rule made them equal:

* JSON (stage manifests, settings, STAC): the keys ``started``, ``finished``,
  ``seconds``, ``created``, ``updated``, ``datetime`` and ``generated`` are
  dropped at any depth;
* SQLite / GeoPackage (the monitoring database): every table's rows are
  compared with ISO date-times and ``seconds``-like run times masked
  (and GeoPackage's ``gpkg_contents.last_change``);
* text (CSV, HTML, XML, QGIS project, logs): ISO date-times masked;
* GeoTIFF: pixels and georeferencing compared, the TIFF ``DATETIME`` tag ignored;
* PDF / DOCX: their text compared (creation dates live in their metadata).

The exit status is 0 when every file is equal (byte for byte or after
masking the clock), 1 otherwise; the report lists each file's verdict.
Both runs must use the same folder path (absolute paths are recorded in the
manifests): move the first run away and run the second in its place.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import zipfile
from pathlib import Path

TIME_KEYS = {"started", "finished", "seconds", "created", "updated", "datetime", "generated", "last_change"}
ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def _drop_times(obj):
    if isinstance(obj, dict):
        return {k: _drop_times(v) for k, v in obj.items() if k not in TIME_KEYS}
    if isinstance(obj, list):
        return [_drop_times(v) for v in obj]
    if isinstance(obj, str):
        return ISO.sub("<time>", obj)
    return obj


def _json(a: Path, b: Path) -> bool:
    return _drop_times(json.loads(a.read_text(encoding="utf-8"))) == _drop_times(json.loads(b.read_text(encoding="utf-8")))


def _text(a: Path, b: Path) -> bool:
    ta = ISO.sub("<time>", a.read_text(encoding="utf-8", errors="replace"))
    tb = ISO.sub("<time>", b.read_text(encoding="utf-8", errors="replace"))
    return ta == tb


def _sqlite_rows(path: Path) -> dict:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = {}
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name")]
        for name in names:
            cur = con.execute(f'SELECT * FROM "{name}"')
            cols = [d[0] for d in cur.description]
            rows = []
            for row in cur.fetchall():
                rows.append(tuple("<time>" if c in TIME_KEYS else (ISO.sub("<time>", v) if isinstance(v, str) else v)
                                  for c, v in zip(cols, row)))
            out[name] = (cols, rows)
        return out
    finally:
        con.close()


def _sqlite(a: Path, b: Path) -> bool:
    ra, rb = _sqlite_rows(a), _sqlite_rows(b)
    if ra.keys() != rb.keys():
        return False
    for k in ra:
        ca, rows_a = ra[k]
        cb, rows_b = rb[k]
        if ca != cb or rows_a != rows_b:
            # settings/versions JSON inside cells: compare without the clock
            if ca == cb and len(rows_a) == len(rows_b):
                same = True
                for x, y in zip(rows_a, rows_b):
                    for u, v in zip(x, y):
                        if u == v:
                            continue
                        try:
                            if _drop_times(json.loads(u)) == _drop_times(json.loads(v)):
                                continue
                        except (TypeError, ValueError):
                            pass
                        same = False
                if same:
                    continue
            return False
    return True


def _tiff(a: Path, b: Path) -> bool:
    import numpy as np
    import rasterio

    with rasterio.open(a) as sa, rasterio.open(b) as sb:
        ta, tb = sa.tags(), sb.tags()
        ta.pop("TIFFTAG_DATETIME", None)
        tb.pop("TIFFTAG_DATETIME", None)
        if (sa.profile != sb.profile or ta != tb or sa.descriptions != sb.descriptions
                or [sa.tags(i) for i in range(1, sa.count + 1)] != [sb.tags(i) for i in range(1, sb.count + 1)]):
            return False
        return bool(np.array_equal(sa.read(), sb.read(), equal_nan=True))


def _pdf(a: Path, b: Path) -> bool:
    strip = re.compile(rb"/(CreationDate|ModDate)\s*\([^)]*\)|/ID\s*\[[^\]]*\]")
    return strip.sub(b"", a.read_bytes()) == strip.sub(b"", b.read_bytes())


def _docx(a: Path, b: Path) -> bool:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        if sorted(za.namelist()) != sorted(zb.namelist()):
            return False
        for n in za.namelist():
            x, y = za.read(n), zb.read(n)
            if x != y and ISO.sub("<time>", x.decode("utf-8", "replace")) != ISO.sub("<time>", y.decode("utf-8", "replace")):
                return False
    return True


RULES = [((".json",), "JSON without run times", _json),
         ((".gpkg", ".sqlite", ".db"), "database rows without run times", _sqlite),
         ((".tif", ".tiff"), "pixels and georeferencing (TIFF DATETIME ignored)", _tiff),
         ((".pdf",), "PDF without creation/modification dates and ids", _pdf),
         ((".docx", ".xlsx"), "document parts without date-times", _docx),
         ((".csv", ".txt", ".html", ".xml", ".qgs", ".log", ".md", ".toml"), "text without ISO date-times", _text)]


def compare(old: Path, new: Path) -> tuple[list[tuple[str, str]], bool]:
    files_a = {p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
    files_b = {p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()}
    out, ok = [], True
    for rel in sorted(files_a | files_b):
        a, b = old / rel, new / rel
        if rel not in files_b:
            out.append((rel, "ONLY IN OLD")); ok = False
            continue
        if rel not in files_a:
            out.append((rel, "ONLY IN NEW")); ok = False
            continue
        if a.read_bytes() == b.read_bytes():
            out.append((rel, "identical"))
            continue
        verdict = "DIFFERENT"
        for suffixes, what, rule in RULES:
            if a.suffix.lower() in suffixes:
                try:
                    verdict = f"equal: {what}" if rule(a, b) else f"DIFFERENT (also {what})"
                except Exception as exc:  # noqa: BLE001 - an unreadable file is a difference
                    verdict = f"DIFFERENT ({type(exc).__name__}: {exc})"
                break
        ok &= verdict.startswith("equal")
        out.append((rel, verdict))
    return out, ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--show", type=int, default=0, help="also list this many identical files")
    args = ap.parse_args(argv)
    rows, ok = compare(args.old, args.new)
    n_same = sum(v == "identical" for _, v in rows)
    n_equal = sum(v.startswith("equal") for _, v in rows)
    for rel, v in rows:
        if v != "identical":
            print(f"{v:60s} {rel}")
    for rel, v in [r for r in rows if r[1] == "identical"][:args.show]:
        print(f"{v:60s} {rel}")
    print(f"{len(rows)} files: {n_same} byte-identical, {n_equal} equal once the run's clock is masked, "
          f"{len(rows) - n_same - n_equal} different")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
