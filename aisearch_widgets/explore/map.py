"""A 2-D map of the stored vectors: UMAP (seeded) or PCA (fast, approximate).

UMAP is fitted on at most ``sample`` points (a uniform subset: point ids are
hashes, so the first ids in sorted order are a uniform sample). When the fit covers
every point it reuses the cached kNN graph (``precomputed_knn``), the same graph the
duplicates and outliers use; otherwise it is fitted on the sample's own exact graph
and every other point is placed through the shared graph, at the weighted mean of
its already placed neighbours (how UMAP's ``transform`` starts, without its
optimisation epochs; seeded UMAP runs on one core, so every point not fitted saves
layout time).

The result is cached per state of the vectors. After an update, new points are
placed next to their nearest neighbours among the points already on the map (the
similarity-weighted mean of their 2-D positions, which is how UMAP's own transform
starts; for PCA, the fitted projection), old points keep their places so the map
does not jump, and the whole map is refitted once more than
:data:`REFIT_FRACTION` of the points differ from the last full fit.

>>> df = compute_map(ids, vecs, cache_dir=home / "explore")     # doctest: +SKIP
>>> df.columns.tolist()
['id', 'x', 'y', 'cluster']
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InvalidArgument, check_int, show_value
from . import _cache
from ._cache import Progress, no_progress
from .knn import KnnGraph, exact_knn, knn_graph, require

METHODS = ("umap", "pca")
DEFAULT_SAMPLE = 20_000
REFIT_FRACTION = 0.2
N_NEIGHBORS = 15
#: Points already on the map that new points are compared with (a uniform subset).
PLACE_REFERENCE = 50_000
COLUMNS = ["id", "x", "y", "cluster"]


def _pca(x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, components)`` of a 2-D PCA: the top eigenvectors of the covariance
    of at most 50,000 rows (one d x d product and a d x d eigensolve)."""
    rng = np.random.default_rng(seed)
    sub = x if len(x) <= 50_000 else x[rng.choice(len(x), 50_000, replace=False)]
    mean = sub.mean(axis=0, dtype=np.float64)
    c = sub - mean.astype(np.float32)
    _, vecs = np.linalg.eigh((c.T @ c).astype(np.float64))
    comps = vecs[:, ::-1][:, :2].T.astype(np.float32)
    # A fixed sign per axis, so that two fits of the same data draw the same map.
    flip = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    comps *= np.where(flip == 0, 1, flip)[:, None]
    return mean.astype(np.float32), comps


def _umap(
    x: np.ndarray,
    ids: list[str],
    fit_rows: np.ndarray,
    seed: int,
    cache_dir: Any,
    progress: Progress,
    stamp: str | None = None,
) -> np.ndarray:
    """UMAP coordinates of every row: fitted on ``x[fit_rows]``, the others placed
    through the shared kNN graph (:func:`_propagate`)."""
    umap = require("umap", "map(method='umap')")
    n = len(fit_rows)
    nn = max(2, min(N_NEIGHBORS, n - 1))
    graph = knn_graph(ids, x, k=nn, cache_dir=cache_dir, progress=progress, stamp=stamp)
    if n == len(x):
        knn = graph.umap_knn(nn)
    else:
        idx, sims = exact_knn(x[fit_rows], nn - 1)
        knn = KnnGraph([], idx, sims, True, "").umap_knn(nn)
    reducer = umap.UMAP(
        n_neighbors=nn,
        n_components=2,
        metric="cosine",
        random_state=seed,
        # Spectral init needs a connected graph of some size; tiny inputs use random.
        init="spectral" if n > 2 * nn else "random",
        low_memory=True,
        precomputed_knn=knn,
    )
    progress("layout", 0.0)
    xy = np.zeros((len(x), 2), np.float32)
    with warnings.catch_warnings():
        # n_jobs=1 is forced by random_state; UMAP warns about it every time.
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        # With our graph UMAP has no search index; other points are placed by us.
        warnings.filterwarnings("ignore", message=".*knn_search_index.*", category=UserWarning)
        xy[fit_rows] = reducer.fit_transform(x[fit_rows])
    progress("layout", 1.0)
    if n < len(x):
        placed = np.zeros(len(x), bool)
        placed[fit_rows] = True
        _propagate(xy, placed, graph, x, fit_rows, progress)
    return xy


