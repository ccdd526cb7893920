"""The panel's Map view in a real JupyterLab: the jupyter-scatter plot draws (WebGL),
a lasso selection (set on the scatter's ``selection`` trait from the kernel) fills the
gallery in the browser, and a gallery selection made with the mouse is highlighted on
the map (read back from the scatter's ``selection``)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from _labharness import Lab

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

    # A lasso selection, set from the kernel as the browser's lasso writes it (the
    # scatter's ``selection`` trait): a drag drawn with Playwright's mouse did not
    # start regl-scatterplot's lasso in headless Chromium.
    lab.run_cell_code(
        page,
        "import numpy as np; "
        "panel.map_view.scatter.widget.selection = np.arange(3, 40, 3, dtype=np.uint32)",
    )
    state = None
    for _ in range(50):
        state = _py(lab, page, "[panel.result.query['type'], panel.result.ids]")
        if state[0] == "map":
            break
        page.wait_for_timeout(200)
    assert state is not None and state[0] == "map" and len(state[1]) == 13
    expect(page.locator(".aisw-card")).to_have_count(len(state[1]))
    dom_ids = page.locator(".aisw-card").evaluate_all("els => els.map(e => e.dataset.id)")
    assert dom_ids == state[1]
    lassoed = _py(lab, page, "panel.map_view.selected_ids()")
    assert sorted(lassoed) == sorted(state[1])

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
