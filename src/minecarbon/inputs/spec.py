"""Frozen declarations of input files, after natcap/invest ``spec.py``.

A spec says once what an input must hold; the same object serves both sides:

* :meth:`TableInput.problems` / :meth:`VectorInput.problems` list *every*
  problem of a file as :class:`~minecarbon.errors.Problem` (what
  ``minecarbon check`` shows), and never raise;
* :meth:`TableInput.read` / :meth:`VectorInput.read` run the same rules and
  raise :class:`~minecarbon.errors.InputError` carrying those problems (what
  the stages call), or return the data.

So ``check`` and ``run`` agree by construction.  Rules that need another file
(plots inside the monitoring area, species against the allometry table) are
the genuinely cross-file checks of :mod:`minecarbon.check`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InputError, MinecarbonError, MissingInputError, Problem
from ._report import Report, fid_where, raise_or_warn  # noqa: F401 - re-exported (defined there: no import cycle)
from ._text import one_line

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["Column", "Field", "Report", "Sheet", "TableInput", "VectorInput"]


@dataclass(frozen=True)
class Sheet:
    """A table read as stripped text; the index is each row's 0-based position in the file."""

    df: pd.DataFrame
    word: str = "line"
    """``"line"`` (CSV, header = line 1) or ``"row"`` (spreadsheet)."""

    @staticmethod
    def of(frame: pd.DataFrame, word: str = "line") -> "Sheet":
        """A typed frame (e.g. from :func:`minecarbon.io.read_table`) as text; NaN becomes ''."""
        df = frame.astype(object).where(frame.notna(), "").astype(str)
        df.columns = [str(c).strip() for c in df.columns]
        df = df.apply(lambda s: s.str.strip()) if len(df.columns) else df
        if not pd.api.types.is_integer_dtype(df.index):
            df = df.reset_index(drop=True)
        return Sheet(df, word)


Rule = Callable[[Sheet, Report, dict[str, Any]], None]
"""A rule: (sheet, report, options) -> None; it adds problems to the report."""


@dataclass(frozen=True)
class Column:
    """One declared column of a table."""

    name: str
    about: str
    units: str = ""
    required: bool = True
    kind: str = "text"
    """``text``, ``number``, ``year`` or ``any`` (left as read); converted by :meth:`TableInput.read`."""
    rule: Rule | None = None
    """Checks of this column's values; run only when the column is present."""


@dataclass(frozen=True)
class TableInput:
    """A CSV / XLSX / Parquet table with declared columns."""

    key: str
    """Config key (``"inputs.trees"``)."""
    what: str
    """Name in messages (``"tree tally"``)."""
    about: str
    columns: tuple[Column, ...]
    rules: tuple[tuple[tuple[str, ...], Rule], ...] = ()
    """Rules over several columns: (columns needed, rule)."""
    no_rows_fix: str = "Add the rows."

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def with_columns(self, names: Sequence[str]) -> "TableInput":
        """The same spec restricted to some columns (those required; their rules only)."""
        keep = tuple(replace(c, required=True) for c in self.columns if c.name in names)
        rules = tuple((need, r) for need, r in self.rules if set(need) <= set(names))
        return replace(self, columns=keep, rules=rules)

    # -- the rules -----------------------------------------------------------
    def sheet_problems(self, sheet: Sheet, file: str, **options: Any) -> list[Problem]:
        """Every problem of a table already read as text."""
        rep = Report(file)
        df = sheet.df
        present = list(df.columns)
        missing = [c for c in self.required if c not in present]
        for col in missing:
            near = [c for c in present if c.lower().replace(" ", "_") == col]
            rep.add(f"column {col}", f"the {self.what} lacks the required column {col!r} (columns: "
                    f"{', '.join(present) or 'none'})",
                    f"Rename {near[0]!r} to {col!r}." if near else f"Add a column {col!r} (header in line 1).")
        if len(df) == 0:
            rep.add("(file)", f"the {self.what} has no rows", self.no_rows_fix)
            return rep.problems
        have = set(present) - set(missing)
        for need, rule in self.rules:
            if set(need) <= have:
                rule(sheet, rep, options)
        for col in self.columns:
            if col.rule is not None and col.name in have:
                col.rule(sheet, rep, options)
        return rep.problems

    def problems(self, path: str | Path, file: str | None = None, **options: Any) -> list[Problem]:
        """Every problem of the file (unreadable, columns, rows); never raises."""
        file = file or str(path)
        try:
            sheet = read_sheet(Path(path), self.what, self.key)
        except MinecarbonError as exc:
            return [replace(p, file=file) for p in exc.problems]
        return self.sheet_problems(sheet, file, **options)

    def validate(self, frame: pd.DataFrame, source: str, word: str = "line", **options: Any) -> pd.DataFrame:
        """Check a typed frame with the rules of :meth:`problems`; return it with declared types.

        Raises :class:`~minecarbon.errors.InputError` listing every error;
        warnings are issued as :class:`~minecarbon.errors.MinecarbonWarning`.
        """
        found = self.sheet_problems(Sheet.of(frame, word), source, **options)
        raise_or_warn(found, f"{source}: {sum(p.is_error for p in found)} problem(s) in the {self.what}:")
        return self.typed(frame)

    def read(self, path: str | Path, file: str | None = None, **options: Any) -> pd.DataFrame:
        """Read the file; raise :class:`~minecarbon.errors.InputError` with the problems :meth:`problems` lists."""
        from ..io.table import read_table

        path = Path(path)
        file = file or str(path)
        if not path.is_file():
            raise MissingInputError(f"{self.what} {path} does not exist. Check the path in the project file.",
                                    problems=[Problem(file, "(file)", f"the {self.what} does not exist",
                                                      "Check the path in the project file.", code="missing-file")])
        found = self.problems(path, file, **options)
        raise_or_warn(found, f"{file}: {sum(p.is_error for p in found)} problem(s) in the {self.what}:")
        return self.typed(read_table(path, what=self.what))

    def typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Declared text columns stripped text, numbers float, years int (other columns as read)."""
        out = frame.copy()
        for col in self.columns:
            if col.name not in out.columns or col.kind == "any":
                continue
            if col.kind == "text":
                out[col.name] = out[col.name].astype(str).str.strip()
            elif col.kind == "year":
                out[col.name] = pd.to_numeric(out[col.name]).astype(int)
            else:
                out[col.name] = pd.to_numeric(out[col.name], errors="coerce").astype(float)
        return out


def read_sheet(path: Path, what: str, key: str) -> Sheet:
    """Read a CSV / XLSX / Parquet as text, keeping the file's row positions in the index.

    Raises :class:`InputError` whose one problem says why the file cannot be read.
    """
    suffix = path.suffix.lower()
    file = str(path)
    try:
        if suffix in (".xlsx", ".xls"):
            from ..io.table import excel_sheet

            df = pd.read_excel(path, sheet_name=excel_sheet(path, f"the {what} ({key})"), dtype=str,
                               keep_default_na=False)
            word = "row"
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
            df = df.astype(object).where(df.notna(), "").astype(str)
            word = "row"
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=False)
            word = "line"
    except MinecarbonError as exc:
        msg = str(exc).split(". ", 1)[0].replace(f" {path}", "")
        raise InputError(str(exc), problems=[Problem(file, "(file)", msg, "Keep the table on one sheet (delete or "
                                                     "move the others), or save that sheet as a UTF-8 CSV.")]) from None
    except UnicodeDecodeError:
        raise InputError(f"the {what} {path} is not UTF-8 text", problems=[Problem(
            file, "(file)", f"the {what} ({key}) is not UTF-8 text (perhaps GBK from Excel)",
            "Save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8).")]) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad input
        raise InputError(f"the {what} {path} cannot be read", problems=[Problem(
            file, "(file)", f"the {what} ({key}) cannot be read as a table "
            f"({type(exc).__name__}: {one_line(str(exc))[:200]})",
            "Save it as a UTF-8 CSV with one header row.")]) from None
    df = df.fillna("").astype(str)
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip()) if len(df.columns) else df
    if len(df):
        df = df.loc[~(df == "").all(axis=1)]  # blank lines; the index keeps file positions
    return Sheet(df, word)


# ---------------------------------------------------------------------------
# vectors
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One declared attribute of a vector layer."""

    name: str
    about: str
    required: bool = True


