"""The search panel in a real browser (JupyterLab in Chromium via Playwright):

- time from pressing Enter in the prompt box to the first page of 100 thumbnails
  painted, on N indexed images (default 10,000, the demo model);
- bytes sent per thumbnail;
- a 1,000-result search paged through without an "IOPub data rate exceeded".

    .venv/bin/python benchmarks/bench_panel.py --n 10000

Writes benchmarks/results/panel-<n>.json.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
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
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    import aisearch_widgets as aw
    from aisearch_widgets.demo import make_dataset

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
    home = server.root / "home"
    images = server.root / "images"
    done = work / f"indexed-{args.n}"  # written once the project of n images is indexed
    t_index = 0.0
    if not (args.keep and done.exists()):
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(images, ignore_errors=True)
        t0 = time.perf_counter()
        make_dataset(images, n=args.n, seed=11)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        with aw.Project("bench", sources=str(images), model="demo", home=home) as proj:
            proj.update()
        t_index = time.perf_counter() - t0
        done.touch()
        print(f"generated {args.n} images in {t_gen:.0f} s, indexed in {t_index:.0f} s")

    cell = f"""
import aisearch_widgets as aw
from labstate import dump
proj = aw.Project("bench", home={str(home)!r})
panel = aw.SearchPanel(proj, page_size=100, limit=100)
sizes = []
_send = panel.gallery.send
def counting_send(msg, buffers=None):
    if msg.get("type") == "reply" and "ids" in msg:  # the answer to a thumbnails request
        sizes.extend(len(b) for b in buffers or [])
        dump("sizes.json", sizes=sizes)
    return _send(msg, buffers)
panel.gallery.send = counting_send
panel
"""
    results: dict[str, object] = {"n": args.n, "index_s": round(t_index, 1)}
    try:
        with sync_playwright() as pw:
            context = launch_chromium(pw, work / "profile")
            lab = Lab(server, context, ROOT / "test-artifacts")
            page = lab.open_notebook("bench.ipynb", [cell], timeout=180)
            prompt = page.locator(".aisw-prompt")
            gallery = page.locator(".aisw-gallery")
            times = []
            for p in PROMPTS:
                prompt.fill(p)
                page.evaluate(
                    """() => {
                      const g = document.querySelector('.aisw-gallery');
                      window.__t0 = performance.now();
                      window.__painted = null;
                      const before = g.dataset.painted;
                      const obs = new MutationObserver(() => {
                        if (g.dataset.painted && g.dataset.painted !== before) {
                          window.__painted = performance.now() - window.__t0;
                          obs.disconnect();
                        }
                      });
                      obs.observe(g, {attributes: true, attributeFilter: ['data-painted']});
                    }"""
                )
                prompt.press("Enter")
                page.wait_for_function("() => window.__painted !== null", timeout=60_000)
                ms = page.evaluate("() => window.__painted")
                assert page.locator(".aisw-card").count() == 100
                times.append(ms)
                print(f"{p!r}: first page of 100 painted in {ms:.0f} ms")
            sizes = lab.read_json("sizes.json")["sizes"]
            results["enter_to_painted_ms"] = {
                "all": [round(t) for t in times],
                "median": round(statistics.median(times)),
                "first_prompt": round(times[0]),
            }
            results["thumbnail_bytes"] = {
                "mean": round(statistics.mean(sizes)),
                "max": max(sizes),
                "count": len(sizes),
            }
            if args.quick:
                lab.close_pages()
                context.close()
                print(json.dumps(results["enter_to_painted_ms"]))
                return
            # 1,000 results paged through.
            page.locator(".aisw-limit").first.fill("1000")
            prompt.fill("a shape")
            prompt.press("Enter")
            page.wait_for_function(
                "() => document.querySelector('.aisw-count').textContent.includes('of 1000')"
            )
            for _ in range(9):
                page.locator(".aisw-gallery button", has_text="Next").click()
                gallery.page.wait_for_timeout(50)
            page.wait_for_function(
                "() => document.querySelector('.aisw-count').textContent.startsWith('901')"
            )
            iopub = page.get_by_text("IOPub data rate exceeded").count()
            results["results_1000"] = {"pages": 10, "iopub_rate_errors": iopub}
            # A screenshot for the README: a prompt, its histogram, the gallery.
            page.locator(".aisw-limit").first.fill("200")
            prompt.fill("a red circle")
            prompt.press("Enter")
            page.wait_for_function(
                "() => document.querySelector('.aisw-count').textContent.includes('of 200')"
            )
            page.wait_for_function("() => document.querySelector('.aisw-gallery').dataset.painted")
            page.set_viewport_size({"width": 1280, "height": 1500})
            page.wait_for_timeout(500)
            lab.screenshot(page, "bench-panel", selector=".jp-OutputArea-output")
            lab.close_pages()
            context.close()
    finally:
        server.stop()
        # The lab root: home, images, profile (with --keep, the profile alone).
        shutil.rmtree(work / "profile" if args.keep else work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"panel-{args.n}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
