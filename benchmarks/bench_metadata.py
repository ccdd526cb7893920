"""What metadata and quality signals add to indexing: the prepare step with and
without them, alternated file by file in one run, on photo-like JPEGs.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_metadata.py --n 1000

Data: ``--n`` JPEGs of ``--size`` (default 1600x1200, quality 90) drawn as in
``tests/_quality_images.py`` (a smooth colour field, shapes, fine noise), each with
EXIF (make, model, capture time, lens, GPS, orientation). Written once to a temporary
folder, so every read is served by the page cache alike.

For each file, :func:`aisearch_widgets._prepare.prepare_file` runs twice with what
indexing passes (the model's preprocess, ``thumbs=True``), once with
``metadata=False`` and once with ``metadata=True``, the order swapped every other
file so neither variant gets the warmer caches. The model (``--model``, random
weights by default) then embeds the prepared pixels in batches of 32, timed apart:
indexing = prepare + embedding, so the indexing ratio is
``(prepare with + embed) / (prepare without + embed)``; the prepare-step ratio alone
is reported too. ``--repeat`` passes over the files; the medians per file are summed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", default="1600x1200")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="ViT-B-32:random")
    ap.add_argument("--precision", default="auto", help="as a project picks it (int8 on CPU)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "metadata.json"))
    ap.add_argument("--keep", default=None, help="write the JPEGs here once, reuse them")
    args = ap.parse_args()
    from aisearch_widgets._prepare import prepare_file
    from aisearch_widgets.embedder import Embedder

    size = tuple(int(v) for v in args.size.split("x"))
    import torch

    emb = Embedder(args.model, device="cpu", precision=args.precision)
    res: dict[str, object] = {"n": args.n, "size": args.size, "model": emb.identity}
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

        def prep(p: Path, metadata: bool) -> tuple[float, object]:
            t = time.perf_counter()
            got = prepare_file(
                str(p),
                min_side=emb.image_size,
                preprocess=emb.preprocess,
                max_bytes=1 << 30,
                thumbs=True,
                metadata=metadata,
            )
            return time.perf_counter() - t, got

        per: dict[bool, list[list[float]]] = {False: [[] for _ in files], True: [[] for _ in files]}
        pixels = []
        for r in range(args.repeat):
            for k, p in enumerate(files):
                order = (False, True) if (k + r) % 2 == 0 else (True, False)
                for flag in order:
                    dt, got = prep(p, flag)
                    per[flag][k].append(dt)
                    if r == 0 and flag:
                        assert got.fail is None and got.meta and got.meta["camera"]  # type: ignore[attr-defined]
                        pixels.append(got.pixels)  # type: ignore[attr-defined]
        without = sum(statistics.median(ts) for ts in per[False])
        with_ = sum(statistics.median(ts) for ts in per[True])
        # Embedding, as indexing does (batches of 32), on the prepared pixels.
        t0 = time.perf_counter()
        for s in range(0, len(pixels), 32):
            emb.encode_batch(torch.stack(pixels[s : s + 32]))
        embed = time.perf_counter() - t0
    res["prepare_without_ms_per_image"] = round(1000 * without / args.n, 2)
    res["prepare_with_ms_per_image"] = round(1000 * with_ / args.n, 2)
    res["metadata_adds_ms_per_image"] = round(1000 * (with_ - without) / args.n, 2)
    res["prepare_ratio"] = round(with_ / without, 3)
    res["embed_ms_per_image"] = round(1000 * embed / args.n, 2)
    res["indexing_ratio"] = round((with_ + embed) / (without + embed), 3)
    print(json.dumps(res, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
