"""The JupyterLab plugin in a real JupyterLab: right-click a folder → "AI Search…" → the
notebook opens and asks to enable; enabling shows progress, then search; the status
bar follows; Disable from the menu stops updates and keeps the embeddings; a folder
with a hostile name runs no script anywhere."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from _labharness import Lab

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _helpers import make_folder, write_tiny_model

FOLDER = "lab-images"
NB = f"AI Search - {FOLDER}.ipynb"
EVIL = "<img src=x onerror=alert(1)>"
EVIL_NB = f"AI Search - {EVIL}.ipynb"
QUESTION = "AI Search is not enabled for this folder: enable it?"
T = 60_000  # ms: the kernel imports open_clip and bqplot on the first click


@pytest.fixture(scope="module")
def plugin_data(lab: Lab) -> dict[str, str]:
    for name in (FOLDER, EVIL):
        shutil.rmtree(lab.root / name, ignore_errors=True)
    make_folder(lab.root / FOLDER, 6, sub=False)
    make_folder(lab.root / EVIL, 2, sub=False)
    model = write_tiny_model(lab.root / "labext-model")
    return {"model": str(model)}


def _open_lab(lab: Lab, nb: str, settings: dict[str, Any] | None = None):
    """A page on the file browser at the root; ``nb`` is the notebook the page will
    drive (the one the plugin opens)."""
    page, _ = lab.new_page(nb)
    page.set_default_timeout(60_000)
    url = f"{lab.base_url}/lab/workspaces/labext{int(time.time() * 1000)}?reset"
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    if settings is not None:
        page.evaluate(
            "async (raw) => { await window.jupyterapp.serviceManager.settings.save("
            "'aisearch-widgets:plugin', raw); }",
            json.dumps(settings),
        )
        page.reload(wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp !== undefined")
        page.evaluate("async () => { await window.jupyterapp.restored; }")
    return page


def _menu(page, folder: str, label: str) -> None:
    """Right-click ``folder`` in the file browser and pick ``label``."""
    item = page.locator(".jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(folder)}$"))
    )
    item.first.click(button="right")
    entry = page.locator(".lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$"))
    )
    entry.first.wait_for(state="visible")
    entry.first.click()


def _kernel_json(lab: Lab, page, expr: str) -> Any:
    out = lab.run_cell_code(page, f"import json as _j; print(_j.dumps({expr}))")
    return json.loads(out.strip().splitlines()[-1])


def test_right_click_enable_search_disable(lab: Lab, plugin_data: dict[str, str]) -> None:
    from playwright.sync_api import expect

    page = _open_lab(
        lab, NB, {"defaultModel": plugin_data["model"], "schedule": "off", "pollSeconds": 1}
    )
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    status_bar = page.locator(".aisw-lab-status")
    expect(status_bar).to_have_text("AI Search: 0 projects ready", timeout=T)

    # Right-click the folder: "AI Search…" is in the menu (screenshot for the README).
    item = page.locator(".jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{FOLDER}$"))
    )
    item.first.click(button="right")
    expect(page.locator(".lm-Menu-itemLabel", has_text="AI Search…")).to_be_visible(timeout=T)
    lab.screenshot(page, "plugin")
    page.keyboard.press("Escape")
    _menu(page, FOLDER, "AI Search…")

    # The notebook opens next to the folder and runs its first cell: the prompt asks.
    lab._settle(page, NB, None, 120)
    cell = json.loads((lab.root / NB).read_text())["cells"][0]["source"]
    cell = "".join(cell) if isinstance(cell, list) else cell
    assert cell.startswith("%load_ext aisearch_widgets\n%aisearch 'lab-images' --model ")
    prompt = page.locator(".aisw-enable-prompt")
    expect(prompt).to_contain_text(QUESTION, timeout=T)
    expect(prompt.locator(".aisw-enable-model input")).to_have_value(
        plugin_data["model"], timeout=T
    )
    # Nothing is created before the click (other tests of this server have projects).
    names = _kernel_json(lab, page, "__import__('aisearch_widgets').Project.names()")
    assert "lab-images" not in names

    # Hold the first pass at its start, so that "indexing" is there to be seen.
    lab.run_cell_code(
        page,
        "import threading, aisearch_widgets.indexer as _ix\n"
        "gate = threading.Event(); _sync = _ix.Indexer.sync\n"
        "_ix.Indexer.sync = lambda self, **kw: (gate.wait(60), _sync(self, **kw))[1]",
    )
    prompt.locator("button.aisw-enable").click()
    expect(page.locator(".aisw-controls .aisw-status")).to_contain_text("indexing", timeout=T)
    expect(page.locator(".aisw-controls .aisw-notice")).to_contain_text("unavailable", timeout=T)
    expect(status_bar).to_contain_text("AI Search: indexing", timeout=T)
    lab.run_cell_code(page, "gate.set()")
    expect(page.locator(".aisw-controls .aisw-status")).to_contain_text("6/6 embedded", timeout=T)
    expect(status_bar).to_have_text("AI Search: 1 project ready", timeout=T)

    # Search unlocked: a prompt search shows thumbnails.
    search = page.locator(".aisw-prompt")
    expect(search).to_be_enabled(timeout=T)
    search.fill("a red disc")
    search.press("Enter")
    expect(page.locator(".aisw-card")).to_have_count(6, timeout=20_000)
    expect(page.locator(".aisw-card img.aisw-thumb").first).to_have_attribute(
        "src", re.compile("^blob:"), timeout=T
    )
    lab.screenshot(page, "plugin-panel")

    # The status list: the project, its folder, state and counts; its link opens the notebook.
    status_bar.click()
    listing = page.locator(".aisw-lab-status-list")
    expect(listing.locator("tr[data-project='lab-images'] td").nth(2)).to_have_text(
        "ready", timeout=T
    )
    expect(listing.locator("tr[data-project='lab-images'] td").nth(3)).to_have_text(
        "6 / 6", timeout=T
    )
    page.locator(".jp-Dialog button", has_text="Close").click()

    # Disable from the context menu: the kernel that owns the project applies it.
    _menu(page, FOLDER, "Disable AI Search")
    expect(page.locator(".aisw-controls .aisw-status")).to_contain_text("disabled", timeout=T)
    state = _kernel_json(
        lab,
        page,
        "[(p.enabled, p.status.done, p.runner.interval, p.runner.next_due) "
        "for p in __import__('aisearch_widgets').Project.opened() if p.name == 'lab-images']",
    )
    assert state == [[False, 6, None, None]]  # no more updates, embeddings kept
    assert not list((lab.root.parent / "aisearch-home" / "lab-images" / "requests").glob("*.json"))
    expect(status_bar).to_have_text("AI Search: 0 projects ready", timeout=T)
    assert dialogs == []
    lab.assert_no_errors(page)


def test_hostile_folder_name_runs_no_script(lab: Lab, plugin_data: dict[str, str]) -> None:
    from playwright.sync_api import expect

    page = _open_lab(lab, EVIL_NB)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _menu(page, EVIL, "AI Search…")
    lab._settle(page, EVIL_NB, None, 120)
    prompt = page.locator(".aisw-enable-prompt")
    expect(prompt).to_contain_text(QUESTION, timeout=T)
    expect(prompt.locator(".aisw-enable-folder")).to_contain_text(EVIL, timeout=T)  # as text
    expect(page.locator(".lm-TabBar-tabLabel", has_text=EVIL_NB).first).to_be_visible(timeout=T)
    prompt.locator(".aisw-enable-model input").fill(plugin_data["model"])
    prompt.locator("button.aisw-enable").click()
    expect(page.locator(".aisw-controls .aisw-status")).to_contain_text("2/2 embedded", timeout=T)
    page.locator(".aisw-lab-status").click()
    expect(page.locator(".aisw-lab-status-list .aisw-lab-link", has_text=EVIL)).to_have_count(
        1, timeout=T
    )
    page.locator(".jp-Dialog button", has_text="Close").click()
    assert page.locator('img[src="x"]').count() == 0
    assert dialogs == []
    lab.assert_no_errors(page)
