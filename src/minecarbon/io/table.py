"""Tables (CSV / XLSX / Parquet) in and out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError, MissingInputError
from .atomic import atomic_path


def excel_sheet(path: str | Path, what: str = "table") -> str | int:
    """The sheet of an Excel workbook that holds the table.

    A workbook with one sheet, or with one sheet holding data among empty
    ones, gives that sheet.  Several sheets with data are an
    :class:`InputError` naming them: reading the first one silently could be
    the wrong one.
    """
    path = Path(path)
    with pd.ExcelFile(path) as book:
        names = list(book.sheet_names)
        if len(names) <= 1:
            return 0
        filled = [n for n in names
                  if not pd.read_excel(book, sheet_name=n, header=None, nrows=2).dropna(how="all").empty]
    if len(filled) == 1:
        return filled[0]
    raise InputError(f"{what} {path} has {len(names)} sheets with data ({', '.join(map(repr, filled))}); it is "
                     f"not clear which holds the table. Keep the table on one sheet (delete or move the others), "
                     f"or save that sheet as a UTF-8 CSV.")


def read_table(path: str | Path, required: tuple[str, ...] = (), what: str = "table") -> pd.DataFrame:
    """Read a CSV/XLSX/Parquet table and check required columns (all missing ones named).

    The index of the result is the row's position in the file (header = line
    1, so line = index + 2) even when blank lines are skipped: messages that
    name lines stay true.  An Excel workbook is read from the sheet
    :func:`excel_sheet` finds.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{what} {path} does not exist. Check the path in the project file.")
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            df = pd.read_excel(path, sheet_name=excel_sheet(path, what))
        elif path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, encoding="utf-8-sig", skip_blank_lines=False)
            df = df.dropna(how="all")  # blank lines; the index keeps the file positions
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad input
        raise InputError(f"{what} {path} cannot be read as a table ({type(exc).__name__}: {exc}). "
                         f"Save it as UTF-8 CSV with a header row.") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{what} {path} lacks required column(s) {', '.join(missing)} "
                         f"(it has: {', '.join(df.columns)}). Add or rename them.")
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table atomically: CSV (UTF-8 with BOM so Excel shows Chinese names), XLSX or Parquet."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".parquet":
            df.to_parquet(tmp, index=False)
        elif path.suffix.lower() == ".xlsx":
            df.to_excel(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, encoding="utf-8-sig")
    return path
