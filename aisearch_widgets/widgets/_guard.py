"""What the browser may name. The browser side is not trusted (a shared Voilà page,
a hostile extension): it may name ids of the project's images only, never a path,
and a copy/export target it sends must lie inside the panel's ``allowed_dirs``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import AISearchError

if TYPE_CHECKING:
    from ..project import Project

# One reply for every id the front end names that is not an image of the project: a
# path, an id of another project, garbage. It must not tell which of those it was.
NOT_OURS = "That image is not part of this project."


def default_allowed(project: Project) -> list[str]:
    """The parent folders of the project's sources (of a listed file: its folder)."""
    out: dict[str, None] = {}
    for src in project.sources:
        if src.root is not None:
            out[os.path.dirname(os.path.abspath(src.root).rstrip(os.sep)) or os.sep] = None
        for p in src.paths:
            out[os.path.dirname(os.path.abspath(p))] = None
    return list(out)


def resolve_allowed(project: Project, dirs: Sequence[str | os.PathLike[str]] | None) -> list[str]:
    """``allowed_dirs`` as real paths (None: :func:`default_allowed`)."""
    dirs = default_allowed(project) if dirs is None else dirs
    return [os.path.realpath(os.path.expanduser(os.fspath(d))) for d in dirs]


def inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:
        return False


def project_ids(project: Project, ids: Any) -> list[str]:
    """The strings among ``ids`` that are ids of the project's images (one check for
    every id a message or a browser-set trait names)."""
    if not isinstance(ids, (list, tuple)):
        return []
    strs = [i for i in ids if isinstance(i, str) and len(i) <= 64][:10_000]
    known = project.catalog.records(strs) if strs else {}
    return [i for i in dict.fromkeys(strs) if i in known]


def allowed_target(allowed_dirs: list[str], raw: Any, folder: bool) -> str:
    """A copy/export target the browser sent, resolved (symlinks, ``..``) and checked
    to lie inside ``allowed_dirs``; an existing export file is refused. The refusal
    reads the same whether the path exists or not."""
    refuse = AISearchError(
        "Targets from the panel must be inside "
        + (", ".join(allowed_dirs) or "no folder (allowed_dirs is empty)")
        + " and must not replace a file. Pass allowed_dirs=[...] to SearchPanel, or "
        "call copy_to/export from Python."
    )
    if not isinstance(raw, str) or not raw.strip() or "\x00" in raw or len(raw) > 4096:
        raise refuse
    path = os.path.realpath(os.path.join(os.getcwd(), raw.strip()))
    if not any(inside(path, d) for d in allowed_dirs):
        raise refuse
    if not folder and os.path.lexists(path):
        raise refuse
    return path
