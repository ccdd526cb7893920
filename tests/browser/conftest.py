"""Fixtures for the real-browser tests: every test in this folder is marked ``browser``.

``lab`` (session-scoped) is a :class:`_labharness.Lab`: a private JupyterLab server plus a
headless Chromium. After each test the pages it opened are closed and their kernels shut
down; when the test failed, a screenshot and the console log of each page are saved to
``test-artifacts/``.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from _labharness import (
    ARTIFACTS,
    Lab,
    chromium_available,
    launch_chromium,
    start_server,
)

HERE = Path(__file__).resolve().parent
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the items of the whole session: mark only the ones in this folder.
    # tryfirst: the mark must be there before `-m` deselection runs.
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from playwright.sync_api import sync_playwright

    ok, why = chromium_available()
    if not ok:
        pytest.skip(why)
    workdir = tmp_path_factory.mktemp("lab")
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    server = start_server(workdir)
    timings["server start"] = time.monotonic() - t0
    try:
        with sync_playwright() as pw:
            t1 = time.monotonic()
            context = launch_chromium(pw, workdir / "chromium-profile")
            timings["chromium start"] = time.monotonic() - t1
            lab = Lab(server, context, ARTIFACTS, timings=timings)
            try:
                yield lab
            finally:
                lab.close_pages()
                context.close()
    finally:
        server.stop()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "jupyter-server.log").write_bytes(server.log_path.read_bytes())
        lines = [f"{k}: {v:.2f}s" for k, v in timings.items()]
        (ARTIFACTS / "lab-timings.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture(autouse=True)
def _close_lab_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """Close the pages (and kernels) a test opened; keep screenshots of failed tests."""
    lab: Lab | None = None
    if "lab" in request.fixturenames:
        lab = request.getfixturevalue("lab")
    yield
    if lab is None:
        return
    reports = request.node.stash.get(_REPORTS, {})
    failed = any(r.failed for r in reports.values())
    lab.close_pages(failure_prefix=f"FAILED-{request.node.name}" if failed else None)
