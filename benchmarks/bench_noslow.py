"""Nothing slower: two trees of the package in whole fresh processes taken in turn
(the order flipped every round), on the store's upsert rate through a project, the
prompt search at 100k and the indexing pipeline.

    git archive 867de7f aisearch_widgets | tar -x -C /tmp/old
    git archive HEAD aisearch_widgets | tar -x -C /tmp/new
    .venv/bin/python benchmarks/bench_noslow.py --old /tmp/old --new /tmp/new --rounds 8

``store``: a project (ViT-B-32 with random weights) with ``--n`` catalog rows written
directly, then its vectors upserted through ``Project.store`` in the indexer's batches
of 32 (CPU time of the loop, every thread), then 20 prompt searches (limit 1000 +
histogram: p50 wall and mean CPU, recall against exact numpy). ``index``:
``bench_indexing.py --n 300 --model demo`` on 300 JPEGs made once. Every child runs
this copy of the scripts; only ``PYTHONPATH`` differs. Writes one JSON line per run
and, at the end, the runs and the median ratios new/old to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, os, shutil, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np
sys.path.insert(0, __HERE__)
from bench_search import catalog_rows, clustered
import aisearch_widgets as aw

n = __N__
tmp = Path(tempfile.mkdtemp(prefix="aisearch-noslow-"))
(tmp / "images").mkdir()
res = {}
try:
    proj = aw.Project("bench", sources=tmp / "images", model="ViT-B-32:random", home=tmp / "home")
    vecs = clustered(n, 1000)
    keys = [f"images/img_{i:07d}.jpg" for i in range(n)]
    ids = catalog_rows(proj, tmp, keys)
    store = proj.store
    store.upsert(ids[:32], vecs[:32])
    t0, c0 = time.perf_counter(), time.process_time()
    for b in range(32, n, 32):
        store.upsert(ids[b : b + 32], vecs[b : b + 32])
    store.flush()
    res["upsert_wall_s"] = round(time.perf_counter() - t0, 3)
    res["upsert_cpu_s"] = round(time.process_time() - c0, 3)
    res["upsert_per_cpu_s"] = round((n - 32) / res["upsert_cpu_s"])
    store.maybe_optimize()
    proj.catalog.set_meta(first_pass_done=True)
    prompt = "a photo of a cat on a sofa"
    q = proj.embedder.encode_text([prompt])[0]
    proj.search(prompt, limit=10)
    ts, cs = [], []
    for _ in range(20):
        t0, c0 = time.perf_counter(), time.process_time()
        r = proj.search(prompt, limit=1000)
        r.histogram(bins=30)
        ts.append((time.perf_counter() - t0) * 1000)
        cs.append((time.process_time() - c0) * 1000)
    exact = np.argsort(-(vecs @ q))[:1000]
    res["prompt_p50_ms"] = round(statistics.median(ts), 2)
    res["prompt_cpu_ms"] = round(statistics.mean(cs), 2)
    res["recall"] = len(set(r.ids) & {ids[j] for j in exact}) / 1000
    proj.close()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("RESULT " + json.dumps(res))
"""

METRICS = {
    "store": ["upsert_per_cpu_s", "upsert_wall_s", "prompt_p50_ms", "prompt_cpu_ms", "recall"],
    "index": ["pipeline_img_s", "model_only_img_s"],
}


def run(kind: str, tree: Path, n: int, jpegs: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0, load = time.perf_counter(), os.getloadavg()[0]
    if kind == "store":
        code = CHILD.replace("__HERE__", repr(str(HERE))).replace("__N__", str(n))
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
        res = json.loads(line[-1][7:]) if line else {"error": p.stderr[-2000:]}
    else:
        script = HERE / "bench_indexing.py"
        args = ["--n", "300", "--model", "demo", "--data", str(jpegs)]
        p = subprocess.run(
            [sys.executable, str(script), *args], env=env, capture_output=True, text=True
        )
        try:
            res = json.loads(p.stdout[p.stdout.index("{\n") :])
        except ValueError:
            res = {"error": p.stderr[-2000:]}
        res = {k: res[k] for k in METRICS["index"] if k in res} | (
            {"error": res["error"]} if "error" in res else {}
        )
    return res | {
        "kind": kind,
        "tree": str(tree),
        "wall_s": round(time.perf_counter() - t0, 2),
        "load": round(load, 2),
        "t": time.strftime("%H:%M:%S"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="folder holding aisearch_widgets/")
    ap.add_argument("--new", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--kinds", default="store,index")
    ap.add_argument("--jpegs", type=Path, default=Path("/tmp/aisearch-noslow-jpegs"))
    ap.add_argument("--out", type=Path, default=HERE / "results" / "noslow-again.json")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    if "index" in kinds and not any(args.jpegs.glob("*.jpg")):
        sys.path.insert(0, str(HERE))
        from bench_indexing import make_jpegs

        args.jpegs.mkdir(parents=True, exist_ok=True)
        make_jpegs(args.jpegs, 300)
    trees = {"old": args.old, "new": args.new}
    runs = []
    for r in range(args.rounds):
        for kind in kinds:
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                res = run(kind, trees[name], args.n, args.jpegs) | {"which": name, "round": r}
                print(json.dumps(res), flush=True)
                runs.append(res)
    summary: dict = {}
    for kind in kinds:
        for m in METRICS[kind]:
            by = {
                w: [x[m] for x in runs if x["kind"] == kind and x["which"] == w and m in x]
                for w in trees
            }
            if by["old"] and by["new"]:
                summary[m] = {
                    "old_median": statistics.median(by["old"]),
                    "new_median": statistics.median(by["new"]),
                    "new_over_old": round(
                        statistics.median(by["new"]) / statistics.median(by["old"]), 3
                    ),
                }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
