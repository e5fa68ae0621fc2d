"""Memory asked for by user values is checked before allocation (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from minecarbon.cli.main import main
from minecarbon.errors import InputError
from minecarbon.lidar.chm import grid_for_points
from minecarbon.memory import check_grid


def test_check_grid_gives_the_numbers():
    with pytest.raises(InputError) as e:
        check_grid(100_000, 200_000, 0.01, 8, "CHM of a.laz", "Use a coarser cell.", available=16 * 2**30)
    msg = str(e.value)
    # 1e5 * 2e5 * 8 bytes = 1.6e11 bytes = 149.0 GiB (hand arithmetic)
    assert "100,000 x 200,000 cells" in msg and "149.0 GiB" in msg and "16.0 GiB are available" in msg
    check_grid(1000, 1000, 1.0, 8, "small", "", available=16 * 2**30)  # 7.6 MiB: fine


def test_tile_in_degrees_among_utm_tiles_is_refused_before_allocation():
    """The pooled cloud of issue 17: one tile in lon/lat beside tiles in UTM metres (952 GiB asked)."""
    x = np.array([380_000.0, 381_000.0, 111.2, 111.21])
    y = np.array([4_098_000.0, 4_099_000.0, 37.0, 37.01])
    with pytest.raises(InputError, match=r"GiB|TiB") as e:
        grid_for_points(x, y, 3.5, what="CHM of the ALS tiles")
    assert "should be metres" in str(e.value) and "x 111.20 .. 381,000.00" in str(e.value)


def test_tool_chm_with_absurd_resolution(tmp_path):
    laspy = pytest.importorskip("laspy")
    rng = np.random.default_rng(0)
    n = 2000
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = [0.001, 0.001, 0.001]
    header.offsets = [380000, 4098000, 0]
    from pyproj import CRS

    header.add_crs(CRS.from_epsg(32649))
    las = laspy.LasData(header)
    las.x = 380000 + rng.random(n) * 1000
    las.y = 4098000 + rng.random(n) * 920
    las.z = np.where(rng.random(n) < 0.5, 0.0, rng.random(n) * 20)
    las.classification = np.where(las.z == 0, 2, 1).astype(np.uint8)
    p = tmp_path / "tile.laz"
    las.write(p)
    res = CliRunner().invoke(main, ["tool", "chm", str(p), str(tmp_path / "chm.tif"), "--resolution", "0.0001"])
    assert res.exit_code == 2, res.output
    assert "TiB of memory" in res.output and str(p) in res.output.replace("\n", "")
    assert "Internal error" not in res.output and "MemoryError" not in res.output
