""" "With N selected ▾ → Send to labelling…" in a real JupyterLab, against a real Label
Studio server: the form starts with the classes of the label set shown, a wrong
address is refused as text in the result bar, then the project is made from exactly
the selected images and its address is shown as a link with the number of tasks. The
API key never comes back to the page. Photographed at 1,000 and 1,920 px
(``test-artifacts/sendlab-*.png``: the filled form; ``sendlab-error-*.png``: a wrong
address; ``sendlab-sent-*.png``: the project made).

Data: the demo shapes with the bundled demo model."""

from __future__ import annotations

import re

import pytest

from _labelstudio import Server, free_port, tasks
from _labharness import Lab


@pytest.fixture(scope="module")
def images(lab: Lab) -> str:
    return lab.demo_images("sendlab-images", n=80)


def test_send_the_selection_to_label_studio(lab: Lab, images: str, label_studio: Server) -> None:
    from playwright.sync_api import expect

    page = lab.open_panel("sendlab", images)
    lab.run_cell_code(
        page,
        "import os, pandas as pd\n"
        "os.environ.pop('LABEL_STUDIO_API_KEY', None)\n"
        "ids = proj.search('a red circle', limit=40).ids\n"
        "rows = [dict(id=i, label='circle') for i in ids[:4]] + [dict(id=ids[4], label='square')]\n"
        "proj.import_labels(pd.DataFrame(rows), set='ground_truth')",
    )
    lab.search(page, "a red circle", "Prompt 'a red circle' · 80")
    cards = page.locator(".aisw-card")
    chosen = []
    for i in (0, 2, 5):
        cards.nth(i).locator(".aisw-check").click()
        chosen.append(cards.nth(i).get_attribute("data-id"))
    menu = page.locator(".aisw-menu-btn")
    expect(menu).to_have_text("With 3 selected ▾")
    menu.click()
    page.locator(".aisw-do-sendlab").click()

    form = page.locator(".aisw-sendlab-form")
    expect(form).to_be_visible()
    expect(form.locator(".aisw-sl-heading")).to_have_text(
        "Send 3 images to Label Studio: one task per image"
    )
    field = {
        k: form.locator(f".aisw-sl-{k}") for k in ("url", "title", "labels", "kind", "key", "root")
    }
    for k, text in [("url", "Label Studio URL"), ("key", "API key"), ("labels", "Labels")]:
        label = page.locator(f"label[for='{field[k].get_attribute('id')}']")
        expect(label).to_contain_text(text)
    expect(field["labels"]).to_have_value("circle, square")
    expect(field["title"]).to_have_value("sendlab: a red circle")
    expect(field["key"]).to_have_attribute("type", "password")
    expect(field["key"]).to_have_value("")
    expect(field["root"]).to_be_hidden()  # upload: no document root to name
    send = form.locator(".aisw-sl-send")
    expect(send).to_have_text("Send 3 images")

    field["url"].fill(label_studio.url)
    field["labels"].fill("circle, square, triangle")
    field["kind"].select_option("boxes")
    field["key"].fill(label_studio.token)
    lab.screenshots(page, "sendlab", top=".aisw-result-header", settle_ms=400)

    # A wrong address: refused as text in the result bar; the form stays to fix it.
    field["url"].fill(f"http://127.0.0.1:{free_port()}")
    send.click()
    message = page.locator(".aisw-actions .aisw-message")
    expect(message).to_contain_text("Cannot reach Label Studio at http://127.0.0.1:")
    expect(message).to_have_attribute("role", "alert")
    expect(send).to_be_enabled()
    assert lab.py(page, "len(proj.jobs)") == 0

    lab.screenshots(page, "sendlab-error", top=".aisw-result-header", settle_ms=400)
    field["url"].fill(label_studio.url)
    send.click()
    status = form.locator(".aisw-sl-status")
    expect(status).to_contain_text(
        "Project “sendlab: a red circle”: 3 tasks. Label them at", timeout=120_000
    )
    expect(form.locator(".aisw-sl-heading")).to_have_text("Sent 3 images to Label Studio")
    link = form.locator("a.aisw-sl-link")
    url = link.text_content()
    assert re.fullmatch(rf"{re.escape(label_studio.url)}/projects/\d+/data", url or "")
    expect(link).to_have_attribute("href", url)
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(form.locator(".aisw-sl-fields")).to_be_hidden()
    expect(form.locator(".aisw-sl-cancel")).to_have_text("Close")
    expect(message).to_be_hidden()  # the old error went with the new request
    lab.screenshots(page, "sendlab-sent", top=".aisw-result-header", settle_ms=400)

    job = lab.py(page, "[(j.project_id, j.kind, j.labels, j.images) for j in proj.jobs]")
    assert job == [[int(url.split("/")[-2]), "boxes", ["circle", "square", "triangle"], 3]]
    made = tasks(label_studio, job[0][0])
    assert sorted(t["data"]["aisearch_id"] for t in made) == sorted(chosen)
    assert label_studio.token not in page.content()
    form.locator(".aisw-sl-cancel").click()
    expect(form).to_be_hidden()
    lab.assert_no_errors(page)
    lab.run_cell_code(page, "panel.close(); proj.close()")
