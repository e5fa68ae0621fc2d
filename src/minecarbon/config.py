"""The project file (``minecarbon.toml``): typed, frozen models and loading.

Every input and option of a project lives in one TOML file.  Relative paths are
resolved against the folder of the project file.  Path patterns may contain
``{year}`` (one file per year) or glob characters.  Defaults follow the
standard where it gives a number (buffer 100-500 m, at least 3 plots per
assessment unit); where it is silent the default is ours and documented in
``docs/design.md``.

Loading checks the *shape* of the file (types, ranges, unknown keys) and the
rules between settings (:func:`settings_problems`: e.g. the reference year
before the comparison year), so ``run`` and ``check`` enforce them alike;
:func:`minecarbon.check.check_project` opens every input and checks content.
Every error carries structured problems (``ConfigError.problems``).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .defaults import FIELD_DEFAULTS
from .errors import ConfigError, MissingInputError, Problem

# the defaults the CLI's tool options share (minecarbon.defaults: no pydantic at a command's start-up)
_PLOTS, _MODEL, _ASSESS = (FIELD_DEFAULTS[k] for k in ("plots", "model", "assess"))

class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProjectInfo(_Model):
    """``[project]``: name, period and where outputs go."""

    name: str = "Unnamed mining area"
    language: Literal["zh", "en"] = Field(
        "en", description="Language of the report: zh (Chinese) or en (English). The report in this "
        "language is outputs/report/report.<format>; other languages of [report].languages are "
        "report_<lang>.<format>.")
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
    """``[images]``: yearly surface-reflectance composites (see ``docs/features.md``)."""

    path: str | None = Field(None, description="Pattern with {year}, e.g. 'images/sr_{year}.tif'. Give it or "
                             "'scenes' (then the images stage writes the composites and sets this path).")
    scenes: str | None = Field(None, description="Instead of composites: a folder of scenes (Landsat C2 L2, "
                               "Sentinel-2 L2A) or a local STAC catalog.json; the images stage composites them "
                               "(see docs/composite.md).")
    season_months: tuple[int, int] = Field((5, 9), description="With scenes: first and last month of the "
                                           "yearly composite's date window.")
    composite: Literal["median", "medoid"] = "median"
    harmonisation: str = Field("roy2016_ols_etm_to_oli", description="With scenes: sensor transformation "
                               "(data/harmonisation.csv) or 'none'.")
    monthly: bool = Field(False, description="With scenes: also one composite per month of the end year.")
    fill_years: int = Field(2, ge=0, le=5, description="With scenes: a pixel without any clear observation "
                            "in its year takes the value of the nearest year (up to this many years away) that "
                            "has one; its clear_count stays 0. 0 = leave it empty.")
    sensor: str | None = Field(
        None, description="Sensor and product of the images: landsat5, landsat7, landsat8, landsat9 "
        "(Collection 2 Level-2), sentinel2 (L2A, baseline >= 04.00), sentinel2_pre04, sentinel2_l1c. "
        "Sets the default scale/offset/nodata, the band ids recognised in band descriptions "
        "(SR_B4, B04, ...) and the QA band (QA_PIXEL / SCL). Default: none (bands named by common names).")
    bands: dict[str, str] = Field(
        default_factory=lambda: {b: b for b in ("blue", "green", "red", "nir", "swir1", "swir2")},
        description="Common band name -> band description in the file (or 1-based index as text). "
        "Bands not mapped are found by their common name or, with a sensor, by its band ids.")
    scale: float = Field(2.75e-05, description="Reflectance = DN * scale + offset. Default: the "
                         "sensor's; without a sensor the Landsat Collection 2 Level-2 values.")
    offset: float = -0.2
    nodata: float | None = Field(0, description="DN marking missing pixels (None: use the file's). "
                                 "Default: the sensor's (0); NaN is always missing.")

    @model_validator(mode="after")
    def _path_or_scenes(self) -> "ImagesConfig":
        if (self.path is None) == (self.scenes is None):
            raise ValueError("give either path (yearly composites) or scenes (a scene folder or STAC catalog), "
                             "not both and not neither")
        if self.scenes is not None and (abs(self.scale - 2.75e-5) > 1e-12 or abs(self.offset + 0.2) > 1e-12):
            raise ValueError(f"with scenes the images stage writes composites in the Landsat Collection 2 scaling "
                             f"(DN x 2.75e-05 - 0.2), but scale/offset are {self.scale:g}/{self.offset:g} (set "
                             f"directly or by sensor = {self.sensor!r}); remove scale, offset and a non-Landsat "
                             f"sensor from [images]")
        m0, m1 = self.season_months
        if not (1 <= m0 <= m1 <= 12):
            raise ValueError(f"season_months {list(self.season_months)} must be two months 1-12, first <= last")
        return self

    @model_validator(mode="before")
    @classmethod
    def _sensor_defaults(cls, data: Any) -> Any:
        """Scale, offset and nodata not given in the file come from the sensor table."""
        if not isinstance(data, dict) or not data.get("sensor"):
            return data
        from .errors import InputError
        from .features.sensors import get_sensor

        try:
            sensor = get_sensor(str(data["sensor"]))
        except InputError as exc:
            raise ValueError(str(exc)) from None
        data = dict(data)
        data["sensor"] = sensor.name
        data.setdefault("scale", sensor.scale)
        data.setdefault("offset", sensor.offset)
        if "nodata" not in data:
            data["nodata"] = sensor.nodata
        return data


class ClimateConfig(_Model):
    """``[climate]``: yearly grids used for the ideal (climate-only) accumulation."""

    temperature: str = Field(..., description="Pattern with {year}: mean annual temperature, deg C.")
    precipitation: str = Field(..., description="Pattern with {year}: annual precipitation, mm.")


class InputsConfig(_Model):
    """``[inputs]``: the other layers and tables a mine brings."""

    dem: str = Field(..., description="Digital elevation model (m), projected CRS.")
    forest_type: str | None = Field(None, description="Pattern with {year}: forest-type map(s) "
                                    "(codes in [forest_type_codes]); at least the base year. Absent: the "
                                    "classify stage makes yearly maps from the images ([classify]).")
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
    """``[plots]``: plot survey, plot AGC and its uncertainty, and the plot layout design.

    Defaults that are not numbers of the standard are this project's choices,
    explained in ``docs/plots.md``.
    """

    min_per_unit: int = Field(3, ge=1, description="Standard: at least 3 plots per assessment unit.")
    allometry: str | None = Field(None, description="User allometry table (same CSV format as the "
                                  "shipped one); default: the shipped verified table.")
    carbon_fractions: dict[str, CarbonFractionOverride] = Field(
        default_factory=dict, description="Carbon fraction per species group where the table has none.")
    dbh_error_cm: float = Field(_PLOTS["dbh_error_cm"], ge=0, le=10, description="SD of the absolute DBH measurement error "
                                "(cm) in the Monte Carlo; our default, measure it on the tally plots.")
    height_error_rel: float = Field(_PLOTS["height_error_rel"], ge=0, le=0.5, description="Relative SD of the height "
                                    "measurement error in the Monte Carlo (0.05 = 5 %); our default.")
    residual_error: bool = Field(True, description="Propagate the equations' residual error where the "
                                 "allometry table gives residual_sd_log.")
    mc_draws: int = Field(_PLOTS["mc_draws"], ge=10, le=100000, description="Monte Carlo draws per plot.")
    mc_seed: int = Field(_PLOTS["mc_seed"], description="Seed of the Monte Carlo (results are reproducible).")
    sample_design: Literal["purposive", "probability"] = Field(
        "purposive", description="How the plots were placed: 'probability' (random or stratified random within "
        "assessment units, e.g. 'minecarbon plots plan') makes the model-assisted unit intervals design-based; "
        "'purposive' labels the same intervals model-based.")
    dbh_out_of_range: Literal["warn", "error"] = _PLOTS["dbh_out_of_range"]
    tree_source: Literal["tally", "tls"] = Field(
        "tally", description="Trees of the plot AGC: 'tally' = the tree table [inputs].trees; 'tls' = plots "
        "with a TLS scan ([inputs].tls) take their scanned trees (the lidar stage's tree list), the other "
        "plots the tree table; the TLS-vs-tally AGC difference is reported per scanned plot.")
    # -- plot layout design (`minecarbon plots plan`) -------------------------
    plan_plot_size_m: float | None = Field(
        None, gt=0, le=1000, description="Side of the planned square plots (m); default: the pixel "
        "size of the project grid (the standard: plots sized to the image pixel).")
    plan_extra_to_be_damaged: int = Field(
        2, ge=0, le=100, description="Plots added in each to-be-damaged unit (the standard asks for "
        "more there; the number is ours).")
    plan_ha_per_plot: float | None = Field(
        None, gt=0, description="Optional: one plot per this many hectares of a unit when that "
        "gives more than min_per_unit.")
    plan_max_per_unit: int = Field(50, ge=1, le=10000, description="Cap on the plots of one unit.")
    plan_edge_margin_m: float = Field(
        15.0, ge=0, le=1000, description="Clearance between a plot square and its unit's edge (m); "
        "units are eroded by half a plot + this margin. Relaxed to 0 where a unit is too small.")
    plan_min_spacing_m: float | None = Field(
        None, gt=0, description="Minimum distance between plot centres in a unit (m); default "
        "3 x plot size. Relaxed (recorded per unit) where a unit cannot hold its plots.")
    plan_restoration: str | None = Field(
        None, description="Optional polygons of land where restoration is planned; plots in damaged "
        "units are placed there. Reclamation features dated after the end year count as planned too.")
    plan_seed: int = Field(0, description="Seed of the plot layout (k-means start, or the random draw).")
    plan_method: Literal["balanced", "random"] = Field(
        "balanced", description="'balanced': plots spread over each unit (k-means; representative, but not a "
        "probability sample); 'random': a stratified random sample (simple random within each unit), whose "
        "model-assisted intervals are design-based (set sample_design = 'probability' for the survey).")

    @model_validator(mode="after")
    def _min_le_max(self) -> "PlotsConfig":
        if self.plan_max_per_unit < self.min_per_unit:
            raise ValueError(f"plan_max_per_unit {self.plan_max_per_unit} is below min_per_unit "
                             f"{self.min_per_unit}")
        return self


class LidarConfig(_Model):
    """``[lidar]``: TLS plot processing and airborne scans (ALS).

    Defaults are this project's choices, explained in ``docs/lidar.md``.
    """

    scan_positions: str | None = Field(
        None, description="Optional CSV: plot_id, centre_x_m, centre_y_m (the plot centre in the scan "
        "frame, m; default 0, 0: scanner at the centre), rotation_deg (clockwise angle from the scan's +y "
        "axis to grid north; default 0: scan oriented to north). Plots not listed take the defaults.")
    ground_method: Literal["csf", "pmf"] = Field("csf", description="Ground filter of the TLS scans: cloth "
                                                 "simulation (csf) or progressive morphological filter (pmf).")
    breast_band_m: tuple[float, float] = Field(
        (1.0, 1.6), description="Height band (m above ground) in which stems are detected and DBH is fitted.")
    dbh_min_cm: float = Field(4.0, gt=0, le=50, description="Smallest stem diameter accepted (cm).")
    als: str | None = Field(None, description="Glob of airborne scans (LAS/LAZ tiles, projected CRS in "
                            "metres: the header's or the project's). Gives a CHM, treetops and canopy "
                            "metrics on the project grid.")
    chm_resolution_m: float = Field(0.5, gt=0, le=10, description="CHM cell size (m).")
    pit_fill_threshold_m: float = Field(1.0, gt=0, description="A CHM cell this much below its 3x3 median "
                                        "is a pit and is filled.")
    treetop_window_slope: float = Field(0.07, ge=0, description="Treetop window radius = slope * h + "
                                        "intercept (m).")
    treetop_window_intercept: float = Field(0.8, ge=0, description="See treetop_window_slope (m).")
    treetop_min_height_m: float = Field(2.0, ge=0, description="Lowest CHM height of a treetop (m).")
    canopy_metrics: list[str] = Field(
        default_factory=lambda: ["max", "mean", "std", "p25", "p50", "p75", "p95", "cover_2m"],
        description="Canopy metrics of the ALS returns per pixel of the project grid and per plot "
        "(max, mean, std, count, cover_2m, pXX).")
    cover_threshold_m: float = Field(2.0, gt=0, description="Height (m) above which a first return counts "
                                     "as canopy for cover_2m.")

    @model_validator(mode="after")
    def _band_order(self) -> "LidarConfig":
        lo, hi = self.breast_band_m
        if not 0.3 <= lo < 1.3 < hi <= 3.0:
            raise ValueError(f"breast_band_m ({lo}, {hi}) must contain 1.3 m and lie within 0.3-3.0 m")
        return self


class FeaturesConfig(_Model):
    """``[features]``: remote-sensing feature variables (Appendix A); see ``docs/features.md``.

    Defaults keep a small stack (6 bands, 6 indices, 3 terrain variables);
    tasseled cap, texture and canopy layers are switched on by listing them.
    """

    bands: list[str] = Field(default_factory=lambda: ["blue", "green", "red", "nir", "swir1", "swir2"],
                             description="Reflectance bands (common names) included as features.")
    indices: list[str] = Field(default_factory=lambda: ["NDVI", "RVI", "EVI", "SAVI", "NDMI", "NBR"],
                               description="Spectral indices (names of data/spectral_indices.csv).")
    tasseled_cap: list[str] = Field(default_factory=list, description="Any of TCB, TCG, TCW (brightness, "
                                    "greenness, wetness), TCA (angle, rad), TCD (distance), DI (Healey "
                                    "disturbance index). Empty: no tasseled cap.")
    tasseled_cap_coefficients: str = Field("auto", description="Coefficient set (baig2014, huang2002, "
                                           "crist1985, shi_xu2019, nedkov2017) or 'auto' (the sensor's).")
    texture_bands: list[str] = Field(default_factory=list, description="Layers that get GLCM texture: "
                                     "common band names (nir) or index names (NDVI). Empty: no texture.")
    texture_measures: list[str] = Field(
        default_factory=lambda: ["mean", "variance", "homogeneity", "contrast", "dissimilarity", "entropy",
                                 "second_moment", "correlation"],
        description="GLCM measures (the 8 ENVI co-occurrence measures).")
    texture_window: int = Field(7, ge=3, le=31, description="GLCM moving window (odd, pixels).")
    texture_levels: int = Field(32, ge=2, le=256, description="GLCM grey levels.")
    texture_distance: int = Field(1, ge=1, le=30, description="GLCM pair distance (pixels); the 4 "
                                  "directions 0/45/90/135 degrees are averaged.")
    texture_range: tuple[float, float] | None = Field(
        None, description="Fixed (min, max) for the grey-level quantisation of every texture layer, so "
        "that years are comparable (e.g. [0.0, 0.6] for reflectance). Default: per-scene percentiles.")
    texture_percentiles: tuple[float, float] = Field(
        (2.0, 98.0), description="Percentiles of the layer used as quantisation range without texture_range.")
    terrain: list[str] = Field(default_factory=lambda: ["elevation", "slope", "aspect_cos"],
                               description="Terrain variables: elevation, slope, aspect, aspect_sin, "
                               "aspect_cos, tpi, tri, roughness, curvature, plan_curvature, profile_curvature.")
    canopy: list[str] = Field(default_factory=list, description="Canopy-structure rasters (e.g. the lidar "
                              "stage's CHM / canopy metrics); every band is added under its description, "
                              "averaged onto the project grid when finer.")
    lidar_canopy: bool = Field(False, description="Add the lidar stage's ALS canopy metrics ([lidar].als) "
                               "to the feature stack. ALS is one date: the same values serve every year.")
    qa_mask: bool = Field(True, description="Mask clouds, shadows and fill with the image's QA_PIXEL / SCL "
                          "band when it has one.")
    mask_snow: bool = Field(True, description="Also mask snow with the QA band.")
    normalize: Literal["gain", "none"] = Field(
        "gain", description="Relative radiometric normalisation of every year's reflectance to the reference "
        "year on pseudo-invariant pixels (non-forest in the base and end years, outside every disturbance, "
        "planned and reclamation polygon): 'gain' divides each band by its robust gain; 'none' leaves the "
        "images as they are. Gains are written to normalization.csv.")
    normalize_reference_year: int | None = Field(
        None, description="Year whose radiometry the others are brought to (default: the base year).")

    @model_validator(mode="after")
    def _names(self) -> "FeaturesConfig":
        from .features.indices import index_table
        from .features.tasseled_cap import TC_VARIABLES, coefficient_sets
        from .features.terrain import TERRAIN
        from .features.texture import MEASURES

        problems = []
        for key, values, known in (("indices", [v.upper() for v in self.indices], list(index_table())),
                                   ("tasseled_cap", self.tasseled_cap, TC_VARIABLES),
                                   ("texture_measures", self.texture_measures, MEASURES),
                                   ("terrain", self.terrain, TERRAIN)):
            bad = [v for v in values if v not in known]
            if bad:
                problems.append(f"{key}: unknown {', '.join(bad)} (known: {', '.join(known)})")
        sets = ["auto", *coefficient_sets()]
        if self.tasseled_cap_coefficients not in sets:
            problems.append(f"tasseled_cap_coefficients: unknown {self.tasseled_cap_coefficients!r} "
                            f"(known: {', '.join(sets)})")
        if self.texture_window % 2 == 0:
            problems.append(f"texture_window {self.texture_window} must be odd")
        if self.texture_distance >= self.texture_window:
            problems.append(f"texture_distance {self.texture_distance} must be smaller than texture_window")
        lo, hi = self.texture_percentiles
        if not 0 <= lo < hi <= 100:
            problems.append(f"texture_percentiles {self.texture_percentiles} must satisfy 0 <= low < high <= 100")
        if self.texture_range is not None and not self.texture_range[1] > self.texture_range[0]:
            problems.append(f"texture_range {self.texture_range} must have max > min")
        if problems:
            raise ValueError("; ".join(problems))
        return self


LearnerName = Literal["svm", "rf", "gbdt", "xgb", "mlr"]


class ModelConfig(_Model):
    """``[model]``: AGC models, their evaluation and the maps' uncertainty (see ``docs/model.md``).

    Defaults keep the demo (``small`` area) fast on two cores: small grids, one
    CV repeat, 100 trees.  Numbers here are this project's choices; the
    standard names the learners, k-fold CV and grid search but gives no values.
    """

    learners: list[LearnerName] = Field(
        default_factory=lambda: list(_MODEL["learners"]),
        description="Learners compared (svm, rf, gbdt, xgb; mlr = multiple linear regression baseline).")
    learner: LearnerName | None = Field(None, description="Shortcut for a single learner (learners = [learner]).")
    n_estimators: int = Field(_MODEL["n_estimators"], ge=10, le=5000, description="Trees of rf, gbdt and xgb.")
    selection: Literal["none", "correlation", "rf_importance", "permutation", "pca"] = Field(
        "correlation", description="Feature selection inside every CV fold (Appendix C): correlation with AGC + "
        "collinearity pruning, random-forest impurity or permutation importance, PCA, or none.")
    max_collinearity: float = Field(0.9, gt=0, le=1, description="correlation: drop a feature whose |r| with a "
                                    "kept, more AGC-correlated feature exceeds this.")
    min_abs_r: float = Field(0.0, ge=0, lt=1, description="correlation: drop features with |r| with AGC below this.")
    max_features: int | None = Field(None, ge=1, description="Keep at most this many features (importance "
                                     "selections: default 8).")
    pca_variance: float = Field(0.95, gt=0, le=1, description="pca: share of variance the components keep.")
    grid_search: bool = Field(True, description="Nested grid search of hyper-parameters.")
    grids: dict[LearnerName, dict[str, list[float | int | str | bool | None]]] = Field(
        default_factory=dict, description="Replace a learner's grid, e.g. [model.grids.svm] C = [1, 10, 100]. "
        "Keys are the learner's own parameters (scikit-learn / xgboost names).")
    cv_folds: int = Field(_MODEL["cv_folds"], ge=2, le=20, description="Outer cross-validation folds (k).")
    cv_repeats: int = Field(_MODEL["cv_repeats"], ge=1, le=50, description="Repeats of the k-fold CV with new fold assignments.")
    cv_inner_folds: int = Field(_MODEL["cv_inner_folds"], ge=2, le=10, description="Folds of the inner (tuning) CV.")
    cv_scheme: Literal["spatial", "random"] = Field("spatial", description="spatial: plots grouped in blocks that "
                                                     "never straddle train/test; random: plain shuffled k-fold.")
    cv_block_m: float = Field(_MODEL["cv_block_m"], gt=0, description="Side of the spatial CV blocks (m).")
    cv_link_m: float = Field(100.0, ge=0, description="Plots closer than this (m) always share a fold.")
    per_type: bool = Field(True, description="Choose a model per forest type (else one pooled model).")
    groups: Literal["forest_type", "species"] = Field(
        "forest_type", description="What 'per type' means: the forest type (default), or the dominant species "
        "of the classify stage's maps (species groups; needs [classify], docs/classify.md).")
    min_plots_per_type: int = Field(_MODEL["min_plots_per_type"], ge=2, description="A forest type with fewer plots uses the pooled model "
                                    "(with a warning).")
    own_model_margin_se: float = Field(
        1.0, ge=0, description="A forest type gets its own model only if its cross-validated MSE beats the best "
        "pooled model's by more than this many standard errors of the paired difference (one-SE rule); 0: the "
        "lowest CV RMSE wins outright.")
    nonforest_in_units: Literal["own", "pooled", "nodata"] = Field(
        "own", description="Pixels of a forest assessment unit that the year's forest-type map calls non-forest "
        "(cleared, or young reclaimed stands not yet classed as forest): 'own' lets non-forest have a model of its "
        "own (chosen like a forest type's), with the map brought up to date by the disturbance and reclamation "
        "layers (cleared -> non-forest; reclaimed -> the pooled model); 'pooled' maps them with the pooled model "
        "(trained on all plots, non-forest plots included), 'nodata' leaves them empty.")
    uncertainty: Literal["cv_residual", "none"] = Field(
        "cv_residual", description="Per-pixel uncertainty: a model of the cross-validated residuals, or none.")
    interval: float = Field(0.9, gt=0.5, lt=1, description="Level of the per-pixel prediction interval.")
    calibration: Literal["inverse", "none"] = Field(
        "inverse", description="Inverse (classical) calibration of the maps on the plots' out-of-fold "
        "predictions, so that the maps do not shrink toward the plots' mean and change is not attenuated "
        "(docs/model.md); 'none' maps the models' predictions as they are.")
    year_adjustment: Literal["ratio", "none"] = Field(
        "ratio", description="Scale each survey year's map so that it matches that year's plots at the plots "
        "(ratio of plot AGC to map AGC at the plots; interpolated between survey years, held beyond them): "
        "removes year-specific radiometric and phenological offsets that the models cannot see (docs/model.md).")
    temporal_filter_years: int = Field(
        5, ge=0, le=15, description="Per-pixel running median over this many years (odd; 0 or 1: off): removes "
        "one-year shocks (wet or dry summers, haze) while keeping steps and linear trends (docs/model.md).")

    @field_validator("temporal_filter_years")
    @classmethod
    def _odd_window(cls, v: int) -> int:
        if v > 1 and v % 2 == 0:
            raise ValueError(f"temporal_filter_years must be odd (a window centred on each year), got {v}")
        return v
    seed: int = Field(_MODEL["seed"], description="Seeds folds and learners (results are reproducible).")
    n_jobs: int = Field(-1, description="Worker processes for the cross-validation and grid-search fits "
                        "(-1: all cores; 1: in the run's process); results do not depend on it.")

    @model_validator(mode="after")
    def _check(self) -> "ModelConfig":
        problems = []
        if len(set(self.learners)) != len(self.learners) or not self.learners:
            problems.append(f"learners {self.learners} must be a non-empty list without repeats")
        if self.cv_inner_folds > self.cv_folds:
            problems.append(f"cv_inner_folds {self.cv_inner_folds} must not exceed cv_folds {self.cv_folds}")
        if self.grids:
            from .model.learners import make_learner

            for name, grid in self.grids.items():
                known = make_learner(name).get_params()
                bad = [k for k in grid if k not in known]
                if bad:
                    problems.append(f"grids.{name}: unknown parameter(s) {', '.join(bad)} (e.g. "
                                    f"{', '.join(sorted(known)[:8])})")
                empty = [k for k, v in grid.items() if not v]
                if empty:
                    problems.append(f"grids.{name}: empty value list for {', '.join(empty)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def learner_list(self) -> list[str]:
        """The learners to compare (``learner`` overrides ``learners``)."""
        return [self.learner] if self.learner else list(self.learners)


class AssessConfig(_Model):
    """``[assess]``: the assessment (the standard, section 5).

    Defaults that are not numbers of the standard are this project's choices,
    explained in ``docs/assessment.md``.
    """

    reference_year: int | None = Field(None, description="Default: base year.")
    compare_year: int | None = Field(None, description="Default: end year.")
    degree_min_agc_t_ha: float = Field(_ASSESS["degree_min_agc_t_ha"], ge=0, description="Change degree is nodata where the "
                                       "reference AGC is below this (avoids division by ~0).")
    # -- trend (Sen + Mann-Kendall) -------------------------------------------
    trend_alpha: float = Field(_ASSESS["trend_alpha"], gt=0, lt=1, description="Significance level of the Mann-Kendall "
                               "test for the trend classes.")
    trend_stable_slope_t_ha_yr: float = Field(
        _ASSESS["trend_stable_slope_t_ha_yr"], ge=0, description="Half-width of the 'stable' Sen-slope band (t C/ha/yr); 0 = only a zero "
        "slope is stable. A site choice; the standard gives none.")
    trend_min_years: int = Field(_ASSESS["trend_min_years"], ge=3, description="Pixels with fewer valid years get no trend.")
    # -- cumulative effect -----------------------------------------------------
    cumulative_start_year: int | None = Field(None, description="Start of the cumulative-effect period "
                                              "(default: reference_year).")
    cumulative_end_year: int | None = Field(None, description="End of the period (default: compare_year).")
    cumulative_model: Literal["increment", "level"] = Field(
        "increment", description="MLR of the annual AGC increment (default) or of the AGC level on climate.")
    cumulative_fit: Literal["forest_type", "pooled", "pixel"] = Field(
        "forest_type", description="One MLR per forest type (default), one pooled, or per pixel.")
    cumulative_state_term: bool = Field(
        True, description="Increment model: include the previous year's AGC as a regressor.")
    cumulative_covariates: dict[str, str] = Field(
        default_factory=dict, description="Extra yearly covariates for the MLR: name -> path pattern "
        "with {year} (rasters on any grid; aligned bilinearly).")
    effect_classes: int = Field(5, ge=2, le=9, description="Natural-breaks classes of the cumulative effect "
                                "(the standard: 5).")
    effect_grading: Literal["jenks", "signed"] = Field(
        "jenks", description="'jenks': natural breaks of the effect values (the guide's wording); 'signed': "
        "natural breaks of |effect|, split by sign, so the middle grade always holds 0.")
    # -- hot spots -------------------------------------------------------------
    hotspot_window: int = Field(3, ge=1, le=101, description="Gi* neighbourhood: odd square window (pixels); "
                                "used unless hotspot_distance_m is set.")
    hotspot_distance_m: float | None = Field(None, gt=0, description="Gi* neighbourhood: distance band (m, "
                                             "centre to centre, inclusive).")
    hotspot_fdr: bool = Field(False, description="Benjamini-Hochberg FDR control of the Gi* bins.")
    # -- zones -----------------------------------------------------------------
    zones: str | None = Field(None, description="Optional extra zone layer (polygons) for zonal statistics.")
    zones_field: str | None = Field(None, description="Attribute naming the zones of [assess].zones "
                                    "(default: one zone per polygon).")
    zonal_all_touched: bool = Field(False, description="User zones: count every pixel a polygon touches "
                                    "(default: pixel centre inside).")

    @model_validator(mode="after")
    def _check(self) -> "AssessConfig":
        if self.hotspot_window % 2 == 0:
            raise ValueError(f"hotspot_window must be odd, not {self.hotspot_window}")
        if (self.cumulative_start_year is not None and self.cumulative_end_year is not None
                and self.cumulative_end_year <= self.cumulative_start_year):
            raise ValueError(f"cumulative_end_year {self.cumulative_end_year} must be after "
                             f"cumulative_start_year {self.cumulative_start_year}")
        return self


class RunConfig(_Model):
    """``[run]``: execution."""

    scheduler: str = Field("threads", description="threads, processes, synchronous, local:N (LocalCluster of N "
                           "worker processes) or tcp://HOST:PORT (dask.distributed)")
    chunk_px: int = Field(512, ge=64, le=8192, description="Dask chunk size (pixels per side).")


PLAUSIBILITY_CODES = {
    "reflectance-scale": "an image's median reflectance (DN x [images].scale + offset) is outside 0-1",
    "dem-values": "DEM values outside -500 .. 9000 m",
    "climate-units": "a temperature grid not in deg C or a precipitation grid not in mm per year",
    "non-finite": "a raster holds +inf or -inf pixels that are not its nodata",
    "invalid-geometry": "the boundary has an invalid (e.g. self-intersecting) polygon",
    "empty-first-layer": "a vector file's first layer, the one read, is empty while another layer has features",
    "tls-plausibility": "a TLS plot's scanned trees differ from its tally by a factor (feet, a cut scan) or are "
                        "implausibly large (checked by the lidar stage)",
}
"""Plausibility warnings of ``minecarbon check`` that would make the numbers meaningless.

