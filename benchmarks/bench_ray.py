"""engine="ray" against in-process indexing on the same images, and the driver's
upsert rate into Qdrant Edge and into QdrantClient(":memory:").

    .venv/bin/python benchmarks/bench_ray.py --n 1000 --model demo --rounds 2
    .venv/bin/python benchmarks/bench_ray.py --n 200 --model ViT-B-32:random --rounds 1

Local Ray with ``--cpus`` CPUs (default 2). Rounds alternate in-process and Ray (A/B
interleaved on a shared machine); each round indexes a fresh project. Both rates
count the sync only: the model (in process) and the model actors (Ray, kept by the
project's engine from one sync to the next) are started before the clock, and that
start is reported beside. Writes benchmarks/results/ray-<model>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from bench_indexing import make_jpegs


def upsert_rate(store, n: int = 20_000, batch: int = 32, dim: int = 512) -> float:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    ids = [str(uuid.UUID(int=i + 1)) for i in range(n)]
    t = time.perf_counter()
    for i in range(0, n, batch):
        store.upsert(ids[i : i + batch], vecs[i : i + batch])
    store.flush()
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--model", default="demo")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--upserts", type=int, default=20_000)
    args = ap.parse_args()

    import aisearch_widgets as aw
    from aisearch_widgets import _ray
    from aisearch_widgets.store.edge import EdgeStore
    from aisearch_widgets.store.server import ServerStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    images = tmp / "images"
    make_jpegs(images, args.n, size=(640, 480))
    t = time.perf_counter()
    _ray.ensure_ray(None, args.cpus)
    ray_init = time.perf_counter() - t
    rows = []
    for r in range(args.rounds):
        for engine in ("local", "ray"):
            home = tmp / f"home-{engine}-{r}"
            with aw.Project(
                "b",
                sources=images,
                model=args.model,
                home=home,
                engine=engine,
                batch_size=args.batch,
            ) as proj:
                t = time.perf_counter()
                # The model load is not part of the rate: in process, the model; with
                # Ray, the model actors (kept by the project's engine across syncs).
                if engine == "local":
                    proj._get_embedder()
                else:
                    threads = proj.indexer.engine.start()
                start = time.perf_counter() - t
                t = time.perf_counter()
                s = proj.update()
                sec = time.perf_counter() - t
            assert s.embedded == args.n, s
            row = {"round": r, "engine": engine, "seconds": sec, "rate": args.n / sec}
            row["start_s"] = start
            if engine == "ray":
                row["actor_threads"] = threads
            rows.append(row)
            print(
                f"round {r} {engine:5s} {args.n / sec:7.1f} img/s ({sec:.1f} s; "
                f"model start {start:.1f} s, with it {args.n / (sec + start):.1f} img/s)",
                flush=True,
            )
            shutil.rmtree(home)
    ratios = [
        next(x["rate"] for x in rows if x["round"] == r and x["engine"] == "ray")
        / next(x["rate"] for x in rows if x["round"] == r and x["engine"] == "local")
        for r in range(args.rounds)
    ]
    print("ray / in-process per round:", " ".join(f"{x:.2f}" for x in ratios))
    cold = [
        next(
            args.n / (x["seconds"] + x["start_s"])
            for x in rows
            if x["round"] == r and x["engine"] == e
        )
        for r in range(args.rounds)
        for e in ("ray", "local")
    ]
    cold_ratios = [cold[2 * r] / cold[2 * r + 1] for r in range(args.rounds)]
    print("same, model start counted:", " ".join(f"{x:.2f}" for x in cold_ratios))

    from qdrant_client import QdrantClient

    edge = EdgeStore(tmp / "shard", 512)
    mem = ServerStore(QdrantClient(":memory:"), "b", 512)
    up = {
        "edge": upsert_rate(edge, args.upserts),
        "qdrant-memory": upsert_rate(mem, args.upserts),
    }
    edge.close()
    print("driver upserts/s (512-d, batches of 32):", {k: round(v) for k, v in up.items()})
    out = Path(__file__).parent / "results" / f"ray-{args.model.replace(':', '-')}.json"
    out.write_text(
        json.dumps(
            {
                "n": args.n,
                "model": args.model,
                "cpus": args.cpus,
                "image_size": [640, 480],
                "ray_init_s": ray_init,
                "rounds": rows,
                "ratio": ratios,
                "ratio_with_model_start": cold_ratios,
                "upserts_per_s": up,
            },
            indent=1,
        )
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
