"""The detached runner the server starts for a project nobody holds:
``python -m aisearch_widgets._request_runner run ACTION …`` opens the project, applies
the action, finishes the pass, applies what was requested meanwhile and exits.

It sits above :mod:`.project` (it opens one); :mod:`._requests`, below it, only
starts it as a process.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from ._requests import apply, apply_pending, poll_lock


def main(argv: list[str] | None = None) -> int:
    """``python -m aisearch_widgets._request_runner run ACTION …``: open the project, apply
    the action, finish the pass, apply what was requested meanwhile, exit. A disable
    request arriving meanwhile stops it."""
    p = argparse.ArgumentParser(prog="aisearch-runner")
    p.add_argument("cmd", choices=["run"])
    p.add_argument("action", choices=["enable", "update"])
    p.add_argument("--home", required=True)
    p.add_argument("--name")
    p.add_argument("--folder")
    p.add_argument("--model")
    p.add_argument("--schedule", default=None)
    args = p.parse_args(argv)
    from ._home import CONFIG_NAME
    from ._names import project_name_for
    from .project import Project

    home = Path(args.home)
    if args.name:
        proj = Project.open(args.name, home=home)
    else:
        folder = Path(args.folder)
        name = project_name_for(folder, home)
        exists = (home / name / CONFIG_NAME).exists()
        proj = Project(name, sources=str(folder), model=None if exists else args.model, home=home)
    with proj:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {args.action} {proj.name}", flush=True)
        apply(proj, {"action": args.action, "schedule": args.schedule})
        while True:
            with contextlib.suppress(Exception):  # a disable request cancels the pass
                proj.wait(progress=False)
            with poll_lock:  # requests sent while this ran: not left behind at exit
                if not apply_pending(proj):
                    break
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} done: {proj.status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
