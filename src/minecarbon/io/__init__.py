"""I/O: the only place that opens files.  Checks CRS, nodata, band names and units on the way in."""

from .atomic import atomic_path, atomic_write_text
from .raster import open_raster, write_raster
from .table import read_table, write_table
from .vector import read_vector, write_vector

__all__ = ["atomic_path", "atomic_write_text", "open_raster", "write_raster", "read_table",
           "write_table", "read_vector", "write_vector"]