def _propagate(
    xy: np.ndarray,
    placed: np.ndarray,
    graph: KnnGraph,
    x: np.ndarray,
    fit_rows: np.ndarray,
    progress: Progress,
    rounds: int = 4,
) -> None:
    """Place the unplaced rows at the similarity-weighted mean of their placed graph
    neighbours, round by round (O(n k): the graph is already there); the few left
    with no placed neighbour after ``rounds`` are placed against the fitted sample."""
    idx = graph.indices.astype(np.int64)
    w_all = np.exp(np.where(idx >= 0, graph.sims, -np.inf) * 10.0)
    total = int((~placed).sum())
    for _ in range(rounds):
        todo = np.flatnonzero(~placed)
        if not len(todo):
            break
        nb = idx[todo]
        ok = (nb >= 0) & placed[np.maximum(nb, 0)]
        w = np.where(ok, w_all[todo], 0.0)
        has = w.sum(axis=1) > 0
        rows, nb, w = todo[has], nb[has], w[has]
        xy[rows] = (w[..., None] * xy[np.maximum(nb, 0)]).sum(1) / w.sum(1)[:, None]
        placed[rows] = True
        progress("placing", 1.0 - (~placed).sum() / max(1, total))
    rest = np.flatnonzero(~placed)
    if len(rest):
        xy[rest] = _place(x[rest], x[fit_rows], xy[fit_rows])
    progress("placing", 1.0)


def _place(x_new: np.ndarray, x_ref: np.ndarray, xy_ref: np.ndarray, k: int = 15) -> np.ndarray:
    """New points at the similarity-weighted mean position of their nearest reference
    points (the start of UMAP's transform, without its optimisation epochs)."""
    if not len(x_new):
        return np.zeros((0, 2), np.float32)
    k = max(1, min(k, len(x_ref)))
    out = np.empty((len(x_new), 2), np.float32)
    for start in range(0, len(x_new), 2048):
        s = x_new[start : start + 2048] @ x_ref.T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < len(x_ref) else None
        if part is None:
            part = np.broadcast_to(np.arange(len(x_ref)), s.shape)
        w = np.exp(np.take_along_axis(s, part, 1) * 10.0)  # nearer counts far more
        out[start : start + len(s)] = (w[..., None] * xy_ref[part]).sum(1) / w.sum(1)[:, None]
    return out


def compute_map(
    ids: Sequence[str],
    vecs: Any,
    method: str = "umap",
    sample: int | None = None,
    *,
    clusters: int | None = 20,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    refit: bool = False,
    progress: Progress | None = None,
    stamp: str | None = None,
) -> pd.DataFrame:
    """2-D coordinates for every id: DataFrame ``id, x, y, cluster`` (``cluster`` =
    spherical k-means label of ``clusters`` clusters, -1 everywhere when None).

    ``method``: "umap" (needs the ``explore`` extra) or "pca". ``sample``: the most
    points UMAP is fitted on (default 20,000); the rest are placed through the graph.
    Cached in ``cache_dir`` per state of the vectors; ``refit=True`` ignores the cache.
    ``stamp``: the state of the vectors when the caller has it (see :mod:`._cache`):
    the map is cached with it too, and :func:`cached_map` finds it by the stamp alone.
    ``df.attrs["method"]`` names the method that drew it.
    """
    method, sample, clusters = _check(method, sample, clusters)
    ids, x = _cache.check_inputs(ids, vecs)
    progress = progress or no_progress
    if method == "umap":
        require("umap", "map(method='umap')")
    n = len(ids)
    if n == 0:
        return _said(pd.DataFrame(
            {"id": pd.Series(dtype=object), "x": pd.Series(dtype=np.float32),
             "y": pd.Series(dtype=np.float32), "cluster": pd.Series(dtype=np.int64)}
        ), method, n)  # fmt: skip
    key = f"{method}-{sample}-{clusters}-{seed}"
    path = _cache.cache_path(cache_dir, f"map-{method}.npz")
    old = None if refit else _cache.load(path, "map")
    if old is not None and str(old["key"]) != key:
        old = None
    if old is not None and _cache.matches(old, stamp) and set(old["ids"].tolist()) == set(ids):
        progress("map", 1.0)
        return _said(_frame(ids, old), method, n)
    fp = _cache.fingerprint(ids, x)
    if old is not None and str(old["_fingerprint"]) == fp:
        if stamp is not None:  # found by fingerprint: the next look finds it by stamp
            args = (old["ids"].tolist(), old["xy"], old["cluster"])
            _save(path, fp, key, *args, old["fit_ids"], old["centres"], old["pca"], stamp)
        progress("map", 1.0)
        return _said(_frame(ids, old), method, n)
    if old is not None:
        placed = _incremental(ids, x, old, method)
        if placed is not None:
            xy, lab = placed
            fits = (old["fit_ids"], old["centres"], old["pca"])
            _save(path, fp, key, ids, xy, lab, *fits, stamp)
            progress("map", 1.0)
            frame = _frame(ids, {"ids": np.asarray(ids, dtype=str), "xy": xy, "cluster": lab})
            return _said(frame, method, n)

    order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    fit_rows = np.sort(order[:sample])  # the first hash ids: a uniform subset
    mean, comps = _pca(x[fit_rows], seed)
    if method == "pca" or n < 4:  # UMAP needs a few points; so few are shown by PCA
        xy = ((x - mean) @ comps.T).astype(np.float32)
    else:
        xy = _umap(x, ids, fit_rows, seed, cache_dir, progress, stamp)
    lab = np.full(n, -1, np.int64)
    centres = np.zeros((0, x.shape[1]), np.float32)
    if clusters is not None:
        from ..diverse import cluster

        sub = x[fit_rows[:20_000]]
        _, centres = cluster(sub, max(1, min(clusters, len(sub))), seed, n_init=1)
        lab = np.argmax(x @ centres.T, axis=1).astype(np.int64)
    fits = (np.asarray(ids, dtype=str), centres, np.vstack([mean, comps]))
    _save(path, fp, key, ids, xy, lab, *fits, stamp)
    progress("map", 1.0)
    return _said(
        _frame(ids, {"ids": np.asarray(ids, dtype=str), "xy": xy, "cluster": lab}), method, n
    )


