"""Jupyter Server extension behind the JupyterLab plugin.

``GET  /aisearch-widgets/status``   every project in the home: name, the folder it
    indexes relative to the server root (or null), state, counts, times, and while
    it syncs ``eta``/``eta_text``: the time left as the panel says it. Read without
    taking any project's lock (as ``aisearch status`` does), in a thread pool with a
    time budget and a short cache (:class:`StatusReader`): never on the event loop.
    A broken project is one ``"broken"`` row. Status only: no file contents, no paths
    outside the server root, not even the home's own path.
``POST /aisearch-widgets/action``   ``{"action": "enable"|"disable"|"update",
    "folder": "<relative to the server root>"}`` or ``{"action": …, "project": name}``;
    optional ``"model"`` (for a new project) and ``"schedule"``, checked before the
    answer (400 with the reason). Delivered to the process that owns the project, one
    runner per project at a time (see :mod:`aisearch_widgets._requests`).

``GET  /aisearch-widgets/folders?path=REL``   the subfolders of a folder under the
    server root (the launcher's folder picker); ``GET /aisearch-widgets/models`` the
    models to offer when enabling; ``GET /aisearch-widgets/estimate?folder=REL&model=M``
    images found, time at this machine's measured rate and disk for enabling a folder.
    All three bounded and off the event loop (:mod:`aisearch_widgets._estimate`).

Handlers subclass ``APIHandler`` with ``@tornado.web.authenticated``: the server's
token/XSRF checks apply and unauthenticated requests get 403.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ._errors import AISearchError, InvalidArgument
from ._home import (
    CATALOG_NAME,
    CONFIG_NAME,
    check_name,
    holder_alive,
    project_names,
    read_config,
    resolve_home,
)

NAMESPACE = "aisearch-widgets"


def _relative(path: str, root: str) -> str | None:
    """``path`` relative to the server root (``""`` for the root), or None if outside."""
    real = os.path.realpath(path)
    try:
        if os.path.commonpath([real, root]) != root:
            return None
    except ValueError:
        return None
    rel = os.path.relpath(real, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


def project_folder(cfg: dict[str, Any]) -> str | None:
    """The folder a project indexes, when it is one folder (the plugin's case)."""
    srcs = cfg.get("sources") or []
    if len(srcs) == 1 and srcs[0].get("kind") == "folder":
        return str(srcs[0]["root"])
    return None


def project_row(home: Path, root: str, name: str) -> dict[str, Any]:
    """The status row of one project. Whatever is wrong with it (a damaged or hostile
    project.json, an unreadable catalog) makes it a ``"broken"`` row naming the kind of
    error, never an error of the whole answer."""
    from ._estimate import left_text, time_left
    from .status import read_status

    row: dict[str, Any] = {"name": name, "folder": None}
    try:
        cfg = read_config(home / name / CONFIG_NAME, name)
        folder = project_folder(cfg)
        row["folder"] = _relative(folder, root) if folder else None
        st = read_status(name, home)
    except Exception as exc:  # one broken project is one broken row
        row.update(folder=None, state="broken", error=type(exc).__name__)
        return row
    # The time left as the panel says it (one computation, from the catalog).
    eta = -1.0
    if st.state == "indexing":
        eta = time_left(home / name / CATALOG_NAME, st.done + st.failed, st.total)
    row.update(
        state=st.state,
        enabled=st.enabled,
        eta=eta,
        eta_text=left_text(eta),
        done=st.done,
        total=st.total,
        failed=st.failed,
        pending=st.pending,
        updated_at=st.updated_at,
        model=st.model,
        schedule=st.schedule,
        open=holder_alive(st.holder),
    )
    return row


def project_rows(home: Path, root: str) -> list[dict[str, Any]]:
    """One status row per project in the home, read here and now (a broken project
    gives a row saying so). The server reads them through :class:`StatusReader`."""
    return [project_row(home, root, name) for name in project_names(home)]


#: How long ``GET /status`` waits for the rows it reads: a project still being read
#: then shows its last row (or ``"unknown"``), and the read goes on for the next poll.
STATUS_BUDGET_S = 1.0
#: A row read this recently is answered again without reading (many tabs poll).
STATUS_TTL_S = 2.0


class StatusReader:
    """Reads status rows in a thread pool, never on the server's event loop: each
    project is one task with at most one read in flight, a row is reused for
    :data:`STATUS_TTL_S`, and an answer waits at most :data:`STATUS_BUDGET_S` for
    the projects it reads (a stuck one costs its own row, not the answer)."""

    def __init__(
        self, budget: float = STATUS_BUDGET_S, ttl: float = STATUS_TTL_S, workers: int = 4
    ) -> None:
        self.budget = budget
        self.ttl = ttl
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="aisearch-status")
        # Its own thread: reads stuck in every worker still leave the listing free.
        self._lister = ThreadPoolExecutor(1, thread_name_prefix="aisearch-status-list")
        self._lock = threading.RLock()  # RLock: a done callback may run inside it
        self._last: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
        self._inflight: dict[tuple[str, str, str], Future[dict[str, Any]]] = {}
        self._gen = 0  # bumped by forget(): a read started before it is not kept

    def forget(self) -> None:
        """Drop every kept row (an action just changed a project: the next poll reads)."""
        with self._lock:
            self._gen += 1
            self._last.clear()
            self._inflight.clear()

    def _row(self, key: tuple[str, str, str]) -> Future[dict[str, Any]]:
        with self._lock:
            hit = self._last.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                done: Future[dict[str, Any]] = Future()
                done.set_result(hit[1])
                return done
            fut = self._inflight.get(key)
            if fut is None:
                fut = self._pool.submit(project_row, Path(key[0]), key[1], key[2])
                self._inflight[key] = fut
                gen = self._gen
                fut.add_done_callback(lambda f, key=key, gen=gen: self._done(key, f, gen))
            return fut

    def _done(self, key: tuple[str, str, str], fut: Future[dict[str, Any]], gen: int) -> None:
        with self._lock:
            if gen != self._gen:
                return
            self._inflight.pop(key, None)
            if not fut.cancelled() and fut.exception() is None:
                self._last[key] = (time.monotonic(), fut.result())

    async def rows(self, home: Path, root: str) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        listing = loop.run_in_executor(self._lister, project_names, home)
        names = await asyncio.wait_for(asyncio.shield(listing), timeout=max(self.budget, 5.0))
        keys = [(str(home), root, n) for n in names]
        waiting = [asyncio.wrap_future(self._row(k)) for k in keys]
        if waiting:
            await asyncio.wait(waiting, timeout=self.budget)  # never cancels a read
        rows = []
        with self._lock:
            for key, w in zip(keys, waiting, strict=True):
                if w.done() and not w.cancelled() and w.exception() is None:
                    rows.append(w.result())
                elif key in self._last:  # still reading: the last row, marked as such
                    rows.append({**self._last[key][1], "stale": True})
                else:
                    rows.append(
                        {"name": key[2], "folder": None, "state": "unknown", "error": "Timeout"}
                    )
            current = set(keys)
            for k in [k for k in self._last if k[0] == str(home) and k not in current]:
                del self._last[k]  # a project deleted from the home
        return rows


