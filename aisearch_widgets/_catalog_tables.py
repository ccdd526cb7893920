"""The catalog's schema (its CREATE statements) and its tables for curation: tags,
saved collections, the trash and the file-action journal. :class:`~.catalog.Catalog` has them as methods (it owns the
connection, its lock and its transactions); they live here to keep each file one
subject."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from ._errors import InvalidArgument
from ._labels import LABELS_TABLE, put_label_rows
from ._predsets import PREDICTION_SETS_TABLE, drop_ids
from .sources import FILES_LABEL
from .video import frame_key

IN_CHUNK = 500  # values per ``IN (...)`` statement, well under SQLite's parameter bound


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


class CurationTables:
    """Tags, saved collections, trash and journal over the catalog's connection."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    # Catalog gives these: its connection, its lock, ``transaction()`` and ``query()``.
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
            db.executemany("DELETE FROM labels WHERE id = ?", [(i,) for i in ids])
            drop_ids(db, ids)

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
            for i in range(0, len(values), IN_CHUNK):
                chunk = list(values[i : i + IN_CHUNK])
                marks = ",".join("?" * len(chunk))
                cur = self._db.execute(
                    f"SELECT * FROM {table} WHERE {where.format(marks=marks)}", chunk
                )
                names = [d[0] for d in cur.description]
                out += [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return out

    def rows_of(self, pid: str) -> dict[str, list[dict[str, Any]]]:
        """The inventory rows of an image, or of a video and its frames, as they are:
        ``{"files": [...], "videos": [...], "labels": [...]}`` (column -> value)."""
        ids = self.expand_videos([pid])
        return {
            "files": self._rows("files", "id IN ({marks})", ids),
            "videos": self._rows("videos", "id IN ({marks})", [pid]),
            "labels": self.label_rows(ids),
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
            db.executemany("DELETE FROM labels WHERE id = ?", [(i,) for i in ids])
            drop_ids(db, ids)

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
        them, its labels too; ``tags`` id -> tags) and drop its trash row, in one
        transaction."""
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
            put_label_rows(db, record.get("labels", []))
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


# -- metadata -------------------------------------------------------------------------
# One row per embedded image or frame: what the file says of itself (read from the
# bytes the sync decoded) and its quality signals (see :mod:`.quality`).
METADATA_TABLE = """
CREATE TABLE IF NOT EXISTS metadata(
    id           TEXT PRIMARY KEY,
    width        INTEGER,
    height       INTEGER,
    format       TEXT,
    taken_at     TEXT,
    make         TEXT,
    camera       TEXT,
    lens         TEXT,
    gps_lat      REAL,
    gps_lon      REAL,
    orientation  INTEGER,
    blur         REAL,
    brightness   REAL,
    contrast     REAL,
    colorfulness REAL,
    entropy      REAL
);
"""
# The stored columns after ``id``, in the table's order.
STORED = (
    "width", "height", "format", "taken_at", "make", "camera", "lens", "gps_lat",
    "gps_lon", "orientation", "blur", "brightness", "contrast", "colorfulness", "entropy",
)  # fmt: skip

#: The columns of :meth:`Catalog.metadata_frame`, in order (the frame's index is the id).
METADATA_COLUMNS: tuple[str, ...] = (
    "path", "folder", "name", "ext", "size", "mtime", "width", "height", "format",
    "taken_at", "make", "camera", "lens", "gps_lat", "gps_lon", "orientation", "video",
    "t", "blur", "brightness", "contrast", "colorfulness", "entropy",
)  # fmt: skip

_INSERT_METADATA = (
    f"INSERT OR REPLACE INTO metadata(id, {', '.join(STORED)}) "
    f"VALUES (?, {', '.join('?' * len(STORED))})"
)
# Same bytes, same metadata: a file that borrows a vector copies its lender's row.
_COPY_METADATA = (
    f"INSERT OR REPLACE INTO metadata(id, {', '.join(STORED)}) "
    f"SELECT ?, {', '.join(STORED)} FROM metadata WHERE id = ?"
)


def metadata_row(pid: str, meta: dict[str, Any]) -> tuple[Any, ...]:
    """The ``metadata`` row of ``pid`` from a prepare step's metadata dict."""
    return (pid, *(meta.get(c) for c in STORED))


class MetadataTable:
    """The ``metadata`` table over the catalog's connection."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    def write_metadata(
        self, db: sqlite3.Connection, rows: Sequence[tuple], lent: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Inside a transaction: ``rows`` from :func:`metadata_row`; ``lent``: (id,
        lender id) pairs of identical content."""
        db.executemany(_INSERT_METADATA, rows)
        db.executemany(_COPY_METADATA, [(pid, src) for pid, src in lent if pid != src])

    def put_metadata(self, rows: Sequence[tuple]) -> None:
        with self.transaction() as db:  # type: ignore[attr-defined]
            self.write_metadata(db, rows)

    def without_metadata(self) -> list[tuple[str, str, str | None, int | None]]:
        """(id, path, video key, t_ms) of the embedded images and frames that have no
        metadata row (a catalog of an older schema, a borrowed vector whose lender had
        none); rows of files no longer in the inventory are dropped on the way."""
        with self.transaction() as db:  # type: ignore[attr-defined]
            db.execute("DELETE FROM metadata WHERE id NOT IN (SELECT id FROM files)")
        return self.query(  # type: ignore[attr-defined]
            "SELECT f.id, f.path, f.video_key, f.t_ms FROM files f "
            "LEFT JOIN metadata m ON m.id = f.id "
            "WHERE f.status = 'embedded' AND m.id IS NULL ORDER BY f.video_key, f.t_ms, f.path"
        )

    def metadata_frame(self, columns: Sequence[str] | None = None) -> Any:
        """The metadata of the embedded images and frames, as a DataFrame indexed by
        id with :data:`METADATA_COLUMNS` (or ``columns``, a selection of them). One
        query; ``folder`` is relative to the file's source, with a trailing '/' ('' at its root or for a
        loose file), '/'-separated; ``mtime`` is UTC; ``taken_at`` the camera's local
        time; ``video`` and ``t`` (seconds) are set for frames."""
        import pandas as pd

        want = list(METADATA_COLUMNS if columns is None else columns)
        unknown = [c for c in want if c not in METADATA_COLUMNS]
        if unknown:
            raise InvalidArgument(
                f"unknown metadata column {unknown[0]!r}; the columns are: "
                + ", ".join(METADATA_COLUMNS)
            )
        # Only what the asked columns are made of is read: at 1M rows each column
        # read costs ~0.1 s, and folder/name/ext a Python pass over every path.
        names = {"folder", "name", "ext"} & set(want)
        sql = {
            "path": "f.path",
            "source": "f.source",
            "key": "COALESCE(f.video_key, f.key)",
            "size": "COALESCE(v.size, f.size)",
            "mtime_ns": "COALESCE(v.mtime_ns, f.mtime_ns)",
            "video": "v.path",
            "t_ms": "f.t_ms",
            **{c: "m." + c for c in STORED},
        }
        need = [
            c
            for c in sql
            if c in want
            or (c in ("path", "source", "key") and names)
            or (c == "mtime_ns" and "mtime" in want)
            or (c == "t_ms" and "t" in want)
        ]
        joins = "LEFT JOIN metadata m ON m.id = f.id " if set(need) & set(STORED) else ""
        if {"size", "mtime_ns", "video"} & set(need):
            joins += "LEFT JOIN videos v ON v.key = f.video_key "
        rows = self.query(  # type: ignore[attr-defined]
            f"SELECT {', '.join(['f.id', *(sql[c] for c in need)])} FROM files f {joins}"
            "WHERE f.status = 'embedded'"
        )
        df = pd.DataFrame.from_records(rows, columns=["id", *need], index="id")
        df.index.name = "id"
        if names:
            rel = [
                "" if src == FILES_LABEL else key[len(src) + 1 :]
                for src, key in zip(df["source"], df["key"], strict=True)
            ]
            folder, name = [], []
            for r, p in zip(rel, df["path"], strict=True):
                d, _, n = r.rpartition("/")
                folder.append(d + "/" if d else "")
                name.append(n or p.replace("\\", "/").rpartition("/")[2])
            df["folder"], df["name"] = folder, name
            df["ext"] = [n[n.rindex(".") :].lower() if "." in n else "" for n in name]
        if "mtime" in want:
            df["mtime"] = pd.to_datetime(df["mtime_ns"], unit="ns", utc=True)
        if "taken_at" in want:
            df["taken_at"] = pd.to_datetime(
                df["taken_at"], format="%Y-%m-%dT%H:%M:%S", errors="coerce"
            )
        if "t" in want:
            df["t"] = df["t_ms"] / 1000.0
        if "video" in want:
            df["video"] = df["video"].astype(object).where(df["video"].notna(), None)
        return df[want]


# -- the catalog's schema -------------------------------------------------------------
# The columns a file record and a video record start with: where the file is and
# what it was when read.
_FILE_COLUMNS = """
    key       TEXT PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,"""
_STATUS_COLUMN = """
    status    TEXT NOT NULL
              CHECK (status IN ('pending', 'embedded', 'failed', 'missing')),"""
FILES_TABLE = (
    "CREATE TABLE IF NOT EXISTS {name}("
    + _FILE_COLUMNS
    + """
    content   TEXT,"""
    + _STATUS_COLUMN
    + """
    model     TEXT,
    error_kind    TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL,
    prior_status  TEXT,
    video_key TEXT,
    t_ms      INTEGER
);
"""
)
FILES_INDEXES = """
CREATE INDEX IF NOT EXISTS files_content ON files(content, model);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
CREATE INDEX IF NOT EXISTS files_path ON files(path);
CREATE INDEX IF NOT EXISTS files_embedded ON files(status, updated_at);
"""
VIDEO_INDEX = "CREATE INDEX IF NOT EXISTS files_video ON files(video_key, t_ms);"
VIDEOS_TABLE = (
    "CREATE TABLE IF NOT EXISTS videos("
    + _FILE_COLUMNS
    + _STATUS_COLUMN
    + """
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
)
JOURNAL_TABLE = """
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
TRASH_TABLE = """
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
SCHEMA = (
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
    + JOURNAL_TABLE.format(name="file_journal")
    + TRASH_TABLE
    + METADATA_TABLE
    + LABELS_TABLE
    + PREDICTION_SETS_TABLE
)
