"""Image tower speed and agreement, fp32 against int8 implementations, on CPU.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_precision.py \
        --archs ViT-B-32 ViT-B-16 MobileCLIP2-S0 --n 256 --batch 32

For each architecture (random weights, the same compute as pretrained), every
implementation embeds the same ``--n`` drawn images batch by batch, interleaved: batch
i goes through fp32, then each candidate, before batch i+1. Each candidate's speed is
the median of its per-batch ratios to the fp32 batch timed next to it (so a load change
on a shared machine hits both sides of a ratio), and its agreement is the minimum cosine
to the fp32 vector over all images. Candidates whose library is missing are skipped.

Writes benchmarks/results/precision-<arch>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

Impl = Callable[[object], np.ndarray]
IMPLS = ("torchao-int8", "torch.ao-dynamic-int8", "ort")


def build_impls(arch: str, work: Path, only: set[str]) -> tuple[object, dict[str, Impl]]:
    import torch

    from aisearch_widgets import _quantize as q
    from aisearch_widgets.embedder import Embedder

    emb = Embedder(f"{arch}:random", device="cpu", precision="fp32")
    visual = emb.model.visual

    def torch_call(mod: torch.nn.Module) -> Impl:
        def run(x: object) -> np.ndarray:
            with torch.inference_mode():
                return mod(x).float().numpy()

        return run

    impls: dict[str, Impl] = {"torch-fp32": torch_call(visual)}
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    try:
        if "torchao-int8" not in only:
            raise ImportError("not asked for")
        impls["torchao-int8"] = torch_call(q.torchao_int8(copy.deepcopy(visual)))
        timings["torchao-int8"] = time.perf_counter() - t0
    except ImportError as exc:
        print(f"skip torchao: {exc}")
    if "torch.ao-dynamic-int8" in only:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            impls["torch.ao-dynamic-int8"] = torch_call(q.torch_dynamic_int8(copy.deepcopy(visual)))
        timings["torch.ao-dynamic-int8"] = time.perf_counter() - t0
    try:
        if "ort" not in only:
            raise ImportError("not asked for")
        import onnxruntime  # noqa: F401

        t0 = time.perf_counter()
        fp = work / f"{arch}-fp32.onnx"
        q.export_image_onnx(emb.model, emb.image_size, fp)
        timings["ort-export"] = time.perf_counter() - t0
        impls["ort-fp32"] = q.OrtTower(fp)
        t0 = time.perf_counter()
        i8 = work / f"{arch}-int8.onnx"
        q.quantize_onnx(fp, i8)
        timings["ort-quantize"] = time.perf_counter() - t0
        impls["ort-int8"] = q.OrtTower(i8)
    except ImportError as exc:
        print(f"skip onnxruntime: {exc}")
    print(f"{arch}: build seconds {json.dumps({k: round(v, 1) for k, v in timings.items()})}")
    return emb, impls


def run_arch(arch: str, n: int, batch: int, work: Path, only: set[str]) -> dict:
    import torch

    from aisearch_widgets import _quantize as q

    emb, impls = build_impls(arch, work, only)
    images = q.check_images(n, 256)
    pixels = torch.stack([emb.preprocess(im) for im in images])
    vecs: dict[str, list[np.ndarray]] = {k: [] for k in impls}
    secs: dict[str, list[float]] = {k: [] for k in impls}
    for f in impls.values():  # warm-up
        f(pixels[:batch])
    for i in range(0, n, batch):
        x = pixels[i : i + batch]
        for name, f in impls.items():
            t0 = time.perf_counter()
            v = f(x)
            secs[name].append(time.perf_counter() - t0)
            vecs[name].append(v)
    ref = np.concatenate(vecs["torch-fp32"])
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    res: dict = {"arch": arch, "n": n, "batch": batch, "threads": torch.get_num_threads()}
    base = np.asarray(secs["torch-fp32"])
    for name in impls:
        v = np.concatenate(vecs[name])
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        cos = (v * ref).sum(1)
        s = np.asarray(secs[name])
        ratios = base / s
        res[name] = {
            "img_s": round(n / s.sum(), 2),
            "ratio_median": round(float(np.median(ratios)), 2),
            "ratio_min": round(float(ratios.min()), 2),
            "ratio_max": round(float(ratios.max()), 2),
            "cos_min": round(float(cos.min()), 5),
            "cos_mean": round(float(cos.mean()), 6),
        }
        print(f"  {name:24s} {json.dumps(res[name])}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archs", nargs="+", default=["ViT-B-32", "ViT-B-16", "MobileCLIP2-S0"])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--impls", nargs="+", default=list(IMPLS), help="int8 candidates to run")
    args = ap.parse_args()
    from aisearch_widgets import _quantize as q

    q.configure_threads()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aisearch-bench-onnx-") as tmp:
        for arch in args.archs:
            with contextlib.suppress(KeyboardInterrupt):
                res = run_arch(arch, args.n, args.batch, Path(tmp), set(args.impls))
                res["load_avg_after"] = os.getloadavg()
                res["versions"] = q.versions()
                (out / f"precision-{arch}.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
