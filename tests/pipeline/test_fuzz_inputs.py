"""Fuzz suite of issue 17: mutated field sheets never give a silent wrong answer nor an internal error.

Hypothesis mutates the plot sheet and the tree tally of the tiny simulated
project (seed 7, 2005-2006) - one cell set to an odd value (empty, text, NaN,
inf, negative, huge, any float or text), rows deleted, duplicated or shuffled,
blank lines, a column dropped or renamed, the header alone - and runs the
``plots`` stage as ``run`` does.  Each case must either

* stop with a :class:`MinecarbonError` whose message names the sheet, or
* give a correct result: every tree of every plot in the output is there with
  a finite, positive carbon; each plot's AGC is the sum of its trees' carbon
  over its area (hand arithmetic); a plot of the sheet missing from the output
  is named in a warning.

Any other exception is an internal error and fails the test.  The examples are
derandomized (the same 110 cases on every run; about a minute).
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from minecarbon.config import load_config
from minecarbon.errors import MinecarbonError
from minecarbon.pipeline import run_pipeline

SHEETS = ("plots.csv", "trees.csv")
ODD = ["", " ", "NaN", "nan", "NA", "inf", "-inf", "-1", "0", "1e30", "-1e30", "abc", "12,5", "刺槐", " 8.6 ",
       "1e-9", "0x10", "None", "TRUE", "'", '"', "=1+1", "<b>x</b>", "9" * 40]


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory):
    from minecarbon.scenario import simulate

    out = tmp_path_factory.mktemp("fuzz")
    toml = Path(simulate(out, size="tiny", seed=7, start_year=2005, end_year=2006))
    cfg = load_config(toml)
    run_pipeline(cfg, ["units", "plots"])
    field = out / "inputs" / "field"
    originals = {name: (field / name).read_bytes() for name in SHEETS}
    return _Project(cfg, field, originals)


class _Project:
    """The fuzzed project (a short repr: hypothesis prints it with each failing case)."""

    def __init__(self, cfg, field: Path, originals: dict[str, bytes]) -> None:
        self.cfg, self.field, self.originals = cfg, field, originals

    def __repr__(self) -> str:
        return f"<project {self.cfg.root}>"


def _frame(raw: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True)
    df.columns = [str(c).strip() for c in df.columns]  # as minecarbon reads headers
    return df


@st.composite
def mutations(draw):
    sheet = draw(st.sampled_from(SHEETS))
    kind = draw(st.sampled_from(["cell", "cell", "cell", "float", "text", "delete_rows", "duplicate_row",
                                 "shuffle", "blank_lines", "drop_column", "rename_column", "header_only",
                                 "swap_columns"]))
    return sheet, kind, draw(st.randoms(use_true_random=False)), draw(st.sampled_from(ODD)), \
        draw(st.floats(allow_nan=True, allow_infinity=True)), draw(st.text(max_size=8))


def _mutate(raw: bytes, kind: str, rnd, odd: str, num: float, text: str) -> str:
    df = _frame(raw)
    cols = list(df.columns)
    r = rnd.randrange(len(df))
    c = rnd.choice(cols)
    if kind == "cell":
        df.loc[r, c] = odd
    elif kind == "float":
        df.loc[r, c] = repr(num)
    elif kind == "text":
        df.loc[r, c] = text
    elif kind == "delete_rows":
        df = df.drop(index=rnd.sample(range(len(df)), rnd.randint(1, min(5, len(df)))))
    elif kind == "duplicate_row":
        df = pd.concat([df, df.iloc[[r]]])
    elif kind == "shuffle":
        df = df.sample(frac=1.0, random_state=rnd.randrange(2**31))
    elif kind == "drop_column":
        df = df.drop(columns=[c])
    elif kind == "rename_column":
        df = df.rename(columns={c: rnd.choice([c.upper(), c + " ", " " + c, c + "_x"])})
    elif kind == "header_only":
        df = df.iloc[:0]
    elif kind == "swap_columns":
        a, b = rnd.sample(cols, 2)
        df[[a, b]] = df[[b, a]].to_numpy()
    csv = df.to_csv(index=False, lineterminator="\n")
    if kind == "blank_lines":
        lines = csv.split("\n")
        at = rnd.randrange(1, len(lines))
        csv = "\n".join(lines[:at] + [""] * rnd.randint(1, 3) + lines[at:])
    return csv


def _assert_correct(cfg, field: Path, log_text: str) -> None:
    out = cfg.workspace / "outputs" / "plots"
    res_plots = pd.read_csv(out / "plots_agc.csv", encoding="utf-8-sig", dtype={"plot_id": str})
    res_trees = pd.read_csv(out / "trees_agc.csv", encoding="utf-8-sig", dtype={"plot_id": str, "tree_id": str})
    sheet = _read(field / "plots.csv")
    trees = _read(field / "trees.csv")
    ids = [p.strip() for p in sheet["plot_id"]]
    for pid in set(ids) - set(res_plots["plot_id"]):
        assert pid in log_text, f"plot {pid} of the sheet is missing from the output without a word"
    used = res_trees[res_trees["plot_id"].isin(res_plots["plot_id"])]
    expected = trees[trees["plot_id"].str.strip().isin(res_plots["plot_id"])]
    assert len(used) == len(expected), "trees dropped silently"
    assert np.isfinite(used["agc_kg"]).all() and (used["agc_kg"] > 0).all()
    by_plot = used.groupby("plot_id")["agc_kg"].sum()
    for _, p in res_plots.iterrows():
        want = by_plot.get(p["plot_id"], 0.0) / 1000.0 / p["area_ha"]
        assert np.isclose(p["agc_t_ha"], want, rtol=1e-9, atol=1e-12), p["plot_id"]


@settings(max_examples=110, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(m=mutations())
def test_mutated_field_sheets(fuzz_project, m, caplog):
    cfg, field, originals = fuzz_project.cfg, fuzz_project.field, fuzz_project.originals
    sheet, kind, rnd, odd, num, text = m
    for name, raw in originals.items():
        (field / name).write_bytes(raw)
    (field / sheet).write_text(_mutate(originals[sheet], kind, rnd, odd, num, text), encoding="utf-8")
    caplog.clear()
    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        try:
            run_pipeline(cfg, ["plots"], force=True)
        except MinecarbonError as exc:
            assert any(s in str(exc) for s in SHEETS), f"{kind} on {sheet}: the message names no sheet: {exc}"
            event(f"{sheet} {kind}: stopped with a message")
            return
    event(f"{sheet} {kind}: ran")
    log_text = caplog.text + "\n".join(str(w.message) for w in warned)
    _assert_correct(cfg, field, log_text)
