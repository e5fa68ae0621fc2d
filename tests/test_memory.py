"""Memory asked for by user values is checked before allocation (issue 17)."""

from __future__ import annotations

import os
import platform

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


_FRAGMENT = """
import sys, numpy as np
from minecarbon.memory import bound_heap
print(bound_heap() if sys.argv[1] == "bound" else "default")
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) * 1024
big = np.ones(1 << 20); del big   # a freed 8 MiB mapped buffer: glibc's dynamic threshold rises above 1 MiB
r0 = rss()
bufs, keep = [], []
for i in range(256):
    bufs.append(np.ones(1 << 17))  # 1 MiB
    keep.append(np.ones(64))       # small and kept: pins the heap between the large ones
del bufs
print((rss() - r0) / 2**20)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")
def test_bound_heap_returns_freed_buffers(tmp_path):
    # 256 freed 1 MiB buffers between kept small ones: with glibc's dynamic threshold they stay resident (heap
    # holes), with bound_heap each was mapped on its own and went back to the system when freed
    import subprocess
    import sys

    script = tmp_path / "fragment.py"
    script.write_text(_FRAGMENT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = {m: subprocess.run([sys.executable, str(script), m], capture_output=True, text=True, env=env,
                             check=True).stdout.split() for m in ("default", "bound")}
    assert out["bound"][0] == "True"
    assert float(out["default"][1]) > 128  # the retention the setting removes (MiB still resident)
    assert float(out["bound"][1]) < 16


def test_bound_heap_keeps_the_users_setting(monkeypatch):
    from minecarbon.memory import bound_heap

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "262144")
    assert bound_heap() is False
