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
``python -m aisearch_widgets._request_runner run …`` in a detached process, which opens the
project, applies the action, runs the pass to its end and exits (its log is
``runner.log`` in the project home). Two processes never write one project: whoever
writes holds the lock, and a request file is applied only by the lock holder.
The server starts at most one runner per project (later actions go to that runner as
request files, an identical pending one is not written twice) and at most
:data:`MAX_RUNNERS` at once; every parameter is checked before a runner starts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._errors import AISearchError, InvalidArgument, ProjectLocked
from ._home import REQUESTS_DIR

log = logging.getLogger(__name__)

ACTIONS = ("enable", "disable", "update")
POLL_SECONDS = 1.0
#: A request nobody applied within this time is dropped, not applied late.
MAX_AGE_SECONDS = 600.0
#: A request is a few dozen bytes: a bigger file is not one, and is never read whole.
MAX_REQUEST_BYTES = 64 * 1024
#: Request files read per project and poll (the oldest first).
MAX_PER_POLL = 64
#: A file that is no valid request is renamed to this suffix (out of the queue, kept
#: for a look).
BAD_SUFFIX = ".bad"
#: Runner processes the server starts at once (each loads a model).
MAX_RUNNERS = 4

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

_lock = threading.Lock()
_thread: threading.Thread | None = None
#: Serialises the watcher's polls and a runner's last drain: a request is taken once.
poll_lock = threading.Lock()
#: Folders already reported as unsafe (reported once per process, not every second).
_warned: set[str] = set()
#: Entries that could be neither read nor moved aside: skipped, never retried.
_stuck: set[tuple[int, int]] = set()


class UnsafeRequestsFolder(AISearchError):
    """A project's ``requests/`` is a symlink, not a folder, or not the user's own."""


class RunnersBusy(AISearchError):
    """The server already runs :data:`MAX_RUNNERS` runner processes."""


def _check_action(action: object) -> str:
    if action not in ACTIONS:
        raise InvalidArgument(f"Unknown action {action!r:.40}: use one of {', '.join(ACTIONS)}.")
    return str(action)


def _open_folder(folder: Path, create: bool = False) -> int | None:
    """A descriptor of ``folder/requests`` opened without following a link, once it is
    checked to be a real folder owned by this user; None when there is none.
    :class:`UnsafeRequestsFolder` otherwise (nothing in it is read or removed)."""
    d = folder / REQUESTS_DIR
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o700)
    try:
        fd = os.open(d, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink; ENOTDIR: a file
        raise UnsafeRequestsFolder(
            f"{d} is not a real folder ({exc.strerror}): requests to this project are "
            "ignored. Remove it (a folder is made when a request is sent)."
        ) from None
    st = os.fstat(fd)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise UnsafeRequestsFolder(
            f"{d} belongs to another user (uid {st.st_uid}): requests to this project are "
            "ignored. Remove it (a folder is made when a request is sent)."
        )
    return fd


def write_request(folder: Path, action: str, **params: Any) -> str:
    """Write ``requests/<uuid>.json`` into the project folder atomically; its id."""
    _check_action(action)
    rid = uuid.uuid4().hex
    dfd = _open_folder(folder, create=True)
    if dfd is None:  # removed between mkdir and open: say so rather than write elsewhere
        raise AISearchError(f"{folder / REQUESTS_DIR} vanished while a request was sent.")
    try:
        tmp = f".{rid}.tmp"  # not *.json: the reader never sees a half-written request
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600, dir_fd=dfd
        )
        with open(fd, "w", encoding="utf-8") as fh:
            json.dump({"action": action, "at": time.time(), **params}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, f"{rid}.json", src_dir_fd=dfd, dst_dir_fd=dfd)
    finally:
        os.close(dfd)
    return rid


def _read_capped(fd: int) -> bytes:
    """At most ``MAX_REQUEST_BYTES + 1`` bytes of an open file."""
    chunks, left = [], MAX_REQUEST_BYTES + 1
    while left > 0:
        b = os.read(fd, left)
        if not b:
            break
        chunks.append(b)
        left -= len(b)
    return b"".join(chunks)