``minecarbon run`` treats each as an error unless ``[check].accept`` lists it
(see ``docs/check.md``)."""


class CheckConfig(_Model):
    """``[check]``: plausibility warnings the user has looked at and accepts."""

    accept: list[str] = Field(
        default_factory=list,
        description="Plausibility warnings of 'minecarbon check' that 'run' should let pass (it stops on "
        "them otherwise): any of " + ", ".join(PLAUSIBILITY_CODES) + ". Accept one only after checking "
        "that the data are right.")

    @model_validator(mode="after")
    def _known(self) -> "CheckConfig":
        unknown = [c for c in self.accept if c not in PLAUSIBILITY_CODES]
        if unknown:
            raise ValueError(f"unknown warning name(s) {', '.join(map(repr, unknown))} in accept; known: "
                             f"{', '.join(PLAUSIBILITY_CODES)}")
        return self


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


class ClassifyConfig(_Model):
    """``[classify]``: forest / leaf-habit / dominant-species maps from the images (standard section 4.3;
    ``docs/classify.md``). Used when ``[inputs].forest_type`` is absent, or beside it with ``run = "always"``."""

    run: Literal["auto", "always"] = Field(
        "auto", description="'auto': classify only when [inputs].forest_type is absent; 'always': also beside "
        "given forest-type maps, for comparison (the other stages keep reading the given maps).")
    series: str | None = Field(None, description="Pattern with {year} and {month} (01-12): monthly surface-"
                               "reflectance composites of every year, clouds as nodata, bands as [images].")
    years: list[int] | None = Field(
        None, description="Classify only these project years (maps, and samples of these years; default every "
        "year). Only beside given forest-type maps ([inputs].forest_type): the other stages need a map of every "
        "year. For comparisons and benchmarks on big scenes: series are needed of these years only.")
    samples: str | None = Field(None, description="Labelled points (GeoPackage/shapefile): 'year' and 'label' "
                                "(a species of species_codes by code, Chinese or Latin name, or 'nonforest'). "
                                "The plots count as samples of their dominant species.")
    validation: str | None = Field(
        None, description="Optional independent validation points (GeoPackage/shapefile; 'year' and 'label' as "
        "samples), e.g. a simple random sample of the monitoring area: the written maps are read at them "
        "(validation_accuracy.csv, validation_confusion.csv) and area_estimates.csv comes from them (Olofsson et "
        "al. 2014 stratified estimator). Must not share a pixel and year with the samples or plots.")
    species_codes: str | None = Field(None, description="CSV code, name_zh, name_latin of the dominant species "
                                      "(codes written to the species maps).")
    evergreen: list[str] = Field(default_factory=list, description="Evergreen species (code or name); the "
                                 "others are deciduous (the leaf-habit level splits the species by it).")
    leaf_off_month: int = Field(1, ge=1, le=12, description="Month of the leaf-off composite (RVI, unmixing).")
    leaf_on_month: int = Field(7, ge=1, le=12, description="Month of the leaf-on composite (green endmember).")
    min_clear: int = Field(4, ge=1, le=12, description="Pixels with fewer clear monthly observations in a year "
                           "are flagged (no class).")
    n_estimators: int = Field(100, ge=10, le=2000, description="Trees per random forest.")
    species_learner: Literal["rf", "lda_rf"] = Field(
        "lda_rf", description="Species level: balanced random forest ('rf') or the forest on the features plus "
        "their linear discriminants ('lda_rf'; docs/classify.md).")
    terrain: bool = Field(
        True, description="Add the terrain of [inputs].dem (elevation, slope, aspect sine and cosine) to the "
        "species features: ancillary data, species distributions follow elevation and aspect (docs/classify.md).")
    folds: int = Field(5, ge=2, le=20, description="Cross-validation folds.")
    block_m: float = Field(1000.0, gt=0, description="Side of the square blocks of spatially blocked CV (m).")
    min_per_class: int = Field(5, ge=2, description="A class with fewer samples is an error (drop or add samples).")
    seed: int = Field(0, description="Seeds folds and forests (results are reproducible).")


class ReportConfig(_Model):
    """``[report]``: the monitoring report (Appendix E) and the monitoring database (see ``docs/report.md``)."""

    languages: list[Literal["zh", "en"]] = Field(
        default_factory=lambda: ["zh", "en"], min_length=1,
        description="Languages of the report; [project].language is the main one (report.<format>).")
    formats: list[Literal["html", "pdf", "docx"]] = Field(
        default_factory=lambda: ["html", "pdf", "docx"], min_length=1,
        description="html (self-contained, opens offline), pdf, docx (editable in Word).")
    map_years: list[int] | None = Field(
        None, description="Years shown as AGC maps (default: reference year, middle year, compare year).")
    advice_min_share_pct: float = Field(
        10.0, ge=0, le=100, description="A zoning-advice rule fires for a unit when at least this share "
        "of its area meets the rule's condition (our choice; see docs/report.md).")
    font: str | None = Field(
        None, description="A font file with Chinese glyphs (OTF/TTF/TTC) for figures and PDF. Default: the "
        "Noto Sans CJK SC of the package noto-cjk-sans-otc, else a system font (Noto Sans CJK / Source Han "
        "Sans / WenQuanYi).")
    embed_font: bool = Field(True, description="Embed the subset of the CJK font that the HTML report "
                             "uses, so that Chinese renders on machines without Chinese fonts.")
    archive: Literal["reference", "copy"] = Field(
        "reference", description="Monitoring database: raw inputs are referenced in place (checksums "
        "recorded) or copied read-only into <workspace>/catalog/archive/.")


class CatalogConfig(_Model):
    """``[catalog]``: where the monitoring database lives (see ``docs/report.md``, "Monitoring database")."""

    url: str | None = Field(
        None, description="A PostgreSQL/PostGIS database that also receives the catalog "
        "('postgresql://user@host:5432/dbname'; several projects share one database, one schema each). "
        "Passwords are read from the environment (PGPASSWORD) or ~/.pgpass, never from this file. "
        "Default: only the GeoPackage <workspace>/catalog/catalog.gpkg.")
    project: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="Key of this project in the shared database (schema mc_<key>): lower-case letters, "
        "digits and _. Default: made from [project].name.")
    read_role: str | None = Field(
        None, pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="An existing database role that is granted read-only access (SELECT) to this "
        "project's tables and to the cross-project views, e.g. for QGIS users.")

    @model_validator(mode="after")
    def _no_password(self) -> "CatalogConfig":
        if self.url is None:
            return self
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ValueError(f"url must start with postgresql:// (got {parts.scheme or 'no scheme'}://)")
        if parts.password is not None or "password=" in parts.query.lower():
            raise ValueError("url must not contain a password (it would be written to the run records); "
                             "put it in ~/.pgpass or the PGPASSWORD environment variable")
        return self


class ProjectConfig(_Model):
    """A whole project file, validated.  ``root`` is the folder of the file."""

    project: ProjectInfo
    area: AreaConfig
    images: ImagesConfig
    climate: ClimateConfig
    inputs: InputsConfig
    forest_type_codes: ForestCodes = Field(default_factory=ForestCodes)
    classify: ClassifyConfig = Field(default_factory=ClassifyConfig)
    plots: PlotsConfig = Field(default_factory=PlotsConfig)
    lidar: LidarConfig = Field(default_factory=LidarConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    assess: AssessConfig = Field(default_factory=AssessConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    check: CheckConfig = Field(default_factory=CheckConfig)
    root: Path = Field(Path("."), exclude=True)

    @model_validator(mode="after")
    def _lidar_inputs(self) -> "ProjectConfig":
        if self.images.scenes is not None and self.images.path is None:  # the images stage writes them
            from .composite.project import COMPOSITE_PATTERN

            path = (self.workspace / "outputs" / "images" / COMPOSITE_PATTERN).as_posix()
            object.__setattr__(self, "images", self.images.model_copy(update={"path": path}))
        if self.plots.tree_source == "tls" and not self.inputs.tls:
            raise ValueError("[plots].tree_source = \"tls\" needs the TLS scans: set [inputs].tls (a glob of "
                             "<plot_id>.laz files), or use tree_source = \"tally\"")
        if self.features.lidar_canopy and not self.lidar.als:
            raise ValueError("[features].lidar_canopy = true needs airborne scans: set [lidar].als (a glob of "
                             "LAS/LAZ tiles), or set lidar_canopy = false")
        if self.model.groups == "species" and not (self.classify.series and self.classify.samples):
            raise ValueError("[model].groups = \"species\" uses the classify stage's dominant-species maps: set "
                             "[classify].series and [classify].samples (docs/classify.md), or groups = "
                             "\"forest_type\"")
        cy = self.classify.years
        if cy is not None and (not cy or not set(cy) <= set(self.project.years)):
            raise ValueError(f"[classify].years {cy} must be years of the project "
                             f"({self.project.start_year}-{self.project.end_year})")
        if cy is not None and not self.inputs.forest_type and set(cy) != set(self.project.years):
            raise ValueError("[classify].years leaves out project years, but without [inputs].forest_type the "
                             "classify stage makes the forest-type maps of every year that the other stages read: "
                             "remove [classify].years, or give the maps in [inputs].forest_type")
        if not self.inputs.forest_type and not (self.classify.series and self.classify.samples):
            raise ValueError("without [inputs].forest_type the classify stage makes the forest-type maps: set "
                             "[classify].series (monthly composites) and [classify].samples (labelled points), or "
                             "give the maps in [inputs].forest_type")
        clash = self.workspace_in_input_folder()
        if clash:
            raise ValueError(f"workspace {self.project.workspace!r} is inside the folder {clash[1]} of the input "
                             f"{clash[0]}: outputs must never be written among the inputs. Set [project].workspace "
                             f"to a folder of its own, e.g. \"workspace\"")
        return self

    def workspace_in_input_folder(self) -> tuple[str, Path] | None:
        """(input key, folder) when the workspace is an input's folder or lies inside one, else None.

        Folders that hold the project file (or lie above it) are not counted:
        inputs beside the project file are allowed, and so is a project
        folder inside a data folder.
        """
        root = Path(self.root).resolve()
        ws = self.workspace.resolve()
        for key, value in self._declared_inputs():
            folder = self.path(value.split("{", 1)[0] + "x").parent if "{" in value else self.path(value).parent
            while any(ch in folder.name for ch in "*?["):  # a glob: its fixed folder
                folder = folder.parent
            folder = folder.resolve()
            if root == folder or root.is_relative_to(folder):
                continue
            if ws == folder or ws.is_relative_to(folder):
                return key, folder
        return None

    def _declared_inputs(self) -> list[tuple[str, str]]:
        pairs = [("[area].boundary", self.area.boundary), ("[images].path", self.images.path),
                 ("[images].scenes", self.images.scenes),
                 ("[climate].temperature", self.climate.temperature),
                 ("[climate].precipitation", self.climate.precipitation)]
        pairs += [(f"[inputs].{k}", v) for k, v in self.inputs.model_dump().items()]
        pairs += [("[plots].allometry", self.plots.allometry), ("[lidar].als", self.lidar.als),
                  ("[lidar].scan_positions", self.lidar.scan_positions), ("[assess].zones", self.assess.zones),
                  ("[classify].series", self.classify.series), ("[classify].samples", self.classify.samples),
                  ("[classify].validation", self.classify.validation),
                  ("[classify].species_codes", self.classify.species_codes)]
        pairs += [("[features].canopy", c) for c in self.features.canopy]
        return [(k, v) for k, v in pairs if isinstance(v, str) and v]

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

    def series_path(self, year: int, month: int) -> Path:
        """The monthly composite of ``[classify].series`` (a ``{year}`` and ``{month}`` pattern; month 01-12)."""
        return self.year_path(str(self.classify.series).replace("{month}", f"{month:02d}"), year)

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
                  "plots.allometry": self.plots.allometry, "assess.zones": self.assess.zones,
                  "lidar.scan_positions": self.lidar.scan_positions, "classify.samples": self.classify.samples,
                  "classify.validation": self.classify.validation,
                  "classify.species_codes": self.classify.species_codes}
        for key, val in single.items():
            if val is not None:
                out[key] = self.path(val)  # type: ignore[assignment]
        patterns = {"images.path": self.images.path, "climate.temperature": self.climate.temperature,
                    "climate.precipitation": self.climate.precipitation,
                    "inputs.forest_type": self.inputs.forest_type}
        for key, pat in patterns.items():
            if not pat:
                continue
            for y in self.project.years:
                p = self.year_path(pat, y)
                if p.exists():
                    out[f"{key}[{y}]"] = p
        if self.classify.series:
            for y in self.project.years:
                for m in range(1, 13):
                    p = self.series_path(y, m)
                    if p.exists():
                        out[f"classify.series[{y}-{m:02d}]"] = p
        for name, pat in sorted(self.assess.cumulative_covariates.items()):
            for y in self.project.years:
                p = self.year_path(pat, y)
                if p.exists():
                    out[f"assess.cumulative_covariates[{name}][{y}]"] = p
        for i, val in enumerate(self.features.canopy):
            out[f"features.canopy[{i}]"] = self.path(val)  # type: ignore[assignment]
        if self.inputs.tls:
            for p in self._glob(self.inputs.tls):
                out[f"inputs.tls[{p.stem}]"] = p
        if self.lidar.als:
            for p in self._glob(self.lidar.als):
                out[f"lidar.als[{p.name}]"] = p
        return out

    def _glob(self, pattern: str) -> list[Path]:
        """Files matching a glob pattern (relative to the project folder, or absolute)."""
        if Path(pattern).is_absolute():
            return sorted(p for p in Path("/").glob(pattern.lstrip("/")) if p.is_file())
        return sorted(p for p in self.root.glob(pattern) if p.is_file())

    def settings_json(self) -> str:
        """The resolved settings as canonical JSON (for provenance and up-to-date checks)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    @property
    def reference_year(self) -> int:
        return self.assess.reference_year or self.project.base

    @property
    def compare_year(self) -> int:
        return self.assess.compare_year or self.project.end_year


