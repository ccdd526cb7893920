"""File bookkeeping: how a project's records follow files that its file actions
move or delete (``Collection.move_to`` / ``delete``, and journal recovery).

The catalog owns paths: a move updates the file's row (same id, same vector, same
tags; the vector store is not touched), a deletion forgets the row, its tags, its
vector and its thumbnail. A file moved into the trash takes its rows, tags and
vectors into the catalog's ``trash`` table (its vectors leave the store, so searches
never see it); a restore puts them back under free ids. Files moved out of the project's folders are listed in
the ``files`` source of ``project.json``, so a sync finds them where they now are.
Every method is idempotent, so that a journal recovery may repeat it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._config import ProjectConfig
from ._recovery import recover
from ._thumbs import ThumbnailCache
from ._vectors import Vectors
from .catalog import Catalog, TrashEntry
from .sources import FILES_LABEL, Source, key_for, point_id
from .video import frame_key


@dataclass(eq=False, repr=False)
class Inventory:
    """The bookkeeping of one project's files.

    ``config`` owns the project's ``project.json`` (the ``files`` source changes
    through it); ``vectors`` the store (opened on first use, without loading a model)
    and the model's identity; ``pause`` returns a context that holds the project's
    syncs off (and fails if the project is closed)."""

    project: str
    catalog: Catalog
    vectors: Vectors
    thumbs: ThumbnailCache
    config: ProjectConfig
    _: KW_ONLY
    pause: Callable[[], contextlib.AbstractContextManager[Any]]
    trash_dir: Path  # in the project home

    @contextlib.contextmanager
    def action(self) -> Iterator[None]:
        """Hold syncs off while files and records change together (a sync would take
        a moved file for a deleted one); first finish any file action an earlier crash
        or failure left in the journal."""
        with self.pause():
            if self.catalog.journal_pending():
                recover(self)
            try:
                yield
            finally:
                # A step that failed to record: one more try before syncs resume. If it
                # fails again, the journal keeps it for the next action or reopen.
                if self.catalog.journal_pending():
                    with contextlib.suppress(Exception):
                        recover(self)

    def sources(self) -> list[Source]:
        return self.config.sources

    def key_for(self, path: str | os.PathLike[str]) -> tuple[str, str]:
        """``(key, source label)`` a file at ``path`` has in this project."""
        return key_for(path, self.sources())

    def set_loose_files(self, add: Sequence[str], remove: Sequence[str]) -> None:
        """Keep the ``files`` source listing loose images: ``add`` paths, drop
        ``remove`` ones (idempotent; writes the config only when it changes)."""
        srcs = self.config.source_dicts  # a copy: the config changes by update() only
        files = next((s for s in srcs if s["kind"] == "files"), None)
        if files is None:
            if not add:
                return
            files = {"kind": "files", "label": FILES_LABEL, "paths": []}
            srcs.append(files)
        before = list(files.get("paths", []))
        gone = set(remove) - set(add)
        paths = [p for p in before if p not in gone]
        paths += [p for p in add if p not in paths]
        files["paths"] = paths
        if not paths:
            srcs.remove(files)
        if paths != before or not paths:
            self.config.update(sources=srcs)

    def moved(self, pid: str, old: str, new: str) -> None:
        """The file ``pid`` is now at ``new``. A row that held ``new`` before (a file the
        user chose to overwrite) is forgotten: that image is gone."""
        new = os.path.abspath(new)
        key, label = self.key_for(new)
        st = os.stat(new, follow_symlinks=False)
        self.set_loose_files([new] if label == FILES_LABEL else [], [old] if old != new else [])
        displaced = [i for i in self.catalog.ids_of_keys([key]).values() if i != pid]
        if displaced:
            self.vectors.forget(displaced)
        self.catalog.move_file(pid, key, new, label, st.st_size, st.st_mtime_ns)

    def deleted(self, pid: str, path: str) -> None:
        """The file ``pid`` (last at ``path``) was deleted: forget it."""
        self.vectors.forget([pid])
        self.set_loose_files([], [path])

    # -- trash ------------------------------------------------------------------------
    def identity(self) -> str | None:
        """The identity of the model whose vectors the store holds."""
        return self.vectors.identity

    def path_taken(self, path: str) -> bool:
        """A row of the inventory has the key a file at ``path`` would have."""
        key, _ = self.key_for(path)
        return bool(self.catalog.ids_of_keys([key]))

    def trashed(self, pid: str, src: str, dst: str) -> None:
        """The file ``pid`` (from ``src``) is in the trash at ``dst``: its rows, tags and
        vectors move into the catalog's trash in one transaction, then its vectors leave
        the store. Idempotent: a recorded entry is only finished."""
        entry = next((e for e in self.catalog.trash_entries([pid]) if e.trash_path == dst), None)
        if entry is None:
            record = self.catalog.rows_of(pid)
            ids = [r["id"] for r in record["files"]]
            found = self.vectors.store().retrieve(ids) if ids else {}
            vids = [i for i in ids if i in found]
            blob = (
                np.stack([np.asarray(found[i], dtype=np.float32) for i in vids]).tobytes()
                if vids
                else None
            )
            entry = TrashEntry(
                pid,
                src,
                dst,
                time.time(),
                "video" if record["videos"] else "image",
                record,
                self.catalog.tags_of([*ids, pid]),
                self.identity() if vids else None,
                vids,
                blob,
            )
            self.catalog.trash_put(entry)
        ids = [r["id"] for r in entry.record.get("files", [])]
        gone = [i for i in ids if i not in self.catalog.ids_taken(ids)]
        if gone:
            self.vectors.store().delete(gone)
        for i in ids:
            self.thumbs.remove(i)
        self.set_loose_files([], [src])

    def _free_id(self, old: str, key: str) -> str:
        """``old`` if no row holds it, else the id a sync gives ``key`` (or a variant)."""
        taken = self.catalog.ids_taken
        if not taken([old]):
            return old
        for n in range(1000):
            cand = point_id(self.project, key if n == 0 else f"{key}\x00{n}")
            if not taken([cand]):
                return cand
        raise RuntimeError(f"no free id for {key}")

    def restored(self, entry: TrashEntry, path: str) -> None:
        """The trashed file ``entry`` is back at ``path``: its vectors return to the
        store, then its rows and tags to the inventory (under new ids only where an id
        is taken now). Deterministic, so that a recovery repeats it exactly."""
        path = os.path.abspath(path)
        key, label = self.key_for(path)
        st = os.stat(path)
        new_ids: dict[str, str] = {}
        files: list[dict[str, Any]] = []
        videos: list[dict[str, Any]] = []
        for row in entry.record.get("videos", []):
            videos.append(
                {
                    **row,
                    "id": self._free_id(row["id"], key),
                    "key": key,
                    "path": path,
                    "source": label,
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                }
            )
            new_ids[row["id"]] = videos[-1]["id"]
        for row in entry.record.get("files", []):
            if row.get("video_key") is not None:
                fkey = frame_key(key, row["t_ms"])
                upd = {"key": fkey, "path": path, "source": label, "video_key": key}
            else:
                fkey = key
                upd = {
                    "key": key,
                    "path": path,
                    "source": label,
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                }
            files.append({**row, **upd, "id": self._free_id(row["id"], fkey)})
            new_ids[row["id"]] = files[-1]["id"]
        if entry.vector_ids and entry.vectors:
            vecs = np.frombuffer(entry.vectors, dtype=np.float32).reshape(len(entry.vector_ids), -1)
            self.vectors.store().upsert([new_ids.get(i, i) for i in entry.vector_ids], vecs)
        tags = {new_ids.get(i, i): t for i, t in entry.tags.items()}
        labels = [
            {**r, "id": new_ids.get(r["id"], r["id"])} for r in entry.record.get("labels", [])
        ]
        record = {"files": files, "videos": videos, "labels": labels}
        self.catalog.trash_take(entry.id, record, tags)
        if label == FILES_LABEL:
            self.set_loose_files([path], [])
