"""The score chart's one threshold, the responsive layout and the spinner, in a real
JupyterLab with a real mouse and keyboard:

- the threshold line dragged with the mouse, a threshold typed + Enter, and a brush to
  the right end: the gallery shows what Python counts, the box shows the line's value
  (3 decimals), the top hit is kept, the suggested cut is labelled on the chart, and
  Diverse has no chart;
- at 900, 1,000, 1,440 and 1,920 px no button label is cut and every visible field
  has a visible label; the panel is photographed at 1,000 and 1,920 px
  (``test-artifacts/panel-chart-1000.png``, ``panel-chart-1920.png``);
- a slow search: the spinner shows within 100 ms of Enter, the kernel runs another
  cell meanwhile, and Cancel stops it.

Data: the demo shapes with the bundled demo model ("a red circle" has a clear cut)."""

from __future__ import annotations

import re
import time

import pytest

from _labharness import Lab

PROMPT = "a red circle"


@pytest.fixture(scope="module")
def demo_images(lab: Lab) -> str:
    return lab.demo_images("chart-images")


def _py(lab: Lab, page, expr: str):
    return lab.py(page, expr)


def _open_panel(lab: Lab, name: str, images: str):
    return lab.open_panel(name, images)


def _search(page, text: str, limit: int) -> None:
    from playwright.sync_api import expect

    page.locator(".aisw-prompt").fill(text)
    page.locator("[data-pane=prompt] .aisw-limit").fill(str(limit))
    page.locator(".aisw-prompt").press("Enter")
    expect(page.locator(".aisw-result-header")).to_have_text(f"Prompt {text!r} · {limit}")


def _wait_py(lab: Lab, page, expr: str, want, tries: int = 40):
    got = None
    for _ in range(tries):
        got = _py(lab, page, expr)
        if got == want:
            return got
        page.wait_for_timeout(150)
    raise AssertionError(f"{expr}: {got!r}, wanted {want!r}")


def _shown(lab: Lab, page) -> tuple[float, int, int]:
    """The threshold, the images the gallery shows, and how many score >= it."""
    t, n, above = _py(
        lab,
        page,
        "[panel.threshold, len(panel.collection), "
        "int((panel.result.scores >= panel.threshold - 1e-6).sum())]",
    )
    return t, n, above


