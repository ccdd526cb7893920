"""Relevance feedback in a real JupyterLab: 👍 two cards by mouse, 👎 one by the "-"
key on the focused card, Refine; the header says the result is refined and the
gallery changed. Photographed at 1,000 and 1,920 px (``refine-*.png``).

Data: the demo shapes with the bundled demo model."""

from __future__ import annotations

import pytest

from _labharness import Lab


@pytest.fixture(scope="module")
def images(lab: Lab) -> str:
    return lab.demo_images("refine-images", n=80)


def test_mark_by_mouse_and_key_then_refine(lab: Lab, images: str) -> None:
    from playwright.sync_api import expect

    page = lab.open_panel("refine", images)
    header = lab.search(page, "a red circle", "Prompt 'a red circle' · 80")
    refine = page.locator(".aisw-refine")
    expect(refine).to_be_disabled()
    expect(refine).to_have_text("Refine (0👍 0👎)")
    cards = page.locator(".aisw-card")
    before = [cards.nth(i).get_attribute("data-id") for i in range(12)]
    for i in (3, 5):
        cards.nth(i).hover()
        cards.nth(i).locator(".aisw-mark-up").click()
    expect(refine).to_have_text("Refine (2👍 0👎)")
    expect(refine).to_be_enabled()
    cards.nth(0).locator(".aisw-check").click()  # focus the first card, then "-"
    cards.nth(0).locator(".aisw-check").click()
    page.keyboard.press("-")
    expect(refine).to_have_text("Refine (2👍 1👎)")
    expect(cards.nth(0).locator(".aisw-mark-down")).to_have_attribute("aria-pressed", "true")
    marks = lab.py(page, "panel.marks")
    assert marks == {"positives": [before[3], before[5]], "negatives": [before[0]]}
    refine.click()
    expect(header).to_contain_text("Refined (2👍 1👎)")
    after = [cards.nth(i).get_attribute("data-id") for i in range(12)]
    assert after != before
    expect(refine).to_have_text("Refine (2👍 1👎)")  # kept for the next round
    for width, height in ((1000, 900), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        cards.nth(0).hover()
        lab.screenshot(page, f"refine-{width}")
