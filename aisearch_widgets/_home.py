"""The project home: where each project keeps its config, catalog, vectors and
thumbnails, and the lock that lets one process own an embedded project."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import stat
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from ._errors import (
    AISearchError,
    ProjectCorrupt,
    ProjectLocked,
    check_not_newer,
    repair_hint,
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

CONFIG_NAME = "project.json"
CATALOG_NAME = "catalog.sqlite"
LOCK_NAME = "lock"
REQUESTS_DIR = "requests"  # requests to the owner of a locked project (_requests)
# The format of project.json. Bump it with a step in upgrade_config() when fields
# are added or change meaning. 1: the first release. 2: "identity" (the exact
# weights) and "dim" (the vector size), so that a project opens without its model.
# 3: "video_fps" (frames sampled per second of video; 1.0 for older projects).
CONFIG_VERSION = 3


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding all projects: ``home`` if given (``~`` expanded), else
    ``$AISEARCH_HOME``, else the user data directory (e.g.
    ~/.local/share/aisearch_widgets). Every entry point resolves it here."""
    if home is not None and os.fspath(home) != "":
        return Path(home).expanduser()
    env = os.environ.get("AISEARCH_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("aisearch_widgets", appauthor=False))


def project_names(home: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the projects in a home folder (folders holding a project.json)."""
    h = resolve_home(home)
    if not h.is_dir():
        return []
    return sorted(p.name for p in h.iterdir() if (p / CONFIG_NAME).is_file())


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise AISearchError(
            f"Invalid project name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file, opened without blocking: a FIFO or device in its place is an
    ``OSError``, not a reader that hangs (a status poll reads every project's)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, encoding="utf-8") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return json.load(fh)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (0600): a
    project's config names private folders and servers."""
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a leftover tmp file
    os.replace(tmp, path)


def config_problem(cfg: Any) -> str | None:
    """What is wrong with a parsed project.json, or None."""
    if not isinstance(cfg, dict):
        return f"it holds a JSON {type(cfg).__name__}, not an object"
    model = cfg.get("model")
    if not isinstance(model, str) or not model.strip():
        return "'model' is missing or not a text"
    srcs = cfg.get("sources")
    if not isinstance(srcs, list) or not srcs:
        return "'sources' is missing or not a non-empty list"
    for s in srcs:
        if not isinstance(s, dict) or not isinstance(s.get("label"), str):
            return f"a source is not an object with a 'label': {s!r:.80}"
        if s.get("kind") == "folder":
            if not isinstance(s.get("root"), str):
                return f"the folder source {s['label']!r} has no 'root' path"
        elif s.get("kind") == "files":
            paths = s.get("paths")
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                return f"the files source {s['label']!r} has no list of 'paths'"
        else:
            return f"a source has an unknown kind {s.get('kind')!r:.40}"
    if not isinstance(cfg.get("enabled", False), bool):
        return "'enabled' is not true or false"
    if not isinstance(cfg.get("schedule"), (str, int, float, type(None))):
        return "'schedule' is not a text"
    if not isinstance(cfg.get("qdrant_url"), (str, type(None))):
        return "'qdrant_url' is not a text"
    fps = cfg.get("video_fps", 1.0)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
        return "'video_fps' is not a number of frames per second"
    return None


def config_version(cfg: dict[str, Any]) -> int:
    """The format version a parsed project.json declares (1 when it says none)."""
    v = cfg.get("version", 1)
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else 1


def read_config(path: Path, name: str) -> dict[str, Any]:
    """A project's ``project.json``, checked; :class:`ProjectCorrupt` naming the file
    and the way out if it cannot be read or lacks what a project needs,
    :class:`ProjectFormatTooNew` if a newer version of the package wrote it. An older
    format is returned as it is: :func:`._upgrade.upgrade_config` brings it up to date."""
    try:
        cfg = read_json(path)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        why: str | None = f"{type(exc).__name__}: {exc}"
    else:
        why = config_problem(cfg)
    if why is None:
        check_not_newer(path, config_version(cfg), CONFIG_VERSION, CONFIG_NAME)
        return cfg
    raise ProjectCorrupt(
        f"{path} cannot be used ({why}). {repair_hint(name)} to rebuild it from the "
        'catalog, or fix the file: it needs at least {"model": "<model spec>", '
        '"sources": [{"kind": "folder", "label": "<name>", "root": "/abs/folder"}]}.',
        str(path),
    )


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The range of an update schedule, in seconds: a timer needs a finite, bounded wait
#: (200,000 days overflows the indexer's clock), and a sync more often than every
#: second only rescans.
MIN_INTERVAL = 1.0
MAX_INTERVAL = 365 * 86400.0
_RANGE = "between 1s and 365d"
_OFF = ("off", "never", "", "none", "manual")
_HOW = "use e.g. '30s', '10m', '1h', '1d', a number of seconds, or None/'off'."


def _shown(schedule: object) -> str:
    """The schedule as an error names it: its repr, cut to a readable length."""
    r = repr(schedule)
    return r if len(r) <= 40 else r[:37] + "..."


def _seconds(schedule: object) -> float | None:
    """The seconds a schedule names (None: manual), not yet checked against the range
    (it may be inf or NaN); :class:`AISearchError` when it is no schedule at all."""
    if schedule is None or (isinstance(schedule, str) and schedule.strip().lower() in _OFF):
        return None
    if isinstance(schedule, bool):
        raise AISearchError(f"Invalid schedule {schedule!r}: {_HOW}")
    if isinstance(schedule, (int, float)):
        try:
            return float(schedule)
        except OverflowError:  # an int too large for a float
            return math.inf
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(schedule).lower())
    if not m:
        raise AISearchError(f"Invalid schedule {_shown(schedule)}: {_HOW}")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]  # 400 digits: inf, not an error


