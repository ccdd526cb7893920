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

from ._errors import InvalidArgument, check_int, show_value
from .embedder import bad_rows, describe_bad
from .search import corrupt_vectors
from .store import VectorStore

METHODS = ("centroids", "random")


def check_args(
    n: Any, method: Any, clusters: Any, sample: Any, seed: Any
) -> tuple[int, str, int | None, int, int]:
    """Diverse-sampling arguments, checked: InvalidArgument names the bad one."""
    if method not in METHODS:
        raise InvalidArgument(f"Unknown method {show_value(method)}: use 'centroids' or 'random'.")
    return (
        check_int("n", n, 1, " (the number of images to pick)"),
        method,
        None if clusters is None else check_int("clusters", clusters, 1, " or None (= n)"),
        check_int("sample", sample, 1, " (the most images clustered)"),
        check_int("seed", seed, 0),
    )


def load_vectors(
    store: VectorStore,
    sample: int,
    only: AbstractCollection[str] | None = None,
    exclude: AbstractCollection[str] | None = None,
) -> tuple[list[str], np.ndarray, int, bool]:
    """``(ids, vectors, population, sampled)`` of at most ``sample`` points."""
    sample = check_int("sample", sample, 1, " (the most images clustered)")
    excl = set(exclude or ())
    if only is not None:
        wanted = sorted(i for i in only if i not in excl)  # not set order: a fixed draw
        population = len(wanted)
        if len(wanted) > sample:
            wanted = wanted[:sample]  # ids are hashes: a uniform subset
        got = store.retrieve(wanted)
        ids = [i for i in wanted if i in got]
        vecs = np.stack([got[i] for i in ids]) if ids else np.zeros((0, store.dim), np.float32)
        _check_usable(store, ids, vecs)
        return ids, vecs, population, population > len(ids)
    ids, vecs, population = _first_points(store, sample, excl)
    _check_usable(store, ids, vecs)
    return ids, vecs, population, population > len(ids)


def _first_points(
    store: VectorStore, sample: int, excl: set[str]
) -> tuple[list[str], np.ndarray, int]:
    """The first ``sample`` points in id order not in ``excl`` (ids are hashes: a
    uniform subset), read as one page of ``sample + len(excl)`` (at 1M points each
    page of a scroll costs ~0.2 s on its own), and the population: the store's own
    size statistic where it has one (exact counting is a pass over every point)."""
    ids: list[str] = []
    chunks: list[np.ndarray] = []
    for bid, bvec in store.iter_vectors(batch=sample + len(excl)):
        keep = [k for k, i in enumerate(bid) if i not in excl]
        ids += [bid[k] for k in keep]
        chunks.append(bvec if len(keep) == len(bid) else bvec[keep])
        if len(ids) >= sample:
            break
    vecs = np.concatenate(chunks)[:sample] if chunks else np.zeros((0, store.dim), np.float32)
    if len(ids) < sample:  # read to the end: the population is what was read
        return ids, vecs, len(ids)
    size = getattr(store, "approx_count", store.count)
    return ids[:sample], vecs, max(len(ids), size() - len(excl))


def _check_usable(store: VectorStore, ids: list[str], vecs: np.ndarray) -> None:
    """Clustering (and every explore view, which loads its vectors here) needs every
    vector to have a direction: a NaN or zero vector is a damaged project, said as such
    (k-means++ would stop with numpy's "probabilities contain NaN")."""
    bad = np.flatnonzero(bad_rows(vecs)) if len(vecs) else []
    if len(bad):
        k = int(bad[0])
        raise corrupt_vectors(store, len(bad), ids[k], describe_bad(vecs[k]))


