"""Quality issues: our per-data-set rules against cleanvision, and the signals' cost.

Writes a generated set (tests/_quality_images.py: coloured, textured scenes, and the
same made blurry, dark, bright, grey or nearly flat, about one in six each; with
``--odd`` also odd sizes and aspect ratios), runs cleanvision's ``Imagelab`` on the
folder and ``quality.find_issues`` on our signals, and prints per issue the agreement
of the per-image flags ((TP + TN) / N), our precision and recall taking cleanvision's
flags as the truth, and the same against the planted kinds.

Also times, per image, what indexing does anyway (read + decode at the embedding
size, the 192 px thumbnail) and what the signals add (``working_signals`` of the
thumbnail's pixels, as indexing measures them; equal to ``image_signals``), on the
generated PNGs and on ``--big`` 1600x1200 JPEGs (decoded in draft mode, as indexing
does).

    pip install 'aisearch-widgets[quality]'
    python benchmarks/bench_quality.py --n 600 --odd --big 60
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from aisearch_widgets import images as _images
from aisearch_widgets.quality import find_issues, working_signals

from _quality_images import PLANTED, make_set, scene

# cleanvision's names for ours.
CV_NAME = {"bright": "light", "odd_aspect": "odd_aspect_ratio"}


def measure(folder: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """Signals per file and the mean milliseconds of each step per image."""
    rows: dict[str, dict[str, float]] = {}
    cost = {"read_decode": 0.0, "thumbnail": 0.0, "signals": 0.0}
    files = sorted(folder.iterdir())
    for p in files:
        t0 = time.perf_counter()
        data = _images.read_bytes(p)
        img = _images.decode(data, p.name)
        t1 = time.perf_counter()
        small = _images.thumbnail_image(img)
        _images.thumbnail_jpeg(small)
        t2 = time.perf_counter()
        s = working_signals(small)  # on the thumbnail's pixels, as indexing does
        t3 = time.perf_counter()
        w, h = _images.declared_size(data) or img.size
        rows[p.name] = {**s, "width": w, "height": h}
        cost["read_decode"] += t1 - t0
        cost["thumbnail"] += t2 - t1
        cost["signals"] += t3 - t2
    ms = {k: 1000 * v / max(1, len(files)) for k, v in cost.items()}
    ms["signals_share"] = ms["signals"] / (ms["read_decode"] + ms["thumbnail"])
    return pd.DataFrame.from_dict(rows, orient="index"), ms


def scores(truth: pd.Series, ours: pd.Series) -> dict[str, float]:
    tp = int((truth & ours).sum())
    return {
        "agreement": float((truth == ours).mean()),
        "precision": tp / max(1, int(ours.sum())),
        "recall": tp / max(1, int(truth.sum())),
        "theirs": int(truth.sum()),
        "ours": int(ours.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--odd", action="store_true", help="also odd sizes and aspect ratios")
    ap.add_argument("--big", type=int, default=60, help="1600x1200 JPEGs timed (0: none)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "quality.json"))
    args = ap.parse_args()
    from cleanvision import Imagelab

    kinds = PLANTED if args.odd else PLANTED[:5]
    result: dict = {"n": args.n, "seed": args.seed, "kinds": list(kinds)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "set"
        truth = pd.Series(make_set(folder, args.n, args.seed, kinds))
        t0 = time.perf_counter()
        lab = Imagelab(data_path=str(folder))
        lab.find_issues({CV_NAME.get(k, k): {} for k in kinds}, n_jobs=1, verbose=False)
        result["cleanvision_ms_per_image"] = 1000 * (time.perf_counter() - t0) / args.n
        flags = lab.issues.set_axis([Path(p).name for p in lab.issues.index])
        frame, result["cost_ms_generated"] = measure(folder)
        t0 = time.perf_counter()
        found = find_issues(frame)
        result["find_issues_ms"] = 1000 * (time.perf_counter() - t0)
        per_issue = {}
        for issue in kinds:
            theirs = flags[f"is_{CV_NAME.get(issue, issue)}_issue"].astype(bool)
            ours = pd.Series(theirs.index.isin(found.loc[found["issue"] == issue, "id"]),
                             index=theirs.index)  # fmt: skip
            planted = truth.reindex(theirs.index) == issue
            per_issue[issue] = {
                "vs_cleanvision": scores(theirs, ours),
                "vs_planted": scores(planted, ours),
                "cleanvision_vs_planted": scores(planted, theirs),
            }
        result["issues"] = per_issue
        if args.big:
            big = Path(tmp) / "big"
            big.mkdir()
            rng = np.random.default_rng(args.seed)
            for i in range(args.big):
                scene(rng, (1600, 1200)).save(big / f"b{i:03d}.jpg", quality=90)
            result["cost_ms_1600x1200_jpeg"] = measure(big)[1]
    print(f"{'issue':16s} {'agree':>6s} {'prec':>6s} {'recall':>6s}   vs planted: "
          f"{'ours':>5s} {'cleanvision':>11s}  (agreement)")  # fmt: skip
    for issue, r in result["issues"].items():
        c = r["vs_cleanvision"]
        print(f"{issue:16s} {c['agreement']:6.3f} {c['precision']:6.3f} {c['recall']:6.3f}"
              f"               {r['vs_planted']['agreement']:5.3f} "
              f"{r['cleanvision_vs_planted']['agreement']:11.3f}")  # fmt: skip
    for key in ("cost_ms_generated", "cost_ms_1600x1200_jpeg"):
        if key in result:
            c = result[key]
            print(f"{key}: read+decode {c['read_decode']:.2f} ms, thumbnail "
                  f"{c['thumbnail']:.2f} ms, signals {c['signals']:.2f} ms "
                  f"(+{100 * c['signals_share']:.0f} %)")  # fmt: skip
    print(f"cleanvision {result['cleanvision_ms_per_image']:.2f} ms/image; "
          f"find_issues {result['find_issues_ms']:.1f} ms for {args.n} images")  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
