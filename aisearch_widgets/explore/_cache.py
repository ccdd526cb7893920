"""Cached explore results (kNN graph, map, perceptual hashes) in a project's home.

Each result is one ``.npz`` file written atomically (temp file + fsync + rename), with
a format version, the fingerprint of the vectors it was computed from (a pass over
them: :func:`fingerprint`) and, when the caller has one, the *stamp* of their state
(a short string that changes whenever the vectors do, known without reading them:
a project's ``_matrix.state_stamp``). A cache is found by either. A file that cannot
be read, has another version, or neither the fingerprint nor the stamp asked for is
a cache miss, never an error: everything here can be recomputed from the vectors.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InvalidArgument

#: Bumped whenever what is stored changes meaning; older files are recomputed.
FORMAT_VERSION = 1

Progress = Callable[[str, float], None]


_ROWS = 16384  # rows per block of the whole-matrix passes (32 MB of float32 at 512-d)


def no_progress(stage: str, fraction: float) -> None:
    """The default progress callback: ``(stage, fraction done in [0, 1])``."""


def check_inputs(ids: Sequence[str], vecs: Any) -> tuple[list[str], np.ndarray]:
    """``ids`` as a list and ``vecs`` as a C-contiguous float32 ``(n, d)`` matrix."""
    ids = [str(i) for i in ids]
    x = np.ascontiguousarray(np.asarray(vecs, dtype=np.float32))
    if x.ndim != 2 and not (x.ndim == 1 and x.size == 0):
        raise InvalidArgument(f"vectors must be a 2-D (n, dim) matrix (got shape {x.shape}).")
    if x.ndim == 1:
        x = x.reshape(0, 0)
    if len(ids) != len(x):
        raise InvalidArgument(
            f"{len(ids)} ids but {len(x)} vectors: pass one vector per id, in the same order."
        )
    if len(set(ids)) != len(ids):
        raise InvalidArgument("ids must be unique (a point id appears twice).")
    for start in range(0, len(x), _ROWS):  # in blocks: a mask of 1M x 512 is 0.5 GB
        finite = np.isfinite(x[start : start + _ROWS]).all(axis=1)
        if not finite.all():
            bad = ids[start + int(np.flatnonzero(~finite)[0])]
            raise InvalidArgument(
                f"vector of id {bad!r} holds NaN or infinity: re-embed that file."
            )
    return ids, x


def fingerprint(ids: Sequence[str], vecs: np.ndarray) -> str:
    """A short digest of the state of ``(ids, vecs)``: count, sorted ids, and per-id
    vector sums. Independent of row order; any added, removed or re-embedded point
    changes it. Cheap (one pass over the matrix)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{len(ids)}:{vecs.shape[1] if vecs.ndim == 2 else 0}".encode())
    order = np.argsort(np.asarray(ids, dtype=object)) if len(ids) else np.zeros(0, int)
    h.update("\0".join(ids[i] for i in order).encode())
    if len(ids):
        # Row sums and a weighted sum catch a changed vector; rounding absorbs float
        # noise. In blocks of rows: a float64 copy of 1M x 512 would be 4 GB.
        w = np.arange(1, vecs.shape[1] + 1, dtype=np.float64)
        sums, weighted = [], []
        for start in range(0, len(order), _ROWS):
            x = vecs[order[start : start + _ROWS]].astype(np.float64)
            sums.append(np.round(x.sum(axis=1), 5))
            weighted.append(np.round(x @ w, 3))
        h.update(np.concatenate(sums).tobytes())
        h.update(np.concatenate(weighted).tobytes())
    return h.hexdigest()


def cache_path(cache_dir: str | os.PathLike[str] | None, name: str) -> Path | None:
    if cache_dir is None:
        return None
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def save(path: Path | None, kind: str, fp: str, *, stamp: str | None = None, **arrays: Any) -> None:
    """Write ``arrays`` to ``path`` atomically, tagged with ``kind``, the fingerprint
    and the stamp (if any) of the vectors they were computed from."""
    if path is None:
        return
    tags = {"_version": FORMAT_VERSION, "_kind": kind, "_fingerprint": fp}
    if stamp is not None:
        tags["_stamp"] = stamp
    # One temp file per thread: two threads of a process may write one cache at once.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **tags, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk or read-only home: no cache, no error


def load(
    path: Path | None, kind: str, fp: str | None = None, *, stamp: str | None = None
) -> dict[str, np.ndarray] | None:
    """The arrays saved by :func:`save`, or None when absent, unreadable, of another
    format version or kind, or when ``fp`` or ``stamp`` is given and the file has
    neither that fingerprint nor that stamp."""
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if int(out.get("_version", -1)) != FORMAT_VERSION or str(out.get("_kind")) != kind:
        return None
    if (fp is not None or stamp is not None) and not (
        (fp is not None and str(out.get("_fingerprint")) == fp) or matches(out, stamp)
    ):
        return None
    return out


def matches(data: dict[str, np.ndarray], stamp: str | None) -> bool:
    """Whether a loaded cache was saved with ``stamp`` (never for None, nor for a
    file saved without a stamp)."""
    return stamp is not None and "_stamp" in data and str(data["_stamp"]) == stamp
