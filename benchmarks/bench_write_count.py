"""What counting the store's writes costs the upsert: the indexer's 32-vector upserts
into a project's store with no count, with the count as shipped
(``Catalog.bump_vectors_generation``: a file mapped in memory) and with the count as
it was first kept (a commit of the catalog's ``meta`` row), in one process, the three
alternated round by round (every order in turn), CPU time of each round.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_write_count.py --n 16000 --rounds 12

Writes benchmarks/results/write-count.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_search import clustered  # noqa: E402

import aisearch_widgets as aw  # noqa: E402
from aisearch_widgets.catalog import VECTORS_GENERATION  # noqa: E402
from aisearch_widgets.sources import point_id  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=16_000, help="points per round and variant")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "write-count.json")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aisearch-write-count-"))
    try:
        (tmp / "images").mkdir()
        proj = aw.Project("b", tmp / "images", model="ViT-B-32:random", home=tmp / "home")
        store, cat = proj.store, proj.catalog

        def meta_row() -> None:  # the count as it was first kept
            with cat.transaction() as db:
                db.execute(
                    "INSERT INTO meta(k, v) VALUES (?, '1') "
                    "ON CONFLICT(k) DO UPDATE SET v = CAST(v AS INTEGER) + 1",
                    (VECTORS_GENERATION,),
                )

        hooks = {"none": None, "mapped": cat.bump_vectors_generation, "meta_row": meta_row}
        vecs = clustered(args.n, 100)
        cpu: dict[str, list[float]] = {k: [] for k in hooks}
        orders = list(itertools.permutations(hooks))
        for r in range(args.rounds):
            for mode in orders[r % len(orders)]:
                store.on_write = hooks[mode]
                ids = [point_id("b", f"{r}-{mode}-{i}") for i in range(args.n)]
                c0 = time.process_time()
                for b in range(0, args.n, 32):
                    store.upsert(ids[b : b + 32], vecs[b : b + 32])
                cpu[mode].append(round(time.process_time() - c0, 4))
        proj.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    paired = {
        k: round(statistics.median(a / b for a, b in zip(cpu[k], cpu["none"], strict=True)), 3)
        for k in ("mapped", "meta_row")
    }
    res = {"n": args.n, "rounds": args.rounds, "cpu_s": cpu, "paired_over_none": paired}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({"paired_over_none": paired}))


if __name__ == "__main__":
    main()
