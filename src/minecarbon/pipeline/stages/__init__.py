"""The stages of the standard's method, one module each.

Importing this package registers the stages; the import order below is the run order.
"""

from . import images, units, lidar, plots, features, model, map, assess, catalog, report  # noqa: F401,E401
