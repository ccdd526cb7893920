"""Indexing throughput: the full pipeline (scan → read → decode → preprocess →
embed → upsert → commit) against the model alone on pre-decoded tensors.

    .venv/bin/python benchmarks/bench_indexing.py --n 1000 --model ViT-B-32:random
    .venv/bin/python benchmarks/bench_indexing.py --n 1000 --precision int8 --rounds 3

Writes benchmarks/results/indexing-<model>[-<precision>].json and prints a table.
Target: the pipeline reaches >= 0.9x its own model-only rate. ``--rounds`` repeats
model-only and pipeline alternately (A/B interleaved on a shared machine; the ratio
of each round is reported). With ``--precision int8`` the model's load time is
measured cold (empty cache: export + quantise) and warm (cached).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def make_jpegs(folder: Path, n: int, size: tuple[int, int] = (1920, 1080)) -> None:
    """Photo-like 1080p JPEGs: smooth gradients, shapes and noise (so that they
    compress like photos, ~200-400 KB, not like flat colour)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xx / w * rng.uniform(0.3, 1) + yy / h * rng.uniform(0.3, 1)) / 2
        base = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
        base += rng.normal(0, 12, size=(h, w, 1))
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(img)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, w - 200)), int(rng.integers(0, h - 200))
            s = int(rng.integers(80, 400))
            d.ellipse([x0, y0, x0 + s, y0 + s], fill=tuple(int(v) for v in rng.uniform(0, 255, 3)))
        img.save(folder / f"img_{i:05d}.jpg", quality=90)


def load_times(model: str, precision: str) -> dict[str, float]:
    """Seconds to construct the embedder: cold (empty cache) then warm (cached)."""
    from aisearch_widgets.embedder import Embedder

    out = {}
    with tempfile.TemporaryDirectory(prefix="aisearch-bench-cache-") as cache:
        old = os.environ.get("AISEARCH_CACHE")
        os.environ["AISEARCH_CACHE"] = cache
        try:
            for label in ("cold", "warm"):
                t0 = time.perf_counter()
                Embedder(model, device="cpu", precision=precision)
                out[f"load_{label}_s"] = round(time.perf_counter() - t0, 2)
        finally:
            if old is None:
                del os.environ["AISEARCH_CACHE"]
            else:
                os.environ["AISEARCH_CACHE"] = old
    t0 = time.perf_counter()
    Embedder(model, device="cpu", precision="fp32")
    out["load_fp32_s"] = round(time.perf_counter() - t0, 2)
    return out


@contextlib.contextmanager
def project_precision(precision: str):
    """Keyword arguments that make ``aw.Project`` embed at ``precision``."""
    import inspect

    import aisearch_widgets as aw
    import aisearch_widgets.project as project_module
    from aisearch_widgets.embedder import Embedder, with_precision

    if precision == "fp32":
        yield {}
    elif "precision" in inspect.signature(aw.Project).parameters:
        yield {"precision": precision}
    else:  # until Project takes a precision: its embedder and identity at `precision`
        emb, ident = project_module.Embedder, project_module.model_identity
        project_module.Embedder = functools.partial(Embedder, precision=precision)
        project_module.model_identity = lambda s: with_precision(ident(s), precision)
        try:
            yield {}
        finally:
            project_module.Embedder, project_module.model_identity = emb, ident


def model_only(model: str, folder: Path, batch: int, precision: str = "fp32") -> float:
    import torch

    from aisearch_widgets.embedder import Embedder
    from aisearch_widgets.images import load

    emb = Embedder(model, device="cpu", precision=precision)
    files = sorted(folder.glob("*.jpg"))
    tensors = [emb.preprocess(load(f, emb.image_size)[0]) for f in files]  # not timed
    emb.encode_batch(torch.stack(tensors[:batch]))  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(tensors), batch):
        emb.encode_batch(torch.stack(tensors[i : i + batch]))
    return len(tensors) / (time.perf_counter() - t0)


def pipeline(
    model: str, folder: Path, batch: int, workers: int | None, precision: str = "fp32"
) -> tuple[float, dict]:
    import aisearch_widgets as aw

    home = Path(tempfile.mkdtemp(prefix="aisearch-bench-home-"))
    try:
        with (
            project_precision(precision) as kw,
            aw.Project(
                "bench",
                sources=str(folder),
                model=model,
                home=home,
                batch_size=batch,
                workers=workers,
                **kw,
            ) as p,
        ):
            p.embedder  # load the model outside the timed part, as model_only does  # noqa: B018
            p.store  # noqa: B018
            t0 = time.perf_counter()
            s = p.update()
            rate = s.embedded / (time.perf_counter() - t0)
            return rate, s.as_dict()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--model", default="ViT-B-32:random")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--data", default=None, help="reuse a folder of JPEGs")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "int8"])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()

    folder = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="aisearch-jpegs-"))
    if not any(folder.glob("*.jpg")):
        t0 = time.perf_counter()
        make_jpegs(folder, args.n)
        print(f"generated {args.n} 1920x1080 JPEGs in {time.perf_counter() - t0:.0f} s")
    try:
        import torch

        from aisearch_widgets._quantize import configure_threads

        threads = configure_threads()
        loads = load_times(args.model, args.precision) if args.precision != "fp32" else {}
        rounds = []
        for _ in range(args.rounds):
            m = model_only(args.model, folder, args.batch, args.precision)
            p, summary = pipeline(args.model, folder, args.batch, args.workers, args.precision)
            rounds.append({"model_only": round(m, 2), "pipeline": round(p, 2)})
            rounds[-1]["ratio"] = round(p / m, 3)
            print(rounds[-1], "load average", os.getloadavg())
        ratios = sorted(r["ratio"] for r in rounds)
        res = {
            "model": args.model,
            "precision": args.precision,
            "n": args.n,
            "batch": args.batch,
            "torch_threads": threads,
            "torch_get_num_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "model_only_img_s": rounds[-1]["model_only"],
            "pipeline_img_s": rounds[-1]["pipeline"],
            "ratio": ratios[len(ratios) // 2],
            "rounds": rounds,
            **loads,
            "summary": summary,
        }
        print(json.dumps(res, indent=2))
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        slug = args.model.replace(":", "-").replace("/", "_")
        if args.precision != "fp32":
            slug += f"-{args.precision}"
        (out / f"indexing-{slug}.json").write_text(json.dumps(res, indent=2))
    finally:
        if not args.data:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
