"""Accuracy and area estimates against Olofsson et al. (2014) and hand arithmetic.

Olofsson, P., Foody, G.M., Herold, M., Stehman, S.V., Woodcock, C.E., Wulder, M.A. (2014). Good practices for
estimating area and assessing accuracy of land change. Remote Sensing of Environment 148: 42-57,
doi:10.1016/j.rse.2014.02.015. Section 5 (worked example), Table 8 (sample counts and mapped areas, p. 55),
Table 9 (area proportions), section 5.2 (accuracies and areas with 95 % intervals).
"""

import numpy as np
import pandas as pd
import pytest

from minecarbon.classify.accuracy import area_estimates, confusion_matrix, sample_accuracy
from minecarbon.errors import InputError

CLASSES = ["deforestation", "forest_gain", "stable_forest", "stable_nonforest"]
# Table 8: sample counts, rows = map class (stratum), columns = reference class
COUNTS = np.array([[66, 0, 5, 4],
                   [0, 55, 8, 12],
                   [1, 0, 153, 11],
                   [2, 1, 9, 313]])
PIXELS = np.array([200000, 150000, 3200000, 6450000])  # Table 8: mapped area, 30 m pixels (0.09 ha each)
# Table 9: estimated area proportions p_ij (4 decimals as printed)
P_PUBLISHED = np.array([[0.0176, 0, 0.0013, 0.0011],
                        [0, 0.0110, 0.0016, 0.0024],
                        [0.0019, 0, 0.2967, 0.0213],
                        [0.0040, 0.0020, 0.0179, 0.6212]])
# Section 5.2: estimate and 95 % half-width as printed (2 decimals; areas in ha)
UA = [0.88, 0.73, 0.93, 0.96]
UA_CI = [0.07, 0.10, 0.04, 0.02]
PA = [0.75, 0.85, 0.93, 0.96]
PA_CI_PRINTED = [0.21, 0.23, 0.03, 0.01]
OA, OA_CI = 0.95, 0.02
AREA_HA = [21158, 11686, 285770, 581386]
AREA_CI_HA = [6158, 3756, 15510, 16282]


def _cm():
    return pd.DataFrame(COUNTS, index=CLASSES, columns=CLASSES)


def test_olofsson_table8_areas_and_intervals():
    r = area_estimates(_cm(), PIXELS)
    t = r.table
    np.testing.assert_allclose(r.p.to_numpy(), P_PUBLISHED, atol=0.5e-4)
    np.testing.assert_array_equal(np.round(t["area"].to_numpy() * 0.09), AREA_HA)
    np.testing.assert_array_equal(np.round(t["area_ci"].to_numpy() * 0.09), AREA_CI_HA)
    np.testing.assert_allclose(t["ua"], UA, atol=0.005)
    np.testing.assert_allclose(t["ua_ci"], UA_CI, atol=0.005)
    np.testing.assert_allclose(t["pa"], PA, atol=0.005)
    assert r.oa == pytest.approx(OA, abs=0.005) and r.oa_ci == pytest.approx(OA_CI, abs=0.005)
    # PA half-widths: deforestation and stable forest as printed; the printed 0.23 (forest gain) and 0.01
    # (stable non-forest) disagree with the paper's own eq. 7, which gives 0.254 and 0.018 (recomputed by hand
    # below, independently of the module).
    np.testing.assert_allclose(t["pa_ci"].to_numpy()[[0, 2]], np.array(PA_CI_PRINTED)[[0, 2]], atol=0.005)
    np.testing.assert_allclose(t["pa_ci"].to_numpy()[[1, 3]], [0.254, 0.018], atol=0.0005)


def _pa_var_by_hand(j):
    N = PIXELS.astype(float)
    n = COUNTS.astype(float)
    ni = n.sum(1)
    W = N / N.sum()
    p = W[:, None] * n / ni[:, None]
    U = np.diag(p) / p.sum(1)
    P = np.diag(p) / p.sum(0)
    Nj = sum(N[i] / ni[i] * n[i, j] for i in range(4))
    term1 = N[j] ** 2 * (1 - P[j]) ** 2 * U[j] * (1 - U[j]) / (ni[j] - 1)
    term2 = P[j] ** 2 * sum(N[i] ** 2 * n[i, j] / ni[i] * (1 - n[i, j] / ni[i]) / (ni[i] - 1)
                            for i in range(4) if i != j)
    return (term1 + term2) / Nj**2


def test_pa_variance_matches_hand_formula():
    r = area_estimates(_cm(), PIXELS)
    for j in range(4):
        assert r.table["pa_se"].iloc[j] ** 2 == pytest.approx(_pa_var_by_hand(j), rel=1e-12)


def test_sample_accuracy_hand_arithmetic():
    cm = pd.DataFrame([[8, 2], [1, 9]], index=["a", "b"], columns=["a", "b"])
    m = sample_accuracy(cm)
    assert m["oa"] == pytest.approx(17 / 20)
    pe = (10 * 9 + 10 * 11) / 400
    assert m["kappa"] == pytest.approx((17 / 20 - pe) / (1 - pe))
    assert m["ua"] == {"a": pytest.approx(0.8), "b": pytest.approx(0.9)}
    assert m["pa"] == {"a": pytest.approx(8 / 9), "b": pytest.approx(9 / 11)}


def test_sample_accuracy_matches_sklearn():
    from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_score, recall_score

    rng = np.random.default_rng(1)
    ref = rng.integers(0, 4, 500).astype(str)
    pred = np.where(rng.random(500) < 0.7, ref, rng.integers(0, 4, 500).astype(str))
    cm = confusion_matrix(pred, ref, ["0", "1", "2", "3"])
    m = sample_accuracy(cm)
    assert m["oa"] == pytest.approx(accuracy_score(ref, pred))
    assert m["kappa"] == pytest.approx(cohen_kappa_score(ref, pred))
    labels = ["0", "1", "2", "3"]
    np.testing.assert_allclose(list(m["ua"].values()), precision_score(ref, pred, labels=labels, average=None))
    np.testing.assert_allclose(list(m["pa"].values()), recall_score(ref, pred, labels=labels, average=None))


def test_bad_inputs():
    with pytest.raises(InputError, match="not in the class list"):
        confusion_matrix(["a", "x"], ["a", "b"], ["a", "b"])
    with pytest.raises(InputError, match="fewer than 2 validation samples"):
        area_estimates(pd.DataFrame([[1, 0], [0, 5]], index=["a", "b"], columns=["a", "b"]), [10, 10])
    with pytest.raises(InputError, match="mapped area"):
        area_estimates(_cm(), [1, 2, 3])
