"""Model metrics and cross-validation against hand arithmetic and scikit-learn.

(The assessment tests live in tests/assess/.)
"""

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, r2_score

from minecarbon.errors import InputError
from minecarbon.model import cross_validate, metrics


def test_metrics_by_hand_and_against_sklearn():
    y = np.array([10.0, 20.0, 30.0, 40.0])
    yhat = np.array([12.0, 18.0, 33.0, 37.0])
    m = metrics(y, yhat)
    assert m["rmse"] == pytest.approx(np.sqrt((4 + 4 + 9 + 9) / 4))
    assert m["bias"] == pytest.approx((2 - 2 + 3 - 3) / 4)
    assert m["rrmse_pct"] == pytest.approx(np.sqrt(26 / 4) / 25 * 100)
    assert m["r2"] == pytest.approx(r2_score(y, yhat))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, yhat))


def test_cross_validation_is_seeded_and_honest():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = 3 * X[:, 0] + rng.normal(0, 2.0, 60)
    cv1, tr1, oof1 = cross_validate(X, y, 50, 5, seed=3)
    cv2, _, oof2 = cross_validate(X, y, 50, 5, seed=3)
    np.testing.assert_array_equal(oof1, oof2)
    assert cv1["r2"] < tr1["r2"]  # training fit is optimistic on noisy data
    with pytest.raises(InputError, match="at least 10"):
        cross_validate(X[:8], y[:8], 10, 5, seed=0)
    with pytest.raises(InputError, match="same on every plot"):
        cross_validate(X, np.ones(60), 10, 5, seed=0)
