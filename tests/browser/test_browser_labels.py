"""Labels and "Export as ▾" in a real JupyterLab: label chips on the cards (a hostile
label stays text), the label filter, the boxes drawn over the preview where they lie
on the original image (scaled to the size drawn, at two window sizes), and an export
to COCO that refuses to replace a file and says so as text. Photographed at 1,000
and 1,920 px (``test-artifacts/labels-*.png``, ``preview-boxes-*.png``,
``export-*.png``).

Data: the demo shapes with the bundled demo model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _labharness import Lab

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def images(lab: Lab) -> str:
    return lab.demo_images("labels-images", n=80)


def _box_on_screen(page) -> dict:
    """The first box's rectangle and the image's drawn rectangle (object-fit: contain)
    as the page lays them out."""
    return page.evaluate(
        """() => {
        const img = document.querySelector('.aisw-lightbox .aisw-preview');
        const r = img.getBoundingClientRect();
        const rect = document.querySelector('.aisw-lb-boxes rect').getBoundingClientRect();
        return { img: [r.left, r.top, r.width, r.height],
                 box: [rect.left, rect.top, rect.width, rect.height] };
        }"""
    )


def test_label_chips_filter_boxes_and_export(lab: Lab, images: str) -> None:
    from playwright.sync_api import expect

    page = lab.open_panel("labels", images)
    out = lab.root / "label-exports"
    out.mkdir(exist_ok=True)
    (out / "taken.json").write_text("{}")
    lab.run_cell_code(
        page,
        "import pandas as pd\n"
        "from PIL import Image\n"
        "hits = proj.search('a red circle', limit=40)\n"
        "ids = hits.ids\n"
        "W, H = Image.open(hits.df['path'][0]).size\n"
        "rows = [dict(id=i, label='car', x=W * 0.25, y=H * 0.5, w=W * 0.5, h=H * 0.25)"
        " for i in ids[:5]]\n"
        f"rows += [dict(id=i, label={EVIL!r}) for i in ids[5:7]]\n"
        "proj.import_labels(pd.DataFrame(rows), set='ground_truth')",
    )
    size = lab.py(page, "[W, H]")
    header = lab.search(page, "a red circle", "Prompt 'a red circle' · 80")
    cards = page.locator(".aisw-card")
    ids = lab.py(page, "ids")
    first = page.locator(f".aisw-card[data-id='{ids[0]}']")
    expect(first.locator(".aisw-label-chip")).to_have_text(["car"])
    evil = page.locator(f".aisw-card[data-id='{ids[5]}'] .aisw-label-chip")
    expect(evil).to_have_text([EVIL])
    assert page.locator(".aisw-card-labels img").count() == 0

    # The label filter: only the cars; the header says it.
    filt = page.locator(".aisw-label-filter")
    expect(filt.locator("option")).to_have_text(["All images", "car (5)", f"{EVIL} (2)"])
    filt.select_option("car")
    expect(header).to_have_text("Prompt 'a red circle' · 5 of 80 · labelled 'car'")
    expect(cards).to_have_count(5)
    lab.screenshots(page, "labels", top=".aisw-result-header")

    # The preview draws the box where it lies on the original, at the size drawn.
    first.locator(".aisw-frame").click()
    lb = page.locator(".aisw-lightbox")
    expect(lb.locator(".aisw-lb-labels .aisw-label-chip")).to_have_text(["car"])
    expect(lb.locator(".aisw-lb-boxes rect")).to_have_count(1)
    expect(lb.locator(".aisw-lb-boxes text")).to_have_text("car")
    for width, height in ((1000, 900), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        got = _box_on_screen(page)
        left, top, w, h = got["img"]
        scale = min(w / size[0], h / size[1])
        x0 = left + (w - size[0] * scale) / 2
        y0 = top + (h - size[1] * scale) / 2
        want = [x0 + 0.25 * size[0] * scale, y0 + 0.5 * size[1] * scale]
        want += [0.5 * size[0] * scale, 0.25 * size[1] * scale]
        assert all(abs(a - b) < 1.5 for a, b in zip(got["box"], want, strict=True)), (got, want)
        lab.screenshot(page, f"preview-boxes-{width}")
    page.keyboard.press("Escape")
    expect(lb).to_have_count(0)

    # Export as ▾ COCO: a labelled path field; an existing file is refused, as text.
    page.set_viewport_size({"width": 1000, "height": 900})
    page.locator(".aisw-export-btn").click()
    page.locator(".aisw-export-item[data-format='coco']").click()
    path = page.locator(".aisw-export-path")
    label = page.locator(f"label[for='{path.get_attribute('id')}']")
    expect(label).to_have_text("Export 5 images as COCO to")
    path.fill(str(out / "taken.json"))
    page.locator(".aisw-export-ok").click()
    message = page.locator(".aisw-actions .aisw-message")
    expect(message).to_contain_text("must not replace a file")
    assert (out / "taken.json").read_text() == "{}"
    page.evaluate(
        "() => document.querySelector('.aisw-result-header').scrollIntoView({block: 'start'})"
    )
    lab.screenshot(page, "export-1000")
    path.fill(str(out / "cars.json"))
    page.locator(".aisw-export-ok").click()
    expect(message).to_contain_text("Exported 5 images as COCO to")
    coco = json.loads(Path(out / "cars.json").read_text())
    assert len(coco["images"]) == 5 and len(coco["annotations"]) == 5
    assert [round(v) for v in coco["annotations"][0]["bbox"]] == [
        round(size[0] * 0.25),
        round(size[1] * 0.5),
        round(size[0] * 0.5),
        round(size[1] * 0.25),
    ]
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")
