"""Requests to the process that owns a project: enable, disable, update now.

An embedded project belongs to the one process holding its lock (a kernel, or
``aisearch index``). Another process (the Jupyter server behind the JupyterLab plugin)
never writes such a project: it drops a small request file into the project home,
``requests/<uuid>.json`` (written atomically), and the owner applies it. Every open
project in a process is watched by one daemon thread (:func:`watch`, started when a
project opens) that looks at its ``requests/`` folder once a second: a ``scandir`` of
a folder that is usually absent, so the cost is nil.

When nobody holds the project, :func:`dispatch` takes the lock itself: a disable is
written at once (config only; embeddings stay); enable and update start
``python -m aisearch_widgets._requests run …`` in a detached process, which opens the
project, applies the action, runs the pass to its end and exits (its log is
``runner.log`` in the project home). Two processes never write one project: whoever
writes holds the lock, and a request file is applied only by the lock holder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ._errors import AISearchError, ProjectLocked

log = logging.getLogger(__name__)

ACTIONS = ("enable", "disable", "update")
POLL_SECONDS = 1.0
#: A request nobody applied within this time is dropped, not applied late.
MAX_AGE_SECONDS = 600.0
REQUESTS_DIR = "requests"

_lock = threading.Lock()
_thread: threading.Thread | None = None


def write_request(folder: Path, action: str, **params: Any) -> str:
    """Write ``requests/<uuid>.json`` into the project folder atomically; its id."""
    if action not in ACTIONS:
        raise AISearchError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    rid = uuid.uuid4().hex
    d = folder / REQUESTS_DIR
    d.mkdir(exist_ok=True)
    tmp = d / f".{rid}.tmp"  # not *.json: the reader never sees a half-written request
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        json.dump({"action": action, "at": time.time(), **params}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, d / f"{rid}.json")
    return rid


def take_requests(folder: Path) -> list[dict[str, Any]]:
    """The pending requests of a project, oldest first, each removed as it is taken
    (so it is applied once). Unreadable or expired ones are dropped."""
    d = folder / REQUESTS_DIR
    try:
        entries = [e for e in os.scandir(d) if e.name.endswith(".json") and e.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for e in sorted(entries, key=lambda e: e.stat().st_mtime):
        try:
            with open(e.path, encoding="utf-8") as fh:
                req = json.load(fh)
            os.remove(e.path)
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                os.remove(e.path)
            continue
        if not isinstance(req, dict) or req.get("action") not in ACTIONS:
            continue
        at = req.get("at")
        if not isinstance(at, (int, float)) or time.time() - at > MAX_AGE_SECONDS:
            continue
        out.append(req)
    return out


def apply(project: Any, req: dict[str, Any]) -> None:
    """Apply one request to an open project (through its public API)."""
    action = req["action"]
    if action == "enable":
        schedule = req.get("schedule") or project.schedule or "10m"
        project.enable(schedule=schedule)
    elif action == "disable":
        project.disable()
    elif action == "update":
        project.update_async()


def _owned(project: Any) -> bool:
    return not project.closed and project.embedded


def poll_once() -> int:
    """Apply the pending requests of every project this process owns; how many."""
    from .project import Project

    n = 0
    for p in Project.opened():
        if not _owned(p):
            continue
        for req in take_requests(p.folder):
            try:
                apply(p, req)
                n += 1
            except Exception:  # a closed project, a bad schedule: log, keep watching
                log.warning("aisearch: request %r on %s failed", req, p.name, exc_info=True)
    return n


def _loop() -> None:
    global _thread
    from .project import Project

    while True:
        with _lock:
            if not any(_owned(p) for p in Project.opened()):
                _thread = None
                return
        try:
            poll_once()
        except Exception:
            log.debug("request poll failed", exc_info=True)
        time.sleep(POLL_SECONDS)


def watch() -> None:
    """Make sure this process's request watcher runs (called when a project opens)."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="aisearch-requests", daemon=True)
            _thread.start()


# -- the sender's side (the Jupyter server) --------------------------------------------
def dispatch(
    home: Path,
    action: str,
    *,
    name: str | None = None,
    folder: str | None = None,
    model: str | None = None,
    schedule: str | None = None,
) -> dict[str, Any]:
    """Send ``action`` to the owner of project ``name`` (or, for ``enable``, of the new
    project for ``folder``). Returns how it was delivered: ``{"via": "request"}`` (a
    process holds the project), ``{"via": "written"}`` (disable, done here) or
    ``{"via": "process", "pid": …}`` (a runner was started)."""
    from ._home import HomeLock, check_name, read_config, write_json_atomic

    if action not in ACTIONS:
        raise AISearchError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    params = {k: v for k, v in (("schedule", schedule),) if v}
    if name is None:
        if action != "enable" or folder is None:
            raise AISearchError("Name the project, or a folder to enable.")
        return {"via": "process", "pid": _spawn(home, None, "enable", folder, model, schedule)}
    check_name(name)
    pfolder = home / name
    if not (pfolder / "project.json").exists():
        raise AISearchError(f"No project {name!r} in the home.")
    lock = HomeLock(pfolder, name)
    try:
        lock.acquire()
    except ProjectLocked:
        write_request(pfolder, action, **params)
        return {"via": "request"}
    if action == "disable":
        try:
            cfg = read_config(pfolder / "project.json", name)
            cfg["enabled"] = False
            write_json_atomic(pfolder / "project.json", cfg)
        finally:
            lock.release()
        return {"via": "written"}
    lock.release()  # the runner takes it; should someone be quicker, it says so in its log
    return {"via": "process", "pid": _spawn(home, name, action, None, None, schedule)}


def _spawn(
    home: Path,
    name: str | None,
    action: str,
    folder: str | None,
    model: str | None,
    schedule: str | None,
) -> int:
    cmd = [sys.executable, "-m", "aisearch_widgets._requests", "run", action, "--home", str(home)]
    if name:
        cmd += ["--name", name]
    if folder:
        cmd += ["--folder", folder]
    if model:
        cmd += ["--model", model]
    if schedule:
        cmd += ["--schedule", schedule]
    home.mkdir(parents=True, exist_ok=True)
    logdir = home / name if name else home
    with open(logdir / ("runner.log" if name else "runner-new.log"), "ab") as logf:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
            start_new_session=True,  # detached: outlives a restart of the server
            close_fds=True,
        )
    return proc.pid


def _run(argv: list[str] | None = None) -> int:
    """``python -m aisearch_widgets._requests run ACTION …``: open the project, apply
    the action, finish the pass, exit. A disable request arriving meanwhile stops it."""
    p = argparse.ArgumentParser(prog="aisearch-runner")
    p.add_argument("cmd", choices=["run"])
    p.add_argument("action", choices=["enable", "update"])
    p.add_argument("--home", required=True)
    p.add_argument("--name")
    p.add_argument("--folder")
    p.add_argument("--model")
    p.add_argument("--schedule", default=None)
    args = p.parse_args(argv)
    from .cli import project_name_for
    from .project import Project

    home = Path(args.home)
    if args.name:
        proj = Project.open(args.name, home=home)
    else:
        folder = Path(args.folder)
        name = project_name_for(folder, home)
        exists = (home / name / "project.json").exists()
        proj = Project(name, sources=str(folder), model=None if exists else args.model, home=home)
    with proj:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {args.action} {proj.name}", flush=True)
        apply(proj, {"action": args.action, "schedule": args.schedule})
        with contextlib.suppress(Exception):  # a disable request cancels the pass
            proj.wait(progress=False)
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} done: {proj.status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_run())
