"""Actions follow the selection, and the panel says what it shows, in a real
JupyterLab with a real mouse: select 5 of 60 → "With 5 selected ▾" → Save → the
collection holds those 5; select, then narrow the view with Suggested so some of the
selection is hidden → the menu's count and the action's result agree; each tab shows
its own result and header. Then the panel is photographed at 1,000 and 1,920 px
(``test-artifacts/panel-1000.png``, ``panel-1920.png``; the README's pictures).

Data: the demo shapes with the bundled demo model, so that "a red circle" has a
clear cut (the Suggested button) as on a user's machine."""

from __future__ import annotations

import re

import pytest

from _labharness import Lab

PROMPT = "a red circle"


@pytest.fixture(scope="module")
def demo_images(lab: Lab) -> str:
    return lab.demo_images("sel-images")


def _py(lab: Lab, page, expr: str):
    return lab.py(page, expr)


def _open_panel(lab: Lab, name: str, images: str, enable: bool = False):
    return lab.open_panel(name, images, enable=enable)


def _search(page, text: str, limit: int) -> None:
    from playwright.sync_api import expect

    page.locator(".aisw-tab", has_text="Prompt").click()
    page.locator(".aisw-prompt").fill(text)
    page.locator("[data-pane=prompt] .aisw-limit").fill(str(limit))
    page.locator(".aisw-prompt").press("Enter")
    expect(page.locator(".aisw-result-header")).to_have_text(f"Prompt {text!r} · {limit}")
    expect(page.locator(".aisw-card")).to_have_count(min(limit, 60))


def _card_ids(page) -> list[str]:
    return page.locator(".aisw-card").evaluate_all("els => els.map(e => e.dataset.id)")


def _choose(page, action: str, value: str | None = None) -> None:
    """Open the menu, choose an action, fill its field, confirm."""
    page.locator(".aisw-menu-btn").click()
    page.locator(f".aisw-do-{action}").click()
    if value is not None:
        page.locator(".aisw-form-input").fill(value)
    page.locator(".aisw-form-ok").click()


