"""When the owner of a catalog checks it, and how.

``PRAGMA quick_check`` reads every page of the file: ~1 s of CPU per million rows,
the largest part of opening a big project. It guards against damage SQLite did not
write itself (a file copied or restored while its owner was writing, a sync tool or
a disk that rewrote pages, a crash on storage that lies about flushes). Most opens
follow a clean close, after which the file is exactly as SQLite left it, checked.

So the owner keeps a *clean-close mark* inside the catalog: a ``meta`` row written by
the last transaction before a clean close, and deleted (durably: ``synchronous =
FULL``) by the first transaction of the next owner. A session that does not end in a
clean close (a crash, a killed kernel, a copy taken meanwhile) therefore leaves a
file without the mark, and the next open does not return before its check has passed,
as every open did before. A file whose mark is present was closed cleanly by an owner
whose session checked it; the open returns without waiting for the check, which goes
on in the background. Either way the check runs on a connection of its own (SQLite
works outside the GIL, alongside the shard's load), the first write of the session
waits for it, and a read that meets damage, or comes after the check found some, says
the catalog is damaged: damage that appeared after a clean close is still refused
before anything is written.

Why a row inside the file and not a note beside it (size and mtime at close): a note
cannot tell the file it describes from another of the same size written within one
clock tick, and says nothing of a copy taken while the owner was writing. The row is
part of the content SQLite writes: a copy made during a session lacks it (it was
deleted when the session began), and a file put in its place carries its own mark
only if it too was closed cleanly by an owner, i.e. it is itself a checked file.
Damage to the pages after a clean close (bytes overwritten in place) leaves the mark
where it was: that is the background check's job.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

from ._errors import ProjectCorrupt, repair_hint

CLEAN_MARK = "clean_close"


def damaged(path: str | os.PathLike[str], name: str, problem: str) -> ProjectCorrupt:
    """The error of project ``name``'s damaged catalog, with the way out."""
    return ProjectCorrupt(
        f"The catalog {path} is damaged ({problem}). {repair_hint(name)}: it keeps the damaged "
        "file aside, salvages tags and saved collections, and rescans the sources.",
        str(path),
    )


def take_clean_mark(db: sqlite3.Connection) -> bool:
    """Whether the catalog was closed cleanly by its last owner; the mark is deleted
    in the same transaction, flushed to disk before this returns, so a session that
    ends any other way leaves a catalog that the next open checks."""
    db.execute("PRAGMA synchronous = FULL")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT v FROM meta WHERE k = ?", (CLEAN_MARK,)).fetchone()
            if row is not None:
                db.execute("DELETE FROM meta WHERE k = ?", (CLEAN_MARK,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.execute("PRAGMA synchronous = NORMAL")
    return row is not None


def put_clean_mark(db: sqlite3.Connection) -> None:
    """The last write of a clean close: the next owner may skip the open-time check."""
    db.execute(
        "INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
        (CLEAN_MARK, json.dumps({"closed_at": time.time()})),
    )


def quick_check(db: sqlite3.Connection) -> str | None:
    """SQLite's first complaint about the file, or None when it reads as sound."""
    res = db.execute("PRAGMA quick_check(1)").fetchall()
    return None if not res or res[0][0] == "ok" else str(res[0][0])


class BackgroundCheck:
    """``PRAGMA quick_check`` of the catalog at ``path`` in a thread, on its own
    read-only connection. :meth:`problem` waits for it; :meth:`found` does not.

    The constructor returns once the check is about to enter SQLite: work started
    next that holds the GIL throughout (the Edge shard's load does) then runs
    alongside it instead of before it."""

    def __init__(self, path: str) -> None:
        self._problem: str | None = None
        self._done = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(path,), name="aisearch-catalog-check", daemon=True
        )
        self._thread.start()
        self._started.wait(1.0)

    def _run(self, path: str) -> None:
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            try:
                db.execute("PRAGMA busy_timeout = 5000")
                self._started.set()
                self._problem = quick_check(db)
            finally:
                db.close()
        except sqlite3.Error as exc:
            self._problem = str(exc)
        finally:
            self._started.set()
            self._done.set()

    def problem(self) -> str | None:
        """What the check found (None: sound), once it has finished."""
        self._done.wait()
        return self._problem

    def found(self) -> str | None:
        """What the check found if it has finished, else None (no waiting)."""
        return self._problem if self._done.is_set() else None
