"""Tree allometry: biomass equations and carbon fractions as data, with provenance.

An allometry table is a CSV with one row per (species group, component)
equation.  Columns (see ``docs/design.md``, "Allometry table format"):

``species_group, name_zh, name_latin, aliases, component, form, a, b, c, expr,
dbh_min_cm, dbh_max_cm, output_unit, log_bias_correction, residual_sd_log,
carbon_fraction, carbon_fraction_source, region, source, status, proxy_for,
note`` (only ``species_group, component, form, output_unit, source, status``
are required).

Forms (D = DBH in cm, H = height in m):

``power``    a * D**b * H**c
``d2h``      a * (D**2 * H)**b
``log_d2h``  exp(a + b * ln(D**2 * H))
``expr``     a safe arithmetic expression in ``dbh_cm``, ``height_m`` and
             ``wood_density`` (parsed with a whitelisted AST, never ``eval``-ed
             as Python code)

``output_unit`` is ``kg``, ``g`` or ``Mg`` (= t); every result is returned in
kg.  ``log_bias_correction`` multiplies the prediction (e.g. exp(SEE**2/2) of
a log-log fit).  ``residual_sd_log`` is the standard deviation of the
natural-log residuals of the fit, where the source gives it; the Monte Carlo
of :mod:`minecarbon.plots` then multiplies each draw by exp(e - s**2/2),
e ~ N(0, s), a mean-preserving log-normal error.  Empty means unknown: the
residual error of that equation is then not propagated (and the plot table
says so).

Aboveground biomass of a tree is the ``aboveground`` row if the group has one,
otherwise the sum of its organ rows (stem, bark, branch, leaf).
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
import operator
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DBHRangeWarning, InputError, MinecarbonWarning, MissingValueError, UnknownSpeciesError

TIER1_MARK = "TIER-1 DEFAULT"
"""A ``carbon_fraction_source`` starting with this is a generic (IPCC tier-1) value, not a species' own."""


class Tier1DefaultWarning(MinecarbonWarning):
    """A species group's carbon fraction is a generic tier-1 default (e.g. IPCC 2006 Table 4.3), not its own."""

FORMS = ("power", "d2h", "log_d2h", "expr")
ORGANS = ("stem", "bark", "branch", "leaf")
COMPONENTS = ("aboveground",) + ORGANS
STATUSES = ("verified", "secondary", "user")
REQUIRED_COLUMNS = ("species_group", "component", "form", "output_unit", "source", "status")
DEFAULT_TABLE = "allometry_default.csv"
UNIT_TO_KG = {"kg": 1.0, "g": 1e-3, "Mg": 1e3, "t": 1e3}
"""Multipliers from a table's ``output_unit`` to kg."""

# --------------------------------------------------------------------------
# Safe expressions
# --------------------------------------------------------------------------
_BINOPS: dict[type, Callable] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                                 ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY: dict[type, Callable] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCS: dict[str, Callable] = {"exp": np.exp, "log": np.log, "ln": np.log, "log10": np.log10,
                               "sqrt": np.sqrt, "abs": np.abs}
_NAMES = ("dbh_cm", "height_m", "wood_density")


