"""Speed at a million: the unscoped store query against the int8 memory floor, the
store's reopen, and the vectors a diverse sample reads, each measured in one process
with the variants alternated.

    .venv/bin/python benchmarks/bench_speed.py --n 1000000 --workdir /tmp/speed --keep
    .venv/bin/python benchmarks/bench_speed.py --quick      # what `make bench-quick` runs

*Floor*: one numpy pass (``max()``) over an int8 matrix of the store's size (n x 512
bytes), the least any scan of the int8 copy can cost. Each query round times the floor,
the query with the previous fixed oversampling (4) and the query as shipped (adaptive,
``oversampling_for(limit)``), in alternating order; ratios are medians of the
per-round ratios to the floor of the same round. Recall@limit is against exact numpy
top-``limit`` (a point whose score ties the ``limit``-th counts). The store (EdgeStore defaults: int8, no graph, optimized) is built once
in ``--workdir`` and, with ``--keep``, reused by the next run.

*Diverse*: the unscoped read of ``sample`` vectors as before (an exact count, then
pages of 4096 converted page by page) against ``load_vectors`` as shipped, alternated,
then the k-means of the sample (``cluster``, k=100) alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_store import exact_topk, image_queries, make_data, prompt_queries  # noqa: E402

from aisearch_widgets.diverse import cluster, load_vectors  # noqa: E402
from aisearch_widgets.store.edge import EdgeStore  # noqa: E402

OLD_OVERSAMPLING = 4.0


def build(path: Path, vectors: np.ndarray) -> dict[str, float]:
    """The store of ``vectors`` at ``path`` (kept from an earlier run when it holds
    as many points): upsert rate and optimize time, or {} when reused."""
    ids = [str(uuid.UUID(int=i + 1)) for i in range(len(vectors))]
    if path.is_dir():
        store = EdgeStore(path)
        if store.count() == len(vectors):
            store.close()
            return {}
        store.close()
        shutil.rmtree(path)
    store = EdgeStore(path, vectors.shape[1])
    t0 = time.perf_counter()
    for i in range(0, len(vectors), 2000):
        store.upsert(ids[i : i + 2000], vectors[i : i + 2000])
    store.flush()
    upsert = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.optimize()
    out = {"upsert_per_s": round(len(vectors) / upsert), "optimize_s": time.perf_counter() - t0}
    store.close()
    return out


def _floor(m8: np.ndarray) -> float:
    t0 = time.perf_counter()
    m8.max()
    return time.perf_counter() - t0


def _query(store: EdgeStore, q: np.ndarray, limit: int) -> tuple[float, list[int]]:
    t0 = time.perf_counter()
    hits = store.query(q[None, :], limit)[0]
    dt = time.perf_counter() - t0
    return dt, [uuid.UUID(h.id).int - 1 for h in hits]


def bench_query(
    store: EdgeStore, queries: dict[str, np.ndarray], vectors: np.ndarray, limits: list[int]
) -> dict[str, object]:
    """Floor, old (fixed oversampling 4) and new (adaptive) per round, alternated."""
    m8 = np.random.default_rng(0).integers(-127, 128, size=vectors.shape, dtype=np.int8)
    out: dict[str, object] = {}
    for limit in limits:
        times: dict[str, list[float]] = {"floor": [], "old": [], "new": []}
        recall: dict[str, list[float]] = {}
        rnd = 0
        for kind, qs in queries.items():
            truth = exact_topk(vectors, qs, limit)
            _query(store, qs[0], limit)  # warm-up
            for q, tr in zip(qs, truth, strict=True):
                order = ("old", "new") if rnd % 2 == 0 else ("new", "old")
                rnd += 1
                times["floor"].append(_floor(m8))
                for name in order:
                    store._oversampling = OLD_OVERSAMPLING if name == "old" else None
                    dt, got = _query(store, q, limit)
                    times[name].append(dt)
                    # Ties count: two points of one float32 score at rank ``limit``
                    # are both right (measured: one such tie at 1M decided recall).
                    kth = float(vectors[tr[-1]] @ q)
                    hit = float(np.mean(vectors[got] @ q >= kth - 1e-7)) if got else 0.0
                    recall.setdefault(f"{name}_recall_{kind}", []).append(hit)
        store._oversampling = None
        row: dict[str, object] = {"floor_ms": round(statistics.median(times["floor"]) * 1e3, 1)}
        for name in ("old", "new"):
            ratios = [t / f for t, f in zip(times[name], times["floor"], strict=True)]
            row[f"{name}_p50_ms"] = round(statistics.median(times[name]) * 1e3, 1)
            row[f"{name}_over_floor"] = round(statistics.median(ratios), 2)
        pairs = [n / o for n, o in zip(times["new"], times["old"], strict=True)]
        row["new_over_old"] = round(statistics.median(pairs), 2)
        row |= {k: round(min(v), 4) for k, v in recall.items()}  # the worst query
        out[f"limit_{limit}"] = row
        print(f"  limit {limit}: {row}", flush=True)
    del m8
    gc.collect()
    return out


def bench_reopen(path: Path, q: np.ndarray, repeat: int) -> dict[str, float]:
    """Close, load, one query (page cache warm after the first)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        store = EdgeStore(path)
        store.query(q[None, :], 100)
        times.append(time.perf_counter() - t0)
        store.close()
    return {"reopen_first_query_s": round(statistics.median(times), 2)}


