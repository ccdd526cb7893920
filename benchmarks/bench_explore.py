"""Explore benchmark on N synthetic clustered 512-d unit vectors: the kNN graph
(exact numpy up to 50k, pynndescent above; recall against exact on 1,000 queries),
the map (PCA; UMAP on the shared graph, or fitted on a sample + transform),
duplicate groups and outlier scores from the graph, each next to a plain numpy /
scikit-learn baseline timed in the same run.

    .venv/bin/python benchmarks/bench_explore.py --n 100000
    .venv/bin/python benchmarks/bench_explore.py --n 100000 --umap-sample 20000

The baselines that would take minutes (brute-force kNN of every point) are timed on
``--baseline-queries`` rows and scaled to N (marked "scaled" in the output).
Duplicates are timed without pixel confirmation (no files): that step reads only
candidate images and costs what ``fingerprint_image`` costs per image, measured
separately here on 128-px images.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
DIM = 512


def clustered(n: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, k, n)
    spread = rng.uniform(0.03, 0.06, size=k).astype(np.float32)
    out = np.empty((n, DIM), np.float32)
    for s in range(0, n, 100_000):
        lab = labels[s : s + 100_000]
        v = centres[lab] + rng.normal(size=(len(lab), DIM)).astype(np.float32) * spread[lab, None]
        out[s : s + len(lab)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    # 1 % near-duplicates (tiny perturbations) and 0.1 % exact copies.
    m = n // 100
    src = rng.choice(n, m + n // 1000, replace=False)
    dst = rng.choice(np.setdiff1d(np.arange(n), src), len(src), replace=False)
    noise = rng.normal(size=(m, DIM)).astype(np.float32) * 0.004
    out[dst[:m]] = out[src[:m]] + noise
    out[dst[:m]] /= np.linalg.norm(out[dst[:m]], axis=1, keepdims=True)
    out[dst[m:]] = out[src[m:]]
    return out


def peak_mb() -> float:
    """This process's peak RSS so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunked(fn, queries: np.ndarray, size: int = 100) -> None:
    """``fn`` over ``queries`` in chunks: a baseline's distance matrix of all N
    points per query must not set the peak memory the engine is judged by."""
    for i in range(0, len(queries), size):
        fn(queries[i : i + size])


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--clusters", type=int, default=200)
    ap.add_argument("--umap-sample", type=int, default=None, help="fit UMAP on this many")
    ap.add_argument("--no-umap", action="store_true")
    ap.add_argument("--baseline-queries", type=int, default=5000)
    args = ap.parse_args()

    from sklearn.decomposition import PCA
    from sklearn.neighbors import NearestNeighbors

    from aisearch_widgets.explore import compute_map, find_duplicates, find_outliers, knn_graph
    from aisearch_widgets.explore.duplicates import fingerprint_image

    n = args.n
    x = clustered(n, args.clusters)
    ids = [f"{i:08x}" for i in np.random.default_rng(1).permutation(n)]
    res: dict = {"n": n, "dim": DIM}
    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        # Warm numba (pynndescent/umap compile on first use; cached afterwards).
        small_ids, small = ids[:3000], x[:3000]
        _, res["warmup_nndescent_s"] = timed(knn_graph, small_ids, small, method="nndescent")

        graph, res["knn_s"] = timed(knn_graph, ids, x, cache_dir=cache)
        res["knn_exact"] = graph.exact
        res["peak_rss_mb_after_graph"] = peak_mb()
        q = rng.choice(n, 1000, replace=False)
        hits = []
        for c in range(0, 1000, 100):  # exact neighbours of 100 queries at a time
            qc = q[c : c + 100]
            s = x[qc] @ x.T
            s[np.arange(len(qc)), qc] = -np.inf
            truth = np.argpartition(-s, 15, axis=1)[:, :15]
            hits += [len(set(truth[j]) & set(graph.indices[qc[j]])) / 15 for j in range(len(qc))]
            del s, truth
        res["knn_recall_at_15"] = float(np.mean(hits))
        _, res["knn_cached_s"] = timed(knn_graph, ids, x, cache_dir=cache)
        bq = min(args.baseline_queries, n)
        nn = NearestNeighbors(n_neighbors=16, algorithm="brute", metric="cosine").fit(x)
        _, t = timed(chunked, nn.kneighbors, x[:bq])
        res["baseline_sklearn_brute_knn_s_scaled"] = t * n / bq

        _, res["map_pca_s"] = timed(compute_map, ids, x, method="pca")
        _, res["baseline_sklearn_pca_s"] = timed(PCA(2, random_state=0).fit_transform, x)
        if not args.no_umap:
            sample = args.umap_sample or n
            _, res["warmup_umap_s"] = timed(compute_map, small_ids, small, cache_dir=cache / "w")
            df, res["map_umap_s"] = timed(compute_map, ids, x, sample=sample, cache_dir=cache)
            res["map_umap_sample"] = sample
            res["peak_rss_mb_after_map"] = peak_mb()
            new = clustered(n // 20, args.clusters, seed=9)
            more = ids + [f"new{i}" for i in range(len(new))]
            _, res["map_umap_incremental_5pct_s"] = timed(
                compute_map, more, np.concatenate([x, new]), sample=sample, cache_dir=cache
            )

        df, res["duplicates_s"] = timed(
            find_duplicates, ids, x, lambda i: [None] * len(i), confirm=False, graph=graph,
            threshold=0.99,
        )  # fmt: skip
        res["duplicate_groups"] = int(df["group"].nunique()) if len(df) else 0
        res["duplicate_members"] = len(df)
        _, t = timed(chunked, lambda c: nn.radius_neighbors(c, radius=0.01), x[:bq])
        res["baseline_sklearn_radius_duplicates_s_scaled"] = t * n / bq

        _, res["outliers_s"] = timed(find_outliers, ids, x, n=100, graph=graph)
        _, res["outliers_with_graph_s"] = (None, res["outliers_s"] + res["knn_s"])
        res["baseline_sklearn_kth_distance_s_scaled"] = res["baseline_sklearn_brute_knn_s_scaled"]

        from PIL import Image

        img = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
        _, t = timed(lambda: [fingerprint_image(img) for _ in range(500)])
        res["fingerprint_ms_per_image"] = 1000 * t / 500
        res["peak_rss_mb"] = peak_mb()
    print(json.dumps(res, indent=2))
    out = Path(__file__).parent / "results" / f"explore-{n}.json"
    out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