@functools.lru_cache(maxsize=512)
def compile_expression(text: str) -> Callable[..., np.ndarray]:
    """Compile an allometric expression into a vectorised function.

    Only numbers, the variables ``dbh_cm``, ``height_m``, ``wood_density``,
    ``+ - * / **`` (``^`` is accepted as power), parentheses and the functions
    exp, log/ln (natural), log10, sqrt and abs are allowed.  The function
    accepts arrays of any (broadcastable) shape.  Compiled functions are
    cached by expression text.

    Examples
    --------
    >>> f = compile_expression("1.54e-5 * dbh_cm**2 * height_m")
    >>> float(f(dbh_cm=np.array([20.0]), height_m=np.array([10.0]))[0])
    0.0616
    """
    src = text.strip().replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise InputError(f"Allometric expression {text!r} is not valid arithmetic ({exc.msg}). "
                         f"Write it with dbh_cm, height_m, numbers, + - * / ** and exp/log.") from None

    def check(node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            check(node.body)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            check(node.left)
            check(node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            check(node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool) or isinstance(node, ast.Name) and node.id in _NAMES:
            pass
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS \
                and len(node.args) == 1 and not node.keywords:
            check(node.args[0])
        else:
            what = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
            raise InputError(f"Allometric expression {text!r}: '{what}' is not allowed. Use only "
                             f"{', '.join(_NAMES)}, numbers, + - * / ** and {', '.join(_FUNCS)}.")

    check(tree)

    def evaluate(node: ast.AST, env: dict[str, np.ndarray]):
        if isinstance(node, ast.Expression):
            return evaluate(node.body, env)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](evaluate(node.left, env), evaluate(node.right, env))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](evaluate(node.operand, env))
        if isinstance(node, ast.Constant):
            return np.float64(node.value)  # numpy arithmetic: 1/0 -> inf, 9**9**9 -> inf (checked per tree)
        if isinstance(node, ast.Name):
            if node.id not in env or env[node.id] is None:
                raise MissingValueError(f"Allometric expression {text!r} needs '{node.id}', which the "
                                        f"tree table does not give. Add a '{node.id}' column.")
            return env[node.id]
        return _FUNCS[node.func.id](evaluate(node.args[0], env))  # type: ignore[attr-defined]

    def fn(dbh_cm=None, height_m=None, wood_density=None) -> np.ndarray:
        env = {"dbh_cm": dbh_cm, "height_m": height_m, "wood_density": wood_density}
        with np.errstate(all="ignore"):
            return np.asarray(evaluate(tree, env), dtype=float)

    fn.__doc__ = f"Allometric expression: {text}"
    return fn


# --------------------------------------------------------------------------
# Equations and tables
# --------------------------------------------------------------------------
def _num(v) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
        return None
    return float(v)


@dataclass(frozen=True)
class Equation:
    """One row of an allometry table (D = DBH in cm, H = height in m, result in kg)."""

    row: int
    """1-based data row in the source CSV (header excluded)."""
    species_group: str
    component: str
    form: str
    a: float | None
    b: float | None
    c: float | None
    expr: str | None
    dbh_min_cm: float | None
    dbh_max_cm: float | None
    output_unit: str
    log_bias_correction: float | None
    carbon_fraction: float | None
    source: str
    status: str
    proxy_for: str | None
    residual_sd_log: float | None = None
    """SD of the natural-log residuals of the fit (None: unknown, not propagated)."""

    def biomass_kg(self, dbh_cm: np.ndarray, height_m: np.ndarray,
                   wood_density: np.ndarray | None = None) -> np.ndarray:
        """Dry biomass of this component (kg) for arrays of D (cm) and H (m).

        Parameters
        ----------
        dbh_cm, height_m : array_like
            Diameter at breast height (cm) and total height (m); any
            broadcastable shapes (e.g. draws x trees in the Monte Carlo).
        wood_density : array_like, optional
            Basic wood density (g cm-3), for ``expr`` rows that use it.

        Returns
        -------
        numpy.ndarray
            Biomass in kg (converted from the row's ``output_unit``).
        """
        d = np.asarray(dbh_cm, dtype=float)
        h = np.asarray(height_m, dtype=float)
        with np.errstate(all="ignore"):
            if self.form == "power":
                m = self.a * d ** self.b * h ** (self.c or 0.0)
            elif self.form == "d2h":
                m = self.a * (d * d * h) ** self.b
            elif self.form == "log_d2h":
                m = np.exp(self.a + self.b * np.log(d * d * h))
            else:
                m = compile_expression(self.expr)(dbh_cm=d, height_m=h, wood_density=wood_density)
        if self.log_bias_correction:
            m = m * self.log_bias_correction
        factor = UNIT_TO_KG[self.output_unit]
        if factor != 1.0:
            m = m * factor
        return m

    @property
    def formula(self) -> str:
        """The equation as text, e.g. ``stem = 0.0427*(D^2*H)^0.8545 kg`` (D cm, H m)."""
        if self.form == "power":
            core = f"{self.a:g}*D^{self.b:g}" + (f"*H^{self.c:g}" if self.c else "")
        elif self.form == "d2h":
            core = f"{self.a:g}*(D^2*H)^{self.b:g}"
        elif self.form == "log_d2h":
            core = f"exp({self.a:g} + {self.b:g}*ln(D^2*H))"
        else:
            core = str(self.expr)
        if self.log_bias_correction:
            core = f"{self.log_bias_correction:g}*{core}"
        return f"{self.component} = {core} {self.output_unit}"


