"""Stat-only update check: how long ``scan`` + ``plan_sync`` take when nothing changed.

    .venv/bin/python benchmarks/bench_update_check.py --n 100000 --folders 100

Creates ``--n`` 1-byte ``.jpg`` files (never decoded: the check only stats them)
across ``--folders`` sub-folders of a temporary folder under /tmp, builds ``known``
from a first scan (as the catalog would hold it after an index run), then times
fresh scans + plans against it. Target: <= 5 s for 100k files. The files are
removed at the end. Writes benchmarks/results/update-check-<n>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from aisearch_widgets.sources import Known, normalize_sources, plan_sync, scan

MODEL = "ViT-B-32"


def make_tree(root: Path, n: int, folders: int) -> None:
    per = -(-n // folders)  # ceil: every file lands in some folder
    made = 0
    for f in range(folders):
        d = root / f"album_{f:03d}"
        d.mkdir(parents=True)
        for i in range(min(per, n - made)):
            # One byte is enough: the check reads size and mtime, never the content.
            with open(d / f"img_{i:05d}.jpg", "wb") as fh:
                fh.write(b"\xff")
        made += min(per, n - made)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of files")
    ap.add_argument("--folders", type=int, default=100, help="number of sub-folders")
    ap.add_argument("--repeat", type=int, default=3, help="timed checks (the best is the result)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aisearch-update-check-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        make_tree(tmp, args.n, args.folders)
        t_make = time.perf_counter() - t0
        sources = normalize_sources(str(tmp))

        # The first scan plays the role of the index run that filled the catalog.
        t0 = time.perf_counter()
        first = scan(sources)
        t_first = time.perf_counter() - t0
        known = {
            k: Known(e.size, e.mtime_ns, "embedded", MODEL, None) for k, e in first.entries.items()
        }
        assert len(known) == args.n, f"scanned {len(known)} of {args.n} files"

        scans: list[float] = []
        plans: list[float] = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            scanned = scan(sources)
            t1 = time.perf_counter()
            plan = plan_sync(scanned, known, MODEL)
            t2 = time.perf_counter()
            scans.append(t1 - t0)
            plans.append(t2 - t1)
            s = plan.summary()
            assert s["unchanged"] == args.n and not plan.embed and not plan.delete, s
        totals = [a + b for a, b in zip(scans, plans, strict=True)]
        res = {
            "n": args.n,
            "folders": args.folders,
            "make_s": round(t_make, 3),
            "first_scan_s": round(t_first, 3),
            "scan_s": [round(x, 3) for x in scans],
            "plan_s": [round(x, 3) for x in plans],
            "total_best_s": round(min(totals), 3),
            "total_median_s": round(statistics.median(totals), 3),
            "target_s": 5.0,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'files':>8} {'scan s':>8} {'plan s':>8} {'total s (best)':>15} {'median':>8}")
    print(
        f"{args.n:>8} {min(scans):>8.3f} {min(plans):>8.3f} "
        f"{res['total_best_s']:>15.3f} {res['total_median_s']:>8.3f}"
    )
    print(f"(first scan, cold-ish cache: {t_first:.3f} s; creating the files took {t_make:.1f} s)")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"update-check-{args.n}.json"
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out}")
    assert not os.path.exists(tmp)


if __name__ == "__main__":
    main()
