"""Duplicates at scale, the code before against this tree, alternating in one run.

Each round runs, in a fresh process per tree (old first, then new): open the project
and its panel, ``proj.duplicates()`` once (the kNN graph is cached by an earlier run;
this call is the kernel's first), then the panel's Find handler
(``panel.duplicates()``: the search again, the groups shown, the first page built)
and ``proj.duplicates()`` once more. Times are wall and CPU seconds of the process.
``--cold``: the pixel caches (fingerprints, verdicts) are removed before each process,
so its first call reads and compares as a new project's would (the graph stays).

    PYTHONPATH=$PWD python benchmarks/bench_duplicates_ab.py \\
        --home /tmp/p100k/grown-100000/home --old /tmp/old-tree --rounds 3

``--old`` is a checkout of the code before (``git archive <rev> | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
import aisearch_widgets as aw

def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - w, 3), round(time.process_time() - c, 3)

proj = aw.Project("bench", home=sys.argv[1])
_, open_s, _ = timed(lambda: proj._vectors.store())
panel = aw.SearchPanel(proj, page_size=100, limit=100)
panel.controls.mode = "duplicates"  # the tab is open before Find is clicked
first, first_w, first_c = timed(lambda: proj.duplicates(progress=False))
shown, find_w, find_c = timed(panel.duplicates)
again, again_w, again_c = timed(lambda: proj.duplicates(progress=False))
print(json.dumps({
    "open_store_s": open_s,
    "first_call": [first_w, first_c],
    "panel_find": [find_w, find_c],
    "second_call": [again_w, again_c],
    "rows": len(again), "groups": int(again.df["group"].nunique()),
    "page_items": len(panel.gallery.items), "header": panel.actions.header,
    "load": round(os.getloadavg()[0], 1),
}))
"""


def run(tree: Path, home: str, cold: bool) -> dict:
    if cold:
        for f in Path(home).glob("*/explore/*/pixel*.npz"):
            f.unlink()
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, home], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, help="home of an indexed project named 'bench'")
    ap.add_argument("--old", required=True, type=Path, help="a tree of the code before")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="no pixel caches before each process")
    args = ap.parse_args()
    res: dict[str, list[dict]] = {"old": [], "new": []}
    for r in range(args.rounds):
        for name, tree in (("old", args.old), ("new", HERE)):
            got = run(tree, args.home, args.cold)
            res[name].append(got)
            print(f"round {r} {name}: {json.dumps(got)}", flush=True)
    summary = {}
    for step in ("first_call", "panel_find", "second_call"):
        for k, what in ((0, "wall"), (1, "cpu")):
            old = statistics.median(x[step][k] for x in res["old"])
            new = statistics.median(x[step][k] for x in res["new"])
            summary[f"{step}_{what}"] = {"old": old, "new": new, "ratio": round(new / old, 3)}
    print(json.dumps({"cold": args.cold, "rounds": args.rounds, "median": summary}))


if __name__ == "__main__":
    main()
