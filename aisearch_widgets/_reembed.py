"""Re-embedding a project at another precision, in the background.

The vectors of the new precision go into a store of their own (another identity,
another shard), while searches keep using the current one. :func:`embed_into` fills
that store from the files the catalog lists as embedded and returns which content
each new vector was made from; the project then swaps stores in one step
(:meth:`Project.reembed`), re-queueing any file that changed meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .catalog import Catalog
from .embedder import Embedder
from .images import DecodeFailure, content_hash, decode, read_bytes
from .sources import iter_batches
from .store import VectorStore


@dataclass
class ReembedSummary:
    """What a re-embed did: vectors made, files that failed (re-queued for the next
    sync, which classifies them as usual), seconds."""

    precision: str
    embedded: int = 0
    failed: int = 0
    seconds: float = 0.0
    made_from: dict[str, str] = field(default_factory=dict, repr=False)  # id -> content


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
    """Embed every file embedded with ``model`` again with ``embedder`` into ``store``.

    Writes nothing to the catalog: the caller swaps when this returns.
    """
    import time

    import torch

    t0 = time.perf_counter()
    rows = catalog.query(
        "SELECT id, path FROM files WHERE status = 'embedded' AND model = ? ORDER BY id",
        (model,),
    )
    out = ReembedSummary(embedder.precision)
    done = 0
    for batch in iter_batches(rows, batch_size):
        if cancel is not None and cancel.is_set():
            raise InterruptedError("re-embedding cancelled")
        ids, pixels, contents = [], [], []
        for pid, path in batch:
            try:
                data = read_bytes(path, max_file_bytes)
                img = decode(data, path, embedder.image_size)
            except DecodeFailure:
                out.failed += 1
                continue
            ids.append(pid)
            contents.append(content_hash(data))
            pixels.append(embedder.preprocess(img))
        if ids:
            vecs = embedder.encode_batch(torch.stack(pixels))
            store.upsert(ids, np.asarray(vecs))
            out.made_from.update(zip(ids, contents, strict=True))
            out.embedded += len(ids)
        done += len(batch)
        if progress is not None:
            progress(done, len(rows))
    store.flush()
    out.seconds = time.perf_counter() - t0
    return out
