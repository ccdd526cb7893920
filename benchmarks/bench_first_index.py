"""First index of many tiny images: does the rate hold up as the catalog grows?

    .venv/bin/python benchmarks/bench_first_index.py --n 50000

Generates ``n`` distinct 8x8 PNGs once (kept in ``--data``, default a temp folder)
and runs ``Project.update()`` on them with the tests' tiny randomly initialised
open_clip model (32-d, 32 px input: the model costs little, so the per-file
bookkeeping shows), thumbnails on. Prints the embedding rate of the first and of
the last 10k images (timed from the start of the embedding phase) and their ratio; writes benchmarks/results/first-index-<n>.json.
Target: last / first >= 0.8 (a per-file lookup that scans the catalog makes it fall).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def make_pngs(folder: Path, n: int) -> None:
    """``n`` distinct 8x8 PNGs (random pixels, so no two share content), 1000 per
    subfolder."""
    rng = np.random.default_rng(0)
    have = len(list(folder.rglob("*.png"))) if folder.exists() else 0
    if have == n:
        return
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        px = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        Image.fromarray(px, "RGB").save(sub / f"{i:06d}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--window", type=int, default=10_000, help="images per rate window")
    ap.add_argument("--data", type=Path, default=None, help="keep the generated images here")
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()

    import torch

    import aisearch_widgets as aw

    from _helpers import write_tiny_model

    torch.set_num_threads(2)
    work = Path(tempfile.mkdtemp(prefix="bench-first-index-"))
    data = args.data or work / "images"
    t0 = time.perf_counter()
    make_pngs(data, args.n)
    print(f"{args.n} PNGs ready in {data} ({time.perf_counter() - t0:.1f} s)")
    model = write_tiny_model(work / "model")

    proj = aw.Project("bench", sources=data, model=str(model), home=work / "home",
                      batch_size=args.batch)  # fmt: skip
    marks: list[tuple[float, int]] = []  # (time, images committed) after each batch
    commit = proj.indexer._commit

    def timed(prepared, *a, **kw):
        commit(prepared, *a, **kw)
        marks.append((time.perf_counter(), (marks[-1][1] if marks else 0) + len(prepared)))

    embed_all = proj.indexer._embed_all
    began: list[float] = []

    def embed_all_timed(*a, **kw):
        began.append(time.perf_counter())  # after scan, model load and marking pending
        return embed_all(*a, **kw)

    proj.indexer._commit = timed
    proj.indexer._embed_all = embed_all_timed
    t_update = time.perf_counter()
    summary = proj.update()
    total = time.perf_counter() - t_update
    start = began[0]
    st = proj.status
    proj.close()

    def time_at(count: int) -> float:
        return next(t for t, done in marks if done >= count)

    w = min(args.window, args.n // 2)
    first = w / (time_at(w) - start)
    last = w / (marks[-1][0] - time_at(args.n - w))
    result = {
        "n": args.n,
        "window": w,
        "model": "tiny random open_clip (32-d, 32 px), thumbnails on",
        "batch": args.batch,
        "embedded": st.done,
        "failed": st.failed,
        "seconds": round(total, 1),
        "rate_first": round(first, 1),
        "rate_last": round(last, 1),
        "ratio": round(last / first, 3),
        "summary": {k: v for k, v in summary.as_dict().items() if k != "scan_errors"},
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).with_name("results") / f"first-index-{args.n}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(work / "home", ignore_errors=True)
    if args.data is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
