"""Opening a big project: ``Project.open`` + the first query, old tree against new, in
whole fresh processes taken in turn (old, new, new, old, ...), page cache warmed before
each process.

    .venv/bin/python benchmarks/bench_open.py --n 1000000 --workdir /tmp/open --pairs 5
    .venv/bin/python benchmarks/bench_open.py ... --cold   # page cache dropped instead (root)

The project (built once in ``--workdir``, kept): ``--n`` catalog rows written directly
and the Edge shard of bench_store's clustered 512-d vectors, as bench_search.py builds
it. ``--old`` is a git revision exported next to it (default: the tree before the
clean-close mark). Each process imports the package, then times ``Project.open`` and
``similar([one id], limit=100)`` (wall, in process) and the CPU the process spent from
after the import to the answer (every thread: the shard load runs in one) and in all
(the background catalog check included, which the close waits for). ``new-unclean``
deletes the clean-close mark first: the open that follows a crash.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OLD_REV = "da5c07c"  # before the clean-close mark

CHILD = r"""
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
import aisearch_widgets as aw
c0, t0 = cpu(), time.perf_counter()
p = aw.Project.open("bench", home=sys.argv[1])
t1 = time.perf_counter()
hits = p.similar([sys.argv[2]], limit=100)
t2 = time.perf_counter()
c2 = cpu()
assert len(hits) == 100
p.close()
print(json.dumps({"open_s": t1 - t0, "first_query_s": t2 - t1, "to_answer_s": t2 - t0,
                  "cpu_to_answer_s": c2 - c0, "cpu_total_s": cpu() - c0}))
"""


def build(work: Path, n: int) -> tuple[Path, str]:
    """The project in ``work`` (built when absent) and one of its ids."""
    home, ids_file = work / "home", work / "ids.txt"
    if not ids_file.exists():
        sys.path.insert(0, str(HERE.parent))
        sys.path.insert(0, str(HERE))
        from bench_search import fill
        from bench_store import make_data

        import aisearch_widgets as aw

        (work / "images").mkdir(parents=True, exist_ok=True)
        proj = aw.Project("bench", sources=work / "images", model="ViT-B-32:random", home=home)
        vecs = make_data(n, 1000).vectors
        keys = [f"images/img_{i:07d}.jpg" for i in range(n)]
        ids = fill(proj, work, keys, lambda s, c: vecs[s : s + c])
        proj.close()
        ids_file.write_text("\n".join(ids[:10]))
    return home, ids_file.read_text().split("\n")[3]


def export(rev: str, work: Path) -> Path:
    dest = work / f"tree-{rev}"
    if not dest.exists():
        with tempfile.TemporaryFile() as fh:
            subprocess.run(["git", "archive", rev], cwd=HERE.parent, stdout=fh, check=True)
            fh.seek(0)
            with tarfile.open(fileobj=fh) as tar:
                tar.extractall(dest, filter="data")
    return dest


def warm(home: Path) -> None:
    """Every file of the project read once: the page cache holds them."""
    for path in home.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def cold() -> None:
    """The page cache dropped, the whole machine's (Linux, as root): the project's
    files are read from the disk again, as after a restart."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as fh:
        fh.write("3\n")


def drop_mark(home: Path) -> None:
    with sqlite3.connect(home / "bench" / "catalog.sqlite") as db:
        db.execute("DELETE FROM meta WHERE k = 'clean_close'")
    db.close()


def run(tree: Path, home: Path, pid: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), pid],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return res | {"process_wall_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--old", default=OLD_REV)
    ap.add_argument("--variants", default="old,new,new-unclean")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--cold",
        action="store_true",
        help="drop the page cache before each process (Linux, as root) instead of warming it",
    )
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    home, pid = build(args.workdir, args.n)
    trees = {"old": export(args.old, args.workdir), "new": HERE.parent, "new-unclean": HERE.parent}
    names = args.variants.split(",")
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in names}
    for r in range(args.pairs):
        for name in names if r % 2 == 0 else names[::-1]:
            # Before every process: on this shared machine a process's ~1 GB of memory
            # evicted part of the shard from the page cache, and the next paid ~1 s of
            # CPU more whichever tree it ran (measured).
            cold() if args.cold else warm(home)
            if name == "new-unclean":
                drop_mark(home)
            rows[name].append(run(trees[name], home, pid))
            print(name, json.dumps({k: round(v, 3) for k, v in rows[name][-1].items()}), flush=True)
    summary: dict[str, dict[str, float]] = {}
    for name, got in rows.items():
        summary[name] = {k: round(statistics.median(g[k] for g in got), 3) for k in got[0]}
        if name != "old" and "old" in rows:
            for k in ("to_answer_s", "cpu_to_answer_s", "cpu_total_s", "process_wall_s"):
                pairs = [n[k] / o[k] for n, o in zip(got, rows["old"], strict=True)]
                summary[name][f"{k}_over_old"] = round(statistics.median(pairs), 2)
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"n": args.n, "runs": rows, "median": summary}, indent=1))


if __name__ == "__main__":
    main()
