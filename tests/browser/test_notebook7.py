"""The JupyterLab plugin in Notebook 7 (the same lab extensions, served by the same
server at /tree): right-click a folder → "AI Search…" asks to enable it (in the file
browser's tab), then opens the notebook in a new browser tab, and that tab runs its
cell, so the user sees the search panel instead of an empty notebook. The file
browser's tab runs nothing itself."""

from __future__ import annotations

import re
import shutil
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from _labharness import Lab

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _helpers import make_folder

FOLDER = "nb7-images"
NB = f"AI Search - {FOLDER}.ipynb"
QUESTION = "AI Search is not enabled for this folder: enable it?"
T = 60_000  # ms: the kernel imports the package and ipywidgets on the first run

# The kernels the server runs for ``path`` (a page cannot be trusted to report it).
# Notebook 7's own console errors, logged with and without this plugin (seen with the
# build before the autorun plugin too): a settings listener reading a plugin's schema,
# and the execution indicator of the panel that the file browser's page makes and
# disposes at once when it opens a notebook in a new tab.
# Errors Notebook 7's own pages log (its core bundle calls `filebrowser:open-path`,
# which the notebook page does not register); none comes from this project's plugin.
# Notebook 7's static handler also refuses one of the icon fonts its bundle asks for
# when a widget shows an icon (403 "not in root static directory", in the server log).
NOTEBOOK7_NOISE = (
    "reading 'schema'",
    "reading 'updateRenderOption'",
    "Command 'filebrowser:open-path' not registered",
    ".woff2)",
)

SESSIONS_JS = """async (path) => {
  const r = await fetch('/api/sessions');
  return (await r.json()).filter(s => s.path === path).map(s => s.kernel.id);
}"""
SHUTDOWN_JS = """async (ids) => {
  const m = document.cookie.match(/_xsrf=([^;]+)/);
  const headers = m ? { 'X-XSRFToken': decodeURIComponent(m[1]) } : {};
  for (const id of ids) await fetch('/api/kernels/' + id, { method: 'DELETE', headers });
}"""


@pytest.fixture(scope="module")
def notebook7(lab: Lab) -> str:
    pytest.importorskip("notebook", reason="Notebook 7 is not installed (pip install notebook)")
    try:
        with urllib.request.urlopen(f"{lab.base_url}/tree", timeout=10) as r:
            ok = r.status == 200
    except OSError:
        ok = False
    if not ok:
        pytest.skip("this server does not serve Notebook 7's /tree page")
    shutil.rmtree(lab.root / FOLDER, ignore_errors=True)
    (lab.root / NB).unlink(missing_ok=True)
    make_folder(lab.root / FOLDER, 3, sub=False)
    return f"{lab.base_url}/tree"


def test_ai_search_in_notebook7_runs_the_cell_in_the_new_tab(lab: Lab, notebook7: str) -> None:
    from playwright.sync_api import expect

    tree, _ = lab.new_page(NB)
    tree.set_default_timeout(T)
    tree.goto(notebook7, wait_until="domcontentloaded")
    item = tree.locator(".jp-DirListing-item").filter(
        has=tree.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{FOLDER}$"))
    )
    item.first.wait_for(state="visible")
    item.first.click(button="right")
    entry = tree.locator(".lm-Menu-item").filter(
        has=tree.locator(".lm-Menu-itemLabel", has_text=re.compile("^AI Search…$"))
    )
    entry.first.click()
    dialog = tree.locator(".jp-Dialog")
    expect(dialog.locator(".aisw-lab-question")).to_have_text(QUESTION, timeout=T)
    dialog.locator("select.aisw-lab-model").select_option("demo")
    with tree.context.expect_page(timeout=T) as opened:
        dialog.locator("button", has_text="Enable AI search").click()
    nb = opened.value
    errors: list[str] = []
    nb.on("pageerror", lambda e: errors.append(f"{e.name}: {e.message}"))
    nb.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} ({m.location.get('url', '')})") if m.type == "error" else None
        ),
    )
    noise = re.compile("|".join(re.escape(n) for n in NOTEBOOK7_NOISE))
    try:
        nb.set_default_timeout(T)
        nb.wait_for_load_state("domcontentloaded")
        assert nb.url.endswith("/notebooks/" + quote(NB)), nb.url
        lab.screenshot(nb, "notebook7-opened")

        # The cell ran in this tab, once: it enabled the folder, its output is the panel.
        expect(nb.locator(".aisw-controls .aisw-status")).to_contain_text("3/3 embedded", timeout=T)
        expect(nb.locator(".jp-CodeCell .jp-InputPrompt").first).to_have_text(re.compile(r"\[1\]:"))
        lab.screenshot(nb, "notebook7-panel")
        kernels = nb.evaluate(SESSIONS_JS, NB)
        assert len(kernels) == 1, kernels  # one kernel, the tab's
        # The request to run was used up: reloading the tab runs nothing again.
        nb.reload(wait_until="domcontentloaded")
        expect(nb.locator(".jp-CodeCell").first).to_be_visible()
        nb.wait_for_timeout(3000)
        assert nb.evaluate("() => localStorage.getItem('aisearch-widgets:run')") is None
        expect(nb.locator(".jp-CodeCell .jp-InputPrompt").first).not_to_have_text(
            re.compile(r"\[2\]:")
        )
        assert tree.locator(".aisw-controls").count() == 0
        lab.assert_no_errors(tree, ignore=[noise])
        assert not [e for e in errors if not noise.search(e)], errors
    finally:
        nb.evaluate(SHUTDOWN_JS, nb.evaluate(SESSIONS_JS, NB))
        nb.close()
