"""The panel's status poll keeps off the lock that searches and pages wait for: a
refresh that takes long (a catalog of a million rows) makes it poll less often."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import aisearch_widgets as aw

from _helpers import make_folder


def test_a_slow_status_refresh_is_polled_less_often(project_factory, tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    make_folder(root, 6, sub=False)
    proj = project_factory("p", root)
    proj.update()
    panel = aw.SearchPanel(proj, page_size=4, poll_interval=0.02)
    calls: list[float] = []
    held = threading.Event()

    def slow_refresh() -> None:  # what a status count over 1M catalog rows costs, scaled
        calls.append(time.monotonic())
        held.set()
        time.sleep(0.1)

    try:
        panel._refresh_status = slow_refresh  # type: ignore[method-assign]
        assert held.wait(5)
        time.sleep(2.0)
        n = len(calls)
    finally:
        panel.close()
    # Every 0.02 s after each 0.1 s refresh would be ~16 calls in 2 s (the lock held
    # 80 % of the time); waiting 9x the refresh leaves ~2-3.
    assert 1 <= n <= 5, n
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(g >= 0.9 for g in gaps), gaps