CLIMATE_NAMES = ("temperature_c", "precipitation_mm")
"""Names of the [climate] regressors of the cumulative-effect model (stage ``assess``)."""


def settings_problems(cfg: ProjectConfig, file: str = "minecarbon.toml") -> list[Problem]:
    """The rules between settings that the schema of each section cannot judge (errors only).

    :func:`load_config` raises on them (so ``run`` enforces them) and
    :func:`minecarbon.check.check_project` lists them with the problems of the
    inputs.  Advice (warnings) stays in ``check``.
    """
    out: list[Problem] = []

    def add(where: str, message: str, fix: str) -> None:
        out.append(Problem(file, where, message, fix))

    if cfg.project.crs is not None:
        from pyproj import CRS

        try:
            crs = CRS.from_user_input(cfg.project.crs)
        except Exception as exc:  # noqa: BLE001 - pyproj raises CRSError with GDAL text
            add("[project].crs", f"{cfg.project.crs!r} is not a known CRS ({' '.join(str(exc).split())})",
                "Give an EPSG code such as 'EPSG:32649' (WGS 84 / UTM zone 49N).")
        else:
            if not crs.is_projected:
                add("[project].crs", f"{cfg.project.crs!r} is not a projected CRS (units are not metres)",
                    "Use a projected CRS in metres, e.g. the UTM zone of the mine ('EPSG:32649' for 108-114 deg E) "
                    "or a CGCS2000 Gauss-Kruger zone.")
    years = cfg.project.years
    y0, y1 = years[0], years[-1]
    for key in ("reference_year", "compare_year"):
        val = getattr(cfg.assess, key)
        if val is not None and val not in years:
            add(f"[assess].{key}", f"{key} {val} is outside the monitoring period {y0}-{y1}",
                f"Choose a year in {y0}-{y1} or widen [project].start_year/end_year.")
    if cfg.reference_year >= cfg.compare_year:
        add("[assess]", f"the reference year {cfg.reference_year} is not before the comparison year "
            f"{cfg.compare_year}; there is no change to assess", "Set [assess].reference_year earlier than "
            "[assess].compare_year (defaults: base year and end year).")
    if "{year}" not in cfg.images.path and len(years) > 1:
        add("[images].path", f"the image path {cfg.images.path!r} has no {{year}}, so every year would use the same "
            f"image", "Name one composite per year, e.g. 'images/sr_{year}.tif'.")
    a = cfg.assess
    for key, val, default in (("cumulative_start_year", a.cumulative_start_year, "reference_year"),
                              ("cumulative_end_year", a.cumulative_end_year, "compare_year")):
        if val is not None and not y0 <= val <= y1:
            add(f"[assess].{key}", f"{key} {val} is outside the monitoring period {y0}-{y1}",
                f"Choose a year in {y0}-{y1}, or remove the key (default: {default}).")
    c0 = a.cumulative_start_year or cfg.reference_year
    c1 = a.cumulative_end_year or cfg.compare_year
    explicit = a.cumulative_start_year is not None or a.cumulative_end_year is not None
    if explicit and y0 <= c0 <= y1 and y0 <= c1 <= y1 and c0 >= c1:
        add("[assess].cumulative_start_year", f"the cumulative-effect period {c0}-{c1} is empty (its start is not "
            f"before its end)", "Set cumulative_start_year before cumulative_end_year (defaults: the reference and "
            "the comparison year).")
    for name in a.cumulative_covariates:
        if name in CLIMATE_NAMES:
            add(f"[assess].cumulative_covariates.{name}", f"the covariate name {name!r} is the name of the [climate] "
                f"regressor, which it would silently replace", "Give the covariate another name (e.g. 'pet_mm').")
    by_code: dict[int, list[str]] = {}
    for name, code in cfg.forest_type_codes.model_dump().items():
        by_code.setdefault(code, []).append(name)
    for code, names in by_code.items():
        if len(names) > 1:
            add("[forest_type_codes]", f"code {code} is given to {' and '.join(names)}; the forest types could not "
                f"be told apart (maps, per-type models and statistics would mix them)",
                "Give each type its own code, as in the legend of the forest-type map.")
    return out


