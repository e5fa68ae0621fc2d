"""The file-in/file-out tools as a library: what ``minecarbon tool ...`` runs, callable and tested without click.

One module per family (:mod:`.assess`); the CLI (:mod:`minecarbon.cli`) keeps
only the options and the printing.
"""
