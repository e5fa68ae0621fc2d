"""Translations from the project's settings to the options of the library (one place each).

``stack_spec`` ([features] -> :class:`~minecarbon.features.stack.StackSpec`),
``tls_params`` ([lidar] -> :class:`~minecarbon.lidar.TLSParams`) and
``cumulative_years`` ([assess] and the period -> the years the cumulative
effect reads), used by the stages, ``check`` and the CLI alike.
"""

from __future__ import annotations

from ..config import ProjectConfig
from ..features.stack import StackSpec, TextureSpec
from ..lidar import StemParams, TLSParams

__all__ = ["cumulative_years", "stack_spec", "tls_params"]


def stack_spec(cfg) -> StackSpec:
    """The feature selection of a project (``[features]``)."""
    f = cfg.features
    coefs = None if f.tasseled_cap_coefficients == "auto" else f.tasseled_cap_coefficients
    return StackSpec(bands=tuple(f.bands), indices=tuple(f.indices), tasseled_cap=tuple(f.tasseled_cap),
                     tc_coefficients=coefs,
                     texture=TextureSpec(bands=tuple(f.texture_bands), window=f.texture_window,
                                         levels=f.texture_levels, distance=f.texture_distance,
                                         measures=tuple(f.texture_measures),
                                         value_range=tuple(f.texture_range) if f.texture_range else None,
                                         percentiles=tuple(f.texture_percentiles)),
                     terrain=tuple(f.terrain))


def tls_params(cfg: ProjectConfig) -> TLSParams:
    """TLS processing settings from ``[lidar]``."""
    lid = cfg.lidar
    return TLSParams(ground_method=lid.ground_method,
                     stems=StemParams(band_m=tuple(lid.breast_band_m), dbh_min_cm=lid.dbh_min_cm))


def cumulative_years(cfg: ProjectConfig, mining_start: int | None) -> tuple[list[int], list[int], str | None]:
    """The years of the cumulative effect: (pre-mining fit years, every year whose climate and covariates it
    reads, None) - or ([...], [], why) when it will not be computed.  Also used by ``minecarbon check``."""
    years = cfg.project.years
    fit_years = [y for y in years if mining_start is not None and y < mining_start]
    if mining_start is None:
        return fit_years, [], ("the first mining year is unknown: set [project].mining_start_year or give a "
                               "disturbance layer with years")
    if len(fit_years) < 2:
        return fit_years, [], (f"mining started in {mining_start}, leaving {len(fit_years)} pre-mining year(s) in "
                               f"{cfg.project.start_year}-{cfg.project.end_year}; the ideal accumulation needs at "
                               f"least 2")
    c0 = cfg.assess.cumulative_start_year or cfg.reference_year
    c1 = cfg.assess.cumulative_end_year or cfg.compare_year
    return fit_years, sorted(set(fit_years) | {y for y in range(c0, c1 + 1) if y in years}), None
