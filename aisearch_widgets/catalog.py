"""The project's transactional record: file inventory, sync state, failures, tags
and saved collections, in one SQLite file in the project home.

Vectors live in Qdrant; everything else a project knows lives here, so there is one
source of truth per fact. Writes happen in short transactions; readers in other
processes (``aisearch status``) see committed state thanks to WAL mode.
"""

from __future__ import annotations

import json
import mmap
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: the meta row counts there
    fcntl = None  # type: ignore[assignment]

from ._catalog_check import (
    BackgroundCheck,
    damaged,
    put_clean_mark,
    quick_check,
    take_clean_mark,
)
from ._catalog_tables import (  # noqa: F401  (TrashEntry, METADATA_COLUMNS: public here)
    FILES_INDEXES,
    FILES_TABLE,
    IN_CHUNK,
    JOURNAL_TABLE,
    METADATA_COLUMNS,
    METADATA_TABLE,
    SCHEMA,
    TRASH_TABLE,
    VIDEO_INDEX,
    VIDEOS_TABLE,
    CurationTables,
    MetadataTable,
    TrashEntry,
    metadata_row,
)
from ._errors import ProjectCorrupt, check_not_newer
from ._labels import LABELS_TABLE, LabelTables
from ._predsets import PREDICTION_SETS_TABLE
from .sources import FileEntry, Known
from .video import is_video

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
# 4: metadata. A ``metadata`` row per embedded image or frame (size, format, EXIF,
#    quality signals); a migrated catalog has none, and the next sync fills them
#    without embedding again.
# 5: labels. A ``labels`` row per classification label or object box of an image, in
#    named sets (see _labels); a trashed file keeps its labels in its record.
# 6: prediction sets by column. A ``prediction_sets`` row per label set of
#    predictions (``classify``) holds its ids, classes and confidences as arrays (see
#    _predsets) instead of a ``labels`` row per image; the label readers merge both.
#    The index ``files_embedded`` (status, updated_at) answers the state of the
#    embedded files (count, latest, sum of ``updated_at``) from the index alone.
SCHEMA_VERSION = 6
#: The ``meta`` row counting the writes of the vector store (any model's): the count
#: kept before it moved to a file beside the catalog, and where the file cannot be used.
VECTORS_GENERATION = "vectors_generation"
#: That file: the count as 8 bytes, mapped in memory by each process that opens the
#: catalog, so counting a write costs a locked store into shared memory, not a commit.
GENERATION_SUFFIX = "-vectors-generation"
_COUNT = struct.Struct("<q")

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


#: From this many ids on, :meth:`Catalog.records` may read the whole table instead.
SCAN_FROM = 20_000


def _record(pid: str, key: str, path: str, source: str, status: str, vkey: Any, t_ms: Any):
    if vkey is None:
        return FileRecord(pid, key, path, source, status)
    return FileRecord(pid, key, path, source, status, "frame", t_ms / 1000)


