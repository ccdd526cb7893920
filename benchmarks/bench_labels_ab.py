"""Label export and import, an earlier tree of the code against this one, alternating
in one run: each round runs ``Collection.export(format=...)`` and
``Project.import_labels`` of that export in a fresh process per tree, on one fixture
(``--n`` PNG files with two boxes each, as ``bench_labels.py`` makes it).

    git archive <commit> aisearch_widgets | tar -x -C /tmp/old
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_labels_ab.py --old /tmp/old \\
        --n 100000 --formats yolo --rounds 3

On a machine shared with other jobs the wall time counts their turns; the CPU time
(``time.process_time``: user + system, all threads) is split into user and system
(the kernel's file work: creating 100k files is most of a YOLO export). Prints one
JSON line per run and the median per tree; writes benchmarks/results/labels-ab-<n>.json.
The exports of each run stay on disk until the end (removing 100k files takes the
shared disk longer than writing them), then go.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW = HERE.parent


def child(fixture: Path, fmt: str, tag: str, sizes: bool = False) -> None:
    """One export and one import in this process; prints a JSON line. ``sizes``: the
    catalog as an index run leaves it, each image embedded with its metadata row
    (width, height); the fixture has no vectors, so opening it marks them pending."""
    import numpy as np

    import aisearch_widgets as aw

    proj = aw.Project("bench", fixture / "imgs", model="demo", home=fixture / "home")
    if sizes:
        with proj.catalog.transaction() as db:
            db.execute("UPDATE files SET status = 'embedded' WHERE status = 'pending'")
            db.execute(
                "INSERT OR REPLACE INTO metadata(id, width, height, format) "
                "SELECT id, 32, 24, 'PNG' FROM files"
            )
    col = proj.labelled("car", "person")
    _ = col.df
    target = (
        fixture
        / "out"
        / f"{tag}{ {'coco': '.json', 'labelstudio': '.json', 'cvat': '.zip'}.get(fmt, '') }"
    )
    res: dict = {"tag": tag, "format": fmt, "tree": aw.__file__, "sizes": sizes}
    for step in ("export", "import"):
        t0, c0, o0 = time.perf_counter(), time.process_time(), os.times()
        if step == "export":
            col.export(target, format=fmt)
        else:
            rep = proj.import_labels(target, set="back", root=fixture / "imgs")
        o1 = os.times()
        res[f"{step}_wall_s"] = round(time.perf_counter() - t0, 2)
        res[f"{step}_cpu_s"] = round(time.process_time() - c0, 2)
        res[f"{step}_user_s"] = round(o1.user - o0.user, 2)
        res[f"{step}_sys_s"] = round(o1.system - o0.system, 2)
    want, back = proj.labels("ground_truth"), proj.labels("back")
    assert rep.unmatched.empty and len(back) == len(want), rep
    a = want.sort_values(["id", "label"])[["x", "y", "w", "h"]].to_numpy()
    b = back.sort_values(["id", "label"])[["x", "y", "w", "h"]].to_numpy()
    res["max_box_error_px"] = float(np.abs(a - b).max())
    assert res["max_box_error_px"] <= 0.5, res
    proj.catalog.remove_labels("back")
    proj.close()
    res["load"] = round(os.getloadavg()[0], 1)
    print(json.dumps(res), flush=True)


def build(fixture: Path, n: int) -> None:
    sys.path.insert(0, str(HERE))
    import bench_labels as b

    import aisearch_widgets as aw

    b.make_files(fixture / "imgs", n)
    proj = aw.Project("bench", fixture / "imgs", model="demo", home=fixture / "home")
    paths = b.fill_catalog(proj)
    b.coco_source(paths, fixture / "imgs", fixture / "source.json")
    rep = proj.import_labels(fixture / "source.json", set="ground_truth")
    assert rep.labels == 2 * n and rep.unmatched.empty, rep
    proj.close()
    (fixture / "out").mkdir()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--old", type=Path, required=True, help="folder holding the earlier aisearch_widgets"
    )
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--formats", default="yolo")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fixture", type=Path, help="keep (or reuse) the fixture here")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument(
        "--sizes",
        action="store_true",
        help="the catalog holds each image's size (as after an index run); else every "
        "export reads 100k image headers",
    )
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], args.child[2], args.sizes)
        return
    fixture = args.fixture or Path(tempfile.mkdtemp(prefix="aisearch-labels-ab-", dir="/tmp"))
    if not (fixture / "home").exists():
        fixture.mkdir(parents=True, exist_ok=True)
        build(fixture, args.n)
    runs: list[dict] = []
    trees = {"old": args.old.resolve(), "new": NEW}
    for r in range(args.rounds):
        for fmt in args.formats.split(","):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for name in order:
                env = dict(os.environ, PYTHONPATH=str(trees[name]))
                cmd = [
                    sys.executable,
                    __file__,
                    "--old",
                    str(args.old),
                    "--child",
                    str(fixture),
                    fmt,
                    f"{fmt}-{name}-{r}-{os.getpid()}",
                    *(["--sizes"] if args.sizes else []),
                ]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                if out.returncode:
                    sys.exit(out.stderr)
                res = json.loads(out.stdout.strip().splitlines()[-1]) | {"tree_name": name}
                print(json.dumps(res), flush=True)
                runs.append(res)
    summary: dict = {}
    for fmt in args.formats.split(","):
        for name in trees:
            rs = [x for x in runs if x["format"] == fmt and x["tree_name"] == name]
            summary[f"{fmt}-{name}"] = {
                k: statistics.median(x[k] for x in rs) for k in rs[0] if k.endswith("_s")
            }
    result = {"n": args.n, "rounds": args.rounds, "sizes": args.sizes, "runs": runs}
    result["median"] = summary
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"labels-ab-{args.n}{'-sizes' if args.sizes else ''}.json"
    (args.out / name).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(summary, indent=1), flush=True)
    if args.fixture is None:
        shutil.rmtree(fixture, ignore_errors=True)
    else:
        for p in (fixture / "out").iterdir():
            shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()
