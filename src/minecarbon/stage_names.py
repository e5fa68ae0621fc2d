"""Names of the pipeline stages, in run order, importable without loading the stages.

:data:`minecarbon.pipeline.stages.STAGES` must list the same stages in the same order (a test
checks it), so that ``minecarbon run --help`` (which reads this list) names every stage.
"""

STAGE_NAMES: tuple[str, ...] = ("images", "classify", "units", "lidar", "plots", "features", "model", "map", "assess",
                                "catalog", "report")