def test_actions_follow_the_selection_and_tabs_keep_their_results(
    lab: Lab, demo_images: str
) -> None:
    from playwright.sync_api import expect

    page = _open_panel(lab, "sel", demo_images)
    menu = page.locator(".aisw-menu-btn")
    header = page.locator(".aisw-result-header")
    message = page.locator(".aisw-actions .aisw-message")

    # Select 5 of 60 with the mouse → "With 5 selected ▾" → Save: those 5, not 60.
    _search(page, PROMPT, 60)
    expect(menu).to_have_text("All 60 shown ▾")
    cards = page.locator(".aisw-card")
    picked = [cards.nth(i).get_attribute("data-id") for i in (0, 3, 7, 12, 41)]
    for i in (0, 3, 7, 12, 41):
        cards.nth(i).locator(".aisw-check").click()
    expect(menu).to_have_text("With 5 selected ▾")
    _choose(page, "save", "five")
    expect(message).to_have_text("Saved 5 images as 'five'.")
    assert sorted(_py(lab, page, "proj.collections['five'].ids")) == sorted(picked)

    # Narrow the view with Suggested while 3 shown + 4 others are selected: the menu
    # counts the hidden ones, and the action acts on exactly what the menu says.
    page.locator(".aisw-gallery .aisw-btn", has_text="Clear selection").click()
    expect(menu).to_have_text("All 60 shown ▾")
    top = _py(lab, page, "len(panel.result.filter(above=panel.suggested_threshold))")
    assert 3 <= top < 50
    chosen = [0, 1, 2, 50, 52, 55, 59]
    ids = _card_ids(page)
    for i in chosen:
        cards.nth(i).locator(".aisw-check").click()
    expect(menu).to_have_text("With 7 selected ▾")
    page.locator(".aisw-suggested").click()
    expect(cards).to_have_count(top)
    expect(menu).to_have_text("With 7 selected (4 hidden) ▾")
    expect(header).to_have_text(
        re.compile(rf"^Prompt '{PROMPT}' · {top} of 60 · above 0\.\d{{3}}$")
    )
    _choose(page, "tag", "seen")
    expect(message).to_have_text("Tagged 7 images 'seen'.")
    assert sorted(_py(lab, page, "proj.tagged('seen').ids")) == sorted(ids[i] for i in chosen)
    # Or drop the hidden ones first: then the count is 3, and so is the result.
    menu.click()
    page.locator(".aisw-do-drop-hidden").click()
    expect(menu).to_have_text("With 3 selected ▾")
    # (from the keyboard: the menu opens on its first item, arrows move, Enter picks)
    menu.click()
    expect(page.locator(".aisw-do-save")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator(".aisw-do-tag")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".aisw-form-input")).to_be_focused()
    page.keyboard.type("top")
    page.keyboard.press("Enter")
    expect(message).to_have_text("Tagged 3 images 'top'.")
    assert sorted(_py(lab, page, "proj.tagged('top').ids")) == sorted(ids[:3])

    # Each tab shows its own last result (or none) and its header; messages go.
    page.locator(".aisw-tab", has_text="Diverse").click()
    expect(header).to_have_text("Diverse: no results yet")
    expect(cards).to_have_count(0)
    expect(message).to_be_hidden()
    page.locator("[data-pane=diverse] .aisw-n").fill("12")
    page.locator("[data-pane=diverse] .aisw-btn", has_text="Sample").click()
    expect(header).to_have_text("Diverse sample (nearest to centroid) · 12")
    expect(cards).to_have_count(12)
    page.locator(".aisw-tab", has_text="Prompt").click()
    expect(header).to_have_text(re.compile(rf"^Prompt '{PROMPT}' · {top} of 60 · above"))
    expect(cards).to_have_count(top)
    expect(page.locator(".aisw-prompt")).to_have_value(PROMPT)
    expect(menu).to_have_text("With 3 selected ▾")
    assert _card_ids(page) == ids[:top]
    page.locator(".aisw-tab", has_text="Similar").click()
    expect(header).to_have_text("Similar: no results yet")
    expect(cards).to_have_count(0)
    # A saved collection opened in the Similar tab names itself; no chips stay.
    page.locator(".aisw-saved").select_option("five")
    page.locator(".aisw-open").click()
    expect(header).to_have_text("Collection five · 5")
    expect(page.locator(".aisw-chip")).to_have_count(0)
    page.locator(".aisw-tab", has_text="Diverse").click()
    expect(header).to_have_text("Diverse sample (nearest to centroid) · 12")
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")


def test_delete_moves_to_the_trash_and_undo_restores(lab: Lab, demo_images: str) -> None:
    import aisearch_widgets as aw

    if not hasattr(aw.Project, "trash"):
        pytest.skip("this checkout has no project trash yet (Project.trash)")
    from playwright.sync_api import expect

    page = _open_panel(lab, "trash", demo_images)
    _search(page, PROMPT, 20)
    cards = page.locator(".aisw-card")
    ids = _card_ids(page)
    paths = _py(lab, page, "panel.result.df['path'].tolist()")
    for i in (1, 2):
        cards.nth(i).locator(".aisw-check").click()
    # The menu names what it acts on once the selection has reached it (choosing
    # before is refused by the panel's check: "the menu said 1 images").
    expect(page.locator(".aisw-menu-btn")).to_have_text("With 2 selected ▾")
    _choose(page, "delete")
    expect(page.locator(".aisw-actions .aisw-message")).to_have_text("Moved 2 to trash")
    expect(page.locator(".aisw-undo")).to_be_visible()
    expect(cards).to_have_count(18)
    assert _py(lab, page, f"[__import__('os').path.exists(p) for p in {paths[1:3]!r}]") == [
        False,
        False,
    ]
    page.locator(".aisw-undo").click()
    expect(page.locator(".aisw-actions .aisw-message")).to_have_text("Restored 2.")
    expect(cards).to_have_count(20)
    assert _card_ids(page) == ids
    assert _py(lab, page, f"[__import__('os').path.exists(p) for p in {paths[1:3]!r}]") == [
        True,
        True,
    ]
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")