def _request_problem(req: Any) -> str | None:
    """What makes a parsed file no request, or None."""
    from ._home import parse_interval

    if not isinstance(req, dict):
        return f"it holds a JSON {type(req).__name__}, not an object"
    if req.get("action") not in ACTIONS:
        return f"unknown action {req.get('action')!r:.40}"
    at = req.get("at")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        return "no time in 'at'"
    schedule = req.get("schedule")
    if schedule is not None:
        if not isinstance(schedule, str):
            return "'schedule' is not a text"
        try:
            parse_interval(schedule)
        except AISearchError as exc:
            return str(exc)
    return None


def _read_request(dfd: int, name: str) -> dict[str, Any] | str | None:
    """The request in ``name`` (a dict), why it is none (a str), or None if it is gone.
    Never raises for what the file holds."""
    try:
        fd = os.open(name, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC, dir_fd=dfd)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symlink (ELOOP), no permission...
        return f"cannot be opened ({exc.strerror})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return "is not a regular file"
        if st.st_size > MAX_REQUEST_BYTES:
            return f"holds {st.st_size} bytes (a request has at most {MAX_REQUEST_BYTES})"
        data = _read_capped(fd)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    finally:
        os.close(fd)
    if len(data) > MAX_REQUEST_BYTES:
        return f"grew past {MAX_REQUEST_BYTES} bytes while read"
    try:
        req = json.loads(data.decode("utf-8"))
    except Exception as exc:  # RecursionError, UnicodeDecodeError, ValueError…
        return f"is not JSON ({type(exc).__name__})"
    return _request_problem(req) or req


def _quarantine(dfd: int, name: str, why: str, where: Path) -> None:
    """Move a bad request file out of the queue (``<name>.bad``), or remove it."""
    log.warning(
        "aisearch: request file %s %s; moved aside as %s%s", where / name, why, name, BAD_SUFFIX
    )
    try:
        os.rename(name, name + BAD_SUFFIX, src_dir_fd=dfd, dst_dir_fd=dfd)
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    try:
        os.unlink(name, dir_fd=dfd)
    except FileNotFoundError:
        return
    except OSError:
        with contextlib.suppress(OSError):  # e.g. a folder named *.json: skip it from now
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            _stuck.add((st.st_dev, st.st_ino))


def take_requests(folder: Path) -> list[dict[str, Any]]:
    """The pending requests of a project, oldest first, each removed as it is taken
    (so it is applied once). Expired ones are dropped; files that are no request are
    moved aside (``<name>.bad``). A ``requests/`` that is a symlink or not the user's
    is left alone (reported once): nothing in it is read or removed."""
    try:
        dfd = _open_folder(folder)
    except UnsafeRequestsFolder as exc:
        if str(folder) not in _warned:
            _warned.add(str(folder))
            log.warning("aisearch: %s", exc)
        return []
    if dfd is None:
        return []
    where = folder / REQUESTS_DIR
    try:
        found = []
        with os.scandir(dfd) as it:
            for e in it:
                if not e.name.endswith(".json"):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) not in _stuck:
                    found.append((st.st_mtime, e.name))
        out = []
        for _, name in sorted(found)[:MAX_PER_POLL]:
            req = _read_request(dfd, name)
            if req is None:
                continue
            if isinstance(req, str):
                _quarantine(dfd, name, req, where)
                continue
            try:
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                continue  # taken by someone else
            if time.time() - req["at"] > MAX_AGE_SECONDS:
                log.info("aisearch: dropped the expired request %s/%s", where, name)
                continue
            out.append(req)
        return out
    finally:
        os.close(dfd)


def apply(project: Any, req: dict[str, Any]) -> None:
    """Apply one request to an open project (through its public API)."""
    from ._home import parse_interval

    action = req["action"]
    if action == "enable":
        schedule = req.get("schedule")
        if not schedule:  # keep the project's own schedule, if it is a valid one
            schedule = project.schedule
            with contextlib.suppress(AISearchError):
                schedule = schedule if parse_interval(schedule) else None
            schedule = schedule if isinstance(schedule, str) else None
        project.enable(schedule=schedule or "10m")
    elif action == "disable":
        project.disable()
    elif action == "update":
        project.update_async()


def _owned(project: Any) -> bool:
    return not project.closed and project.embedded


