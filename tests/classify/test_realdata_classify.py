"""Classification on real third-party data (``../shared/realdata``; skipped without it).

* ``eolearn_testeopatch``: Sentinel-2 NDVI, 2017 (36 dates) with eo-learn's cloud/validity mask and land-cover
  labels. Masked observations never enter the features; a land-cover classifier under spatially blocked CV
  beats the majority-class baseline; forest UA/PA reported.
* ``phenofit_mod13a1``: MODIS MOD13A1 2000-2018 at DE-Obe (evergreen needleleaf, Tharandt spruce) and IT-Col
  (deciduous broadleaf, Collelongo beech). Leaf habit from leaf-off RVI and the leaf-off green-vegetation
  fraction, the rule learned leaving each year out, is right at both sites in every year; the deciduous site's
  start of season falls in spring (1 March - 31 May) every year; its amplitude is larger and its leaf-off RVI
  lower (the expectations of SOURCE.txt, from the sites' ecology).
* ``sits_samples``: 1,218 MODIS NDVI series (Brazil); blocked CV OA below random CV OA, both reported.

The numbers are printed (``pytest -s``) and quoted in docs/classify.md.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from minecarbon.classify.classifier import cross_validate, majority_baseline
from minecarbon.classify.leaf_habit import learn_rule
from minecarbon.classify.phenology import FEATURES, phenology
from minecarbon.classify.series import fill_gaps
from minecarbon.classify.unmix import fcls
from minecarbon.model.cv import spatial_groups

pytestmark = pytest.mark.realdata


# ---------------------------------------------------------------- eo-learn TestEOPatch
@pytest.fixture(scope="module")
def eopatch(realdata_dir):
    d = realdata_dir / "eolearn_testeopatch"
    ndvi = np.load(d / "data" / "NDVI.npy")[..., 0]
    valid = np.load(d / "mask" / "IS_VALID.npy")[..., 0].astype(bool)
    lulc = np.load(d / "mask_timeless" / "LULC.npy")[..., 0]
    ts = pd.to_datetime(json.loads((d / "timestamps.json").read_text()))
    sel = np.asarray(ts.year == 2017)
    coords = {"time": ts[sel].values}
    return (xr.DataArray(ndvi[sel], dims=("time", "y", "x"), coords=coords),
            xr.DataArray(valid[sel], dims=("time", "y", "x"), coords=coords), lulc)


def test_eolearn_masked_observations_never_enter(eopatch):
    ndvi, valid, _ = eopatch
    a = fill_gaps(ndvi, valid, min_clear=5)
    garbage = ndvi.where(valid, 1e6)  # every masked observation replaced by an absurd value
    b = fill_gaps(garbage.chunk({"y": 40, "x": 30}), valid.chunk({"y": 40, "x": 30}), min_clear=5).compute()
    xr.testing.assert_identical(a, b)
    np.testing.assert_array_equal(a.n_clear.values, valid.sum("time").values)
    fa, fb = phenology(a.filled), phenology(b.filled)
    xr.testing.assert_identical(fa, fb)
    assert float(np.nanmax(a.filled)) <= float(ndvi.where(valid).max())


def test_eolearn_land_cover_blocked_cv_beats_majority(eopatch):
    ndvi, valid, lulc = eopatch
    feats = phenology(fill_gaps(ndvi, valid, min_clear=5).filled)
    yy, xx = np.mgrid[0:lulc.shape[0], 0:lulc.shape[1]]
    X = feats.values.reshape(len(FEATURES), -1).T
    lab = lulc.ravel()
    counts = pd.Series(lab).value_counts()
    keep = np.isin(lab, [c for c, n in counts.items() if c != 0 and n >= 100])  # 0 = no data; drop tiny classes
    keep &= np.all(np.isfinite(X), 1) & (yy.ravel() % 2 == 0) & (xx.ravel() % 2 == 0)  # every 4th pixel
    X, y = X[keep], lab[keep].astype(str)
    xs, ys = xx.ravel()[keep] * 10.0, yy.ravel()[keep] * 10.0  # 10 m pixels
    blocked = cross_validate(X, y, spatial_groups(xs, ys, 250.0), 5, 0, 100)
    rand = cross_validate(X, y, None, 5, 0, 100)
    base = majority_baseline(y)
    print(f"\neo-learn 2017, {len(y)} px, classes {dict(pd.Series(y).value_counts())}: majority OA {base:.3f}; "
          f"blocked OA {blocked.metrics['oa']:.3f} kappa {blocked.metrics['kappa']:.3f}, forest UA "
          f"{blocked.metrics['ua']['2']:.3f} PA {blocked.metrics['pa']['2']:.3f}; random OA {rand.metrics['oa']:.3f}")
    assert blocked.metrics["oa"] > base + 0.05
    assert blocked.metrics["kappa"] > 0.4
    assert blocked.metrics["ua"]["2"] > 0.85 and blocked.metrics["pa"]["2"] > 0.85  # forest = 2


# ---------------------------------------------------------------- phenofit MOD13A1
BANDS = ["sur_refl_b03", "sur_refl_b01", "sur_refl_b02", "sur_refl_b07"]  # blue, red, NIR, SWIR2
SITES = {"DE-Obe": True, "IT-Col": False}  # evergreen?
LEAF_OFF = (11, 12, 1, 2, 3)  # November of the previous year to March


@pytest.fixture(scope="module")
def mod13(realdata_dir):
    rdata = pytest.importorskip("rdata")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt = rdata.read_rda(str(realdata_dir / "phenofit_mod13a1" / "MOD13A1.rda"))["MOD13A1"]["dt"]
    d = dt[dt["site"].isin(list(SITES))].copy()
    d["t"] = pd.to_datetime(d["date"].astype(float), unit="D")  # composite date, days since 1970
    d = d.sort_values(["site", "t"]).drop_duplicates(["site", "t"])
    for b in BANDS:
        d[b] = d[b].astype(float) / 1e4
    d["evi"] = d["EVI"].astype(float) / 1e4
    d["rvi"] = d["sur_refl_b02"] / d["sur_refl_b01"]
    d["clear"] = d["SummaryQA"].isin([0, 1])  # 0 good, 1 marginal; 2 snow/ice, 3 cloudy
    m = d["t"].dt.month
    d["leaf_off"] = m.isin(LEAF_OFF)
    d["season_year"] = np.where(m >= 11, d["t"].dt.year + 1, d["t"].dt.year)
    return d.reset_index(drop=True)


def _endmembers(train: pd.DataFrame, all_obs: pd.DataFrame) -> np.ndarray:
    """Green vegetation (clear June-August spectra), bark/litter (clear leaf-off spectra of deciduous samples),
    snow (snow-flagged spectra), all of the training years only, and photometric shade (zero reflectance)."""
    m = train["t"].dt.month
    gv = train[train.clear & m.isin([6, 7, 8])][BANDS].median()
    npv = train[train.clear & train.leaf_off & ~train.evergreen][BANDS].median()
    snow = all_obs[(all_obs.SummaryQA == 2) & all_obs.season_year.isin(train.season_year.unique())][BANDS].median()
    return np.column_stack([gv, npv, snow, np.zeros(len(BANDS))])


def test_phenofit_leaf_habit_every_year(mod13):
    d = mod13.copy()
    d["evergreen"] = d["site"].map(SITES)
    years = sorted(set(d.loc[d.clear & d.leaf_off, "season_year"]))
    calls = []
    for year in years:
        train = d[d.season_year != year]
        E = _endmembers(train, d)
        F, _ = fcls(d[BANDS].to_numpy(), E)
        d["gv"] = F[:, 0] / np.clip(1 - F[:, 3], 1e-9, None)  # shade-normalised green fraction
        off = d[d.clear & d.leaf_off].groupby(["site", "season_year"]).agg(
            rvi=("rvi", "median"), gv=("gv", "median"), evergreen=("evergreen", "first")).reset_index()
        tr, te = off[off.season_year != year], off[off.season_year == year]
        rule = learn_rule(tr.rvi, tr.evergreen, tr.gv)
        for _, r in te.iterrows():
            calls.append({"site": r.site, "year": year, "rvi": r.rvi, "gv": r.gv, "rule": rule.rule,
                          "called_evergreen": bool(rule.is_evergreen(r.rvi, r.gv)), "evergreen": r.evergreen})
    c = pd.DataFrame(calls)
    print("\n" + c.round(3).to_string())
    assert len(c) >= 2 * 17
    assert (c.called_evergreen == c.evergreen).all()
    # SOURCE.txt: the deciduous site's leaf-off RVI is lower (median over winters)
    per = c.groupby("site").rvi.median()
    assert per["IT-Col"] < per["DE-Obe"]


def _season(g: pd.DataFrame) -> dict:
    v = xr.DataArray(g["evi"].to_numpy(), dims="time", coords={"time": g["t"].to_numpy()})
    c = xr.DataArray(g["clear"].to_numpy(), dims="time", coords={"time": g["t"].to_numpy()})
    f = phenology(fill_gaps(v, c, min_clear=5).filled)
    return dict(zip(FEATURES, f.values.astype(float)))


def test_phenofit_deciduous_start_of_season_in_spring(mod13):
    d = mod13
    rows = []
    for (site, year), g in d.groupby(["site", d["t"].dt.year]):
        if len(g) < 20:  # 2000 starts on 18 February
            continue
        f = _season(g)
        rows.append({"site": site, "year": year, "sos_doy": f["sos_doy"], "eos_doy": f["eos_doy"],
                     "amplitude": f["amplitude"]})
    r = pd.DataFrame(rows).pivot(index="year", columns="site")
    print("\n" + r.round(2).to_string())
    sos = r[("sos_doy", "IT-Col")]
    assert len(sos) >= 17
    assert sos.between(60, 152).all()  # 1 March (day 60/61) .. 31 May (day 151/152)
    assert (r[("amplitude", "IT-Col")] > r[("amplitude", "DE-Obe")]).all()


# ---------------------------------------------------------------- sits samples
def test_sits_blocked_cv_below_random_cv(realdata_dir):
    rdata = pytest.importorskip("rdata")
    from pyproj import Transformer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = rdata.read_rda(str(realdata_dir / "sits_samples" / "samples_modis_ndvi.rda"))["samples_modis_ndvi"]
    X = np.array([ts["NDVI"].to_numpy(float) for ts in df["time_series"]])
    y = df["label"].astype(str).to_numpy()
    # SIRGAS 2000 / Brazil Polyconic (metres); 50 km blocks keep repeated locations (and neighbours) together
    xs, ys = Transformer.from_crs(4326, 5880, always_xy=True).transform(df["longitude"].to_numpy(),
                                                                        df["latitude"].to_numpy())
    blocked = cross_validate(X, y, spatial_groups(xs, ys, 50_000.0), 5, 0, 100)
    rand = cross_validate(X, y, None, 5, 0, 100)
    print(f"\nsits MODIS NDVI, {len(y)} samples: blocked (50 km) OA {blocked.metrics['oa']:.3f} kappa "
          f"{blocked.metrics['kappa']:.3f} ({blocked.n_groups} groups); random OA {rand.metrics['oa']:.3f} kappa "
          f"{rand.metrics['kappa']:.3f}")
    assert blocked.metrics["oa"] < rand.metrics["oa"]
    assert rand.metrics["oa"] > 0.70 and rand.metrics["kappa"] > 0.70  # sits' own test expectation
