"""The project file (``minecarbon.toml``): typed, frozen models and loading.

Every input and option of a project lives in one TOML file.  Relative paths are
resolved against the folder of the project file.  Path patterns may contain
``{year}`` (one file per year) or glob characters.  Defaults follow the
standard where it gives a number (buffer 100-500 m, at least 3 plots per
assessment unit); where it is silent the default is ours and documented in
``docs/design.md``.

Loading only checks the *shape* of the file (types, ranges, unknown keys);
:func:`minecarbon.check.check_project` opens every input and checks content.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError, MissingInputError

DAMAGE_TYPES = ("excavation", "subsidence", "occupation")
"""Level-2 damage types after GB/T 43935-2024: 挖损, 塌陷, 压占."""

DAMAGE_TYPE_ALIASES = {
    "excavation": "excavation", "挖损": "excavation",
    "subsidence": "subsidence", "塌陷": "subsidence",
    "occupation": "occupation", "压占": "occupation",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProjectInfo(_Model):
    """``[project]``: name, period and where outputs go."""

    name: str = "Unnamed mining area"
    language: Literal["zh", "en"] = "en"
    crs: str | None = Field(
        None, description="Expected projected CRS of the project (e.g. 'EPSG:32649'); inputs in "
        "another CRS are reprojected to it. Default: the CRS of the reference image.")
    start_year: int = Field(..., ge=1970, le=2100)
    end_year: int = Field(..., ge=1970, le=2100)
    base_year: int | None = Field(None, description="Base period (基期); default start_year.")
    mining_start_year: int | None = Field(
        None, description="First year of mining; years before it form the pre-mining period "
        "used for the ideal (climate-only) accumulation. Default: first disturbance year.")
    workspace: str = Field("workspace", description="Folder for outputs/, logs/ and catalog/.")

    @model_validator(mode="after")
    def _years(self) -> "ProjectInfo":
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        if self.base_year is not None and not self.start_year <= self.base_year <= self.end_year:
            raise ValueError(f"base_year {self.base_year} is outside {self.start_year}-{self.end_year}")
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))

    @property
    def base(self) -> int:
        return self.base_year if self.base_year is not None else self.start_year


class AreaConfig(_Model):
    """``[area]``: the mining-right boundary and the buffer around it."""

    boundary: str = Field(..., description="Polygon layer of the mining-right boundary (采矿权范围).")
    buffer_m: float = Field(300.0, ge=0, le=5000, description="Buffer from field reconnaissance; "
                            "the standard says generally 100-500 m.")


class ImagesConfig(_Model):
    """``[images]``: yearly surface-reflectance composites."""

    path: str = Field(..., description="Pattern with {year}, e.g. 'images/sr_{year}.tif'.")
    bands: dict[str, str] = Field(
        default_factory=lambda: {b: b for b in ("blue", "green", "red", "nir", "swir1", "swir2")},
        description="Common band name -> band description in the file (or 1-based index as text).")
    scale: float = Field(2.75e-05, description="Reflectance = DN * scale + offset "
                         "(Landsat Collection 2 Level-2 defaults).")
    offset: float = -0.2
    nodata: float | None = Field(0, description="DN marking missing pixels (None: use the file's).")


class ClimateConfig(_Model):
    """``[climate]``: yearly grids used for the ideal (climate-only) accumulation."""

    temperature: str = Field(..., description="Pattern with {year}: mean annual temperature, deg C.")
    precipitation: str = Field(..., description="Pattern with {year}: annual precipitation, mm.")


class InputsConfig(_Model):
    """``[inputs]``: the other layers and tables a mine brings."""

    dem: str = Field(..., description="Digital elevation model (m), projected CRS.")
    forest_type: str = Field(..., description="Pattern with {year}: forest-type map(s) "
                             "(codes in [forest_type_codes]); at least the base year.")
    disturbance: str | None = Field(None, description="Polygons: year, damage_type "
                                    "(excavation/subsidence/occupation or 挖损/塌陷/压占).")
    planned: str | None = Field(None, description="Planned mining blocks: planned_year, damage_type.")
    reclamation: str | None = Field(None, description="Reclaimed land: year, species.")
    plots: str = Field(..., description="Plot sheet CSV: plot_id, x, y, survey_year, size_m[, slope_deg].")
    trees: str = Field(..., description="Tree tally CSV: plot_id, tree_id, species, dbh_cm, height_m.")
    tls: str | None = Field(None, description="Glob of TLS scans (LAZ/LAS) named <plot_id>.laz.")
    tally: str | None = Field(None, description="Tape tally (每木检尺) of TLS-validation plots.")


class CarbonFractionOverride(_Model):
    value: float = Field(..., gt=0.3, lt=0.6)
    source: str = Field(..., min_length=3, description="Why this value (citation or decision).")


class PlotsConfig(_Model):
    """``[plots]``: plot survey and plot AGC."""

    min_per_unit: int = Field(3, ge=1, description="Standard: at least 3 plots per assessment unit.")
    allometry: str | None = Field(None, description="User allometry table (same CSV format as the "
                                  "shipped one); default: the shipped verified table.")
    carbon_fractions: dict[str, CarbonFractionOverride] = Field(
        default_factory=dict, description="Carbon fraction per species group where the table has none.")
    dbh_error_cm: float = Field(0.5, ge=0, description="SD of DBH measurement error (Monte Carlo).")
    height_error_rel: float = Field(0.05, ge=0, description="Relative SD of height error (Monte Carlo).")
    mc_draws: int = Field(500, ge=10, le=100000)
    dbh_out_of_range: Literal["warn", "error"] = "warn"


class FeaturesConfig(_Model):
    """``[features]``: remote-sensing feature variables (Appendix A)."""

    bands: list[str] = Field(default_factory=lambda: ["blue", "green", "red", "nir", "swir1", "swir2"])
    indices: list[str] = Field(default_factory=lambda: ["NDVI", "RVI", "EVI", "SAVI", "NDMI", "NBR"])
    terrain: list[str] = Field(default_factory=lambda: ["elevation", "slope", "aspect_cos"])


class ModelConfig(_Model):
    """``[model]``: AGC model building."""

    learner: Literal["rf"] = "rf"
    n_estimators: int = Field(300, ge=10)
    cv_folds: int = Field(5, ge=2, le=20)
    seed: int = 0


class AssessConfig(_Model):
    """``[assess]``: the assessment."""

    reference_year: int | None = Field(None, description="Default: base year.")
    compare_year: int | None = Field(None, description="Default: end year.")
    degree_min_agc_t_ha: float = Field(1.0, ge=0, description="Change degree is nodata where the "
                                       "reference AGC is below this (avoids division by ~0).")


class RunConfig(_Model):
    """``[run]``: execution."""

    scheduler: str = Field("threads", description="threads, processes, synchronous or tcp://HOST:PORT")
    chunk_px: int = Field(512, ge=64, le=8192, description="Dask chunk size (pixels per side).")


class ValidationConfig(_Model):
    """``[validation]``: optional known truth (the simulator writes it) to score the maps against."""

    truth_dir: str | None = Field(None, description="Folder with agc_{year}.tif truth rasters (t C/ha).")


class ForestCodes(_Model):
    """Codes of the forest-type map (HJ 1166-2021 classes)."""

    nonforest: int = 0
    coniferous: int = 1
    broadleaf: int = 2
    mixed: int = 3
    sparse: int = 4


class ProjectConfig(_Model):
    """A whole project file, validated.  ``root`` is the folder of the file."""

    project: ProjectInfo
    area: AreaConfig
    images: ImagesConfig
    climate: ClimateConfig
    inputs: InputsConfig
    forest_type_codes: ForestCodes = Field(default_factory=ForestCodes)
    plots: PlotsConfig = Field(default_factory=PlotsConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    assess: AssessConfig = Field(default_factory=AssessConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    root: Path = Field(Path("."), exclude=True)

    # -- paths ---------------------------------------------------------------
    def path(self, value: str | None) -> Path | None:
        """Resolve a path of the project file against its folder."""
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.root / p)

    def year_path(self, pattern: str, year: int) -> Path:
        """Resolve a ``{year}`` pattern for one year."""
        return self.path(pattern.replace("{year}", str(year)))  # type: ignore[return-value]

    @property
    def workspace(self) -> Path:
        return self.path(self.project.workspace)  # type: ignore[return-value]

    def input_paths(self) -> dict[str, Path]:
        """Every concrete input file of the project (patterns expanded per year where the file exists)."""
        out: dict[str, Path] = {}
        single = {"area.boundary": self.area.boundary, "inputs.dem": self.inputs.dem,
                  "inputs.disturbance": self.inputs.disturbance, "inputs.planned": self.inputs.planned,
                  "inputs.reclamation": self.inputs.reclamation, "inputs.plots": self.inputs.plots,
                  "inputs.trees": self.inputs.trees, "inputs.tally": self.inputs.tally,
                  "plots.allometry": self.plots.allometry}
        for key, val in single.items():
            if val is not None:
                out[key] = self.path(val)  # type: ignore[assignment]
        patterns = {"images.path": self.images.path, "climate.temperature": self.climate.temperature,
                    "climate.precipitation": self.climate.precipitation,
                    "inputs.forest_type": self.inputs.forest_type}
        for key, pat in patterns.items():
            for y in self.project.years:
                p = self.year_path(pat, y)
                if p.exists():
                    out[f"{key}[{y}]"] = p
        if self.inputs.tls:
            for p in sorted(self.root.glob(self.inputs.tls)) if not Path(self.inputs.tls).is_absolute() \
                    else sorted(Path("/").glob(self.inputs.tls.lstrip("/"))):
                out[f"inputs.tls[{p.stem}]"] = p
        return out

    def settings_json(self) -> str:
        """The resolved settings as canonical JSON (for provenance and up-to-date checks)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    @property
    def reference_year(self) -> int:
        return self.assess.reference_year or self.project.base

    @property
    def compare_year(self) -> int:
        return self.assess.compare_year or self.project.end_year


def _format_validation_error(path: Path, exc: ValidationError) -> list[str]:
    msgs = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        kind = err["type"]
        if kind == "missing":
            fix = "add it"
        elif kind == "extra_forbidden":
            fix = "remove it or check its spelling (see docs/design.md, 'Project file')"
        else:
            fix = "correct the value"
        msgs.append(f"{path}: [{loc}] {err['msg']} - {fix}.")
    return msgs


def load_config(path: str | Path) -> ProjectConfig:
    """Read and validate a project file.

    Raises
    ------
    MissingInputError
        The file does not exist.
    ConfigError
        The TOML is malformed or does not follow the schema; the message lists
        every problem with its key and a fix.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"Project file {path} does not exist. Create one (see docs/design.md) "
                                f"or run 'minecarbon simulate DIR' to get an example.")
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the syntax at that line.") from None
    try:
        cfg = ProjectConfig.model_validate({**data, "root": path.resolve().parent})
    except ValidationError as exc:
        msgs = _format_validation_error(path, exc)
        raise ConfigError("\n".join([f"{len(msgs)} problem(s) in the project file:"] + msgs)) from None
    return cfg
