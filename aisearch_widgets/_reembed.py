"""Re-embedding a project at another precision, in the background.

The vectors of the new precision go into a store of their own (another identity,
another shard), while searches keep using the current one. :func:`embed_into` fills
that store from the items the catalog lists as embedded and returns which content
each new vector was made from; the project then swaps stores in one step
(:meth:`Project.reembed`), re-queueing any item that changed meanwhile.

Images are read again from their files. The frames of a video are decoded again
from the video, sampled as the sync sampled them (its rate, the model's input size),
one frame in memory at a time; each frame's content is its pixel hash, so a frame
whose pixels differ from what the catalog holds is left to the next sync like a
changed image. A video whose size or modification time differs from the catalog's
is not decoded at all: its frames wait for the next sync, which sees the change.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._prepare import prepare_file, prepare_frame
from .catalog import Catalog
from .embedder import Embedder, bad_rows
from .images import DecodeFailure
from .store import VectorStore
from .video import VideoFrames


@dataclass
class ReembedSummary:
    """What a re-embed did: vectors made (images and frames), files that failed and
    videos that changed since they were embedded (both re-queued for the next sync,
    which classifies them as usual), seconds."""

    precision: str
    embedded: int = 0
    failed: int = 0
    changed: int = 0
    seconds: float = 0.0
    made_from: dict[str, str] = field(default_factory=dict, repr=False)  # id -> content


class ReembedFuture(Future):
    """The future of :meth:`Project.reembed`. ``progress`` is (items done, items in
    all), a video's frames counting one each. ``cancel()`` stops the run at its next
    frame or batch and succeeds until the swap has begun: the project then keeps the
    vectors it had, and the new ones are discarded."""

    def __init__(self, precision: str) -> None:
        super().__init__()
        self.precision = precision
        self.stop = threading.Event()
        self.progress: tuple[int, int] = (0, 0)

    def cancel(self) -> bool:
        self.stop.set()
        return super().cancel()


# An item to embed: (id, content, model input). The item streams also yield plain
# counts: items settled without a vector (failed, changed, or not found any more).
_Item = tuple[str, str, Any]


def embed_into(
    catalog: Catalog,
    model: str,
    embedder: Embedder,
    store: VectorStore,
    *,
    max_file_bytes: int,
    batch_size: int = 32,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReembedSummary:
    """Embed every image and video frame embedded with ``model`` again with
    ``embedder`` into ``store``, ``batch_size`` at a time.

    Writes nothing to the catalog: the caller swaps when this returns. Raises
    ``InterruptedError`` when ``cancel`` is set.
    """
    import torch

    t0 = time.perf_counter()
    cancel = cancel or threading.Event()
    images = catalog.query(
        "SELECT id, path FROM files WHERE status = 'embedded' AND model = ? "
        "AND video_key IS NULL ORDER BY id",
        (model,),
    )
    frames = catalog.query(
        "SELECT video_key, COUNT(*) FROM files WHERE status = 'embedded' AND model = ? "
        "AND video_key IS NOT NULL GROUP BY video_key ORDER BY video_key",
        (model,),
    )
    total = len(images) + sum(n for _, n in frames)
    out = ReembedSummary(embedder.precision)
    done = 0
    ids: list[str] = []
    contents: list[str] = []
    pixels: list[Any] = []

    def flush() -> None:
        if ids:
            vecs = np.asarray(embedder.encode_batch(torch.stack(pixels)))
            # A damaged model gives NaN or zero vectors silently: those rows fail like
            # an undecodable file (never stored), the others go on.
            good = ~bad_rows(vecs)
            keep = [i for i, ok in zip(ids, good, strict=True) if ok]
            if keep:
                store.upsert(keep, vecs[good])
            out.made_from.update((i, c) for i, c, ok in zip(ids, contents, good, strict=True) if ok)
            out.embedded += len(keep)
            out.failed += len(ids) - len(keep)
        ids.clear()
        contents.clear()
        pixels.clear()

    items = _chain(
        _images(images, embedder, max_file_bytes, out),
        *(_frames(catalog, key, model, embedder, cancel, out) for key, _ in frames),
    )
    for item in items:
        if cancel.is_set():
            raise InterruptedError("re-embedding cancelled")
        if isinstance(item, int):
            done += item
        else:
            ids.append(item[0])
            contents.append(item[1])
            pixels.append(item[2])
            if len(ids) >= batch_size:
                done += len(ids)
                flush()
            else:
                continue
        if progress is not None:
            progress(done, total)
    done += len(ids)
    flush()
    if progress is not None:
        progress(done, total)
    store.flush()
    out.seconds = time.perf_counter() - t0
    return out


def _chain(*parts: Iterator[_Item | int]) -> Iterator[_Item | int]:
    for part in parts:
        yield from part


def _images(
    rows: list[tuple], embedder: Embedder, max_file_bytes: int, out: ReembedSummary
) -> Iterator[_Item | int]:
    for pid, path in rows:
        prep = prepare_file(
            path,
            min_side=embedder.image_size,
            preprocess=embedder.preprocess,
            max_bytes=max_file_bytes,
        )
        if prep.fail is not None:
            out.failed += 1
            yield 1
            continue
        yield pid, prep.content, prep.pixels  # type: ignore[misc]


def _frames(
    catalog: Catalog,
    video_key: str,
    model: str,
    embedder: Embedder,
    cancel: threading.Event,
    out: ReembedSummary,
) -> Iterator[_Item | int]:
    """The frames of one video that the catalog holds as embedded with ``model``,
    decoded again at their times; a count for those that give no vector."""
    want = dict(
        catalog.query(
            "SELECT t_ms, id FROM files WHERE video_key = ? AND status = 'embedded' AND model = ?",
            (video_key, model),
        )
    )
    row = catalog.query("SELECT path, size, mtime_ns, fps FROM videos WHERE key = ?", (video_key,))
    if not row or not row[0][3]:
        yield len(want)  # no video row or no sampling rate: the next sync decides
        return
    path, size, mtime_ns, fps = row[0]
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is None or (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
        # Changed (or gone) since it was embedded: never embed other pixels under
        # these ids; the next sync sees the change and embeds the video again.
        out.changed += 1
        yield len(want)
        return
    left = len(want)
    try:
        for fr in VideoFrames(path, fps, min_side=embedder.image_size):
            if cancel.is_set():
                break  # the caller stops at the next item
            pid = want.get(fr.t_ms)
            if pid is None:
                continue
            left -= 1
            prep = prepare_frame(fr.image, preprocess=embedder.preprocess)
            yield pid, prep.content, prep.pixels  # type: ignore[misc]
    except DecodeFailure:
        out.failed += 1
    yield left


class Reembedder:
    """Runs one re-embedding at a time for a project's :class:`~._vectors.Vectors`,
    in a thread; the swap holds the ``runner``'s syncs off, and asks it for a sync
    when rows changed meanwhile (if the project is enabled)."""

    def __init__(self, vectors: Any, runner: Any, *, batch_size: int, max_file_bytes: int) -> None:
        self.vectors = vectors
        self.runner = runner
        self.batch_size = batch_size
        self.max_file_bytes = max_file_bytes
        self.job: tuple[ReembedFuture, threading.Thread] | None = None

    def start(self, precision: str) -> ReembedFuture:
        from ._errors import InvalidArgument
        from .embedder import (
            model_identity,
            parse_model_spec,
            pick_device,
            resolve_precision,
            with_precision,
        )

        vec = self.vectors
        spec = parse_model_spec(vec.config.model)
        device = pick_device("cpu" if precision == "int8" else vec.device)
        prec = resolve_precision(spec, device, precision)
        running = self.job
        if running is not None and running[1].is_alive() and not running[0].stop.is_set():
            if running[0].precision == prec:
                return running[0]
            raise InvalidArgument(
                f"Project {vec.config.name!r} is already re-embedding to "
                f"precision={running[0].precision!r}. Wait for it (.result()) or cancel "
                "it (.cancel()) before asking for another precision."
            )
        fut = ReembedFuture(prec)
        if prec == vec.config.precision:
            fut.set_result(ReembedSummary(prec))
            return fut
        new_id = with_precision(model_identity(spec), prec)
        before = running[1] if running is not None else None

        def progress(done: int, total: int) -> None:
            fut.progress = (done, total)

        def run() -> None:
            if before is not None:
                before.join()  # a cancelled run still cleaning up its store
            store = None
            try:
                emb = vec.load_embedder(prec)
                store = vec.open_store(new_id, emb.dim)
                summary = embed_into(
                    vec.catalog,
                    vec.identity,
                    emb,
                    store,
                    max_file_bytes=self.max_file_bytes,
                    batch_size=self.batch_size,
                    cancel=fut.stop,
                    progress=progress,
                )
                # Vectors an earlier, interrupted run left in that store for items
                # gone since would be orphans after the swap.
                if extra := store.ids() - set(summary.made_from):
                    store.delete(sorted(extra))
                if not fut.set_running_or_notify_cancel():
                    raise InterruptedError("re-embedding cancelled")
                stale = vec.swap(new_id, prec, emb, store, summary.made_from, self.runner.paused())
                if stale and vec.config.enabled:
                    self.runner.request()
            except BaseException as exc:
                if store is not None:
                    vec.discard(store, new_id)
                if not fut.cancelled():
                    fut.set_exception(exc)
            else:
                fut.set_result(summary)

        thread = threading.Thread(
            target=run, name=f"aisearch-reembed-{vec.config.name}", daemon=True
        )
        self.job = (fut, thread)
        thread.start()
        return fut

    def stop(self) -> None:
        """Cancel a running re-embedding and wait for it (it reads the catalog)."""
        if self.job is not None:
            self.job[0].cancel()
            self.job[1].join()
