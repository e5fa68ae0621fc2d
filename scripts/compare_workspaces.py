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

A GeoPackage records when it was written, so the same layer written by two
runs has two SHA-256s, and every file quoting that checksum (manifests, the
catalog, the report's provenance tables) differs by it.  A second pass
translates the old checksums of files found equal to the new ones (and the
stage fingerprints built from them, stage by stage) and judges those files
again.  Run logs (``workspace/logs/run-*.log``) are named by their start
time and are listed as only in one run.

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


class Hashes:
    """Checksums of the old run -> the new run's, for files found equal (byte for byte or once the clock is masked).

    A GeoPackage records its write time, so the same layer written twice has two SHA-256s; every file that
    quotes such a checksum (manifests, the catalog, the report's tables) then differs by it.  Those
    checksums, their prefixes (the report shows the first 12 or 16 hex digits) and the stage fingerprints
    built from them are translated before comparing.
    """

    def __init__(self) -> None:
        self.map: dict[str, str] = {}

    def add(self, a: str, b: str) -> None:
        if a != b:
            self.map[a] = b

    def sub(self, text: str) -> str:
        def repl(m: re.Match) -> str:
            h = m.group(0)
            for old, new in self.map.items():
                if old.startswith(h):
                    return new[:len(h)]
            return h
        return re.sub(r"\b[0-9a-f]{12,64}\b", repl, text) if self.map else text


def _subst(obj, hashes: Hashes):
    if isinstance(obj, dict):
        return {k: _subst(v, hashes) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_subst(v, hashes) for v in obj]
    if isinstance(obj, str):
        return hashes.sub(obj)
    return obj


def _manifest(a: Path, b: Path, hashes: Hashes) -> bool:
    """Two manifests equal once times are dropped, known checksums translated and sizes of translated files ignored."""
    ma, mb = (_drop_times(json.loads(p.read_text(encoding="utf-8"))) for p in (a, b))
    for m in (ma, mb):
        for info in (m.get("outputs") or {}).values():
            info.pop("size", None)
    fa, fb = ma.pop("fingerprint", None), mb.pop("fingerprint", None)
    if _subst(ma, hashes) != mb:
        return False
    if fa and fb:
        hashes.add(fa, fb)
    return True


def _masked_text(path: Path, hashes: Hashes) -> str:
    return hashes.sub(ISO.sub("<time>", path.read_text(encoding="utf-8", errors="replace")))


def _zip_parts(a: Path, b: Path, hashes: Hashes) -> bool:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        if sorted(za.namelist()) != sorted(zb.namelist()):
            return False
        for n in za.namelist():
            x, y = za.read(n), zb.read(n)
            if x == y:
                continue
            tx = hashes.sub(ISO.sub("<time>", x.decode("utf-8", "replace")))
            ty = ISO.sub("<time>", y.decode("utf-8", "replace"))
            if tx != ty:
                return False
    return True


def _sqlite_translated(a: Path, b: Path, hashes: Hashes) -> bool:
    ra, rb = _sqlite_rows(a), _sqlite_rows(b)
    if ra.keys() != rb.keys():
        return False
    for k in ra:
        (ca, rows_a), (cb, rows_b) = ra[k], rb[k]
        if ca != cb or len(rows_a) != len(rows_b):
            return False
        for x, y in zip(rows_a, rows_b):
            translated = any(isinstance(u, str) and u != v and hashes.sub(u) == v for u, v in zip(x, y))
            for c, u, v in zip(ca, x, y):
                if u == v or (c in ("size_bytes", "fingerprint") and translated) or c == "fingerprint":
                    continue
                if isinstance(u, str) and isinstance(v, str):
                    if hashes.sub(u) == v:
                        continue
                    try:
                        if _subst(_drop_times(json.loads(u)), hashes) == _drop_times(json.loads(v)):
                            continue
                    except ValueError:
                        pass
                return False
    return True


def _pdf_streams(path: Path) -> list[bytes]:
    import zlib

    data = path.read_bytes()
    out = []
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        raw = data[m.end():end].rstrip(b"\r\n")
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def second_pass(old: Path, new: Path, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Translate the checksums of equal files, then judge the files that differ only by them."""
    import hashlib

    hashes = Hashes()
    for rel, v in rows:
        if v.startswith("equal"):
            hashes.add(hashlib.sha256((old / rel).read_bytes()).hexdigest(),
                       hashlib.sha256((new / rel).read_bytes()).hexdigest())
    verdicts = dict(rows)
    # manifests in run order: a stage's fingerprint is known before its downstream stages quote it
    order = ["units", "lidar", "plots", "features", "model", "map", "assess", "catalog", "report"]
    manifests = sorted((r for r in verdicts if r.endswith("/_manifest.json") and not verdicts[r].startswith(("equal", "identical"))),
                       key=lambda r: order.index(r.split("/")[-2]) if r.split("/")[-2] in order else 99)
    pending = [r for r in verdicts if not verdicts[r].startswith(("equal", "identical", "ONLY"))]
    for _ in range(3):  # outputs equal by translation add their checksums, which later files quote
        for rel in manifests + [r for r in pending if r not in manifests]:
            if verdicts[rel].startswith(("equal", "identical")):
                continue
            a, b = old / rel, new / rel
            suf = a.suffix.lower()
            try:
                if rel.endswith("_manifest.json"):
                    ok, what = _manifest(a, b, hashes), "manifest without run times; checksums translated"
                elif suf in (".gpkg", ".sqlite", ".db"):
                    ok, what = _sqlite_translated(a, b, hashes), "database rows; run times masked, checksums translated"
                elif suf in (".html", ".csv", ".txt", ".xml", ".qgs", ".json"):
                    ok, what = _masked_text(a, hashes) == ISO.sub("<time>", b.read_text(encoding="utf-8", errors="replace")), \
                        "text; date-times masked, checksums translated"
                elif suf in (".docx", ".xlsx", ".qgz"):
                    ok, what = _zip_parts(a, b, hashes), "document parts; date-times masked, checksums translated"
                elif suf == ".pdf":
                    sa, sb = _pdf_streams(a), _pdf_streams(b)
                    n_diff = sum(x != y for x, y in zip(sa, sb)) + abs(len(sa) - len(sb))
                    ok, what = False, f"{n_diff} of {len(sa)} PDF streams differ (glyph-coded text: not translatable)"
                else:
                    continue
            except Exception as exc:  # noqa: BLE001
                ok, what = False, f"{type(exc).__name__}: {exc}"
            verdicts[rel] = f"equal: {what}" if ok else f"DIFFERENT ({what})"
            if ok:
                hashes.add(hashlib.sha256(a.read_bytes()).hexdigest(), hashlib.sha256(b.read_bytes()).hexdigest())
    return [(rel, verdicts[rel]) for rel, _ in rows]


def compare(old: Path, new: Path) -> tuple[list[tuple[str, str]], bool]:
    files_a = {p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
    files_b = {p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()}
    out = []
    for rel in sorted(files_a | files_b):
        a, b = old / rel, new / rel
        if rel not in files_b:
            out.append((rel, "ONLY IN OLD"))
            continue
        if rel not in files_a:
            out.append((rel, "ONLY IN NEW"))
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
        out.append((rel, verdict))
    out = second_pass(old, new, out)
    ok = all(v == "identical" or v.startswith("equal") for _, v in out)
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
