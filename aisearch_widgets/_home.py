"""The project home: where each project keeps its config, catalog, vectors and
thumbnails, and the lock that lets one process own an embedded project."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

from ._errors import AISearchError, ProjectLocked

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def default_home() -> Path:
    """``$AISEARCH_HOME`` or the user data directory (e.g. ~/.local/share/aisearch_widgets)."""
    env = os.environ.get("AISEARCH_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("aisearch_widgets", appauthor=False))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise AISearchError(
            f"Invalid project name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(schedule: str | float | int | None) -> float | None:
    """``"10m"``, ``"1h"``, ``"30s"``, ``"1d"``, a number of seconds, or None/"off"."""
    if schedule is None or schedule in ("off", "never", ""):
        return None
    if isinstance(schedule, (int, float)):
        seconds = float(schedule)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(schedule).lower())
        if not m:
            raise AISearchError(
                f"Invalid schedule {schedule!r}: use e.g. '30s', '10m', '1h', '1d' or None."
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if seconds < 1:
        raise AISearchError(f"Schedule {schedule!r} is shorter than one second.")
    return seconds


class HomeLock:
    """An exclusive, non-blocking lock on a project folder (``flock``; released by the
    OS if the process dies). The holder writes who it is, so a second process can
    say who holds the project and what to do."""

    def __init__(self, folder: Path, project: str) -> None:
        self.path = folder / "lock"
        self.project = project
        self._fh: Any = None

    def acquire(self) -> None:
        import fcntl

        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            try:
                holder = json.loads(fh.read() or "{}")
            except ValueError:
                holder = {}
            fh.close()
            since = holder.get("since")
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "?"
            raise ProjectLocked(
                f"Project {self.project!r} is open in another process "
                f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since {when}, "
                f"running {holder.get('cmd', '?')!r}). Close it there (proj.close() or end "
                "that kernel), or wait for it to finish; to use one project from several "
                "processes, keep its vectors on a Qdrant server (qdrant_url=...).",
                holder,
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": time.time(),
                    "cmd": " ".join(sys.argv)[:200],
                }
            )
        )
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.seek(0)
                self._fh.truncate()
            self._fh.close()
            self._fh = None