_STATUS = StatusReader()
#: Actions touch files and start processes: off the event loop too.
_ACTIONS = ThreadPoolExecutor(2, thread_name_prefix="aisearch-action")


class _Base(APIHandler):
    @property
    def home(self) -> Path:
        home = self.settings.get("aisearch_home")
        return resolve_home(home)

    @property
    def root(self) -> str:
        return os.path.realpath(self.settings["server_root_dir"])

    def _answer(self, status: int, data: dict[str, Any]) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))


class StatusHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            rows = await _STATUS.rows(self.home, self.root)
        except TimeoutError:
            return self._answer(503, {"message": "The projects' home did not answer in time."})
        self.finish(json.dumps({"projects": rows}))


class ActionHandler(_Base):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            body = self.get_json_body() or {}
        except Exception:
            return self._answer(400, {"message": "The body is not JSON."})
        home, root = self.home, self.root
        loop = asyncio.get_running_loop()
        code, data = await loop.run_in_executor(_ACTIONS, act, home, root, body)
        if code == 200:
            _STATUS.forget()  # the next status poll shows what this action changed
        self._answer(code, data)


def act(home: Path, root: str, body: Any) -> tuple[int, dict[str, Any]]:
    """What ``POST /action`` answers: (HTTP status, JSON body). Every value is checked
    before anything is sent or started: a bad action, schedule, model, project name
    or folder is a 400 (or 403/404) with the reason, and nothing happens."""
    from . import _requests

    def fail(code: int, message: str) -> tuple[int, dict[str, Any]]:
        return code, {"message": message.replace(str(home), "$AISEARCH_HOME")}

    if not isinstance(body, dict):
        return fail(400, "The body is not a JSON object.")
    action = body.get("action")
    if action not in _requests.ACTIONS:
        return fail(400, f"Unknown action: use one of {', '.join(_requests.ACTIONS)}.")
    try:
        schedule = _requests.check_schedule(body.get("schedule") or None)
        model = _requests.check_model(body.get("model") or None)
    except AISearchError as exc:
        return fail(400, str(exc))
    name = body.get("project")
    folder_abs: str | None = None
    if name is None:
        rel = body.get("folder")
        if not isinstance(rel, str):
            return fail(400, "Name a 'folder' (relative to the server root) or a 'project'.")
        folder_abs = _resolve(root, rel)
        if folder_abs is None:
            return fail(403, "That folder is not inside the server root.")
        if not os.path.isdir(folder_abs):
            return fail(404, "No such folder.")
        name = _project_of(home, folder_abs)
        if name is None and action != "enable":
            return fail(404, "That folder has no AI Search project.")
    else:
        try:
            check_name(name)
        except AISearchError:
            return fail(400, "Invalid project name.")
        if not (home / name / CONFIG_NAME).exists():
            return fail(404, "No such project.")
    try:
        how = _requests.dispatch(
            home, action, name=name, folder=folder_abs, model=model, schedule=schedule
        )
    except InvalidArgument as exc:
        return fail(400, str(exc))
    except _requests.RunnersBusy as exc:
        return fail(429, str(exc))
    except AISearchError as exc:
        return fail(409, str(exc))
    return 200, {"project": name, "action": action, **how}