LayerRule = Callable[["gpd.GeoDataFrame", Report, dict[str, Any]], None]
"""A rule over a layer's features: (layer, report, options) -> None."""


@dataclass(frozen=True)
class VectorInput:
    """A polygon layer with declared attributes and rules over its features.

    What every layer shares (opening, CRS, polygons, features inside the
    monitoring area) is declared in :mod:`minecarbon.inputs.polygons` and run
    by both ``check`` and :meth:`read`; the spec holds what is particular to
    the layer: its attributes and their values.
    """

    key: str
    what: str
    about: str
    fields: tuple[Field, ...] = ()
    rules: tuple[tuple[tuple[str, ...], LayerRule], ...] = ()
    geometry: str = "polygon"

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def layer_problems(self, gdf: "gpd.GeoDataFrame", file: str, *, usable: bool = True,
                       **options: Any) -> list[Problem]:
        """Problems of the attributes of an opened layer (``usable``: some feature has a geometry)."""
        rep = Report(file)
        attrs = [c for c in gdf.columns if c != gdf.geometry.name]
        missing = [c for c in self.required if c not in attrs]
        for col in missing:
            near = [c for c in attrs if c.lower() == col.lower()]
            rep.add(f"attribute {col}", f"the {self.what} lacks the required attribute {col!r} "
                    f"(attributes: {', '.join(attrs) or 'none'})",
                    f"Rename {near[0]!r} to {col!r}." if near else f"Add the attribute {col!r}.")
        if usable:
            have = set(attrs) - set(missing)
            for need, rule in self.rules:
                if set(need) <= have:
                    rule(gdf, rep, options)
        return rep.problems

    def read(self, path: str | Path, target_crs: Any = None, file: str | None = None, *, target_from: str = "",
             area: Any = None, area_crs: Any = None, **options: Any) -> "gpd.GeoDataFrame":
        """Read the layer through the rules ``check`` runs: those every polygon layer shares
        (:func:`minecarbon.inputs.polygons.layer_problems`: opening, CRS, polygons, in ``area``) and
        :meth:`layer_problems`; raise :class:`~minecarbon.errors.InputError` on errors, warn the warnings.

        Returns the layer (indexed by feature id) reprojected to ``target_crs`` when given.
        """
        from .polygons import layer_rules, read_polygons

        def attributes(layer: Any) -> list[Problem]:
            return self.layer_problems(layer.gdf, layer.shown, usable=layer.usable, **options)

        return read_polygons(path, layer_rules(self), file=file, target_crs=target_crs, target_from=target_from,
                             area=area, area_crs=area_crs, attributes=attributes)
