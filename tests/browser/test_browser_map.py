"""The Map view inside a real JupyterLab keeps to itself: opening it restyles nothing
outside it (the file browser's rows, the toolbar's icons), and the mouse wheel over a
map that has not been clicked scrolls the notebook instead of zooming the map; once
the map is clicked (or with Ctrl held) the wheel zooms it. Its frame's handle resizes
it. Hidden and shown again, it is the same plot, drawn again."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from _labharness import Lab

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _helpers import make_folder, write_tiny_model

# Computed sizes of JupyterLab's own chrome that a page-wide CSS reset changes.
_CHROME = """() => {
  const box = (sel) => [...document.querySelectorAll(sel)].slice(0, 6).map((e) => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return [Math.round(r.width * 10) / 10, Math.round(r.height * 10) / 10, s.lineHeight,
            s.display, s.boxSizing];
  });
  return {
    rows: box(".jp-DirListing-item"),
    rowIcons: box(".jp-DirListing-itemIcon svg"),
    toolbarIcons: box(".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent svg"),
    toolbarButtons: box(".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent"),
    tabs: box(".lm-DockPanel-tabBar .lm-TabBar-tab"),
  };
}"""

_API = "document.querySelector('.aisw-map canvas').parentElement.parentElement.api"

_SCROLLER = """() => {
  let e = document.querySelector('.aisw-map canvas');
  while (e && !(e.scrollHeight > e.clientHeight + 10 &&
                /auto|scroll/.test(getComputedStyle(e).overflowY))) e = e.parentElement;
  return e;
}"""


@pytest.fixture(scope="module")
def map_data(lab: Lab) -> dict[str, str]:
    images = lab.root / "map-images"
    shutil.rmtree(images, ignore_errors=True)
    make_folder(images, 60, sub=False)
    model = write_tiny_model(lab.root / "map-model")
    return {"images": str(images), "model": str(model)}


def _open(lab: Lab, map_data: dict[str, str], name: str):
    from playwright.sync_api import expect

    cells = [
        f"""
