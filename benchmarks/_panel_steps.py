"""Timed steps of the search panel in a real browser, for ``bench_panel.py``: each
measures, in the page, from the user's input event (keydown, click or mouse release,
caught in the capture phase) to what the user waits for (the gallery's page of
thumbnails painted: its ``data-painted`` token changes once every ``<img>`` of the new
page has loaded; or the map's points drawn)."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

# From the next `event` anywhere in the page to the gallery's next painted page:
# window.__st.painted (ms).
ARM = """(event) => {
  const g = document.querySelector('.aisw-gallery');
  const st = window.__st = {t0: null, painted: null, before: g.dataset.painted || null};
  document.addEventListener(event, () => { if (st.t0 === null) st.t0 = performance.now(); },
                            {capture: true, once: true});
  const obs = new MutationObserver(() => {
    const v = g.dataset.painted;
    if (st.t0 !== null && v && v !== st.before) {
      st.painted = performance.now() - st.t0;
      obs.disconnect();
    }
  });
  obs.observe(g, {attributes: true, attributeFilter: ['data-painted']});
}"""

# From the next click to the map's scatter having drawn n points (jupyter-scatter's
# regl-scatterplot instance: n points, spatial index built, draw call returned) on a
# canvas in view (a map hidden and shown again keeps its drawn canvas, hidden):
# window.__mv.done (ms).
ARM_MAP = """(n) => {
  const mv = window.__mv = {t0: null, done: null, canvas: null};
  document.addEventListener('click', () => { if (mv.t0 === null) mv.t0 = performance.now(); },
                            {capture: true, once: true});
  const tick = () => {
    const c = document.querySelector('.aisw-map canvas');
    const box = c && c.offsetParent !== null && c.parentElement && c.parentElement.parentElement;
    const api = box && box.api;
    if (box && mv.t0 !== null && mv.canvas === null) mv.canvas = performance.now() - mv.t0;
    if (api && mv.t0 !== null && api.get('isPointsDrawn') && !api.get('isDrawing')
        && api.get('points').length === n) {
      mv.done = performance.now() - mv.t0;
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def _wait_painted(page: Any, timeout_s: float) -> float:
    page.wait_for_function("() => window.__st.painted !== null", timeout=timeout_s * 1000)
    return float(page.evaluate("() => window.__st.painted"))


def prompts(page: Any, texts: list[str], page_size: int, timeout_s: float = 120) -> list[float]:
    """Enter -> the first page of thumbnails painted, per prompt."""
    prompt = page.locator(".aisw-prompt")
    times = []
    for p in texts:
        prompt.fill(p)
        page.evaluate(ARM, "keydown")
        prompt.press("Enter")
        ms = _wait_painted(page, timeout_s)
        assert page.locator(".aisw-card").count() == page_size
        times.append(ms)
        print(f"{p!r}: first page of {page_size} painted in {ms:.0f} ms", flush=True)
    return times


def typed_first_prompt(page: Any, text: str, page_size: int, timeout_s: float = 120) -> dict:
    """The first prompt of a session as a user sends it: the prompt typed at ~8
    characters a second once the panel's cell has run, then Enter -> painted (the
    typing is the pause the model's warm-up gets)."""
    t0 = time.monotonic()
    prompt = page.locator(".aisw-prompt")
    prompt.click()
    prompt.press_sequentially(text, delay=125)
    typed = time.monotonic() - t0
    page.evaluate(ARM, "keydown")
    prompt.press("Enter")
    ms = _wait_painted(page, timeout_s)
    assert page.locator(".aisw-card").count() == page_size
    print(f"typed {text!r} in {typed:.1f} s, then Enter -> painted {ms:.0f} ms", flush=True)
    return {"typing_s": round(typed, 1), "enter_to_painted_ms": round(ms)}


def next_pages(
    page: Any, n: int, pages: int, timeout_s: float = 60, pause_s: float = 0.0
) -> dict[str, Any]:
    """A 1,000-result search (of ``n`` images), then Next clicked ``pages`` times:
    click -> painted. ``pause_s``: how long each page is looked at before Next (0: Next
    as soon as the page is painted)."""
    prompt = page.locator(".aisw-prompt")
    page.locator(".aisw-limit").first.fill("1000")
    prompt.fill("a shape")
    prompt.press("Enter")
    page.wait_for_function(
        "(k) => { const t = document.querySelector('.aisw-count').textContent;"
        " return t.startsWith('1–') && t.endsWith('of ' + k); }",
        arg=min(n, 1000),
        timeout=timeout_s * 1000,
    )
    page.wait_for_function("() => document.querySelector('.aisw-gallery').dataset.painted")
    times = []
    for _ in range(pages):
        page.wait_for_timeout(pause_s * 1000)
        page.evaluate(ARM, "click")
        page.locator(".aisw-gallery button", has_text="Next").click()
        times.append(_wait_painted(page, timeout_s))
    print(f"Next page (after {pause_s} s) -> painted: {[round(t) for t in times]} ms", flush=True)
    return {"all": [round(t) for t in times], "median": round(statistics.median(times))}


def map_toggle(page: Any, n: int, timeout_s: float) -> dict[str, Any]:
    """Map toggled on (the map computed, or read from the project's cache) -> its n
    points drawn; toggled off, then on again (the map kept, hidden) -> drawn."""
    toggle = page.locator(".widget-toggle-button", has_text="Map")
    out: dict[str, Any] = {}
    for name in ("first", "cached"):
        page.evaluate(ARM_MAP, n)
        toggle.click()
        page.wait_for_function("() => window.__mv.done !== null", timeout=timeout_s * 1000)
        mv = page.evaluate("() => window.__mv")
        out[name] = {"click_to_drawn_ms": round(mv["done"]), "canvas_ms": round(mv["canvas"])}
        print(f"Map toggle ({name}) -> {n} points drawn in {mv['done']:.0f} ms", flush=True)
        if name == "first":
            toggle.click()  # off
            page.wait_for_function(
                "() => { const c = document.querySelector('.aisw-map canvas');"
                " return !c || c.offsetParent === null; }"
            )
    return out


def _draw_lasso_and_time(page: Any, points: list[tuple[float, float]], timeout_s: float) -> float:
    """Drag a lasso through ``points`` as jupyter-scatter's users do (long press, then
    drag); mouse release -> the gallery's page painted."""
    from _labharness import drag_lasso

    drag_lasso(page, points, before_release=lambda: page.evaluate(ARM, "mouseup"))
    return _wait_painted(page, timeout_s)


def lassos(lab: Any, page: Any, fractions: list[float], timeout_s: float) -> list[dict[str, Any]]:
    """A square lasso around the middle of the map, ``fraction`` of its width and
    height, per fraction: release -> gallery painted, and how many images it took."""
    canvas = page.locator(".aisw-map canvas").first
    out = []
    for f in fractions:
        canvas.scroll_into_view_if_needed()  # (running a cell scrolls the page)
        box = canvas.bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        hw, hh = box["width"] * f / 2, box["height"] * f / 2
        square = [
            (cx - hw, cy - hh),
            (cx + hw, cy - hh),
            (cx + hw, cy + hh),
            (cx - hw, cy + hh),
            (cx - hw, cy - hh + 1),
        ]
        try:
            ms: float | None = _draw_lasso_and_time(page, square, timeout_s)
        except Exception:  # nothing painted: an empty lasso leaves the gallery as it was
            ms = None
        info = lab.py(page, "[panel.result.query['type'], len(panel.result)]")
        if ms is None or info[0] != "map":
            out.append({"fraction": f, "selected": 0, "release_to_painted_ms": None})
            print(f"lasso {f:.0%} of the map: nothing selected", flush=True)
            continue
        out.append({"fraction": f, "selected": info[1], "release_to_painted_ms": round(ms)})
        print(f"lasso {f:.0%} of the map: {info[1]} images, painted in {ms:.0f} ms", flush=True)
    return out


def duplicates(lab: Any, page: Any, timeout_s: float) -> dict[str, Any]:
    """The kNN graph and the pixel fingerprints computed and cached in the kernel (the
    first ``duplicates()``, timed there), then the Duplicates tab's Find clicked ->
    the groups' first page painted."""
    t0 = time.perf_counter()
    first = json.loads(
        lab.run_cell_code(
            page,
            "import time as _t, json as _j; _t0 = _t.perf_counter(); _d = proj.duplicates(progress=False)\n"
            "print(_j.dumps([_t.perf_counter() - _t0, len(_d), int(_d.df['group'].nunique())]))",
            timeout=timeout_s,
        )
        .strip()
        .splitlines()[-1]
    )
    print(f"duplicates() in the kernel, graph built: {first}", flush=True)
    page.locator(".aisw-tab", has_text="Duplicates").click()
    page.wait_for_timeout(500)
    page.evaluate(ARM, "click")
    page.locator(".aisw-find-duplicates").click()
    ms = _wait_painted(page, timeout_s)
    header = page.locator(".aisw-result-header").inner_text()
    print(f"Duplicates (graph cached): click -> painted {ms:.0f} ms; {header!r}", flush=True)
    return {
        "first_call_in_kernel_s": round(first[0], 1),
        "first_call_wall_s": round(time.perf_counter() - t0, 1),
        "images_in_groups": first[1],
        "groups": first[2],
        "click_to_painted_ms_graph_cached": round(ms),
        "header": header,
    }
