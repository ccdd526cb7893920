"""What the two store adapters share: the result type (:class:`Hit`), the row
normalisation (:func:`as_matrix`), scoped queries (:meth:`StoreBase.query` with
``only``), batched queries and the scrolling loops. An adapter supplies four small
hooks: ``_id_filter``, ``_search``, ``_scroll`` and ``_size``.

A scoped query (``only``: the ids a query may return) is answered inside the scope,
one of two ways, whichever the cost model below expects to be cheaper:

- *ids*: the engine's ``has_id`` filter. The engine then scores the scope's points
  alone, by random access (~1.7 µs a point at 1M, plus ~1.9 µs a point to hand the
  ids over): cheap for a small scope (0.1 % of 1M: ~3 ms), ten times the unscoped
  scan for 10 % of 1M. Built filters are kept for the next query of the same scope.
  Scored in float32 (``exact``): as fast here, and the int8 stage is not exact inside
  a scope whose scores are close together (the 10 % of a project farthest from the
  query: recall@100 0.14-0.51 with int8 and rescoring, 1.0 in float32).
- *probe*: the unscoped scan (~60 ns a point), asked for ``depth`` hits, enough that
  the scope's share of them should hold ``limit`` (``PROBE_MARGIN`` times the
  expected number); the scope's members among them are exactly the scope's best,
  in order, as long as there are ``limit`` of them. A row that falls short (a scope
  far from the query) is asked again with the ids filter: never fewer results than
  the scope holds, never the project's best filtered after the fact. The int8 stage
  of a probe rescores ``oversampling`` times the rank where the scope's limit-th hit
  is expected (not times the depth): the margin an unscoped search keeps for its limit.

Measured by ``benchmarks/bench_scope.py`` (benchmarks/README.md §14): within 10 % of
1M points a query costs ~1.15x the unscoped one (the float32 rescoring of the deeper
candidate list is what it adds), within 1,000 ids ~0.12x.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import check_int

# Cost model of a scoped query, in microseconds (Qdrant Edge, int8 scan, 2 cores).
SCAN_US_PER_POINT = 0.06  # the unscoped quantized scan
DEPTH_US_PER_HIT = 7.0  # each hit asked of the scan beyond the limit (rescoring)
HAS_ID_US_PER_ID = 3.6  # has_id: handing over the ids and scoring them one by one
PROBE_MARGIN = 1.5  # ask for this many times the hits the scope should need
FILTERS_KEPT = 4  # built id filters kept for the next queries of the same scope
_FILTERS_LOCK = threading.Lock()
_MISSING = object()


@dataclass(frozen=True)
class Hit:
    """One search result: point id and cosine similarity."""

    id: str
    score: float


def hits_of(points: Any, keep: Collection[str] | None = None) -> list[Hit]:
    """Engine results (objects with ``id`` and ``score``) as :class:`Hit` s, only
    those whose id is in ``keep`` when given: a probe asks for ~1500 points and keeps
    the scope's ~150, and making a Hit costs more than testing an id."""
    if keep is None:
        return [Hit(str(p.id), float(p.score)) for p in points]
    return [Hit(i, float(p.score)) for p in points if (i := str(p.id)) in keep]


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
    #: Called before and after every write (upsert, delete; after a failed one too):
    #: the project counts the writes of its vectors with it
    #: (``Catalog.bump_vectors_generation``), and the caches derived from the vectors
    #: are checked against that count instead of against the vectors themselves.
    on_write: Callable[[], None] | None = None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Around one write: :attr:`on_write` before and after it."""
        hook = self.on_write
        if hook is not None:
            hook()
        try:
            yield
        finally:
            if hook is not None:
                hook()

    # -- hooks ------------------------------------------------------------------------
    def _id_filter(self, only: list[str] | None, exclude: list[str] | None) -> Any:
        """The engine's filter: ids in ``only`` (if given) and not in ``exclude``."""
        raise NotImplementedError

    def _search(
        self,
        rows: list[list[float]],
        limit: int,
        flt: Any,
        exact: bool = False,
        keep: Collection[str] | None = None,
        rank: int | None = None,
    ) -> list[list[Hit]]:
        """Nearest points of each query row under ``flt``, best first; ``exact``
        scores in float32 alone (no int8 stage); ``keep``: only hits of these ids
        (:func:`hits_of`); ``rank``: a probe's hits must be exact down to this rank
        (an int8 stage then rescores its oversampling times ``rank`` candidates, not
        times ``limit``)."""
        raise NotImplementedError

    def _scroll(
        self, offset: Any, limit: int, with_vectors: bool
    ) -> tuple[list[str], list[Any], Any]:
        """One page: ``(ids, vectors or [], next offset or None)``."""
        raise NotImplementedError

    def _size(self) -> int:
        """The number of points, cheaply (an estimate will do: it only plans)."""
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
        limit = max(1, int(limit))
        if only is not None and not only:
            return [[] for _ in range(len(m))]
        rows = m.tolist()
        if only is None:
            flt = self._id_filter(None, list(exclude)) if exclude else None
            return self._search(rows, limit, flt)
        only = only if isinstance(only, (set, frozenset)) else set(only)
        depth = self._probe_depth(len(only), limit)
        if depth is None:
            return self._search(rows, limit, self._scope_filter(only, exclude), exact=True)
        flt = self._id_filter(None, list(exclude)) if exclude else None
        # The scope's limit-th hit is expected near rank limit * total / scope: what
        # the scan's int8 stage must hold as exactly as an unscoped search holds its
        # limit (depth asks PROBE_MARGIN times more, for scopes that fall behind).
        rank = max(limit, math.ceil(depth / PROBE_MARGIN))
        probed = self._search(rows, depth, flt, keep=only, rank=rank)
        out = [hits[:limit] for hits in probed]
        # Short: fewer than limit of the scope among the probe's hits, while the probe
        # did not reach the end of the store (there could be more further down).
        full = self._size() - len(exclude or ()) > depth
        short = [k for k, hits in enumerate(out) if len(hits) < limit and full]
        if short:
            flt = self._scope_filter(only, exclude)
            again = self._search([rows[k] for k in short], limit, flt, exact=True)
            for k, hits in zip(short, again, strict=True):
                out[k] = hits
        return out

    def _probe_depth(self, scope: int, limit: int) -> int | None:
        """How deep to probe the unscoped scan for a scope of ``scope`` points, or
        None when the ids filter is expected to be cheaper."""
        total = self._size()
        if total <= 0:
            return None
        if scope >= total:  # as large as the store: its best are (nearly) the store's
            return limit
        depth = math.ceil(PROBE_MARGIN * limit * total / scope)
        probe = SCAN_US_PER_POINT * total + DEPTH_US_PER_HIT * depth
        return depth if depth < total and probe < HAS_ID_US_PER_ID * scope else None

    def _scope_filter(self, only: Collection[str], exclude: Collection[str] | None) -> Any:
        """The engine's filter for ids in ``only`` and not in ``exclude``, kept for
        the next queries of the same scope (handing 100k ids over takes ~0.2-0.4 s)."""
        key = (frozenset(only), frozenset(exclude or ()))
        return self._kept(
            "_kept_filters", key, lambda: self._id_filter(list(key[0]), list(key[1]) or None)
        )

    def _kept(self, kind: str, key: Any, build: Any) -> Any:
        """``build()``, kept under ``key`` for the next queries of the same scope (the
        :data:`FILTERS_KEPT` latest of each ``kind``). A scope's frozenset caches its
        own hash, so finding it again costs nothing however large it is."""
        kept: dict[Any, Any] = self.__dict__.setdefault(kind, {})  # oldest first
        with _FILTERS_LOCK:
            # One lookup: an equal scope held by another object is compared element by
            # element (~5 ms for 51k ids), and `in`, move_to_end and [] would do it 3x.
            got = kept.pop(key, _MISSING)
            if got is not _MISSING:
                kept[key] = got  # the most recent now
                return got
        got = build()
        with _FILTERS_LOCK:
            kept[key] = got
            while len(kept) > FILTERS_KEPT:
                del kept[next(iter(kept))]  # that very key object: no comparison
        return got

    # Whether approx_count() is exact (the engine's statistics count every live point
    # once): an Edge shard's are.
    size_is_exact = False

    def approx_count(self) -> int:
        """The number of points from the engine's statistics: no pass over the points
        (``count()`` is one: ~0.3 s at 1M), exact for an Edge shard, an estimate on a
        server."""
        return self._size()

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
