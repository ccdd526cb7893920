"""Jupyter Server extension behind the JupyterLab plugin.

``GET  /aisearch-widgets/status``   every project in the home: name, the folder it
    indexes relative to the server root (or null), state, counts, times. Read without
    taking any project's lock (as ``aisearch status`` does). Status only: no file
    contents, no paths outside the server root, not even the home's own path.
``POST /aisearch-widgets/action``   ``{"action": "enable"|"disable"|"update",
    "folder": "<relative to the server root>"}`` or ``{"action": …, "project": name}``;
    optional ``"model"`` (for a new project) and ``"schedule"``. Delivered to the
    process that owns the project (see :mod:`aisearch_widgets._requests`).

Handlers subclass ``APIHandler`` with ``@tornado.web.authenticated``: the server's
token/XSRF checks apply and unauthenticated requests get 403.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ._errors import AISearchError
from ._home import check_name, read_config, resolve_home

NAMESPACE = "aisearch-widgets"


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the process named in a lock file still runs (the lock is released by
    the OS when its holder dies, but the file keeps its last words)."""
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    if holder.get("host") not in (None, socket.gethostname()):
        return True  # another machine: trust the record
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def project_rows(home: Path, root: str) -> list[dict[str, Any]]:
    """One status row per project in the home (a broken project gives a row saying so)."""
    from .project import Project
    from .status import read_status

    rows = []
    for name in Project.names(home):
        row: dict[str, Any] = {"name": name, "folder": None}
        try:
            cfg = read_config(home / name / "project.json", name)
            folder = project_folder(cfg)
            row["folder"] = _relative(folder, root) if folder else None
            st = read_status(name, home)
        except AISearchError as exc:
            row.update(state="broken", error=type(exc).__name__)
            rows.append(row)
            continue
        held = bool(st.holder) and _alive(st.holder)
        # Unfinished: files left, or never synced (the first scan has not counted them).
        unfinished = st.total - st.done - st.failed > 0 or st.updated_at is None
        if not st.enabled:
            state = "disabled"
        elif unfinished and held:
            state = "indexing"
        elif unfinished:
            state = "waiting"  # enabled, not finished, and no process has it open
        else:
            state = "ready"
        row.update(
            state=state,
            enabled=st.enabled,
            done=st.done,
            total=st.total,
            failed=st.failed,
            pending=st.pending,
            updated_at=st.updated_at,
            model=st.model,
            schedule=st.schedule,
            open=held,
        )
        rows.append(row)
    return rows


class _Base(APIHandler):
    @property
    def home(self) -> Path:
        home = self.settings.get("aisearch_home")
        return resolve_home(home)

    @property
    def root(self) -> str:
        return os.path.realpath(self.settings["server_root_dir"])

    def _fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message}))


class StatusHandler(_Base):
    @tornado.web.authenticated
    def get(self) -> None:
        rows = project_rows(self.home, self.root)
        self.finish(json.dumps({"projects": rows}))


class ActionHandler(_Base):
    @tornado.web.authenticated
    def post(self) -> None:
        from . import _requests

        try:
            body = self.get_json_body() or {}
        except Exception:
            return self._fail(400, "The body is not JSON.")
        if not isinstance(body, dict):
            return self._fail(400, "The body is not a JSON object.")
        action = body.get("action")
        if action not in _requests.ACTIONS:
            return self._fail(400, f"Unknown action: use one of {', '.join(_requests.ACTIONS)}.")
        model = body.get("model") or None
        schedule = body.get("schedule") or None
        if not isinstance(model, (str, type(None))) or not isinstance(schedule, (str, type(None))):
            return self._fail(400, "'model' and 'schedule' must be texts.")
        name = body.get("project")
        folder_abs: str | None = None
        if name is None:
            rel = body.get("folder")
            if not isinstance(rel, str):
                return self._fail(
                    400, "Name a 'folder' (relative to the server root) or a 'project'."
                )
            folder_abs = self._resolve(rel)
            if folder_abs is None:
                return self._fail(403, "That folder is not inside the server root.")
            if not os.path.isdir(folder_abs):
                return self._fail(404, "No such folder.")
            name = self._project_of(folder_abs)
            if name is None and action != "enable":
                return self._fail(404, "That folder has no AI Search project.")
        else:
            try:
                check_name(name)
            except AISearchError:
                return self._fail(400, "Invalid project name.")
            if not (self.home / name / "project.json").exists():
                return self._fail(404, "No such project.")
        try:
            how = _requests.dispatch(
                self.home,
                action,
                name=name,
                folder=folder_abs,
                model=model,
                schedule=schedule,
            )
        except AISearchError as exc:
            return self._fail(409, str(exc))
        self.finish(json.dumps({"project": name, "action": action, **how}))

    def _resolve(self, rel: str) -> str | None:
        """The real path of a folder given relative to the root, if it lies inside."""
        if "\0" in rel or os.path.isabs(rel):
            return None
        root = self.root
        real = os.path.realpath(os.path.join(root, rel))
        return real if _relative(real, root) is not None else None

    def _project_of(self, folder: str) -> str | None:
        from .project import Project

        for name in Project.names(self.home):
            try:
                cfg = read_config(self.home / name / "project.json", name)
            except AISearchError:
                continue
            f = project_folder(cfg)
            if f and os.path.realpath(f) == folder:
                return name
        return None


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    base = url_path_join(web_app.settings["base_url"], NAMESPACE)
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "status"), StatusHandler),
            (url_path_join(base, "action"), ActionHandler),
        ],
    )
    serverapp.log.info("aisearch_widgets: server extension loaded at %s", base)


load_jupyter_server_extension = _load_jupyter_server_extension  # older servers
