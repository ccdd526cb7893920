"""Keeps a project's embeddings in sync with its files.

:class:`Indexer` runs one sync: scan (stat only) → plan → decode in worker threads
while the model embeds the previous batch → upsert vectors → commit the batch's
inventory rows → drop deleted files. Every batch is committed on its own, point ids
are stable, and rows are marked *pending* before their vectors are written, so a
run killed at any point resumes without duplicates, orphans or lost files.

:class:`Runner` runs syncs in a background thread, on demand and on a schedule.

A video is one file of the plan and many items of the index: a worker thread decodes
its sampled frames one at a time into a bounded queue, and they join the batches like
images. Its ``videos`` row is pending until its last frame is committed; then the
frames it no longer has are dropped (vectors first) and the row says ``embedded``
(with where a partly decodable video stopped) or ``failed``. A crash in between
leaves the video pending: the next sync decodes it again, and frames whose pixels
did not change keep their vectors (pixel hash).

Files are never deleted on a guess: a file whose folder vanished or emptied (an
unmounted share) is kept as *missing*, with its vector and tags, until it comes back
or the user asks ``update(prune_missing=True)``; a schedule never prunes. Before each
write the free space of the project home is checked (a full disk under Qdrant Edge
ends in SIGBUS, not in an exception): when short, the sync stops with
:class:`DiskFull` and the next one resumes.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import queue
import shutil
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._config import ProjectConfig
from ._engine import Engine, Lenders, LocalEngine
from ._prepare import prepare_file, prepare_frame
from ._sync_types import (
    END,
    DiskFull,
    Prepared,
    Progress,
    SyncCancelled,
    SyncSummary,
    VideoDone,
    bad_vector_message,
)
from ._thumbs import ThumbnailCache
from ._vectors import Vectors
from .catalog import Catalog, metadata_row
from .embedder import bad_rows
from .images import MAX_FILE_BYTES, DecodeFailure
from .sources import FileEntry, plan_sync, point_id, scan
from .store import VectorStore
from .video import DEFAULT_FPS, VideoFrames, frame_key, is_video

log = logging.getLogger(__name__)

__all__ = ["DiskFull", "Indexer", "Progress", "SyncCancelled", "SyncSummary"]

# Free space kept on the project home's file system, beyond what a batch needs.
MIN_FREE_MB = 256
# What one stored point costs on disk, besides its vector: a thumbnail (~10 KB),
# WAL record and catalog row. Vectors count twice (WAL and segment) plus an
# int8 copy.
_POINT_OVERHEAD = 16 * 1024
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _free_bytes(path: str) -> int:
    """Free bytes on the file system holding ``path`` (the one probe tests replace)."""
    return shutil.disk_usage(path).free


@dataclass
class _Pass:
    """What the batches of one sync's embedding share."""

    model: str
    store: VectorStore
    cancel: threading.Event
    summary: SyncSummary
    prev: dict[str, str | None]  # key -> content hash when last embedded with the model
    dim: int
    fps: float = DEFAULT_FPS
    last_flush: float = field(default_factory=time.monotonic)


