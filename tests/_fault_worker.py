"""Fork server for tests/test_faults.py: imports the package (and torch) once, then
for each JSON command read from stdin forks a child that opens a project and runs one
operation slowly, so that the test can SIGKILL it at a random moment.

Protocol (one JSON object per line on stdout): ``{"pid": N}`` from the server after
each fork, ``{"go": N}`` from the child just before the operation starts,
``{"exit": N, "signal": S}`` from the server when the child is gone.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import open_clip  # noqa: F401  (imported once here, not in every child)
import torch

import aisearch_widgets as aw
from aisearch_widgets import _fileops, _recovery, _trash
from aisearch_widgets._inventory import Inventory
from aisearch_widgets.indexer import Indexer


def _slow(obj: object, name: str, seconds: float) -> None:
    original = getattr(obj, name)

    def slow(*a, **kw):  # type: ignore[no-untyped-def]
        time.sleep(seconds)
        out = original(*a, **kw)
        time.sleep(seconds)
        return out

    setattr(obj, name, slow)


def run(cmd: dict) -> None:
    torch.set_num_threads(1)
    op, pause = cmd["op"], cmd["pause"]
    if op == "index":
        _slow(Indexer, "_commit", pause)
    else:
        for mod in (_fileops, _trash, _recovery):  # each names the one disk step
            _slow(mod, "fsync_dir", pause)
        _slow(Inventory, "moved", pause)
        _slow(Inventory, "deleted", pause)
        _slow(Inventory, "trashed", pause)
        _slow(Inventory, "restored", pause)
    proj = aw.Project.open(cmd["name"], home=cmd["home"], batch_size=2, workers=1)
    if op != "index":
        proj.store  # noqa: B018  (load model and store before the clock starts)
    if op == "trash":
        col = proj.tagged("keep")  # half of the images, no text model to load
    print(json.dumps({"go": os.getpid()}), flush=True)
    if op == "index":
        proj.update()
    elif op == "save":
        everything = proj.search("x", limit=1000)
        for i in range(cmd["n"]):
            everything.head(i + 1).save("same", overwrite=True)
            everything.save(f"c{i}")
            time.sleep(pause)
    elif op == "trash":
        col.delete(confirm=True)
    elif op == "restore":
        proj.trash.restore()
    elif op == "empty":
        proj.empty_trash(None)
    else:
        col = proj.search("x", limit=1000)
        if op == "move":
            col.move_to(cmd["target"], on_conflict=cmd.get("on_conflict", "skip"))
        elif op == "copy":
            col.copy_to(cmd["target"], on_conflict=cmd.get("on_conflict", "skip"))
        elif op == "delete":
            col.head(len(col) // 2).delete(confirm=True, permanent=True)
    proj.close()


def main() -> None:
    for line in sys.stdin:
        cmd = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run(cmd)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        print(json.dumps({"exit": pid, "signal": sig, "code": code}), flush=True)


if __name__ == "__main__":
    main()
