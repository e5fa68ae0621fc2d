"""Blockwise prediction per forest type: numpy == dask (bit), routing by hand, masks, totals."""

import dask.array as da
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr

from minecarbon.errors import InputError
from minecarbon.model import check_features, make_model, predict_by_type, predict_stack, unit_totals

NAMES = ["red", "nir", "NDVI"]


def _stack(shape=(3, 37, 41), seed=0):
    rng = np.random.default_rng(seed)
    arr = rng.uniform(0, 1, size=shape).astype(np.float32)
    arr[:, 3, 4] = np.nan  # a nodata pixel
    ys = 4_100_000 - 15 - 30 * np.arange(shape[1])
    xs = 380_000 + 15 + 30 * np.arange(shape[2])
    return xr.DataArray(arr, dims=("band", "y", "x"), coords={"band": NAMES, "y": ys, "x": xs}).rio.write_crs(
        "EPSG:32649")


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, size=(80, 3))
    m1 = make_model("rf", n_estimators=10).fit(X, 40 * X[:, 2])
    m2 = make_model("mlr").fit(X, 10 + 5 * X[:, 0])
    return m1, m2


def test_per_type_routing_by_hand_and_dask_equals_numpy(models):
    m1, m2 = models
    st = _stack()
    types = xr.zeros_like(st.isel(band=0, drop=True), dtype=np.int32)
    types.values[:, :20] = 1
    types.values[:, 20:] = 2
    types.values[0, :] = 7  # a type without a model
    mask = xr.ones_like(types, dtype=bool)
    mask.values[-1, :] = False
    a = predict_by_type(st, {1: m1, 2: m2}, None, types, mask)
    flat = st.values.reshape(3, -1).T
    exp = np.full(flat.shape[0], np.nan, dtype=np.float32)
    t = types.values.ravel()
    ok = np.isfinite(flat).all(axis=1) & mask.values.ravel()
    exp[ok & (t == 1)] = m1.predict(flat[ok & (t == 1)])
    exp[ok & (t == 2)] = m2.predict(flat[ok & (t == 2)])
    np.testing.assert_array_equal(a.values, exp.reshape(a.shape))
    assert np.isnan(a.values[0]).all() and np.isnan(a.values[-1]).all() and np.isnan(a.values[3, 4])
    for chunks in ((3, 8, 9), (3, 37, 41), (1, 20, 5)):
        b = predict_by_type(st.chunk(dict(zip(("band", "y", "x"), chunks))), {1: m1, 2: m2}, None,
                            types.chunk({"y": 11, "x": 13}), mask)
        assert isinstance(b.data, da.Array)
        np.testing.assert_array_equal(b.values, a.values)  # bit-identical whatever the chunks
    assert a.rio.crs.to_epsg() == 32649 and a.dtype == np.float32
    # a default model covers the types without their own
    c = predict_by_type(st, {1: m1}, m2, types)
    np.testing.assert_array_equal(c.values[0, :][np.isfinite(c.values[0, :])],
                                  m2.predict(st.values[:, 0, :].T).astype(np.float32))


def test_predict_stack_single_model(models):
    m1, _ = models
    st = _stack()
    out = predict_stack(m1, st.chunk({"y": 10, "x": 10}))
    np.testing.assert_array_equal(out.values.ravel()[np.isfinite(out.values.ravel())],
                                  m1.predict(st.values.reshape(3, -1).T[np.isfinite(st.values.reshape(3, -1).T).all(1)])
                                  .astype(np.float32))


def test_check_features_reorders_or_refuses():
    st = _stack()
    assert [str(b) for b in check_features(st, ["nir", "red", "NDVI"])["band"].values] == ["nir", "red", "NDVI"]
    with pytest.raises(InputError, match="missing EVI; not used by the model NDVI"):
        check_features(st, ["red", "nir", "EVI"], what="feature stack 2010")


def test_unit_totals_by_hand():
    agc = xr.DataArray(np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]]), dims=("y", "x"))
    zones = xr.DataArray(np.array([[1, 1, 2], [2, 3, 0]]), dims=("y", "x"))
    lay = xr.concat([agc * 0 + 1.0, agc - 1, agc + 2], "band").assign_coords(
        band=["agc_sd_t_ha", "agc_lo_t_ha", "agc_hi_t_ha"])
    t = unit_totals(agc, lay, zones, pixel_area_ha=0.09)
    assert t["n_px"][[0, 1, 2, 3]].tolist() == [1, 2, 1, 1]
    assert t["agc_t"][1] == pytest.approx(3 * 0.09) and t["agc_t"][2] == pytest.approx(4 * 0.09)
    assert t["lo_t"][1] == pytest.approx(1 * 0.09) and t["hi_t"][1] == pytest.approx(7 * 0.09)
    assert t["sd_indep_t"][1] == pytest.approx(np.sqrt(2) * 0.09)
    tc = unit_totals(agc.chunk({"x": 2}), lay.chunk({"x": 2}), zones.chunk({"x": 2}), 0.09)
    for k in t:
        np.testing.assert_allclose(tc[k], t[k])
