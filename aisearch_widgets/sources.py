"""Where a project's images come from, and what changed since the last sync.

A project's sources are folders (scanned recursively), explicit files, or the path
column of a pandas DataFrame. Each image gets a stable *key* (source label plus the
path relative to that source) and a point id derived from the project and the key,
so re-indexing is idempotent and an interrupted run can be resumed.

Change detection is stat-only (size + mtime). A folder that cannot be listed is a
*scan failure*, never a reason to treat its files as deleted. A file that is not
found is deleted only when its own folder still lists other content; a root that
vanished or is suddenly empty (an unmounted share, a detached disk) or a subtree
gone wholesale makes its files *missing*: kept with their vectors and tags until
they come back or the user prunes them (``update(prune_missing=True)``).

One physical file is one record. Folder roots that overlap (one inside another, or
one folder reached twice through a symlink) are refused when the sources are given,
naming both. Symlinks are followed (a folder of links to images kept elsewhere is a
common dataset layout), and a file's identity is its ``(st_dev, st_ino)``: when a
scan reaches one file by several paths (a link and its target, hard links, a loose
file that also lies in a source folder, two spellings of one path) it is indexed once,
under its real path when that is among them, else under the path found first; the
other paths are listed in :attr:`ScanResult.aliases`. So a link is never a second
copy of its own target, and never grouped with it as a duplicate.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import SourceError
from .images import IMAGE_EXTENSIONS
from .video import VIDEO_EXTENSIONS, is_video

# What a scan takes: images, and videos (each sampled into frames by the indexer).
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS

_NAMESPACE = uuid.UUID("6f1c3c52-4f0e-4a8e-9a59-2f7c0f3e8d11")


def point_id(project: str, key: str) -> str:
    """The stable point id of an image: UUID5 of the project name and its key."""
    return str(uuid.uuid5(_NAMESPACE, f"{project}\x00{key}"))


FILES_LABEL = "files"  # the label of the source that lists loose files


def file_key(label: str, rel: str) -> str:
    """The key of an image (the one place that builds keys): its source's label, a
    slash, and its path within that source, which is the POSIX path relative to the
    root of a folder source, and the absolute path in a ``files`` source. With ``rel``
    ending in "/" it is the key prefix of a folder."""
    return f"{label}/{rel}"


def key_for(path: str | os.PathLike[str], sources: Sequence[Source]) -> tuple[str, str]:
    """``(key, source label)`` of the file at ``path`` among ``sources``: under the
    first folder source that contains it, else a loose file of the ``files`` source."""
    path = os.path.abspath(path)
    for src in sources:
        if src.kind == "folder" and src.root is not None:
            rel = os.path.relpath(path, src.root)
            if not rel.startswith(".." + os.sep) and rel != ".." and not os.path.isabs(rel):
                return file_key(src.label, Path(rel).as_posix()), src.label
    return file_key(FILES_LABEL, path), FILES_LABEL


def same_sources(stored: list[dict], given: list[dict]) -> bool:
    """Whether reopening with ``given`` (``Source.to_json()`` dicts) asks for the
    sources a project has (``stored``). Files the project moved out of its folders sit
    in a "files" source of their own, which a user re-running
    ``Project(name, sources=folder)`` does not repeat."""
    if stored == given:
        return True
    if any(g["kind"] == "files" for g in given):
        return False
    return [s for s in stored if s["kind"] != "files"] == given


@dataclass(frozen=True)
class Source:
    """One source of images. ``kind`` is ``"folder"`` or ``"files"``."""

    kind: str
    label: str
    root: str | None = None  # folder sources
    paths: tuple[str, ...] = ()  # file sources (absolute)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "label": self.label}
        if self.root is not None:
            d["root"] = self.root
        if self.paths:
            d["paths"] = list(self.paths)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Source:
        return cls(d["kind"], d["label"], d.get("root"), tuple(d.get("paths", ())))


@dataclass(frozen=True)
class FileEntry:
    """An image found by a scan."""

    key: str
    path: str
    source: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    entries: dict[str, FileEntry] = field(default_factory=dict)
    # Keys (or key prefixes ending in "/") whose state is unknown because listing failed.
    unknown_prefixes: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    # Key prefixes ("label/sub/") of folders that were listed and hold visible content.
    nonempty_dirs: set[str] = field(default_factory=set)
    folder_labels: set[str] = field(default_factory=set)
    file_labels: set[str] = field(default_factory=set)
    claimed: set[str] = field(default_factory=set)  # keys a file source lists
    gone: set[str] = field(default_factory=set)  # listed files gone from a non-empty folder
    # Keys of paths that reach a file already indexed under another key (that key).
    aliases: dict[str, str] = field(default_factory=dict)
    # (st_dev, st_ino) of each entry: what makes two paths one file.
    idents: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def is_unknown(self, key: str) -> bool:
        return any(
            key == p or (p.endswith("/") and key.startswith(p)) for p in self.unknown_prefixes
        )

    def vanished(self, key: str) -> str:
        """What a known key that this scan did not find means: ``"unknown"`` (its
        folder could not be read), ``"deleted"`` (its folder still lists other
        content, or its source was removed from the project) or ``"missing"`` (its
        folder is gone or empty: maybe an unmounted share; never deleted on a guess).
        """
        if self.is_unknown(key):
            return "unknown"
        if key in self.aliases:
            return "deleted"  # the same file is indexed under another key
        label = key.split("/", 1)[0]
        if label in self.file_labels:
            return "missing" if key in self.claimed and key not in self.gone else "deleted"
        if label not in self.folder_labels:
            return "deleted"
        return "deleted" if key.rsplit("/", 1)[0] + "/" in self.nonempty_dirs else "missing"


def normalize_sources(
    sources: Any, path_column: str | None = None, base: str | os.PathLike[str] | None = None
) -> list[Source]:
    """Turn what a user passed (a folder, a list of folders/files, a DataFrame) into
    :class:`Source` objects with unique labels.
    """
    base_dir = Path(base or os.getcwd())

    def absolute(p: Any) -> str:
        pp = Path(os.path.expanduser(os.fspath(p)))
        return os.path.abspath(pp if pp.is_absolute() else base_dir / pp)

    if sources is None:
        raise SourceError(
            "No sources given: pass a folder, a list of folders/files, or a DataFrame."
        )

    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None  # type: ignore[assignment]

    items: list[str]
    if pd is not None and isinstance(sources, pd.DataFrame):
        col = path_column or next(
            (c for c in ("path", "filepath", "file", "image") if c in sources), None
        )
        if col is None or col not in sources:
            raise SourceError(
                f"The DataFrame has no path column (columns: {list(sources.columns)}). "
                "Pass path_column='<name of the column that holds file paths>'."
            )
        values = sources[col].dropna().astype(str).tolist()
        if not values:
            raise SourceError(f"The DataFrame's column {col!r} holds no paths.")
        paths = tuple(dict.fromkeys(absolute(v) for v in values))
        return [Source("files", FILES_LABEL, None, paths)]
    if isinstance(sources, (str, os.PathLike)):
        items = [os.fspath(sources)]
    elif isinstance(sources, Iterable):
        items = [os.fspath(s) for s in sources]
    else:
        raise SourceError(f"Unsupported sources of type {type(sources).__name__}.")
    if not items:
        raise SourceError("The list of sources is empty.")

    folders: list[str] = []
    files: list[str] = []
    for it in items:
        p = absolute(it)
        if os.path.isdir(p):
            folders.append(p)
        elif os.path.isfile(p):
            files.append(p)
        elif os.path.splitext(p)[1].lower() in MEDIA_EXTENSIONS:
            files.append(p)  # a listed file that is missing now becomes a failure row later
        else:
            raise SourceError(f"{it}: no such folder or file. Check the path (resolved to {p}).")

    folders = list(dict.fromkeys(folders))
    _check_overlap(folders)
    out: list[Source] = []
    used: set[str] = {FILES_LABEL}
    for f in folders:
        label = os.path.basename(f.rstrip(os.sep)) or "root"
        cand, n = label, 2
        while cand in used:
            cand, n = f"{label}-{n}", n + 1
        used.add(cand)
        out.append(Source("folder", cand, f))
    if files:
        out.append(Source("files", FILES_LABEL, None, tuple(dict.fromkeys(files))))
    return out


def _check_overlap(folders: Sequence[str]) -> None:
    """Refuse folder roots that would index a file twice: one folder given twice (a
    symlink and its target, or two spellings) or one root inside another."""
    # Sorted by path parts, a root inside another comes right after it or after
    # another root inside it: comparing neighbours finds every overlap.
    roots = sorted((Path(os.path.realpath(f)).parts, f) for f in folders)
    for (outer_parts, outer), (inner_parts, inner) in itertools.pairwise(roots):
        real_outer, real_inner = os.path.join(*outer_parts), os.path.join(*inner_parts)
        if inner_parts == outer_parts:
            raise SourceError(
                f"{outer} and {inner} are the same folder ({real_outer}): its images would "
                "be indexed twice. Pass it once."
            )
        if inner_parts[: len(outer_parts)] == outer_parts:
            raise SourceError(
                f"{inner} is inside {outer} (real paths {real_inner} and {real_outer}): its "
                f"images would be indexed twice. Pass {outer} alone (it includes {inner}), "
                f"or {inner} without {outer}."
            )


def _scan_folder(src: Source, skip: Sequence[str], result: ScanResult) -> None:
    assert src.root is not None
    root = src.root
    skip_real = {os.path.realpath(s) for s in skip}
    result.folder_labels.add(src.label)
    try:
        st = os.stat(root)
    except FileNotFoundError:
        # Gone (a detached disk): its files become missing, not deleted.
        result.errors.append((root, "source folder is gone; its files are kept as missing"))
        return
    except OSError as exc:
        result.unknown_prefixes.append(file_key(src.label, ""))
        result.errors.append((root, f"source folder cannot be read: {exc.strerror or exc}"))
        return
    visited = {(st.st_dev, st.st_ino)}
    stack = [root]
    while stack:
        d = stack.pop()
        rel_d = os.path.relpath(d, root)
        rel_prefix = "" if rel_d == "." else f"{Path(rel_d).as_posix()}/"
        prefix = file_key(src.label, rel_prefix)
        try:
            it = os.scandir(d)
        except OSError as exc:
            result.unknown_prefixes.append(prefix)
            result.errors.append((d, f"folder cannot be listed: {exc.strerror or exc}"))
            continue
        with it:
            for e in it:
                name = e.name
                if name.startswith("."):
                    continue
                result.nonempty_dirs.add(prefix)
                try:
                    if e.is_dir():  # follows symlinks
                        if os.path.realpath(e.path) in skip_real:
                            continue
                        dst = e.stat()
                        ident = (dst.st_dev, dst.st_ino)
                        if ident in visited:  # symlink loop or a second link to one folder
                            continue
                        visited.add(ident)
                        stack.append(e.path)
                        continue
                    if os.path.splitext(name)[1].lower() not in MEDIA_EXTENSIONS:
                        continue
                    fst = e.stat()
                except FileNotFoundError:
                    continue  # vanished mid-scan: it is simply not there
                except OSError as exc:
                    key = file_key(src.label, rel_prefix + name)
                    result.unknown_prefixes.append(key)
                    result.errors.append((e.path, f"cannot stat: {exc.strerror or exc}"))
                    continue
                key = file_key(src.label, rel_prefix + name)
                result.entries[key] = FileEntry(
                    key, e.path, src.label, fst.st_size, fst.st_mtime_ns
                )
                result.idents[key] = (fst.st_dev, fst.st_ino)


def _lists_content(folder: str) -> bool:
    try:
        with os.scandir(folder) as it:
            return any(not e.name.startswith(".") for e in it)
    except OSError:
        return False


def _scan_files(src: Source, result: ScanResult) -> None:
    result.file_labels.add(src.label)
    listed: dict[str, bool] = {}
    for p in src.paths:
        key = file_key(src.label, p)
        result.claimed.add(key)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            folder = os.path.dirname(p)
            if folder not in listed:
                listed[folder] = _lists_content(folder)
            if listed[folder]:
                result.gone.add(key)
            continue
        except OSError as exc:
            result.unknown_prefixes.append(key)
            result.errors.append((p, f"cannot stat: {exc.strerror or exc}"))
            continue
        result.entries[key] = FileEntry(key, p, src.label, st.st_size, st.st_mtime_ns)
        result.idents[key] = (st.st_dev, st.st_ino)


def scan(sources: Sequence[Source], skip: Sequence[str] = ()) -> ScanResult:
    """Enumerate every image of every source with its size and mtime (stat only).

    ``skip`` lists folders never to enter (the project home, for instance).
    """
    result = ScanResult()
    for src in sources:
        if src.kind == "folder":
            _scan_folder(src, skip, result)
        else:
            _scan_files(src, result)
    _fold_aliases(result)
    return result


def _is_real(path: str) -> bool:
    return os.path.realpath(path) == os.path.abspath(path)


def _fold_aliases(result: ScanResult) -> None:
    """Keep one entry per physical file (``(st_dev, st_ino)``): the one at its real
    path when there is one, else the first found; the others become aliases."""
    kept: dict[tuple[int, int], str] = {}
    for key in list(result.entries):
        ident = result.idents.get(key)
        if ident is None or ident[1] == 0:  # a filesystem without inode numbers
            continue
        first = kept.get(ident)
        if first is None:
            kept[ident] = key
            continue
        # Rare (a link and its target, hard links): realpath only here.
        if not _is_real(result.entries[first].path) and _is_real(result.entries[key].path):
            first, key = key, first
            kept[ident] = first
        del result.entries[key]
        result.aliases[key] = first
    for alias, key in result.aliases.items():  # chains of swaps end at the kept key
        while key in result.aliases:
            key = result.aliases[key]
        result.aliases[alias] = key


@dataclass(frozen=True)
class Known:
    """What the inventory remembers about a key."""

    size: int
    mtime_ns: int
    status: str  # "embedded" | "failed" | "pending" | "missing"
    model: str | None
    content: str | None
    prior: str | None = None  # a missing file's status before it went missing
    fps: float | None = None  # a video: the rate its frames were sampled at


@dataclass
class SyncPlan:
    """What a sync must do. ``embed`` holds new and changed files; ``missing`` the
    keys to keep as missing; ``restore`` missing files back unchanged."""

    add: list[FileEntry] = field(default_factory=list)
    changed: list[FileEntry] = field(default_factory=list)
    retry: list[FileEntry] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    restore: list[FileEntry] = field(default_factory=list)
    unchanged: int = 0

    @property
    def embed(self) -> list[FileEntry]:
        return self.add + self.changed + self.retry

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.add),
            "changed": len(self.changed),
            "retried": len(self.retry),
            "deleted": len(self.delete),
            "missing": len(self.missing),
            "restored": len(self.restore),
            "unchanged": self.unchanged,
        }


def plan_sync(
    scanned: ScanResult,
    known: dict[str, Known],
    model: str,
    retry_failed: bool = False,
    prune_missing: bool = False,
    video_fps: float | None = None,
) -> SyncPlan:
    """Compare a scan with the inventory.

    A failed file is retried when its size or mtime changes (or with
    ``retry_failed``). A known file the scan did not find is deleted only when
    :meth:`ScanResult.vanished` says so, or with ``prune_missing``; otherwise it is
    kept as missing. A video sampled at another rate than ``video_fps`` is sampled
    again (frames whose pixels did not change keep their vectors).
    """
    plan = SyncPlan()
    for key, e in scanned.entries.items():
        k = known.get(key)
        if k is None:
            plan.add.append(e)
            continue
        same = k.size == e.size and k.mtime_ns == e.mtime_ns
        status = k.status
        if status == "missing":
            status = k.prior or "pending"
        if not same:
            plan.changed.append(e)
        elif (
            status == "pending"
            or (status == "embedded" and k.model != model)
            or (status == "failed" and retry_failed)
            or (
                status == "embedded"
                and video_fps is not None
                and is_video(e.path)
                and k.fps != video_fps
            )
        ):
            plan.retry.append(e)
        elif k.status == "missing":
            plan.restore.append(e)  # back as it was: no need to embed it again
        else:
            plan.unchanged += 1
    for key in known:
        if key in scanned.entries:
            continue
        fate = scanned.vanished(key)
        if fate == "deleted" or (fate == "missing" and prune_missing):
            plan.delete.append(key)
        elif fate == "missing":
            plan.missing.append(key)
    return plan


def iter_batches(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
