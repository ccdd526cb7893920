"""What the JupyterLab plugin shows before a folder is enabled: the folders under the
server root (its folder picker), the models to choose from, and an estimate of the
work (images found, time at this machine's measured rate, disk).

Everything here runs in the Jupyter server, off its event loop (see ``labserver``),
and is bounded: a listing stops at :data:`MAX_FOLDERS` entries, a count at
:data:`MAX_ENTRIES` directory entries or :data:`COUNT_BUDGET_S` seconds (and says it
stopped: "at least N"). Nothing imports torch or open_clip: the server stays light.
Paths are given and answered relative to the server root; nothing outside it is
listed, counted or named.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from ._home import CATALOG_NAME, CONFIG_NAME, project_names, read_config
from .images import IMAGE_EXTENSIONS
from .video import VIDEO_EXTENSIONS

#: Subfolders one listing answers (the rest: "truncated").
MAX_FOLDERS = 500
#: Directory entries one count visits at most, and the seconds it may take.
MAX_ENTRIES = 200_000
COUNT_BUDGET_S = 2.0
#: A 192 px JPEG thumbnail, a catalog row and the store's own bookkeeping per image.
THUMB_BYTES = 8_000
ROW_BYTES = 600
#: The vector size assumed when neither a project nor the model's config says.
DEFAULT_DIM = 512
#: Models offered besides the default and those already used here (open_clip names).
KNOWN_MODELS = (
    "ViT-B-32:laion2b_s34b_b79k",
    "ViT-B-16:laion2b_s34b_b88k",
    "ViT-L-14:laion2b_s32b_b82k",
    "ViT-B-32:openai",
)
#: A pause longer than this between two embedded files ends a measured run.
_RUN_GAP_S = 60.0
_RATE_ROWS = 5_000
_ARCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def inside(root: str, rel: str) -> str | None:
    """The real path of ``rel`` (relative to the real ``root``) if it lies inside."""
    if not isinstance(rel, str) or "\0" in rel or os.path.isabs(rel):
        return None
    real = os.path.realpath(os.path.join(root, rel))
    try:
        if os.path.commonpath([real, root]) != root:
            return None
    except ValueError:
        return None
    return real


def _rel(real: str, root: str) -> str:
    rel = os.path.relpath(real, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


def list_folders(root: str, rel: str) -> dict[str, Any]:
    """The subfolders of ``rel`` (hidden ones left out, sorted by name), each with its
    path relative to the root. ``FileNotFoundError`` for a folder that is not there or
    not inside the root."""
    folder = inside(root, rel)
    if folder is None or not os.path.isdir(folder):
        raise FileNotFoundError(rel)
    names: list[str] = []
    truncated = False
    with os.scandir(folder) as it:
        for e in it:
            if e.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                if e.is_dir() and inside(root, os.path.join(_rel(folder, root), e.name)):
                    if len(names) >= MAX_FOLDERS:
                        truncated = True
                        break
                    names.append(e.name)
    names.sort(key=str.casefold)
    here = _rel(folder, root)
    return {
        "path": here,
        "folders": [{"name": n, "path": f"{here}/{n}" if here else n} for n in names],
        "truncated": truncated,
    }


def count_media(
    folder: str, max_entries: int = MAX_ENTRIES, budget_s: float = COUNT_BUDGET_S
) -> dict[str, Any]:
    """Images and videos under ``folder`` as the indexer finds them (hidden entries
    skipped, each folder once), with their bytes. ``complete`` is False when the count
    stopped at ``max_entries`` entries or ``budget_s`` seconds."""
    images = videos = size = seen = 0
    deadline = time.monotonic() + budget_s
    try:
        st = os.stat(folder)
    except OSError:
        return {"images": 0, "videos": 0, "bytes": 0, "complete": True}
    visited = {(st.st_dev, st.st_ino)}
    stack = [folder]
    complete = True
    while stack and complete:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for e in it:
                seen += 1
                if seen > max_entries or (seen % 512 == 0 and time.monotonic() > deadline):
                    complete = False
                    break
                if e.name.startswith("."):
                    continue
                try:
                    if e.is_dir():
                        dst = e.stat()
                        ident = (dst.st_dev, dst.st_ino)
                        if ident not in visited:
                            visited.add(ident)
                            stack.append(e.path)
                        continue
                    ext = os.path.splitext(e.name)[1].lower()
                    if ext in IMAGE_EXTENSIONS:
                        images += 1
                    elif ext in VIDEO_EXTENSIONS:
                        videos += 1
                    else:
                        continue
                    size += e.stat().st_size
                except OSError:
                    continue
    return {"images": images, "videos": videos, "bytes": size, "complete": complete}


def _configs(home: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name in project_names(home):
        with contextlib.suppress(Exception):  # a broken project tells nothing here
            out.append((name, read_config(home / name / CONFIG_NAME, name)))
    return out


def _model_dim(model: str, configs: list[tuple[str, dict[str, Any]]]) -> int | None:
    """The vector size of ``model``: from a project using it, else from open_clip's
    bundled config (read as a file: importing open_clip imports torch)."""
    for _, cfg in configs:
        if cfg.get("model") == model and isinstance(cfg.get("dim"), int):
            return int(cfg["dim"])
    if model == "demo":
        from .embedder import demo_model_dir

        try:
            cfg = json.loads((Path(demo_model_dir()) / "open_clip_config.json").read_text())
            return int(cfg["model_cfg"]["embed_dim"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    arch = model.partition(":")[0]
    if not _ARCH.fullmatch(arch):
        return None  # not a name of open_clip's bundled configs
    import importlib.util

    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model_configs" / f"{arch}.json"
    try:
        return int(json.loads(path.read_text())["embed_dim"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def measured_rate(db: Path, timeout: float = 0.5) -> float | None:
    """Images per second of the latest run that embedded files in the catalog ``db``
    (its newest embedded rows, up to the first pause of over a minute), read-only;
    None when too few files were embedded in one go to tell."""
    try:
        con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error:
        return None
    try:
        times = [
            float(t)
            for (t,) in con.execute(
                "SELECT updated_at FROM files WHERE status = 'embedded' "
                "ORDER BY updated_at DESC LIMIT ?",
                (_RATE_ROWS,),
            )
        ]
    except sqlite3.Error:
        return None
    finally:
        con.close()
    run = times[:1]
    for t in times[1:]:
        if run[-1] - t > _RUN_GAP_S:
            break
        run.append(t)
    span = run[0] - run[-1] if run else 0.0
    if len(run) < 20 or span < 1.0:
        return None
    # Rows carry the time their batch was written: the oldest batch of the run was
    # embedded before the span began.
    return (len(run) - run.count(run[-1])) / span


def time_left(db: Path, done: int, total: int) -> float:
    """Seconds left of the sync running on the catalog ``db`` (-1: not known): what
    is left (``total - done``, failures counted as done) at the rate of its latest run
    (:func:`measured_rate`). The panel's header and the lab's status bar both ask this,
    so they say the same."""
    if done >= total:
        return -1.0
    rate = measured_rate(db)
    return round((total - done) / rate, 1) if rate else -1.0


def left_text(seconds: float) -> str:
    """``time_left`` for people: "about 3 min left" ("" when not known)."""
    return f"about {fmt_seconds(seconds)} left" if seconds >= 0 else ""


def _is_path(model: str) -> bool:
    """Whether a model spec names a file or folder (a model folder, a checkpoint)."""
    arch, _, tag = model.partition(":")
    return (
        any(c in model for c in "/\\")
        or arch.startswith(("~", "."))
        or tag.endswith((".safetensors", ".pt", ".bin", ".pth"))
    )


def default_model() -> str:
    """The model a kernel of this server gives a new project when none is named:
    ``$AISEARCH_MODEL`` (unless it is a path, which the page never sees), else the
    package's default."""
    from .embedder import DEFAULT_MODEL

    env = os.environ.get("AISEARCH_MODEL", "").strip()
    return env if env and not _is_path(env) else DEFAULT_MODEL


