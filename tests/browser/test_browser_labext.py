"""The JupyterLab plugin in a real JupyterLab: right-click a folder → "AI Search…" → the
enable prompt (a model dropdown and an estimate) → the notebook opens and enables;
progress, then search; the status bar follows, and its project list is a panel that
leaves the notebook usable; Disable from the menu stops updates and keeps the
embeddings; the launcher card's home lists the projects, picks folders and opens
them; a folder with a hostile name runs no script anywhere."""

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
DOCS = Path(__file__).resolve().parents[2] / "docs"
DEMO = "launcher-demo"
DEMO_NB = f"AI Search - {DEMO}.ipynb"
NEST = "launcher-nest"

# A kernel started while the gate file exists holds its first pass until the file is
# gone, so that "indexing" is there to be seen (IPython runs it at kernel start).
GATE_STARTUP = """
import pathlib as _pl
_gate = _pl.Path({gate!r})
if _gate.exists():
    import time as _t
    import aisearch_widgets.indexer as _ix
    _sync = _ix.Indexer.sync
    def _held(self, **kw):
        _end = _t.monotonic() + 60
        while _gate.exists() and _t.monotonic() < _end:
            _t.sleep(0.05)
        return _sync(self, **kw)
    _ix.Indexer.sync = _held
"""


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
    # The enable prompt asks first: the setting's model first in a dropdown, and what
    # the work will take (counted by the server).
    gate = lab.root / ".aisearch-gate"
    startup = lab.root.parent / "ipython" / "profile_default" / "startup" / "50-gate.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(GATE_STARTUP.format(gate=str(gate)))
    gate.touch()
    _menu(page, FOLDER, "AI Search…")
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".aisw-lab-question")).to_have_text(QUESTION, timeout=T)
    expect(dialog.locator(".aisw-lab-where code")).to_have_text(FOLDER)
    select = dialog.locator("select.aisw-lab-model")
    expect(select).to_have_value(plugin_data["model"])
    values = select.locator("option").evaluate_all("(os) => os.map(o => o.value)")
    assert values[0] == plugin_data["model"] and "demo" in values
    estimate = dialog.locator(".aisw-lab-estimate")
    expect(estimate).to_contain_text("6 images found", timeout=T)
    expect(estimate).to_contain_text("Disk: about")
    assert not (lab.root.parent / "aisearch-home" / FOLDER).exists()  # nothing made yet
    dialog.locator("button", has_text="Enable AI search").click()

    # The notebook opens next to the folder and runs its cell, which enables.
    try:
        lab._settle(page, NB, None, 120)
        cell = json.loads((lab.root / NB).read_text())["cells"][0]["source"]
        cell = "".join(cell) if isinstance(cell, list) else cell
        assert cell.startswith("%load_ext aisearch_widgets\n%aisearch 'lab-images' --model ")
        assert cell.endswith(" --enable")
        expect(page.locator(".aisw-controls .aisw-status")).to_contain_text("indexing", timeout=T)
        expect(page.locator(".aisw-controls .aisw-notice")).to_contain_text(
            "unavailable", timeout=T
        )
        expect(status_bar).to_contain_text("AI Search: indexing", timeout=T)
        # Held mid-sync: the status bar and the panel read the same counts (and the
        # same time left, here none: nothing embedded yet to measure a rate by).
        bar = status_bar.text_content() or ""
        header = page.locator(".aisw-controls .aisw-status").text_content() or ""
        counts = re.search(r"indexing ([\d,]+) / ([\d,]+)", bar)
        shown = re.search(r"([\d,]+)/([\d,]+) embedded", header)
        assert counts and shown and counts.groups() == shown.groups(), (bar, header)
        assert "left" not in bar and "left" not in header, (bar, header)
    finally:
        gate.unlink(missing_ok=True)  # the first pass goes on
        startup.unlink(missing_ok=True)
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

    # The status list: the project, its folder, state and counts, in a panel that
    # leaves the notebook usable (no modal backdrop).
    status_bar.click()
    listing = page.locator(".aisw-lab-status-list")
    expect(listing.locator("tr[data-project='lab-images'] td").nth(2)).to_have_text(
        "ready", timeout=T
    )
    expect(listing.locator("tr[data-project='lab-images'] td").nth(3)).to_have_text(
        "6 / 6", timeout=T
    )
    assert page.locator(".jp-Dialog").count() == 0
    search.click()  # the real mouse reaches the notebook under the open list
    search.fill("a blue square")
    search.press("Enter")
    expect(page.locator(".aisw-card")).to_have_count(6, timeout=20_000)
    expect(listing).to_be_visible()
    listing.locator(".aisw-lab-popup-close").click()
    expect(listing).to_be_hidden()

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
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".aisw-lab-question")).to_have_text(QUESTION, timeout=T)
    expect(dialog.locator(".aisw-lab-where code")).to_have_text(EVIL)  # as text
    expect(dialog.locator(".aisw-lab-estimate")).to_contain_text("2 images found", timeout=T)
    dialog.locator("select.aisw-lab-model").select_option("demo")
    dialog.locator("button", has_text="Enable AI search").click()
    lab._settle(page, EVIL_NB, None, 120)
    expect(page.locator(".lm-TabBar-tabLabel", has_text=EVIL_NB).first).to_be_visible(timeout=T)
    expect(page.locator(".aisw-controls .aisw-status")).to_contain_text("2/2 embedded", timeout=T)
    page.locator(".aisw-lab-status").click()
    expect(page.locator(".aisw-lab-status-list .aisw-lab-link", has_text=EVIL)).to_have_count(
        1, timeout=T
    )
    page.locator(".aisw-lab-status-list .aisw-lab-popup-close").click()
    assert page.locator('img[src="x"]').count() == 0
    assert dialogs == []
    lab.assert_no_errors(page)


