"""One k-nearest-neighbour graph over the stored vectors: it serves the 2-D map
(UMAP takes it as ``precomputed_knn``), the duplicate candidates and the outlier
scores, so the costly part is done once per state of the vectors.

Up to :data:`EXACT_MAX` points the graph is exact: blockwise ``x @ x.T`` with a
partial sort per row, all in BLAS. Above that it is approximate: an inverted-file
search in numpy (:func:`ivf_knn`: k-means cells, each compared exactly with its
nearest cells), which needs no compiler and no extra package. pynndescent
(``method="nndescent"``, part of the ``explore`` extra) was measured too: similar
speed once compiled, lower recall, and 40-70 s of numba compilation in every new
process (numbers in ``benchmarks/README.md``).

>>> g = knn_graph(ids, vecs, k=15, cache_dir=home / "explore")   # doctest: +SKIP
>>> g.indices[0], g.sims[0]          # the neighbours of ids[0], nearest first
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import AISearchError, InvalidArgument, check_int, show_value
from . import _cache
from ._cache import Progress, no_progress

#: Above this many points the graph is approximate (numpy IVF) unless asked otherwise:
#: exact costs n^2 (5.6 s at 20k, ~140 s at 100k here), IVF 16 s at 100k.
EXACT_MAX = 20_000
#: Neighbours kept per point: what UMAP uses by default, and plenty for duplicates
#: (a group larger than k is still joined through chains of pairs).
DEFAULT_K = 15
METHODS = ("auto", "exact", "ivf", "nndescent")


class MissingExtra(AISearchError, ImportError):
    """An optional dependency of the explore features is not installed."""


def require(module: str, what: str) -> Any:
    """Import ``module`` or raise :class:`MissingExtra` saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(
            f"{what} needs the optional package {module.split('.')[0]!r}, which is not "
            "installed: pip install 'aisearch-widgets[explore]'"
        ) from exc


@dataclass(frozen=True)
class KnnGraph:
    """``indices[i]`` are the rows of the ``k`` nearest other points of ``ids[i]``,
    nearest first, and ``sims[i]`` their cosine similarities. Where fewer than ``k``
    other points exist, indices are -1 and similarities -inf."""

    ids: list[str]
    indices: np.ndarray  # (n, k) int32
    sims: np.ndarray  # (n, k) float32, descending per row
    exact: bool
    fingerprint: str

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    def __len__(self) -> int:
        return len(self.ids)

    def umap_knn(self, n_neighbors: int) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, cosine distances)`` with each point first in its own row, the
        layout ``umap.UMAP(precomputed_knn=...)`` expects."""
        m = min(n_neighbors - 1, self.k)
        n = len(self.indices)
        idx = np.concatenate([np.arange(n, dtype=np.int32)[:, None], self.indices[:, :m]], 1)
        dist = np.concatenate([np.zeros((n, 1), np.float32), 1.0 - self.sims[:, :m]], 1)
        return idx, np.clip(dist, 0.0, 2.0).astype(np.float32)


def exact_knn(
    x: np.ndarray, k: int, block: int = 2048, progress: Progress = no_progress
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(indices, sims)`` of the ``k`` nearest other rows of unit vectors ``x``."""
    n = len(x)
    idx = np.full((n, k), -1, np.int32)
    sims = np.full((n, k), -np.inf, np.float32)
    m = min(k, n - 1)
    if m <= 0:
        return idx, sims
    for start in range(0, n, block):
        stop = min(n, start + block)
        s = x[start:stop] @ x.T
        rows = np.arange(stop - start)
        s[rows, rows + start] = -np.inf  # not its own neighbour (an exact copy still is)
        if m < n - 1:
            part = np.argpartition(s, n - m, axis=1)[:, n - m :]
        else:
            part = np.broadcast_to(np.arange(n), s.shape)
        ps = np.take_along_axis(s, part, 1)
        order = np.argsort(-ps, axis=1, kind="stable")[:, :m]
        idx[start:stop, :m] = np.take_along_axis(part, order, 1)
        sims[start:stop, :m] = np.take_along_axis(ps, order, 1)
        progress("neighbours", stop / n)
    return idx, sims