class AllometryTable:
    """A validated allometry table with species resolution.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows in the documented CSV format.
    name : str
        Where the table came from (file path or 'shipped default'), reported.
    carbon_fractions : dict, optional
        species group -> (value, source) overriding or filling the table.
    """

    def __init__(self, frame: pd.DataFrame, name: str = "table",
                 carbon_fractions: dict[str, tuple[float, str]] | None = None) -> None:
        self.name = name
        frame = frame.reset_index(drop=True).astype(object)
        self.frame = frame.where(frame.notna(), "")  # empty cells (NaN in a user frame) are ""
        self.equations = self._parse(self.frame, name)
        self._cf_override = dict(carbon_fractions or {})
        self._aliases = self._build_aliases(self.frame)
        for group in self._cf_override:
            if group not in self.groups:
                self.resolve(group)  # raises with the closest names

    # -- construction -------------------------------------------------------
    @classmethod
    def default(cls, carbon_fractions=None) -> AllometryTable:
        """The shipped table, built from ALLOMETRY.md entries marked VERIFIED."""
        with resources.files("minecarbon.data").joinpath(DEFAULT_TABLE).open("rb") as fh:
            frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
        return cls(frame, name=f"shipped default ({DEFAULT_TABLE})", carbon_fractions=carbon_fractions)

    @classmethod
    def from_csv(cls, path: str | Path, carbon_fractions=None) -> AllometryTable:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"Allometry table {path} does not exist. Fix [plots].allometry in the "
                             f"project file or remove it to use the shipped table.")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        return cls(frame, name=str(path), carbon_fractions=carbon_fractions)

    @staticmethod
    def _parse(frame: pd.DataFrame, name: str) -> list[Equation]:
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"Allometry table {name}: missing column(s) {', '.join(missing)}. "
                             f"See docs/design.md for the format.")
        problems: list[str] = []
        eqs: list[Equation] = []
        for i, rec in enumerate(frame.to_dict(orient="records")):
            row = i + 1

            def get(k: str, rec: dict = rec) -> object:
                v = rec.get(k, "")
                return "" if v is None or (isinstance(v, float) and math.isnan(v)) else v

            form = str(get("form")).strip()
            comp = str(get("component")).strip()
            unit = str(get("output_unit")).strip() or "kg"
            status = str(get("status")).strip()
            try:
                a, b, c = _num(get("a")), _num(get("b")), _num(get("c"))
                eq = Equation(row=row, species_group=str(get("species_group")).strip(), component=comp,
                              form=form, a=a, b=b, c=c, expr=str(get("expr")).strip() or None,
                              dbh_min_cm=_num(get("dbh_min_cm")), dbh_max_cm=_num(get("dbh_max_cm")),
                              output_unit=unit, log_bias_correction=_num(get("log_bias_correction")),
                              carbon_fraction=_num(get("carbon_fraction")),
                              source=str(get("source")).strip(), status=status,
                              proxy_for=str(get("proxy_for")).strip() or None,
                              residual_sd_log=_num(get("residual_sd_log")))
            except ValueError as exc:
                problems.append(f"row {row}: a number could not be read ({exc})")
                continue
            if not eq.species_group:
                problems.append(f"row {row}: species_group is empty")
            if form not in FORMS:
                problems.append(f"row {row}: form {form!r} is not one of {', '.join(FORMS)}")
            elif form == "expr":
                if not eq.expr:
                    problems.append(f"row {row}: form 'expr' needs the expr column")
                else:
                    try:
                        compile_expression(eq.expr)
                    except InputError as exc:
                        problems.append(f"row {row}: {exc}")
            elif eq.a is None or eq.b is None:
                problems.append(f"row {row}: form {form!r} needs coefficients a and b")
            if comp not in COMPONENTS:
                problems.append(f"row {row}: component {comp!r} is not one of {', '.join(COMPONENTS)}")
            if unit not in UNIT_TO_KG:
                problems.append(f"row {row}: output_unit {unit!r} must be one of {', '.join(UNIT_TO_KG)}")
            if eq.residual_sd_log is not None and not 0 <= eq.residual_sd_log < 2:
                problems.append(f"row {row}: residual_sd_log {eq.residual_sd_log} must be the SD of the "
                                f"natural-log residuals (0 to 2), or empty if unknown")
            if eq.log_bias_correction is not None and not 0.5 < eq.log_bias_correction < 2:
                problems.append(f"row {row}: log_bias_correction {eq.log_bias_correction} must be a "
                                f"multiplicative factor near 1 (e.g. exp(SEE^2/2)), or empty")
            if status not in STATUSES:
                problems.append(f"row {row}: status {status!r} must be one of {', '.join(STATUSES)}")
            if not eq.source:
                problems.append(f"row {row}: source is empty - every equation must cite its source")
            if eq.carbon_fraction is not None and not 0.3 < eq.carbon_fraction < 0.6:
                problems.append(f"row {row}: carbon_fraction {eq.carbon_fraction} is outside 0.3-0.6 "
                                f"(give it as a fraction, not a percentage)")
            eqs.append(eq)
        if problems:
            raise InputError(f"Allometry table {name} has {len(problems)} problem(s): "
                             + "; ".join(problems) + ". Fix these rows.")
        return eqs

    @staticmethod
    def _build_aliases(frame: pd.DataFrame) -> dict[str, str]:
        out: dict[str, str] = {}
        for _, r in frame.iterrows():
            group = str(r["species_group"]).strip()
            names = [group]
            for col in ("name_zh", "name_latin"):
                if col in frame.columns:
                    names.append(str(r[col]))
            if "aliases" in frame.columns:
                names += str(r["aliases"]).split(";")
            for n in names:
                key = _norm(n)
                if key:
                    out.setdefault(key, group)
        return out

    # -- queries --------------------------------------------------------------
    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(e.species_group for e in self.equations))

    def resolve(self, name: str) -> str:
        """Species name (Chinese, Latin or alias) -> species group; unknown names raise.

        Matching ignores case, repeated spaces, underscores and full-width
        characters; a Latin trinomial also matches its first two words.

        Raises
        ------
        UnknownSpeciesError
            With the closest known names; there is never a silent fallback.
        """
        group = self._lookup(name)
        if group is not None:
            return group
        close = self.closest_names(name)
        hint = (" Closest known names: " + ", ".join(repr(c) for c in close) + ".") if close else ""
        raise UnknownSpeciesError(
            f"Species {name!r} is not in the allometry table ({self.name}).{hint} Correct the name, add "
            f"it as an alias, or load a table that covers it with [plots].allometry.")

    def _lookup(self, name: str) -> str | None:
        key = _norm(name)
        if key in self._aliases:
            return self._aliases[key]
        # "Genus species subsp." -> try the first two words
        parts = key.split()
        if len(parts) > 2 and " ".join(parts[:2]) in self._aliases:
            return self._aliases[" ".join(parts[:2])]
        return None

    def closest_names(self, name: str, n: int = 4) -> list[str]:
        """Known names (normalised) closest to ``name`` (difflib ratio >= 0.5)."""
        return difflib.get_close_matches(_norm(name), list(self._aliases), n=n, cutoff=0.5)

    def equations_for(self, group: str) -> list[Equation]:
        eqs = [e for e in self.equations if e.species_group == group]
        agb = [e for e in eqs if e.component == "aboveground"]
        return agb if agb else [e for e in eqs if e.component in ORGANS]

    def carbon_fraction(self, group: str) -> tuple[float, str]:
        """Carbon fraction of a group and its source; unknown values raise :class:`MissingValueError`."""
        if group in self._cf_override:
            v, src = self._cf_override[group]
            return float(v), f"project file: {src}"
        eqs = self.equations_for(group)
        vals = {e.carbon_fraction for e in eqs if e.carbon_fraction is not None}
        if not vals:
            raise MissingValueError(
                f"No verified carbon fraction for species group {group!r} in {self.name}. Supply one in "
                f"the project file, e.g.\n  [plots.carbon_fractions.{group}]\n  value = 0.47\n  "
                f"source = \"IPCC 2006 default, chosen by <who>\"")
        if len(vals) > 1:
            raise InputError(f"Allometry table {self.name}: species group {group!r} has different carbon "
                             f"fractions on its rows ({sorted(vals)}); give one value per group.")
        col = self.frame.loc[self.frame["species_group"] == group]
        src = str(col["carbon_fraction_source"].iloc[0]) if "carbon_fraction_source" in col else ""
        return float(vals.pop()), src

    def resolve_all(self, names: pd.Series, source: str = "tree table") -> pd.Series:
        """Resolve a column of species names to species groups.

        Every unknown name is reported at once, with the table lines (header =
        line 1) where it occurs and the closest known names.

        Raises
        ------
        UnknownSpeciesError
        """
        names = pd.Series(names).astype(str).reset_index(drop=True)
        found: dict[str, str] = {}
        problems: list[str] = []
        for name in names.unique():
            group = self._lookup(name)
            if group is not None:
                found[name] = group
                continue
            lines = np.flatnonzero((names == name).to_numpy()) + 2
            where = ", ".join(str(v) for v in lines[:8]) + (" ..." if lines.size > 8 else "")
            close = self.closest_names(name)
            hint = f" (closest known: {', '.join(repr(c) for c in close)})" if close else ""
            problems.append(f"{name!r} on line(s) {where}{hint}")
        if problems:
            raise UnknownSpeciesError(
                f"{source}: {len(problems)} species name(s) are not in the allometry table ({self.name}): "
                + "; ".join(problems) + ". Correct the names, add them as aliases, or load a table that "
                "covers them with [plots].allometry.")
        return names.map(found)

    def tree_biomass(self, species: pd.Series, dbh_cm: np.ndarray, height_m: np.ndarray,
                     wood_density: np.ndarray | None = None,
                     dbh_out_of_range: str = "warn", source: str = "tree table",
                     tree_ids: np.ndarray | None = None) -> pd.DataFrame:
        """Per-tree aboveground biomass (kg) and carbon (kg C).

        Parameters
        ----------
        species : Series of str
            Chinese name, Latin name or alias of each tree's species.
        dbh_cm, height_m : array_like
            DBH (cm) and total height (m) of each tree.
        wood_density : array_like, optional
            Basic wood density (g cm-3) per tree, for ``expr`` equations that use it.
        dbh_out_of_range : {"warn", "error"}
            What to do with trees whose DBH is outside the fitted range of an
            equation of their group (a :class:`DBHRangeWarning` with the count,
            or an :class:`InputError`).
        source : str
            Name of the tree table, for messages.
        tree_ids : array_like, optional
            Tree ids, for messages (default: lines of ``source`` only).

        Raises
        ------
        InputError
            An equation gives a non-finite or non-positive biomass for a tree
            with a positive DBH and height (message: table, line, trees).

        Returns
        -------
        pandas.DataFrame
            ``species_group, agb_kg, carbon_fraction, agc_kg, equation_rows,
            equation`` aligned with the input (``equation_rows``: rows of the
            allometry table, ``;``-separated; ``equation``: their formulas).
        """
        species = pd.Series(species).astype(str).reset_index(drop=True)
        d = np.asarray(dbh_cm, dtype=float)
        h = np.asarray(height_m, dtype=float)
        wd_all = None if wood_density is None else np.asarray(wood_density, dtype=float)
        groups = self.resolve_all(species, source)
        agb = np.full(d.shape, np.nan)
        cf = np.full(d.shape, np.nan)
        rows = np.empty(d.shape, dtype=object)
        text = np.empty(d.shape, dtype=object)
        outside = np.zeros(d.shape, dtype=bool)
        for group in groups.unique():
            idx = np.flatnonzero((groups == group).to_numpy())
            eqs = self.equations_for(group)
            wd = None if wd_all is None else wd_all[idx]
            total = np.zeros(idx.size)
            for e in eqs:
                part = e.biomass_kg(d[idx], h[idx], wd)
                _check_per_tree(part, e, idx, d, h, self.name, source, tree_ids)
                total += part
                lo = e.dbh_min_cm if e.dbh_min_cm is not None else -np.inf
                hi = e.dbh_max_cm if e.dbh_max_cm is not None else np.inf
                outside[idx] |= (d[idx] < lo) | (d[idx] > hi)
            agb[idx] = total
            cf[idx], cf_src = self.carbon_fraction(group)
            if cf_src.startswith(TIER1_MARK):
                warnings.warn(f"{source}: {idx.size} tree(s) of species group {group!r} use the tier-1 default carbon "
                              f"fraction {cf[idx][0]:g} ({cf_src}). Give a species-specific value in "
                              f"[plots.carbon_fractions.{group}] when one is known.", Tier1DefaultWarning,
                              stacklevel=2)
            rows[idx] = ";".join(str(e.row) for e in eqs)
            text[idx] = " + ".join(e.formula for e in eqs)
        n_out = int(outside.sum())
        if n_out:
            lines = np.flatnonzero(outside) + 2
            where = ", ".join(str(v) for v in lines[:8]) + (" ..." if lines.size > 8 else "")
            msg = (f"{source}: {n_out} tree(s) have a DBH outside the fitted range of their equation "
                   f"({self.name}), on line(s) {where}; their biomass is extrapolated.")
            if dbh_out_of_range == "error":
                raise InputError(msg + " Check the values, or set [plots].dbh_out_of_range = 'warn' to "
                                 "accept the extrapolation.")
            warnings.warn(msg, DBHRangeWarning, stacklevel=2)
        return pd.DataFrame({"species_group": groups.to_numpy(), "agb_kg": agb, "carbon_fraction": cf,
                             "agc_kg": agb * cf, "equation_rows": rows, "equation": text})

    def provenance(self, groups: list[str] | None = None) -> pd.DataFrame:
        """Rows used for the given groups (all when None): what the report cites.

        Columns ``row, species_group, component, form, formula, dbh_min_cm,
        dbh_max_cm, residual_sd_log, source, status, proxy_for,
        carbon_fraction, carbon_fraction_source`` (NaN / empty where the
        table has none; a source starting with ``TIER-1 DEFAULT`` flags a
        generic value).
        """
        groups = groups if groups is not None else self.groups
        keep = [e for e in self.equations if e.species_group in groups
                and e in self.equations_for(e.species_group)]
        return pd.DataFrame([{"row": e.row, "species_group": e.species_group, "component": e.component,
                              "form": e.form, "formula": e.formula, "dbh_min_cm": e.dbh_min_cm,
                              "dbh_max_cm": e.dbh_max_cm, "residual_sd_log": e.residual_sd_log,
                              "source": e.source, "status": e.status,
                              "proxy_for": e.proxy_for or "",
                              "carbon_fraction": self.carbon_fraction(e.species_group)[0]
                              if self._has_cf(e.species_group) else np.nan,
                              "carbon_fraction_source": self.carbon_fraction(e.species_group)[1]
                              if self._has_cf(e.species_group) else ""} for e in keep])

    def _has_cf(self, group: str) -> bool:
        try:
            self.carbon_fraction(group)
            return True
        except MissingValueError:
            return False


