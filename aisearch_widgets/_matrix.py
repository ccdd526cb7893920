"""Every stored vector as one matrix, for the computations that read them all
(zero-shot classification, relevance feedback, saved probes).

The store hands vectors out one Python float at a time (its scroll builds a list
per vector: ~0.2 ms per 512-d vector here, minutes per million). So the matrix is
kept beside the store, in the project home, as float16 ``.npy`` files read through a
memory map: ``vectors-cache/<model>/``. It is derived data, keyed by the state of
what it copies (:func:`state_key`: the model identity, the count of the store's
writes, its point count and the state of the catalog's embedded files). Another key
means another matrix, read again from the store.
Float16 changes a cosine by about 1e-4: nothing a ranking or a softmax notices.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from ._predsets import decode

_DIR = "vectors-cache"
_BATCH = 16_384


# Answered by the catalog's index files_embedded alone (no table row read).
STATE_SQL = (
    "SELECT COUNT(*), MAX(updated_at), TOTAL(updated_at) FROM files WHERE status = 'embedded'"
)


def state_key(vectors: Any, catalog: Any) -> list[Any]:
    """The state of the stored vectors, in a few milliseconds at any size: the model
    identity, the generation of the vectors (``Catalog.vectors_generation``: bumped
    before and after every write of the store, in any process), the store's point
    count, and the count, latest and sum of ``updated_at`` of the catalog's embedded
    files (these two also see writes by a version of the package that did not count
    them). Taken *before* the vectors are read: a write meanwhile makes what was read
    older than its key says, never newer, so the next reader reads again."""
    generation = catalog.vectors_generation()
    row = catalog.query(STATE_SQL)[0]
    # The open store without its lock (held while a panel's warm-up loads the model).
    store = vectors.opened_store or vectors.store()
    size = store.approx_count() if getattr(store, "size_is_exact", False) else store.count()
    return [vectors.identity, generation, int(size), int(row[0]), row[1], row[2]]


def state_stamp(vectors: Any, catalog: Any) -> str:
    """:func:`state_key` as a short string (the explore caches' key)."""
    digest = hashlib.blake2b(json.dumps(state_key(vectors, catalog)).encode(), digest_size=12)
    return f"state:{digest.hexdigest()}"


def _folder(root: Path, identity: str) -> Path:
    from .store import slug

    return Path(root) / _DIR / slug(identity)


def stored_matrix(vectors: Any, catalog: Any, root: Path) -> tuple[list[str], np.ndarray]:
    """``(ids, float16 matrix)`` of every stored vector, from the kept copy when it
    is current, else read from the store and kept."""
    ids, mat = stored_rows(vectors, catalog, root)
    return decode(ids), mat


def stored_rows(vectors: Any, catalog: Any, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stored_matrix` with the ids as they are kept: a fixed-width ASCII byte
    array (``S36`` for point ids)."""
    key = state_key(vectors, catalog)
    folder = _folder(root, vectors.identity)
    meta = folder / "meta.json"
    try:
        if json.loads(meta.read_text(encoding="utf-8")) == key:
            raw = np.load(folder / "ids.npy", allow_pickle=False)
            mat = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            if len(raw) == len(mat):
                return raw, mat
    except (OSError, ValueError):
        pass  # absent or damaged: read again
    store = vectors.store()
    ids: list[str] = []
    parts: list[np.ndarray] = []
    for bid, bvec in store.iter_vectors(batch=_BATCH):
        ids += bid
        parts.append(np.asarray(bvec, np.float16))
    mat = np.concatenate(parts) if parts else np.zeros((0, store.dim), np.float16)
    folder.mkdir(parents=True, exist_ok=True)
    meta.unlink(missing_ok=True)  # the old files no longer match their key
    for name, arr in (("ids.npy", np.array(ids, dtype="S")), ("vectors.npy", mat)):
        tmp = folder / f"{name}.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
        os.replace(tmp, folder / name)
    tmp = folder / "meta.json.tmp"
    tmp.write_text(json.dumps(key), encoding="utf-8")
    os.replace(tmp, meta)
    return np.array(ids, dtype="S"), mat


def rows_of(
    ids: list[str], mat: np.ndarray, only: Collection[str] | None
) -> tuple[list[str], np.ndarray]:
    """The ids and rows of ``only`` (all when None), in the matrix's order."""
    if only is None:
        return ids, mat
    keep = np.fromiter((i in only for i in ids), bool, len(ids))
    idx = np.flatnonzero(keep)
    return [ids[k] for k in idx], mat[idx]


def chunks(mat: np.ndarray, size: int = 65_536) -> Any:
    """``(start, float32 block)`` over the rows: a float32 copy of one block at a time."""
    for s in range(0, len(mat), size):
        yield s, np.asarray(mat[s : s + size], np.float32)
