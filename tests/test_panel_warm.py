"""A prompt sent while the panel is still loading the model says so."""

from __future__ import annotations

import threading
import time

import aisearch_widgets as aw
from aisearch_widgets.widgets._panel import LOADING

from _helpers import make_folder


def test_a_prompt_before_the_model_is_loaded_says_it_waits_for_it(
    project_factory, tmp_path, monkeypatch
) -> None:
    root = tmp_path / "imgs"
    make_folder(root, 6, sub=False)
    proj = project_factory("p", root)
    proj.update()
    real = aw.Project.embedder
    release = threading.Event()

    def slow(self):
        release.wait(30)  # the model's code still being imported
        return real.fget(self)

    monkeypatch.setattr(aw.Project, "embedder", property(slow))
    panel = aw.SearchPanel(proj, page_size=4, poll_interval=0)
    try:
        assert panel.controls.model_loading is True
        work = panel._search_prompt("x")
        assert work.label == LOADING
        release.set()
        deadline = time.monotonic() + 30
        while panel.controls.model_loading and time.monotonic() < deadline:
            time.sleep(0.02)
        assert panel.controls.model_loading is False
        assert panel._search_prompt("x").label == "Searching"
        assert len(panel.search("x", limit=4)) == 4
    finally:
        release.set()
        panel.close()


def test_the_model_code_is_imported_ahead_only_in_a_kernel() -> None:
    from aisearch_widgets.widgets import _warm

    assert not _warm.in_kernel()  # pytest is no kernel: asking for a panel starts nothing
    assert _warm.start_imports() is None
    thread = _warm.start_imports(force=True)
    if thread is not None:  # None: open_clip was imported already
        thread.join(120)
        assert not thread.is_alive()
    import sys

    assert "open_clip" in sys.modules
    assert _warm.start_imports(force=True) in (thread, None)  # once per process
