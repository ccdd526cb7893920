"""The Map view in a real browser (JupyterLab in Chromium via Playwright):

- time from the kernel holding a map DataFrame of N points (``id, x, y, cluster``) to
  the jupyter-scatter canvas having drawn all N of them (``MapView(df)`` displayed);
- time from ``MapView.color_by_score`` in the kernel to the recoloured points drawn;
- what travels: the JSON part and the binary buffers of every comm message the map
  sends, and whether any "IOPub … rate exceeded" appears (cell outputs, server log);
- optionally the panel's own path at a small size (``--panel-n``): a project of drawn
  images, a prompt, then the Map toggle clicked, until the map is drawn.

"Drawn" is read from the scatter's regl-scatterplot instance (jupyter-scatter hangs
it on the canvas container as ``api``): it holds N points, its spatial index is built
(``isPointsDrawn``) and its draw call has returned (``isDrawing`` false, which happens
after the frame is rendered). For a recolour, the point values must also equal the
normalised scores the kernel sent. Kernel and browser share the machine's clock
(``time.time()`` against ``Date.now()``).

    .venv/bin/python benchmarks/bench_map_view.py --n 10000 100000 --repeats 5 --panel-n 300

Writes benchmarks/results/map-view-<n>.json (one per N; the panel run in the first).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "tests"))

SETUP = r"""
import json, time
import numpy as np, pandas as pd
from IPython.display import display
from ipykernel.comm.comm import BaseComm  # the class whose publish_msg sends
from aisearch_widgets.widgets._map import MapView

MSGS = []  # (msg_type, bytes of JSON, [bytes of each binary buffer]) per comm message
_publish = BaseComm.publish_msg
def _counting(self, msg_type, data=None, metadata=None, buffers=None, **keys):
    MSGS.append((msg_type, len(json.dumps(data, default=str)),
                 [memoryview(b).nbytes for b in buffers or []]))
    return _publish(self, msg_type, data, metadata, buffers, **keys)
BaseComm.publish_msg = _counting

def make_map(n, seed=0):
    rng = np.random.default_rng(seed)
    k = 30
    centers = rng.normal(0, 10, (k, 2))
    cluster = rng.integers(0, k, n)
    xy = centers[cluster] + rng.normal(0, 1, (n, 2))
    ids = [f"img-{i:07d}.jpg" for i in range(n)]
    return pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1], "cluster": cluster})

def report(t0, **more):
    types = {}
    for t, j, b in MSGS:
        d = types.setdefault(t, {"count": 0, "json_bytes": 0, "buffer_bytes": 0, "max_json": 0})
        d["count"] += 1; d["json_bytes"] += j; d["buffer_bytes"] += sum(b)
        d["max_json"] = max(d["max_json"], j)
    print(json.dumps({"t0_ms": t0 * 1000, "messages": types, **more}))
