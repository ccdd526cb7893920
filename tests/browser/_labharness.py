"""Real-browser harness: a private JupyterLab server driven by Debian's Chromium via Playwright.

The fixtures in ``conftest.py`` build one :class:`Lab` per test session. Tests use it to write
and open notebooks, click widgets, read Python-side state back and take screenshots; see
``test_lab_smoke.py`` for a worked example.

Playwright is imported lazily (only for typing here) so that the rest of the suite still
collects on machines without it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright, ViewportSize
    from playwright.sync_api import Error as PlaywrightError

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("AISEARCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 1000}
DEFAULT_TIMEOUT = 60.0

# Written into the server root; notebook cells import it (the kernel's cwd is the root).
STATE_MODULE = '''"""Written by tests/browser: lets notebook cells hand state back to the test."""
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def dump(name="state.json", **values):
    """Merge ``values`` into the JSON file ``name`` (atomically) and return the new content."""
    path = ROOT / name
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(values)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, default=repr))
    os.replace(tmp, path)
    return data
'''

# User settings for the private server: no news/update toasts, and every cell stays in the
# DOM (JupyterLab 4 virtualises long notebooks by default, which hides off-screen widgets).
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# Injected into every page before JupyterLab's own scripts; the test talks to the app through it.
HARNESS_JS = r"""
(() => {
  if (window.__labHarness) return;
  const H = {
    errors: [],
    panel(path) {
      const app = window.jupyterapp;
      if (!app || !app.shell) return null;
      for (const w of app.shell.widgets('main')) {
        if (w.context && w.context.path === path && w.sessionContext && w.content) return w;
      }
      return null;
    },
    status(path) {
      const p = H.panel(path);
      if (!p) return { found: false, errors: H.errors };
      const sc = p.sessionContext;
      const kernel = sc.session ? sc.session.kernel : null;
      const cells = [];
      p.content.widgets.forEach((c, index) => {
        const m = c.model;
        if (m.type !== 'code') return;
        cells.push({
          index,
          empty: m.sharedModel.getSource().trim() === '',
          count: m.executionCount,
          outputs: m.outputs.toJSON(),
        });
      });
      return {
        found: true,
        ready: Boolean(p.context.isReady && sc.isReady),
        kernel: kernel ? kernel.status : null,
        connection: kernel ? kernel.connectionStatus : null,
        cells,
        errors: H.errors,
      };
    },
    kernelIdle(path) {
      const s = H.status(path);
      return s.found && s.ready && s.kernel === 'idle' && s.connection === 'connected';
    },
    // Truthy once the given code cells ran (or one failed) and the kernel is idle again.
    settled(path, indices) {
      const s = H.status(path);
      if (H.errors.length) return { error: H.errors.join('\n') };
      if (!s.found) return null;
      const cells = indices ? s.cells.filter(c => indices.includes(c.index)) : s.cells;
      for (const c of cells) {
        const err = c.outputs.find(o => o.output_type === 'error');
        if (err) return { failed: { index: c.index, ...err } };
      }
      if (s.kernel === 'dead') return { error: 'kernel died' };
      const done = cells.every(c => c.empty || c.count !== null);
      return done && s.kernel === 'idle' ? { ok: true } : null;
    },
    tidy() {
      const shell = window.jupyterapp.shell;
      if (shell.collapseLeft) shell.collapseLeft();
      if (shell.collapseRight) shell.collapseRight();
    },
    run(path, command) {
      const app = window.jupyterapp;
      const p = H.panel(path);
      app.shell.activateById(p.id);
      // Not awaited: the test polls settled() with a timeout instead.
      app.commands.execute(command).catch(e => H.errors.push(`${command}: ${e}`));
    },
    async command(path, command, args, timeoutMs) {
      const app = window.jupyterapp;
      const p = H.panel(path);
      if (p) app.shell.activateById(p.id);
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${command}: timed out`)), timeoutMs);
      });
      try {
        const result = await Promise.race([app.commands.execute(command, args), timeout]);
        return result === undefined ? null : JSON.parse(JSON.stringify(result));
      } finally {
        clearTimeout(timer);
      }
    },
    runAll(path) {
      H.run(path, 'notebook:run-all-cells');
    },
    appendAndRun(path, code) {
      const p = H.panel(path);
      const nb = p.content;
      const index = nb.model.cells.length;
      nb.model.sharedModel.insertCell(index, { cell_type: 'code', source: code });
      nb.deselectAll();
      nb.activeCellIndex = index;
      H.run(path, 'notebook:run-cell');
      return index;
    },
    async shutdown(path) {
      const p = H.panel(path);
      if (p && p.sessionContext.session) await p.sessionContext.shutdown();
    },
  };
  window.__labHarness = H;
})();
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookCellError(AssertionError):
    """A cell raised in the kernel; carries the (ANSI-stripped) traceback."""


def drag_lasso(
    page: Page, points: list[tuple[float, float]], before_release: Callable[[], Any] | None = None
) -> None:
    """Drag a lasso through ``points`` (page pixels) as jupyter-scatter's users do:
    press and hold still until the lasso starts (its long press, 750 ms), then drag in
    small steps, pausing at each corner so that the lasso's throttled sampling keeps
    it (jupyter-scatter maps no key to the lasso: shift + drag pans);
    ``before_release`` runs just before the button is let go."""
    page.mouse.move(*points[0])
    page.mouse.down()
    page.wait_for_timeout(1200)
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=25)
        page.wait_for_timeout(60)
    if before_release is not None:
        before_release()
    page.mouse.up()


# The widths the panel is looked at: a laptop and a wide screen.
SCREEN_SIZES = ((1000, 900), (1920, 1080))


class LabTimeout(AssertionError):
    """The notebook did not reach the expected state in time."""


@dataclass
class PageLog:
    """What a page reported: all console lines, console errors and uncaught page errors."""

    path: str
    console: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def errors(self, ignore: Sequence[str | re.Pattern[str]] = ()) -> list[str]:
        def ignored(line: str) -> bool:
            return any((p.search(line) if isinstance(p, re.Pattern) else p in line) for p in ignore)

        return [e for e in self.page_errors + self.console_errors if not ignored(e)]


@dataclass
class JupyterServer:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def server_env(workdir: Path, root: Path) -> dict[str, str]:
    """Environment isolating the server from the user's Jupyter config, settings and kernels."""
    data_dir = workdir / "jupyter-data"
    # Our own ``python3`` kernelspec pointing at this interpreter (the venv's). JUPYTER_PATH
    # comes first in the lookup, so a user-level python3 kernelspec cannot shadow it.
    _write_json(
        data_dir / "kernels" / "python3" / "kernel.json",
        {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "metadata": {"debugger": False},
        },
    )
    config_dir = workdir / "jupyter-config"
    # No "is a rebuild needed?" check: it scans every extension on each page load.
    _write_json(
        config_dir / "labconfig" / "page_config.json",
        {"buildCheck": False, "buildAvailable": False},
    )
    # This checkout's prebuilt lab extension and its server extension, as the wheel
    # installs them (share/jupyter/labextensions/…, jupyter_server_config.d/…).
    ext = data_dir / "labextensions" / "aisearch-widgets"
    ext.parent.mkdir(parents=True, exist_ok=True)
    if not ext.exists():
        ext.symlink_to(REPO_ROOT / "aisearch_widgets" / "labextension", target_is_directory=True)
    _write_json(
        config_dir / "jupyter_server_config.d" / "aisearch_widgets.json",
        {"ServerApp": {"jpserver_extensions": {"aisearch_widgets": True}}},
    )
    settings_dir = workdir / "lab-user-settings"
    for rel, value in LAB_SETTINGS.items():
        _write_json(settings_dir / rel, value)
    env = dict(os.environ)
    pythonpath = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        {
            "AISEARCH_HOME": str(workdir / "aisearch-home"),
            "JUPYTER_PATH": str(data_dir),
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_RUNTIME_DIR": str(workdir / "jupyter-runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "lab-workspaces"),
            "IPYTHONDIR": str(workdir / "ipython"),
            "PYTHONPATH": os.pathsep.join(pythonpath),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
    )
    return env


def start_server(workdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> JupyterServer:
    """Start ``jupyter lab`` on a free loopback port; return once ``/api/status`` answers."""
    root = workdir / "root"
    root.mkdir(parents=True, exist_ok=True)
    (root / "labstate.py").write_text(STATE_MODULE)
    env = server_env(workdir, root)
    last_error = ""
    for attempt in range(3):  # the free port can be taken between probing and binding
        port = free_port()
        log_path = workdir / f"jupyter-server-{attempt}.log"
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            "--IdentityProvider.token=",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        server = JupyterServer(proc, port, root, log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{server.base_url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        server.stop()
        last_error = log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"JupyterLab did not start; last log:\n{last_error}")


def new_notebook(cells: Sequence[str]) -> dict[str, Any]:
    """An nbformat 4.5 notebook of code cells for the ``python3`` kernel.

    Built by hand: importing nbformat costs ~3 s here (its JSON-schema machinery).
    """
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
        "cells": [
            {
                "cell_type": "code",
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": src,
            }
            for src in cells
        ],
    }


def _cell_text(outputs: Sequence[dict[str, Any]]) -> str:
    parts: list[str] = []
    for o in outputs:
        if o.get("output_type") == "stream":
            text = o.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
        elif o.get("output_type") in ("execute_result", "display_data"):
            plain = o.get("data", {}).get("text/plain")
            if plain is not None:
                parts.append(("".join(plain) if isinstance(plain, list) else plain) + "\n")
    return "".join(parts)


class Lab:
    """One JupyterLab server + one Chromium profile, shared by the browser tests of a session."""

    def __init__(
        self,
        server: JupyterServer,
        context: BrowserContext,
        artifacts: Path = ARTIFACTS,
        *,
        timings: dict[str, float] | None = None,
    ) -> None:
        self.server = server
        self.context = context
        self.artifacts = artifacts
        self._pages: list[tuple[Page, PageLog]] = []
        self._seq = 0
        #: seconds taken by server start, Chromium start and each open/run of a notebook
        self.timings: dict[str, float] = {} if timings is None else timings

    # -- files ------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The server root: notebooks, ``labstate.py`` and state files live here."""
        return self.server.root

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def path(self, name: str) -> Path:
        return self.root / name

    def read_json(
        self,
        name: str,
        predicate: Callable[[Any], bool] | None = None,
        timeout: float = 30.0,
    ) -> Any:
        """Poll ``root/name`` until it holds JSON (for which ``predicate`` holds) and return it."""
        path = self.path(name)
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            with suppress(FileNotFoundError, json.JSONDecodeError, KeyError, IndexError):
                last = json.loads(path.read_text())
                if predicate is None or predicate(last):  # a missing key counts as "not yet"
                    return last
            if time.monotonic() > deadline:
                raise LabTimeout(f"{name}: condition not met within {timeout}s; last: {last!r}")
            time.sleep(0.05)

    # -- pages ------------------------------------------------------------------------------
    def new_page(self, path: str = "") -> tuple[Page, PageLog]:
        page = self.context.new_page()
        log = PageLog(path)

        def on_console(msg: ConsoleMessage) -> None:
            loc = msg.location
            line = f"[{msg.type}] {msg.text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})"
            log.console.append(line)
            if msg.type == "error":
                log.console_errors.append(line)

        def on_pageerror(err: PlaywrightError) -> None:
            log.page_errors.append(err.stack or f"{err.name}: {err.message}")

        page.on("console", on_console)
        page.on("pageerror", on_pageerror)
        page.on("crash", lambda _p: log.page_errors.append("page crashed"))
        self._pages.append((page, log))
        return page, log

    def log(self, page: Page) -> PageLog:
        for p, log in self._pages:
            if p is page:
                return log
        raise KeyError("page was not opened through this Lab")

    def notebook_path(self, page: Page) -> str:
        return self.log(page).path

    def open_notebook(
        self, name: str, cells: Sequence[str], *, run: bool = True, timeout: float = DEFAULT_TIMEOUT
    ) -> Page:
        """Write ``cells`` as notebook ``name``, open it in a new page, run all cells.

        Returns once every non-empty cell has an execution count and the kernel is idle
        again; raises :class:`NotebookCellError` at the first cell that raised.
        """
        if not name.endswith(".ipynb"):
            name += ".ipynb"
        _write_json(self.path(name), new_notebook(cells))
        page, _ = self.new_page(name)
        page.set_default_timeout(timeout * 1000)
        self._seq += 1
        # A workspace of its own per page, so JupyterLab does not restore earlier notebooks.
        workspace = f"t{self._seq}"
        url = f"{self.base_url}/lab/workspaces/{workspace}/tree/{quote(name)}?reset"
        t0 = time.monotonic()
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp !== undefined")
        page.evaluate("async () => { await window.jupyterapp.restored; }")
        t1 = time.monotonic()
        self._wait(page, "window.__labHarness.kernelIdle(arg)", name, timeout, "kernel idle")
        page.evaluate("() => window.__labHarness.tidy()")
        t2 = time.monotonic()
        self.timings[f"{name}: load JupyterLab"] = t1 - t0
        self.timings[f"{name}: kernel ready"] = t2 - t1
        if run:
            page.evaluate("(p) => window.__labHarness.runAll(p)", name)
            self._settle(page, name, None, timeout)
            self.timings[f"{name}: run all cells"] = time.monotonic() - t2
        return page

    def run_cell_code(self, page: Page, code: str, *, timeout: float = 30.0) -> str:
        """Append a code cell to the page's notebook, run it, return its text output.

        Text output is stdout/stderr plus the ``text/plain`` of results and displays.
        Raises :class:`NotebookCellError` if the cell raised.
        """
        name = self.notebook_path(page)
        index = page.evaluate(
            "([p, code]) => window.__labHarness.appendAndRun(p, code)", [name, code]
        )
        self._settle(page, name, [index], timeout)
        status = page.evaluate("(p) => window.__labHarness.status(p)", name)
        cell = next(c for c in status["cells"] if c["index"] == index)
        return _cell_text(cell["outputs"])

    def py(self, page: Page, expr: str, *, timeout: float = 30.0) -> Any:
        """The value of a Python expression in the page's kernel, through JSON."""
        out = self.run_cell_code(
            page, f"import json as _j; print(_j.dumps({expr}))", timeout=timeout
        )
        return json.loads(out.strip().splitlines()[-1])

    def demo_images(self, folder: str, n: int = 300, seed: int = 0) -> str:
        """A folder of the demo's drawn images under the server root (made once)."""
        from aisearch_widgets.demo import make_dataset

        path = self.root / folder
        if not path.exists():
            make_dataset(path, n=n, seed=seed)
        return str(path)

    def open_panel(self, name: str, images: str, *, enable: bool = False) -> Page:
        """A notebook whose cell opens a project of ``images`` (demo model, synced) and
        shows its panel (60 a page), code hidden, the prompt ready."""
        from playwright.sync_api import expect

        on = "proj.enable(schedule=None)" if enable else ""
        code = (
            f"import aisearch_widgets as aw\n"
            f"proj = aw.Project({name!r}, sources={images!r}, model='demo')\n"
            f"proj.update()\n{on}\n"
            f"panel = aw.SearchPanel(proj, page_size=60)\npanel\n"
        )
        page = self.open_notebook(f"{name}.ipynb", [code], timeout=180)
        self.command(page, "notebook:hide-all-cell-code")
        expect(page.locator(".aisw-prompt")).to_be_enabled()
        return page

    def command(
        self, page: Page, command: str, args: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> Any:
        """Execute a JupyterLab command (e.g. ``notebook:hide-all-cell-code``) on the page's
        notebook, which is activated first; returns the command's (JSON) result."""
        return page.evaluate(
            "([p, c, a, t]) => window.__labHarness.command(p, c, a, t)",
            [self.notebook_path(page), command, args or {}, timeout * 1000],
        )

    def _wait(self, page: Page, expr: str, arg: Any, timeout: float, what: str) -> Any:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            handle = page.wait_for_function(
                f"(arg) => {expr}", arg=arg, timeout=timeout * 1000, polling=100
            )
        except PlaywrightTimeout:
            status = page.evaluate(
                "(p) => window.__labHarness && window.__labHarness.status(p)",
                self.notebook_path(page),
            )
            shot = self.screenshot(page, f"timeout-{Path(self.notebook_path(page)).stem}")
            raise LabTimeout(
                f"{what}: not reached within {timeout}s; status={json.dumps(status)[:2000]}; "
                f"screenshot {shot}; server log {self.server.log_path}"
            ) from None
        return handle.json_value()

    def _settle(self, page: Page, name: str, indices: list[int] | None, timeout: float) -> None:
        result = self._wait(
            page,
            "window.__labHarness.settled(arg[0], arg[1])",
            [name, indices],
            timeout,
            f"cells of {name} executed",
        )
        if "failed" in result:
            f = result["failed"]
            tb = _ANSI.sub("", "\n".join(f.get("traceback") or []))
            raise NotebookCellError(
                f"{name} cell {f['index']} raised {f.get('ename')}: {f.get('evalue')}\n{tb}"
            )
        if "error" in result:
            raise AssertionError(f"{name}: {result['error']}")

    # -- diagnostics -------------------------------------------------------------------------
    def search(self, page: Page, prompt: str, shown: str) -> Any:
        """Type ``prompt`` into the panel and press Enter; returns the result header,
        once it reads ``shown``."""
        from playwright.sync_api import expect

        box = page.locator(".aisw-prompt")
        box.fill(prompt)
        box.press("Enter")
        header = page.locator(".aisw-result-header")
        expect(header).to_have_text(shown)
        return header

    def screenshots(self, page: Page, name: str, *, top: str, settle_ms: int = 500) -> None:
        """``name-1000.png`` and ``name-1920.png``: the page at a laptop's and a wide
        screen's width, scrolled so that the element ``top`` starts the view; the
        window is left at 1,000 px."""
        for width, height in SCREEN_SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(settle_ms)
            page.locator(top).first.evaluate("el => el.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(settle_ms // 2)
            self.screenshot(page, f"{name}-{width}")
        page.set_viewport_size({"width": 1000, "height": 900})

    def screenshot(self, page: Page, name: str, *, selector: str | None = None) -> Path:
        """Save a PNG of the page (or of the first element matching ``selector``)."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
        out = self.artifacts / (safe if safe.endswith(".png") else f"{safe}.png")
        if selector:
            page.locator(selector).first.screenshot(path=str(out))
        else:
            page.screenshot(path=str(out))
        return out

    def errors(self, page: Page, ignore: Sequence[str | re.Pattern[str]] = ()) -> list[str]:
        """Console errors and uncaught exceptions the page reported so far."""
        with suppress(Exception):
            page.evaluate("() => 0")  # let Playwright deliver pending console/pageerror events
        return self.log(page).errors(ignore)

    def assert_no_errors(self, page: Page, ignore: Sequence[str | re.Pattern[str]] = ()) -> None:
        errors = self.errors(page, ignore)
        assert not errors, "browser reported errors:\n" + "\n".join(errors)

    def close_pages(self, failure_prefix: str | None = None) -> None:
        """Shut down the kernels of all open pages and close them.

        With ``failure_prefix``, first save a screenshot and the console log of each page.
        """
        pages, self._pages = self._pages, []
        for i, (page, log) in enumerate(pages):
            if page.is_closed():
                continue
            if failure_prefix:
                with suppress(Exception):
                    self.screenshot(page, f"{failure_prefix}-{i}")
                with suppress(Exception):
                    (self.artifacts / f"{failure_prefix}-{i}.console.txt").write_text(
                        "\n".join(log.console + log.page_errors)
                    )
            with suppress(Exception):
                page.evaluate("(p) => window.__labHarness.shutdown(p)", log.path)
            with suppress(Exception):
                page.close()


def chromium_available() -> tuple[bool, str]:
    """Whether Chromium is there, installing it with scripts/install-browser-deps.sh if not."""
    if os.access(CHROMIUM, os.X_OK):
        return True, ""
    script = REPO_ROOT / "scripts" / "install-browser-deps.sh"
    wanted = (
        CHROMIUM == "/usr/bin/chromium" and os.environ.get("AISEARCH_NO_BROWSER_INSTALL") != "1"
    )
    if wanted and script.exists():
        with suppress(subprocess.SubprocessError, OSError):
            subprocess.run(  # a session of its own: no terminal, so sudo cannot prompt
                ["bash", str(script)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=900,
                check=False,
                start_new_session=True,
            )
    if os.access(CHROMIUM, os.X_OK):
        return True, ""
    return False, (
        f"{CHROMIUM} is missing and scripts/install-browser-deps.sh could not install it "
        "(run it as root, or set AISEARCH_TEST_CHROMIUM); deselect with -m 'not browser'"
    )


def launch_chromium(playwright: Playwright, profile_dir: Path) -> BrowserContext:
    """Debian's Chromium, headless, with the harness script in every page."""
    context = playwright.chromium.launch_persistent_context(
        user_data_dir=str(profile_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
        timeout=DEFAULT_TIMEOUT * 1000,
    )
    context.add_init_script(HARNESS_JS)
    return context
