"""Zero-shot classification of every image of a project from its stored vectors:
``proj.classify`` with 10 classes on N random unit 512-d vectors, end to end (read
the vectors, score, write the predictions as a label set, save the class
probabilities, build the Collection), with the time of each part.

    .venv/bin/python benchmarks/bench_active.py --n 1000000
    .venv/bin/python benchmarks/bench_active.py --n 100000

The project is a real one (catalog + Qdrant Edge store, ViT-B-32 text tower with
random weights), filled as in ``bench_scope.py``. The first call loads the text tower
and reads every vector out of the store into the kept float16 copy (``_matrix``): it
is reported apart; the timed calls follow (each replaces the label set).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

DIM = 512
CLASSES = [
    "a cat",
    "a dog",
    "a car",
    "a tree",
    "a house",
    "a person",
    "a bicycle",
    "a boat",
    "a bird",
    "a flower",
]


def random_unit(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), np.float32)
    for s in range(0, n, 100_000):
        v = rng.standard_normal((min(100_000, n - s), DIM), dtype=np.float32)
        out[s : s + len(v)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def timing(parts: dict[str, float], name: str, fn: Any) -> Any:
    def wrapped(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            parts[name] += time.perf_counter() - t0

    return wrapped


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one call, then stop")
    args = ap.parse_args()

    import aisearch_widgets as aw
    from aisearch_widgets import _matrix, active
    from aisearch_widgets.sources import point_id

    n = args.n
    tmp = Path(tempfile.mkdtemp(prefix="aisearch-bench-active-"))
    (tmp / "images").mkdir()
    res: dict[str, Any] = {"n": n, "classes": len(CLASSES)}
    try:
        proj = aw.Project(
            "bench", sources=tmp / "images", model="ViT-B-32:random", home=tmp / "home"
        )
        t0 = time.perf_counter()
        keys = [f"images/d{i % 1000:03d}/img_{i:07d}.jpg" for i in range(n)]
        ids = [point_id("bench", k) for k in keys]
        now = time.time()
        with proj.catalog.transaction() as db:
            db.executemany(
                "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status, model,"
                " updated_at) VALUES (?, ?, ?, 'images', 1, 1, ?, 'embedded', ?, ?)",
                [
                    (k, i, str(tmp / k), f"c{j}", proj.model_identity, now)
                    for j, (k, i) in enumerate(zip(keys, ids, strict=True))
                ],
            )
        for s in range(0, n, 100_000):
            vecs = random_unit(min(100_000, n - s), seed=s)
            for b in range(0, len(vecs), 2000):
                proj.store.upsert(ids[s + b : s + b + 2000], vecs[b : b + 2000])
        del vecs
        proj.store.flush()
        proj.store.maybe_optimize()
        proj.catalog.set_meta(first_pass_done=True)
        res["load_s"] = round(time.perf_counter() - t0, 1)
        print(f"loaded {n} vectors in {res['load_s']} s", flush=True)

        t0 = time.perf_counter()
        proj.classify(CLASSES, set="zero-shot")
        # Loads the text tower and reads every vector from the store once (kept after).
        res["first_call_s"] = round(time.perf_counter() - t0, 2)
        print(f"first call {res['first_call_s']} s", flush=True)

        if args.profile:
            import cProfile
            import pstats

            with cProfile.Profile() as prof:
                proj.classify(CLASSES, set="zero-shot")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
            return
        parts: dict[str, float] = defaultdict(float)
        catalog = proj.catalog
        _matrix.stored_matrix = timing(parts, "read vectors (kept copy)", _matrix.stored_matrix)
        catalog.put_labels = timing(parts, "write labels", catalog.put_labels)
        catalog.remove_labels = timing(parts, "write labels", catalog.remove_labels)
        if hasattr(catalog, "replace_label_set"):
            catalog.replace_label_set = timing(parts, "write labels", catalog.replace_label_set)
        active.zero_shot = timing(parts, "score (matmul + softmax)", active.zero_shot)
        active.save_probs = timing(parts, "save probabilities", active.save_probs)
        active.class_vectors = timing(parts, "encode prompts", active.class_vectors)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = proj.classify(CLASSES, set="zero-shot")
            times.append(time.perf_counter() - t0)
        assert len(out) == n and len(proj.labels("zero-shot")) == n
        res["classify_s"] = {
            "min": round(min(times), 2),
            "median": round(sorted(times)[len(times) // 2], 2),
        }
        res["parts_s_per_call"] = {k: round(v / args.repeat, 2) for k, v in parts.items()}
        res["parts_s_per_call"]["rest (rows, Collection)"] = round(
            np.median(times) - sum(parts.values()) / args.repeat, 2
        )
        res["load_average"] = os.getloadavg()[0]
        print(json.dumps(res, indent=2))
        out = Path(__file__).parent / "results" / f"active-{n}.json"
        out.write_text(json.dumps(res, indent=2) + "\n")
        proj.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
