"""Qdrant server adapter (``qdrant_url=``): a Qdrant server or cluster through
``qdrant-client``. Tested against ``QdrantClient(":memory:")``, which implements the
same API in process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import Hit, as_matrix
from .base import StoreBase


class ServerStore(StoreBase):
    """Vectors of one model in one collection of a Qdrant server."""

    def __init__(
        self, client_or_url: Any, collection: str, dim: int, api_key: str | None = None
    ) -> None:
        from qdrant_client import QdrantClient, models

        self._m = models
        if isinstance(client_or_url, str):
            self.client = QdrantClient(url=client_or_url, api_key=api_key)
        else:
            self.client = client_or_url
        self.collection = collection
        self.dim = dim
        self._params = models.SearchParams(exact=True)
        if not self.client.collection_exists(collection):
            self.client.create_collection(
                collection,
                vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            )
        else:
            info = self.client.get_collection(collection)
            size = getattr(info.config.params.vectors, "size", None)
            if size is not None and size != dim:
                raise ValueError(
                    f"Qdrant collection {collection!r} holds {size}-d vectors, the model gives {dim}-d"
                )

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        m = as_matrix(vectors)
        self.client.upsert(
            self.collection, points=self._m.Batch(ids=list(ids), vectors=m.tolist()), wait=True
        )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.client.delete(
                self.collection, points_selector=self._m.PointIdsList(points=list(ids)), wait=True
            )

    def flush(self) -> None:  # the server makes writes durable with wait=True
        pass

    def maybe_optimize(self) -> bool:  # the server runs its own optimizers
        return False

    def _id_filter(self, only: list[str] | None, exclude: list[str] | None) -> Any:
        m = self._m
        return m.Filter(
            must=None if only is None else [m.HasIdCondition(has_id=only)],
            must_not=[m.HasIdCondition(has_id=exclude)] if exclude else None,
        )

    def _search(self, rows: list[list[float]], limit: int, flt: Any) -> list[list[Hit]]:
        reqs = [
            self._m.QueryRequest(
                query=row, limit=limit, filter=flt, with_payload=False, params=self._params
            )
            for row in rows
        ]
        responses = self.client.query_batch_points(self.collection, requests=reqs)
        return [[Hit(str(p.id), float(p.score)) for p in r.points] for r in responses]

    def _scroll(
        self, offset: Any, limit: int, with_vectors: bool
    ) -> tuple[list[str], list[Any], Any]:
        recs, nxt = self.client.scroll(
            self.collection,
            limit=limit,
            offset=offset,
            with_vectors=with_vectors,
            with_payload=False,
        )
        return [str(r.id) for r in recs], [r.vector for r in recs] if with_vectors else [], nxt

    def retrieve(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        recs = self.client.retrieve(
            self.collection, ids=list(ids), with_payload=False, with_vectors=True
        )
        return {str(r.id): np.asarray(r.vector, dtype=np.float32) for r in recs}

    def count(self) -> int:
        return int(self.client.count(self.collection, exact=True).count)

    def close(self) -> None:
        # A client passed in by the caller is theirs to close.
        pass
