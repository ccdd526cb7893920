#!/usr/bin/env python
"""Train the small CLIP bundled as the offline demo model (``model="demo"``).

The model is open_clip's own ``CLIP`` class with a tiny custom config, trained with
``open_clip.ClipLoss`` on generated shape images and captions
(:mod:`aisearch_widgets.demo.shapes`), on CPU. The result is an open_clip
``local-dir:`` folder::

    aisearch_widgets/demo/model/
        open_clip_config.json        # {"model_cfg": ..., "preprocess_cfg": ...}
        open_clip_model.safetensors  # fp16 weights, no pickle
        training.json, TRAINING.md   # seeds, sizes, time, evaluation numbers

Run from the repository root (under 30 minutes on one CPU core; see TRAINING.md)::

    nice -n 5 .venv/bin/python scripts/train_demo_model.py

The run is deterministic for a given ``--threads``: seeds are fixed, data are a
pure function of their seed, and torch runs with deterministic algorithms.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

# On a shared machine, OpenMP threads that spin while waiting for a descheduled
# sibling waste the CPU they wait for (measured: 2x slower steps); sleeping
# waiters fix that. Must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import open_clip
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
from safetensors.torch import load_file, save_file

from aisearch_widgets.demo import DEMO_MODEL_DIR
from aisearch_widgets.demo.evaluate import EVAL_SEED, evaluate, format_report
from aisearch_widgets.demo.shapes import caption_for, generate

MODEL_CFG: dict[str, Any] = {
    "embed_dim": 256,
    # A list of stage depths selects open_clip's ModifiedResNet. Here it is cheaper
    # per step than a 4-layer, width-128, patch-8 ViT and learns shapes far sooner:
    # with the same data and schedule, that ViT reached colour x shape p@10 = 0.31
    # after 3 epochs (it knew colours, hardly shapes), this ResNet 0.79.
    "vision_cfg": {
        "image_size": 64,
        "layers": [1, 1, 1, 1],
        "width": 16,
        "head_width": 32,
    },
    "text_cfg": {
        # The standard open_clip BPE vocabulary (SimpleTokenizer); captions are
        # short, so 32 positions are plenty and keep the text tower cheap.
        "context_length": 32,
        "vocab_size": 49408,
        "width": 96,
        "heads": 4,
        "layers": 3,
    },
}
PREPROCESS_CFG: dict[str, Any] = {
    "size": 64,
    "mode": "RGB",
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}
TRAIN_SEED = 1  # data; evaluation uses EVAL_SEED (2) and the probe PROBE_SEED
PROBE_SEED = 3
MAX_WEIGHTS_BYTES = 16 * 1024 * 1024


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_deterministic(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # Reduction order in parallel kernels depends on the thread count, so it is
    # fixed; the same --threads reproduces the same weights.
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def preprocess_transform() -> Any:
    """The inference transform open_clip builds from ``PREPROCESS_CFG``."""
    return image_transform_v2(PreprocessCfg(**PREPROCESS_CFG), is_train=False)


def build_images(n: int, seed: int, preprocess: Any) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """Preprocessed pixels ``(n, 3, H, W)`` and labels of ``n`` generated images."""
    size = PREPROCESS_CFG["size"]
    pixels = torch.empty((n, 3, size, size), dtype=torch.float32)
    labels: list[dict[str, Any]] = []
    t0 = time.time()
    for i, (image, lab, _) in enumerate(generate(n, seed=seed)):
        pixels[i] = preprocess(image)
        labels.append(lab)
        if (i + 1) % 5000 == 0 or i + 1 == n:
            log(f"  images {i + 1}/{n} ({time.time() - t0:.0f}s)")
    return pixels, labels


class CaptionTokens:
    """Tokenizes captions, caching per distinct caption (there are few)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.cache: dict[str, torch.Tensor] = {}

    def __call__(self, captions: list[str]) -> torch.Tensor:
        new = sorted({c for c in captions if c not in self.cache})
        if new:
            self.cache.update(zip(new, self.tokenizer(new), strict=True))
        return torch.stack([self.cache[c] for c in captions])


def epoch_captions(labels: list[dict[str, Any]], seed: int, epoch: int) -> list[str]:
    # A fresh caption per image and epoch: cheap text augmentation that exposes
    # every template and every partial description of each image.
    return [
        caption_for(lab, np.random.default_rng([seed, lab["index"], 100 + epoch])) for lab in labels
    ]