def apply_pending(project: Any) -> int:
    """Take and apply the pending requests of one project; how many were applied. One
    project's trouble (a bad folder, a failing action) stays with that project."""
    try:
        reqs = take_requests(project.folder)
    except Exception:  # the other projects are still served
        log.warning("aisearch: reading the requests of %s failed", project.name, exc_info=True)
        return 0
    n = 0
    for req in reqs:
        try:
            apply(project, req)
            n += 1
        except Exception:  # a closed project, a bad schedule: log, keep watching
            log.warning("aisearch: request %r on %s failed", req, project.name, exc_info=True)
    return n


def poll_once() -> int:
    """Apply the pending requests of every project this process owns; how many."""
    from . import _registry

    n = 0
    with poll_lock:
        for p in _registry.opened():
            if _owned(p):
                n += apply_pending(p)
    return n


def _loop() -> None:
    global _thread
    from . import _registry

    while True:
        with _lock:
            if not any(_owned(p) for p in _registry.opened()):
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
_CHECKPOINT_EXTS = (".safetensors", ".pt", ".bin", ".pth")
#: Runners this process started, by project (or new folder); reaped as they end.
_runners: dict[str, subprocess.Popen[bytes]] = {}
#: The last request file sent to a project whose runner is still running.
_sent: dict[str, tuple[str, str]] = {}
_runners_lock = threading.Lock()


def _shown(value: str) -> str:
    r = repr(value)
    return r if len(r) <= 60 else r[:57] + "..."


def check_schedule(schedule: object) -> str | None:
    """A schedule sent with a request, checked (:func:`~._home.parse_interval`):
    ``"off"`` for manual updates, the text as given, or None when none was given.
    :class:`InvalidArgument` with the reason otherwise."""
    from ._home import parse_interval

    if schedule is None:
        return None
    if not isinstance(schedule, str):
        raise InvalidArgument(f"'schedule' must be a text such as '10m', not {_shown(schedule)}.")
    try:
        interval = parse_interval(schedule)
    except AISearchError as exc:
        raise InvalidArgument(str(exc)) from None
    return schedule.strip() if interval else "off"


@lru_cache(maxsize=1)
def _open_clip_archs() -> frozenset[str]:
    """The architectures open_clip knows, read from its bundled configs without
    importing it (that imports torch: seconds, and memory, in the Jupyter server)."""
    try:
        spec = importlib.util.find_spec("open_clip")
    except (ImportError, ValueError):
        return frozenset()
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    configs = Path(next(iter(spec.submodule_search_locations))) / "model_configs"
    return frozenset(p.stem for p in configs.glob("*.json"))


def check_model(model: object) -> str | None:
    """The model of a new project sent with a request, checked as far as the server can
    without loading it: ``demo``, a model folder, or an open_clip architecture it
    knows (``ARCH``, ``ARCH:tag``, ``ARCH:/path/to/checkpoint``); the runner checks the
    rest. :class:`InvalidArgument` with the reason otherwise."""
    if model is None:
        return None
    if not isinstance(model, str):
        raise InvalidArgument(f"'model' must be a text, not {_shown(model)}.")
    m = model.strip()
    if not m:
        return None
    use = "use e.g. 'ViT-B-32:laion2b_s34b_b79k', 'demo' or a model folder"
    if len(m) > 1000 or not m.isprintable() or m.startswith("-"):
        raise InvalidArgument(f"Invalid model {_shown(m)}: {use}.")
    if m == "demo":
        return m
    expanded = os.path.expanduser(m)
    if os.path.isdir(expanded):
        if not os.path.isfile(os.path.join(expanded, "open_clip_config.json")):
            raise InvalidArgument(
                f"The model folder {_shown(m)} has no open_clip_config.json next to its weights."
            )
        return m
    arch, _, tag = m.partition(":")
    known = _open_clip_archs()
    if known and arch not in known:
        raise InvalidArgument(
            f"Unknown model {_shown(m)}: no open_clip architecture {arch!r}; {use}."
        )
    if (os.sep in tag or tag.endswith(_CHECKPOINT_EXTS)) and not os.path.isfile(
        os.path.expanduser(tag)
    ):
        raise InvalidArgument(f"The checkpoint of model {_shown(m)} does not exist.")
    return m


