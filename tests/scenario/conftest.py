"""Fixtures of the scenario tests: one tiny simulated area per session."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from minecarbon.scenario import simulate


@dataclass
class Run:
    out: Path
    toml: Path
    messages: list[str]
    stdout: str


def _run(out: Path, seed: int = 0) -> Run:
    messages: list[str] = []
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        toml = simulate(out, size="tiny", seed=seed, progress=messages.append)
    return Run(out, toml, messages, buf.getvalue())


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Run:
    """The tiny scenario, seed 0, 2005-2024."""
    return _run(tmp_path_factory.mktemp("tiny_a"))


@pytest.fixture(scope="session")
def tiny_again(tmp_path_factory) -> Run:
    """The same scenario written a second time (determinism)."""
    return _run(tmp_path_factory.mktemp("tiny_b"))
