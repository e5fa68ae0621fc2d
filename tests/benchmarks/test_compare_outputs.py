"""benchmarks/compare_outputs.py (issue 18): identical workspaces pass whatever the codec; a changed pixel,
a changed table cell or a missing file is found and named."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from minecarbon.io import write_raster

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import compare_outputs  # noqa: E402


def _workspace(root: Path, codec: str, value: float = 1.5, cell: float = 0.25) -> Path:
    a = np.arange(2 * 40 * 50, dtype="float32").reshape(2, 40, 50) / 7.0
    a[:, :3, :3] = np.nan
    a[1, 20, 20] = value
    da = xr.DataArray(a, dims=("band", "y", "x"), coords={"band": ["p", "q"], "y": 100.0 - np.arange(40) - 0.5,
                                                          "x": 500.0 + np.arange(50) + 0.5}).rio.write_crs("EPSG:32649")
    out = root / "workspace" / "outputs" / "map"
    write_raster(da, out / "agc.tif", codec=codec)
    pd.DataFrame({"unit": ["u1", "u2"], "agc_t": [1.0, cell], "path": [str(root / "x.laz"), "-"]}).to_csv(
        out / "units.csv", index=False)
    (out / "_manifest.json").write_text(f'{{"codec": "{codec}"}}')
    return root


def test_same_values_other_codec_and_root_are_identical(tmp_path, capsys):
    a = _workspace(tmp_path / "a", "DEFLATE")
    b = _workspace(tmp_path / "b", "ZSTD")
    assert (a / "workspace/outputs/map/agc.tif").read_bytes() != (b / "workspace/outputs/map/agc.tif").read_bytes()
    assert compare_outputs.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "rasters: 1 of 1 identical" in out and "tables: 1 of 1 identical" in out
    assert "other files: 0 of 1 byte-identical" in out  # the manifest differs; not a failure


def test_a_changed_pixel_cell_or_file_is_named(tmp_path, capsys):
    a = _workspace(tmp_path / "a", "ZSTD")
    b = _workspace(tmp_path / "b", "ZSTD", value=1.5 + 1e-3, cell=0.26)
    (b / "workspace/outputs/map/extra.csv").write_text("x\n1\n")
    assert compare_outputs.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS map/agc.tif: band 2 (q): max abs diff 0.001" in out
    assert "DIFFERS map/units.csv: column 'agc_t': max abs diff 0.01" in out
    assert "only after: map/extra.csv" in out
    assert compare_outputs.main([str(a), str(b), "--atol", "0.02"]) == 1  # the extra file still fails