def models(home: Path) -> list[dict[str, Any]]:
    """The models to offer: those of the projects here first (installed: their weights
    were loaded on this machine; model folders and checkpoints are left out, being
    paths), then the bundled demo model and the well-known
    open_clip ones. Each: ``id`` (what ``--model`` takes), ``installed``, ``projects``
    (how many projects here use it) and ``dim`` when known."""
    from .embedder import DEFAULT_MODEL

    configs = _configs(home)
    used: dict[str, int] = {}
    for _, cfg in configs:
        m = cfg.get("model")
        # A model folder is a path on this machine: the page never sees one.
        if isinstance(m, str) and m and (m == "demo" or not _is_path(m)):
            used[m] = used.get(m, 0) + 1
    ids = list(dict.fromkeys([*used, "demo", default_model(), DEFAULT_MODEL, *KNOWN_MODELS]))
    return [
        {
            "id": m,
            "installed": m in used or m == "demo",
            "projects": used.get(m, 0),
            "dim": _model_dim(m, configs),
        }
        for m in ids
    ]


def model_choices(home: Path, first: str) -> list[dict[str, Any]]:
    """The models of an enable prompt's dropdown: ``first`` (the setting's default,
    known here or not), then :func:`models` in their order."""
    rows = models(home)
    first = first.strip()
    if first and all(r["id"] != first for r in rows):
        rows.insert(0, {"id": first, "installed": False, "projects": 0, "dim": None})
    return sorted(rows, key=lambda r: r["id"] != first)  # stable: the rest keep their order