def _top_k(s: np.ndarray, cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``s``, the ``k`` best columns (as ``cols`` entries) and their values."""
    m = min(k, s.shape[1])
    part = np.argpartition(-s, m - 1, axis=1)[:, :m] if m < s.shape[1] else None
    if part is None:
        part = np.broadcast_to(np.arange(s.shape[1]), s.shape)
    ps = np.take_along_axis(s, part, 1)
    order = np.argsort(-ps, axis=1, kind="stable")
    return cols[np.take_along_axis(part, order, 1)], np.take_along_axis(ps, order, 1)


def ivf_knn(
    x: np.ndarray, k: int, seed: int = 0, probes: int = 8, progress: Progress = no_progress
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ``(indices, sims)`` in plain numpy: the points are split into
    about 2*sqrt(n) k-means cells, and each cell's points are compared exactly with
    the points of the ``probes`` cells whose centres are nearest its own. Every step
    is a matrix product (BLAS); nothing is compiled, so the first call is as fast as
    the next (pynndescent spends ~40-70 s compiling in each new process here)."""
    n = len(x)
    rng = np.random.default_rng(seed)
    cells = int(np.clip(2 * np.sqrt(n), 8, 4096))
    sample = x[rng.choice(n, min(n, 40 * cells), replace=False)]
    centres = sample[rng.choice(len(sample), cells, replace=False)].copy()
    for _ in range(8):  # spherical k-means on the sample
        lab = np.argmax(sample @ centres.T, axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, lab, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        keep = norms[:, 0] > 0
        centres[keep] = sums[keep] / norms[keep]
    progress("neighbours", 0.05)
    labels = np.empty(n, np.int64)
    for start in range(0, n, 16384):
        labels[start : start + 16384] = np.argmax(x[start : start + 16384] @ centres.T, axis=1)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(cells + 1))
    near = np.argsort(-(centres @ centres.T), axis=1)[:, : min(probes, cells)]
    idx = np.full((n, k), -1, np.int32)
    sims = np.full((n, k), -np.inf, np.float32)
    for c in range(cells):
        members = order[bounds[c] : bounds[c + 1]]
        if not len(members):
            continue
        cand = np.concatenate([order[bounds[p] : bounds[p + 1]] for p in near[c]])
        rows = max(16, 2**25 // max(1, len(cand)))  # bounded memory for a huge cell
        for start in range(0, len(members), rows):
            q = members[start : start + rows]
            s = x[q] @ x[cand].T
            s[cand[None, :] == q[:, None]] = -np.inf  # not its own neighbour
            top_i, top_s = _top_k(s, cand, k)
            m = top_i.shape[1]
            idx[q, :m] = top_i
            sims[q, :m] = top_s
        if c % 64 == 0:
            progress("neighbours", 0.05 + 0.95 * (c + 1) / cells)
    sims[idx < 0] = -np.inf
    progress("neighbours", 1.0)
    return idx, sims


def approx_knn(
    x: np.ndarray, k: int, seed: int = 0, progress: Progress = no_progress
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ``(indices, sims)`` by NN-descent (pynndescent)."""
    pynndescent = require("pynndescent", "An approximate neighbour graph")
    n = len(x)
    progress("neighbours", 0.0)
    # Euclidean on unit vectors orders like cosine and is pynndescent's fastest metric.
    index = pynndescent.NNDescent(
        x,
        metric="euclidean",
        n_neighbors=min(n - 1, k + 1),
        random_state=seed,
        low_memory=True,
        compressed=True,
        n_jobs=os.cpu_count() or 1,
    )
    raw_idx, raw_dist = index.neighbor_graph
    raw_idx = raw_idx.astype(np.int64)
    # Drop each point from its own row (usually column 0; not always for exact copies).
    self_hit = raw_idx == np.arange(n)[:, None]
    keep = ~self_hit
    no_self = ~self_hit.any(axis=1)
    keep[no_self, -1] = False  # no self found: drop the farthest instead
    m = raw_idx.shape[1] - 1
    idx = raw_idx[keep].reshape(n, m)
    sims = (1.0 - raw_dist[keep].reshape(n, m).astype(np.float64) ** 2 / 2).astype(np.float32)
    out_i = np.full((n, k), -1, np.int32)
    out_s = np.full((n, k), -np.inf, np.float32)
    m = min(m, k)
    out_i[:, :m], out_s[:, :m] = idx[:, :m], sims[:, :m]
    out_i[out_i < 0] = -1
    progress("neighbours", 1.0)
    return out_i, out_s


def knn_graph(
    ids: Sequence[str],
    vecs: Any,
    k: int = DEFAULT_K,
    cache_dir: str | os.PathLike[str] | None = None,
    method: str = "auto",
    seed: int = 0,
    progress: Progress | None = None,
    *,
    stamp: str | None = None,
) -> KnnGraph:
    """The kNN graph of ``(ids, vecs)`` (unit vectors), cached in ``cache_dir``.

    ``method``: "exact" (numpy), "ivf" (numpy, approximate), "nndescent"
    (pynndescent, approximate) or "auto" (exact up to :data:`EXACT_MAX` points, ivf
    above). A cached graph is reused when the ids and
    vectors are unchanged (in any order) and it has at least ``k`` neighbours.
    ``stamp``: the state of the vectors when the caller has it (see :mod:`._cache`):
    a graph cached with that stamp is reused without fingerprinting the vectors.
    """
    k = check_int("k", k, 1, " (neighbours per point)")
    if method not in METHODS:
        raise InvalidArgument(f"Unknown method {show_value(method)}: use one of {METHODS}.")
    ids, x = _cache.check_inputs(ids, vecs)
    progress = progress or no_progress
    exact = method == "exact" or (method == "auto" and len(ids) <= EXACT_MAX)
    path = _cache.cache_path(cache_dir, "knn.npz")
    fp = None
    hit = _cache.load(path, "knn", stamp=stamp) if stamp is not None else None
    if hit is None:
        fp = _cache.fingerprint(ids, x)
        hit = _cache.load(path, "knn", fp)
    if hit is not None and hit["indices"].shape[1] >= k and (bool(hit["exact"]) or not exact):
        graph = _reorder(hit, ids, str(hit["_fingerprint"]), k)
        if graph is not None:
            if stamp is not None and not _cache.matches(hit, stamp):  # found by fingerprint
                keep = {n: a for n, a in hit.items() if not n.startswith("_")}
                _cache.save(path, "knn", graph.fingerprint, stamp=stamp, **keep)
            progress("neighbours", 1.0)
            return graph
    fp = fp or _cache.fingerprint(ids, x)
    if exact or len(ids) <= k + 1:
        idx, sims = exact_knn(x, k, progress=progress)
        exact = True
    elif method == "nndescent":
        idx, sims = approx_knn(x, k, seed, progress)
    else:
        idx, sims = ivf_knn(x, k, seed, progress=progress)
    _cache.save(
        path, "knn", fp, stamp=stamp,
        ids=np.asarray(ids, dtype=str), indices=idx, sims=sims, exact=exact,
    )  # fmt: skip
    return KnnGraph(ids, idx, sims, exact, fp)


def _reorder(hit: dict[str, np.ndarray], ids: list[str], fp: str, k: int) -> KnnGraph | None:
    """The cached graph in the row order of ``ids`` (the same set, maybe reordered)."""
    old_ids = hit["ids"].tolist()
    if len(old_ids) != len(ids):
        return None
    idx, sims = hit["indices"][:, :k], hit["sims"][:, :k]
    if old_ids != ids:
        pos = {i: r for r, i in enumerate(ids)}
        try:
            new_row = np.array([pos[i] for i in old_ids], dtype=np.int32)
        except KeyError:
            return None
        back = np.empty(len(ids), np.int64)
        back[new_row] = np.arange(len(ids))
        idx = np.where(idx >= 0, new_row[np.maximum(idx, 0)], -1)[back]
        sims = sims[back]
    return KnnGraph(ids, idx.astype(np.int32), sims.astype(np.float32), bool(hit["exact"]), fp)