def test_one_threshold_drag_type_and_brush(lab: Lab, demo_images: str) -> None:
    from playwright.sync_api import expect

    page = _open_panel(lab, "chart", demo_images)
    # No chart (no axes) before a search.
    expect(page.locator(".aisw-chart")).to_have_class(re.compile("aisw-chart-empty"))
    _search(page, PROMPT, 200)
    svg = page.locator(".aisw-chart-svg")
    expect(svg).to_be_visible()
    assert page.locator(".bqplot").count() == 0  # no bqplot toolbar over the chart
    suggested = _py(lab, page, "panel.suggested_threshold")
    assert suggested is not None
    expect(page.locator(".aisw-suggested-label")).to_have_text(f"suggested {suggested:.2f}")
    box = page.locator(".aisw-threshold")
    expect(box).to_have_value(f"{suggested:.3f}")  # the line starts at the suggested cut
    cards = page.locator(".aisw-card")
    expect(cards).to_have_count(60)

    # Drag the line with the mouse, to a third of the chart: the gallery shows the
    # images at or above it, the box and the header say its value.
    svg.scroll_into_view_if_needed()
    frame = svg.bounding_box()
    handle = page.locator(".aisw-threshold-handle").bounding_box()
    assert frame is not None and handle is not None
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    target = frame["x"] + frame["width"] * 0.35
    page.mouse.move(target, frame["y"] + 40, steps=10)
    page.mouse.up()
    _wait_py(lab, page, "panel.chart.filter", "above")
    t, n, above = _shown(lab, page)
    assert n == above and 0 < n < 200 and t < suggested
    expect(box).to_have_value(f"{t:.3f}")
    expect(page.locator(".aisw-result-header")).to_have_text(
        f"Prompt {PROMPT!r} · {n} of 200 · above {t:.3f}"
    )
    expect(cards).to_have_count(min(n, 60))
    assert _py(lab, page, "panel.chart.threshold") == t

    # Type a threshold and press Enter: applied at once.
    box.scroll_into_view_if_needed()
    typed = round((t + suggested) / 2, 3)
    box.click()
    box.fill(str(typed))
    box.press("Enter")
    _wait_py(lab, page, "panel.threshold", typed)
    t, n, above = _shown(lab, page)
    assert n == above
    expect(page.locator(".aisw-result-header")).to_have_text(
        f"Prompt {PROMPT!r} · {n} of 200 · above {typed:.3f}"
    )
    # Below, with the same threshold: the rest.
    page.locator(".aisw-show-below").click()
    _wait_py(lab, page, "panel.chart.filter", "below")
    assert _py(lab, page, "len(panel.collection)") == 200 - n

    # Brush from the middle to past the right end: the top hit is kept, the box shows
    # the brush's left end (one value). (Cells run since: the chart may have moved.)
    svg.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    frame = svg.bounding_box()
    assert frame is not None
    line = page.locator(".aisw-threshold-handle").bounding_box()
    x0 = frame["x"] + frame["width"] * 0.6
    if line is not None and abs(line["x"] - x0) < 30:
        x0 = frame["x"] + frame["width"] * 0.7
    y = frame["y"] + frame["height"] * 0.6
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] + 40, y, steps=12)
    page.mouse.up()
    _wait_py(lab, page, "panel.chart.filter", "between")
    lo, hi, top, shown_ids, n = _py(
        lab,
        page,
        "[*panel.score_range, float(panel.result.scores.max()), panel.collection.ids[:1], "
        "len(panel.collection)]",
    )
    best = _py(lab, page, "panel.result.ids[:1]")
    assert hi == pytest.approx(top, abs=1e-9) and shown_ids == best  # the top hit is kept
    expect(box).to_have_value(f"{lo:.3f}")
    expect(cards).to_have_count(min(n, 60))

    # Diverse has no similarity scores: no chart.
    page.locator(".aisw-tab", has_text="Diverse").click()
    page.locator("[data-pane=diverse] .aisw-primary").click()
    expect(page.locator(".aisw-result-header")).to_have_text(re.compile(r"^Diverse sample"))
    expect(page.locator(".aisw-chart")).to_have_class(re.compile("aisw-chart-empty"))
    page.locator(".aisw-tab", has_text="Prompt").click()
    expect(svg).to_be_visible()
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")


_CUT = """() => [...document.querySelectorAll('.aisw button, .aisw-panel .widget-button')]
  .filter((b) => b.offsetParent !== null && b.scrollWidth > b.clientWidth)
  .map((b) => `${b.textContent} (${b.scrollWidth} > ${b.clientWidth})`)"""
_UNLABELLED = """() => [...document.querySelectorAll(
    '.aisw input[type=text], .aisw input[type=number], .aisw input:not([type]), .aisw select')]
  .filter((i) => i.offsetParent !== null)
  .filter((i) => ![...(i.labels || [])].some((l) => l.offsetParent !== null && l.textContent.trim()))
  .map((i) => i.className)"""


