"""Paging in a real browser: a new result's first page is painted from the thumbnails
sent with it, Next draws the page asked ahead (no thumbnail request at all), Prev
falls back to asking; a prompt sent while the panel still loads the model says so
(photographed at 1,000 and 1,920 px: ``test-artifacts/loading-model-*.png``).

Data: the demo shapes with the bundled demo model."""

from __future__ import annotations

import pytest

from _labharness import Lab

COUNT = "() => document.querySelector('.aisw-count').textContent"
PAINTED = "() => document.querySelector('.aisw-gallery').dataset.painted || null"
ALL_LOADED = """() => { const imgs = [...document.querySelectorAll('.aisw-card img')];
  return imgs.length > 0 && imgs.every((i) => i.getAttribute('src') && i.complete && i.naturalWidth > 0); }"""


@pytest.fixture(scope="module")
def images(lab: Lab) -> str:
    return lab.demo_images("paging-images")


def _wait_py(lab: Lab, page, expr: str, timeout: float = 20.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = lab.py(page, expr)
        if got or time.monotonic() > deadline:
            return got
        page.wait_for_timeout(200)


def test_next_draws_the_page_asked_ahead_and_asks_for_no_thumbnail(lab: Lab, images: str) -> None:
    page = lab.open_panel("paging", images)
    lab.run_cell_code(
        page,
        "from aisearch_widgets.widgets._protocol import Request\n"
        "asked, ahead = [], []\n"
        "_thumbs, _ahead = panel._handlers[Request.THUMBS], panel._handlers[Request.PAGE_AHEAD]\n"
        "panel._handlers[Request.THUMBS] = lambda ids: (asked.append(len(ids)), _thumbs(ids))[1]\n"
        "panel._handlers[Request.PAGE_AHEAD] = lambda page, view: "
        "(ahead.append(page), _ahead(page, view))[1]\n",
    )
    page.locator(".aisw-limit").first.fill("200")
    prompt = page.locator(".aisw-prompt")
    prompt.fill("a red circle")
    prompt.press("Enter")
    page.wait_for_function(f"() => ({COUNT})() === '1–60 of 200'")
    page.wait_for_function(ALL_LOADED)
    assert _wait_py(lab, page, "ahead") == [1]  # page 2 asked once page 1 was painted
    page.wait_for_timeout(500)  # its reply reaches the browser
    before = page.evaluate(PAINTED)
    page.locator(".aisw-gallery button", has_text="Next").click()
    page.wait_for_function(f"() => ({COUNT})() === '61–120 of 200'")
    page.wait_for_function(f"(b) => ({PAINTED})() !== b", arg=before)
    page.wait_for_function(ALL_LOADED)
    shown = page.evaluate(
        "() => [...document.querySelectorAll('.aisw-card')].map((c) => c.dataset.id)"
    )
    assert len(shown) == 60
    # Python shows the same page (its items name the cards drawn), and no thumbnail
    # was asked for: page 1 came with the result, page 2 with the page asked ahead.
    assert (
        _wait_py(lab, page, "panel.gallery.page == 1 and [i['id'] for i in panel.gallery.items]")
        == shown
    )
    assert lab.py(page, "asked") == []
    assert _wait_py(lab, page, "ahead == [1, 2] and ahead") == [1, 2]  # then page 3
    # Prev: a page not held in the browser is asked for, as before.
    page.locator(".aisw-gallery button", has_text="Prev").click()
    page.wait_for_function(f"() => ({COUNT})() === '1–60 of 200'")
    page.wait_for_function(ALL_LOADED)
    # (The count changes before the cards: the request may still be on its way.)
    assert _wait_py(lab, page, "asked") == [60]
    lab.assert_no_errors(page)


def test_a_prompt_before_the_model_is_loaded_says_so(lab: Lab, images: str) -> None:
    from playwright.sync_api import expect

    code = (
        "import time\nimport aisearch_widgets as aw\n"
        f"proj = aw.Project('loading', sources={images!r}, model='demo')\nproj.update()\n"
        # The model's code still importing: the warm-up and the search wait 20 s for it.
        "_real, _until = proj._vectors.embedder, time.monotonic() + 20\n"
        "proj._vectors.embedder = lambda: "
        "(time.sleep(max(0.0, _until - time.monotonic())), _real())[1]\n"
        "panel = aw.SearchPanel(proj, page_size=60)\npanel\n"
    )
    page = lab.open_notebook("loading.ipynb", [code], timeout=180)
    lab.command(page, "notebook:hide-all-cell-code")
    prompt = page.locator(".aisw-prompt")
    expect(prompt).to_be_enabled()
    prompt.fill("a red circle")
    prompt.press("Enter")
    busy = page.locator(".aisw-busy-text")
    expect(busy).to_contain_text("Loading the model", timeout=2000)
    lab.screenshots(page, "loading-model", top=".aisw-panel", settle_ms=300)
    expect(busy).to_contain_text("Loading the model")  # still: both taken while it waits
    page.wait_for_function(f"() => ({COUNT})().endsWith('of 100')", timeout=60_000)
    page.wait_for_function(ALL_LOADED)
    expect(page.locator(".aisw-busy-box")).to_be_hidden()
    lab.assert_no_errors(page)
