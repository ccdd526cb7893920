"""Unusual images: the distance to the k-th nearest neighbour in the kNN graph.

An image far from even its k-th neighbour sits in an empty region of the embedding
space: broken, off-domain or rare. A handful of similar oddities (a few noise
images) are each other's first neighbours, which is why the k-th and not the first
neighbour is used: a group smaller than k still scores high.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InvalidArgument, check_int
from . import _cache
from ._cache import Progress
from .knn import KnnGraph, knn_graph

DEFAULT_K = 10


def outlier_scores(
    ids: Sequence[str],
    vecs: Any,
    k: int = DEFAULT_K,
    *,
    graph: KnnGraph | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Per id, the cosine distance to its k-th nearest other point (higher = more
    unusual; with fewer than k other points, to the farthest one; 0 for a lone point)."""
    k = check_int("k", k, 1, " (the neighbour whose distance is the score)")
    ids, x = _cache.check_inputs(ids, vecs)
    if len(ids) < 2:
        return np.zeros(len(ids), np.float64)
    if graph is None:
        graph = knn_graph(ids, x, k=max(k, 15), cache_dir=cache_dir, progress=progress)
    elif graph.ids != ids:
        raise InvalidArgument("graph was built for other ids (or another order) than ids.")
    m = min(k, graph.k, len(ids) - 1)
    return (1.0 - graph.sims[:, m - 1].astype(np.float64)).clip(0.0, 2.0)


def find_outliers(
    ids: Sequence[str],
    vecs: Any,
    n: int = 100,
    k: int = DEFAULT_K,
    **kwargs: Any,
) -> pd.DataFrame:
    """The ``n`` most unusual ids: DataFrame ``id, score, rank``, highest score first."""
    n = check_int("n", n, 1, " (how many outliers to return)")
    ids = [str(i) for i in ids]
    scores = outlier_scores(ids, vecs, k, **kwargs)
    order = np.lexsort((np.asarray(ids, dtype=str), -scores))[:n] if len(ids) else []
    return pd.DataFrame(
        {
            "id": [ids[i] for i in order],
            "score": scores[order] if len(ids) else np.zeros(0),
            "rank": np.arange(1, len(order) + 1),
        }
    )
