"""Cross-validation folds and grid search on a dask.distributed cluster give the threaded results exactly."""

from __future__ import annotations

import numpy as np
import pytest

from minecarbon.model import make_model, nested_cv
from minecarbon.model.learners import pipeline_grid
from minecarbon import parallel
from minecarbon.parallel import distributed_client, joblib_parallel

distributed = pytest.importorskip("distributed")


def test_cv_folds_on_a_cluster_match_threads(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = 10 + 4 * X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.5, size=60)
    groups = np.repeat(np.arange(12), 5)
    model = make_model("rf", seed=0, n_estimators=20)
    grid = pipeline_grid({"max_depth": [2, 4]})

    assert distributed_client() is None
    assert joblib_parallel(2)._backend.__class__.__name__ == "LokyBackend"
    ref = nested_cv(model, grid, X, y, groups, folds=4, inner_folds=2, seed=3, n_jobs=2)
    one = nested_cv(model, grid, X, y, groups, folds=4, inner_folds=2, seed=3, n_jobs=1)  # in this process
    np.testing.assert_array_equal(one.oof, ref.oof)  # loky worker processes give the in-process numbers
    assert one.fold_params == ref.fold_params and one.metrics == ref.metrics

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        assert distributed_client() is client
        # a cluster no bigger than this machine: the folds stay on this machine (cheaper than shipping them)
        monkeypatch.setattr(parallel, "_local_cores", lambda: 2)
        assert joblib_parallel(2)._backend.__class__.__name__ == "LokyBackend"
        # a cluster with more cores than this machine (as if of other machines): the folds go to it
        monkeypatch.setattr(parallel, "_local_cores", lambda: 1)
        par = joblib_parallel(2)
        assert par._backend.__class__.__name__ == "DaskDistributedBackend"
        with distributed.get_task_stream(client) as stream:
            got = nested_cv(model, grid, X, y, groups, folds=4, inner_folds=2, seed=3, n_jobs=2)
        assert len(stream.data) >= 4  # the outer folds ran as tasks on the cluster's workers
    np.testing.assert_array_equal(got.oof, ref.oof)
    assert got.fold_params == ref.fold_params
    assert got.metrics == ref.metrics


def _scaled_sum(weights, item):
    return float(np.dot(weights, np.arange(item, item + weights.size)))


def test_map_ordered_threads_and_cluster_give_results_in_item_order():
    """map_ordered: fn(*shared, item) per item, in item order, whether in threads or as tasks on a cluster
    (forced with cluster=True); the reference is the plain loop."""
    from minecarbon.parallel import cluster_for, map_ordered

    w = np.linspace(0.5, 2.0, 1000)  # a shared array, sent to the workers once
    items = list(range(37))
    ref = [_scaled_sum(w, i) for i in items]
    assert list(map_ordered(_scaled_sum, items, n_jobs=1, shared=(w,))) == ref
    assert list(map_ordered(_scaled_sum, items, n_jobs=3, shared=(w,))) == ref
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        assert cluster_for(-1, cluster=True) is client and cluster_for(-1, cluster=False) is None
        assert cluster_for(1, cluster=True) is None  # n_jobs=1: in this process, one after the other
        with distributed.get_task_stream(client) as stream:
            got = list(map_ordered(_scaled_sum, items, cluster=True, shared=(w,)))
        assert sum("_scaled_sum" in str(t["key"]) for t in stream.data) == len(items)
    assert got == ref
