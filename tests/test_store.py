from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from aisearch_widgets.store import VectorStore
from aisearch_widgets.store.edge import EdgeStore
from aisearch_widgets.store.server import ServerStore

DIM = 16


def _ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(n)]


class _Spy:
    """A client that forwards to ``QdrantClient(":memory:")`` one call at a time and
    records what it was asked (not detected as the in-process client: the store uses
    its upsert threads)."""

    _client = None  # not the in-process client's marker

    def __init__(self) -> None:
        import threading

        from qdrant_client import QdrantClient

        self._inner = QdrantClient(":memory:")
        self._lock = threading.Lock()
        self.created: dict = {}
        self.upserts: list[tuple[int, bool, str]] = []
        self.search_params: list = []  # the ``params`` of every query sent

    def create_collection(self, name, **kw):  # type: ignore[no-untyped-def]
        self.created = kw
        return self._inner.create_collection(name, **kw)

    def upsert(self, name, points, wait):  # type: ignore[no-untyped-def]
        import threading

        self.upserts.append((len(points.ids), wait, threading.current_thread().name))
        with self._lock:
            return self._inner.upsert(name, points=points, wait=wait)

    def query_batch_points(self, name, requests, **kw):  # type: ignore[no-untyped-def]
        self.search_params += [r.params for r in requests]
        return self._inner.query_batch_points(name, requests=requests, **kw)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._inner, name)


LARGE = dict(
    shard_number=2, replication_factor=2, on_disk=True, hnsw_m=16, upsert_batch=7, upsert_threads=3
)


@pytest.fixture(params=["edge", "server", "server-large"])
def store(request, tmp_path: Path):
    if request.param == "edge":
        s = EdgeStore(tmp_path / "shard", DIM)
    elif request.param == "server":
        from qdrant_client import QdrantClient

        s = ServerStore(QdrantClient(":memory:"), "test", DIM)
    else:
        s = ServerStore(_Spy(), "test", DIM, **LARGE)
    yield s
    s.close()


