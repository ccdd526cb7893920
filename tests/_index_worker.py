"""Run by test_project.py in a subprocess: index a project slowly so that the test can
kill it mid-run (SIGKILL) or hold its lock."""

from __future__ import annotations

import sys
import time

import aisearch_widgets as aw
from aisearch_widgets.indexer import Indexer

home, model, images, mode = sys.argv[1:5]

if mode == "slow":
    original = Indexer._commit

    def slow_commit(self, *a, **kw):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return original(self, *a, **kw)

    Indexer._commit = slow_commit  # type: ignore[method-assign]

proj = aw.Project("crash", sources=images, model=model, home=home, batch_size=4)
print("opened", flush=True)
if mode == "hold":
    time.sleep(60)
else:
    proj.update()
    print("finished", flush=True)
