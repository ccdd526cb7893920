"""Qdrant Edge adapter: the real Qdrant engine, embedded in this process.

One shard directory per (project, model). Searches run as exact scans by default:
on clustered CLIP-like data the HNSW graph loses recall to near-ties, and exact
search was measured fast enough (see benchmarks/README.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import numpy as np

from .._errors import ProjectLocked
from . import Hit, as_matrix

try:  # imported lazily by users of the server adapter alone
    import qdrant_edge as qe
except ImportError:  # pragma: no cover - it is a dependency
    qe = None  # type: ignore[assignment]


class EdgeStore:
    """Vectors of one model in an embedded Qdrant Edge shard at ``path``."""

    def __init__(self, path: str | os.PathLike[str], dim: int, exact: bool = True) -> None:
        if qe is None:  # pragma: no cover
            raise ImportError("qdrant-edge-py is not installed: pip install qdrant-edge-py")
        self.path = os.fspath(path)
        self.dim = dim
        self._params = qe.SearchParams(exact=exact)
        # The shard is thread-safe for reads and writes, but close() must not race a
        # query: a reader/writer guard is overkill, one lock around close suffices.
        self._close_lock = threading.Lock()
        config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine))
        try:
            if os.path.isdir(self.path) and os.listdir(self.path):
                self._shard = qe.EdgeShard.load(self.path)
                stored = self._shard_dim()
                if stored is not None and stored != dim:
                    self._shard.close()
                    raise ValueError(
                        f"{self.path} holds {stored}-d vectors, the model gives {dim}-d"
                    )
            else:
                os.makedirs(self.path, exist_ok=True)
                self._shard = qe.EdgeShard.create(self.path, config)
        except Exception as exc:
            if "WouldBlock" in str(exc):
                raise ProjectLocked(
                    f"The vector shard {self.path} is open in another process or in another "
                    "Project object of this one. Close that one (proj.close()) first, or use a "
                    "Qdrant server (qdrant_url=...) to share a project between processes."
                ) from exc
            raise

    def _shard_dim(self) -> int | None:
        recs, _ = self._shard.scroll(qe.ScrollRequest(limit=1, with_vector=True))
        if not recs:
            return None
        return len(_vec(recs[0].vector))

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, payloads: Sequence[dict]) -> None:
        if not len(ids):
            return
        m = as_matrix(vectors)
        points = [
            qe.Point(i, row.tolist(), dict(p)) for i, row, p in zip(ids, m, payloads, strict=True)
        ]
        self._shard.update(qe.UpdateOperation.upsert_points(points))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._shard.update(qe.UpdateOperation.delete_points(list(ids)))

    def flush(self) -> None:
        self._shard.flush()

    @staticmethod
    def _filter(only: Collection[str] | None, exclude: Collection[str] | None) -> Any:
        must = [qe.HasIdCondition(set(only))] if only is not None else None
        must_not = [qe.HasIdCondition(set(exclude))] if exclude else None
        if must is None and must_not is None:
            return None
        return qe.Filter(must=must, must_not=must_not)

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
        flt = self._filter(only, exclude)
        reqs = [
            qe.QueryRequest(
                limit=max(1, int(limit)),
                query=qe.Query.Nearest(row.tolist()),
                filter=flt,
                with_payload=True,
                params=self._params,
            )
            for row in m
        ]
        if len(reqs) == 1:
            results = [self._shard.query(reqs[0])]
        else:
            results = self._shard.query_batch(qe.QueryBatchRequest(reqs))
        return [[Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in r] for r in results]

    def retrieve(self, ids: Sequence[str]) -> dict[str, tuple[np.ndarray, dict]]:
        if not ids:
            return {}
        recs = self._shard.retrieve(list(ids), with_payload=True, with_vector=True)
        return {
            str(r.id): (np.asarray(_vec(r.vector), dtype=np.float32), dict(r.payload or {}))
            for r in recs
        }

    def count(self) -> int:
        return int(self._shard.count(qe.CountRequest(exact=True)))

    def scan(self, batch: int = 4096) -> Iterator[tuple[list[str], np.ndarray]]:
        offset = None
        while True:
            recs, offset = self._shard.scroll(
                qe.ScrollRequest(offset=offset, limit=batch, with_vector=True, with_payload=False)
            )
            if recs:
                yield (
                    [str(r.id) for r in recs],
                    np.asarray([_vec(r.vector) for r in recs], dtype=np.float32),
                )
            if offset is None:
                return

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = None
        while True:
            recs, offset = self._shard.scroll(
                qe.ScrollRequest(offset=offset, limit=8192, with_vector=False, with_payload=False)
            )
            out.update(str(r.id) for r in recs)
            if offset is None:
                return out

    def optimize(self) -> bool:
        return bool(self._shard.optimize())

    def close(self) -> None:
        with self._close_lock:
            shard, self._shard = getattr(self, "_shard", None), None
            if shard is not None:
                shard.flush()
                shard.close()


def _vec(v: Any) -> list[float]:
    if isinstance(v, dict):  # named vectors: ours is the default "" one
        v = v.get("", next(iter(v.values())))
    return v