def parse_interval(schedule: str | float | int | None) -> float | None:
    """``"10m"``, ``"1h"``, ``"30s"``, ``"1d"``, a number of seconds, or None/"off"
    (manual updates only), in seconds; :class:`AISearchError` naming the value when it
    is none of these or lies outside 1 s … 365 d. Every entry point checks a schedule
    here: ``Project.enable``, the ``Project.schedule`` setter, ``%aisearch --schedule``,
    ``aisearch index --schedule`` and the lab extension's settings (through the
    server's action endpoint).

    >>> parse_interval("10m"), parse_interval("off")
    (600.0, None)
    """
    seconds = _seconds(schedule)
    if seconds is not None and not MIN_INTERVAL <= seconds <= MAX_INTERVAL:  # NaN too
        raise AISearchError(
            f"Schedule {_shown(schedule)} is out of range: use an interval {_RANGE} "
            "(e.g. '30s', '10m', '1h', '1d'), or None/'off' for manual updates only."
        )
    return seconds


def stored_interval(schedule: object, where: str) -> float | None:
    """The interval of a schedule read back from a project.json (``where`` names it):
    like :func:`parse_interval`, but a value an older version let through does not stop
    the project from opening. One out of range is clamped into it, one that cannot be
    read means manual updates; either way with a warning saying how to set a valid one.
    """
    try:
        return parse_interval(schedule)  # type: ignore[arg-type]
    except AISearchError as exc:
        try:
            seconds = _seconds(schedule)
        except AISearchError:
            seconds = None
        if seconds is not None and math.isnan(seconds):
            seconds = None
        if seconds is not None:
            seconds = min(max(seconds, MIN_INTERVAL), MAX_INTERVAL)
        use = "manual updates only" if seconds is None else f"an update every {seconds:g} s"
        warnings.warn(
            f"{where}: {exc} Using {use} for now; set a valid one with "
            "proj.schedule = '10m' (or proj.enable(schedule=...)).",
            stacklevel=3,
        )
        return seconds


#: The lock file in a project folder. Its holder writes who it is, as JSON:
#: ``{"pid", "host", "since", "cmd"}``; :func:`read_holder` reads it back.
LOCK_NAME = "lock"
_HOLDER_MAX = 4096  # bytes of a lock file worth reading; the record is ~300


def holder_record() -> dict[str, Any]:
    """Who this process is, as a lock file records it."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.time(),
        "cmd": " ".join(sys.argv)[:200],
    }


def parse_holder(raw: bytes | str) -> dict[str, Any]:
    """The record of a lock file's text (empty when it is empty or damaged: a damaged
    lock file only hides who holds the project)."""
    try:
        holder = json.loads(raw or "{}")
    except (ValueError, RecursionError):  # RecursionError: 4 KB of '['
        return {}
    return holder if isinstance(holder, dict) else {}


def read_holder(lock: Path) -> dict[str, Any]:
    """Who holds a project, from its lock file (empty if nobody or unreadable): read
    without blocking and at most 4 KB, like every file a status poll reads. The record
    stays after a holder dies: :func:`holder_alive` says whether it still runs."""
    try:
        fd = os.open(lock, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        return parse_holder(os.read(fd, _HOLDER_MAX))
    except OSError:
        return {}
    finally:
        os.close(fd)


def holder_alive(holder: dict[str, Any]) -> bool:
    """Whether the process named in a lock record still runs (the lock is released by
    the OS when its holder dies, but the file keeps its last words)."""
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return False
    if holder.get("host") not in (None, socket.gethostname()):
        return True  # another machine: trust the record
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):  # a pid no process can have
        return False
    return True


class HomeLock:
    """An exclusive, non-blocking lock on a project folder (``flock``; released by the
    OS if the process dies). The holder writes who it is, so a second process can
    say who holds the project and what to do."""

    def __init__(self, folder: Path, project: str) -> None:
        self.path = folder / LOCK_NAME
        self.project = project
        self._fh: Any = None

    def acquire(self) -> None:
        import fcntl

        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = parse_holder(fh.read(_HOLDER_MAX))
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
        fh.write(json.dumps(holder_record()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.seek(0)
                self._fh.truncate()
            self._fh.close()
            self._fh = None
