"""Vector stores: where embeddings live.

:class:`VectorStore` is the small protocol the rest of the package uses; two real
adapters implement it: :class:`~.edge.EdgeStore` (Qdrant Edge, embedded, the
default) and :class:`~.server.ServerStore` (a Qdrant server or cluster through
``qdrant-client``). One store holds the vectors of exactly one model.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Hit:
    """One search result: point id, cosine similarity and payload."""

    id: str
    score: float
    payload: dict[str, Any]


@runtime_checkable
class VectorStore(Protocol):
    """What the engine needs from a vector database. Vectors are L2-normalised
    float32 rows; scores are cosine similarities (higher is closer)."""

    dim: int

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        """Insert or replace points; durable when the call returns."""

    def delete(self, ids: Sequence[str]) -> None:
        """Remove points; unknown ids are ignored."""

    def query(
        self,
        vectors: np.ndarray,
        limit: int,
        only: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        """Nearest points for each query row, best first, equal to exact search."""

    def retrieve(self, ids: Sequence[str]) -> dict[str, tuple[np.ndarray, dict]]:
        """Vectors and payloads of the given ids that exist."""

    def count(self) -> int:
        """Number of points."""

    def scan(self, batch: int = 4096) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every point id with its vector, in batches."""

    def ids(self) -> set[str]:
        """Every point id (no vectors)."""

    def flush(self) -> None:
        """Make acknowledged writes durable on disk."""

    def maybe_optimize(self) -> bool:
        """Housekeeping after a sync (may take a while); True if anything changed."""

    def close(self) -> None:
        """Release files and connections."""


def as_matrix(vectors: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """A 2-D float32 array of L2-normalised rows."""
    m = np.asarray(vectors, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


__all__ = ["Hit", "VectorStore", "as_matrix"]
