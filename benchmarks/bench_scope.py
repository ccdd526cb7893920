"""Scoped searches on a project of N synthetic clustered 512-d vectors: ``within=``
10 % and 0.1 % of the project, ``where=`` on two metadata columns, against the
unscoped search, all in one run (same machine state).

    .venv/bin/python benchmarks/bench_scope.py --n 1000000 --keep /tmp/scope-1m
    .venv/bin/python benchmarks/bench_scope.py --n 100000

``--keep DIR`` keeps the built project in DIR and reuses it in the next run (building
1M takes ~4 minutes on 2 cores, opening it again ~5-25 s), so that the code before and
after a change can be timed on the same data: run the script with ``PYTHONPATH`` at
each tree in turn.

The project is built as in ``bench_search.py`` (a real Project: catalog + Qdrant Edge
store optimized into the int8 layout, ViT-B-32 text tower with random weights; the
prompt's vector is cached after the warm-up, so every timing is the search itself).
Files sit in 1000 folders (``images/d000/`` …) with random sizes and mtimes. Each
scoped result is checked against exact numpy search inside the scope.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_search import clustered, pct, timed

LIMIT = 100


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--keep", default=None, help="build the project here once, reuse it")
    args = ap.parse_args()

    import aisearch_widgets as aw
    from aisearch_widgets.sources import point_id

    n = args.n
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="aisearch-bench-scope-"))
    built = (tmp / "built").exists()
    (tmp / "images").mkdir(parents=True, exist_ok=True)
    res: dict[str, object] = {"n": n, "limit": LIMIT}
    try:
        t0 = time.perf_counter()
        proj = aw.Project(
            "bench", sources=tmp / "images", model="ViT-B-32:random", home=tmp / "home"
        )
        vecs = clustered(n, args.clusters)
        keys = [f"images/d{i % 1000:03d}/img_{i:07d}.jpg" for i in range(n)]
        ids = [point_id("bench", k) for k in keys]
        rng = np.random.default_rng(3)
        sizes = rng.integers(10_000, 1_000_000, n)
        day = 86_400 * 10**9
        start = pd.Timestamp("2024-01-01").value
        mtimes = start + rng.integers(0, 365, n) * day
        now = time.time()
        if built:
            proj.store.count()  # the shard loaded, as after a build
            res["reused"] = True
        else:
            build(proj, tmp, keys, ids, sizes, mtimes, vecs, now)
            (tmp / "built").write_text(str(n))
        res["load_s"] = round(time.perf_counter() - t0, 1)
        print(f"loaded {n} vectors in {res['load_s']} s", flush=True)
        measure(proj, res, args, vecs, ids, sizes, mtimes, rng)
        proj.close()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"scope-{n}.json").write_text(json.dumps(res, indent=2))


def build(proj, tmp, keys, ids, sizes, mtimes, vecs, now) -> None:
    """Catalog rows and vectors of the project, as a sync leaves them."""
    n = len(ids)
    with proj.catalog.transaction() as db:
        db.executemany(
            "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status, model,"
            " updated_at) VALUES (?, ?, ?, 'images', ?, ?, ?, 'embedded', ?, ?)",
            [
                (k, i, str(tmp / k), int(s), int(m), f"c{j}", proj.model_identity, now)
                for j, (k, i, s, m) in enumerate(zip(keys, ids, sizes, mtimes, strict=True))
            ],
        )
    for s in range(0, n, 2000):
        proj.store.upsert(ids[s : s + 2000], vecs[s : s + 2000])
    proj.store.flush()
    proj.store.maybe_optimize()
    proj.catalog.set_meta(first_pass_done=True)


def measure(proj, res, args, vecs, ids, sizes, mtimes, rng) -> None:
    """Every variant, first query then round-robin; results into ``res``."""
    from aisearch_widgets import _scope
    from aisearch_widgets._scope import QueryScope
    from aisearch_widgets.collection import Collection

    n = len(ids)
    prompt = "a photo of a cat on a sofa"
    q = proj.embedder.encode_text([prompt])[0]
    q = q / np.linalg.norm(q)
    proj.search(prompt, limit=LIMIT)  # warm-up (caches the prompt's vector)

    def exact_in(members: np.ndarray) -> list[str]:
        s = vecs[members] @ q
        return [ids[members[j]] for j in np.argsort(-s, kind="stable")[:LIMIT]]

    def agree(got, members: np.ndarray) -> float:
        return len(set(got.ids) & set(exact_in(members))) / min(LIMIT, len(members))

    rows: dict[str, object] = {}
    ten = np.flatnonzero(np.arange(n) % 1000 < 100)  # folders d000-d099: 10 %
    tiny = rng.choice(n, max(LIMIT, n // 1000), replace=False)  # 0.1 %
    far = np.argsort(vecs @ q)[: n // 10]  # the tenth that matches the prompt worst
    where = "size >= 900000 and mtime >= '2024-07-01'"
    passes = np.flatnonzero((sizes >= 900_000) & (mtimes >= pd.Timestamp("2024-07-01").value))

    def col(members: np.ndarray) -> Collection:
        return Collection(proj, pd.DataFrame({"id": [ids[k] for k in members]}))

    variants = {
        "unscoped": ({}, None),
        "within_10pct": ({"within": col(ten)}, ten),
        "within_0.1pct": ({"within": col(tiny)}, tiny),
        "where_2_columns": ({"where": where}, passes),
        "within_same_ids_as_where": ({"within": col(passes)}, passes),
        "within_10pct_far": ({"within": col(far)}, far),
    }
    # First queries: a scope's id filter is built, a where= reads its columns.
    for name, (kw, members) in variants.items():
        t0 = time.perf_counter()
        r = proj.search(prompt, limit=LIMIT, **kw)
        rows[name] = {"first_ms": round((time.perf_counter() - t0) * 1000, 1)}
        if members is not None:
            rows[name]["recall"] = agree(r, members)
        rows[name]["results"] = len(r)
    # Then round-robin, so that every variant sees the same machine state.
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, (kw, _m) in variants.items():
            t0 = time.perf_counter()
            proj.search(prompt, limit=LIMIT, **kw)
            times[name].append((time.perf_counter() - t0) * 1000)
    for name in variants:
        rows[name].update(pct(times[name]))
        # Each round's time over the unscoped one of the same round (next to it in
        # time): steadier than a ratio of medians on a machine whose load changes.
        paired = np.array(times[name]) / np.array(times["unscoped"])
        rows[name]["paired_ratio_p50"] = round(float(np.median(paired)), 3)
    # What where= adds to a query, measured alone: resolving the scope (the kept
    # answer of this catalog state) against a within= Collection of the same ids.
    catalog = proj.catalog
    same = variants["within_same_ids_as_where"][0]["within"]
    add: dict[str, list[float]] = {"where": [], "within": []}
    for _ in range(args.repeat * 10):
        for name, kw in (("where", {"where": where}), ("within", {"within": same})):
            t0 = time.perf_counter()
            QueryScope(project="bench", **kw).resolve(catalog)
            add[name].append((time.perf_counter() - t0) * 1000)
    for name in add:
        rows[f"scope_resolution_{name}_us"] = round(1000 * float(np.median(add[name])), 1)
    # where= evaluation alone, without the kept answer (a new filter each time).
    fresh = [f"size >= {900_000 + k} and mtime >= '2024-07-01'" for k in range(args.repeat)]
    it = iter(fresh)
    ts, got = timed(lambda: _scope.where_ids(catalog, next(it)), args.repeat)
    rows["where_evaluation_new_filter"] = {**pct(ts), "passing": len(got)}
    t0 = time.perf_counter()
    cold = _scope.where_ids(catalog, where)
    assert cold == {ids[k] for k in passes}
    unscoped = rows["unscoped"]["p50_ms"]  # type: ignore[index]
    for name in variants:
        rows[name]["ratio_to_unscoped"] = round(rows[name]["p50_ms"] / unscoped, 2)  # type: ignore[index]
    rows["where_adds_ms"] = round(
        rows["where_2_columns"]["p50_ms"] - rows["within_same_ids_as_where"]["p50_ms"],
        1,  # type: ignore[index]
    )
    rows["where_resolution_adds_ms"] = round(
        (rows["scope_resolution_where_us"] - rows["scope_resolution_within_us"]) / 1000, 3
    )
    res.update(rows)


if __name__ == "__main__":
    main()
