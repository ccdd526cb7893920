"""The project's transactional record: file inventory, sync state, failures, tags
and saved collections, in one SQLite file in the project home.

Vectors live in Qdrant; everything else a project knows lives here, so there is one
source of truth per fact. Writes happen in short transactions; readers in other
processes (``aisearch status``) see committed state thanks to WAL mode.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .sources import FileEntry, Known

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files(
    key       TEXT PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    content   TEXT,
    status    TEXT NOT NULL CHECK (status IN ('pending', 'embedded', 'failed')),
    model     TEXT,
    error_kind    TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_content ON files(content, model);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags(
    id  TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (id, tag)
);
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag);
CREATE TABLE IF NOT EXISTS collections(
    name       TEXT PRIMARY KEY,
    info       TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS collection_items(
    name  TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE ON UPDATE CASCADE,
    rank  INTEGER NOT NULL,
    id    TEXT NOT NULL,
    score REAL,
    extra TEXT,
    PRIMARY KEY (name, rank)
);
"""


class Catalog:
    """SQLite-backed record of one project. Thread-safe (one connection, one lock)."""

    def __init__(self, path: str, readonly: bool = False) -> None:
        self.path = path
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        if not readonly:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- meta -------------------------------------------------------------------------
    def get_meta(self, k: str, default: Any = None) -> Any:
        rows = self.query("SELECT v FROM meta WHERE k = ?", (k,))
        return json.loads(rows[0][0]) if rows else default

    def set_meta(self, **values: Any) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO meta(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                [(k, json.dumps(v)) for k, v in values.items()],
            )

    # -- inventory --------------------------------------------------------------------
    def known(self) -> dict[str, Known]:
        rows = self.query("SELECT key, size, mtime_ns, status, model, content FROM files")
        return {r[0]: Known(r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def mark_pending(self, entries: Iterable[FileEntry], ids: Iterable[str]) -> None:
        """Record new and changed files before embedding them, so a crash leaves a
        trace the next sync resumes from."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO files(key, id, path, source, size, mtime_ns, status, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
                   ON CONFLICT(key) DO UPDATE SET path = excluded.path,
                       size = excluded.size, mtime_ns = excluded.mtime_ns,
                       status = 'pending', updated_at = excluded.updated_at""",
                [
                    (e.key, i, e.path, e.source, e.size, e.mtime_ns, now)
                    for e, i in zip(entries, ids, strict=True)
                ],
            )

    def commit_batch(
        self,
        embedded: Sequence[tuple[str, str, str]],
        failed: Sequence[tuple[str, str, str]],
    ) -> None:
        """``embedded``: (key, content, model); ``failed``: (key, kind, message)."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                """UPDATE files SET status = 'embedded', content = ?, model = ?,
                       error_kind = NULL, error_message = NULL, updated_at = ?
                   WHERE key = ?""",
                [(c, m, now, k) for k, c, m in embedded],
            )
            db.executemany(
                """UPDATE files SET status = 'failed', error_kind = ?, error_message = ?,
                       updated_at = ? WHERE key = ?""",
                [(kind, msg, now, k) for k, kind, msg in failed],
            )

    def find_by_content(self, content: str, model: str) -> str | None:
        rows = self.query(
            "SELECT id FROM files WHERE content = ? AND model = ? AND status = 'embedded' LIMIT 1",
            (content, model),
        )
        return rows[0][0] if rows else None

    def ids_of_keys(self, keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.query(f"SELECT key, id FROM files WHERE key IN ({marks})", chunk))
        return out

    def delete_keys(self, keys: Sequence[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM files WHERE key = ?", [(k,) for k in keys])

    def counts(self, model: str | None) -> dict[str, int]:
        rows = self.query(
            "SELECT status, model = ?, COUNT(*) FROM files GROUP BY status, model = ?",
            (model, model),
        )
        out = {"total": 0, "embedded": 0, "failed": 0, "pending": 0}
        for status, same_model, n in rows:
            out["total"] += n
            if status == "embedded" and not same_model:
                out["pending"] += n
            else:
                out[status] += n
        return out

    def failures(self) -> list[tuple[str, str, str, str]]:
        return self.query(
            "SELECT path, error_kind, error_message, id FROM files WHERE status = 'failed' "
            "ORDER BY path"
        )

    def records(self, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """id -> (key, path, source) for the ids that exist."""
        out: dict[str, tuple[str, str, str]] = {}
        for i in range(0, len(ids), 500):
            chunk = list(ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            for r in self.query(
                f"SELECT id, key, path, source FROM files WHERE id IN ({marks})", chunk
            ):
                out[r[0]] = (r[1], r[2], r[3])
        return out

    def embedded_ids(self, model: str) -> set[str]:
        return {
            r[0]
            for r in self.query(
                "SELECT id FROM files WHERE status = 'embedded' AND model = ?", (model,)
            )
        }

    def all_ids(self) -> set[str]:
        return {r[0] for r in self.query("SELECT id FROM files")}