class Catalog(CurationTables, MetadataTable, LabelTables):
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
                FILES_TABLE.format(name="files")
                + FILES_INDEXES
                + VIDEO_INDEX
                + VIDEOS_TABLE
                + SCHEMA
            )
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # A status reader (readonly) sees an older catalog as it is: no videos yet.
        self._videos = not readonly or found >= 2
        self._lock = threading.RLock()
        self._readonly = readonly
        self._generation: tuple[mmap.mmap, Any] | None = None  # see bump_vectors_generation
        self._closed = False
        self._generation_lock = threading.Lock()
        self._check: BackgroundCheck | None = None  # check_at_open's, in the background
        self._check_name = ""  # the project its error names
        # The last counts() and the catalog state they were counted in.
        self._counts: tuple[Any, dict[str, int]] | None = None
        self.was_clean = False  # whether the last owner closed it cleanly (check_at_open)

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
        steps = (self._to_v1, self._to_v2, self._to_v3, self._to_v4, self._to_v5, self._to_v6)
        for to, step in enumerate(steps, 1):
            if version < to:
                self._step(to, step)

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
        self._db.execute(FILES_TABLE.format(name="files_v1"))
        self._db.execute(f"INSERT INTO files_v1({keep}) SELECT {keep} FROM files")
        self._db.execute("DROP TABLE files")
        self._db.execute("ALTER TABLE files_v1 RENAME TO files")
        for stmt in filter(str.strip, FILES_INDEXES.split(";")):
            self._db.execute(stmt)

    def _to_v2(self) -> None:
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(files)")}
        for col, kind in (("video_key", "TEXT"), ("t_ms", "INTEGER")):
            if col not in cols:  # a v0 catalog rebuilt by _to_v1 has them already
                self._db.execute(f"ALTER TABLE files ADD COLUMN {col} {kind}")
        self._db.execute(VIDEO_INDEX)
        for stmt in filter(str.strip, VIDEOS_TABLE.split(";")):
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
            self._db.execute(JOURNAL_TABLE.format(name="file_journal_v3"))
            self._db.execute(f"INSERT INTO file_journal_v3({cols}) SELECT {cols} FROM file_journal")
            self._db.execute("DROP TABLE file_journal")
            self._db.execute("ALTER TABLE file_journal_v3 RENAME TO file_journal")
        self._db.execute(TRASH_TABLE)

    def _to_v4(self) -> None:
        self._db.execute(METADATA_TABLE)

    def _to_v5(self) -> None:
        for stmt in filter(str.strip, LABELS_TABLE.split(";")):
            self._db.execute(stmt)

    def _to_v6(self) -> None:
        self._db.execute(PREDICTION_SETS_TABLE)

    def close(self, clean: bool = False) -> None:
        """Close the connection. ``clean``: the owner's end of a session, which leaves
        the clean-close mark (the next open then skips its synchronous check) when
        this session's check found the file sound."""
        with self._lock:
            if clean and not self._readonly and self._settled() is None:
                with suppress(sqlite3.Error):
                    put_clean_mark(self._db)
            self._db.close()
        with self._generation_lock:  # not under _lock: a first count takes them the other way
            self._closed = True
            if self._generation is not None:
                mm, fh = self._generation
                mm.close()
                fh.close()
                self._generation = None

    def _settled(self) -> str | None:
        """What this session's check of the file found (None: sound), waiting for a
        check still running in the background."""
        return None if self._check is None else self._check.problem()

    def checked(self) -> None:
        """Wait for this session's check of the file; ProjectCorrupt if it found damage."""
        if (problem := self._settled()) is not None:
            raise self._damaged(problem)

    def check_at_open(self, name: str, background: bool) -> None:
        """The owner's check of project ``name``'s catalog (see :func:`open_catalog`):
        takes the clean-close mark, then checks now or starts the background check."""
        self._check_name = name
        self.was_clean = take_clean_mark(self._db)
        if background:
            self._check = BackgroundCheck(self.path)
        elif (problem := quick_check(self._db)) is not None:
            raise sqlite3.DatabaseError(problem)

    def _damaged(self, problem: str) -> ProjectCorrupt:
        return damaged(self.path, self._check_name, problem)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if (problem := self._settled()) is not None:  # no write before the check
                raise self._damaged(problem)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            if self._check is not None and (problem := self._check.found()) is not None:
                raise self._damaged(problem)
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                # A read that meets damaged pages before the check reports them: SQLite's
                # "malformed" is said as what it is, once the check has named the damage.
                if type(exc) is sqlite3.DatabaseError and (problem := self._settled()):
                    raise self._damaged(problem) from None
                raise

    def query_in(
        self, sql: str, values: Iterable[Any], extra: Sequence[Any] = ()
    ) -> Iterator[tuple]:
        """Rows of ``sql`` for many values: its ``{marks}`` becomes one placeholder per
        value, run per chunk of values (SQLite bounds the parameters of a statement);
        ``extra`` parameters follow each chunk's."""
        values = list(values)
        for i in range(0, len(values), IN_CHUNK):
            chunk = values[i : i + IN_CHUNK]
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

    def bump_vectors_generation(self) -> None:
        """Count one write of the vector store. Called before and after each write
        (``StoreBase.on_write``), so a reader that takes :meth:`vectors_generation`
        before reading the vectors and sees it unchanged afterwards read no write's
        half; a crash in the middle leaves it bumped already.

        The count lives in a file beside the catalog (:data:`GENERATION_SUFFIX`),
        mapped in memory and shared by every process that maps it, each count taken
        under an exclusive ``flock`` of that file (several processes may write one
        Qdrant server's collection): ~2 µs. As a commit of the catalog's ``meta`` row
        it cost 20-60 µs, twice per write: +10 % of CPU on the indexer's 32-vector
        upserts (benchmarks §15). Where the file cannot be used (an in-memory
        catalog, no ``fcntl``, a file this process may not write) the ``meta`` row
        counts, and :meth:`vectors_generation` is the sum of both."""
        with self._generation_lock:
            counter = self._counter(create=True)
            if counter is not None:
                mm, fh = counter
                fcntl.flock(fh, fcntl.LOCK_EX)  # type: ignore[union-attr]
                try:
                    _COUNT.pack_into(mm, 0, _COUNT.unpack_from(mm)[0] + 1)
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)  # type: ignore[union-attr]
                return
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta(k, v) VALUES (?, '1') "
                "ON CONFLICT(k) DO UPDATE SET v = CAST(v AS INTEGER) + 1",
                (VECTORS_GENERATION,),
            )

    def vectors_generation(self) -> int:
        """How many times the vector store was written (see :meth:`bump_vectors_generation`):
        the ``meta`` row's count (the count before the file, and any counted there
        since) plus the file's."""
        with self._generation_lock:
            counter = self._counter(create=False)
            mapped = int(_COUNT.unpack_from(counter[0])[0]) if counter is not None else 0
        return int(self.get_meta(VECTORS_GENERATION, 0)) + mapped

    def _counter(self, create: bool) -> tuple[mmap.mmap, Any] | None:
        """The mapped count file and its open file (under ``_generation_lock``), made
        when ``create``; None where there is none to use: an in-memory or closed
        catalog, no ``fcntl``, a read-only catalog before any write was counted, a
        file this process cannot open. A file shorter than the count (a crash between
        its creation and its first write) is filled with 0 under the lock."""
        if self._generation is not None:
            return self._generation
        if self._closed or fcntl is None or self.path in ("", ":memory:"):
            return None
        path = self.path + GENERATION_SUFFIX
        writable = create and not self._readonly
        try:
            if writable:
                fh: Any = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+b")
            else:
                fh = open(path, "rb" if self._readonly else "r+b")  # noqa: SIM115 (kept open: its flock)
        except OSError:
            return None
        try:
            if os.fstat(fh.fileno()).st_size < _COUNT.size:
                if not writable:
                    fh.close()
                    return None
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    if os.fstat(fh.fileno()).st_size < _COUNT.size:
                        fh.seek(0)
                        fh.write(_COUNT.pack(0))
                        fh.flush()
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
            access = mmap.ACCESS_READ if self._readonly else mmap.ACCESS_WRITE
            self._generation = (mmap.mmap(fh.fileno(), _COUNT.size, access=access), fh)
        except OSError:
            fh.close()
            return None
        return self._generation

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
        metadata: Sequence[tuple] = (),
        lent: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``embedded``: (key, content, model); ``failed``: (key, kind, message);
        ``frames``: video frames whose vectors were just written, (key, id, path,
        source, video key, t_ms, pixel hash, model): rows added or updated;
        ``metadata``: their metadata rows, ``lent``: (id, lender id) of those whose
        metadata is their lender's (see :class:`MetadataTable`)."""
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
            self.write_metadata(db, metadata, lent)

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
        """Files by state (a pass over every row: ~1 s at 1M), counted again only when
        the catalog has changed since (rows changed through this connection, commits
        by others): a status polled while nothing happens costs one query."""
        key = (
            tuple(
                self.query(
                    "SELECT total_changes(), (SELECT data_version FROM pragma_data_version)"
                )[0]
            ),
            model,
        )
        if self._counts is not None and self._counts[0] == key:
            return dict(self._counts[1])
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
        self._counts = (key, dict(out))
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
        sql = "SELECT id, key, path, source, status, video_key, t_ms FROM files"
        ids = list(ids)
        if len(ids) >= SCAN_FROM and 4 * len(ids) >= self.row_count():
            # Most of the rows: one pass over the table (~0.2 s at 100k rows) beats
            # looking each id up (~1.5 s at 100k).
            wanted = set(ids)
            rows: Iterable[tuple] = (r for r in self.query(sql) if r[0] in wanted)
        else:
            rows = self.query_in(sql + " WHERE id IN ({marks})", ids)
        for r in rows:
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

    def has_embedded(self, model: str) -> bool:
        """Whether any row is embedded with ``model`` (one index probe, not a count)."""
        sql = "SELECT 1 FROM files WHERE status = 'embedded' AND model = ? LIMIT 1"
        return bool(self.query(sql, (model,)))

    def row_count(self) -> int:
        """Rows of the inventory, every status (SQLite counts the smallest index: ~0.1 s
        at 1M rows, where counting the embedded rows of one model reads every row)."""
        return int(self.query("SELECT COUNT(*) FROM files")[0][0])

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

    def embedded_files(self, model: str) -> dict[str, tuple[str | None, int, str]]:
        """id -> (content hash, mtime_ns, path) of the rows embedded with ``model``
        (one pass: what finding duplicates needs of every row)."""
        rows = self.query(
            "SELECT id, content, mtime_ns, path FROM files WHERE status = 'embedded' AND model = ?",
            (model,),
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def all_ids(self) -> set[str]:
        return {r[0] for r in self.query("SELECT id FROM files")}

    def ids_by_path(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> id for the paths in the inventory."""
        return dict(
            self.query_in(
                "SELECT path, id FROM files WHERE path IN ({marks}) AND video_key IS NULL", paths
            )
        )


def open_catalog(
    path: os.PathLike[str] | str, name: str, readonly: bool = False, *, background: bool = False
) -> Catalog:
    """Project ``name``'s catalog, checked; :class:`ProjectCorrupt` naming the file and
    the way out if SQLite cannot read it.

    The owner (``readonly=False``) runs ``PRAGMA quick_check`` once per open (~1 s of
    CPU per million rows) before returning; with ``background=True`` on a thread of its
    own instead (SQLite works outside the GIL), the first write waiting for it (see
    :mod:`._catalog_check`): the caller then calls :meth:`Catalog.checked` before it
    trusts a catalog whose ``was_clean`` is False (the last session did not end in a
    clean close). Status readers, which poll, only check that the file is a catalog.
    """
    cat = None
    try:
        cat = Catalog(os.fspath(path), readonly=readonly)
        cat.query("SELECT 1 FROM files LIMIT 1")  # an empty or foreign database lacks it
        if not readonly:
            cat.check_at_open(name, background)
        return cat
    except sqlite3.Error as exc:
        if cat is not None:
            with suppress(sqlite3.Error):
                cat.close()
        raise damaged(path, name, str(exc)) from None
