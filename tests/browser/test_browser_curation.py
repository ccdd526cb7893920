"""The panel's Map view in a real JupyterLab: the jupyter-scatter plot draws (WebGL),
a lasso drawn with the mouse (shift + drag) selects the points inside it and fills the
gallery with them, and a gallery selection made with the mouse is highlighted on the
map (read back from the scatter's ``selection``)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from _labharness import VIEWPORT, Lab, drag_lasso

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _helpers import make_folder, write_tiny_model


@pytest.fixture(scope="module")
def curation_data(lab: Lab) -> dict[str, str]:
    images = lab.root / "cur-images"
    shutil.rmtree(images, ignore_errors=True)
    make_folder(images, 60, sub=False)
    model = write_tiny_model(lab.root / "cur-model")
    return {"images": str(images), "model": str(model)}


def _py(lab: Lab, page, expr: str):
    out = lab.run_cell_code(page, f"import json as _j; print(_j.dumps({expr}))")
    return json.loads(out.strip().splitlines()[-1])


def _lasso_around_left_points(
    pos: list[list[float]], width: float, height: float
) -> tuple[list[tuple[float, float]], list[int]]:
    """A rectangle (canvas pixels) around the points left of the widest gap between
    the screen x of the middle half of the points, and the indices of those points."""
    xs = sorted(p[0] for p in pos)
    mid = xs[len(xs) // 4 : 3 * len(xs) // 4 + 1]
    gap, cut = max((b - a, (a + b) / 2) for a, b in itertools.pairwise(mid))
    assert gap > 4, f"no clear gap between points on the canvas: {xs}"
    top = max(2.0, min(p[1] for p in pos) - 12)
    bottom = min(height - 2, max(p[1] for p in pos) + 12)
    left = max(2.0, xs[0] - 12)
    assert top > 0 and bottom < height and left > 0 and cut < width
    inside = [i for i, (x, _y) in enumerate(pos) if x < cut]
    return [(left, top), (cut, top), (cut, bottom), (left, bottom), (left, top + 1)], inside


def test_map_lasso_fills_the_gallery(lab: Lab, curation_data: dict[str, str]) -> None:
    from playwright.sync_api import expect

    cells = [
        f"""
import aisearch_widgets as aw
proj = aw.Project("cur", sources={curation_data["images"]!r}, model={curation_data["model"]!r})
proj.update()
panel = aw.SearchPanel(proj, page_size=60)
panel
"""
    ]
    page = lab.open_notebook("curation.ipynb", cells, timeout=120)
    prompt = page.locator(".aisw-prompt")
    expect(prompt).to_be_enabled()
    prompt.fill("a red disc")
    prompt.press("Enter")
    expect(page.locator(".aisw-card")).to_have_count(60, timeout=20_000)

    # Hidden until asked; then the scatter plot draws on a WebGL canvas.
    assert page.locator(".aisw-map canvas").count() == 0
    page.locator(".widget-toggle-button", has_text="Map").click()
    canvas = page.locator(".aisw-map canvas").first
    expect(canvas).to_be_visible(timeout=30_000)
    assert _py(lab, page, "panel.map_view.scatter.color()['by']") == "score"

    # A lasso drawn with the mouse (long press, then drag) around the points left of
    # a gap in their screen positions.
    pos = page.evaluate(
        "() => { const c = document.querySelector('.aisw-map canvas');"
        " const api = c.parentElement.parentElement.api;"
        " return api.get('points').map((_, i) => api.getScreenPosition(i)); }"
    )
    map_ids = _py(lab, page, "panel.map_view.ids")  # (running a cell scrolls the page)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]
    polygon, inside = _lasso_around_left_points(pos, box["width"], box["height"])
    assert 0 < len(inside) < len(pos)
    expected = sorted(map_ids[i] for i in inside)
    drag_lasso(page, [(box["x"] + x, box["y"] + y) for x, y in polygon])
    state = None
    for _ in range(50):
        state = _py(lab, page, "[panel.result.query['type'], panel.result.ids]")
        if state[0] == "map":
            break
        page.wait_for_timeout(200)
    assert state is not None and state[0] == "map"
    assert sorted(state[1]) == expected
    assert sorted(_py(lab, page, "panel.map_view.selected_ids()")) == expected
    expect(page.locator(".aisw-card")).to_have_count(len(state[1]))
    dom_ids = page.locator(".aisw-card").evaluate_all("els => els.map(e => e.dataset.id)")
    assert dom_ids == state[1]

    # A gallery selection is highlighted on the map (and leaves the gallery as it is).
    cards = page.locator(".aisw-card")
    picked = [cards.nth(0).get_attribute("data-id"), cards.nth(1).get_attribute("data-id")]
    cards.nth(0).locator(".aisw-check").check()
    cards.nth(1).locator(".aisw-check").check()
    highlighted = None
    for _ in range(50):
        highlighted = _py(lab, page, "panel.map_view.selected_ids()")
        if sorted(highlighted) == sorted(picked):
            break
        page.wait_for_timeout(200)
    assert sorted(highlighted) == sorted(picked)
    assert _py(lab, page, "panel.result.ids") == state[1]

    expect(page.locator(".aisw-gallery")).to_have_attribute("data-painted", re.compile(r"\d+"))
    lab.command(page, "notebook:hide-all-cell-code")
    page.set_viewport_size({"width": 1280, "height": 2000})
    page.wait_for_timeout(300)
    lab.screenshot(page, "curation-map", selector=".jp-OutputArea-output")
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")
