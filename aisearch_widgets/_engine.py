"""The embedding step of a sync, behind one interface.

An :class:`Engine` turns image files into vectors: given ``(file, id)`` pairs it
yields batches of :class:`~._sync_types.Prepared`, each holding a vector, a reuse mark
(the id whose vector it borrows) or a failure, with its thumbnail and metadata. The
indexer plans, writes store and catalog, and never knows where the work ran.

- :class:`LocalEngine` (``engine="local"``): decodes in threads of this process while
  the model embeds the previous batch.
- :class:`~._ray.RayEngine` (``engine="ray"``): decodes in Ray tasks, embeds in model
  actors.

Both prepare every file with :func:`._prepare.prepare_file`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ._prepare import Prep, frame_metadata, metadata_of_path, prepare_file
from ._sync_types import Prepared
from .images import DecodeFailure
from .sources import FileEntry, iter_batches
from .video import VideoFrames

# The decode size of a file whose metadata is filled in later (no model at hand to
# say its input size): the signals are measured at a fixed size anyway.
FILL_SIDE = 224

__all__ = ["Engine", "Lenders", "LocalEngine", "to_prepared"]


@dataclass
class Lenders:
    """Whose vector a file's content may borrow. ``moved``: content hash → id of the
    embedded files this sync deletes (a move or rename), which any engine can ship to
    its workers; ``lookup``: any embedded file with that content (a copy), asked in
    this process only."""

    moved: dict[str, str] = field(default_factory=dict)
    lookup: Callable[[str], str | None] | None = None

    def __call__(self, content: str) -> str | None:
        got = self.moved.get(content)
        if got is None and self.lookup is not None:
            got = self.lookup(content)
        return got


class Engine(Protocol):
    """The embedding step of :class:`~.indexer.Indexer`."""

    def embed_files(
        self,
        items: Sequence[tuple[FileEntry, str]],
        prev: dict[str, str | None],
        lend: Lenders,
        *,
        thumbs: bool,
        metadata: bool,
        max_bytes: int,
    ) -> Iterator[list[Prepared]]:
        """Batches of results for ``items`` (in any order, each item once). ``prev``:
        key → the content hash it had when last embedded with this model. Stops its
        work when the caller closes the generator."""
        ...

    def close(self) -> None:
        """Release what the engine holds between syncs (model actors)."""
        ...


def to_prepared(entry: FileEntry, pid: str, prep: Prep) -> Prepared:
    p = Prepared(entry, pid, prep.content, pixels=prep.pixels, reuse=prep.reuse)
    p.fail, p.thumb, p.meta = prep.fail, prep.thumb, prep.meta
    return p


class LocalEngine:
    """Decode in ``workers`` threads, embed in this process, ``batch_size`` at a
    time; the model is fetched through ``embedder`` when the first file needs it."""

    def __init__(self, embedder: Callable[[], Any], workers: int, batch_size: int) -> None:
        self.embedder = embedder
        self.workers = workers
        self.batch_size = batch_size

    def embed(self, pixels: Sequence[Any]) -> np.ndarray:
        """Vectors of model inputs (``(3, H, W)`` tensors)."""
        import torch

        return self.embedder().encode_batch(torch.stack(list(pixels)))

    def embed_files(
        self,
        items: Sequence[tuple[FileEntry, str]],
        prev: dict[str, str | None],
        lend: Lenders,
        *,
        thumbs: bool,
        metadata: bool,
        max_bytes: int,
    ) -> Iterator[list[Prepared]]:
        if not items:
            return
        emb = self.embedder()
        batches = list(iter_batches(list(items), self.batch_size))
        with ThreadPoolExecutor(self.workers, thread_name_prefix="aisearch-decode") as pool:
            inflight: deque[list[tuple[FileEntry, str, Future[Prep]]]] = deque()

            def submit(batch: list[tuple[FileEntry, str]]) -> None:
                inflight.append(
                    [
                        (
                            e,
                            pid,
                            pool.submit(
                                prepare_file,
                                e.path,
                                min_side=emb.image_size,
                                preprocess=emb.preprocess,
                                max_bytes=max_bytes,
                                pid=pid,
                                prev=prev.get(e.key),
                                lend=lend,
                                thumbs=thumbs,
                                metadata=metadata,
                            ),
                        )
                        for e, pid in batch
                    ]
                )

            nxt = 0
            try:
                while nxt < len(batches) or inflight:
                    # Two batches decoded ahead keep the model busy without holding
                    # thousands of decoded tensors in memory.
                    while nxt < len(batches) and len(inflight) < 3:
                        submit(batches[nxt])
                        nxt += 1
                    out = [to_prepared(e, pid, f.result()) for e, pid, f in inflight.popleft()]
                    ok = [p for p in out if p.pixels is not None and not p.reuse]
                    if ok:
                        vecs = self.embed([p.pixels for p in ok])
                        for p, v in zip(ok, vecs, strict=True):
                            p.vector, p.pixels = v, None
                    yield out
            finally:
                for batch in inflight:
                    for _, _, f in batch:
                        f.cancel()

    def describe_files(
        self, items: Sequence[tuple[str, str]], max_bytes: int
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, metadata) of already embedded image files ``(id, path)``: read and
        decode in threads, no model (a file that fails now is left out)."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="aisearch-decode") as pool:
            preps = pool.map(
                lambda item: metadata_of_path(item[1], min_side=FILL_SIDE, max_bytes=max_bytes),
                items,
            )
            for (pid, _), prep in zip(items, preps, strict=True):
                if prep.meta is not None:
                    yield pid, prep.meta

    def describe_frames(
        self, path: str, fps: float, want: dict[int, str]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, metadata) of the frames of one video at the times of ``want``
        (t_ms → id), decoded again, no model (a video that fails now gives none)."""
        try:
            for fr in VideoFrames(path, fps, min_side=FILL_SIDE):
                pid = want.get(fr.t_ms)
                if pid is not None:
                    yield pid, frame_metadata(fr.image)
        except DecodeFailure:
            return

    def close(self) -> None:
        """Nothing to release: the model belongs to the project's vectors."""
