"""Two-date change against hand arithmetic; numpy == dask; grid checks."""

import numpy as np
import pytest
from _assess_helpers import make_da

from minecarbon.assess import change_amount, change_degree
from minecarbon.errors import GridError


def test_change_amount_and_degree_by_hand():
    a1 = make_da(np.array([[10.0, 0.5, np.nan, 40.0, 0.0]]))
    a2 = make_da(np.array([[15.0, 2.0, 3.0, 10.0, 5.0]]))
    np.testing.assert_allclose(change_amount(a1, a2).values, [[5.0, 1.5, np.nan, -30.0, 5.0]])
    # degree is nodata where the reference is below 1 t C/ha (and never infinite for a zero reference)
    np.testing.assert_allclose(change_degree(a1, a2, 1.0).values, [[50.0, np.nan, np.nan, -75.0, np.nan]])
    # with threshold 0 a zero reference is still nodata, not infinity
    d0 = change_degree(a1, a2, 0.0).values
    np.testing.assert_allclose(d0, [[50.0, 300.0, np.nan, -75.0, np.nan]])
    assert not np.isinf(d0).any()


def test_metadata_kept_and_dask_equals_numpy(rng):
    a1 = make_da(rng.uniform(0, 80, (40, 50)))
    a2 = make_da(rng.uniform(0, 80, (40, 50)))
    out = change_amount(a1, a2)
    assert out.rio.crs == a1.rio.crs and out.attrs["units"] == "t C/ha"
    np.testing.assert_array_equal(out.x, a1.x)
    for fn in (change_amount, lambda a, b: change_degree(a, b, 5.0)):
        np.testing.assert_array_equal(fn(a1, a2).values, fn(a1.chunk(16), a2.chunk(16)).values)


def test_mismatched_grids_are_an_error():
    a1 = make_da(np.ones((4, 5)))
    with pytest.raises(GridError, match="same grid"):
        change_amount(a1, make_da(np.ones((4, 6))))
    with pytest.raises(GridError, match="coordinates"):
        change_amount(a1, make_da(np.ones((4, 5)), x0=500_030.0))
    with pytest.raises(GridError, match="EPSG"):
        change_degree(a1, make_da(np.ones((4, 5)), crs="EPSG:32650"))
