""" "Search in:" and the filter chips in a real JupyterLab: a saved collection and a tag
chip scope the prompt search (the same images as ``within=``/``where=`` from Python),
the header names the scope, a chip's × widens it again, a hostile tag stays text and a
literal, and the Outliers tab finds quality issues inside the scope. Photographed at
1,000 and 1,920 px (``test-artifacts/scope-*.png``).

Data: the demo shapes with the bundled demo model."""

from __future__ import annotations

import re

import pytest

from _labharness import Lab

EVIL = "<img src=x onerror=alert(1)>') or __import__('os') or ('"


@pytest.fixture(scope="module")
def images(lab: Lab) -> str:
    return lab.demo_images("scope-images", n=120)


def test_search_in_a_collection_with_filter_chips(lab: Lab, images: str) -> None:
    from playwright.sync_api import expect

    page = lab.open_panel("scope", images)
    lab.run_cell_code(
        page,
        "reds = proj.search('a red circle', limit=30); reds.save('reds')\n"
        "reds.select(reds.ids[:7]).tag('checked')\n"
        f"reds.select(reds.ids[7:9]).tag({EVIL!r})",
    )
    header = page.locator(".aisw-result-header")
    within = page.locator(".aisw-scope-within")
    # The collection saved from Python is offered (the panel notices it).
    expect(within.locator("option", has_text="Collection ‘reds’")).to_have_count(1, timeout=10_000)
    within.select_option(label="Collection ‘reds’")
    expect(page.locator(".aisw-scope-count")).to_have_text("30 images in scope")

    # A tag chip, chosen from the editor (every field labelled).
    page.locator(".aisw-scope-add").select_option("tag")
    tag = page.locator(".aisw-scope-tag")
    expect(tag).to_be_visible()
    assert page.locator(f"label[for='{tag.get_attribute('id')}']").inner_text() == "Tag"
    tag.fill("checked")
    page.locator(".aisw-scope-apply").click()
    chip = page.locator(".aisw-scope-chip")
    expect(chip).to_have_count(1)
    expect(chip.locator(".aisw-chip-name")).to_have_text("tagged 'checked'")
    expect(page.locator(".aisw-scope-count")).to_have_text("7 images in scope")

    prompt = page.locator(".aisw-prompt")
    prompt.fill("a blue square")
    prompt.press("Enter")
    expect(header).to_have_text(
        "Prompt 'a blue square' · 7 · in 'reds' · tagged 'checked' (7 images)"
    )
    cards = page.locator(".aisw-card")
    expect(cards).to_have_count(7)
    shown = cards.evaluate_all("els => els.map(e => e.dataset.id)")
    want = lab.py(
        page,
        "proj.search('a blue square', limit=100, within='reds', where=\"'checked' in tags\").ids",
    )
    assert shown == want

    for width, height in ((1000, 900), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        page.evaluate("() => document.querySelector('.aisw-tabs').scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        lab.screenshot(page, f"scope-{width}")
        # Nothing of the scope bar is clipped: every control inside the panel.
        clipped = page.evaluate(
            """() => { const p = document.querySelector('.aisw-controls').getBoundingClientRect();
            return [...document.querySelectorAll('.aisw-scope select, .aisw-scope .aisw-chip')]
              .filter((e) => { const r = e.getBoundingClientRect();
                               return r.width > 0 && (r.right > p.right + 1 || r.left < p.left - 1); })
              .map((e) => e.className); }"""
        )
        assert clipped == [], clipped

    # The hostile tag: a chip of text, a filter of literals (no script ran, no code).
    page.locator(".aisw-scope-add").select_option("tag")
    page.locator(".aisw-scope-tag").fill(EVIL)
    page.locator(".aisw-scope-apply").click()
    expect(chip).to_have_count(2)
    expect(chip.nth(1).locator(".aisw-chip-name")).to_have_text(f"tagged {EVIL!r}")
    assert page.locator(".aisw-scope img").count() == 0
    expect(page.locator(".aisw-scope-count")).to_have_text("0 images in scope")  # both tags: none

    # × widens the scope again; the whole project once the collection goes too.
    chip.nth(1).locator(".aisw-chip-x").click()
    chip.nth(0).locator(".aisw-chip-x").click()
    expect(chip).to_have_count(0)
    expect(page.locator(".aisw-scope-count")).to_have_text("30 images in scope")
    within.select_option("project")
    expect(page.locator(".aisw-scope-count")).to_have_text("")
    assert lab.py(page, "panel.scope") == "in the whole project"

    # Outliers offers the quality issues, searched in the scope.
    within.select_option(label="Collection ‘reds’")
    expect(page.locator(".aisw-scope-count")).to_have_text("30 images in scope")
    page.locator(".aisw-tab", has_text="Outliers").click()
    page.locator(".aisw-outliers-kind").select_option("any")
    find = page.locator(".aisw-find-outliers")
    expect(find).to_have_text("Find quality issues")
    find.click()
    expect(header).to_have_text(re.compile(r"^Quality issues · \d+ · in 'reds' \(30 images\)$"))
    got = lab.py(page, "sorted(panel.result.ids)")
    reds = set(lab.py(page, "reds.ids"))
    assert set(got) <= reds
    want = lab.py(page, "sorted(i for i in proj.quality_issues().ids if i in set(reds.ids))")
    assert got == want
    # Each card says its worst issue.
    issues = lab.py(page, "list(panel.collection.df['issue'][:3])")
    expect(page.locator(".aisw-card .aisw-issue").first).to_have_text(issues[0].replace("_", " "))
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")
