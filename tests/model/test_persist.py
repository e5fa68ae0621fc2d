"""Safe model files: round trip, reproducible bytes, checksum, type allow-list, feature check."""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from minecarbon.errors import InputError, MissingInputError
from minecarbon.model import load_models, make_model, make_selector, save_models

NAMES = ["blue", "red", "nir", "NDVI"]


class Sneaky(RegressorMixin, BaseEstimator):
    """A user class: not on the allow-list."""

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 4))
    y = 30 * X[:, 3] + rng.normal(0, 1, 60)
    models = {name: make_model(name, make_selector("correlation"), n_estimators=20).fit(X, y)
              for name in ("svm", "rf", "gbdt", "xgb", "mlr")}
    return X, models


def test_round_trip_is_identical_and_bytes_are_reproducible(tmp_path, fitted):
    X, models = fitted
    p, _man = save_models(tmp_path / "m.skops", models, NAMES, {"type_models": {"1": "rf"}})
    loaded, manifest = load_models(p, NAMES)
    for k, m in models.items():
        np.testing.assert_array_equal(loaded[k].predict(X), m.predict(X))
    assert manifest["feature_names"] == NAMES and manifest["info"]["type_models"] == {"1": "rf"}
    assert {"scikit-learn", "xgboost", "skops", "numpy"} <= set(manifest["versions"])
    p2, _ = save_models(tmp_path / "again.skops", models, NAMES)
    assert p2.read_bytes() == p.read_bytes()  # a re-run writes the same file


def test_tampered_or_incomplete_files_are_refused(tmp_path, fitted):
    _, models = fitted
    p, man = save_models(tmp_path / "m.skops", {"mlr": models["mlr"]}, NAMES)
    blob = bytearray(p.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    p.write_bytes(bytes(blob))
    with pytest.raises(InputError, match="does not match the checksum"):
        load_models(p)
    man.unlink()
    with pytest.raises(MissingInputError, match="manifest"):
        load_models(p)
    with pytest.raises(MissingInputError):
        load_models(tmp_path / "absent.skops")


def test_types_outside_the_allow_list_are_refused(tmp_path):
    import hashlib

    import skops.io as sio

    p, man = save_models(tmp_path / "s.skops", {"m": Sneaky().fit(np.zeros((3, 4)), np.ones(3))}, NAMES)
    with pytest.raises(InputError, match="allow-list.*Sneaky"):
        load_models(p)
    # a pickle disguised as a model file, with a matching checksum, is not loaded either
    bad = tmp_path / "evil.skops"
    bad.write_bytes(pickle.dumps({"m": 1}))
    meta = json.loads(man.read_text())
    meta.update(sha256=hashlib.sha256(bad.read_bytes()).hexdigest(), size=bad.stat().st_size)
    bad.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="cannot be read as a skops file"):
        load_models(bad)
    assert sio  # skops is installed


def test_feature_mismatch_is_refused(tmp_path, fitted):
    _, models = fitted
    p, _ = save_models(tmp_path / "m.skops", {"mlr": models["mlr"]}, NAMES)
    with pytest.raises(InputError, match="lacks NDVI and has extra EVI"):
        load_models(p, ["blue", "red", "nir", "EVI"])
    load_models(p, ["NDVI", "blue", "red", "nir"])  # only the order differs: accepted (bands are selected by name)
