"""Zero-shot classification of every image of a project from its stored vectors:
``proj.classify`` with 10 classes on N random unit 512-d vectors, end to end (read
the vectors, score, write the predictions as a label set, save the class
probabilities, build the Collection), with the time of each part.

    .venv/bin/python benchmarks/bench_active.py --n 1000000 --keep /tmp/cls1m/fixture
    .venv/bin/python benchmarks/bench_active.py --n 100000

``--keep DIR`` builds the project in DIR once and reuses it (the kept vector copy
too), so that the code before and after a change can be timed on the same data: run
the script with ``PYTHONPATH`` at each tree in turn. Every part is reported in wall
and CPU time (the process's, every thread).

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
    """``fn`` that adds its wall time to ``parts[name]`` and its CPU time (the whole
    process's, every thread) to ``parts[name + " cpu"]``."""

    def wrapped(*a: Any, **kw: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **kw)
        finally:
            parts[name] += time.perf_counter() - t0
            parts[name + " cpu"] += time.process_time() - c0

    return wrapped


def build(proj: Any, tmp: Path, n: int) -> None:
    """Catalog rows and vectors of the project, as a sync leaves them."""
    from bench_search import fill

    keys = [f"images/d{i % 1000:03d}/img_{i:07d}.jpg" for i in range(n)]
    fill(proj, tmp, keys, lambda s, c: random_unit(c, seed=s), chunk=100_000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one call, then stop")
    ap.add_argument("--keep", default=None, help="build the project here once, reuse it")
    args = ap.parse_args()

    import aisearch_widgets as aw
    from aisearch_widgets import _matrix, active

    try:
        from aisearch_widgets import _predsets
    except ImportError:  # before prediction sets were kept by column
        _predsets = None

    n = args.n
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="aisearch-bench-active-"))
    built = (tmp / "built").exists() and (tmp / "built").read_text() == str(n)
    (tmp / "images").mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"n": n, "classes": len(CLASSES)}
    try:
        proj = aw.Project(
            "bench", sources=tmp / "images", model="ViT-B-32:random", home=tmp / "home"
        )
        t0 = time.perf_counter()
        if built:
            proj.store.count()  # the shard loaded, as after a build
            res["reused"] = True
        else:
            build(proj, tmp, n)
            (tmp / "built").write_text(str(n))
        res["load_s"] = round(time.perf_counter() - t0, 1)
        print(f"loaded {n} vectors in {res['load_s']} s", flush=True)
        # Every run starts from a project without the set (whichever code wrote it).
        proj.drop_label_set("zero-shot")
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
        read = "read vectors (kept copy)"
        _matrix.stored_matrix = timing(parts, read, _matrix.stored_matrix)
        if hasattr(_matrix, "stored_rows"):  # the ids kept as bytes, turned into str apart
            _matrix.stored_rows = timing(parts, read, _matrix.stored_rows)
            _predsets.decode = timing(parts, "ids as str", _predsets.decode)
        for name in ("put_labels", "remove_labels", "replace_label_set", "replace_prediction_set"):
            if hasattr(catalog, name):
                setattr(catalog, name, timing(parts, "write labels", getattr(catalog, name)))
        score = "score (matmul + softmax + top two)"
        if hasattr(active, "score_classes"):
            active.score_classes = timing(parts, score, active.score_classes)
        else:
            active.zero_shot = timing(parts, score, active.zero_shot)
            active.top_two = timing(parts, score, active.top_two)
        active.save_probs = timing(parts, "save probabilities", active.save_probs)
        active.class_vectors = timing(parts, "encode prompts", active.class_vectors)
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            out = proj.classify(CLASSES, set="zero-shot")
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        parts = dict(parts)  # what reading the set back below costs is not counted
        t0, c0 = time.perf_counter(), time.process_time()
        back = proj.labels("zero-shot")  # the whole set read back as label rows
        res["labels_read_back_s"] = round(time.perf_counter() - t0, 2)
        res["labels_read_back_cpu_s"] = round(time.process_time() - c0, 2)
        assert len(out) == n and len(back) == n
        res["classify_s"] = {
            "min": round(min(times), 2),
            "median": round(sorted(times)[len(times) // 2], 2),
        }
        res["classify_cpu_s"] = {
            "min": round(min(cpu), 2),
            "median": round(sorted(cpu)[len(cpu) // 2], 2),
        }
        wall = {k: v for k, v in parts.items() if not k.endswith(" cpu")}
        res["parts_s_per_call"] = {k: round(v / args.repeat, 2) for k, v in wall.items()}
        res["parts_s_per_call"]["rest (rows, Collection)"] = round(
            np.median(times) - sum(wall.values()) / args.repeat, 2
        )
        res["parts_cpu_s_per_call"] = {
            k.removesuffix(" cpu"): round(v / args.repeat, 2)
            for k, v in parts.items()
            if k.endswith(" cpu")
        }
        res["parts_cpu_s_per_call"]["rest (rows, Collection)"] = round(
            np.median(cpu) - sum(v for k, v in parts.items() if k.endswith(" cpu")) / args.repeat,
            2,
        )
        res["load_average"] = os.getloadavg()[0]
        print(json.dumps(res, indent=2))
        out = Path(__file__).parent / "results" / f"active-{n}.json"
        out.write_text(json.dumps(res, indent=2) + "\n")
        proj.close()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
