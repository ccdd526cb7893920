"""The search panel in a real browser (JupyterLab in Chromium via Playwright), on a
project of N images (default 10,000, the demo model), each size in a new notebook:

- Enter in the prompt box -> the first page of 100 thumbnails painted (6 prompts; the
  first is the first of the kernel's session);
- bytes sent per thumbnail;
- a 1,000-result search paged through: Next -> the page painted, clicked as soon as
  each page is painted, then again after a 1 s look at each (the time the page asked
  ahead has); no "IOPub data rate exceeded";
- the Map toggle -> all N points drawn (the map computed, then cached);
- a lasso around the middle of the map -> the gallery's page painted;
- the first prompt of a new kernel typed at 8 characters a second once the cell ran,
  then Enter -> painted (``typed``: the pause a user gives the model's warm-up);
- the Duplicates tab (the kNN graph built by a first ``duplicates()`` in the kernel,
  timed there): Find -> the groups' first page painted.

    .venv/bin/python benchmarks/bench_panel.py --n 10000
    .venv/bin/python benchmarks/bench_panel.py --n 10000 100000 --synthetic 2000 \
        --workdir /tmp/p100k --keep          # 2,000 indexed, grown (benchmarks/_grow.py)

Writes benchmarks/results/panel-<n>.json per size; with more than one size the first
is the reference, written into the others' files with their same-run ratios to it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "tests"))

PROMPTS = [
    "a red circle",
    "a blue square on a dark background",
    "a blurry image",
    "a green triangle",
    "a yellow star",
    "several shapes",
]


def build_project(
    work: Path, home: Path, images: Path, n: int, synthetic: int, keep: bool
) -> tuple[Path, Path, dict[str, float]]:
    """The project of ``n`` images under ``work`` (home, images), built unless ``keep``
    finds it built: ``n`` demo images indexed, or with ``synthetic`` FROM images
    indexed and grown to ``n`` (a folder of its own per size)."""
    import aisearch_widgets as aw
    from aisearch_widgets.demo import make_dataset

    if synthetic:
        home, images = work / f"grown-{n}" / "home", work / f"grown-{n}" / "images"
        done = work / f"grown-{n}-from-{synthetic}"
    else:
        done = work / f"indexed-{n}"  # written once the project of n images is indexed
    info: dict[str, float] = {}
    if keep and done.exists():
        return home, images, json.loads(done.read_text() or "{}")
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(images, ignore_errors=True)
    t0 = time.perf_counter()
    make_dataset(images, n=synthetic or n, seed=11)
    info["generate_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    with aw.Project("bench", sources=str(images), model="demo", home=home) as proj:
        proj.update()
        info["index_s"] = round(time.perf_counter() - t0, 1)
        if synthetic:
            from _grow import grow

            info.update(grow(proj, images, n))
    done.write_text(json.dumps(info))
    print(f"built the project of {n} images: {info}", flush=True)
    return home, images, info


CELL = """
import aisearch_widgets as aw
from labstate import dump
proj = aw.Project("bench", home={home!r})
panel = aw.SearchPanel(proj, page_size=100, limit=100)
sizes = []
_send = panel.gallery.send
def counting_send(msg, buffers=None):
    if msg.get("type") in ("reply", "thumbs_sent") and "ids" in msg:  # thumbnails
        sizes.extend(len(b) for b in buffers or [])
        dump("sizes.json", sizes=sizes)
    return _send(msg, buffers)
