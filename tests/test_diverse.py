from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets.diverse import sample_diverse

from _helpers import clustered, inject, make_folder

SIZES = [400, 350, 300, 250, 200, 150, 150, 100, 80, 20]  # the last is 1 % of 2000


@pytest.mark.parametrize("method", ["centroids", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_covers_every_cluster_including_a_rare_one(method: str, seed: int) -> None:
    vecs, labels = clustered(SIZES, dim=64, spread=0.1, seed=seed)
    ids = [f"id{i}" for i in range(len(vecs))]
    df, sizes = sample_diverse(ids, vecs, n=len(SIZES), method=method, seed=0)
    picked = {labels[int(i[2:])] for i in df["id"]}
    assert picked == set(range(len(SIZES)))
    assert sorted(sizes.values()) == sorted(SIZES)
    assert len(df) == len(SIZES) and df["id"].is_unique
    # A uniform random sample of the same size usually misses the rare cluster.
    rng = np.random.default_rng(0)
    misses = sum(9 not in set(labels[rng.choice(len(vecs), 10, replace=False)]) for _ in range(200))
    assert misses > 150


def test_centroids_takes_the_most_central_members_first() -> None:
    vecs, labels = clustered([50, 50], dim=16, spread=0.3, seed=2)
    ids = [str(i) for i in range(100)]
    df, _ = sample_diverse(ids, vecs, n=2, method="centroids", seed=0)
    for pid, c in zip(df["id"], df["cluster"], strict=True):
        members = [i for i in range(100) if labels[i] == labels[int(pid)]]
        centre = vecs[members].mean(axis=0)
        centre /= np.linalg.norm(centre)
        best = max(members, key=lambda i: float(vecs[i] @ centre))
        assert int(pid) == best, c


def test_more_samples_than_clusters_go_round_robin() -> None:
    vecs, labels = clustered([30, 30, 30], dim=16, spread=0.1)
    ids = [str(i) for i in range(90)]
    df, _ = sample_diverse(ids, vecs, n=9, clusters=3, method="random", seed=3)
    counts = np.bincount([labels[int(i)] for i in df["id"]], minlength=3)
    assert list(counts) == [3, 3, 3]
    df_all, _ = sample_diverse(ids, vecs, n=500, clusters=3)
    assert len(df_all) == 90  # never more than there are


def test_project_diverse_honours_exclude_and_reports_clusters(
    project_factory, tmp_path: Path
) -> None:
    root = tmp_path / "imgs"
    make_folder(root, 100, sub=False)
    proj = project_factory("p", root)
    proj.update()
    ids = sorted(proj.catalog.embedded_ids(proj.model_identity))
    vecs, labels = clustered([40, 30, 20, 9, 1], dim=proj.embedder.dim, spread=0.1, seed=4)
    inject(proj, dict(zip(ids, vecs, strict=True)))
    lonely = ids[99]  # the only member of the 1 % cluster

    res = proj.diverse(n=5, method="centroids")
    assert lonely in res.ids
    assert sorted(res.cluster_sizes.values()) == [1, 9, 20, 30, 40]
    assert {"cluster", "score"} <= set(res.df.columns)
    assert proj.last is res

    labelled = proj.search("x", limit=100).select(ids[:40])  # cluster 0 is labelled
    res = proj.diverse(n=8, clusters=4, method="random", exclude=labelled)
    assert not set(res.ids) & set(ids[:40])
    assert {labels[ids.index(i)] for i in res.ids} == {1, 2, 3, 4}


def test_diverse_needs_embeddings(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    with pytest.raises(aw.EmbeddingsNotReady):
        proj.diverse(n=3)


def test_a_small_group_next_to_a_big_one_gets_its_own_pick() -> None:
    # 10 groups of 150 with a few wide ones, and 4 images just beside group 0: k-means
    # alone folds them into group 0, the k-center steps give them a cluster.
    rng = np.random.default_rng(1)
    vecs, labels = clustered([150] * 10, dim=32, spread=0.12, seed=3)
    anchor = vecs[labels == 0].mean(axis=0)
    side = rng.normal(size=32)
    side -= (side @ anchor) / (anchor @ anchor) * anchor
    odd = anchor / np.linalg.norm(anchor) + 0.9 * side / np.linalg.norm(side)
    small = odd + 0.05 * rng.normal(size=(4, 32))
    small /= np.linalg.norm(small, axis=1, keepdims=True)
    vecs = np.concatenate([vecs, small]).astype(np.float32)
    ids = [str(i) for i in range(len(vecs))]
    found = 0
    for seed in range(5):
        df, _ = sample_diverse(ids, vecs, n=20, method="centroids", seed=seed)
        found += any(int(i) >= 1500 for i in df["id"])
    assert found == 5


def test_nan_vectors_make_diverse_and_explore_say_the_project_is_damaged(
    project_factory, images: Path
) -> None:
    proj = project_factory("p", images)
    proj.update()
    ids = sorted(proj.catalog.embedded_ids(proj.model_identity))
    proj.store.upsert([ids[3]], np.full((1, proj.store.dim), np.nan, np.float32))
    # Was numpy's "ValueError: Probabilities contain NaN" from k-means++.
    with pytest.raises(aw.ProjectCorrupt, match=rf"{ids[3]}.*NaN.*update\(\)"):
        proj.diverse(n=4)
    with pytest.raises(aw.ProjectCorrupt, match=ids[3]):
        proj.diverse(n=4, tags=None, exclude=[ids[0]])
    with pytest.raises(aw.ProjectCorrupt, match=ids[3]):
        proj.outliers(n=3, progress=False)
    with pytest.raises(aw.ProjectCorrupt, match=ids[3]):
        proj.map(method="pca", progress=False)


def test_sample_diverse_refuses_vectors_without_direction() -> None:
    vecs, _ = clustered([10, 10], dim=8)
    vecs[4] = 0.0
    ids = [f"i{k}" for k in range(20)]
    with pytest.raises(aw.InvalidArgument, match=r"'i4' has no direction .*zero vector"):
        sample_diverse(ids, vecs, n=3)
    vecs[4] = np.inf
    with pytest.raises(aw.InvalidArgument, match=r"'i4'.*infinite"):
        sample_diverse(ids, vecs, n=3)
