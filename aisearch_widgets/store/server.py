"""Qdrant server adapter (``qdrant_url=``): a Qdrant server or cluster through
``qdrant-client``. Tested against ``QdrantClient(":memory:")``, which implements the
same API in process.

A new collection gets the layout the embedded store uses (int8 scalar quantization,
quantile 0.99, the int8 copy always in RAM, no HNSW graph: every search is a quantized
scan rescored in float32, so results equal exact search) plus what a cluster needs:
``shard_number``, ``replication_factor``, ``on_disk`` float32 vectors (read only to
rescore), and an optional graph (``hnsw_m``) for collections too large to scan. See
README "Scaling out". An existing collection keeps the layout it was created with.

Upserts are split into chunks of ``upsert_batch`` points sent by ``upsert_threads``
threads, each with ``wait=True``: the call returns once every chunk is applied, so
the indexer's "vectors before catalog" order holds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .base import Hit, StoreBase, as_matrix, hits_of


class ServerStore(StoreBase):
    """Vectors of one model in one collection of a Qdrant server."""

    def __init__(
        self,
        client_or_url: Any,
        collection: str,
        dim: int,
        api_key: str | None = None,
        *,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        on_disk: bool = False,
        quantization: str | None = "int8",
        oversampling: float = 4.0,
        hnsw_m: int = 0,
        hnsw_ef: int = 256,
        upsert_batch: int = 256,
        upsert_threads: int = 4,
    ) -> None:
        from qdrant_client import QdrantClient, models

        from .._errors import check_int

        if quantization not in (None, "int8"):
            raise ValueError(f"quantization must be 'int8' or None, not {quantization!r}")
        self._m = models
        if isinstance(client_or_url, str):
            self.client = QdrantClient(url=client_or_url, api_key=api_key)
        else:
            self.client = client_or_url
        self.collection = collection
        self.dim = dim
        self.upsert_batch = check_int("upsert_batch", upsert_batch, 1)
        # The in-process client (":memory:", a local path) is not meant for
        # concurrent writers: one thread there.
        local = type(getattr(self.client, "_client", None)).__name__ == "QdrantLocal"
        self.upsert_threads = 1 if local else check_int("upsert_threads", upsert_threads, 1)
        if not self.client.collection_exists(collection):
            quant = None
            if quantization == "int8":
                # always_ram: a scan reads every int8 vector per query; quantile 0.99
                # clips rare outliers so the rest keep more of the 256 levels.
                quant = models.ScalarQuantization(
                    scalar=models.ScalarQuantizationConfig(
                        type=models.ScalarType.INT8, quantile=0.99, always_ram=True
                    )
                )
            # Set on the vector (not the collection) so the config travels with it.
            self.client.create_collection(
                collection,
                vectors_config=models.VectorParams(
                    size=dim,
                    distance=models.Distance.COSINE,
                    on_disk=on_disk,
                    quantization_config=quant,
                    hnsw_config=models.HnswConfigDiff(
                        m=hnsw_m, ef_construct=100, full_scan_threshold=10_000
                    ),
                ),
                shard_number=shard_number,
                replication_factor=replication_factor,
            )
        info = self.client.get_collection(collection)
        vp = info.config.params.vectors
        size = getattr(vp, "size", None)
        if size is not None and size != dim:
            raise ValueError(
                f"Qdrant collection {collection!r} holds {size}-d vectors, the model gives {dim}-d"
            )
        self._params = self._search_params(vp, info, oversampling, hnsw_ef)

    def _search_params(self, vp: Any, info: Any, oversampling: float, hnsw_ef: int) -> Any:
        """Quantized collections: a quantized search rescored in float32 (with no graph
        it scans every point, as exact as exact=True and several times faster). Others
        (created before these options): exact search, as before."""
        m = self._m
        quant = getattr(vp, "quantization_config", None) or info.config.quantization_config
        if quant is None:
            return m.SearchParams(exact=True)
        hnsw = getattr(vp, "hnsw_config", None)
        graph = bool(getattr(hnsw, "m", None) if hnsw is not None else info.config.hnsw_config.m)
        return m.SearchParams(
            exact=False,
            hnsw_ef=hnsw_ef if graph else None,
            quantization=m.QuantizationSearchParams(rescore=True, oversampling=float(oversampling)),
        )

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        m = as_matrix(vectors)
        ids, n, b = list(ids), len(ids), self.upsert_batch

        def send(i: int) -> None:
            batch = self._m.Batch(ids=ids[i : i + b], vectors=m[i : i + b].tolist())
            self.client.upsert(self.collection, points=batch, wait=True)

        starts = range(0, n, b)
        with self._writing():
            if self.upsert_threads == 1 or n <= b:
                for i in starts:
                    send(i)
                return
            with ThreadPoolExecutor(min(self.upsert_threads, len(starts))) as pool:
                list(pool.map(send, starts))  # re-raises the first failure

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self._writing():
                self.client.delete(
                    self.collection,
                    points_selector=self._m.PointIdsList(points=list(ids)),
                    wait=True,
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

    def _search(
        self,
        rows: list[list[float]],
        limit: int,
        flt: Any,
        exact: bool = False,
        keep: Collection[str] | None = None,
        rank: int | None = None,
    ) -> list[list[Hit]]:
        # ``rank`` is not used: the server rescores with the collection's own settings.
        params = self._m.SearchParams(exact=True) if exact else self._params
        reqs = [
            self._m.QueryRequest(
                query=row, limit=limit, filter=flt, with_payload=False, params=params
            )
            for row in rows
        ]
        responses = self.client.query_batch_points(self.collection, requests=reqs)
        return [hits_of(r.points, keep) for r in responses]

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

    def _size(self) -> int:
        return int(self.client.count(self.collection, exact=False).count)

    def close(self) -> None:
        # A client passed in by the caller is theirs to close.
        pass