_FIXES = {"missing": "Add it.",
          "extra_forbidden": "Remove it or check its spelling (see docs/design.md, 'Project file')."}


def _schema_problems(file: str, exc: ValidationError) -> list[Problem]:
    """pydantic's errors as problems: where from the error's location, no text parsing."""
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        where = (f"[{loc[0]}]" + ("." + ".".join(loc[1:]) if len(loc) > 1 else "")) if loc else "(top level)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        out.append(Problem(file, where, msg, _FIXES.get(err["type"], "Correct the value.")))
    return out


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_TOML_AT_EOF = re.compile(r"\s*\(at end of document\)")


def _toml_problem(file: str, exc: Exception) -> Problem:
    """A TOML syntax error as a problem; tomllib gives the position only in its message."""
    detail, where = str(exc).rstrip(". "), "(file)"
    if (m := _TOML_AT.search(detail)) is not None:
        where, detail = f"line {m.group(1)}, column {m.group(2)}", _TOML_AT.sub("", detail)
    elif _TOML_AT_EOF.search(detail):
        where, detail = "end of file", _TOML_AT_EOF.sub("", detail)
    return Problem(file, where, f"not valid TOML: {detail}", "Fix the TOML syntax there (quotes around text, '=' "
                   "between key and value, [section] headers).")


def load_config(path: str | Path, settings: bool = True) -> ProjectConfig:
    """Read and validate a project file.

    ``settings=False`` skips the rules between settings
    (:func:`settings_problems`); ``check`` lists those with the inputs' problems.

    Raises
    ------
    MissingInputError
        The file does not exist.
    ConfigError
        The TOML is malformed, does not follow the schema, or breaks a rule
        between settings; ``problems`` lists every problem with its key and a fix.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise MissingInputError(f"Project file {path} does not exist. Create one (see docs/design.md) "
                                f"or run 'minecarbon simulate DIR' to get an example.")
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError.from_problems([_toml_problem(file, exc)]) from None
    try:
        cfg = ProjectConfig.model_validate({**data, "root": path.resolve().parent})
    except ValidationError as exc:
        found = _schema_problems(file, exc)
        raise ConfigError.from_problems(found, f"{len(found)} problem(s) in the project file:") from None
    found = settings_problems(cfg, file) if settings else []
    if found:
        raise ConfigError.from_problems(found, f"{len(found)} problem(s) in the project file:")
    return cfg
