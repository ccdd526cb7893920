"""The project's transactional record: file inventory, sync state, failures, tags
and saved collections, in one SQLite file in the project home.

Vectors live in Qdrant; everything else a project knows lives here, so there is one
source of truth per fact. Writes happen in short transactions; readers in other
processes (``aisearch status``) see committed state thanks to WAL mode.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple

from ._errors import ProjectCorrupt, check_not_newer, repair_hint
from .sources import FileEntry, Known
from .video import frame_key, is_video

# Bump with a step in Catalog._migrate when the schema changes (PRAGMA user_version).
# 1: status 'missing' (a file whose folder vanished or emptied: kept, not deleted)
#    and prior_status, the status it had before, restored when it comes back.
# 2: videos. A ``videos`` row per video file owns its stat and sync state; each
#    sampled frame is a ``files`` row (its own id, vector, tags) linked to its video
#    by ``video_key`` and ``t_ms``, with the video's path. Frame rows leave size and
#    mtime at 0: the video row owns those facts.
# 3: the trash. A ``trash`` row per deleted file keeps what restoring it needs (its
#    inventory rows, tags and vectors); the file journal also records moves into and
#    out of the trash and its emptying (ops 'trash', 'restore', 'purge').
SCHEMA_VERSION = 3

_FILES_TABLE = """
CREATE TABLE IF NOT EXISTS {name}(
    key       TEXT PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    content   TEXT,
    status    TEXT NOT NULL
              CHECK (status IN ('pending', 'embedded', 'failed', 'missing')),
    model     TEXT,
    error_kind    TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL,
    prior_status  TEXT,
    video_key TEXT,
    t_ms      INTEGER
);
"""
_FILES_INDEXES = """
CREATE INDEX IF NOT EXISTS files_content ON files(content, model);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
CREATE INDEX IF NOT EXISTS files_path ON files(path);
"""
_VIDEO_INDEX = "CREATE INDEX IF NOT EXISTS files_video ON files(video_key, t_ms);"
_VIDEOS_TABLE = """
CREATE TABLE IF NOT EXISTS videos(
    key       TEXT PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    status    TEXT NOT NULL
              CHECK (status IN ('pending', 'embedded', 'failed', 'missing')),
    prior_status  TEXT,
    model     TEXT,
    fps       REAL,
    frames    INTEGER,
    error_kind    TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_path ON videos(path);
"""
_JOURNAL_TABLE = """
CREATE TABLE IF NOT EXISTS {name}(
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    op         TEXT NOT NULL
               CHECK (op IN ('copy', 'move', 'delete', 'trash', 'restore', 'purge')),
    id         TEXT,
    src        TEXT NOT NULL,
    dst        TEXT,
    tmp        TEXT,
    overwrite  INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
"""
# One row per trashed file (a video: its frames too). ``record`` is JSON: the
# ``files`` and ``videos`` rows as they were; ``tags`` JSON id -> tags; ``vectors``
# the float32 bytes of the vectors of ``vector_ids`` (JSON), made with ``model``.
_TRASH_TABLE = """
CREATE TABLE IF NOT EXISTS trash(
    id         TEXT PRIMARY KEY,
    path       TEXT NOT NULL,
    trash_path TEXT NOT NULL,
    deleted_at REAL NOT NULL,
    kind       TEXT NOT NULL,
    record     TEXT NOT NULL,
    tags       TEXT NOT NULL,
    model      TEXT,
    vector_ids TEXT NOT NULL,
    vectors    BLOB
);
"""
_SCHEMA = (
    """
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
    + _JOURNAL_TABLE.format(name="file_journal")
    + _TRASH_TABLE
)

# What a missing file's failure row says (the folder is the file's own).
_MISSING_MESSAGE = (
    "{folder} is gone or empty (an unmounted share or a detached disk?): the file is "
    "kept with its tags and vector. Reconnect it and run proj.update(), or forget the "
    "missing files with proj.update(prune_missing=True)."
)


class FileRecord(NamedTuple):
    """One image of the inventory, as :meth:`Catalog.records` returns it."""

    id: str
    key: str
    path: str
    source: str
    status: str  # "pending" | "embedded" | "failed" | "missing"
    kind: str = "image"  # "image" | "frame" (a sampled frame of a video) | "video"
    t: float | None = None  # a frame's time in its video, in seconds


def _record(pid: str, key: str, path: str, source: str, status: str, vkey: Any, t_ms: Any):
    if vkey is None:
        return FileRecord(pid, key, path, source, status)
    return FileRecord(pid, key, path, source, status, "frame", t_ms / 1000)


class TrashEntry(NamedTuple):
    """One trashed file, as :meth:`Catalog.trash_entries` returns it."""

    id: str
    path: str  # where it was
    trash_path: str  # where its bytes are now
    deleted_at: float
    kind: str  # "image" | "video"
    record: dict[str, list[dict[str, Any]]]  # {"files": rows, "videos": rows}
    tags: dict[str, list[str]]
    model: str | None  # identity of the vectors
    vector_ids: list[str]
    vectors: bytes | None  # float32, one vector per id of vector_ids


_IN_CHUNK = 500  # values per ``IN (...)`` statement, well under SQLite's parameter bound


class Catalog:
    """SQLite-backed record of one project. Thread-safe (one connection, one lock).

    A catalog written by a newer version of the package (a higher ``PRAGMA
    user_version``) is refused with :class:`ProjectFormatTooNew`; an older one is
    migrated in place when opened for writing."""

    def __init__(self, path: str, readonly: bool = False) -> None:
        self.path = path
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        try:
            check_not_newer(path, found, SCHEMA_VERSION, "catalog")
        except BaseException:
            self._db.close()
            raise
        if not readonly:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._db.executescript(
                _FILES_TABLE.format(name="files")
                + _FILES_INDEXES
                + _VIDEO_INDEX
                + _VIDEOS_TABLE
                + _SCHEMA
            )
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # A status reader (readonly) sees an older catalog as it is: no videos yet.
        self._videos = not readonly or found >= 2
        self._lock = threading.RLock()

    def _migrate(self) -> None:
        """Bring a catalog written by an older version up to :data:`SCHEMA_VERSION`,
        one step per version, each in one transaction (a crash leaves the catalog at
        the last complete step)."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        has_files = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'files'"
        ).fetchone()
        if not has_files:
            return
        if version < 1:
            self._step(1, self._to_v1)
        if version < 2:
            self._step(2, self._to_v2)
        if version < 3:
            self._step(3, self._to_v3)

    def _step(self, to: int, fn: Any) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            fn()
            self._db.execute(f"PRAGMA user_version = {to}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _to_v1(self) -> None:
        # A CHECK constraint cannot be altered in SQLite: rebuild the table.
        cols = [r[1] for r in self._db.execute("PRAGMA table_info(files)")]
        keep = ", ".join(cols)
        self._db.execute("DROP TABLE IF EXISTS files_v1")
        self._db.execute(_FILES_TABLE.format(name="files_v1"))
        self._db.execute(f"INSERT INTO files_v1({keep}) SELECT {keep} FROM files")
        self._db.execute("DROP TABLE files")
        self._db.execute("ALTER TABLE files_v1 RENAME TO files")
        for stmt in filter(str.strip, _FILES_INDEXES.split(";")):
            self._db.execute(stmt)

    def _to_v2(self) -> None:
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(files)")}
        for col, kind in (("video_key", "TEXT"), ("t_ms", "INTEGER")):
            if col not in cols:  # a v0 catalog rebuilt by _to_v1 has them already
                self._db.execute(f"ALTER TABLE files ADD COLUMN {col} {kind}")
        self._db.execute(_VIDEO_INDEX)
        for stmt in filter(str.strip, _VIDEOS_TABLE.split(";")):
            self._db.execute(stmt)

    def _to_v3(self) -> None:
        # The journal's CHECK constraint grows: rebuild the table, keeping its rows
        # (unfinished actions are recovered after the migration).
        has = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'file_journal'"
        ).fetchone()
        if has:
            cols = "seq, op, id, src, dst, tmp, overwrite, created_at"
            self._db.execute("DROP TABLE IF EXISTS file_journal_v3")
            self._db.execute(_JOURNAL_TABLE.format(name="file_journal_v3"))
            self._db.execute(f"INSERT INTO file_journal_v3({cols}) SELECT {cols} FROM file_journal")
            self._db.execute("DROP TABLE file_journal")
            self._db.execute("ALTER TABLE file_journal_v3 RENAME TO file_journal")
        self._db.execute(_TRASH_TABLE)

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

    def query_in(
        self, sql: str, values: Iterable[Any], extra: Sequence[Any] = ()
    ) -> Iterator[tuple]:
        """Rows of ``sql`` for many values: its ``{marks}`` becomes one placeholder per
        value, run per chunk of values (SQLite bounds the parameters of a statement);
        ``extra`` parameters follow each chunk's."""
        values = list(values)
        for i in range(0, len(values), _IN_CHUNK):
            chunk = values[i : i + _IN_CHUNK]
            yield from self.query(sql.format(marks=",".join("?" * len(chunk))), (*chunk, *extra))

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
        """What the inventory knows of each file: images from ``files``, videos from
        ``videos`` (their frames are not files)."""
        if not self._videos:
            rows = self.query(
                "SELECT key, size, mtime_ns, status, model, content, prior_status FROM files"
            )
            return {r[0]: Known(*r[1:]) for r in rows}
        rows = self.query(
            "SELECT key, size, mtime_ns, status, model, content, prior_status FROM files "
            "WHERE video_key IS NULL"
        )
        out = {r[0]: Known(*r[1:]) for r in rows}
        for key, size, mtime_ns, status, model, prior, fps in self.query(
            "SELECT key, size, mtime_ns, status, model, prior_status, fps FROM videos"
        ):
            out[key] = Known(size, mtime_ns, status, model, None, prior, fps)
        return out

    def mark_pending(self, entries: Iterable[FileEntry], ids: Iterable[str]) -> None:
        """Record new and changed files before embedding them, so a crash leaves a
        trace the next sync resumes from."""
        now = time.time()
        pairs = list(zip(entries, ids, strict=True))
        with self.transaction() as db:
            # A video's own row goes to videos, every other file's to files (its frames
            # get rows of their own as they are embedded).
            for table, videos in (("videos", True), ("files", False)):
                db.executemany(
                    f"""INSERT INTO {table}(key, id, path, source, size, mtime_ns, status,
                           updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
                       ON CONFLICT(key) DO UPDATE SET path = excluded.path,
                           size = excluded.size, mtime_ns = excluded.mtime_ns,
                           status = 'pending', prior_status = NULL,
                           updated_at = excluded.updated_at""",
                    [
                        (e.key, i, e.path, e.source, e.size, e.mtime_ns, now)
                        for e, i in pairs
                        if is_video(e.path) == videos
                    ],
                )

    def commit_batch(
        self,
        embedded: Sequence[tuple[str, str, str]],
        failed: Sequence[tuple[str, str, str]],
        frames: Sequence[tuple[str, str, str, str, str, int, str, str]] = (),
    ) -> None:
        """``embedded``: (key, content, model); ``failed``: (key, kind, message);
        ``frames``: video frames whose vectors were just written, (key, id, path,
        source, video key, t_ms, pixel hash, model): rows added or updated."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO files(key, id, path, source, size, mtime_ns, content, status,
                       model, updated_at, video_key, t_ms)
                   VALUES (?, ?, ?, ?, 0, 0, ?, 'embedded', ?, ?, ?, ?)
                   ON CONFLICT(key) DO UPDATE SET path = excluded.path,
                       source = excluded.source, content = excluded.content,
                       status = 'embedded', model = excluded.model, error_kind = NULL,
                       error_message = NULL, prior_status = NULL,
                       updated_at = excluded.updated_at""",
                [(k, i, p, src, c, m, now, vk, t) for k, i, p, src, vk, t, c, m in frames],
            )
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

    def mark_missing(self, keys: Sequence[str]) -> None:
        """Files whose folder vanished or emptied: kept (vector, tags, collections)
        until they come back (:meth:`restore`) or are pruned on request. A video's
        frames go missing with it."""
        now = time.time()
        with self.transaction() as db:
            for table, where in (("files", "key = ?1 OR video_key = ?1"), ("videos", "key = ?1")):
                db.executemany(
                    f"""UPDATE {table} SET prior_status = status, status = 'missing',
                           updated_at = ?2 WHERE ({where}) AND status != 'missing'""",
                    [(k, now) for k in keys],
                )

    def restore(self, keys: Sequence[str]) -> None:
        """Missing files that came back unchanged get the status they had."""
        now = time.time()
        with self.transaction() as db:
            for table, where in (("files", "key = ?1 OR video_key = ?1"), ("videos", "key = ?1")):
                db.executemany(
                    f"""UPDATE {table} SET status = COALESCE(prior_status, 'pending'),
                           prior_status = NULL, updated_at = ?2
                       WHERE ({where}) AND status = 'missing'""",
                    [(k, now) for k in keys],
                )

    def find_by_content(self, content: str, model: str) -> str | None:
        # "+status" keeps the planner off files_status: that index matches every
        # embedded row and made each lookup a scan (a quadratic first index).
        rows = self.query(
            "SELECT id FROM files WHERE content = ? AND model = ? AND +status = 'embedded' LIMIT 1",
            (content, model),
        )
        return rows[0][0] if rows else None

    def ids_of_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """key -> id of the images and videos with these keys (a video's own id is not
        a point: :meth:`expand_videos` gives its frames)."""
        out: dict[str, str] = {}
        for table in ("files", "videos"):
            out.update(self.query_in(f"SELECT key, id FROM {table} WHERE key IN ({{marks}})", keys))
        return out

    def expand_videos(self, ids: Sequence[str]) -> list[str]:
        """``ids`` with the ids of the frames of every video among them added."""
        out = list(dict.fromkeys(ids))
        out += [
            r[0]
            for r in self.query_in(
                "SELECT f.id FROM videos v JOIN files f ON f.video_key = v.key "
                "WHERE v.id IN ({marks})",
                out,
            )
        ]
        return list(dict.fromkeys(out))

    def videos_of(self, ids: Sequence[str]) -> dict[str, str]:
        """frame id -> the id of its video, for the frames among ``ids``."""
        return dict(
            self.query_in(
                "SELECT f.id, v.id FROM files f JOIN videos v ON v.key = f.video_key "
                "WHERE f.id IN ({marks})",
                ids,
            )
        )

    def frames_of(self, video_key: str) -> dict[int, tuple[str, str | None, str]]:
        """t_ms -> (id, pixel hash, model) of the frames a video has in the catalog."""
        rows = self.query(
            "SELECT t_ms, id, content, model FROM files WHERE video_key = ? ORDER BY t_ms",
            (video_key,),
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def finish_video(
        self,
        key: str,
        status: str,
        model: str,
        fps: float,
        frames: int,
        error: tuple[str, str] | None = None,
    ) -> None:
        """A video's sync is done: ``embedded`` (``error`` says where a partly
        decodable one stopped) or ``failed``."""
        kind, msg = error or (None, None)
        with self.transaction() as db:
            db.execute(
                """UPDATE videos SET status = ?, model = ?, fps = ?, frames = ?,
                       error_kind = ?, error_message = ?, prior_status = NULL,
                       updated_at = ? WHERE key = ?""",
                (status, model, fps, frames, kind, msg, time.time(), key),
            )

    def delete_keys(self, keys: Sequence[str]) -> None:
        with self.transaction() as db:
            db.executemany(
                "DELETE FROM files WHERE key = ?1 OR video_key = ?1", [(k,) for k in keys]
            )
            db.executemany("DELETE FROM videos WHERE key = ?", [(k,) for k in keys])

    def counts(self, model: str | None) -> dict[str, int]:
        rows = self.query(
            "SELECT status, model = ?, COUNT(*) FROM files GROUP BY status, model = ?",
            (model, model),
        )
        out = {"total": 0, "embedded": 0, "failed": 0, "pending": 0, "missing": 0}
        for status, same_model, n in rows:
            out["total"] += n
            if status == "embedded" and not same_model:
                out["pending"] += n
            else:
                out[status] += n
        # A video still to decode, or that gave no frame, counts once.
        for status, n in (
            []
            if not self._videos
            else self.query(
                "SELECT status, COUNT(*) FROM videos WHERE status IN ('pending', 'failed') "
                "GROUP BY status"
            )
        ):
            out["total"] += n
            out[status] += n
        return out

    def failures(self) -> list[tuple[str, str, str, str]]:
        """(path, kind, message, id) of failed files and of missing ones (kind
        ``missing``)."""
        sql = "SELECT path, status, error_kind, error_message, id FROM files "
        if self._videos:
            sql += (
                "WHERE status IN ('failed', 'missing') AND video_key IS NULL "
                "UNION ALL SELECT path, status, error_kind, error_message, id FROM videos "
                "WHERE status IN ('failed', 'missing') OR error_kind IS NOT NULL ORDER BY path"
            )
        else:
            sql += "WHERE status IN ('failed', 'missing') ORDER BY path"
        rows = self.query(sql)
        return [
            (path, kind, msg, pid)
            if status != "missing"
            else (path, "missing", _MISSING_MESSAGE.format(folder=os.path.dirname(path)), pid)
            for path, status, kind, msg, pid in rows
        ]

    def records(self, ids: Sequence[str]) -> dict[str, FileRecord]:
        """id -> :class:`FileRecord` for the ids that exist."""
        out: dict[str, FileRecord] = {}
        for r in self.query_in(
            "SELECT id, key, path, source, status, video_key, t_ms FROM files "
            "WHERE id IN ({marks})",
            ids,
        ):
            out[r[0]] = _record(*r)
        rest = [i for i in ids if i not in out]  # a video's own id
        for r in self.query_in(
            "SELECT id, key, path, source, status FROM videos WHERE id IN ({marks})", rest
        ):
            out[r[0]] = FileRecord(*r, kind="video")
        return out

    def reset_to_pending(self, ids: Sequence[str]) -> None:
        """Embedded rows whose vectors were lost: the next sync embeds them again."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE files SET status = 'pending' WHERE id = ? AND status = 'embedded'",
                [(i,) for i in ids],
            )

    def embedded_ids(self, model: str) -> set[str]:
        return {
            r[0]
            for r in self.query(
                "SELECT id FROM files WHERE status = 'embedded' AND model = ?", (model,)
            )
        }

    def content_and_mtime(self, model: str) -> dict[str, tuple[str | None, int]]:
        """id -> (content hash, mtime_ns) of the rows embedded with ``model``."""
        rows = self.query(
            "SELECT id, content, mtime_ns FROM files WHERE status = 'embedded' AND model = ?",
            (model,),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def all_ids(self) -> set[str]:
        return {r[0] for r in self.query("SELECT id FROM files")}

    def ids_by_path(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> id for the paths in the inventory."""
        return dict(
            self.query_in(
                "SELECT path, id FROM files WHERE path IN ({marks}) AND video_key IS NULL", paths
            )
        )

    # -- tags -------------------------------------------------------------------------
    def add_tags(self, ids: Sequence[str], tags: Sequence[str]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO tags(id, tag) VALUES (?, ?)",
                [(i, t) for i in ids for t in tags],
            )

    def remove_tags(self, ids: Sequence[str], tags: Sequence[str] | None) -> None:
        with self.transaction() as db:
            if tags is None:
                db.executemany("DELETE FROM tags WHERE id = ?", [(i,) for i in ids])
            else:
                db.executemany(
                    "DELETE FROM tags WHERE id = ? AND tag = ?", [(i, t) for i in ids for t in tags]
                )

    def tags_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for pid, tag in self.query_in(
            "SELECT id, tag FROM tags WHERE id IN ({marks}) ORDER BY tag", ids
        ):
            out.setdefault(pid, []).append(tag)
        return out

    def ids_with_tags(self, tags: Sequence[str]) -> set[str]:
        marks = ",".join("?" * len(tags))
        return {
            r[0]
            for r in self.query(f"SELECT DISTINCT id FROM tags WHERE tag IN ({marks})", list(tags))
        }

    def all_tags(self) -> dict[str, int]:
        return dict(self.query("SELECT tag, COUNT(*) FROM tags GROUP BY tag ORDER BY tag"))

    # -- saved collections ------------------------------------------------------------
    def save_collection(
        self,
        name: str,
        info: dict[str, Any],
        rows: Sequence[tuple[str, float | None, str | None]],
        overwrite: bool,
    ) -> bool:
        """Store ``rows`` of (id, score, extra-json) in order. Returns False (and writes
        nothing) if the name exists and ``overwrite`` is False."""
        with self.transaction() as db:
            exists = db.execute("SELECT 1 FROM collections WHERE name = ?", (name,)).fetchone()
            if exists and not overwrite:
                return False
            db.execute("DELETE FROM collections WHERE name = ?", (name,))
            db.execute(
                "INSERT INTO collections(name, info, created_at) VALUES (?, ?, ?)",
                (name, json.dumps(info), time.time()),
            )
            db.executemany(
                "INSERT INTO collection_items(name, rank, id, score, extra) VALUES (?, ?, ?, ?, ?)",
                [(name, r, i, s, e) for r, (i, s, e) in enumerate(rows, start=1)],
            )
        return True

    def load_collection(
        self, name: str
    ) -> tuple[dict[str, Any], float, list[tuple[str, float | None, str | None]]] | None:
        head = self.query("SELECT info, created_at FROM collections WHERE name = ?", (name,))
        if not head:
            return None
        rows = self.query(
            "SELECT id, score, extra FROM collection_items WHERE name = ? ORDER BY rank", (name,)
        )
        return json.loads(head[0][0]), head[0][1], [tuple(r) for r in rows]  # type: ignore[misc]

    def collection_names(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM collections ORDER BY created_at, name")]

    def collection_sizes(self) -> dict[str, int]:
        return dict(
            self.query("SELECT name, COUNT(*) FROM collection_items GROUP BY name ORDER BY name")
        )

    def delete_collection(self, name: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM collections WHERE name = ?", (name,)).rowcount > 0

    def rename_collection(self, old: str, new: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE collections SET name = ? WHERE name = ?", (new, old))

    def move_file(
        self, pid: str, key: str, path: str, source: str, size: int, mtime_ns: int
    ) -> None:
        """The inventory follows a file moved by the user: same id, new place. A video
        (``pid`` a video id) takes its frames along: same ids, keys under its new key."""
        with self.transaction() as db:
            old = db.execute("SELECT key FROM videos WHERE id = ?", (pid,)).fetchone()
            if old is not None:
                frames = db.execute(
                    "SELECT id, t_ms FROM files WHERE video_key = ?", (old[0],)
                ).fetchall()
                db.executemany(
                    "UPDATE files SET key = ?, path = ?, source = ?, video_key = ? WHERE id = ?",
                    [(frame_key(key, t), path, source, key, fid) for fid, t in frames],
                )
                db.execute(
                    """UPDATE videos SET key = ?, path = ?, source = ?, size = ?, mtime_ns = ?,
                           updated_at = ? WHERE id = ?""",
                    (key, path, source, size, mtime_ns, time.time(), pid),
                )
                return
            db.execute(
                """UPDATE files SET key = ?, path = ?, source = ?, size = ?, mtime_ns = ?,
                       updated_at = ? WHERE id = ?""",
                (key, path, source, size, mtime_ns, time.time(), pid),
            )

    def forget_ids(self, ids: Sequence[str]) -> None:
        """Drop rows and tags of files the user deleted (a video: its frames too)."""
        ids = self.expand_videos(ids)
        with self.transaction() as db:
            db.executemany("DELETE FROM videos WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM tags WHERE id = ?", [(i,) for i in ids])

    # -- trash ------------------------------------------------------------------------
    def file_stats(self, ids: Sequence[str]) -> dict[str, tuple[int, int, str | None]]:
        """id -> (size, mtime_ns, content hash) recorded at the last sync, for images
        and videos (a video's row has no content hash)."""
        out: dict[str, tuple[int, int, str | None]] = {}
        for pid, size, mtime, content in self.query_in(
            "SELECT id, size, mtime_ns, content FROM files WHERE id IN ({marks}) "
            "AND video_key IS NULL",
            ids,
        ):
            out[pid] = (size, mtime, content)
        for pid, size, mtime in self.query_in(
            "SELECT id, size, mtime_ns FROM videos WHERE id IN ({marks})", ids
        ):
            out[pid] = (size, mtime, None)
        return out

    def _rows(self, table: str, where: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with self._lock:
            for i in range(0, len(values), _IN_CHUNK):
                chunk = list(values[i : i + _IN_CHUNK])
                marks = ",".join("?" * len(chunk))
                cur = self._db.execute(
                    f"SELECT * FROM {table} WHERE {where.format(marks=marks)}", chunk
                )
                names = [d[0] for d in cur.description]
                out += [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return out

    def rows_of(self, pid: str) -> dict[str, list[dict[str, Any]]]:
        """The inventory rows of an image, or of a video and its frames, as they are:
        ``{"files": [...], "videos": [...]}`` (column -> value)."""
        ids = self.expand_videos([pid])
        return {
            "files": self._rows("files", "id IN ({marks})", ids),
            "videos": self._rows("videos", "id IN ({marks})", [pid]),
        }

    def trash_put(self, entry: TrashEntry) -> None:
        """Move a file's records into the trash in one transaction: the trash row is
        added, and the inventory rows and tags of its ids are dropped. A trash row
        that already holds this id (an earlier file at the same path) gets a new id."""
        ids = [r["id"] for r in entry.record.get("files", [])] + [
            r["id"] for r in entry.record.get("videos", [])
        ]
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM trash WHERE id = ?", (entry.id,)).fetchone():
                db.execute(
                    "UPDATE trash SET id = ? WHERE id = ?",
                    (f"{entry.id}~{time.time_ns()}", entry.id),
                )
            db.execute(
                """INSERT INTO trash(id, path, trash_path, deleted_at, kind, record, tags,
                       model, vector_ids, vectors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    entry.id,
                    entry.path,
                    entry.trash_path,
                    entry.deleted_at,
                    entry.kind,
                    json.dumps(entry.record),
                    json.dumps(entry.tags),
                    entry.model,
                    json.dumps(entry.vector_ids),
                    entry.vectors,
                ),
            )
            db.executemany("DELETE FROM videos WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM tags WHERE id = ?", [(i,) for i in ids])

    def trash_entries(
        self, ids: Sequence[str] | None = None, *, vectors: bool = True
    ) -> list[TrashEntry]:
        """Trashed files, newest first (those of ``ids`` only, when given); without
        their vector bytes (``vectors`` None) unless ``vectors``."""
        sql = (
            "SELECT id, path, trash_path, deleted_at, kind, record, tags, model, vector_ids, "
            f"{'vectors' if vectors else 'NULL'} FROM trash"
        )
        if ids is None:
            rows = self.query(sql + " ORDER BY deleted_at DESC, id")
        else:
            rows = sorted(
                self.query_in(sql + " WHERE id IN ({marks})", ids), key=lambda r: (-r[3], r[0])
            )
        return [
            TrashEntry(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                json.loads(r[5]),
                json.loads(r[6]),
                r[7],
                json.loads(r[8]),
                r[9],
            )
            for r in rows
        ]

    def trash_take(
        self, tid: str, record: dict[str, list[dict[str, Any]]], tags: dict[str, list[str]]
    ) -> None:
        """Put a trashed file's records back (``record`` rows as :meth:`rows_of` gives
        them, ``tags`` id -> tags) and drop its trash row, in one transaction."""
        with self.transaction() as db:
            for table in ("videos", "files"):
                known = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                for row in record.get(table, []):
                    cols = [c for c in row if c in known]
                    db.execute(
                        f"INSERT OR REPLACE INTO {table}({', '.join(cols)}) "
                        f"VALUES ({', '.join('?' * len(cols))})",
                        [row[c] for c in cols],
                    )
            db.executemany(
                "INSERT OR IGNORE INTO tags(id, tag) VALUES (?, ?)",
                [(i, t) for i, ts in tags.items() for t in ts],
            )
            db.execute("DELETE FROM trash WHERE id = ?", (tid,))

    def trash_drop(self, tid: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM trash WHERE id = ?", (tid,))

    def ids_taken(self, ids: Sequence[str]) -> set[str]:
        """The ids among ``ids`` that an image, frame or video of the inventory holds."""
        out = {r[0] for r in self.query_in("SELECT id FROM files WHERE id IN ({marks})", ids)}
        out |= {r[0] for r in self.query_in("SELECT id FROM videos WHERE id IN ({marks})", ids)}
        return out

    def keys_taken(self, keys: Sequence[str]) -> set[str]:
        return set(self.ids_of_keys(keys))

    # -- file-action journal ----------------------------------------------------------
    # One row per file action in flight (see _fileops): written before the disk is
    # touched, removed once disk and inventory agree. Rows left by a crash are
    # resumed or rolled back when the project opens.
    def journal_begin(
        self,
        op: str,
        pid: str | None,
        src: str,
        dst: str | None,
        tmp: str | None,
        overwrite: bool = False,
    ) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO file_journal(op, id, src, dst, tmp, overwrite, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (op, pid, src, dst, tmp, int(overwrite), time.time()),
            )
            return int(cur.lastrowid or 0)

    def journal_end(self, seq: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM file_journal WHERE seq = ?", (seq,))

    def journal_pending(self) -> list[tuple[int, str, str, str, str | None, str | None, int]]:
        """(seq, op, id, src, dst, tmp, overwrite) of unfinished file actions, oldest
        first."""
        return self.query(
            "SELECT seq, op, id, src, dst, tmp, overwrite FROM file_journal ORDER BY seq"
        )


def open_catalog(path: os.PathLike[str] | str, name: str, readonly: bool = False) -> Catalog:
    """Project ``name``'s catalog, checked; :class:`ProjectCorrupt` naming the file and
    the way out if SQLite cannot read it.

    The owner (``readonly=False``) runs ``PRAGMA quick_check`` once per open (~0.25 s
    per 200k rows); status readers, which poll, only check that the file is a catalog.
    """
    cat = None
    try:
        cat = Catalog(os.fspath(path), readonly=readonly)
        if not readonly:
            res = cat.query("PRAGMA quick_check(1)")
            if res and res[0][0] != "ok":
                raise sqlite3.DatabaseError(str(res[0][0]))
        cat.query("SELECT 1 FROM files LIMIT 1")  # an empty or foreign database lacks it
        return cat
    except sqlite3.Error as exc:
        if cat is not None:
            with suppress(sqlite3.Error):
                cat.close()
        raise ProjectCorrupt(
            f"The catalog {path} is damaged ({exc}). {repair_hint(name)}: it keeps the damaged "
            "file aside, salvages tags and saved collections, and rescans the sources.",
            str(path),
        ) from None
