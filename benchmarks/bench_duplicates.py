"""Duplicates: copies of one picture found, look-alikes left alone.

Draws scenes (tests/_lookalikes.py: one to three shapes on a tinted gradient, some
blurred or noisy), and for each: an altered copy (35 %: one to three of crop 1-4 %,
resize 50-90 %, JPEG 45-80), a byte copy (5 %) and one or two look-alikes (50 %:
another background tint, the objects moved 10-14 px, resized 12-25 %, or blurred /
sharpened). Embeds everything with the bundled demo model and runs
``find_duplicates`` for each kind. A grouped pair is right when both files show one
picture (a scene and its copies); look-alikes count as false positives.

Also times the pixel check per candidate pair and per fingerprint, and counts the
groups on the demo's own data set (``--demo N``: what ``ensure_dataset(n=N)`` writes,
JPEG and PNG, no copies among them, so every group there is a false one).

    python benchmarks/bench_duplicates.py --n 1000 --seeds 1 2 3 --demo 2000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from aisearch_widgets.embedder import Embedder
from aisearch_widgets.explore import duplicates as dup
from aisearch_widgets.explore import find_duplicates
from aisearch_widgets.images import content_hash

from _lookalikes import make_set


def _pairs(df) -> set[tuple[str, str]]:
    by: dict[int, list[str]] = {}
    for i, g in zip(df["id"], df["group"], strict=True):
        by.setdefault(int(g), []).append(str(i))
    return {(a, b) for m in by.values() for a in m for b in m if a < b}


def measure_set(emb: Embedder, root: Path, n: int, seed: int) -> dict:
    s = make_set(root, n, seed)
    vecs = emb.encode_images([Image.open(root / f).convert("RGB") for f in s.names])
    content = [content_hash((root / f).read_bytes()) for f in s.names]
    truth = s.true_pairs()
    copies = {f for f, k in zip(s.names, s.kind, strict=True) if k in ("copy", "exact")}
    original = {f: f.split("_")[0] + ".png" for f in copies}
    out: dict = {
        "seed": seed,
        "files": len(s.names),
        "true_pairs": len(truth),
        "lookalikes": sum(k not in ("original", "copy", "exact") for k in s.kind),
    }
    for kind in ("near", "exact", "similar"):
        t = time.perf_counter()
        df = find_duplicates(
            s.names, vecs, lambda ids: [root / i for i in ids], content=content, kind=kind
        )
        took = time.perf_counter() - t
        found = _pairs(df)
        grouped = {f for f in copies if (min(f, original[f]), max(f, original[f])) in found}
        out[kind] = {
            "seconds": round(took, 2),
            "groups": int(df["group"].nunique()) if len(df) else 0,
            "grouped_pairs": len(found),
            "precision": round(len(found & truth) / max(1, len(found)), 4),
            "pair_recall": round(len(found & truth) / max(1, len(truth)), 4),
            "copies_found": round(len(grouped) / max(1, len(copies)), 4),
        }
    return out


def measure_demo(emb: Embedder, root: Path, n: int) -> dict:
    from aisearch_widgets.demo import make_dataset

    labels = make_dataset(root, n=n, seed=7)  # what ensure_dataset() writes
    names = [str(p) for p in labels["path"]]
    files = [p if Path(p).is_absolute() else str(root / p) for p in names]
    names = [str(Path(f).relative_to(root)) for f in files]
    vecs = emb.encode_images([Image.open(f).convert("RGB") for f in files])
    content = [content_hash(Path(f).read_bytes()) for f in files]
    res = {"images": n}
    for kind in ("near", "similar"):
        t = time.perf_counter()
        df = find_duplicates(
            names, vecs, lambda ids: [root / i for i in ids], content=content, kind=kind
        )
        res[kind] = {
            "seconds": round(time.perf_counter() - t, 2),
            "groups": int(df["group"].nunique()) if len(df) else 0,
            "rows": len(df),
        }
    return res


def measure_speed(root: Path) -> dict:
    rng = np.random.default_rng(0)
    files = sorted(root.glob("*.png"))[:400]
    imgs = [Image.open(f).convert("RGB") for f in files]
    t = time.perf_counter()
    prints = np.stack([dup.fingerprint_image(im) for im in imgs])
    per_print = (time.perf_counter() - t) / len(imgs)
    a = prints[rng.integers(len(prints), size=2048)]
    b = prints[rng.integers(len(prints), size=2048)]
    t = time.perf_counter()
    dup._compare(a, b)
    per_pair = (time.perf_counter() - t) / len(a)
    return {
        "fingerprint_ms": round(per_print * 1e3, 3),
        "pixel_check_ms_per_pair": round(per_pair * 1e3, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="scenes per seed")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--demo", type=int, default=2000, help="demo shapes to check (0: skip)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "duplicates.json"))
    args = ap.parse_args()
    emb = Embedder("demo", device="cpu")
    res: dict = {"n": args.n, "sets": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            r = measure_set(emb, Path(tmp) / f"set{seed}", args.n, seed)
            res["sets"].append(r)
            print(json.dumps(r))
        res["speed"] = measure_speed(Path(tmp) / f"set{args.seeds[0]}")
        print(json.dumps(res["speed"]))
        if args.demo:
            (Path(tmp) / "demo").mkdir()
            res["demo"] = measure_demo(emb, Path(tmp) / "demo", args.demo)
            print(json.dumps(res["demo"]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
