"""Names of the pipeline stages, in run order, importable without loading the stages.

:func:`minecarbon.pipeline.core.register` refuses a stage not listed here, so
that ``minecarbon run --help`` (which reads this list) names every stage.
"""

STAGE_NAMES: tuple[str, ...] = ("images", "units", "lidar", "plots", "features", "model", "map", "assess", "catalog",
                                "report")
