"""The search panel in a real JupyterLab: prompt search, histogram brush, selection →
similar search, saving a collection, and a hostile file name rendered as text."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from _labharness import Lab

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _helpers import draw, make_folder, write_tiny_model

EVIL = "<img src=x onerror=alert(1)>.png"


@pytest.fixture(scope="module")
def panel_data(lab: Lab) -> dict[str, str]:
    images = lab.root / "ui-images"
    shutil.rmtree(images, ignore_errors=True)
    make_folder(images, 40, sub=False)
    draw(images / EVIL, "yellow", fmt="PNG")
    model = write_tiny_model(lab.root / "ui-model")
    return {"images": str(images), "model": str(model)}


def _py(lab: Lab, page, expr: str):
    out = lab.run_cell_code(page, f"import json as _j; print(_j.dumps({expr}))")
    return json.loads(out.strip().splitlines()[-1])


def test_panel_end_to_end(lab: Lab, panel_data: dict[str, str]) -> None:
    from playwright.sync_api import expect

    cells = [
        f"""
import aisearch_widgets as aw
proj = aw.Project("ui", sources={panel_data["images"]!r}, model={panel_data["model"]!r})
proj.update()
panel = aw.SearchPanel(proj, page_size=60)
panel
"""
    ]
    page = lab.open_notebook("panel.ipynb", cells, timeout=120)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # Prompt search: type, press Enter, thumbnails appear in score order.
    prompt = page.locator(".aisw-prompt")
    expect(prompt).to_be_enabled()
    prompt.fill("a red disc")
    prompt.press("Enter")
    gallery = page.locator(".aisw-gallery")
    expect(page.locator(".aisw-card")).to_have_count(41, timeout=20_000)
    expect(gallery).to_have_attribute("data-painted", __import__("re").compile(r"\d+"))
    scores = [float(s) for s in page.locator(".aisw-score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    dom_ids = page.locator(".aisw-card").evaluate_all("els => els.map(e => e.dataset.id)")
    assert dom_ids == _py(lab, page, "panel.result.ids")
    # The search travelled as a request; Python shows what ran in its traits.
    assert _py(lab, page, "[panel.controls.prompt, panel.controls.mode]") == [
        "a red disc",
        "prompt",
    ]
    thumbs = page.locator(".aisw-card img.aisw-thumb")
    assert thumbs.first.get_attribute("src").startswith("blob:")
    assert page.locator(".aisw-card img.aisw-thumb").evaluate_all(
        "els => els.every(e => e.complete && e.naturalWidth > 0)"
    )

    # The hostile file name is text, never markup, and no script ran.
    expect(page.locator(".aisw-name", has_text=EVIL)).to_have_count(1)
    assert page.locator('img[src="x"]').count() == 0
    assert dialogs == []

    # Brush the histogram: the gallery and panel.score_range follow on release.
    lab.screenshot(page, "panel-before-brush", selector=".jp-OutputArea-output")
    fig = page.locator(".aisw-chart-svg")
    fig.scroll_into_view_if_needed()  # the gallery below may have scrolled it away
    page.wait_for_timeout(200)
    box = fig.bounding_box()
    line = page.locator(".aisw-threshold-handle").bounding_box()
    assert box is not None and line is not None
    # Start the brush away from the threshold line (pressing on the line drags it).
    start = 0.35 if abs(box["x"] + box["width"] * 0.35 - line["x"]) > 30 else 0.5
    y = box["y"] + box["height"] * 0.45
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + 0.2), y, steps=8)
    page.mouse.move(box["x"] + box["width"] * (start + 0.4), y, steps=8)
    page.mouse.up()
    rng = None
    for _ in range(50):
        rng = _py(lab, page, "panel.score_range")
        if rng is not None:
            break
        page.wait_for_timeout(200)
    assert rng is not None and rng[0] < rng[1]
    n_view = _py(lab, page, "len(panel.collection)")
    assert 0 < n_view < 41
    expect(page.locator(".aisw-card")).to_have_count(n_view)
    shown = [float(s) for s in page.locator(".aisw-score").all_inner_texts()]
    assert all(rng[0] - 1e-3 <= s <= rng[1] + 1e-3 for s in shown)

    # Quick button back to the full range.
    page.locator(".aisw-show-all").click()
    expect(page.locator(".aisw-card")).to_have_count(41)
    assert _py(lab, page, "panel.score_range") is None

    # Select two images, then "Search similar" from the "With 2 selected" menu.
    cards = page.locator(".aisw-card")
    picked = [cards.nth(0).get_attribute("data-id"), cards.nth(1).get_attribute("data-id")]
    cards.nth(0).locator(".aisw-check").check()
    cards.nth(1).locator(".aisw-check").check()
    menu = page.locator(".aisw-menu-btn")
    expect(menu).to_have_text("With 2 selected ▾")
    assert _py(lab, page, "panel.selected") == picked
    menu.click()
    page.locator(".aisw-do-similar").click()
    expect(page.locator(".aisw-chip")).to_have_count(2)
    expect(page.locator(".aisw-card")).to_have_count(39)
    expect(page.locator(".aisw-result-header")).to_have_text("Similar to 2 images · 39")
    state = _py(lab, page, "[panel.result.query['type'], panel.result.ids]")
    assert state[0] == "similar" and not set(picked) & set(state[1])

    # Nothing selected in this tab: the menu acts on all shown. Save them.
    expect(menu).to_have_text("All 39 shown ▾")
    menu.click()
    page.locator(".aisw-do-save").click()
    page.locator(".aisw-form-input").fill("look-alikes")
    page.locator(".aisw-form-ok").click()
    expect(page.locator(".aisw-actions .aisw-message")).to_have_text(
        "Saved 39 images as 'look-alikes'."
    )
    expect(page.locator(".aisw-form")).to_be_hidden()
    assert _py(lab, page, "list(proj.collections)") == ["look-alikes"]

    # A refused request comes back as an error reply, shown where it was asked; the
    # form stays open, and opens empty the next time.
    menu.click()
    page.locator(".aisw-do-save").click()
    expect(page.locator(".aisw-form-input")).to_have_value("")
    page.locator(".aisw-form-input").fill("look-alikes")
    page.locator(".aisw-form-input").press("Enter")
    refused = page.locator(".aisw-actions .aisw-message.aisw-error")
    expect(refused).to_contain_text("overwrite")
    assert refused.get_attribute("role") == "alert"
    page.locator(".aisw-form-cancel").click()

    # A click on a thumbnail asks for a preview; its reply carries the image.
    page.locator(".aisw-card .aisw-frame").first.click()
    overlay = page.locator(".aisw-lightbox")
    expect(overlay).to_be_visible()
    assert page.locator(".aisw-preview").get_attribute("src").startswith("blob:")
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()

    lab.command(page, "notebook:hide-all-cell-code")
    page.set_viewport_size({"width": 1280, "height": 1800})  # the whole panel, no sticky bars
    page.wait_for_timeout(300)
    lab.screenshot(page, "panel", selector=".jp-OutputArea-output")
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")
