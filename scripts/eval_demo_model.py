#!/usr/bin/env python
"""Measure the demo model (or any open_clip model folder) on fresh shape images.

    .venv/bin/python scripts/eval_demo_model.py                  # the bundled model
    .venv/bin/python scripts/eval_demo_model.py --model-dir DIR --n 2000 --seed 2 --json out.json

Prints precision@20 of colour x shape and style prompts, similar-by-image
precision@10 and the rare-class numbers (see aisearch_widgets.demo.evaluate).
With --check, exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aisearch_widgets.demo import DEMO_MODEL_DIR
from aisearch_widgets.demo.evaluate import EVAL_SEED, evaluate, format_report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", type=Path, default=DEMO_MODEL_DIR)
    ap.add_argument("--n", type=int, default=2000, help="evaluation images")
    ap.add_argument("--seed", type=int, default=EVAL_SEED, help="must differ from training's")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the full report here")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    report = evaluate(args.model_dir, n=args.n, seed=args.seed)
    print(f"model {args.model_dir}, {args.n} images, seed {args.seed}")
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 1 if args.check and not report["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
