"""Qdrant server adapter (``qdrant_url=``): a Qdrant server or cluster through
``qdrant-client``. Tested against ``QdrantClient(":memory:")``, which implements the
same API in process.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

import numpy as np

from .._errors import check_int
from . import Hit, as_matrix


class ServerStore:
    """Vectors of one model in one collection of a Qdrant server."""

    def __init__(
        self,
        client_or_url: Any,
        collection: str,
        dim: int,
        api_key: str | None = None,
        exact: bool = True,
    ) -> None:
        from qdrant_client import QdrantClient, models

        self._m = models
        if isinstance(client_or_url, str):
            self.client = QdrantClient(url=client_or_url, api_key=api_key)
        else:
            self.client = client_or_url
        self.collection = collection
        self.dim = dim
        self._params = models.SearchParams(exact=exact)
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

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        if not len(ids):
            return
        m = as_matrix(vectors)
        self.client.upsert(
            self.collection,
            points=self._m.Batch(ids=list(ids), vectors=m.tolist(), payloads=list(payloads)),
            wait=True,
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

    def _filter(self, only: Collection[str] | None, exclude: Collection[str] | None) -> Any:
        m = self._m
        must = [m.HasIdCondition(has_id=list(only))] if only is not None else None
        must_not = [m.HasIdCondition(has_id=list(exclude))] if exclude else None
        if must is None and must_not is None:
            return None
        return m.Filter(must=must, must_not=must_not)

    def query(
        self,
        vectors: np.ndarray,
        limit: int,
        only: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        mat = as_matrix(vectors)
        if only is not None and not only:
            return [[] for _ in range(len(mat))]
        flt = self._filter(only, exclude)
        reqs = [
            self._m.QueryRequest(
                query=row.tolist(),
                limit=max(1, int(limit)),
                filter=flt,
                with_payload=True,
                params=self._params,
            )
            for row in mat
        ]
        responses = self.client.query_batch_points(self.collection, requests=reqs)
        return [
            [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in r.points]
            for r in responses
        ]

    def retrieve(self, ids: Sequence[str]) -> dict[str, tuple[np.ndarray, dict]]:
        if not ids:
            return {}
        recs = self.client.retrieve(
            self.collection, ids=list(ids), with_payload=True, with_vectors=True
        )
        return {
            str(r.id): (np.asarray(r.vector, dtype=np.float32), dict(r.payload or {})) for r in recs
        }

    def count(self) -> int:
        return int(self.client.count(self.collection, exact=True).count)

    def scan(self, batch: int = 4096) -> Iterator[tuple[list[str], np.ndarray]]:
        # A batch of 0 would scroll forever without moving on: refuse it.
        batch = check_int("batch", batch, 1)
        offset = None
        while True:
            recs, offset = self.client.scroll(
                self.collection, limit=batch, offset=offset, with_vectors=True, with_payload=False
            )
            if recs:
                yield [str(r.id) for r in recs], np.asarray([r.vector for r in recs], np.float32)
            if offset is None:
                return

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = None
        while True:
            recs, offset = self.client.scroll(
                self.collection, limit=8192, offset=offset, with_vectors=False, with_payload=False
            )
            out.update(str(r.id) for r in recs)
            if offset is None:
                return out

    def close(self) -> None:
        # A client passed in by the caller is theirs to close.
        pass
