"""Qdrant Edge adapter: the real Qdrant engine, embedded in this process.

One shard directory per (project, model). Searches always scan every vector: on
clustered CLIP-like data an HNSW graph loses recall to near-ties (recall@100 0.81-0.93
at hnsw_ef 256-1024, measured by benchmarks/bench_store.py), so shards build no graph.

What makes the scan fast is int8 scalar quantization: ``optimize()`` rewrites the
vectors into compact segments that also hold an int8 copy (a quarter of the float32
bytes), the scan runs over that copy, and the best ``limit * oversampling``
candidates are rescored with the float32 vectors. The returned order and scores are
those of float32 cosine; measured at 1M clustered vectors the top-100 equals exact
search for image-like and text-like queries alike, ~3-4x faster than the float32
scan. Points written since the last ``optimize()`` sit in an appendable segment that
is scanned in float32, so results stay exact at every moment; ``maybe_optimize()``
(called by the indexer at the end of a sync) runs the optimizer once enough of them
have piled up (it rewrites the whole shard and blocks searches while it runs, hence
the geometric trigger below and never in the middle of a sync).
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from .._errors import ProjectLocked
from .base import Hit, StoreBase, as_matrix, hits_of

try:  # imported lazily by users of the server adapter alone
    import qdrant_edge as qe
except ImportError:  # pragma: no cover - it is a dependency
    qe = None  # type: ignore[assignment]

# maybe_optimize() optimizes once the points outside optimized segments reach this many, and at
# least this fraction of those inside: every optimize() rewrites the whole shard, so a
# geometric trigger keeps the total rewrite work a small multiple of the data (~5x for
# 0.25), while the float32-scanned tail never exceeds a quarter of the shard.
OPTIMIZE_MIN_PENDING = 20_000
_CANONICAL = re.compile("[0-9a-fA-F]{8}-" + "[0-9a-fA-F]{4}-" * 3 + "[0-9a-fA-F]{12}")
_EXACT = qe.SearchParams(exact=True) if qe is not None else None
OPTIMIZE_PENDING_FRACTION = 0.25
# Rescoring of the quantized scan: see oversampling_for().
RESCORE_MIN_FACTOR = 2.0
RESCORE_MIN_CANDIDATES = 400


class EdgeStore(StoreBase):
    """Vectors of one model in an embedded Qdrant Edge shard at ``path``.

    ``quantization="int8"`` (the default) creates a shard with int8 scalar
    quantization and no HNSW graph, searched with a quantized full scan rescored in
    float32 (``oversampling`` candidates per result; by default
    :func:`oversampling_for` the limit); ``None`` creates a plain float32
    shard, searched with exact scans. An existing shard keeps the layout and size it
    was created with (read from its config: ``dim=None`` takes it from there).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        dim: int | None = None,
        *,
        quantization: str | None = "int8",
        oversampling: float | None = None,
        auto_optimize: bool = True,
    ) -> None:
        if qe is None:  # pragma: no cover
            raise ImportError("qdrant-edge-py is not installed: pip install qdrant-edge-py")
        if quantization not in (None, "int8"):
            raise ValueError(f"quantization must be 'int8' or None, not {quantization!r}")
        self.path = os.fspath(path)
        self._auto_optimize = auto_optimize
        # The shard is thread-safe for reads and writes, but close() must not race a
        # query: a reader/writer guard is overkill, one lock around close suffices.
        self._close_lock = threading.Lock()
        # Two threads must not optimize at once.
        self._optimize_lock = threading.Lock()
        try:
            if os.path.isdir(self.path) and os.listdir(self.path):
                stored, self._quantized = _layout(self.path)
                if dim is not None and stored != dim:
                    raise ValueError(
                        f"{self.path} holds {stored}-d vectors, the model gives {dim}-d"
                    )
                dim = stored
                self._shard = qe.EdgeShard.load(self.path)
            else:
                if dim is None:
                    raise ValueError(f"{self.path}: a new shard needs the vector size")
                os.makedirs(self.path, exist_ok=True)
                self._shard = qe.EdgeShard.create(self.path, _config(dim, quantization))
                self._quantized = quantization is not None
        except Exception as exc:
            if "WouldBlock" in str(exc):
                raise ProjectLocked(
                    f"The vector shard {self.path} is open in another process or in another "
                    "Project object of this one. Close that one (proj.close()) first, or use a "
                    "Qdrant server (qdrant_url=...) to share a project between processes."
                ) from exc
            raise
        self.dim = dim
        self._oversampling = None if oversampling is None else float(oversampling)
        self._params_by_factor: dict[float, Any] = {}

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        rows = as_matrix(vectors).tolist()  # one conversion, not one per row
        points = [qe.Point(i, r) for i, r in zip(ids, rows, strict=True)]
        with self._writing():
            self._shard.update(qe.UpdateOperation.upsert_points(points))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self._writing():
                self._shard.update(qe.UpdateOperation.delete_points(list(ids)))

    def flush(self) -> None:
        self._shard.flush()

    def maybe_optimize(self) -> bool:
        """Optimize if enough points wait outside the quantized segments. The indexer
        calls this once at the end of a sync, never between batches: the rewrite
        blocks searches while it runs."""
        if self._quantized and self._auto_optimize and self._needs_optimize():
            return self.optimize()
        return False

    def _needs_optimize(self) -> bool:
        # indexed_vectors_count counts the points of optimized (quantized) segments;
        # the rest wait in the appendable segment and are scanned in float32.
        info = self._shard.info()
        done = int(info.indexed_vectors_count)
        pending = int(info.points_count) - done
        return pending >= max(OPTIMIZE_MIN_PENDING, OPTIMIZE_PENDING_FRACTION * done)

    def _id_filter(self, only: list[str] | None, exclude: list[str] | None) -> Any:
        return qe.Filter(
            must=None if only is None else [qe.HasIdCondition(set(only))],
            must_not=[qe.HasIdCondition(set(exclude))] if exclude else None,
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
        if exact or not self._quantized:
            params = _EXACT
        elif rank is not None:
            params = self._probe_params(limit, rank)
        else:
            params = self._quantized_params(limit)
        reqs = [
            qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(row),
                filter=flt,
                with_payload=False,
                params=params,
            )
            for row in rows
        ]
        if len(reqs) == 1:
            results = [self._shard.query(reqs[0])]
        else:
            results = self._shard.query_batch(qe.QueryBatchRequest(reqs))
        if keep is not None:
            keys = self._kept("_kept_keys", frozenset(keep), lambda: uuid_keys(keep))
            return [hits_in(r, keys) for r in results]
        return [hits_of(r) for r in results]

    def _probe_params(self, limit: int, rank: int) -> Any:
        """Search parameters of a scoped probe asking ``limit`` hits, exact down to
        ``rank``: the int8 stage keeps ``oversampling * rank`` candidates for float32
        rescoring, as an unscoped search of ``rank`` hits would. Rescoring costs ~2 µs
        a candidate at 1M; oversampling times ``limit`` would rescore PROBE_MARGIN
        times more than the scope needs (+20 % on a 10 % scope, measured)."""
        per_hit = self._oversampling or oversampling_for(rank)
        oversampling = max(1.0, per_hit * rank / max(1, limit))
        return qe.SearchParams(
            exact=False,
            quantization=qe.QuantizationSearchParams(rescore=True, oversampling=oversampling),
        )

    def _quantized_params(self, limit: int) -> Any:
        """Search parameters of the quantized scan for ``limit`` results: rescoring
        ``oversampling_for(limit)`` candidates per result, or the fixed factor given."""
        factor = self._oversampling or oversampling_for(limit)
        params = self._params_by_factor.get(factor)
        if params is None:
            # Safe only because the shard has no graph: exact=False then means "use the
            # quantized copy", still over every point, and rescoring restores float32
            # scores and order. (exact=True would ignore the quantized copy entirely.)
            params = qe.SearchParams(
                exact=False,
                quantization=qe.QuantizationSearchParams(rescore=True, oversampling=factor),
            )
            self._params_by_factor[factor] = params
        return params

    def _scroll(
        self, offset: Any, limit: int, with_vectors: bool
    ) -> tuple[list[str], list[Any], Any]:
        recs, nxt = self._shard.scroll(
            qe.ScrollRequest(
                offset=offset, limit=limit, with_vector=with_vectors, with_payload=False
            )
        )
        vecs = [_vec(r.vector) for r in recs] if with_vectors else []
        return [str(r.id) for r in recs], vecs, nxt

    def retrieve(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        recs = self._shard.retrieve(list(ids), with_payload=False, with_vector=True)
        return {str(r.id): np.asarray(_vec(r.vector), dtype=np.float32) for r in recs}

    size_is_exact = True  # the segments' statistics: checked against count() in tests

    def count(self) -> int:
        return int(self._shard.count(qe.CountRequest(exact=True)))

    def _size(self) -> int:
        # The shard's own statistics (microseconds; count() is a pass over the shard).
        return int(self._shard.info().points_count)

    def optimize(self) -> bool:
        """Rewrite pending points into optimized segments (quantized ones for a
        quantized shard). Takes ~30-40 s per million vectors on 2 cores, and the
        binding holds the GIL meanwhile: every Python thread of the process waits."""
        with self._optimize_lock:
            changed = bool(self._shard.optimize())
            if changed:
                self._shard.flush()
            return changed

    def close(self) -> None:
        with self._close_lock:
            shard, self._shard = getattr(self, "_shard", None), None
            if shard is not None:
                shard.flush()
                shard.close()


def oversampling_for(limit: int) -> float:
    """Candidates rescored per result for ``limit`` results: at least
    ``RESCORE_MIN_CANDIDATES`` in all and ``RESCORE_MIN_FACTOR`` times the limit.

    The int8 scan keeps its best ``limit * factor`` in a heap and rescoring reads each
    one's float32 vector: at limit 1000 a fixed factor of 4 (4000 candidates) made the
    query ~2x slower than factor 2, while recall stays 1.000 at 1M from factor 1.5 up
    (benchmarks/README.md, "Speed at a million"). Small limits keep a few hundred
    candidates: near-ties of prompt-like queries need the margin, and a few hundred
    cost next to nothing."""
    return max(RESCORE_MIN_FACTOR, RESCORE_MIN_CANDIDATES / max(1, limit))


def _config(dim: int, quantization: str | None) -> Any:
    vectors = qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)
    if quantization is None:
        return qe.EdgeConfig(vectors=vectors)
    return qe.EdgeConfig(
        vectors=vectors,
        # always_ram: the scan reads every int8 vector per query, so they must not be
        # paged in from disk. quantile=0.99 clips the rare outlier components so the
        # other values keep more of the 256 levels; rescoring fixes the rest.
        quantization_config=qe.ScalarQuantizationConfig(
            qe.ScalarType.Int8, quantile=0.99, always_ram=True
        ),
        # m=0: optimize() builds no graph (it would cost minutes per million vectors
        # and lose recall), only the compact quantized segments.
        hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000),
    )


