"""Exact and near-duplicate images: kNN candidates confirmed by their pixels.

CLIP similarity alone does not separate a re-encoded, resized or slightly cropped
copy from a look-alike (with the demo model, altered copies score 0.92-0.99 to
their original while distinct scenes reach 0.98), so a candidate pair from the kNN
graph (cosine >= ``threshold``) is confirmed by a *perceptual fingerprint*: the
image box-filtered to 8x8 and to 16x16 RGB, each channel mean-centred, the whole
scaled to unit norm. Two images are near-duplicates when both correlations reach
:data:`PIXEL_MIN_8` and :data:`PIXEL_MIN_16` (chosen on four seeds of demo scenes with
altered copies: all true pairs kept, 0-5 look-alike pairs of ~1,700 candidates let
through). Colour matters: a yellow shape on a light background all but vanishes in
grayscale, which is why dHash/pHash (grayscale, and dHash's bits flip on flat or
noisy areas: up to 150 of 256 bits between a copy and its original) were measured
and not used.

Exact byte copies are always grouped: by the catalog's content hash when given,
else by the content hash of the bytes read for a candidate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import images as _images
from .._errors import InvalidArgument, check_real
from . import _cache
from ._cache import Progress, no_progress
from .knn import KnnGraph, knn_graph

#: Default CLIP cosine above which neighbours are candidates (loose: altered copies
#: of the demo scenes score >= 0.95; the pixels decide).
DEFAULT_THRESHOLD = 0.9
PIXEL_MIN_8 = 0.93
PIXEL_MIN_16 = 0.885
COLUMNS = ["id", "group", "score", "best", "exact", "width", "height"]

PathLookup = Callable[[list[str]], Sequence[str | os.PathLike[str] | None]]


def fingerprint_image(img: Any) -> tuple[np.ndarray, np.ndarray]:
    """The perceptual fingerprint of a PIL image: unit-norm, mean-centred 8x8 and
    16x16 RGB thumbnails, flattened (192 and 768 values)."""
    from PIL import Image

    img = _images.to_rgb(img)
    out = []
    for side in (8, 16):
        a = np.asarray(img.resize((side, side), Image.Resampling.BOX), np.float32)
        a = (a - a.mean(axis=(0, 1))).ravel()
        out.append(a / max(float(np.linalg.norm(a)), 1e-6))
    return out[0], out[1]


def pixel_similarity(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """How alike two fingerprints are: the smaller of the two correlations, each
    divided by its cutoff (>= 1.0 means confirmed as a near-duplicate)."""
    c8 = float(a[0].astype(np.float32) @ b[0].astype(np.float32))
    c16 = float(a[1].astype(np.float32) @ b[1].astype(np.float32))
    return min(c8 / PIXEL_MIN_8, c16 / PIXEL_MIN_16)


class _Prints:
    """Perceptual fingerprints keyed by content hash, cached in ``cache_dir``."""

    def __init__(self, cache_dir: Any) -> None:
        self.path = _cache.cache_path(cache_dir, "pixels.npz")
        self.data: dict[str, tuple[np.ndarray, np.ndarray, int, int]] = {}
        self.dirty = False
        hit = _cache.load(self.path, "pixels")
        if hit is not None:
            for c, f8, f16, wh in zip(
                hit["content"], hit["f8"], hit["f16"], hit["wh"], strict=True
            ):
                self.data[str(c)] = (f8, f16, int(wh[0]), int(wh[1]))

    def add(self, content: str, img: Any, size: tuple[int, int]) -> None:
        f8, f16 = fingerprint_image(img)
        self.data[content] = (f8.astype(np.float16), f16.astype(np.float16), *size)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or not self.data:
            return
        keys = list(self.data)
        vals = [self.data[k] for k in keys]
        _cache.save(
            self.path,
            "pixels",
            "",
            content=np.asarray(keys, dtype=str),
            f8=np.stack([v[0] for v in vals]),
            f16=np.stack([v[1] for v in vals]),
            wh=np.asarray([v[2:] for v in vals], dtype=np.int32),
        )


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        p = self.parent
        root = i
        while p[root] != root:
            root = p[root]
        while p[i] != root:
            p[i], i = root, p[i]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def find_duplicates(
    ids: Sequence[str],
    vecs: Any,
    paths: PathLookup,
    *,
    content: Sequence[str | None] | None = None,
    mtimes: Sequence[float] | None = None,
    threshold: float | None = None,
    confirm: bool = True,
    graph: KnnGraph | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Groups of duplicate images among ``ids`` (unit ``vecs``, one row each).

    ``paths(ids)`` gives the files of the ids it is asked about (pixels are read
    only for candidates, at most ``max_bytes`` per file); ``content`` the catalog's
    content hash per id (exact copies are then found without reading anything);
    ``mtimes`` the files' modification times (else read from disk, for members of
    groups only). ``threshold``: CLIP cosine of candidates (default 0.9); with
    ``confirm=False`` every candidate pair counts (embedding similarity only).

    Returns a DataFrame ``id, group, score, best, exact, width, height``: groups of
    two or more, biggest first (group 0); within a group the best copy first
    (largest resolution, then oldest), ``best`` marks it; ``score`` is the cosine
    similarity to the group's first member; ``exact`` says its bytes are the same
    as the first member's (when known).
    """
    ids, x = _cache.check_inputs(ids, vecs)
    threshold = DEFAULT_THRESHOLD if threshold is None else check_real("threshold", threshold, -1.0)
    progress = progress or no_progress
    n = len(ids)
    if content is not None and len(content) != n:
        raise InvalidArgument(f"content has {len(content)} entries for {n} ids: pass one per id.")
    if mtimes is not None and len(mtimes) != n:
        raise InvalidArgument(f"mtimes has {len(mtimes)} entries for {n} ids: pass one per id.")
    if n < 2:
        return pd.DataFrame(columns=COLUMNS)
    if graph is None:
        graph = knn_graph(ids, x, cache_dir=cache_dir, progress=progress)
    elif graph.ids != ids:
        raise InvalidArgument("graph was built for other ids (or another order) than ids.")
    hashes: list[str | None] = list(content) if content is not None else [None] * n
    uf = _UnionFind(n)
    # 1. Exact byte copies by content hash.
    first_of: dict[str, int] = {}
    for i, c in enumerate(hashes):
        if c:
            uf.union(first_of.setdefault(c, i), i)
    # 2. Candidates from the graph.
    rows = np.repeat(np.arange(n), graph.k)
    cols = graph.indices.ravel().astype(np.int64)
    ok = (cols >= 0) & (graph.sims.ravel() >= threshold - 1e-6)
    a, b = np.minimum(rows[ok], cols[ok]), np.maximum(rows[ok], cols[ok])
    pairs = np.unique(np.stack([a, b], 1), axis=0) if len(a) else np.zeros((0, 2), int)
    same = np.array([bool(hashes[i]) and hashes[i] == hashes[j] for i, j in pairs], bool)
    pairs = pairs[~same] if len(pairs) else pairs
    prints = _Prints(cache_dir)
    info: dict[int, tuple[np.ndarray, np.ndarray, int, int] | None] = {}
    if confirm and len(pairs):
        _read(np.unique(pairs), ids, hashes, paths, prints, info, max_bytes, progress)
    for i, j in pairs:
        i, j = int(i), int(j)
        if not confirm:
            uf.union(i, j)
            continue
        fi, fj = info.get(i), info.get(j)
        if fi is None or fj is None:
            continue  # unreadable: no evidence either way
        if (hashes[i] and hashes[i] == hashes[j]) or pixel_similarity(fi[:2], fj[:2]) >= 1.0:
            uf.union(i, j)
    roots = np.array([uf.find(i) for i in range(n)])
    _, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    members = np.flatnonzero(counts[inverse] >= 2)
    if not len(members):
        prints.save()
        return pd.DataFrame(columns=COLUMNS)
    _read(members, ids, hashes, paths, prints, info, max_bytes, progress)
    prints.save()
    area = np.array([info[i][2] * info[i][3] if info.get(i) else 0 for i in members], np.int64)
    if mtimes is not None:
        mt = np.asarray(mtimes, np.float64)[members]
    else:
        mt = np.array([_mtime(p) for p in paths([ids[i] for i in members])], np.float64)
    group_of = inverse[members]
    frame = pd.DataFrame(
        {
            "row": members,
            "g": group_of,
            "size": counts[group_of],
            "area": area,
            "mtime": mt,
            "id": [ids[i] for i in members],
        }
    )
    # Best first: largest resolution, then oldest, then id (a stable tie-break).
    frame = frame.sort_values(["g", "area", "mtime", "id"], ascending=[True, False, True, True])
    first = frame.groupby("g")["row"].transform("first").to_numpy()
    frame["score"] = np.einsum("ij,ij->i", x[frame["row"].to_numpy()], x[first]).clip(-1, 1)
    frame["best"] = ~frame["g"].duplicated()
    frame["exact"] = [
        bool(hashes[r] and hashes[r] == hashes[f]) or r == f
        for r, f in zip(frame["row"], first, strict=True)
    ]
    frame["width"] = [info[r][2] if info.get(r) else 0 for r in frame["row"]]
    frame["height"] = [info[r][3] if info.get(r) else 0 for r in frame["row"]]
    # Biggest group first; equal sizes by their best member's id.
    lead = frame[frame["best"]].sort_values(["size", "id"], ascending=[False, True])
    number = {g: k for k, g in enumerate(lead["g"])}
    frame["group"] = frame["g"].map(number)
    frame = frame.sort_values(["group"], kind="stable").reset_index(drop=True)
    frame["score"] = frame["score"].astype(float)
    return frame[COLUMNS]


