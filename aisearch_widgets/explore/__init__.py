"""Explore and curate: one kNN graph over the stored vectors serving a 2-D map,
duplicate groups and outlier scores, and a score cutoff suggested per query.

Every function takes explicit inputs (ids and a float32 matrix of L2-normalised
vectors, a cache folder, a path lookup, a progress callback ``(stage, fraction)``),
not a project; ``Project.map/duplicates/outliers`` are thin wrappers around them.
umap-learn and pynndescent (the ``explore`` extra) are imported only when needed.
"""

from __future__ import annotations

from .duplicates import find_duplicates
from .knn import KnnGraph, MissingExtra, knn_graph
from .map import compute_map
from .outliers import find_outliers, outlier_scores
from .threshold import suggest_threshold

__all__ = [
    "KnnGraph",
    "MissingExtra",
    "compute_map",
    "find_duplicates",
    "find_outliers",
    "knn_graph",
    "outlier_scores",
    "suggest_threshold",
]