def _load_as_before(store: EdgeStore, sample: int) -> np.ndarray:
    """The unscoped read of diverse() before: exact count, pages of 4096."""
    store.count()
    chunks, got = [], 0
    for _ids, vecs in store.iter_vectors(batch=min(4096, sample)):
        chunks.append(vecs)
        got += len(vecs)
        if got >= sample:
            break
    return np.concatenate(chunks)[:sample]


def bench_diverse(store: EdgeStore, sample: int, repeat: int) -> dict[str, object]:
    times: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(repeat):
        for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
            t0 = time.perf_counter()
            if name == "old":
                _load_as_before(store, sample)
            else:
                _, vecs, _, _ = load_vectors(store, sample)
            times[name].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    cluster(vecs, 100, 0)
    kmeans = time.perf_counter() - t0
    pairs = [n / o for n, o in zip(times["new"], times["old"], strict=True)]
    return {
        "sample": sample,
        "read_old_s": round(statistics.median(times["old"]), 3),
        "read_new_s": round(statistics.median(times["new"]), 3),
        "read_new_over_old": round(statistics.median(pairs), 2),
        "kmeans_k100_s": round(kmeans, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=15, help="queries of each kind")
    ap.add_argument("--limits", default="100,1000")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the store for the next run")
    ap.add_argument("--quick", action="store_true", help="100k, fewer queries (bench-quick)")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()
    if args.quick:
        args.n, args.queries = 100_000, 8
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aisearch-bench-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"store-{args.n}"
    res: dict[str, object] = {"n": args.n}
    try:
        d = make_data(args.n, 1000)
        rng = np.random.default_rng(1)
        queries = {
            "prompt": prompt_queries(d, args.queries, rng),
            "image": image_queries(d, args.queries, rng),
        }
        res["build"] = build(path, d.vectors)
        print(f"n={args.n}: store {res['build'] or 'reused'}", flush=True)
        store = EdgeStore(path)
        limits = [int(x) for x in args.limits.split(",")]
        res["query"] = bench_query(store, queries, d.vectors, limits)
        res["diverse_read"] = bench_diverse(store, 10_000, 5)
        print(f"  diverse: {res['diverse_read']}", flush=True)
        store.close()
        res["reopen"] = bench_reopen(path, queries["prompt"][0], 3)
        print(f"  reopen: {res['reopen']}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(path, ignore_errors=True)
            if args.workdir is None:
                shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    summary(res)


# What the previous code measured at 1M (README, "Speed at a million"): query/floor at
# limits 100 and 1000, and the targets.
BASELINE_OVER_FLOOR = {100: (1.9, 1.3), 1000: (3.7, 1.6)}


def summary(res: dict) -> None:
    """One line per check, same-run ratios first."""
    for key, row in res.get("query", {}).items():
        limit = int(key.split("_")[1])
        base, target = BASELINE_OVER_FLOOR.get(limit, (None, None))
        print(
            f"query @{limit}: {row['new_over_floor']}x the int8 floor "
            f"(fixed oversampling 4 in this run: {row['old_over_floor']}x; at 1M before: "
            f"{base}x, target {target}x); new/old {row['new_over_old']}"
        )
    d = res.get("diverse_read", {})
    print(
        f"diverse read of {d.get('sample')}: {d.get('read_new_s')} s, "
        f"{d.get('read_new_over_old')}x the previous read; k-means {d.get('kmeans_k100_s')} s"
    )
    print(f"reopen + first query: {res.get('reopen', {}).get('reopen_first_query_s')} s")


if __name__ == "__main__":
    main()
