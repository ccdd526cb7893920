"""Diverse sampling: cluster the embeddings, then take images round-robin across
clusters, so that a small sample shows everything a dataset holds (and active
learning labels every mode, rare ones included).

Above ``sample`` images, k-means is fitted on a uniform random subset (point ids
are hashes, so the first ids in id order are a uniform sample) and images are drawn
from it; cluster sizes are then estimates for the whole population.
"""

from __future__ import annotations

from collections.abc import Collection as AbstractCollection
from typing import Any

import numpy as np
import pandas as pd

from ._errors import AISearchError

METHODS = ("centroids", "random")
# Full k-means (Lloyd) beats MiniBatchKMeans below this size: a mini-batch pass over
# 4096 points costs as much as a Lloyd iteration over 4096, and it needs many more.
_FULL_KMEANS_MAX = 20_000


def load_vectors(
    store: Any,
    sample: int,
    only: AbstractCollection[str] | None = None,
    exclude: AbstractCollection[str] | None = None,
) -> tuple[list[str], np.ndarray, int, bool]:
    """``(ids, vectors, population, sampled)`` of at most ``sample`` points."""
    excl = set(exclude or ())
    if only is not None:
        wanted = [i for i in only if i not in excl]
        population = len(wanted)
        if len(wanted) > sample:
            wanted = sorted(wanted)[:sample]  # ids are hashes: a uniform subset
        got = store.retrieve(wanted)
        ids = [i for i in wanted if i in got]
        vecs = np.stack([got[i][0] for i in ids]) if ids else np.zeros((0, store.dim), np.float32)
        return ids, vecs, population, population > len(ids)
    population = max(0, store.count() - len(excl))
    ids: list[str] = []
    chunks: list[np.ndarray] = []
    for bid, bvec in store.scan(batch=min(4096, sample + len(excl))):
        keep = [k for k, i in enumerate(bid) if i not in excl]
        ids += [bid[k] for k in keep]
        chunks.append(bvec[keep])
        if len(ids) >= sample:
            break
    vecs = np.concatenate(chunks)[:sample] if chunks else np.zeros((0, store.dim), np.float32)
    ids = ids[:sample]
    return ids, vecs, population, population > len(ids)


def cluster(vecs: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, unit-norm centres)`` of k-means on unit vectors."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(vecs) <= _FULL_KMEANS_MAX:
        # More restarts on small data, where they are cheap: the best-inertia run is
        # the one most likely to give a rare group a centre of its own.
        n_init = 5 if len(vecs) <= 5_000 else 3
        km: Any = KMeans(n_clusters=k, n_init=n_init, max_iter=100, random_state=seed)
    else:
        km = MiniBatchKMeans(
            n_clusters=k, n_init=3, random_state=seed, batch_size=4096, max_no_improvement=20
        )
    labels = km.fit_predict(vecs)
    centres = km.cluster_centers_.astype(np.float32)
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return labels.astype(int), centres


def sample_diverse(
    ids: list[str],
    vecs: np.ndarray,
    n: int,
    method: str = "centroids",
    clusters: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[int, int]]:
    """Pick ``n`` of ``ids`` round-robin across ``clusters`` k-means clusters.

    Returns a DataFrame ``id, score, cluster, pick`` (score = cosine similarity to the
    image's cluster centre; pick = the order of selection) and the cluster sizes.
    """
    if method not in METHODS:
        raise AISearchError(f"Unknown method {method!r}: use 'centroids' or 'random'.")
    if n < 1:
        raise AISearchError(f"n must be at least 1 (got {n}).")
    if not ids:
        return pd.DataFrame(columns=["id", "score", "cluster", "pick"]), {}
    k = max(1, min(int(clusters or n), len(ids)))
    labels, centres = cluster(vecs, k, seed)
    sims = np.einsum("ij,ij->i", vecs, centres[labels])
    rng = np.random.default_rng(seed)
    order: list[np.ndarray] = []
    sizes = np.bincount(labels, minlength=k)
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if method == "centroids":
            members = members[np.argsort(-sims[members], kind="stable")]
        else:
            members = rng.permutation(members)
        order.append(members)
    # Largest clusters first within each round; every cluster gets one before any
    # gets two, so a cluster of 1 % is in the sample as soon as n >= k.
    cluster_order = np.argsort(-sizes, kind="stable")
    picks: list[int] = []
    depth = 0
    while len(picks) < n and depth < int(sizes.max()):
        for c in cluster_order:
            if depth < len(order[c]):
                picks.append(int(order[c][depth]))
                if len(picks) == n:
                    break
        depth += 1
    df = pd.DataFrame(
        {
            "id": [ids[i] for i in picks],
            "score": sims[picks].astype(float),
            "cluster": labels[picks],
            "pick": np.arange(1, len(picks) + 1),
        }
    )
    return df, {int(c): int(s) for c, s in enumerate(sizes)}