"""

# Resolves window.__mv.done (Date.now()) once the scatter under `sel` has drawn n points
# (and, for `checks` [[row, value]], the colour component holds those values).
WATCH = """([sel, n, checks]) => {
  const mv = window.__mv = {done: null, canvas: null, api: null, indexed: null};
  const tick = () => {
    const c = document.querySelector(sel + ' canvas');
    const box = c && c.parentElement && c.parentElement.parentElement;
    const api = box && box.api;
    if (c && !mv.canvas) mv.canvas = Date.now();
    if (api && !mv.api) mv.api = Date.now();
    if (api && api.get('isPointsDrawn') && !mv.indexed) mv.indexed = Date.now();
    if (api && api.get('isPointsDrawn') && !api.get('isDrawing')) {
      const pts = api.get('points');
      if (pts.length === n && checks.every(([i, z]) => Math.abs(pts[i][2] - z) < 1e-4)) {
        window.__mv.done = Date.now();
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def _painted_fraction(png: bytes) -> float:
    """Share of pixels of a screenshot that are not the background (white)."""
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float((np.abs(a - 255).sum(axis=2) > 30).mean())


def _iopub_errors(lab, page) -> int:
    status = page.evaluate("(p) => window.__labHarness.status(p)", lab.notebook_path(page))
    text = json.dumps(status["cells"])
    return len(re.findall(r"IOPub (data|message) rate exceeded", text))


def bench_n(lab, page, n: int, repeats: int, timeout_s: float) -> dict:
    lab.run_cell_code(page, f"df = make_map({n})", timeout=timeout_s)
    show, recolor, msgs_show, msgs_recolor, build, phases = [], [], None, None, [], []
    for r in range(repeats):
        sel = f".bench-map-{n}-{r}"
        page.evaluate(WATCH, [sel, n, []])
        out = lab.run_cell_code(
            page,
            "MSGS.clear(); t0 = time.time()\n"
            "view = MapView(df); w = view.widget\n"
            f"w.add_class({sel[1:]!r}); t1 = time.time()\n"
            "display(w)\n"
            "report(t0, build_ms=(t1 - t0) * 1000)",
            timeout=timeout_s,
        )
        info = _last_json(out)
        page.wait_for_function("() => window.__mv.done !== null", timeout=timeout_s * 1000)
        mv = page.evaluate("() => window.__mv")
        ms = mv["done"] - info["t0_ms"]
        phases.append({k: round(mv[k] - info["t0_ms"]) for k in ("canvas", "api", "indexed")})
        show.append(ms)
        build.append(info["build_ms"])
        msgs_show = info["messages"]
        print(
            f"n={n} #{r}: data → {n} points drawn in {ms:.0f} ms "
            f"(kernel side {info['build_ms']:.0f} ms; since data: {phases[-1]})",
            flush=True,
        )
        if r == 0:
            shot = page.locator(sel).screenshot()
            painted = _painted_fraction(shot)
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            (ROOT / "test-artifacts" / f"bench-map-{n}.png").write_bytes(shot)
        # Recolour by a query's score (every id scored; a new score each repeat).
        rows = [0, n // 3, n - 1]
        exp = _last_json(
            lab.run_cell_code(
                page,
                f"rng = np.random.default_rng({r}); s = rng.random({n}).astype(np.float32)\n"
                "scores = pd.Series(s, index=df['id'])\n"
                f"z = (s - s.min()) / (s.max() - s.min()); print(json.dumps([float(z[i]) for i in {rows}]))",
                timeout=timeout_s,
            )
        )
        page.evaluate(WATCH, [sel, n, [[i, z] for i, z in zip(rows, exp, strict=True)]])
        out = lab.run_cell_code(
            page,
            "MSGS.clear(); t0 = time.time(); view.color_by_score(scores); report(t0)",
            timeout=timeout_s,
        )
        info = _last_json(out)
        try:
            page.wait_for_function("() => window.__mv.done !== null", timeout=timeout_s * 1000)
            ms = page.evaluate("() => window.__mv.done") - info["t0_ms"]
        except Exception:  # the recoloured points never reached the canvas
            ms = float("nan")
        recolor.append(ms)
        msgs_recolor = info["messages"]
        print(f"n={n} #{r}: color_by_score → drawn in {ms:.0f} ms", flush=True)
        lab.run_cell_code(page, "w.close(); del view, w", timeout=timeout_s)
    rest = show[1:] or show
    return {
        "n": n,
        "repeats": repeats,
        "data_to_drawn_ms": {
            "all": [round(t) for t in show],
            "median": round(statistics.median(rest)),
            "first": round(show[0]),
            "median_excludes_first": len(show) > 1,
        },
        "kernel_build_ms_median": round(statistics.median(build)),
        "phases_ms_since_data": phases,
        "recolor_to_drawn_ms": {
            "all": [None if t != t else round(t) for t in recolor],
            "median": None if any(t != t for t in recolor) else round(statistics.median(recolor)),
        },
        "messages_show": msgs_show,
        "messages_recolor": msgs_recolor,
        "painted_fraction_first": round(painted, 3),
        "iopub_rate_errors": _iopub_errors(lab, page),
    }


def bench_panel(lab, page, n: int, work: Path, timeout_s: float) -> dict:
    from _helpers import make_folder, write_tiny_model

    images = work / "panel-images"
    make_folder(images, n, sub=False)
    model = write_tiny_model(work / "panel-model")
    lab.run_cell_code(
        page,
        "import aisearch_widgets as aw\n"
        f"proj = aw.Project('mapbench', sources={str(images)!r}, model={str(model)!r})\n"
        "proj.update(); _ = proj.map(method='pca', progress=False)\n"
        "panel = aw.SearchPanel(proj, page_size=60)\n"
        "display(panel)",
        timeout=600,
    )
    prompt = page.locator(".aisw-prompt")
    prompt.fill("a red disc")
    prompt.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.aisw-card').length > 0")
    page.evaluate(WATCH, [".aisw-map", n, []])
    t_click = page.evaluate("() => Date.now()")
    page.locator(".widget-toggle-button", has_text="Map").click()
    page.wait_for_function("() => window.__mv.done !== null", timeout=timeout_s * 1000)
    ms = page.evaluate("() => window.__mv.done") - t_click
    # The drawn values must be the query's scores, as the kernel computed them.
    want = _last_json(
        lab.run_cell_code(
            page,
            "print(json.dumps([panel.map_view.scatter.color()['by'], "
            "panel.map_view.scatter._points[:, 2].astype('float32').tolist()]))",
        )
    )
    got = page.evaluate(
        "() => { const c = document.querySelector('.aisw-map canvas');"
        " return c.parentElement.parentElement.api.get('points').map(p => p[2]); }"
    )
    off = max(abs(a - b) for a, b in zip(got, want[1], strict=True))
    print(
        f"panel, {n} images: Map clicked → drawn (coloured by {want[0]}) in {ms:.0f} ms; "
        f"largest colour value difference browser/kernel {off:.2g}",
        flush=True,
    )
    lab.run_cell_code(page, "panel.close(); proj.close()")
    return {
        "n": n,
        "click_to_drawn_ms": round(ms),
        "colored_by": want[0],
        "max_color_value_diff": off,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--panel-n", type=int, default=0, help="also time the panel's Map toggle")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from _labharness import Lab, chromium_available, launch_chromium, start_server

    ok, why = chromium_available()
    if not ok:
        raise SystemExit(why)
    work = Path(tempfile.mkdtemp(prefix="aisearch-bench-map-"))
    server = start_server(work)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    panel = None
    try:
        with sync_playwright() as pw:
            context = launch_chromium(pw, work / "profile")
            lab = Lab(server, context, ROOT / "test-artifacts")
            page = lab.open_notebook("bench.ipynb", [SETUP], timeout=180)
            if args.panel_n:
                panel = bench_panel(lab, page, args.panel_n, work, args.timeout)
            for n in args.n:
                load = os.getloadavg()[0]
                res = bench_n(lab, page, n, args.repeats, args.timeout)
                res["load_average_1min"] = [round(load, 1), round(os.getloadavg()[0], 1)]
                if panel is not None:
                    res["panel"], panel = panel, None
                res["server_log_iopub"] = len(
                    re.findall(r"IOPub|iopub messages resumed", server.log_path.read_text())
                )
                print(json.dumps(res, indent=1), flush=True)
                (out_dir / f"map-view-{n}.json").write_text(json.dumps(res, indent=2) + "\n")
            lab.assert_no_errors(page)
            lab.close_pages()
            context.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)  # the lab root: home, images, profile


if __name__ == "__main__":
    main()
