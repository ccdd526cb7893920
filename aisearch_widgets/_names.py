"""Names a terminal or a project folder gets: :func:`printable` makes a data string
safe to print, :func:`project_name_for` names the project of a folder. Used by every
front end that names things (the ``aisearch`` command, the ``%aisearch`` magic, the
request watcher)."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from ._errors import AISearchError
from ._home import CONFIG_NAME, read_config, resolve_home

_UNSAFE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def printable(text: object) -> str:
    """``text`` with control and format characters escaped (``\x1b``, ``\n``,
    ``\u202e`` …): every data string a terminal shows (paths, tags, names, errors)
    goes through here, so a file name cannot clear the screen, set the title or forge
    a result line."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(
        ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(ch) in _UNSAFE
        else ch
        for ch in s
    )


def project_name_for(path: Path, home: str | os.PathLike[str] | None = None) -> str:
    """The project name for a folder: its base name, unless a project of that name in
    ``home`` holds other sources; then the base name plus a short hash of the absolute
    path, so ``a/imgs`` and ``b/imgs`` never share (and re-target) one project."""
    root = os.path.abspath(os.path.expanduser(os.fspath(path)))
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(root).name).strip("-.") or "images"
    base = base[:64]
    if home is None:
        return base
    from .sources import normalize_sources, same_sources  # numpy and Pillow: when asked

    cfg_path = resolve_home(home) / base / CONFIG_NAME
    if not cfg_path.exists():
        return base
    try:
        stored = read_config(cfg_path, base)["sources"]
        given = [s.to_json() for s in normalize_sources(root)]
    except AISearchError:
        return base  # opening it will say what is wrong (a damaged config, a bad path)
    if same_sources(stored, given):
        return base
    return f"{base[:55]}-{hashlib.sha1(root.encode()).hexdigest()[:8]}"
