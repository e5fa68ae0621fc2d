"""Exceptions and warnings of minecarbon.

One root, :class:`MinecarbonError`; every subclass also inherits the matching
built-in exception so that ``except ValueError`` keeps working for callers who
do not know our classes.  Messages name the file, the field/row/band and the
fix, in one paragraph: the CLI prints them as they are, without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem found in a project or an input file: the structured payload of an error.

    Attributes
    ----------
    file : str
        The file concerned (relative to the project folder where possible).
    where : str
        Where in that file: a key (``"[area].buffer_m"``), rows and a column
        (``"line 12, column dbh_cm"``), a band (``"band 'nir'"``), features
        (``"fid 3"``) or ``"(file)"`` for the file as a whole.
    message : str
        What is wrong.
    fix : str
        How to fix it.
    severity : {"error", "warning"}
        Errors stop the pipeline; warnings are worth a look.
    code : str
        For a plausibility warning that would make the numbers meaningless,
        its name in :data:`minecarbon.config.PLAUSIBILITY_CODES`: ``run``
        treats it as an error unless the project file accepts it
        (``[check].accept``).  ``"missing-file"`` for a named file that does
        not exist (``run`` leaves these to the stage that needs the file).
        Empty for other problems.
    stage : str
        The pipeline stage whose rule this is, when the rule is not about the
        file as such (e.g. "too few plots for the model's folds" is the
        ``model`` stage's, not every stage reading the plot sheet's).
    """

    file: str
    where: str
    message: str
    fix: str
    severity: Severity = "error"
    code: str = ""
    stage: str = ""

    @property
    def is_error(self) -> bool:
        """True for an error, False for a warning."""
        return self.severity == "error"

    def __str__(self) -> str:
        msg = _one_line(self.message).rstrip(". ")
        return f"{self.file}: {self.where}: {msg}. Fix: {_one_line(self.fix)}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def format_problems(problems: Sequence[Problem]) -> str:
    """Format problems for people: a summary line, then errors, then warnings.

    Returns ``"No problems found."`` or one line per problem, each prefixed
    with ``error:`` or ``warning:``.
    """
    if not problems:
        return "No problems found."
    errors = [p for p in problems if p.is_error]
    warns = [p for p in problems if not p.is_error]
    lines = [f"{len(errors)} error(s), {len(warns)} warning(s):"]
    lines += [f"error: {p}" for p in errors]
    lines += [f"warning: {p}" for p in warns]
    return "\n".join(lines)


class MinecarbonError(Exception):
    """Root of every error raised on purpose by minecarbon.

    ``problems`` is the structured payload (a tuple of :class:`Problem`: file,
    where, message, fix); empty when the error was raised with text only.
    An error built with :meth:`from_problems` prints one line per problem.
    """

    problems: tuple[Problem, ...] = ()

    def __init__(self, *args: object, problems: Sequence[Problem] = ()) -> None:
        super().__init__(*args)
        self.problems = tuple(problems)

    @classmethod
    def from_problems(cls, problems: Sequence[Problem], head: str = "") -> "MinecarbonError":
        """An error whose message lists ``problems`` (errors only), one per line, after ``head``."""
        errors = [p for p in problems if p.is_error] or list(problems)
        lines = ([head] if head else []) + [str(p) for p in errors]
        return cls("\n".join(lines) if len(lines) > 1 else lines[0], problems=errors)


class InputError(MinecarbonError, ValueError):
    """An input file or value is wrong (bad column, absurd value, unknown name)."""


class MissingInputError(InputError, FileNotFoundError):
    """A required input file does not exist."""


class CRSError(InputError):
    """A dataset has no CRS, a geographic one where metres are needed, or one that does not match."""


class GridError(InputError):
    """Rasters do not overlap the area or cannot be aligned to the project grid."""


class ConfigError(InputError):
    """The project file is invalid."""


class ProjectCheckError(ConfigError):
    """``minecarbon check`` found one or more problems; ``problems`` lists them all."""

    def __init__(self, problems: list) -> None:
        lines = [f"{len(problems)} problem(s) found in the project:"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))
        self.problems = list(problems)  # type: ignore[assignment]


class UnknownSpeciesError(InputError, KeyError):
    """A species name does not resolve to any species group of the allometry table."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class MissingValueError(InputError):
    """A scientific value the computation needs is unknown and must be supplied by the user."""


class EnvironmentProblemError(MinecarbonError, OSError):
    """The machine, not the input, stops the work: disk full, read-only folder, damaged database, memory."""


class StageError(MinecarbonError, RuntimeError):
    """A pipeline stage could not run (e.g. its upstream outputs are missing)."""


class NotFittedError(MinecarbonError, ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class MinecarbonWarning(UserWarning):
    """Root of minecarbon's warnings."""


class DBHRangeWarning(MinecarbonWarning):
    """Trees have a DBH outside the fitted range of their equation."""


class ProxyEquationWarning(MinecarbonWarning):
    """An equation of another species is used as a stand-in (proxy)."""