def _check_per_tree(mass: np.ndarray, eq: Equation, idx: np.ndarray, d: np.ndarray, h: np.ndarray,
                    table: str, source: str, tree_ids: np.ndarray | None = None) -> None:
    """Raise :class:`InputError` when an equation gives a non-finite or non-positive biomass for a measured tree.

    Trees whose DBH or height is itself missing or not positive are left to
    the tree-table checks; for the others every component must be a finite,
    positive number of kg.  The message names the allometry table and its
    row, the equation, and the trees (lines of ``source``) with their D and H.
    """
    mass = np.broadcast_to(np.asarray(mass, dtype=float), idx.shape)  # a constant expression is a scalar
    measured = np.isfinite(d[idx]) & (d[idx] > 0) & np.isfinite(h[idx]) & (h[idx] > 0)
    bad = measured & ~(np.isfinite(mass) & (mass > 0))
    if not bad.any():
        return
    pos = np.flatnonzero(bad)
    def name(i: int) -> str:
        tree = f"tree {tree_ids[idx[i]]}, " if tree_ids is not None else ""
        return f"{tree}line {int(idx[i]) + 2} (D = {d[idx[i]]:g} cm, H = {h[idx[i]]:g} m): {mass[i]:g} kg"

    trees = "; ".join(name(i) for i in pos[:5]) + (f"; +{pos.size - 5} more" if pos.size > 5 else "")
    raise InputError(f"Allometry table {table}, line {eq.row + 1} ({eq.species_group}, {eq.component}: "
                     f"{eq.formula}) gives no finite positive biomass for {pos.size} tree(s) of {source}: {trees}. "
                     f"Correct the equation in that line (division by zero, log of a negative number, overflow, "
                     f"a negative result?) or the trees' values.")


def _norm(name: str) -> str:
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return " ".join(s.replace("_", " ").split())
