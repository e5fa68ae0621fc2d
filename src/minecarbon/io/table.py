"""Tables (CSV / XLSX / Parquet) in and out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError, MissingInputError
from .atomic import atomic_path


def read_table(path: str | Path, required: tuple[str, ...] = (), what: str = "table") -> pd.DataFrame:
    """Read a CSV/XLSX/Parquet table and check required columns (all missing ones named)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{what} {path} does not exist. Check the path in the project file.")
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            df = pd.read_excel(path)
        elif path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, encoding="utf-8-sig")
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
