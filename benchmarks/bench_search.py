"""Search-side benchmark on a project of N synthetic clustered 512-d vectors:
prompt search + histogram (limit 1000), batch similar (10 references), diverse
sampling (n=100, centroids), saving and reloading a 10k-item collection.

    .venv/bin/python benchmarks/bench_search.py --n 100000
    .venv/bin/python benchmarks/bench_search.py --n 1000000

The project is a real Project (catalog + Qdrant Edge store + ViT-B-32 text tower
with random weights, so prompt encoding costs what it costs in real use); only the
image embedding step is replaced by writing the vectors directly.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DIM = 512


def clustered(n: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sizes = rng.dirichlet(np.full(k, 0.7)) * n
    labels = np.repeat(np.arange(k), np.maximum(1, sizes.astype(int)))[:n]
    labels = np.concatenate([labels, rng.integers(0, k, n - len(labels))])
    spread = rng.uniform(0.05, 0.12, size=k).astype(np.float32)
    out = np.empty((n, DIM), np.float32)
    for s in range(0, n, 100_000):
        lab = labels[s : s + 100_000]
        v = centres[lab] + rng.normal(size=(len(lab), DIM)).astype(np.float32) * spread[lab, None]
        out[s : s + len(lab)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def timed(fn, repeat: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, out


def pct(ts: list[float]) -> dict[str, float]:
    s = sorted(ts)
    return {
        "p50_ms": round(statistics.median(s), 1),
        "p95_ms": round(s[int(0.95 * (len(s) - 1))], 1),
    }


def catalog_rows(proj: Any, root: Path, keys: list[str]) -> list[str]:
    """The catalog rows of ``keys`` (files under ``root``, not read) as a sync leaves
    them, embedded; returns their ids."""
    from aisearch_widgets.sources import point_id

    ids = [point_id("bench", k) for k in keys]
    now = time.time()
    with proj.catalog.transaction() as db:
        db.executemany(
            "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status, model,"
            " updated_at) VALUES (?, ?, ?, 'images', 1, 1, ?, 'embedded', ?, ?)",
            [
                (k, i, str(root / k), f"c{j}", proj.model_identity, now)
                for j, (k, i) in enumerate(zip(keys, ids, strict=True))
            ],
        )
    return ids


def fill(
    proj: Any,
    root: Path,
    keys: list[str],
    vectors: Callable[[int, int], np.ndarray],
    chunk: int = 2000,
) -> list[str]:
    """Write the catalog rows and the vectors of ``keys`` (files under ``root``, not
    read) as a sync leaves them, without running the model; ``vectors(start, count)``
    gives the vectors of ``keys[start : start + count]``. Returns the ids."""
    ids = catalog_rows(proj, root, keys)
    for s in range(0, len(keys), chunk):
        vecs = vectors(s, min(chunk, len(keys) - s))
        for b in range(0, len(vecs), 2000):
            proj.store.upsert(ids[s + b : s + b + 2000], vecs[b : b + 2000])
    proj.store.flush()
    proj.store.maybe_optimize()  # what the indexer does at the end of a sync
    proj.catalog.set_meta(first_pass_done=True)
    return ids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    import aisearch_widgets as aw

    tmp = Path(tempfile.mkdtemp(prefix="aisearch-bench-search-"))
    (tmp / "images").mkdir()
    res: dict[str, object] = {"n": args.n}
    try:
        proj = aw.Project(
            "bench", sources=tmp / "images", model="ViT-B-32:random", home=tmp / "home"
        )
        t0 = time.perf_counter()
        vecs = clustered(args.n, args.clusters)
        keys = [f"images/img_{i:07d}.jpg" for i in range(args.n)]
        ids = fill(proj, tmp, keys, lambda s, c: vecs[s : s + c])
        res["load_s"] = round(time.perf_counter() - t0, 1)
        print(f"loaded {args.n} vectors in {res['load_s']} s")

        prompt = "a photo of a cat on a sofa"
        q = proj.embedder.encode_text([prompt])[0]
        proj.search(prompt, limit=10)  # warm-up

        t_text, _ = timed(lambda: proj.embedder.encode_text([prompt]), 5)
        res["text_encoding"] = pct(t_text)

        def prompt_search():
            r = proj.search(prompt, limit=1000)
            r.histogram(bins=30)
            return r

        ts, r = timed(prompt_search, args.repeat)
        exact = np.argsort(-(vecs @ q))[:1000]
        recall = len(set(r.ids) & {ids[j] for j in exact}) / 1000
        res["prompt_search_limit1000"] = {**pct(ts), "recall_at_1000": recall}
        ts_df, _ = timed(lambda: r.df, 5)
        res["collection_df_1000"] = pct(ts_df)

        refs = [ids[j] for j in np.random.default_rng(1).choice(args.n, 10, replace=False)]
        ts, _ = timed(lambda: proj.similar(refs, limit=100), max(5, args.repeat // 2))
        res["similar_10_refs_limit100"] = pct(ts)

        ts, d = timed(lambda: proj.diverse(n=100, method="centroids"), 3)
        res["diverse_n100_centroids"] = {**pct(ts), "sampled": d.info["sampled"]}

        big = proj.search(prompt, limit=10_000)
        ts_save, _ = timed(lambda: big.save("big", overwrite=True), 3)
        ts_load, loaded = timed(lambda: proj.collections["big"], 3)
        assert len(loaded) == len(big)
        res["save_10k_collection"] = pct(ts_save)
        res["reload_10k_collection"] = pct(ts_load)
        proj.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"search-{args.n}.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
