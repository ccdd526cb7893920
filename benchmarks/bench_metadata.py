"""What metadata and quality signals add to indexing: the prepare step with and
without them, alternated file by file in one run, on photo-like JPEGs.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_metadata.py --n 1000
    git archive REV | tar -x -C /tmp/old   # an earlier commit, to compare with
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_metadata.py --n 1000 --old /tmp/old

Data: ``--n`` JPEGs of ``--size`` (default 1600x1200, quality 90) drawn as in
``tests/_quality_images.py`` (a smooth colour field, shapes, fine noise), each with
EXIF (make, model, capture time, lens, GPS, orientation). Written once to a temporary
folder, so every read is served by the page cache alike.

For each file, :func:`aisearch_widgets._prepare.prepare_file` runs twice with what
indexing passes (the model's preprocess, ``thumbs=True``), once with
``metadata=False`` and once with ``metadata=True``, the order swapped every other
file so neither variant gets the warmer caches. With ``--old``, the prepare step of an
earlier checkout runs too, with and without, the four variants rotated file by file.
Each call is timed in wall-clock and in this thread's CPU time (on a loaded machine
the CPU time is the steadier comparison). The model (``--model``, random
weights by default) then embeds the prepared pixels in batches of 32, timed apart:
indexing = prepare + embedding, so the indexing ratio is
``(prepare with + embed) / (prepare without + embed)``; the prepare-step ratio alone
is reported too; the embedding's CPU time counts all the model's threads.
``--repeat`` passes over the files; the medians per file are summed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _quality_images import scene


def write_photos(folder: Path, n: int, size: tuple[int, int], seed: int = 0) -> list[Path]:
    """``n`` photo-like JPEGs with EXIF, as a camera writes them."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    cameras = [
        ("NIKON CORPORATION", "NIKON D750"),
        ("Canon", "Canon EOS R6"),
        ("Apple", "iPhone 13"),
    ]
    out = []
    for i in range(n):
        img = scene(rng, size)
        ex = Image.Exif()
        make, model = cameras[i % len(cameras)]
        ex[0x010F], ex[0x0110], ex[0x0112] = make, model, 1
        ex[0x0132] = f"2024:{1 + i % 12:02d}:{1 + i % 28:02d} 12:00:00"
        sub = ex.get_ifd(0x8769)
        sub[0x9003] = ex[0x0132]
        sub[0xA434] = "24-70mm f/2.8"
        gps = ex.get_ifd(0x8825)
        gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
        gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
        p = folder / f"photo_{i:05d}.jpg"
        img.save(p, quality=90, exif=ex.tobytes())
        out.append(p)
    return out


def load_prepare(tree: Path, name: str) -> Any:
    """``_prepare`` of another checkout of the package (``tree``: its root), imported
    as the package ``name`` without running its ``__init__``: the prepare step of an
    earlier commit, run in the same process as this one's."""
    pkg = types.ModuleType(name)
    pkg.__path__ = [str(tree / "aisearch_widgets")]
    sys.modules[name] = pkg
    return importlib.import_module(f"{name}._prepare")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", default="1600x1200")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="ViT-B-32:random")
    ap.add_argument("--precision", default="auto", help="as a project picks it (int8 on CPU)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "metadata.json"))
    ap.add_argument("--keep", default=None, help="write the JPEGs here once, reuse them")
    ap.add_argument("--old", default=None, help="root of a checkout of an earlier commit")
    args = ap.parse_args()
    from aisearch_widgets import _prepare
    from aisearch_widgets.embedder import Embedder

    size = tuple(int(v) for v in args.size.split("x"))
    import torch

    trees = {"new": _prepare}
    if args.old:
        trees["old"] = load_prepare(Path(args.old).resolve(), "aisearch_widgets_old")
    variants = [(tree, flag) for tree in trees for flag in (False, True)]
    emb = Embedder(args.model, device="cpu", precision=args.precision)
    res: dict[str, Any] = {"n": args.n, "size": args.size, "model": emb.identity}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp) / f"{args.n}-{args.size}"
        t0 = time.perf_counter()
        if (folder / "done").exists():
            files = sorted(folder.glob("*.jpg"))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            files = write_photos(folder, args.n, size)  # type: ignore[arg-type]
            (folder / "done").touch()
        print(f"{args.n} JPEGs ready in {time.perf_counter() - t0:.0f} s", flush=True)

        def prep(p: Path, tree: str, metadata: bool) -> tuple[float, float, Any]:
            w, c = time.perf_counter(), time.thread_time()
            got = trees[tree].prepare_file(
                str(p),
                min_side=emb.image_size,
                preprocess=emb.preprocess,
                max_bytes=1 << 30,
                thumbs=True,
                metadata=metadata,
            )
            return time.perf_counter() - w, time.thread_time() - c, got

        # variant -> per file -> [(wall, cpu) per pass]
        per: dict[tuple[str, bool], list[list[tuple[float, float]]]] = {
            v: [[] for _ in files] for v in variants
        }
        pixels = []
        for r in range(args.repeat):
            for k, p in enumerate(files):
                turn = (k + r) % len(variants)  # each variant first as often as the others
                for v in variants[turn:] + variants[:turn]:
                    wall, cpu, got = prep(p, *v)
                    per[v][k].append((wall, cpu))
                    if r == 0 and v == ("new", True):
                        assert got.fail is None and got.meta and got.meta["camera"]
                        pixels.append(got.pixels)
        # Embedding, as indexing does (batches of 32), on the prepared pixels.
        w, c = time.perf_counter(), time.process_time()  # all of the model's threads
        for s in range(0, len(pixels), 32):
            emb.encode_batch(torch.stack(pixels[s : s + 32]))
        embed = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c}
    res["load_average"] = [round(x, 1) for x in os.getloadavg()]
    res["embed_ms_per_image"] = {m: round(1000 * t / args.n, 2) for m, t in embed.items()}
    for tree in trees:
        out: dict[str, Any] = {}
        for i, m in enumerate(("wall", "cpu")):
            without = sum(statistics.median(x[i] for x in ts) for ts in per[(tree, False)])
            with_ = sum(statistics.median(x[i] for x in ts) for ts in per[(tree, True)])
            out[m] = {
                "prepare_without_ms_per_image": round(1000 * without / args.n, 2),
                "prepare_with_ms_per_image": round(1000 * with_ / args.n, 2),
                "metadata_adds_ms_per_image": round(1000 * (with_ - without) / args.n, 2),
                "prepare_ratio": round(with_ / without, 3),
                "indexing_ratio": round((with_ + embed[m]) / (without + embed[m]), 3),
            }
        res[tree] = out
    print(json.dumps(res, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