def test_layout_from_900_to_1920_px(lab: Lab, demo_images: str) -> None:
    from playwright.sync_api import expect

    page = _open_panel(lab, "layout", demo_images)
    _search(page, PROMPT, 200)
    expect(page.locator(".aisw-gallery")).to_have_attribute("data-painted", re.compile(r"\d+"))
    cards = page.locator(".aisw-card")
    for i in (0, 2, 4):
        cards.nth(i).locator(".aisw-check").click()
    expect(page.locator(".aisw-menu-btn")).to_have_text("With 3 selected ▾")
    for width in (900, 1000, 1440, 1920):
        page.set_viewport_size({"width": width, "height": 1500})
        page.wait_for_timeout(400)
        assert page.evaluate(_CUT) == [], f"cut button labels at {width} px"
        assert page.evaluate(_UNLABELLED) == [], f"fields without a visible label at {width} px"
        # The export form: its field has a visible label too, and nothing is cut.
        page.locator(".aisw-menu-btn").click()
        page.locator(".aisw-do-export").click()
        expect(page.locator(".aisw-form-input")).to_be_visible()
        assert page.evaluate(_CUT) == [] and page.evaluate(_UNLABELLED) == []
        page.locator(".aisw-form-cancel").click()
        # "Export as ▾" and the scope's filter editor: labelled, nothing cut.
        page.locator(".aisw-export-btn").click()
        page.locator(".aisw-export-item[data-format='yolo']").click()
        expect(page.locator(".aisw-export-path")).to_be_visible()
        assert page.evaluate(_CUT) == [] and page.evaluate(_UNLABELLED) == []
        page.locator(".aisw-export-cancel").click()
        for kind in ("tag", "folder", "date", "size", "quality"):
            page.locator(".aisw-scope-add").select_option(kind)
            expect(page.locator(".aisw-scope-apply")).to_be_visible()
            assert page.evaluate(_CUT) == [], f"cut labels in the {kind} filter at {width} px"
            assert page.evaluate(_UNLABELLED) == [], f"unlabelled {kind} filter at {width} px"
        for tab in ("Diverse", "Similar", "Outliers", "Prompt"):
            page.locator(".aisw-tab", has_text=tab).click()
            assert page.evaluate(_CUT) == [], f"cut labels in {tab} at {width} px"
            assert page.evaluate(_UNLABELLED) == [], f"unlabelled fields in {tab} at {width}"
        # The panel fits the notebook: no sideways scrolling.
        wide = page.evaluate(
            "() => { const p = document.querySelector('.aisw-panel');"
            " return [p.scrollWidth, p.clientWidth]; }"
        )
        assert wide[0] <= wide[1] + 1, f"the panel scrolls sideways at {width} px: {wide}"
        if width in (1000, 1920):
            page.locator(".aisw-controls").scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            lab.screenshot(page, f"panel-chart-{width}", selector=".jp-OutputArea-output")
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")


def test_spinner_at_once_a_free_kernel_and_cancel(lab: Lab, demo_images: str) -> None:
    from playwright.sync_api import expect

    page = _open_panel(lab, "spin", demo_images)
    lab.run_cell_code(
        page,
        "import time as _t\n_real = proj.search\n"
        "def _slow(*a, **k):\n    _t.sleep(10)\n    return _real(*a, **k)\n"
        "proj.search = _slow",
    )
    page.evaluate(
        """() => {
          window.__aiswT = {};
          document.addEventListener('keydown', (e) => {
            if (e.key === 'Enter' && !window.__aiswT.key) window.__aiswT.key = performance.now();
          }, true);
          const box = document.querySelector('.aisw-busy-box');
          new MutationObserver(() => {
            if (!box.hidden && !window.__aiswT.shown) window.__aiswT.shown = performance.now();
          }).observe(box, { attributes: true });
        }"""
    )
    prompt = page.locator(".aisw-prompt")
    prompt.fill(PROMPT)
    prompt.press("Enter")
    busy = page.locator(".aisw-busy-box")
    expect(busy).to_be_visible()
    expect(busy).to_contain_text("Searching")
    t = page.evaluate("() => window.__aiswT")
    assert t["shown"] - t["key"] < 100, t
    # The kernel runs another cell while the search runs.
    t0 = time.monotonic()
    assert lab.run_cell_code(page, "print(6 * 7)").strip() == "42"
    assert time.monotonic() - t0 < 8, "the kernel waited for the search"
    expect(busy).to_contain_text(re.compile(r"Searching… \d+ s"))
    page.locator(".aisw-cancel").click()
    expect(busy).to_be_hidden()
    expect(page.locator(".aisw-controls .aisw-message")).to_have_text("Cancelled.")
    assert _py(lab, page, "[panel.result is None, panel.controls.busy]") == [True, False]
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "proj.search = _real; panel.close(); proj.close()")
