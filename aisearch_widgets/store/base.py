"""What the two store adapters share: the result type (:class:`Hit`), the row
normalisation (:func:`as_matrix`), id filters (an empty ``only`` finds nothing
without asking the engine), batched queries and the scrolling loops. An adapter
supplies three small hooks: ``_id_filter``, ``_search`` and ``_scroll``."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import check_int


@dataclass(frozen=True)
class Hit:
    """One search result: point id and cosine similarity."""

    id: str
    score: float


def as_matrix(vectors: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """A 2-D float32 array of L2-normalised rows."""
    m = np.asarray(vectors, dtype=np.float32)
    if m.ndim == 1:
        m = m[None, :]
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


class StoreBase:
    """Base of :class:`~.edge.EdgeStore` and :class:`~.server.ServerStore`."""

    dim: int

    # -- hooks ------------------------------------------------------------------------
    def _id_filter(self, only: list[str] | None, exclude: list[str] | None) -> Any:
        """The engine's filter: ids in ``only`` (if given) and not in ``exclude``."""
        raise NotImplementedError

    def _search(self, rows: list[list[float]], limit: int, flt: Any) -> list[list[Hit]]:
        """Nearest points of each query row under ``flt``, best first."""
        raise NotImplementedError

    def _scroll(
        self, offset: Any, limit: int, with_vectors: bool
    ) -> tuple[list[str], list[Any], Any]:
        """One page: ``(ids, vectors or [], next offset or None)``."""
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------
    def query(
        self,
        vectors: np.ndarray,
        limit: int,
        only: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        m = as_matrix(vectors)
        if only is not None and not only:
            return [[] for _ in range(len(m))]
        flt = None
        if only is not None or exclude:
            flt = self._id_filter(
                None if only is None else list(only), list(exclude) if exclude else None
            )
        return self._search(m.tolist(), max(1, int(limit)), flt)

    def iter_vectors(self, batch: int = 4096) -> Iterator[tuple[list[str], np.ndarray]]:
        # A batch of 0 would scroll forever without moving on: refuse it.
        batch = check_int("batch", batch, 1)
        offset = None
        while True:
            ids, vecs, offset = self._scroll(offset, batch, True)
            if ids:
                yield ids, np.asarray(vecs, dtype=np.float32)
            if offset is None:
                return

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = None
        while True:
            ids, _, offset = self._scroll(offset, 8192, False)
            out.update(ids)
            if offset is None:
                return out
