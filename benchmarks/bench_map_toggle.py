"""The kernel's side of the panel's Map toggle, on a project whose map is cached: a
new panel (its warm-up done: model loaded), a prompt shown (the map is coloured by
its scores, as in ``bench_panel.py``), then ``show_map(True)`` (first),
``show_map(False)`` and ``show_map(True)`` again. Prints one JSON line: per step
``[wall s, CPU s]`` of this process.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_map_toggle.py \\
        /tmp/p100k/grown-100000/home --name bench

Run it alternately from two trees (old, new) to compare them in one window.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import aisearch_widgets as aw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("home", help="the projects' home (AISEARCH_HOME)")
    ap.add_argument("--name", default="bench", help="the project's name")
    ap.add_argument("--method", default="pca", help="the panel's map_method")
    args = ap.parse_args()
    proj = aw.Project(args.name, home=args.home)
    panel = aw.SearchPanel(proj, page_size=100, limit=100, poll_interval=0, map_method=args.method)
    for t in threading.enumerate():
        if t.name == "aisearch-warm-up":
            t.join()
    panel.search("a red circle", limit=100)
    out: dict[str, object] = {}
    for name, on in (("first", True), ("off", False), ("again", True)):
        c0, t0 = time.process_time(), time.perf_counter()
        panel.show_map(on)
        out[name] = [round(time.perf_counter() - t0, 3), round(time.process_time() - c0, 3)]
    out["points"] = len(panel.map_view.ids) if panel.map_view is not None else 0
    print(json.dumps(out), flush=True)
    panel.close()
    proj.close()


if __name__ == "__main__":
    main()