def _init_centres(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with cosine distance: each new centre is drawn with probability
    proportional to its squared distance from the nearest centre so far, which is
    what gives a small, distinct group a centre of its own.

    Greedy: the best of ``2 + ln k`` draws per step (the one leaving the least total
    squared distance). A step is one pass over ``x`` (``x @ candidates.T``, every
    candidate in that one pass) and the nearest-centre distances are updated in place
    in float32: the pass over memory, not the arithmetic, is the cost of a step."""
    n = len(x)
    centres = np.empty((k, x.shape[1]), dtype=np.float32)
    first = int(rng.integers(n))
    centres[0] = x[first]
    dist = x @ x[first]
    np.subtract(1.0, dist, out=dist)
    np.maximum(dist, 0.0, out=dist)
    w = dist * dist
    trials = 2 + int(np.log(k))  # greedy k-means++: the best of a few draws per step
    for j in range(1, k):
        cdf = np.cumsum(w, dtype=np.float64)
        total = float(cdf[-1])
        if total <= 0:
            cand = rng.integers(n, size=1)
        else:  # what rng.choice(n, trials, p=w / total) draws, without its checks
            cand = np.minimum(np.searchsorted(cdf, rng.random(trials) * total, "right"), n - 1)
        cand_dist = x @ x[cand].T  # (n, trials): one pass over x
        np.subtract(1.0, cand_dist, out=cand_dist)
        np.maximum(cand_dist, 0.0, out=cand_dist)
        np.minimum(cand_dist, dist[:, None], out=cand_dist)
        best = int(np.argmin(np.einsum("ij,ij->j", cand_dist, cand_dist)))
        centres[j] = x[cand[best]]
        dist = np.ascontiguousarray(cand_dist[:, best])
        w = np.multiply(dist, dist, out=w)
    return centres


# Lloyd steps stop once at most 1 in SETTLED points changes cluster (0.1 %). Stopping
# at 0.5 % saved ~13 % of the k-means CPU on a 10k sample but lost the rare class of the
# demo data (tests/test_demo_quality.py::test_diverse_covers_classes_better_than_random).
SETTLED = 1000


def _lloyd(
    x: np.ndarray, centres: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lloyd steps of spherical k-means from ``centres``: ``(labels, centres, sims)``,
    ``sims = x @ centres.T`` of the centres returned. Stops when (almost) nobody moves
    (the last 0.1 % only polish centres) or when no centre moves by more than 1e-4 in
    cosine (the labels are then as good as settled)."""
    from scipy.sparse import csr_matrix

    n, k = len(x), len(centres)
    rows = np.arange(n)
    labels = np.full(n, -1)
    sims = x @ centres.T
    for _ in range(max_iter):
        new = sims.argmax(axis=1)
        if np.count_nonzero(new != labels) <= n // SETTLED:
            return new, centres, sims
        labels = new
        sums = csr_matrix((np.ones(n, np.float32), (labels, rows)), shape=(k, n)) @ x
        counts = np.bincount(labels, minlength=k)
        empty = np.flatnonzero(counts == 0)
        if len(empty):  # re-seed empty clusters with the worst-served points
            worst = np.argsort(sims[rows, labels])[: len(empty)]
            sums[empty] = x[worst]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        moved = centres
        centres = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
        sims = x @ centres.T
        shift = 1.0 - float(np.einsum("ij,ij->i", moved, centres).min())
        if shift < 1e-4:
            break
    return sims.argmax(axis=1), centres, sims


# Restarts of k-means: at most this many points get five, more get one (a restart
# costs as much as the whole fit; from ~5,000 points up the seeding alone covers
# every group, measured in benchmarks/bench_diverse.py).
MANY_POINTS = 5_000


def cluster(
    vecs: np.ndarray, k: int, seed: int, n_init: int | None = None, max_iter: int = 25
) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, unit-norm centres)`` of spherical k-means (cosine) on unit vectors.

    Plain numpy: every step is one matrix product, so BLAS does the work; measured
    several times faster here than scikit-learn's KMeans, whose OpenMP threads stall
    when other work (the indexer) shares the cores.
    """
    x = np.ascontiguousarray(vecs, dtype=np.float32)
    n = len(x)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    n_init = n_init or (5 if n <= MANY_POINTS else 1)
    best: tuple[tuple[float, float], np.ndarray, np.ndarray] | None = None
    rows = np.arange(n)
    for _ in range(n_init):
        labels, centres, sims = _lloyd(x, _init_centres(x, k, rng), max_iter)
        # Of the restarts, keep the one whose worst-served image is closest to its
        # centre (the k-center criterion), not the lowest inertia: inertia would rather
        # split a big group than give a rare one its own cluster, and covering every
        # group is what diverse sampling is for. Inertia breaks ties.
        dist = 1.0 - sims[rows, labels]
        score = (round(float(dist.max()), 4), float(dist.sum()))
        if best is None or score < best[0]:
            best = (score, centres, sims)
    assert best is not None
    return _cover_outliers(x, best[1], max_swaps=max(1, k // 10), sims=best[2])


def _tail(dist: np.ndarray) -> float:
    """Mean distance of the worst-served 1 % of images to their centres."""
    m = max(1, len(dist) // 100)
    return float(np.partition(dist, len(dist) - m)[-m:].mean())


def _cover_outliers(
    x: np.ndarray, centres: np.ndarray, max_swaps: int, sims: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Give far-off images clusters of their own, at the cost of redundant centres.

    k-means puts a small group (the 1 % rare class, a handful of odd images) into
    the nearest big cluster, where a nearest-to-centre pick never reaches it. A few
    k-center steps on top of k-means fix that: the two closest centres are merged
    and the worst-served image becomes a centre, kept only if the worst-served 1 %
    of images get closer to their centres (two real groups are never merged).
    ``sims``: ``x @ centres.T`` when the caller has it; a trial recomputes only the
    two columns it changes.
    """
    centres = centres.copy()
    rows = np.arange(len(x))
    sims = x @ centres.T if sims is None else sims
    labels = sims.argmax(axis=1)
    dist = 1.0 - sims[rows, labels]
    for _ in range(max_swaps if len(centres) > 1 else 0):
        between = centres @ centres.T
        np.fill_diagonal(between, -np.inf)
        a, b = np.unravel_index(int(between.argmax()), between.shape)
        trial = centres.copy()
        merged = x[(labels == a) | (labels == b)].sum(axis=0)
        trial[a] = merged / max(float(np.linalg.norm(merged)), 1e-12)
        trial[b] = x[int(dist.argmax())]
        t_sims = sims.copy()
        t_sims[:, [a, b]] = x @ trial[[a, b]].T
        t_labels = t_sims.argmax(axis=1)
        t_dist = 1.0 - t_sims[rows, t_labels]
        if _tail(t_dist) >= _tail(dist):
            break
        centres, sims, labels, dist = trial, t_sims, t_labels, t_dist
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
    n, method, clusters, _, seed = check_args(n, method, clusters, 1, seed)
    if not ids:
        return pd.DataFrame(columns=["id", "score", "cluster", "pick"]), {}
    vecs = np.asarray(vecs, dtype=np.float32)
    if vecs.ndim != 2 or len(vecs) != len(ids):
        raise InvalidArgument(
            f"vecs must be one vector per id: {len(ids)} ids, got an array of shape {vecs.shape}."
        )
    bad = np.flatnonzero(bad_rows(vecs))
    if len(bad):
        raise InvalidArgument(
            f"the vector of id {ids[int(bad[0])]!r} has no direction "
            f"({describe_bad(vecs[int(bad[0])])}; {len(bad)} such vectors): every vector "
            "needs one to be clustered."
        )
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
