"""Training table: footprint means by hand, numpy == dask, excluded plots and bad input."""

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from minecarbon.errors import CRSError, InputError, MissingInputError
from minecarbon.model import footprint_means, training_table

X0, Y0 = 380_000.0, 4_100_000.0


def _stack(names=("red", "nir"), seed=0, n=20):
    rng = np.random.default_rng(seed)
    arr = rng.uniform(0, 1, size=(len(names), n, n))
    xs = X0 + 15 + 30 * np.arange(n)
    ys = Y0 - 15 - 30 * np.arange(n)
    return xr.DataArray(arr, dims=("band", "y", "x"), coords={"band": list(names), "y": ys, "x": xs}
                        ).rio.write_crs("EPSG:32649")


def test_footprint_means_by_hand_numpy_and_dask():
    st = _stack()
    # a 60 m plot centred on a pixel corner covers a 2 x 2 block; a 10 m plot takes its pixel; one is off the grid
    x = np.array([X0 + 60.0, X0 + 100.0, X0 - 500.0])
    y = np.array([Y0 - 60.0, Y0 - 100.0, Y0 - 100.0])
    size = np.array([60.0, 10.0, 30.0])
    out = footprint_means(st, x, y, size)
    v = st.values
    np.testing.assert_allclose(out[0], v[:, 1:3, 1:3].reshape(2, -1).mean(axis=1))
    np.testing.assert_allclose(out[1], v[:, 3, 3])
    assert np.isnan(out[2]).all()
    np.testing.assert_array_equal(footprint_means(st.chunk({"x": 7, "y": 6}), x, y, size), out)
    st2 = st.copy(data=v.copy())
    st2.values[0, 1, 1] = np.nan  # one masked pixel: mean of the rest
    np.testing.assert_allclose(footprint_means(st2, x, y, size)[0, 0], np.mean([v[0, 1, 2], v[0, 2, 1], v[0, 2, 2]]))


def _plots():
    return pd.DataFrame({"plot_id": ["A", "B", "C", "D"], "x": [X0 + 45, X0 + 135, X0 + 5000, X0 + 255],
                         "y": [Y0 - 45, Y0 - 135, Y0 - 45, Y0 - 255], "survey_year": [2014, 2014, 2024, 2024],
                         "size_m": [30.0, 30.0, 30.0, 30.0], "forest_type": [1, 2, 1, 2],
                         "agc_t_ha": [10.0, 20.0, 30.0, np.nan], "agc_sd_t_ha": [1.0, 1.0, 1.0, 1.0]})


def test_training_table_joins_survey_years_and_reports_exclusions():
    s14, s24 = _stack(seed=1), _stack(seed=2)
    s24.values[:, 8, 8] = np.nan  # plot D sits on a masked pixel
    tab, exc, names = training_table(_plots(), {2014: s14, 2024: s24})
    assert names == ["red", "nir"]
    assert tab["plot_id"].tolist() == ["A", "B"]
    np.testing.assert_allclose(tab.loc[0, ["red", "nir"]].to_numpy(float), s14.values[:, 1, 1])
    np.testing.assert_allclose(tab.loc[1, ["red", "nir"]].to_numpy(float), s14.values[:, 4, 4])
    reasons = dict(zip(exc["plot_id"], exc["reason"]))
    assert "outside the feature stack of 2024" in reasons["C"]
    assert "masked or nodata pixels in 2024 (features red, nir)" in reasons["D"]
    assert {"forest_type", "agc_sd_t_ha"} <= set(tab.columns)


def test_bad_inputs_are_clear_errors():
    s14 = _stack()
    with pytest.raises(MissingInputError, match="No feature stack for survey year"):
        training_table(_plots(), {2014: s14})
    with pytest.raises(InputError, match="missing nir, extra EVI"):
        training_table(_plots(), {2014: s14, 2024: _stack(names=("red", "EVI"))})
    with pytest.raises(InputError, match="lacks column"):
        training_table(_plots().drop(columns="size_m"), {2014: s14, 2024: s14})
    lonlat = _plots().assign(x=[112.1, 112.2, 112.3, 112.4], y=[37.1, 37.2, 37.3, 37.4])
    with pytest.raises(CRSError, match="probably in another CRS"):
        training_table(lonlat, {2014: s14, 2024: s14})
    with pytest.raises(CRSError, match="EPSG:4326"):
        training_table(_plots(), {2014: s14, 2024: s14}, plots_crs="EPSG:4326")