panel.gallery.send = counting_send
panel
"""


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def measure(lab, n: int, home: Path, args: argparse.Namespace, shot: bool) -> dict[str, object]:
    """Every step of the panel on the project of ``n`` images, in a new notebook (a
    new kernel: its first prompt is the first of a session)."""
    import _panel_steps as steps

    res: dict[str, object] = {}
    load = {"start": _load()}
    page = lab.open_notebook(f"bench-{n}.ipynb", [CELL.format(home=str(home))], timeout=600)
    load["opened"] = _load()
    times = steps.prompts(page, PROMPTS, 100)
    load["prompts"] = _load()
    sizes = lab.read_json("sizes.json")["sizes"]
    res["enter_to_painted_ms"] = {
        "all": [round(t) for t in times],
        "median": round(statistics.median(times)),
        "median_after_first": round(statistics.median(times[1:])),
        "first_prompt": round(times[0]),
    }
    res["thumbnail_bytes"] = {
        "mean": round(statistics.mean(sizes)),
        "max": max(sizes),
        "count": len(sizes),
    }
    if args.quick:
        return res | {"load_average_1min": load}
    if "next" not in args.skip:  # 1,000 results paged through: Next -> painted.
        res["next_page_ms"] = steps.next_pages(page, n, 9)
        # The same after a look at each page (1 s): the time a page asked ahead has.
        res["next_page_after_1s_ms"] = steps.next_pages(page, n, 9, pause_s=1.0)
        iopub = page.get_by_text("IOPub data rate exceeded").count()
        res["results_1000"] = {"pages": 20, "iopub_rate_errors": iopub}
        load["next"] = _load()
    if "map" not in args.skip:
        res["map_toggle"] = steps.map_toggle(page, n, args.timeout)
        load["map"] = _load()
        if "lasso" not in args.skip:
            res["lasso"] = steps.lassos(lab, page, [0.1, 0.3], args.timeout)
            load["lasso"] = _load()
    if shot:  # a screenshot for the README: a prompt, its histogram, the gallery.
        page.locator(".aisw-limit").first.fill("200")
        prompt = page.locator(".aisw-prompt")
        prompt.fill("a red circle")
        prompt.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('.aisw-count').textContent.includes('of 200')"
        )
        page.wait_for_function("() => document.querySelector('.aisw-gallery').dataset.painted")
        page.set_viewport_size({"width": 1280, "height": 1500})
        page.wait_for_timeout(500)
        lab.screenshot(page, "bench-panel", selector=".jp-OutputArea-output")
    if "duplicates" not in args.skip:
        res["duplicates"] = steps.duplicates(lab, page, args.timeout * 10)
        load["duplicates"] = _load()
    if "typed" not in args.skip:
        # The first prompt of a session again, in a new kernel (the project opens in one
        # process at a time: the first kernel is shut down), typed after the cell ran.
        lab.close_pages()
        cell = [CELL.format(home=str(home))]
        typed = lab.open_notebook(f"bench-{n}-typed.ipynb", cell, timeout=600)
        res["first_prompt_typed"] = steps.typed_first_prompt(typed, PROMPTS[0], 100)
        load["typed"] = _load()
    res["load_average_1min"] = load
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--n", type=int, nargs="+", default=[10_000], help="project sizes, measured in turn"
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="Enter -> first page only (make bench-quick): no paging, screenshot or results file",
    )
    ap.add_argument("--workdir", type=Path, default=None, help="lab root (default: a temp dir)")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the indexed project in --workdir: the next run skips generating and indexing",
    )
    ap.add_argument(
        "--synthetic",
        type=int,
        default=0,
        metavar="FROM",
        help="index FROM demo images, then grow the project to --n without the model "
        "(benchmarks/_grow.py: file copies, catalog rows and noisy vectors written directly)",
    )
    ap.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=["next", "map", "lasso", "typed", "duplicates"],
        help="steps left out (the lasso needs the map)",
    )
    ap.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per step (x10: duplicates)"
    )
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from _labharness import (
        Lab,
        chromium_available,
        launch_chromium,
        start_server,
    )

    ok, why = chromium_available()
    if not ok:
        raise SystemExit(why)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aisearch-bench-panel-"))
    work.mkdir(parents=True, exist_ok=True)
    server = start_server(work)
    projects = {}
    for n in args.n:
        home, _, build = build_project(
            work, server.root / "home", server.root / "images", n, args.synthetic, args.keep
        )
        projects[n] = (home, build)
    results: dict[int, dict[str, object]] = {}
    try:
        with sync_playwright() as pw:
            context = launch_chromium(pw, work / "profile")
            lab = Lab(server, context, ROOT / "test-artifacts")
            for k, n in enumerate(args.n):
                home, build = projects[n]
                res: dict[str, object] = {"n": n, "build": build}
                if args.synthetic:
                    res["synthetic_from"] = args.synthetic
                res |= measure(lab, n, home, args, shot=k == 0)
                results[n] = res
                print(json.dumps(res), flush=True)
                lab.close_pages()
            context.close()
    finally:
        server.stop()
        # The lab root: home, images, profile (with --keep, the profile alone).
        shutil.rmtree(work / "profile" if args.keep else work, ignore_errors=True)
    if args.quick:
        for res in results.values():
            print(json.dumps(res["enter_to_painted_ms"]))
        return
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    # With several sizes the first is the reference: its numbers go into the others'
    # files (with the same-run ratios), not into a file of its own.
    ref = results[args.n[0]]
    for n, res in results.items():
        if n == args.n[0] and len(results) > 1:
            continue
        if n != args.n[0]:
            res["same_session_reference"] = {"ratios": _ratios(res, ref), "results": ref}
        print(json.dumps(res, indent=2))
        (out / f"panel-{n}.json").write_text(json.dumps(res, indent=2) + "\n")


def _ratios(res: dict, ref: dict) -> dict[str, object]:
    """This size's step times over the reference size's, measured in the same run."""

    def get(r: dict, path: tuple) -> float | None:
        for k in path:
            if not isinstance(r, dict) or k not in r:
                return None
            r = r[k]
        return r  # type: ignore[return-value]

    out: dict[str, object] = {}
    for name, path in {
        "enter_median": ("enter_to_painted_ms", "median"),
        "enter_first": ("enter_to_painted_ms", "first_prompt"),
        "next_page_median": ("next_page_ms", "median"),
        "map_first": ("map_toggle", "first", "click_to_drawn_ms"),
        "map_cached": ("map_toggle", "cached", "click_to_drawn_ms"),
        "duplicates_cached": ("duplicates", "click_to_painted_ms_graph_cached"),
    }.items():
        a, b = get(res, path), get(ref, path)
        if a is not None and b:
            out[name] = round(a / b, 2)
    return out


if __name__ == "__main__":
    main()