@pytest.fixture(scope="module")
def demo_project(lab: Lab) -> str:
    """A ready project of the demo model on a folder under the server root, and a
    folder tree without one (NEST/inner)."""
    import aisearch_widgets as aw

    for name in (DEMO, NEST):
        shutil.rmtree(lab.root / name, ignore_errors=True)
    (lab.root / DEMO_NB).unlink(missing_ok=True)
    make_folder(lab.root / DEMO, 5, sub=False)
    make_folder(lab.root / NEST / "inner", 3, sub=False)
    home = lab.root.parent / "aisearch-home"
    with aw.Project(DEMO, sources=str(lab.root / DEMO), model="demo", home=home) as p:
        p.enable(schedule="off")
        p.wait(progress=False)
    return DEMO


def _shots(lab: Lab, page, name: str, selector: str) -> None:
    """Screenshots of ``selector`` at 1,000 and 1,920 px wide (kept in test-artifacts,
    copied to docs/ when AISEARCH_DOCS_SHOTS=1)."""
    import os

    for width in (1000, 1920):
        page.set_viewport_size({"width": width, "height": 900 if width == 1000 else 1080})
        page.wait_for_timeout(300)
        out = lab.screenshot(page, f"{name}-{width}", selector=selector)
        if os.environ.get("AISEARCH_DOCS_SHOTS") == "1":
            shutil.copy(out, DOCS / out.name)
    page.set_viewport_size({"width": 1440, "height": 900})


def test_launcher_home_lists_projects_picks_folders_and_opens(lab: Lab, demo_project: str) -> None:
    from playwright.sync_api import expect

    page = _open_lab(lab, DEMO_NB, {"defaultModel": "demo", "schedule": "off", "pollSeconds": 1})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    card = page.locator(".jp-LauncherCard", has_text=re.compile("^AI Search$"))
    if not card.count():  # a restored workspace without the launcher: open one
        page.evaluate("() => window.jupyterapp.commands.execute('launcher:create')")
    card.first.click()
    home = page.locator(".aisw-lab-home")
    row = home.locator(f"tr[data-project='{DEMO}']")
    expect(row.locator("td.aisw-lab-state")).to_have_text("ready", timeout=T)
    expect(row.locator("td").nth(3)).to_have_text("5 / 5")
    # The folder picker: folders under the root, the project's folder marked.
    demo_folder = home.locator(f".aisw-lab-folder[data-path='{DEMO}']")
    expect(demo_folder.locator(".aisw-lab-badge")).to_have_text("ready", timeout=T)
    _shots(lab, page, "launcher-home", ".aisw-lab-home-inner")
    home.locator(f".aisw-lab-folder[data-path='{NEST}'] .aisw-lab-folder-name").click()
    expect(home.locator(".aisw-lab-crumb[aria-current]")).to_have_text(NEST, timeout=T)
    inner = home.locator(f".aisw-lab-folder[data-path='{NEST}/inner']")
    expect(inner).to_be_visible()

    # A folder without a project asks first: the models, and the estimate.
    inner.locator(".aisw-lab-folder-open").click()
    dialog = page.locator(".jp-Dialog")
    select = dialog.locator("select.aisw-lab-model")
    expect(select).to_have_value("demo", timeout=T)  # the setting's default comes first
    values = select.locator("option").evaluate_all("(os) => os.map(o => o.value)")
    assert values[0] == "demo" and len(values) >= 3 and len(set(values)) == len(values)
    assert all("/" not in v for v in values)  # model ids, never paths
    expect(dialog.locator(".aisw-lab-estimate")).to_contain_text("3 images found", timeout=T)
    expect(dialog.locator(".aisw-lab-estimate")).to_contain_text("Time:")
    _shots(lab, page, "enable-prompt", ".jp-Dialog-content")
    dialog.locator("button", has_text="Cancel").click()
    expect(dialog).to_have_count(0)
    assert not (lab.root / NEST / "AI Search - inner.ipynb").exists()

    # Back to the root with the breadcrumb; the project's Open button opens its panel.
    home.locator(".aisw-lab-crumb", has_text="Server root").click()
    expect(demo_folder).to_be_visible(timeout=T)
    row.locator("button.aisw-lab-open").click()
    lab._settle(page, DEMO_NB, None, 120)
    expect(page.locator(".aisw-controls .aisw-status")).to_contain_text("5/5 embedded", timeout=T)
    search = page.locator(".aisw-prompt")
    expect(search).to_be_enabled(timeout=T)
    search.fill("a red disc")
    search.press("Enter")
    expect(page.locator(".aisw-card")).to_have_count(5, timeout=20_000)

    # Opened again (from the status bar's list): the cell runs again, quietly, and the
    # panel comes back as it was.
    page.locator(".aisw-lab-status").click()
    page.locator(f".aisw-lab-status-list tr[data-project='{DEMO}'] button.aisw-lab-open").click()
    expect(page.locator(".jp-CodeCell .jp-InputPrompt").first).to_have_text(
        re.compile(r"\[2\]:"), timeout=T
    )
    expect(page.locator(".aisw-prompt")).to_have_value("a red disc", timeout=T)
    expect(page.locator(".aisw-card")).to_have_count(5, timeout=T)
    assert "reload_ext" not in page.locator(".jp-OutputArea").first.inner_text()
    assert dialogs == []
    lab.assert_no_errors(page)
