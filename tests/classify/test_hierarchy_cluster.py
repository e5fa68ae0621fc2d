"""Issue 16: the hierarchy's cross-validation folds (random-forest fits) run one per core, or as tasks on the
workers of a dask.distributed cluster that adds cores; every out-of-fold prediction, score and leaf-habit rule
equals that of the folds run one after the other in this process (the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from minecarbon import parallel
from minecarbon.classify.hierarchy import hierarchical_cv


def _samples(n=240, seed=4):
    """Synthetic labelled pixels: forest / non-forest, evergreen and deciduous forest of two species each,
    features that separate them with noise."""
    rng = np.random.default_rng(seed)
    forest = rng.uniform(size=n) < 0.65
    evergreen = forest & (rng.uniform(size=n) < 0.5)
    species = np.where(evergreen, rng.choice(["1", "2"], n), rng.choice(["3", "4"], n))
    code = species.astype(int) * forest
    fX = np.column_stack([forest + rng.normal(0, 0.4, n), rng.normal(size=n)])
    on = 0.05 + 0.3 * forest[:, None] * np.array([0.1, 0.2, 1.0, 0.5]) + rng.uniform(0, 0.05, (n, 4))
    off = 0.05 + 0.3 * evergreen[:, None] * np.array([0.1, 0.2, 1.0, 0.5]) + rng.uniform(0, 0.05, (n, 4))
    rvi = off[:, 2] / off[:, 1]
    sX = np.column_stack([code + rng.normal(0, 0.6, n), rng.normal(size=(n, 2))])
    groups = np.repeat(np.arange(12), n // 12)
    return (fX, forest, rvi, off, on, evergreen, sX, species), groups


def _cv(args, groups):
    return hierarchical_cv(*args, groups=groups, folds=4, seed=2, n_estimators=15)


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if k == "predictions":
            for level in a[k]:
                np.testing.assert_array_equal(a[k][level], b[k][level], err_msg=level)
        else:
            assert a[k] == b[k], k


def test_hierarchy_folds_in_threads_and_on_a_cluster_equal_one_by_one(monkeypatch):
    distributed = pytest.importorskip("distributed")
    args, groups = _samples()
    monkeypatch.setattr(parallel, "_local_cores", lambda: 1)  # no cluster: one fold after the other
    ref = _cv(args, groups)
    assert ref["forest"]["confusion"]["rows_map_cols_reference"] and len(ref["leaf_habit_rules"]) == 4

    monkeypatch.setattr(parallel, "_local_cores", lambda: 2)  # two folds at once, in threads
    _same(_cv(args, groups), ref)

    monkeypatch.setattr(parallel, "_local_cores", lambda: 1)  # a 2-worker cluster adds cores to "1 core"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        assert parallel.cluster_for() is client
        with distributed.get_task_stream(client) as stream:
            got = _cv(args, groups)
    assert sum("_cv_fold" in str(t["key"]) for t in stream.data) == 4  # the 4 folds ran on the workers
    _same(got, ref)
