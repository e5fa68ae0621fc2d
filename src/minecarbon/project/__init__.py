"""The project layer, between the project file and the stages.

* :mod:`.readers`: the project's inputs read through their specs
  (plot sheet, allometry table, TLS scans and their positions);
* :mod:`.plans`: the translations from settings to library options
  (feature stack, TLS parameters, years of the cumulative effect);
* :mod:`.design`: the back-ends of ``minecarbon plots plan`` / ``check``.

Used by the stages, ``check`` and the CLI alike; it never imports
:mod:`minecarbon.pipeline.stages` (``design`` runs the units stage through
:func:`minecarbon.pipeline.run_pipeline`).
"""