@dataclass(eq=False, repr=False)
class Indexer:
    """Runs syncs of one project. The embedder and store are fetched lazily through
    callables: opening a project never loads a model, and a sync that embeds nothing
    (deletions only, or no change) never loads it either."""

    project: str
    catalog: Catalog
    config: ProjectConfig
    vectors: Vectors
    # Folders (or a callable giving them) a scan leaves out.
    skip: Sequence[str] | Callable[[], Sequence[str]] = ()
    thumbs: ThumbnailCache | None = None
    batch_size: int = 32
    workers: int = 0  # 0: one per core, at most 4
    # Where free space is checked (default: the project home, where the catalog lives).
    home: str = ""
    min_free_mb: int = MIN_FREE_MB
    max_file_bytes: int = MAX_FILE_BYTES
    # Embeds the image files: this process (None: ``local``) or e.g. _ray.RayEngine.
    engine: Engine | None = None
    # Each embedded file's metadata and quality signals, from the decode that embeds
    # it (off: only to measure what they cost).
    metadata: bool = True

    def __post_init__(self) -> None:
        self.workers = self.workers or max(1, min(4, os.cpu_count() or 1))
        self.home = self.home or os.path.dirname(os.path.abspath(self.catalog.path))
        # Embeds video frames, and files whose lender's vector vanished at commit.
        self.local = LocalEngine(self.vectors.embedder, self.workers, self.batch_size)
        self.engine = self.engine if self.engine is not None else self.local
        self.progress = Progress()
        # video key -> {t_ms: message} of the frames whose vectors were refused in
        # this sync; read when the video is finished.
        self._bad_frames: dict[str, dict[int, str]] = {}

    # -- free space -------------------------------------------------------------------
    def _disk_full(self, free: int, need: int) -> DiskFull:
        return DiskFull(
            f"disk full at {self.home}: {free // 2**20} MB free, need ~{math.ceil(need / 2**20)} "
            "MB; free space and run proj.update() to resume (nothing was lost: files not "
            "embedded yet stay pending)"
        )

    def _check_space(self, points: int, dim: int = 512, per_point: int | None = None) -> None:
        """Refuse to write ``points`` more points unless the project home keeps
        ``min_free_mb`` free afterwards. ``per_point``: bytes one point needs
        (default: a new point with its thumbnail)."""
        each = dim * 9 + _POINT_OVERHEAD if per_point is None else per_point
        need = points * each + self.min_free_mb * 2**20
        free = _free_bytes(self.home)
        if free < need:
            raise self._disk_full(free, need)

    # -- one file -------------------------------------------------------------------
    def _prepare_again(self, entry: FileEntry, pid: str) -> Prepared:
        """A file whose borrowed vector vanished: prepared to be embedded here."""
        emb = self.vectors.embedder()
        prep = prepare_file(
            entry.path,
            min_side=emb.image_size,
            preprocess=emb.preprocess,
            max_bytes=self.max_file_bytes,
            thumbs=self.thumbs is not None,
            metadata=self.metadata,
        )
        p = Prepared(entry, pid, prep.content, pixels=prep.pixels)
        p.fail, p.thumb, p.meta = prep.fail, prep.thumb, prep.meta
        self._put_thumbs([p])
        return p

    def _put_thumbs(self, prepared: Sequence[Prepared]) -> None:
        """Write the thumbnails of newly embedded files (the disk's fault stops the
        sync; another write error fails the file)."""
        if self.thumbs is None:
            return
        for p in prepared:
            if p.thumb and p.fail is None and not p.reuse:
                try:
                    self.thumbs.put(p.id, p.thumb)
                except OSError as exc:
                    if exc.errno in _FULL_ERRNOS:  # the disk's fault, not the file's: stop
                        free = _free_bytes(self.home)
                        raise self._disk_full(free, self.min_free_mb * 2**20) from exc
                    log.exception("unexpected error writing the thumbnail of %s", p.entry.path)
                    p.fail, p.vector, p.pixels = ("error", f"{p.entry.path}: {exc}"), None, None

    # -- one sync ---------------------------------------------------------------------
    def sync(
        self,
        cancel: threading.Event | None = None,
        retry_failed: bool = False,
        prune_missing: bool = False,
    ) -> SyncSummary:
        """One sync. ``prune_missing`` deletes files kept as missing (their folder
        vanished or emptied); only a user's explicit request passes it."""
        try:
            return self._sync(cancel or threading.Event(), retry_failed, prune_missing)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise self._disk_full(_free_bytes(self.home), self.min_free_mb * 2**20) from exc
            raise
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(exc):
                raise self._disk_full(_free_bytes(self.home), self.min_free_mb * 2**20) from exc
            raise

    def _sync(
        self, cancel: threading.Event, retry_failed: bool, prune_missing: bool
    ) -> SyncSummary:
        t0 = time.perf_counter()
        prog = self.progress = Progress(phase="scanning", started_at=time.time())
        self._bad_frames = {}
        settings = self.config.snapshot()  # one reading of the settings per sync
        model = self.vectors.settled_identity()
        skip = self.skip() if callable(self.skip) else self.skip
        scanned = scan(list(settings.sources), skip=skip)
        known = self.catalog.known()
        fps = settings.video_fps
        plan = plan_sync(
            scanned,
            known,
            model,
            retry_failed=retry_failed,
            prune_missing=prune_missing,
            video_fps=fps,
        )
        s = SyncSummary(**plan.summary(), scan_errors=scanned.errors)
        for path, msg in scanned.errors:
            log.warning("%s: %s (its files are kept as they were)", path, msg)
        if plan.missing:
            log.warning(
                "%d files are missing (their folder is gone or empty); they are kept. "
                "Run proj.update(prune_missing=True) to forget them.",
                len(plan.missing),
            )
            self.catalog.mark_missing(plan.missing)
        if plan.restore:
            self.catalog.restore([e.key for e in plan.restore])

        dirty = self.catalog.get_meta("dirty", False)
        if dirty and self.thumbs is not None:
            self.thumbs.sweep()
        store = self.vectors.store() if (plan.embed or plan.delete) else None
        dim = store.dim if store is not None else 512
        if dirty and store is not None:
            self.vectors.drop_orphans(store)
        todo = plan.embed
        if todo:
            self._check_space(min(len(todo), self.batch_size), dim)
            self.catalog.set_meta(dirty=True)
            ids = self._ids_for(todo)
            self.catalog.mark_pending(todo, ids)
            prog.phase, prog.total = "embedding", len(todo)
            prev = {
                e.key: k.content
                for e in todo
                if (k := known.get(e.key))
                and k.model == model
                and (k.status == "embedded" or (k.status == "missing" and k.prior == "embedded"))
            }
            self._deleting = plan.delete  # files whose vectors a moved copy may borrow
            items = list(zip(todo, ids, strict=True))
            self._embed_all(items, _Pass(model, store, cancel, s, prev, dim, fps))
        if plan.delete:
            if cancel.is_set():
                raise SyncCancelled("sync cancelled")
            prog.phase = "deleting"
            self._check_space(0, dim)
            self.vectors.forget(self.catalog.ids_of_keys(plan.delete).values(), keys=plan.delete)
        if self.metadata:
            self._fill_metadata(cancel)
        if store is not None:
            store.flush()
        s.seconds = time.perf_counter() - t0
        self.catalog.set_meta(
            dirty=False, first_pass_done=True, last_sync=time.time(), last_summary=s.as_dict()
        )
        if store is not None:
            # Optimizing rewrites the segments (float32 and int8 copies): skip it
            # (searches stay correct, only slower) rather than run out of space
            # inside the store.
            try:
                self._check_space(store.count(), dim, per_point=dim * 5)
            except DiskFull as exc:
                log.warning("store not optimized: %s", exc)
            else:
                prog.phase = "optimizing"
                store.maybe_optimize()
        prog.phase = "idle"
        return s

    def _fill_metadata(self, cancel: threading.Event) -> None:
        """Metadata for embedded files that have none (a project of an older schema):
        read and decode them again, without the model; vectors stay as they are."""
        missing = self.catalog.without_metadata()
        if not missing:
            return
        self.progress.phase = "embedding"
        images = [(pid, path) for pid, path, vkey, _ in missing if vkey is None]
        videos: dict[str, dict[int, str]] = {}
        for pid, _, vkey, t_ms in missing:
            if vkey is not None:
                videos.setdefault(vkey, {})[t_ms] = pid
        rows = []
        for pid, meta in self.local.describe_files(images, self.max_file_bytes):
            if cancel.is_set():
                raise SyncCancelled("sync cancelled")
            rows.append(metadata_row(pid, meta))
            if len(rows) >= 256:
                self.catalog.put_metadata(rows)
                rows = []
        for vkey, want in videos.items():
            got = self.catalog.query("SELECT path, fps FROM videos WHERE key = ?", (vkey,))
            if got and got[0][1]:
                for pid, meta in self.local.describe_frames(got[0][0], got[0][1], want):
                    if cancel.is_set():
                        raise SyncCancelled("sync cancelled")
                    rows.append(metadata_row(pid, meta))
        self.catalog.put_metadata(rows)

    def _ids_for(self, todo: Sequence[FileEntry]) -> list[str]:
        """One id per file: the catalog's id for keys it knows (a file moved by a file
        action keeps its id under its new key), a stable new id otherwise."""
        have = self.catalog.ids_of_keys([e.key for e in todo])
        fresh = {e.key: point_id(self.project, e.key) for e in todo if e.key not in have}
        # A new key may be the old key of a moved file, whose id that file still holds.
        taken = set(self.catalog.records(list(fresh.values()))) | set(have.values())
        for key, pid in fresh.items():
            n = 0
            while pid in taken or (n and self.catalog.records([pid])):
                n += 1
                pid = point_id(self.project, f"{key}\x00{n}")
            fresh[key] = pid
            taken.add(pid)
        return [have.get(e.key) or fresh[e.key] for e in todo]

    def _embed_all(self, items: list[tuple[FileEntry, str]], run: _Pass) -> None:
        """The images through the engine, then the videos: a video is many items from
        one file, decoded and embedded in this process (same pending marks, same
        :meth:`_finish_video`) whatever the engine."""
        images = [(e, pid) for e, pid in items if not is_video(e.path)]
        videos = [(e, pid) for e, pid in items if is_video(e.path)]
        self._embed_images(images, run)
        if videos:
            self._embed_videos(videos, run)

    def _write(self, batch: list[Prepared], run: _Pass, thumbs: bool = False) -> None:
        """One batch into the store and the catalog (its thumbnails first when asked);
        the store is flushed every 10 s, which bounds WAL replay after a crash."""
        if run.cancel.is_set():
            raise SyncCancelled("sync cancelled")
        for p in batch:
            p.had_vector = run.prev.get(p.entry.key) is not None
        self._check_space(len(batch), run.dim)  # before this batch's writes
        if thumbs:
            self._put_thumbs(batch)
        self._commit(batch, run.model, run.store, run.summary)
        self.progress.done += len(batch)
        self.progress.failed = run.summary.failed
        if time.monotonic() - run.last_flush > 10:
            run.store.flush()
            run.last_flush = time.monotonic()

    def _embed_images(self, items: list[tuple[FileEntry, str]], run: _Pass) -> None:
        """``self.engine`` turns image files into vectors (or reuse marks, or
        failures); this process writes store and catalog batch by batch."""
        if not items:
            return
        lend = Lenders(
            self._lenders(run.model), lambda c: self.catalog.find_by_content(c, run.model)
        )
        stream = self.engine.embed_files(
            items,
            run.prev,
            lend,
            thumbs=self.thumbs is not None,
            metadata=self.metadata,
            max_bytes=self.max_file_bytes,
        )
        try:
            for prepared in stream:
                self._write(prepared, run, thumbs=True)
        finally:
            stream.close()

    def _embed_videos(self, videos: list[tuple[FileEntry, str]], run: _Pass) -> None:
        stop = threading.Event()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="aisearch-decode") as pool:
            inflight: deque[queue.Queue[Any]] = deque()
            nxt = 0

            def top_up() -> None:
                nonlocal nxt
                # A few videos decoded ahead, each through a bounded queue.
                while nxt < len(videos) and len(inflight) < 3:
                    q: queue.Queue[Any] = queue.Queue(maxsize=2 * self.batch_size)
                    pool.submit(self._decode_video, videos[nxt][0], run.model, run.fps, q, stop)
                    inflight.append(q)
                    nxt += 1

            def stream() -> Iterator[Prepared | VideoDone]:
                while inflight:
                    head = inflight[0]
                    while (got := head.get()) is not END:
                        yield got
                    inflight.popleft()
                    top_up()

            batch: list[Prepared] = []

            def commit() -> None:
                self._write(batch, run)
                batch.clear()

            try:
                top_up()
                for p in stream():
                    if isinstance(p, VideoDone):
                        if batch:
                            commit()  # its frames are in before the video is finished
                        self._finish_video(p, run.model, run.fps, run.store, run.summary)
                        continue
                    batch.append(p)
                    if len(batch) >= self.batch_size:
                        commit()
                if batch:
                    commit()
            except BaseException:
                stop.set()
                raise

    # -- one video (runs in a worker thread) ------------------------------------------
    def _decode_video(
        self,
        entry: FileEntry,
        model: str,
        fps: float,
        q: queue.Queue[Any],
        stop: threading.Event,
    ) -> None:
        """Put the sampled frames of a video on ``q`` as they are decoded, then a
        :class:`VideoDone`, then ``END``. Never more than ``q``'s size at a time."""

        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        done = VideoDone(entry, set())
        try:
            emb = self.vectors.embedder()
            known = self.catalog.frames_of(entry.key)
            frames = VideoFrames(entry.path, fps, min_side=emb.image_size)
            counted = False
            for fr in frames:
                if not counted and (est := frames.estimate()):
                    self.progress.total += est - 1  # the video counted as one so far
                    counted = True
                if stop.is_set():
                    return
                had = known.get(fr.t_ms)
                pid = had[0] if had else self._frame_id(entry.key, fr.t_ms)
                prep = prepare_frame(
                    fr.image,
                    preprocess=emb.preprocess,
                    pid=pid,
                    prev=had[1] if had and had[2] == model else None,
                    lend=lambda c: self.catalog.find_by_content(c, model),
                    thumbs=self.thumbs is not None,
                    metadata=self.metadata,
                )
                # Pixels even when reusing: the lender's vector may be gone at commit.
                p = Prepared(entry, pid, prep.content, pixels=prep.pixels, reuse=prep.reuse)
                p.t_ms, p.meta = fr.t_ms, prep.meta
                if self.thumbs is not None and prep.thumb:
                    self.thumbs.put(pid, prep.thumb)
                done.seen.add(fr.t_ms)
                if not put(p):
                    return
            done.stopped = frames.stopped
        except DecodeFailure as f:
            done.fail = (f.kind, f.message)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                done.error = exc
            else:
                log.exception("unexpected error decoding %s", entry.path)
                done.fail = ("error", f"{entry.path}: {exc}")
        except Exception as exc:  # a bug or an exotic file must not stop the run
            log.exception("unexpected error decoding %s", entry.path)
            done.fail = ("error", f"{entry.path}: {type(exc).__name__}: {exc}")
        if done.fail and done.seen:  # it broke midway: keep what it gave
            done.stopped, done.fail = done.fail[1], None
        if put(done):
            put(END)

    def _frame_id(self, video_key: str, t_ms: int) -> str:
        """A new frame's stable id (another one if that id is taken, e.g. by a frame of
        a video moved away from this key)."""
        key = frame_key(video_key, t_ms)
        pid, n = point_id(self.project, key), 0
        while self.catalog.records([pid]):
            n += 1
            pid = point_id(self.project, f"{key}\x00{n}")
        return pid

    def _finish_video(
        self, d: VideoDone, model: str, fps: float, store: VectorStore, s: SyncSummary
    ) -> None:
        """After a video's last frame is committed: drop the frames it no longer has
        (store first, then catalog), then mark it done or failed."""
        if d.error is not None:
            raise self._disk_full(_free_bytes(self.home), self.min_free_mb * 2**20) from d.error
        key = d.entry.key
        unusable = self._bad_frames.pop(key, {})
        if unusable:  # frames whose vectors were refused: not frames of the video now
            d.seen -= set(unusable)
            first = unusable[min(unusable)]
            if not d.seen and d.fail is None:
                d.fail = ("bad_vector", f"no frame gave a usable vector: {first}")
                d.stopped = None
            elif d.fail is None:
                d.bad = f"{len(unusable)} frames gave unusable vectors, e.g. {first}"
        stale = [pid for t, (pid, _, _) in self.catalog.frames_of(key).items() if t not in d.seen]
        if stale:
            store.delete(stale)
            self.catalog.forget_ids(stale)
            if self.thumbs is not None:
                for pid in stale:
                    self.thumbs.remove(pid)
        if d.fail is not None:
            msg = d.fail[1] + ("; its earlier frames were removed from search" if stale else "")
            self.catalog.finish_video(key, "failed", model, fps, 0, (d.fail[0], msg))
            s.failed += 1
            log.warning("%s", msg)
            return
        error = ("video_partial", d.stopped) if d.stopped else None
        if d.bad:
            error = (
                ("video_partial", f"{d.stopped}; {d.bad}") if d.stopped else ("bad_vector", d.bad)
            )
        if error:
            log.warning("%s", error[1])
        self.catalog.finish_video(key, "embedded", model, fps, len(d.seen), error)

    def _lenders(self, model: str) -> dict[str, str]:
        """content hash -> id of the embedded files this sync deletes: a moved or
        renamed file borrows its old vector."""
        keys = list(getattr(self, "_deleting", ()))
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self.catalog.query(
                f"SELECT content, id FROM files WHERE key IN ({','.join('?' * len(chunk))})"
                " AND model = ? AND status = 'embedded' AND content IS NOT NULL",
                (*chunk, model),
            )
            out.update(dict(rows))
        return out

    # -- writing one batch --------------------------------------------------------------
    def _commit(
        self,
        prepared: list[Prepared],
        model: str,
        store: VectorStore,
        s: SyncSummary,
    ) -> None:
        reuse = [p for p in prepared if p.reuse]
        if reuse:
            got = store.retrieve([p.reuse for p in reuse])
            for p in reuse:
                lent = got.get(p.reuse)  # type: ignore[arg-type]
                # The source vector vanished, or is unusable (NaN or zero, stored by an
                # older version from a damaged model): embed after all.
                if lent is None or bad_rows(lent)[0]:
                    if p.t_ms is not None:
                        p.reuse = None  # a frame keeps its pixels for this
                        continue
                    q = self._prepare_again(p.entry, p.id)
                    p.reuse, p.pixels, p.fail, p.meta = None, q.pixels, q.fail, q.meta
        ok = [p for p in prepared if p.pixels is not None and not p.reuse]
        who: list[Prepared] = []
        vecs: list[np.ndarray] = []
        if ok:
            # Only rows that decoded are stacked, so ids and vectors stay aligned.
            vecs.append(self.local.embed([p.pixels for p in ok]))
            who += ok
        done_elsewhere = [p for p in prepared if p.vector is not None]
        if done_elsewhere:
            vecs.append(np.stack([p.vector for p in done_elsewhere]).astype(np.float32))
            who += done_elsewhere
        reused = [p for p in prepared if p.reuse]
        if reused:
            vecs.append(np.stack([got[p.reuse] for p in reused]))  # type: ignore[index]
            who += reused
        if who:
            # Every vector is checked before it is written: a NaN, infinite or zero
            # vector (a damaged model or int8 cache gives one for every file) is never
            # stored or counted as embedded; its row fails as ``bad_vector``.
            matrix = np.concatenate(vecs)
            unusable = bad_rows(matrix)
            kept = []
            for k, p in enumerate(who):
                if unusable[k]:
                    p.fail = ("bad_vector", bad_vector_message(p, matrix[k]))
                    p.reuse = None
                else:
                    kept.append(k)
            if kept:
                store.upsert([who[k].id for k in kept], matrix[kept])
            for k in kept:
                p = who[k]
                if p.reuse:
                    s.reused += 1
                    if self.thumbs is not None and p.reuse != p.id and p.t_ms is None:
                        self.thumbs.copy(p.reuse, p.id)
                else:
                    s.embedded += 1
        bad = [p for p in prepared if p.fail]
        if bad:
            # A file whose current content cannot be embedded must not be found by its
            # old vector: store first, then catalog (a crash between leaves the rows
            # pending, and the next sync redoes both).
            store.delete([p.id for p in bad])
            if self.thumbs is not None:
                for p in bad:
                    self.thumbs.remove(p.id)
        failed = []
        for p in bad:
            kind, msg = p.fail  # type: ignore[misc]
            if p.t_ms is not None:  # a frame: its video says so when it is finished
                self._bad_frames.setdefault(p.entry.key, {})[p.t_ms] = msg
                continue
            if p.had_vector:
                msg += "; its previous version was removed from search"
            failed.append((p.entry.key, kind, msg))
        s.failed += len(failed)
        done = [
            (p.entry.key, p.content, model) for p in prepared if p.fail is None and p.t_ms is None
        ]
        frames = [
            (
                frame_key(p.entry.key, p.t_ms),
                p.id,
                p.entry.path,
                p.entry.source,
                p.entry.key,
                p.t_ms,
                p.content,
                model,
            )
            for p in prepared
            if p.t_ms is not None and p.fail is None
        ]
        ok_now = [p for p in prepared if p.fail is None]
        self.catalog.commit_batch(
            done,
            failed,
            frames,  # type: ignore[arg-type]
            metadata=[metadata_row(p.id, p.meta) for p in ok_now if p.meta],
            lent=[(p.id, p.reuse) for p in ok_now if p.reuse and not p.meta],
        )