def uuid_keys(ids: Collection[str]) -> frozenset[int]:
    """The ids as the 128-bit integers of their UUIDs: what :func:`hits_in` tests a
    hit against. The engine hands each hit's id back as a ``uuid.UUID``; formatting
    it as text costs ~5 µs, reading its ``int`` ~0.1 µs. An id that is no UUID is no
    point of this store and is left out."""
    out = []
    for i in ids:
        try:
            if _CANONICAL.fullmatch(i):
                out.append(int(i.replace("-", ""), 16))  # the canonical form: 4x faster
            else:
                out.append(uuid.UUID(i).int)
        except (ValueError, TypeError, AttributeError):
            continue
    return frozenset(out)


def hits_in(points: Any, keys: frozenset[int]) -> list[Hit]:
    """The engine's results whose id is one of ``keys`` (:func:`uuid_keys`), as
    :class:`Hit` s: a probe asks for ~1500 points and keeps the scope's ~150."""
    return [Hit(str(u), float(p.score)) for p in points if (u := p.id).int in keys]


def _layout(path: str) -> tuple[int, bool]:
    """``(vector size, quantized)`` of the shard at ``path``, from its config file."""
    with open(os.path.join(path, "edge_config.json"), encoding="utf-8") as fh:
        cfg = json.load(fh)
    return int(cfg["vectors"][""]["size"]), bool(cfg.get("quantization_config"))


def _vec(v: Any) -> list[float]:
    if isinstance(v, dict):  # named vectors: ours is the default "" one
        v = v.get("", next(iter(v.values())))
    return v