def _said(df: pd.DataFrame, method: str, n: int) -> pd.DataFrame:
    """``df.attrs["method"]``: the method that drew the map ("pca" for fewer than 4
    points even when UMAP was asked for), so that a view can say what it shows."""
    df.attrs["method"] = "pca" if method == "pca" or n < 4 else "umap"
    return df


def _incremental(
    ids: list[str], x: np.ndarray, old: dict[str, np.ndarray], method: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Positions and clusters with the old points kept and new ones placed, or None
    when too much changed since the last full fit (then the caller refits)."""
    fitted = set(old["fit_ids"].tolist())
    now = set(ids)
    changed = len(now - fitted) + len(fitted - now)
    if changed > REFIT_FRACTION * max(len(fitted), len(ids)):
        return None
    known = {i: r for r, i in enumerate(old["ids"].tolist())}
    rows = np.array([known.get(i, -1) for i in ids], np.int64)
    have, new = np.flatnonzero(rows >= 0), np.flatnonzero(rows < 0)
    if not len(have):
        return None
    xy = np.zeros((len(ids), 2), np.float32)
    lab = np.full(len(ids), -1, np.int64)
    xy[have] = old["xy"][rows[have]]
    lab[have] = old["cluster"][rows[have]]
    if len(new):
        if method == "pca":
            mean, comps = old["pca"][0], old["pca"][1:]
            xy[new] = (x[new] - mean) @ comps.T
        else:
            ref = have[:: max(1, len(have) // PLACE_REFERENCE)]
            xy[new] = _place(x[new], x[ref], xy[ref])
        if len(old["centres"]):
            lab[new] = np.argmax(x[new] @ old["centres"].T, axis=1)
    return xy, lab


def _save(path: Any, fp: str, key: str, ids: list[str], xy: np.ndarray, lab: np.ndarray,
          fit_ids: np.ndarray, centres: np.ndarray, pca: np.ndarray,
          stamp: str | None) -> None:  # fmt: skip
    _cache.save(
        path, "map", fp, stamp=stamp, key=key, ids=np.asarray(ids, dtype=str), xy=xy,
        cluster=lab, fit_ids=fit_ids, centres=centres, pca=pca,
    )  # fmt: skip


def _check(method: str, sample: int | None, clusters: int | None) -> tuple[str, int, int | None]:
    """``(method, sample, clusters)`` checked, the default sample filled in."""
    if method not in METHODS:
        raise InvalidArgument(f"Unknown map method {show_value(method)}: use 'umap' or 'pca'.")
    sample = (
        DEFAULT_SAMPLE if sample is None else check_int("sample", sample, 2, " (points fitted)")
    )
    if clusters is not None:
        clusters = check_int("clusters", clusters, 1, " or None")
    return method, sample, clusters


def cached_map(
    cache_dir: str | os.PathLike[str] | None,
    stamp: str,
    method: str = "umap",
    sample: int | None = None,
    *,
    clusters: int | None = 20,
    seed: int = 0,
) -> pd.DataFrame | None:
    """The map :func:`compute_map` cached with these arguments and ``stamp`` (the
    state of the vectors), without the vectors: None when there is none."""
    method, sample, clusters = _check(method, sample, clusters)
    old = _cache.load(_cache.cache_path(cache_dir, f"map-{method}.npz"), "map", stamp=stamp)
    if old is None or str(old["key"]) != f"{method}-{sample}-{clusters}-{seed}":
        return None
    ids = old["ids"].tolist()
    return _said(_frame(ids, old), method, len(ids))


def _frame(ids: list[str], data: dict[str, np.ndarray]) -> pd.DataFrame:
    stored = data["ids"].tolist()
    xy, lab = data["xy"], data["cluster"]
    if stored != ids:
        pos = {i: r for r, i in enumerate(stored)}
        rows = np.array([pos[i] for i in ids], np.int64)
        xy, lab = xy[rows], lab[rows]
    return pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1], "cluster": lab})
