"""Reading tabular outputs for the database, identifiers kept as text.

A plot called ``007`` must stay ``007`` (not the number 7) in the database and
in the report, so columns whose name is ``id`` or ends in ``_id`` are read as
text.  Everything else is parsed by pandas as in the rest of minecarbon
(:func:`minecarbon.io.read_table`), so numbers in the database equal the
numbers a reader of the CSV file gets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..errors import InputError, MissingInputError
from ..io import read_table

_ID = re.compile(r"(^|_)id$", re.IGNORECASE)


def id_columns(columns) -> list[str]:
    """Columns that hold identifiers (``id``, ``plot_id``, ``tree_id`` ...)."""
    return [str(c) for c in columns if _ID.search(str(c).strip())]


def read_csv_table(path: str | Path) -> pd.DataFrame:
    """A CSV (UTF-8, with or without BOM), XLSX or Parquet table; identifier columns as text."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return read_table(path, what="catalogued table")
    if not path.is_file():
        raise MissingInputError(f"Table {path} does not exist.")
    try:
        header = pd.read_csv(path, encoding="utf-8-sig", nrows=0)
        ids = {c: str for c in id_columns(header.columns)}
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=ids, keep_default_na=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except Exception as exc:
        raise InputError(f"Table {path} cannot be read ({type(exc).__name__}: {exc}). It may be damaged; "
                         f"re-run the stage that wrote it ('minecarbon run PROJECT --force --stages ...').") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_json(path: str | Path):
    """A JSON output (model card, cumulative model ...)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not readable JSON ({exc}). Re-run the stage that wrote it.") from None