def test_duplicate_groups_are_compared_and_confirmed(lab: Lab) -> None:
    """Keeping the best is only proposed: the user compares a group side by side,
    keeps another copy, and confirms one group at a time."""
    import shutil
    import sys
    from pathlib import Path

    from playwright.sync_api import expect

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _helpers import make_folder, touch_later, write_tiny_model

    folder = lab.root / "dup-images"
    shutil.rmtree(folder, ignore_errors=True)
    files = make_folder(folder, 3, sub=False)
    copies = [folder / "copy_a.jpg", folder / "copy_b.jpg", folder / "copy_c.png"]
    for src, dst in zip([files[0], files[0], files[1]], copies, strict=True):
        shutil.copyfile(src, dst)
        touch_later(dst, 60)  # the originals are the oldest: proposed as the best copies
    model = write_tiny_model(lab.root / "dup-model")
    cells = [
        f"""
import aisearch_widgets as aw
proj = aw.Project("dups", sources={str(folder)!r}, model={str(model)!r})
proj.update()
panel = aw.SearchPanel(proj)
panel
"""
    ]
    page = lab.open_notebook("dups.ipynb", cells, timeout=120)
    header = page.locator(".aisw-result-header")
    page.locator(".aisw-tab", has_text="Duplicates").click()
    page.locator(".aisw-find-duplicates").click()
    expect(header).to_have_text(re.compile(r"^Duplicates.* · 2 groups · 5 images"))
    expect(page.locator(".aisw-group-header")).to_have_count(2)
    expect(page.locator(".aisw-dup-summary")).to_contain_text("3 copies proposed for the trash")

    # Compare group 1 side by side, keep copy_b instead of the original, confirm.
    page.locator(".aisw-group-header").first.locator(".aisw-compare-btn").click()
    cols = page.locator(".aisw-compare-col")
    expect(cols).to_have_count(3)
    expect(cols.first).to_contain_text(files[0].name)
    expect(cols.first).to_contain_text(re.compile(r"(JPEG|PNG) · \d+×\d+ px · [\d.]+ (B|KB)"))
    expect(page.locator(".aisw-compare-diff")).to_have_count(2)
    cols.filter(has_text="copy_b.jpg").locator(".aisw-keep-this").click()
    expect(cols.first).to_contain_text("copy_b.jpg")
    # The gallery behind says the same: the badge moved to the chosen copy.
    kept = page.locator(".aisw-card.aisw-best")
    expect(kept.filter(has_text="copy_b.jpg")).to_have_count(1)
    expect(kept.filter(has_text=files[0].name)).to_have_count(0)
    expect(
        page.locator(".aisw-card", has_text="copy_b.jpg").locator(".aisw-best-badge")
    ).to_have_count(1)
    page.locator(".aisw-compare-trash").click()
    expect(page.locator(".aisw-compare")).to_be_hidden()
    expect(header).to_have_text(re.compile(r"^Duplicates.* · 1 group · 2 images"))
    assert not files[0].exists() and not copies[0].exists() and copies[1].exists()

    # The other group: confirmed in place, from its header.
    page.locator(".aisw-trash-group").click()
    page.locator(".aisw-trash-group-confirm").click()
    expect(header).to_have_text(re.compile(r"^Duplicates.* · 0 groups · 0 images"))
    assert files[1].exists() and not copies[2].exists() and files[2].exists()
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")


def test_panel_screenshots(lab: Lab, demo_images: str) -> None:
    """The panel as a user sees it, at 1,000 and 1,920 px wide: a prompt search with a
    few images selected and the menu open."""
    from playwright.sync_api import expect

    page = _open_panel(lab, "shots", demo_images, enable=True)
    _search(page, PROMPT, 200)
    cards = page.locator(".aisw-card")
    for i in (0, 2, 4):
        cards.nth(i).locator(".aisw-check").click()
    expect(page.locator(".aisw-menu-btn")).to_have_text("With 3 selected ▾")
    expect(page.locator(".aisw-gallery")).to_have_attribute("data-painted", re.compile(r"\d+"))
    # Tall enough for the whole panel above JupyterLab's status bar.
    for width, height in ((1000, 1700), (1920, 1500)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)
        page.locator(".aisw-menu-btn").click()
        expect(page.locator(".aisw-menu")).to_be_visible()
        page.locator(".aisw-controls").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        lab.screenshot(page, f"page-{width}")
        lab.screenshot(page, f"panel-{width}", selector=".jp-OutputArea-output")
        page.keyboard.press("Escape")
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")