def _resolve(root: str, rel: str) -> str | None:
    """The real path of a folder given relative to the root, if it lies inside."""
    if "\0" in rel or os.path.isabs(rel):
        return None
    real = os.path.realpath(os.path.join(root, rel))
    return real if _relative(real, root) is not None else None


def _project_of(home: Path, folder: str) -> str | None:
    for name in project_names(home):
        try:
            cfg = read_config(home / name / CONFIG_NAME, name)
            f = project_folder(cfg)
            if f and os.path.realpath(f) == folder:
                return name
        except Exception:  # a broken project is nobody's folder
            continue
    return None


#: Listing, counting and reading catalogs for the enable prompt: off the event loop,
#: and an answer waits at most this long (a count stops itself sooner).
_LOOKUPS = ThreadPoolExecutor(2, thread_name_prefix="aisearch-lookup")
LOOKUP_BUDGET_S = 10.0


class _Lookup(_Base):
    """A GET answered by ``self.lookup(home, root)`` run in a worker thread."""

    def lookup(self, home: Path, root: str) -> dict[str, Any]:
        raise NotImplementedError

    @tornado.web.authenticated
    async def get(self) -> None:
        home, root = self.home, self.root
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(_LOOKUPS, self.lookup, home, root)
        try:
            data = await asyncio.wait_for(work, timeout=LOOKUP_BUDGET_S)
        except FileNotFoundError:
            return self._answer(404, {"message": "No such folder under the server root."})
        except TimeoutError:
            return self._answer(503, {"message": "The disk did not answer in time."})
        except OSError as exc:
            return self._answer(403, {"message": f"The folder cannot be read: {exc.strerror}."})
        self.finish(json.dumps(data))


class FoldersHandler(_Lookup):
    def lookup(self, home: Path, root: str) -> dict[str, Any]:
        from ._estimate import list_folders

        return list_folders(root, self.get_query_argument("path", ""))


class ModelsHandler(_Lookup):
    def lookup(self, home: Path, root: str) -> dict[str, Any]:
        from ._estimate import default_model, models

        return {"default": default_model(), "models": models(home)}


class EstimateHandler(_Lookup):
    def lookup(self, home: Path, root: str) -> dict[str, Any]:
        from ._estimate import estimate

        model = self.get_query_argument("model", "") or None
        return estimate(home, root, self.get_query_argument("folder", ""), model)


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    base = url_path_join(web_app.settings["base_url"], NAMESPACE)
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "status"), StatusHandler),
            (url_path_join(base, "action"), ActionHandler),
            (url_path_join(base, "folders"), FoldersHandler),
            (url_path_join(base, "models"), ModelsHandler),
            (url_path_join(base, "estimate"), EstimateHandler),
        ],
    )
    serverapp.log.info("aisearch_widgets: server extension loaded at %s", base)


load_jupyter_server_extension = _load_jupyter_server_extension  # older servers