import aisearch_widgets as aw
proj = aw.Project("map-{name}", sources={map_data["images"]!r}, model={map_data["model"]!r})
proj.update()
panel = aw.SearchPanel(proj, page_size=24)
panel
""",
        # Enough below the panel for the notebook to scroll.
        "print('\\n'.join(f'line {i}' for i in range(150)))",
    ]
    page = lab.open_notebook(f"{name}.ipynb", cells, timeout=120)
    expect(page.locator(".aisw-prompt")).to_be_enabled()
    return page


def _show_map(page) -> None:
    from playwright.sync_api import expect

    page.locator(".widget-toggle-button", has_text="Map").click()
    expect(page.locator(".aisw-map canvas").first).to_be_visible(timeout=30_000)
    page.wait_for_function(f"() => {_API} && {_API}.get('points').length > 0")
    page.wait_for_timeout(500)


def test_opening_the_map_restyles_nothing_outside_it(lab: Lab, map_data: dict[str, str]) -> None:
    page = _open(lab, map_data, "mapstyle")
    # Tagged images: their clusters are labelled on the map (drawn without errors).
    lab.run_cell_code(page, "proj.search('a red disc', limit=20).tag('reddish')")
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    page.wait_for_selector(".jp-DirListing-item")
    page.wait_for_timeout(300)
    before = page.evaluate(_CHROME)
    assert before["rows"] and before["toolbarIcons"], before
    _show_map(page)
    after = page.evaluate(_CHROME)
    assert after == before
    labels = lab.run_cell_code(page, "print(sorted(set(panel.map_view._data['label'])))")
    assert "reddish" in labels
    # The map's own reset is still in force inside it (its controls keep their look).
    page.wait_for_selector(".aisw-scatter canvas", state="attached")
    sizing = page.evaluate(
        "() => getComputedStyle(document.querySelector('.aisw-scatter canvas')).boxSizing"
    )
    assert sizing == "border-box"
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")


def test_the_wheel_scrolls_past_the_map_until_it_is_clicked(
    lab: Lab, map_data: dict[str, str]
) -> None:
    page = _open(lab, map_data, "mapwheel")
    prompt = page.locator(".aisw-prompt")
    prompt.fill("a red disc")
    prompt.press("Enter")
    page.locator(".aisw-card").first.wait_for()
    _show_map(page)
    canvas = page.locator(".aisw-map canvas").first
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = canvas.bounding_box()
    assert box is not None
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    view = f"() => Array.from({_API}.get('cameraView'))"
    top = f"() => ({_SCROLLER})().scrollTop"
    assert page.evaluate(f"() => ({_SCROLLER})() !== null")

    # Not clicked: the notebook scrolls, the map does not zoom.
    cam0, top0 = page.evaluate(view), page.evaluate(top)
    page.mouse.move(*centre)
    page.mouse.wheel(0, 240)
    page.wait_for_timeout(600)
    assert page.evaluate(top) > top0 + 50
    assert page.evaluate(view) == cam0
    assert page.locator(".aisw-scatter[data-wheel-hint]").count() == 1  # says how to zoom

    # Clicked: the wheel zooms the map and leaves the page where it is.
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = canvas.bounding_box()
    assert box is not None
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(*centre)
    assert page.locator(".aisw-scatter[data-active]").count() == 1
    cam1, top1 = page.evaluate(view), page.evaluate(top)
    page.mouse.wheel(0, -240)
    page.wait_for_timeout(600)
    assert page.evaluate(view) != cam1
    assert abs(page.evaluate(top) - top1) < 2

    # Escape gives the wheel back to the page; Ctrl + wheel zooms all the same.
    page.keyboard.press("Escape")
    assert page.locator(".aisw-scatter[data-active]").count() == 0
    cam2 = page.evaluate(view)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -240)
    page.keyboard.up("Control")
    page.wait_for_timeout(600)
    assert page.evaluate(view) != cam2

    # The frame's handle (bottom right) resizes the map: dragged 150 px down, the plot
    # (Python's height, the canvas) follows.
    frame = page.locator(".aisw-mapframe").first
    frame.scroll_into_view_if_needed()
    fbox = frame.bounding_box()
    assert fbox is not None
    h0 = page.locator(".aisw-scatter").first.bounding_box()["height"]
    page.mouse.move(fbox["x"] + fbox["width"] - 3, fbox["y"] + fbox["height"] - 3)
    page.mouse.down()
    page.mouse.move(fbox["x"] + fbox["width"] - 3, fbox["y"] + fbox["height"] + 147, steps=15)
    page.mouse.up()
    height = None
    for _ in range(50):
        height = lab.run_cell_code(page, "print(panel.map_view.scatter.height())").strip()
        if int(height) > 320:
            break
        page.wait_for_timeout(200)
    assert int(height) >= 320 + 120, height
    page.wait_for_timeout(800)
    assert page.locator(".aisw-scatter").first.bounding_box()["height"] >= h0 + 120
    tallest = "() => Math.max(...[...document.querySelectorAll('.aisw-scatter canvas')]"
    tallest += ".map((c) => c.getBoundingClientRect().height))"
    assert page.evaluate(tallest) >= h0 + 120
    lab.run_cell_code(page, "panel.map_view.resize(320)")  # back, for the screenshots
    page.evaluate("() => { document.querySelector('.aisw-mapframe').style.height = ''; }")

    # The panel with its map (zoomed back out), for the docs: a laptop and a wide screen.
    page.evaluate(f"() => {_API}.reset()")
    lab.command(page, "notebook:hide-all-cell-code")
    lab.screenshots(page, "map-panel", top=".aisw-prompt", settle_ms=800)
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")


_BOXES = """() => {
  const r = (sel) => { const b = document.querySelector(sel).getBoundingClientRect();
                       return { l: b.left, r: b.right, t: b.top, b: b.bottom, w: b.width }; };
  return { panel: r('.aisw-panel'), map: r('.aisw-map-pane'), gallery: r('.aisw-gallery') };
}"""


def _hover_a_point(page, lab: Lab, shot: str) -> str:
    """Rest the cursor on a point of the map: the id its tooltip shows (the panel is
    photographed meanwhile)."""
    from playwright.sync_api import expect

    page.mouse.move(5, 5)
    expect(page.locator(".aisw-map-tip")).to_be_hidden()
    page.evaluate("() => document.querySelector('.aisw-prompt').scrollIntoView({block: 'start'})")
    canvas = page.locator(".aisw-map canvas").first
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    box = canvas.bounding_box()
    x, y = page.evaluate(f"() => Array.from({_API}.getScreenPosition(0))")
    page.mouse.move(box["x"] + x - 6, box["y"] + y - 6)
    page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    tip = page.locator(".aisw-map-tip")
    expect(tip).to_be_visible(timeout=10_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('.aisw-map-tip img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    shown = tip.get_attribute("data-id")
    lab.screenshot(page, shot)
    name = lab.py(page, f"panel.map_view._thumbnail({shown!r})[1]")
    expect(tip.locator(".aisw-map-tip-name")).to_have_text(name)
    assert name.startswith("map-images/") and "/tmp" not in name
    return shown


def test_hover_shows_a_thumbnail_and_a_wide_panel_puts_the_map_beside_the_gallery(
    lab: Lab, map_data: dict[str, str]
) -> None:
    from playwright.sync_api import expect

    page = _open(lab, map_data, "maphover")
    lab.command(page, "notebook:hide-all-cell-code")
    prompt = page.locator(".aisw-prompt")
    prompt.fill("a red disc")
    prompt.press("Enter")
    page.locator(".aisw-card").first.wait_for()
    page.set_viewport_size({"width": 1920, "height": 1080})
    _show_map(page)
    # Hidden and shown again: the same plot (its canvas kept in the page), not rebuilt.
    page.evaluate("() => { document.querySelector('.aisw-map canvas').dataset.kept = 'y'; }")
    toggle = page.locator(".widget-toggle-button", has_text="Map")
    toggle.click()
    expect(page.locator(".aisw-map canvas").first).to_be_hidden()
    toggle.click()
    expect(page.locator(".aisw-map canvas[data-kept]").first).to_be_visible(timeout=10_000)
    page.wait_for_function(f"() => {_API}.get('isPointsDrawn') && !{_API}.get('isDrawing')")
    ids = lab.py(page, "panel.map_view.ids")
    # Wide: the map on the left, the gallery on the right, side by side.
    page.wait_for_timeout(500)
    wide = page.evaluate(_BOXES)
    assert wide["panel"]["w"] >= 1600, wide
    assert wide["map"]["r"] <= wide["gallery"]["l"] + 1, wide
    assert wide["map"]["t"] < wide["gallery"]["b"] and wide["gallery"]["t"] < wide["map"]["b"]
    assert _hover_a_point(page, lab, "map-1920") in ids
    page.mouse.move(5, 5)  # off the map: the tooltip goes
    expect(page.locator(".aisw-map-tip")).to_be_hidden()
    # Narrow: stacked, the gallery below the map.
    page.set_viewport_size({"width": 1000, "height": 900})
    page.wait_for_timeout(800)
    narrow = page.evaluate(_BOXES)
    assert narrow["panel"]["w"] < 1600 and narrow["gallery"]["t"] >= narrow["map"]["b"] - 1
    assert _hover_a_point(page, lab, "map-1000") in ids
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")
