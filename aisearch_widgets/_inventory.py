"""File bookkeeping: how a project's records follow files that its file actions
move or delete (``Collection.move_to`` / ``delete``, and journal recovery).

The catalog owns paths: a move updates the file's row (same id, same vector, same
tags; the vector store is not touched), a deletion forgets the row, its tags, its
vector and its thumbnail. Files moved out of the project's folders are listed in
the ``files`` source of ``project.json``, so a sync finds them where they now are.
Every method is idempotent, so that a journal recovery may repeat it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._fileops import recover
from ._thumbs import ThumbnailCache
from .catalog import Catalog
from .sources import FILES_LABEL, Source, key_for
from .store import VectorStore


class Inventory:
    """The bookkeeping of one project's files.

    ``config`` is the project's parsed ``project.json`` (its ``sources`` list is
    updated in place) and ``save_config`` writes it; ``store`` returns the vector
    store (opened on first use, without loading a model); ``pause`` returns a context
    that holds the project's syncs off (and fails if the project is closed)."""

    def __init__(
        self,
        project: str,
        catalog: Catalog,
        store: Callable[[], VectorStore],
        thumbs: ThumbnailCache,
        config: dict[str, Any],
        *,
        save_config: Callable[[], None],
        pause: Callable[[], contextlib.AbstractContextManager[Any]],
    ) -> None:
        self.project = project
        self.catalog = catalog
        self._store = store
        self.thumbs = thumbs
        self._config = config
        self._save_config = save_config
        self._pause = pause

    @contextlib.contextmanager
    def action(self) -> Iterator[None]:
        """Hold syncs off while files and records change together (a sync would take
        a moved file for a deleted one); first finish any file action an earlier crash
        or failure left in the journal."""
        with self._pause():
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
        return [Source.from_json(d) for d in self._config["sources"]]

    def key_for(self, path: str | os.PathLike[str]) -> tuple[str, str]:
        """``(key, source label)`` a file at ``path`` has in this project."""
        return key_for(path, self.sources())

    def set_loose_files(self, add: Sequence[str], remove: Sequence[str]) -> None:
        """Keep the ``files`` source listing loose images: ``add`` paths, drop
        ``remove`` ones (idempotent; writes the config only when it changes)."""
        srcs = self._config["sources"]
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
            self._save_config()

    def moved(self, pid: str, old: str, new: str) -> None:
        """The file ``pid`` is now at ``new``. A row that held ``new`` before (a file the
        user chose to overwrite) is forgotten: that image is gone."""
        new = os.path.abspath(new)
        key, label = self.key_for(new)
        st = os.stat(new, follow_symlinks=False)
        self.set_loose_files([new] if label == FILES_LABEL else [], [old] if old != new else [])
        displaced = [i for i in self.catalog.ids_of_keys([key]).values() if i != pid]
        if displaced:
            self._forget(displaced)
        self.catalog.move_file(pid, key, new, label, st.st_size, st.st_mtime_ns)

    def deleted(self, pid: str, path: str) -> None:
        """The file ``pid`` (last at ``path``) was deleted: forget it."""
        self._forget([pid])
        self.set_loose_files([], [path])

    def _forget(self, ids: list[str]) -> None:
        ids = self.catalog.expand_videos(ids)  # a video: its frames' vectors and rows
        self._store().delete(ids)  # vectors first: a row left over is retried
        self.catalog.forget_ids(ids)
        for pid in ids:
            self.thumbs.remove(pid)