def _header_size(data: bytes) -> tuple[int, int] | None:
    return _images.declared_size(data)


def _mtime(path: Any) -> float:
    try:
        return os.stat(path).st_mtime if path is not None else np.inf
    except OSError:
        return np.inf


def _read(
    rows: np.ndarray,
    ids: list[str],
    hashes: list[str | None],
    paths: PathLookup,
    prints: _Prints,
    info: dict[int, Any],
    max_bytes: int | None,
    progress: Progress,
) -> None:
    """Fill ``info[row]`` with ``(f8, f16, width, height)``: from the cache when the
    content hash is known, else by reading the file (None when it cannot be read)."""
    todo = [int(r) for r in rows if int(r) not in info]
    need = []
    for r in todo:
        c = hashes[r]
        if c and c in prints.data:
            info[r] = prints.data[c]
        else:
            need.append(r)
    if not need:
        return
    where = paths([ids[r] for r in need])
    for k, (r, p) in enumerate(zip(need, where, strict=True)):
        info[r] = None
        if p is not None:
            try:
                data = _images.read_bytes(p, max_bytes)
                # JPEGs are decoded at a reduced scale (draft mode): the file's own
                # size, from its header, is what "largest resolution" compares.
                size = _header_size(data)
                img = _images.decode(data, os.fspath(p), min_side=32)
            except _images.DecodeFailure:
                continue
            digest = _images.content_hash(data)
            if hashes[r] is None:
                hashes[r] = digest
            prints.add(digest, img, size or img.size)
            info[r] = prints.data[digest]
        if k % 256 == 0:
            progress("pixels", (k + 1) / len(need))
    progress("pixels", 1.0)