def _live_runner(key: str) -> subprocess.Popen[bytes] | None:
    """The runner this process started for ``key``, if it still runs (ended ones are
    reaped here, every one of them)."""
    for k, proc in list(_runners.items()):
        if proc.poll() is not None:
            del _runners[k]
            _sent.pop(k, None)
    return _runners.get(key)


def _send_to_runner(key: str, pfolder: Path, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """A request for a project whose runner is starting or running: that runner
    applies it once it holds the project. The same request still waiting is not
    written twice (16 clicks on "Update" make one request)."""
    what = json.dumps({"action": action, **params}, sort_keys=True)
    last = _sent.get(key)
    if last is not None and last[0] == what and (pfolder / REQUESTS_DIR / last[1]).exists():
        return {"via": "coalesced", "pid": _runners[key].pid}
    rid = write_request(pfolder, action, **params)
    _sent[key] = (what, f"{rid}.json")
    return {"via": "request", "pid": _runners[key].pid}


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
    process holds the project, or a runner started here is about to),
    ``{"via": "coalesced"}`` (the same request is already waiting for that runner),
    ``{"via": "written"}`` (disable, done here) or ``{"via": "process", "pid": …}``
    (a runner was started).

    Everything is checked first: :class:`InvalidArgument` for a bad action, schedule,
    model or folder, :class:`RunnersBusy` when :data:`MAX_RUNNERS` run already."""
    from ._home import CONFIG_NAME, HomeLock, check_name

    _check_action(action)
    schedule = check_schedule(schedule)
    model = check_model(model)
    params = {"schedule": schedule} if schedule else {}
    home = Path(os.path.abspath(home))
    if name is None:
        if action != "enable" or folder is None:
            raise InvalidArgument("Name the project, or a folder to enable.")
        if not isinstance(folder, str) or "\0" in folder or not os.path.isabs(folder):
            raise InvalidArgument("The folder to enable must be an absolute path.")
        key = f"{home}\0folder\0{os.path.realpath(folder)}"
        with _runners_lock:
            live = _live_runner(key)
            if live is not None:
                return {"via": "coalesced", "pid": live.pid}
            return {
                "via": "process",
                "pid": _spawn(key, home, None, "enable", folder, model, schedule),
            }
    check_name(name)
    pfolder = home / name
    if not (pfolder / CONFIG_NAME).exists():
        raise AISearchError(f"No project {name!r} in the home.")
    key = f"{home}\0{name}"
    with _runners_lock:
        if _live_runner(key) is not None:
            return _send_to_runner(key, pfolder, action, params)
        lock = HomeLock(pfolder, name)
        try:
            lock.acquire()
        except ProjectLocked:
            write_request(pfolder, action, **params)
            return {"via": "request"}
        if action == "disable":
            try:
                from ._config import Layout, ProjectConfig

                ProjectConfig.read(Layout(pfolder), name).update(enabled=False)
            finally:
                lock.release()
            return {"via": "written"}
        lock.release()  # the runner takes it; should someone be quicker, it says so in its log
        return {"via": "process", "pid": _spawn(key, home, name, action, None, None, schedule)}


def _spawn(
    key: str,
    home: Path,
    name: str | None,
    action: str,
    folder: str | None,
    model: str | None,
    schedule: str | None,
) -> int:
    """Start a runner (the caller holds ``_runners_lock`` and checked every value).
    Options are passed as ``--opt=value``: no value can pass for an option."""
    if len(_runners) >= MAX_RUNNERS:
        raise RunnersBusy(
            f"{len(_runners)} AI Search runners started by this server are still running "
            f"(at most {MAX_RUNNERS} at once); try again when one of them has finished."
        )
    cmd = [
        sys.executable,
        "-m",
        "aisearch_widgets._request_runner",
        "run",
        action,
        f"--home={home}",
    ]
    if name:
        cmd.append(f"--name={name}")
    if folder:
        cmd.append(f"--folder={folder}")
    if model:
        cmd.append(f"--model={model}")
    if schedule:
        cmd.append(f"--schedule={schedule}")
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
    _runners[key] = proc
    return proc.pid
