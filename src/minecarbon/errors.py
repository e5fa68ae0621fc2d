"""Exceptions and warnings of minecarbon.

One root, :class:`MinecarbonError`; every subclass also inherits the matching
built-in exception so that ``except ValueError`` keeps working for callers who
do not know our classes.  Messages name the file, the field/row/band and the
fix, in one paragraph: the CLI prints them as they are, without a traceback.
"""

from __future__ import annotations


class MinecarbonError(Exception):
    """Root of every error raised on purpose by minecarbon."""


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
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) found in the project:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


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