class Batches:
    """Batch indices: random batches mixed with *hard* batches of two colours.

    In a random batch almost every pair of images already differs in colour, so
    the contrastive loss gets low without looking at the shape, and shape is
    learnt last and slowly. A hard batch is drawn from two colours only: it holds
    many images that differ mainly in shape, which makes shape pay off early.
    """

    def __init__(
        self,
        labels: list[dict[str, Any]],
        batch_size: int,
        hard_fraction: float,
        gen: torch.Generator,
        rare_repeat: int = 1,
    ) -> None:
        self.batch_size = batch_size
        self.hard_fraction = hard_fraction
        self.gen = gen
        groups: dict[str, list[int]] = {"*": []}
        for i, lab in enumerate(labels):
            # The rare class (1% of the data) is seen rare_repeat times per pass:
            # otherwise its word and its look get too few updates to be learnt.
            copies = [i] * (rare_repeat if lab["rare"] else 1)
            groups["*"] += copies
            groups.setdefault(lab["color"], []).extend(copies)
        self.pools = {key: torch.tensor(idx) for key, idx in groups.items()}
        self.groups = sorted(key for key in groups if key != "*")
        # Each pool is walked through in a fresh random order, then reshuffled.
        self.queues: dict[str, tuple[torch.Tensor, int]] = {}

    def _take(self, key: str, k: int) -> torch.Tensor:
        pool = self.pools[key]
        perm, pos = self.queues.get(key, (pool[:0], 0))
        parts = []
        while k > 0:
            if pos >= len(perm):
                perm, pos = pool[torch.randperm(len(pool), generator=self.gen)], 0
            part = perm[pos : pos + k]
            parts.append(part)
            pos += len(part)
            k -= len(part)
        self.queues[key] = (perm, pos)
        return torch.cat(parts)

    def next(self) -> torch.Tensor:
        hard = bool(torch.rand(1, generator=self.gen) < self.hard_fraction)
        if not hard:
            return self._take("*", self.batch_size)
        pick = torch.randperm(len(self.groups), generator=self.gen)[:2].tolist()
        a, b = (self.groups[i] for i in pick)
        half = self.batch_size // 2
        return torch.cat([self._take(a, half), self._take(b, self.batch_size - half)])


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        # Gains, biases and the temperature are not weights to shrink.
        if p.ndim < 2 or "logit_scale" in name or name.endswith(".bias"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def probe(
    model: torch.nn.Module,
    pixels: torch.Tensor,
    labels: list[dict[str, Any]],
    tokens: CaptionTokens,
    k: int = 10,
) -> dict[str, float]:
    """Colour x shape prompt precision@k and similar-image precision@k on a held-out set."""
    from aisearch_widgets.demo.shapes import COLORS, SHAPES

    model.eval()
    img = torch.cat([model.encode_image(b, normalize=True) for b in pixels.split(256)])
    prompts = [(c, s) for s in SHAPES for c in COLORS]
    texts = [f"{'an' if c[0] in 'aeiou' else 'a'} {c} {s}" for c, s in prompts]
    txt = model.encode_text(tokens(texts), normalize=True)
    top = (txt @ img.T).topk(k, dim=1).indices
    hits = [
        sum(labels[j]["shape"] == s and labels[j]["color"] == c for j in row.tolist()) / k
        for (c, s), row in zip(prompts, top, strict=True)
    ]
    # Similar-by-image: neighbours (itself excluded) of the same shape and colour.
    classes: dict[tuple[str, str], int] = {}
    key = torch.tensor(
        [classes.setdefault((lab["shape"], lab["color"]), len(classes)) for lab in labels]
    )
    common = torch.tensor([not lab["rare"] for lab in labels])
    sims = img @ img.T
    sims.fill_diagonal_(-2.0)
    neigh = sims[common].topk(k, dim=1).indices
    same = (key[neigh] == key[common][:, None]).float().mean().item()
    model.train()
    return {"probe_color_shape_p@10": float(np.mean(hits)), "probe_similar_p@10": same}


def save_model(model: torch.nn.Module, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}
    _write_text(out / "open_clip_config.json", json.dumps(config, indent=2) + "\n")
    # fp16 halves the file; open_clip casts back to the fp32 model on load.
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    weights = out / "open_clip_model.safetensors"
    tmp = weights.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    tmp.chmod(0o644)  # safetensors creates the file private to the owner
    os.replace(tmp, weights)
    return weights


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def verify_folder(out: Path, preprocess: Any, sample: Any) -> dict[str, Any]:
    """Load the folder exactly as users do and check it is the model just trained."""
    weights = out / "open_clip_model.safetensors"
    size = weights.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise SystemExit(f"{weights} is {size} bytes, over the {MAX_WEIGHTS_BYTES} byte limit")

    # Any unpickling during the load would go through torch.load: forbid it.
    real_load = torch.load

    def no_pickle(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("torch.load called: weights must load from safetensors only")

    torch.load = no_pickle  # type: ignore[assignment]
    try:
        name = f"local-dir:{out}"
        model, _, loaded_pre = open_clip.create_model_and_transforms(name)
        tokenizer = open_clip.get_tokenizer(name)
    finally:
        torch.load = real_load  # type: ignore[assignment]

    saved = load_file(str(weights))
    for key, value in model.state_dict().items():
        if not torch.equal(value, saved[key].to(value.dtype)):
            raise SystemExit(f"loaded tensor {key} differs from the saved one")
    if not isinstance(tokenizer, open_clip.SimpleTokenizer):
        raise SystemExit(f"unexpected tokenizer {type(tokenizer).__name__}")
    if not torch.equal(loaded_pre(sample), preprocess(sample)):
        raise SystemExit("open_clip's loaded preprocess differs from the training preprocess")
    return {
        "weights_bytes": size,
        "tokenizer": type(tokenizer).__name__,
        "context_length": tokenizer.context_length,
        "n_params": sum(p.numel() for p in model.parameters()),
    }


def write_training_md(out: Path, record: dict[str, Any], report_text: str) -> None:
    a = record["args"]
    text = f"""# Demo model: training record

Small CLIP (open_clip `CLIP` class, custom config in `open_clip_config.json`) trained
from scratch with `open_clip.ClipLoss` on generated shape images
(`aisearch_widgets.demo.shapes`), on CPU, by `scripts/train_demo_model.py`.

    {record["command"]}

| | |
|---|---|
| training images | {a["n"]} (seed {a["data_seed"]}), {a["epochs"]} epochs, batch {a["batch_size"]} |
| optimiser | AdamW lr {a["lr"]}, weight decay {a["weight_decay"]}, cosine, {record["warmup_steps"]} warm-up steps |
| batches | {a["hard_fraction"]:.0%} hard (two colours only), the rest random; rare class seen {a["rare_repeat"]}x per pass |
| augmentation | a fresh caption per image and epoch; random horizontal flip |
| model seed / threads | {a["seed"]} / {a["threads"]} |
| parameters | {record["verify"]["n_params"]:,} |
| weights file | {record["verify"]["weights_bytes"]:,} bytes (fp16 safetensors) |
| training time | {record["train_seconds"]:.0f} s (total run {record["total_seconds"]:.0f} s) |
| machine | {record["machine"]} |

## Evaluation

{record["eval"]["dataset"]["n"]} freshly generated images, seed {record["eval"]["dataset"]["seed"]}
(training used seed {a["data_seed"]}); numpy cosine similarity of normalised embeddings.

```
{report_text}
```

Load it with:

```python
import open_clip
name = "local-dir:aisearch_widgets/demo/model"
model, _, preprocess = open_clip.create_model_and_transforms(name)
tokenizer = open_clip.get_tokenizer(name)
```
"""
    _write_text(out / "TRAINING.md", text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEMO_MODEL_DIR)
    ap.add_argument("--n", type=int, default=20000, help="training images")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--hard-fraction", type=float, default=0.5, help="share of hard batches")
    ap.add_argument("--rare-repeat", type=int, default=4, help="oversampling of the rare class")
    ap.add_argument("--warmup", type=float, default=0.05, help="share of steps")
    ap.add_argument("--seed", type=int, default=0, help="model init and batch order")
    ap.add_argument("--data-seed", type=int, default=TRAIN_SEED)
    ap.add_argument("--eval-seed", type=int, default=EVAL_SEED)
    ap.add_argument("--eval-n", type=int, default=2000)
    ap.add_argument("--probe-n", type=int, default=1000, help="0 disables per-epoch probes")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=25)
    args = ap.parse_args(argv)
    if args.data_seed in (args.eval_seed, PROBE_SEED):
        ap.error("--data-seed must differ from the evaluation and probe seeds")

    t_start = time.time()
    make_deterministic(args.seed, args.threads)
    log(f"torch {torch.__version__}, open_clip {open_clip.__version__}, {args.threads} threads")
    preprocess = preprocess_transform()
    tokens = CaptionTokens(
        open_clip.SimpleTokenizer(context_length=MODEL_CFG["text_cfg"]["context_length"])
    )

    log(f"generating {args.n} training images (seed {args.data_seed})")
    pixels, labels = build_images(args.n, args.data_seed, preprocess)
    probe_pixels, probe_labels = (
        build_images(args.probe_n, PROBE_SEED, preprocess) if args.probe_n else (None, [])
    )

    model = open_clip.CLIP(**MODEL_CFG)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params / 1e6:.2f}M parameters, config {json.dumps(MODEL_CFG)}")
    loss_fn = open_clip.ClipLoss()
    opt = torch.optim.AdamW(
        param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.98), eps=1e-6
    )
    steps_per_epoch = args.n // args.batch_size  # an "epoch" is n images' worth of steps
    total = steps_per_epoch * args.epochs
    warmup = max(1, int(args.warmup * total))
    gen = torch.Generator().manual_seed(args.seed)
    batches = Batches(labels, args.batch_size, args.hard_fraction, gen, args.rare_repeat)

    t_train = time.time()
    step = 0
    history: list[dict[str, float]] = []
    for epoch in range(args.epochs):
        captions = epoch_captions(labels, args.data_seed, epoch)
        running = 0.0
        for b in range(steps_per_epoch):
            idx = batches.next()
            images = pixels[idx]
            # Shapes and their labels are mirror-symmetric, so a flip is a free,
            # label-preserving augmentation; nothing that changes colour or blur.
            flip = torch.rand(len(idx), generator=gen) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(-1), images)
            text = tokens([captions[i] for i in idx.tolist()])
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, warmup, args.lr)
            img_f, txt_f, scale = model(images, text)
            loss = loss_fn(img_f, txt_f, scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))  # as open_clip's trainer does
            running += loss.item()
            step += 1
            if step % args.log_every == 0 or b + 1 == steps_per_epoch:
                elapsed = time.time() - t_train
                eta = elapsed / step * (total - step)
                log(
                    f"epoch {epoch + 1}/{args.epochs} step {step}/{total} "
                    f"loss {loss.item():.3f} scale {scale.item():.1f} "
                    f"lr {opt.param_groups[0]['lr']:.2e} elapsed {elapsed:.0f}s eta {eta:.0f}s"
                )
        entry = {"epoch": epoch + 1, "mean_loss": running / steps_per_epoch}
        if probe_pixels is not None:
            entry.update(probe(model, probe_pixels, probe_labels, tokens))
        history.append(entry)
        log(f"epoch {epoch + 1} done: {json.dumps(entry)}")
    train_seconds = time.time() - t_train
    model.eval()

    out = args.out.resolve()
    weights = save_model(model, out)
    log(f"saved {weights} ({weights.stat().st_size:,} bytes)")
    sample = next(generate(1, seed=args.eval_seed))[0]
    verify = verify_folder(out, preprocess, sample)
    log(f"verified local-dir load (safetensors only, SimpleTokenizer): {verify}")

    log(f"evaluating on {args.eval_n} new images (seed {args.eval_seed})")
    report = evaluate(out, n=args.eval_n, seed=args.eval_seed)
    report.pop("model_dir", None)  # an absolute path of this machine
    report_text = format_report(report)
    print(report_text, flush=True)

    record = {
        "command": " ".join(
            ["nice -n 5 .venv/bin/python scripts/train_demo_model.py"]
            + (argv if argv is not None else sys.argv[1:])
        ),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "model_cfg": MODEL_CFG,
        "preprocess_cfg": PREPROCESS_CFG,
        "warmup_steps": warmup,
        "steps": total,
        "history": history,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - t_start, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"open_clip {open_clip.__version__}",
        "verify": verify,
        "eval": report,
    }
    record["args"]["out"] = os.path.relpath(out) if out.is_relative_to(Path.cwd()) else str(out)
    _write_text(out / "training.json", json.dumps(record, indent=2) + "\n")
    write_training_md(out, record, report_text)
    log(
        f"done in {record['total_seconds']:.0f}s; targets {'met' if report['passed'] else 'MISSED'}"
    )
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
