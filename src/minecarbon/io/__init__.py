"""I/O: the only place that opens files.  Checks CRS, nodata, band names and units on the way in.

The public names are imported from their submodules on first use (:mod:`minecarbon._lazy`), so that
reading a raster does not import geopandas nor pandas' Excel readers.
"""

from .._lazy import attach

__getattr__, __dir__ = attach(__name__, {
    ".atomic": ["atomic_path", "atomic_write_text"],
    ".raster": ["open_raster", "open_raster_fitting", "write_raster"],
    ".table": ["read_table", "write_table"],
    ".vector": ["read_vector", "write_vector"],
})

__all__ = ["atomic_path", "atomic_write_text", "open_raster", "open_raster_fitting", "write_raster",
           "read_table", "write_table", "read_vector", "write_vector"]
