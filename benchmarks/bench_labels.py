"""Label export and import at scale: ``Collection.export(format=...)`` and
``Project.import_labels`` for the labels of ``--n`` images (two boxes each).

    .venv/bin/python benchmarks/bench_labels.py --n 100000

Writes ``--n`` small PNG files (one 32x24 picture, written under every name) into a
temporary folder under /tmp, records them in a project's catalog as an index run would
(no model runs: the bench is about labels, not embeddings), imports a COCO file of two
boxes per image into ``ground_truth``, then times, per format, the export of the whole
set and the import of that export back into a second set. Target: <= 10 s each for
100k images. Writes benchmarks/results/labels-<n>.json; removes its files at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import aisearch_widgets as aw
from aisearch_widgets.images import content_hash
from aisearch_widgets.sources import plan_sync, point_id, scan

FORMATS = ["coco", "labelstudio", "cvat", "yolo"]


def make_files(root: Path, n: int, folders: int = 100) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, format="PNG")
    data = buf.getvalue()
    per = -(-n // folders)
    for k in range(n):
        d = root / f"album_{k // per:03d}"
        if k % per == 0:
            d.mkdir(parents=True)
        with open(d / f"img_{k:06d}.png", "wb") as fh:
            fh.write(data)


def fill_catalog(proj: aw.Project) -> list[str]:
    """The catalog rows an index run leaves (status embedded, each image's metadata
    row with its size), without the vectors."""
    entries = plan_sync(scan(proj.sources), {}, proj.model_identity).add
    ids = [point_id(proj.name, e.key) for e in entries]
    cat = proj.catalog
    cat.mark_pending(entries, ids)
    h = content_hash(Path(entries[0].path).read_bytes())
    cat.commit_batch([(e.key, h, proj.model_identity) for e in entries], [])
    with cat.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO metadata(id, width, height, format) "
            "SELECT id, 32, 24, 'PNG' FROM files"
        )
    return [e.path for e in entries]


def coco_source(paths: list[str], root: Path, dest: Path) -> None:
    rng = np.random.default_rng(0)
    images, anns = [], []
    for k, p in enumerate(paths, start=1):
        images.append({"id": k, "file_name": os.path.relpath(p, root), "width": 32, "height": 24})
        for j in range(2):
            x, y = rng.uniform(0, 16), rng.uniform(0, 12)
            box = [round(x, 2), round(y, 2), 8.0, 6.0]
            anns.append({"id": 2 * k + j, "image_id": k, "category_id": 1 + j, "bbox": box})
    cats = [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}]
    dest.write_text(json.dumps({"images": images, "categories": cats, "annotations": anns}))


def empty_files(root: Path, n: int, folders: int = 100) -> None:
    """The file system's floor for a YOLO export: ``n`` empty files created (and
    closed) in ``folders`` folders, one ``os.open``/``os.close`` each, one thread."""
    per = -(-n // folders)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for f in range(folders):
        d = root / f"{f:03d}"
        d.mkdir(parents=True)
        for k in range(f * per, min(n, (f + 1) * per)):
            os.close(os.open(d / f"{k:06d}.txt", flags, 0o666))


def timed(fn):
    """``fn()``, its wall time and its CPU time (every thread of this process, user +
    system): on a shared machine the wall time also counts the other processes' turns,
    the CPU time does not."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - t0, 2), round(time.process_time() - c0, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of images")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument(
        "--dir",
        default="/tmp",
        help="the file system for the images, the project and the exports (e.g. /dev/shm "
        "to take the disk's file creation out of the figure)",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aisearch-labels-", dir=args.dir))
    result: dict = {"n": args.n, "labels": 2 * args.n, "cpus": os.cpu_count(), "dir": args.dir}
    result["load_before"] = round(os.getloadavg()[0], 2)
    try:
        imgs = tmp / "imgs"
        _, result["make_files_s"], _ = timed(lambda: make_files(imgs, args.n))
        proj = aw.Project("bench", imgs, model="demo", home=tmp / "home")
        paths, result["fill_catalog_s"], _ = timed(lambda: fill_catalog(proj))
        coco_source(paths, imgs, tmp / "source.json")
        rep, result["import_coco_source_s"], _ = timed(
            lambda: proj.import_labels(tmp / "source.json", set="ground_truth")
        )
        assert rep.labels == 2 * args.n and rep.unmatched.empty, rep
        col = proj.labelled("car", "person")
        assert len(col) == args.n
        _, result["collection_df_s"], _ = timed(lambda: col.df)
        want = proj.labels("ground_truth")
        for fmt in args.formats.split(","):
            target = tmp / {"coco": "c.json", "labelstudio": "ls.json", "cvat": "c.zip"}.get(
                fmt, fmt
            )
            out, t_exp, c_exp = timed(lambda fmt=fmt, target=target: col.export(target, format=fmt))
            rep, t_imp, c_imp = timed(
                lambda out=out, fmt=fmt: proj.import_labels(out, set=f"back-{fmt}", root=imgs)
            )
            back = proj.labels(f"back-{fmt}")
            assert rep.unmatched.empty and len(back) == len(want), (fmt, rep)
            a = want.sort_values(["id", "label"])[["x", "y", "w", "h"]].to_numpy()
            b = back.sort_values(["id", "label"])[["x", "y", "w", "h"]].to_numpy()
            err = float(np.abs(a - b).max())
            assert err <= 0.5, (fmt, err)
            result[fmt] = {"export_s": t_exp, "import_s": t_imp, "max_box_error_px": err}
            result[fmt] |= {"export_cpu_s": c_exp, "import_cpu_s": c_imp}
            print(fmt, result[fmt], flush=True)
        proj.close()
        # After the exports (a deletion before them would slow their file creation):
        # what creating --n files costs on this file system right now.
        _, result["empty_files_s"], result["empty_files_cpu_s"] = timed(
            lambda: empty_files(tmp / "floor", args.n)
        )
        print("empty files", result["empty_files_s"], flush=True)
        result["load_after"] = round(os.getloadavg()[0], 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    fs = "" if args.dir == "/tmp" else "-" + Path(args.dir).name
    dest = args.out / f"labels-{args.n}{fs}.json"
    dest.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
