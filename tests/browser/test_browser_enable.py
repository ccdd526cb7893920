"""``%aisearch FOLDER`` in a notebook, before the folder is enabled: the prompt offers
the models known here in a dropdown (the one asked for first) and what enabling
would take, photographed at 1,000 and 1,920 px (``test-artifacts/enable-prompt-
notebook-*.png``). Nothing is created before the click."""

from __future__ import annotations

from _labharness import Lab


def test_the_notebook_enable_prompt_has_a_model_dropdown_and_an_estimate(lab: Lab) -> None:
    from playwright.sync_api import expect

    images = lab.demo_images("enable-images", n=9, seed=3)
    code = f"%load_ext aisearch_widgets\n%aisearch {images!r} --model demo --schedule off"
    page = lab.open_notebook("enable.ipynb", [code], timeout=120)
    lab.command(page, "notebook:hide-all-cell-code")
    prompt = page.locator(".aisw-enable-prompt")
    expect(prompt).to_be_visible()
    select = prompt.locator(".aisw-enable-model select")
    # (ipywidgets' options carry their labels, spaces as no-break spaces)
    labels = select.locator("option").evaluate_all(
        "(os) => os.map(o => o.textContent.replace(/\\u00a0/g, ' '))"
    )
    assert labels[0] == "demo (installed)" and len(labels) >= 3, labels
    assert len(set(labels)) == len(labels) and select.evaluate("s => s.selectedIndex") == 0
    estimate = prompt.locator(".aisw-enable-estimate")
    expect(estimate).to_contain_text("9 images found")
    expect(estimate).to_contain_text("Time:")
    expect(estimate).to_contain_text("Disk: about")
    # Another model: priced again (its vectors are larger: more disk).
    disk = estimate.locator(".widget-label").nth(2).text_content()
    select.select_option(index=len(labels) - 1)
    expect(estimate.locator(".widget-label").nth(2)).not_to_have_text(disk)
    select.select_option(index=0)
    expect(estimate.locator(".widget-label").nth(2)).to_have_text(disk)
    for width, height in ((1000, 900), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        lab.screenshot(page, f"enable-prompt-notebook-{width}", selector=".jp-Cell-outputArea")
    assert not (lab.root.parent / "aisearch-home" / "enable-images").exists()
    lab.assert_no_errors(page)