def _data(n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_contract(store) -> None:
    assert isinstance(store, VectorStore)
    vecs, ids = _data(), _ids(200)
    store.upsert(ids, vecs)
    assert store.count() == 200
    assert store.ids() == set(ids)
    assert sum(len(b) for b, _ in store.iter_vectors(batch=64)) == 200

    q = vecs[:3]
    hits = store.query(q, limit=10)
    exact = np.argsort(-(vecs @ q.T), axis=0)[:10].T
    for row, want in zip(hits, exact, strict=True):
        assert [h.id for h in row] == [ids[j] for j in want]
        scores = [h.score for h in row]
        assert scores == sorted(scores, reverse=True)
    assert hits[0][0].score == pytest.approx(1.0, abs=1e-5)

    only = set(ids[100:110])
    assert {h.id for h in store.query(q[:1], 50, only=only)[0]} == only
    assert ids[0] not in {h.id for h in store.query(q[:1], 5, exclude={ids[0]})[0]}
    assert store.query(q[:1], 5, only=set())[0] == []

    got = store.retrieve([ids[5], str(uuid.UUID(int=10_000))])
    assert list(got) == [ids[5]]
    np.testing.assert_allclose(got[ids[5]], vecs[5], atol=1e-5)

    store.upsert(ids[:1], vecs[1:2])
    assert store.count() == 200
    np.testing.assert_allclose(store.retrieve(ids[:1])[ids[0]], vecs[1], atol=1e-5)
    store.delete([*ids[:50], str(uuid.UUID(int=99999))])
    assert store.count() == 150


def test_edge_persists_and_refuses_other_dim(tmp_path: Path) -> None:
    s = EdgeStore(tmp_path / "shard", DIM)
    s.upsert(_ids(10), _data(10))
    s.close()
    s = EdgeStore(tmp_path / "shard", DIM)
    assert s.count() == 10
    s.close()
    with pytest.raises(ValueError, match="16-d"):
        EdgeStore(tmp_path / "shard", 8)


def test_edge_quantized_scan_stays_exact_after_optimize(tmp_path: Path) -> None:
    dim, n = 128, 30_000  # big enough for the optimizer to build quantized segments
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(n + 100, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = _ids(n + 100)
    s = EdgeStore(tmp_path / "q", dim)
    assert s._quantized  # new shards: int8 copy, no graph, rescored full scan
    for i in range(0, n, 5000):
        s.upsert(ids[i : i + 5000], vecs[i : i + 5000])
    assert s.maybe_optimize() is True
    assert s._shard.info().indexed_vectors_count == n
    s.upsert(ids[n:], vecs[n:])  # a tail not yet optimized, scanned in float32
    assert s.maybe_optimize() is False  # too few waiting to be worth a rewrite
    q = rng.normal(size=(5, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    # Every limit rescoring its own number of candidates (oversampling_for) stays exact.
    for limit in (10, 100, 1000):
        for row, qq in zip(s.query(q, limit=limit), q, strict=True):
            want = np.argsort(-(vecs @ qq))[:limit]
            assert [h.id for h in row] == [ids[j] for j in want]
            np.testing.assert_allclose([h.score for h in row], (vecs @ qq)[want], atol=1e-5)
    s.delete(ids[:7])
    assert s.approx_count() == s.count() == n + 93  # the statistics follow deletes
    s.upsert(ids[10:20], vecs[10:20])  # points of an optimized segment written again
    assert s.approx_count() == s.count() == n + 93  # and updates: opening relies on it
    s.close()
    s = EdgeStore(tmp_path / "q", dim)
    assert s._quantized and s.approx_count() == s.count() == n + 93
    s.close()


def test_oversampling_adapts_to_the_limit() -> None:
    from aisearch_widgets.store.edge import oversampling_for

    # A few hundred candidates at least, and never fewer than twice the limit: limit
    # 1000 rescores 2000 candidates, not the 4000 of a fixed factor 4.
    assert [oversampling_for(k) for k in (1, 10, 100, 200, 1000, 10_000)] == [
        400.0,
        40.0,
        4.0,
        2.0,
        2.0,
        2.0,
    ]
    assert all(k * oversampling_for(k) >= max(400, 2 * k) for k in range(1, 3000, 7))


def test_edge_float32_shard_of_the_first_release_opens_with_the_new_defaults(
    tmp_path: Path,
) -> None:
    vecs = _data(50)
    s = EdgeStore(tmp_path / "old", DIM, quantization=None)  # the first release's layout
    s.upsert(_ids(50), vecs)
    s.close()
    s = EdgeStore(tmp_path / "old")
    assert not s._quantized and s.dim == DIM and s.approx_count() == 50
    (row,) = s.query(vecs[:1], limit=5)
    assert [h.id for h in row] == [_ids(50)[j] for j in np.argsort(-(vecs @ vecs[0]))[:5]]
    s.close()


def test_scan_refuses_a_batch_that_never_advances(store) -> None:
    from aisearch_widgets._errors import InvalidArgument

    store.upsert(_ids(3), _data(3))
    for bad in (0, -1, 2.5, "10", None):
        with pytest.raises(InvalidArgument, match="batch"):
            next(store.iter_vectors(batch=bad))
    assert sum(len(i) for i, _ in store.iter_vectors(batch=1)) == 3


def test_server_collection_options_are_recorded_and_used() -> None:
    from qdrant_client import models

    spy = _Spy()
    s = ServerStore(spy, "big", DIM, **LARGE)
    assert (spy.created["shard_number"], spy.created["replication_factor"]) == (2, 2)
    vp = s.client.get_collection("big").config.params.vectors
    assert vp.on_disk is True and vp.size == DIM
    sq = vp.quantization_config.scalar
    assert (sq.type, sq.quantile, sq.always_ram) == (models.ScalarType.INT8, 0.99, True)
    assert vp.hnsw_config.m == 16
    s.query(_data(1), limit=1)  # the search options go with every query
    (p,) = spy.search_params
    assert p.exact is False and p.hnsw_ef == 256
    assert (p.quantization.rescore, p.quantization.oversampling) == (True, 4.0)

    # The first two chunks must be in flight at once (a sequential upsert would time
    # out at the barrier), so "several threads" does not depend on scheduling luck.
    import threading

    barrier, lock, first = threading.Barrier(2, timeout=20), threading.Lock(), []
    record = spy.upsert

    def upsert(*a, **k):
        with lock:
            wait = len(first) < 2
            first.append(1)
        if wait:
            barrier.wait()
        return record(*a, **k)

    spy.upsert = upsert
    s.upsert(_ids(50), _data(50))  # 8 chunks of <= 7 points, on several threads
    assert sorted(n for n, _, _ in spy.upserts) == [1] + [7] * 7
    assert all(wait for _, wait, _ in spy.upserts)
    assert len({t for _, _, t in spy.upserts}) > 1
    assert s.count() == 50


def test_server_defaults_scan_quantized_and_old_collections_stay_exact() -> None:
    from qdrant_client import models

    client = _Spy()
    s = ServerStore(client, "new", DIM)
    vp = client.get_collection("new").config.params.vectors
    assert vp.quantization_config.scalar.type == models.ScalarType.INT8
    assert vp.hnsw_config.m == 0 and vp.on_disk is False  # no graph: a quantized scan
    s.query(_data(1), limit=1)
    assert client.search_params[-1].exact is False and client.search_params[-1].hnsw_ef is None

    client.create_collection(  # as made by earlier versions
        "old", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    ServerStore(client, "old", DIM).query(_data(1), limit=1)
    assert client.search_params[-1].exact is True


def test_shard_preload_hands_over_the_shard_of_its_identity_once(tmp_path: Path) -> None:
    from aisearch_widgets._errors import ProjectLocked
    from aisearch_widgets.store import ShardPreload, shard_folder

    s = EdgeStore(shard_folder(tmp_path, "model-a"), DIM)
    s.upsert(_ids(20), _data(20))
    s.close()
    pre = ShardPreload("p", tmp_path, "model-a")
    store = pre.take("model-a")
    assert store is not None and store.count() == 20
    assert pre.take("model-a") is None  # handed over once
    # Held by the store taken above: a second load fails, and says so when taken.
    pre = ShardPreload("p", tmp_path, "model-a")
    with pytest.raises(ProjectLocked):
        pre.take("model-a")
    store.close()
    # Another identity (the config changed on opening): closed, not leaked.
    pre = ShardPreload("p", tmp_path, "model-a")
    assert pre.take("model-b") is None
    again = EdgeStore(shard_folder(tmp_path, "model-a"))  # free to open
    again.close()
    ShardPreload("p", tmp_path, "model-a").discard()
    EdgeStore(shard_folder(tmp_path, "model-a")).close()
    assert ShardPreload("p", tmp_path, "no-such-model").take("no-such-model") is None


def test_probe_keys_are_the_integers_of_the_ids_uuids() -> None:
    """What a probe tests each hit against: the canonical form parsed fast, the other
    UUID spellings as ``uuid.UUID`` reads them, anything else left out."""
    from aisearch_widgets.store.edge import uuid_keys

    u = uuid.uuid4()
    spellings = [str(u), str(u).upper(), u.hex, "{" + str(u) + "}", "urn:uuid:" + str(u)]
    assert uuid_keys(spellings) == {u.int}
    assert uuid_keys(["not an id", "x" * 36, "", str(u)[:-1] + "g"]) == frozenset()


def test_a_kept_scope_is_found_with_one_comparison() -> None:
    """Two equal scopes held by different objects (a where= answer and a Collection of
    the same ids) compare element by element: ~5 ms at 51k ids, paid once per query,
    not three times."""
    from aisearch_widgets.store.base import StoreBase

    class Key:
        eqs = 0

        def __init__(self, v: int) -> None:
            self.v = v

        def __hash__(self) -> int:
            return hash(self.v)

        def __eq__(self, other: object) -> bool:
            Key.eqs += 1
            return isinstance(other, Key) and self.v == other.v

    store, built = StoreBase(), []
    assert store._kept("k", Key(1), lambda: built.append(1) or "x") == "x"
    Key.eqs = 0
    assert store._kept("k", Key(1), lambda: built.append(2) or "y") == "x"
    assert built == [1] and Key.eqs == 1
