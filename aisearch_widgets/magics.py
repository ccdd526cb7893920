"""IPython extension: ``%load_ext aisearch_widgets``.

``%aisearch PATH_OR_PROJECT [--model M] [--name N] [--schedule S]`` opens the search
panel for a folder or a saved project. A folder without an enabled project shows a
prompt first ("AI Search is not enabled for this folder: enable it?") with the model of
the new project (``--model``, else ``$AISEARCH_MODEL``, else the default); only its
button creates and enables the project. ``--enable`` skips that prompt (the
JupyterLab plugin asked already) for a folder that has no project yet. ``{…}`` and
``$name`` in the line are not expanded (a folder name is data, never code).
Re-running the cell shows the project's panel as it was (see ``widgets/_state.py``),
and ``%load_ext aisearch_widgets`` run again says nothing.
``%aisearch_status`` lists every project in the home with its state.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import AISearchError
from ._home import CONFIG_NAME


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, add_help=False, exit_on_error=False)
    p.add_argument("target", nargs="+")
    p.add_argument("--model", default=None)
    p.add_argument("--name", default=None)
    p.add_argument("--schedule", default="10m")
    p.add_argument("--home", default=None)
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--enable", action="store_true")
    return p


def _find_open(name: str, home: Path) -> Any:
    from .project import Project

    for p in Project.opened():
        if p.name == name and p.home.resolve() == home.resolve():
            return p
    return None


def open_panel(line: str) -> Any:
    """What ``%aisearch`` does; returns the panel (displayed by IPython)."""
    from ._errors import SourcesChanged
    from ._home import parse_interval, resolve_home
    from ._names import project_name_for
    from .embedder import DEFAULT_MODEL, parse_model_spec
    from .project import Project
    from .sources import same_sources
    from .widgets import SearchPanel

    try:
        args = _parser("%aisearch").parse_args(shlex.split(line))
    except (argparse.ArgumentError, SystemExit) as exc:
        raise AISearchError(
            "usage: %aisearch PATH_OR_PROJECT [--model M] [--name N] [--schedule 10m] [--enable]"
        ) from exc
    parse_interval(args.schedule)  # a bad --schedule is refused before anything opens
    home = resolve_home(args.home)
    model = args.model or os.environ.get("AISEARCH_MODEL") or DEFAULT_MODEL
    if len(args.target) > 1 or Path(args.target[0]).expanduser().is_file():
        return _open_files(args, home, model)
    target = args.target[0]
    path = Path(target).expanduser()
    if path.exists():
        # The name never points at a project of another folder (a/imgs vs b/imgs), and
        # an explicit --name holding other sources is refused by Project itself.
        name = args.name or project_name_for(path, home)
        proj = _find_open(name, home)
        if proj is None:
            if not (home / name / CONFIG_NAME).exists():
                # Nothing is created before the user says so (--enable: said already).
                return _ask(os.path.abspath(path), args, name=name, home=home, model=model)
            proj = Project(name, sources=str(path), home=home)
            if args.model and parse_model_spec(args.model) != parse_model_spec(proj.model):
                print(
                    f"aisearch: {name} keeps its model {proj.model} (its vectors are made "
                    f"with it); --model applies to new projects."
                )
        elif not same_sources([s.to_json() for s in proj.sources], _sources_json(path)):
            raise SourcesChanged(
                f"Project {name!r} is open in this kernel with other sources than {path}; "
                "call proj.set_sources(...) to change them, or pick another --name."
            )
    elif target in Project.names(home):
        proj = _find_open(target, home) or Project.open(target, home=home)
    else:
        known = ", ".join(Project.names(home)) or "none"
        raise AISearchError(
            f"{target!r} is neither a folder nor a project in {home} (projects: {known})."
        )
    if not proj.enabled and not proj.status.first_pass_done:
        folder = os.path.abspath(path) if path.exists() else proj.name
        return _ask(folder, args, name=proj.name, home=home, model=model, project=proj)
    # A disabled project with embeddings opens as it is: search works, and the
    # panel's own button enables it again.
    return SearchPanel(proj, limit=args.limit)


def _ask(
    folder: str | list[str],
    args: argparse.Namespace,
    *,
    name: str,
    home: Path,
    model: str,
    project: Any = None,
) -> Any:
    """The prompt that asks before enabling ``folder``, with the options of the magic's
    line; ``--enable`` answers it at once (and a failure to enable is an error)."""
    from .widgets._enable import EnablePrompt

    prompt = EnablePrompt(
        folder,
        name=name,
        home=home,
        model=model,
        project=project,
        schedule=args.schedule,
        limit=args.limit,
    )
    if args.enable and prompt.enable() is None:
        raise AISearchError(prompt.message.value)
    return prompt


def _open_files(args: argparse.Namespace, home: Path, model: str) -> Any:
    """``%aisearch a.png b.png …``: a project of these image files (named after their
    folder and a hash of the list unless ``--name``), asked for like a folder."""
    import hashlib

    from ._names import project_name_for
    from .project import Project
    from .widgets import SearchPanel

    paths = sorted({os.path.abspath(Path(t).expanduser()) for t in args.target})
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise AISearchError(f"No such image file: {missing[0]!r}.")
    digest = hashlib.sha1("\0".join(paths).encode()).hexdigest()[:8]
    base = project_name_for(Path(paths[0]).parent)[:50]
    name = args.name or f"{base}-files-{digest}"
    proj = _find_open(name, home)
    if proj is None and (home / name / CONFIG_NAME).exists():
        proj = Project(name, sources=paths, home=home)
    if proj is not None and (proj.enabled or proj.status.first_pass_done):
        return SearchPanel(proj, limit=args.limit)
    return _ask(paths, args, name=name, home=home, model=model, project=proj)


def _sources_json(path: Path) -> list[dict]:
    from .sources import normalize_sources

    return [s.to_json() for s in normalize_sources(str(path))]


def status_table(home: str | None = None) -> pd.DataFrame:
    """Every project in the home with its state (``%aisearch_status``)."""
    from ._home import resolve_home
    from .project import Project
    from .status import read_status

    h = resolve_home(home or None)
    rows = []
    for name in Project.names(h):
        open_here = _find_open(name, h)
        st = open_here.status if open_here is not None else read_status(name, h)
        if open_here is not None:
            where = "this kernel"
        else:
            where = f"pid {st.holder['pid']}" if st.holder.get("pid") else ""
        rows.append(
            {
                "project": name,
                "state": st.state,
                "done": st.done,
                "total": st.total,
                "failed": st.failed,
                "model": st.model,
                "schedule": st.schedule,
                "updated": pd.Timestamp(st.updated_at, unit="s") if st.updated_at else None,
                "open in": where,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "project",
            "state",
            "done",
            "total",
            "failed",
            "model",
            "schedule",
            "updated",
            "open in",
        ],
    )


def load_ipython_extension(ipython: Any) -> None:
    from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

    @magics_class
    class AISearchMagics(Magics):
        @line_magic
        @no_var_expand  # "{…}" or "$x" in a folder name must not run as code
        def aisearch(self, line: str) -> Any:
            """%aisearch PATH_OR_PROJECT|IMAGE… [--model M] [--name N] [--schedule 10m] [--enable]"""
            try:
                return open_panel(line)
            except AISearchError as exc:
                from ._names import printable

                print(f"aisearch: {printable(exc)}")
                return None

        @line_magic
        def aisearch_status(self, line: str) -> pd.DataFrame:
            """%aisearch_status [HOME]"""
            return status_table(line.strip() or None)

    ipython.register_magics(AISearchMagics)
    _quiet_reload(ipython)


_EXTENSION = "aisearch_widgets"


def _quiet_reload(ipython: Any) -> None:
    """Make the next ``%load_ext aisearch_widgets`` load again, silently.

    The notebook "AI Search…" writes starts with ``%load_ext aisearch_widgets`` and is
    re-run each time the folder is opened again; IPython answers a second load of an
    extension with "already loaded. To reload it, use: %reload_ext", printed above the
    panel. Registering the magics is idempotent, so before the next cell runs the
    extension is marked as not loaded: a ``%load_ext`` in it registers them again,
    quietly."""
    manager = getattr(ipython, "extension_manager", None)
    events = getattr(ipython, "events", None)
    if manager is None or events is None or not isinstance(getattr(manager, "loaded", None), set):
        return

    def forget(*_args: Any) -> None:
        manager.loaded.discard(_EXTENSION)
        events.unregister("pre_run_cell", forget)

    waiting = events.callbacks.get("pre_run_cell", [])
    if not any(getattr(cb, "__qualname__", "") == forget.__qualname__ for cb in waiting):
        events.register("pre_run_cell", forget)