def model_label(row: dict[str, Any]) -> str:
    """A dropdown's text for a model row: "ViT-B-32:openai (used by 2 projects)"."""
    n = row["projects"]
    if n:
        note = f"used by {n} project{'' if n == 1 else 's'}"
    else:
        note = "installed" if row["installed"] else "downloaded on first use"
    return f"{row['id']} ({note})"


def estimate(home: Path, root: str, rel: str, model: str | None) -> dict[str, Any]:
    """What enabling the folder ``rel`` (under the server root) would take with
    ``model``: see :func:`estimate_media`, plus ``folder`` relative to the root and
    ``lines``, the text the enable prompts show (:func:`estimate_lines`)."""
    folder = inside(root, rel)
    if folder is None or not os.path.isdir(folder):
        raise FileNotFoundError(rel)
    e = estimate_media(home, folder, model)
    return {"folder": _rel(folder, root), **e, "lines": estimate_lines(e)}


def estimate_media(home: Path, media: str | list[str], model: str | None) -> dict[str, Any]:
    """What enabling ``media`` (a folder, or a list of files) would take with
    ``model``: the media found (``images``, ``videos``, ``bytes``, ``complete``),
    ``seconds`` at the rate measured on this machine for that model (``rate``, images
    per second, and ``rate_from``, the project it was measured on; both None when no
    project here tells), and ``disk_bytes`` (vectors, thumbnails and catalog)."""
    from .embedder import DEFAULT_MODEL

    model = model or DEFAULT_MODEL
    found = count_media(media) if isinstance(media, str) else _count_files(media)
    configs = _configs(home)
    rate, rate_from = None, None
    for name, cfg in configs:
        if cfg.get("model") != model:
            continue
        r = measured_rate(home / name / CATALOG_NAME)
        if r is not None and (rate is None or r > rate):
            rate, rate_from = r, name
    n = found["images"]
    dim = _model_dim(model, configs) or DEFAULT_DIM
    return {
        "model": model,
        **found,
        "rate": rate,
        "rate_from": rate_from,
        "seconds": n / rate if rate else None,
        "disk_bytes": n * (dim * 4 + THUMB_BYTES + ROW_BYTES),
    }


def _count_files(paths: list[str]) -> dict[str, Any]:
    """:func:`count_media` of a list of files."""
    images = videos = size = 0
    for p in paths:
        ext = os.path.splitext(p)[1].lower()
        if ext not in IMAGE_EXTENSIONS and ext not in VIDEO_EXTENSIONS:
            continue
        try:
            size += os.stat(p).st_size
        except OSError:
            continue
        images += ext in IMAGE_EXTENSIONS
        videos += ext in VIDEO_EXTENSIONS
    return {"images": images, "videos": videos, "bytes": size, "complete": True}


def fmt_bytes(n: float) -> str:
    """A size for people: "512 bytes", "7.5 MB", "12 GB"."""
    units = ["bytes", "KB", "MB", "GB", "TB"]
    u = 0
    while n >= 1000 and u < len(units) - 1:
        n /= 1000
        u += 1
    if u == 0:
        return f"{round(n)} {units[0]}"
    return f"{n:.1f} {units[u]}" if n < 10 else f"{round(n)} {units[u]}"


def fmt_seconds(s: float) -> str:
    """A duration for people: "40 s", "12 min", "3.5 h"."""
    if s < 90:
        return f"{max(1, round(s))} s"
    if s < 90 * 60:
        return f"{round(s / 60)} min"
    h = s / 3600
    return f"{h:.1f} h" if h < 10 else f"{round(h)} h"


def estimate_lines(e: dict[str, Any]) -> list[str]:
    """An estimate (:func:`estimate_media`) as the lines the enable prompts show:
    images found, time, disk (the notebook's prompt and the lab plugin's, which gets
    them with the estimate)."""
    more = "" if e["complete"] else " or more"
    n = e["images"]
    found = f"{n:,}{more} image{'' if n == 1 else 's'}"
    if e["videos"]:
        found += f" and {e['videos']:,} video{'' if e['videos'] == 1 else 's'}"
    found += f" found ({fmt_bytes(e['bytes'])})"
    if e["seconds"] is not None and e["rate"]:
        time_ = (
            f"Time: about {fmt_seconds(e['seconds'])} at {e['rate']:.1f} images/s, the rate "
            "measured on this machine" + (f" (project {e['rate_from']})" if e["rate_from"] else "")
        )
    else:
        time_ = "Time: not known yet (no project has been embedded with this model on this machine)"
    disk = f"Disk: about {fmt_bytes(e['disk_bytes'])} (vectors, thumbnails, catalog)"
    return [found, time_, disk]
