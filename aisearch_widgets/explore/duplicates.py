"""Duplicate images: copies of one picture, not look-alikes.

Three kinds, from the narrowest:

- ``"exact"``: the same bytes (the catalog's content hash).
- ``"near"`` (the default): the same picture re-encoded, resized, lightly cropped or
  recompressed. Candidates come from the kNN graph (CLIP cosine >= ``threshold``);
  each candidate pair is confirmed by its *pixels*: both images are reduced to
  64x64 RGB (:func:`fingerprint_image`), aligned allowing a crop of up to 4.5 % per
  side (the best of 109 crops per axis, chosen on the row and column profiles), and
  compared three ways, each with a limit: the mean colour (another background tint),
  the share of pixels whose 5x5-smoothed difference exceeds 16 levels (an object
  moved or resized), and the energy of the strongest luma edges (one sharp, one
  blurred).
  :func:`pixel_similarity` folds them into one number: 1.0 for the same pixels, at
  least :data:`NEAR_MIN` (0.9) within every limit. The limits were chosen on drawn
  scenes whose look-alikes (tint, position, size, blur) count as false positives
  (``benchmarks/bench_duplicates.py``): CLIP similarity alone cannot do it (a
  look-alike reaches 0.995 while a copy can fall to 0.92), nor can coarse 8x8/16x16
  colour fingerprints (mean-centred, they do not see a tint at all).
- ``"similar"``: every candidate pair, by embedding similarity alone: look-alikes
  allowed, for a user who widens the search on purpose.

Each row says how it matches its group's best copy (``match``: exact, near or
similar) and the pixel evidence (``pixel_similarity`` to the best). Within a
``"near"`` group every member is confirmed against the best copy itself, not only
through a chain of pairs.

With ``stat_files=True`` the members' files are looked at: paths that reach one
physical file (``st_dev``, ``st_ino``: a symlink and its target, hard links) are one
row, never a copy of themselves, and a symlink is never the best copy.
"""

from __future__ import annotations

import functools
import os
import stat
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import images as _images
from .._errors import InvalidArgument, check_real
from . import _cache, _pairs
from ._cache import Progress, no_progress
from .knn import KnnGraph, knn_graph

#: Default CLIP cosine above which neighbours are candidates (loose: altered copies
#: of the demo scenes score >= 0.92; the pixels decide).
DEFAULT_THRESHOLD = 0.9
KINDS = ("exact", "near", "similar")
#: Side of the pixel fingerprint (RGB, uint8: 12 KB per image).
PRINT_SIDE = 64
#: Crop allowed per side, as a share of the side, when aligning two images.
CROP_MAX = 0.045
#: Limits of the three pixel checks: mean colour difference (levels of 255), share of
#: pixels whose smoothed difference exceeds DETAIL_LEVEL, |log| ratio of luma edge energy.
TINT_MAX = 2.5
DETAIL_LEVEL = 16.0
DETAIL_MAX = 0.03
SHARPNESS_MAX = 0.15
#: Whole-image mean colours further apart than this (levels) are not compared at all.
MEAN_GATE = 12.0
#: Aspect ratios of copies differ by at most a crop: |log(w/h ratio)| <= this.
ASPECT_MAX = 0.1
#: ``pixel_similarity`` at or above which two images are the same picture.
NEAR_MIN = 0.9
COLUMNS = [
    "id", "group", "score", "best", "match", "pixel_similarity", "exact", "width", "height",
]  # fmt: skip

#: What a pixel verdict depends on besides the two files: cached verdicts of other
#: limits are not used.
_PARAMS = (
    f"side={PRINT_SIDE} crop={CROP_MAX} tint={TINT_MAX} detail={DETAIL_LEVEL}/{DETAIL_MAX} "
    f"sharp={SHARPNESS_MAX} near={NEAR_MIN}"
)
PathLookup = Callable[[list[str]], Sequence[str | os.PathLike[str] | None]]
_CHUNK = 128  # pairs compared at once (about 6 MB per float32 array)


def fingerprint_image(img: Any) -> np.ndarray:
    """The pixel fingerprint of a PIL image: the image box-filtered to
    :data:`PRINT_SIDE` x :data:`PRINT_SIDE` RGB (aspect not kept), uint8."""
    from PIL import Image

    img = _images.to_rgb(img).resize((PRINT_SIDE, PRINT_SIDE), Image.Resampling.BOX)
    return np.asarray(img, np.uint8)


@functools.lru_cache(maxsize=4)
def _crops(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampling of one axis for each allowed crop ``(left, right)``: both >= 0 (the
    second image is a crop of the first) or both <= 0 (the other way round), their sum
    at most :data:`CROP_MAX`. Returns first indices, weights and valid masks, (H, side)."""
    steps = np.arange(0.0, CROP_MAX + 1e-9, 0.005)
    pos = [(a, b) for a in steps for b in steps if a + b <= CROP_MAX + 1e-9]
    crops = np.array(pos + [(-a, -b) for a, b in pos if a or b])
    u = (np.arange(side) + 0.5) / side
    at = crops[:, :1] + u[None, :] * (1 - crops[:, :1] - crops[:, 1:])
    x = at * side - 0.5
    i0 = np.clip(np.floor(x).astype(np.int64), 0, side - 2)
    w = np.clip(x - i0, 0.0, 1.0).astype(np.float32)
    valid = (at >= -0.5 / side) & (at <= 1 + 0.5 / side)
    return i0, w, valid


def _align(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Per pair, the crop of one axis that best maps profile ``pa`` onto ``pb``
    (both (P, side), grey)."""
    i0, w, valid = _crops(pa.shape[1])
    warped = pa[:, i0] * (1 - w[None]) + pa[:, i0 + 1] * w[None]  # (P, H, side)
    err = np.einsum("phk,hk->ph", (warped - pb[:, None]) ** 2, valid.astype(np.float32))
    return (err / valid.sum(-1)[None]).argmin(1)


@functools.lru_cache(maxsize=8)
def _box_matrix(n: int, k: int) -> np.ndarray:
    """(n, n) matrix of a k-tap moving mean along one axis, edges repeated."""
    m = np.zeros((n, n), np.float32)
    for i in range(n):
        for d in range(-(k // 2), k // 2 + 1):
            m[i, min(max(i + d, 0), n - 1)] += 1.0 / k
    return m


def _box(x: np.ndarray, k: int) -> np.ndarray:
    """Mean over k x k windows of the last two axes, edges repeated."""
    m = _box_matrix(x.shape[-1], k)
    return m @ x @ m.T


def _edges(x: np.ndarray) -> np.ndarray:
    """Gradient magnitude (L1 over channels) of (P, 3, n, n) images: (P, n, n)."""
    g = np.zeros((x.shape[0], *x.shape[2:]), np.float32)
    for c in range(x.shape[1]):
        g[:, :, 1:-1] += np.abs(x[:, c, :, 2:] - x[:, c, :, :-2])
        g[:, 1:-1] += np.abs(x[:, c, 2:] - x[:, c, :-2])
    return g


def _compare(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`pixel_similarity` of each pair of fingerprint stacks (P, side, side, 3)."""
    worst = (_measure(a, b) / np.array([TINT_MAX, DETAIL_MAX, SHARPNESS_MAX])).max(1)
    return np.clip(1.0 - (1.0 - NEAR_MIN) * worst, 0.0, 1.0)


def _measure(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(P, 3): mean colour difference, detail difference and sharpness difference of
    each pair of fingerprints, aligned (see :func:`pixel_similarity`)."""
    out = np.empty((len(a), 3), np.float64)
    for start in range(0, len(a), _CHUNK):
        pa, pb = a[start : start + _CHUNK], b[start : start + _CHUNK]
        out[start : start + _CHUNK] = _compare_chunk(
            np.ascontiguousarray(pa.transpose(0, 3, 1, 2), np.float32),
            np.ascontiguousarray(pb.transpose(0, 3, 1, 2), np.float32),
        )
    return out


_LUMA = np.array([[0.299, 0.587, 0.114]], np.float32)


def _interp(i0: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per pair, the (n, n) matrix of a linear resampling of one axis."""
    p, n = i0.shape
    m = np.zeros((p, n, n), np.float32)
    pi, k = np.arange(p)[:, None], np.arange(n)[None, :]
    m[pi, k, i0] = 1 - w
    m[pi, k, i0 + 1] = w
    return m


def _compare_chunk(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same on channel-first float32 stacks (P, 3, n, n)."""
    p, n = len(a), a.shape[-1]
    i0, w, valid = _crops(n)
    ga, gb = a.sum(1), b.sum(1)
    hx = _align(ga.mean(1), gb.mean(1))
    hy = _align(ga.mean(2), gb.mean(2))
    # Resample the first image onto the second: columns, then rows (bilinear).
    aw = _interp(i0[hy], w[hy])[:, None] @ a @ _interp(i0[hx], w[hx])[:, None].transpose(0, 1, 3, 2)
    mask = valid[hy][:, :, None] & valid[hx][:, None, :]
    mask[:, :2] = mask[:, -2:] = False  # the outermost pixels carry resampling edges
    mask[:, :, :2] = mask[:, :, -2:] = False
    flat = mask.reshape(p, -1)
    maskf = flat.astype(np.float32)
    count = np.maximum(maskf.sum(1), 1.0)
    diff = aw - b
    tint = np.abs(np.einsum("pck,pk->pc", diff.reshape(p, 3, -1), maskf) / count[:, None])
    smooth = np.abs(_box(diff, 5))
    off = np.maximum(np.maximum(smooth[:, 0], smooth[:, 1]), smooth[:, 2]) > DETAIL_LEVEL
    detail = (off.reshape(p, -1) & flat).sum(1) / count
    # Sharpness: the energy of the strongest 5 % of luma edges of either image
    # (masked pixels rank last). Luma only: JPEG halves the colour resolution, which
    # a blurred look-alike does not.
    ea = _edges(_box(np.einsum("qc,pcij->pqij", _LUMA, aw), 3)).reshape(p, -1)
    eb = _edges(_box(np.einsum("qc,pcij->pqij", _LUMA, b), 3)).reshape(p, -1)
    strongest = np.where(flat, np.maximum(ea, eb), -1.0)
    top = max(1, n * n // 20)
    cut = np.partition(strongest, -top, axis=1)[:, -top][:, None]
    edge = (strongest >= cut).astype(np.float32)
    eps = np.float32(top)  # one level per edge pixel: flat images compare as equal
    sharp = np.abs(np.log((np.einsum("pk,pk->p", ea, edge) + eps) /
                          (np.einsum("pk,pk->p", eb, edge) + eps)))  # fmt: skip
    out = [tint.max(1), detail, sharp]
    return np.stack(out, 1)


def pixel_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two fingerprints (:func:`fingerprint_image`) are, after aligning them
    for a crop of up to :data:`CROP_MAX` per side: 1.0 for the same pixels, at least
    :data:`NEAR_MIN` when the mean colour, the detail and the sharpness are all within
    their limits (the same picture), lower the further the worst of them is off."""
    return float(_compare(np.asarray(a)[None], np.asarray(b)[None])[0])


class _Prints:
    """Pixel fingerprints and declared sizes keyed by content hash, cached in
    ``cache_dir`` (format "pixels2": 64x64 RGB; older caches are recomputed)."""

    def __init__(self, cache_dir: Any) -> None:
        self.path = _cache.cache_path(cache_dir, "pixels.npz")
        self.data: dict[str, tuple[np.ndarray, int, int]] = {}
        self.dirty = False
        hit = _cache.load(self.path, "pixels2")
        if hit is not None and hit["prints"].shape[1:] == (PRINT_SIDE, PRINT_SIDE, 3):
            for c, fp, wh in zip(hit["content"], hit["prints"], hit["wh"], strict=True):
                self.data[str(c)] = (fp, int(wh[0]), int(wh[1]))

    def add(self, content: str, img: Any, size: tuple[int, int]) -> None:
        self.data[content] = (fingerprint_image(img), *size)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or not self.data:
            return
        keys = list(self.data)
        vals = [self.data[k] for k in keys]
        _cache.save(
            self.path,
            "pixels2",
            "",
            content=np.asarray(keys, dtype=str),
            prints=np.stack([v[0] for v in vals]),
            wh=np.asarray([v[1:] for v in vals], dtype=np.int32),
        )


def find_duplicates(
    ids: Sequence[str],
    vecs: Any,
    paths: PathLookup,
    *,
    content: Sequence[str | None] | None = None,
    mtimes: Sequence[float] | None = None,
    threshold: float | None = None,
    kind: str = "near",
    confirm: bool | None = None,
    stat_files: bool = False,
    graph: KnnGraph | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Groups of duplicate images among ``ids`` (unit ``vecs``, one row each).

    ``kind``: ``"exact"`` (same bytes), ``"near"`` (the same picture re-encoded,
    resized, lightly cropped or recompressed: candidates confirmed by their pixels;
    the default) or ``"similar"`` (every candidate pair: look-alikes too).
    ``threshold``: CLIP cosine of candidates (default 0.9). ``paths(ids)`` gives the
    files of the ids it is asked about (pixels are read only for candidates, at most
    ``max_bytes`` per file); ``content`` the catalog's content hash per id (exact
    copies are then found without reading anything); ``mtimes`` the files'
    modification times (else read from disk, for members of groups only).
    ``stat_files``: look up the members' files and keep one row per physical file
    (a symlink and its target are one file, never copies of each other).
    ``confirm=False`` is the old spelling of ``kind="similar"`` (deprecated).

    Returns a DataFrame ``id, group, score, best, match, pixel_similarity, exact,
    width, height``: groups of two or more, biggest first (group 0); within a group the
    best copy first (not a symlink, then largest resolution, then oldest), ``best``
    marks it; ``score`` is the cosine similarity to the best copy; ``match`` says how
    the row matches the best copy (``"exact"``, ``"near"`` or ``"similar"``) and
    ``pixel_similarity`` is the pixel evidence (1.0 the same pixels, >= 0.9 the same
    picture, NaN unreadable); ``exact`` is ``match == "exact"``.
    """
    if confirm is not None:
        warnings.warn(
            "find_duplicates(confirm=...) is deprecated: pass kind='near' (confirmed by "
            "the pixels) or kind='similar' (embedding similarity only).",
            DeprecationWarning,
            stacklevel=2,
        )
        if not confirm:
            kind = "similar"
    if kind not in KINDS:
        raise InvalidArgument(f"kind must be one of {', '.join(KINDS)} (got {kind!r}).")
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
    hashes: list[str | None] = [c or None for c in content] if content is not None else [None] * n
    # 1. Exact byte copies by content hash.
    edges = [_same_hash_edges(hashes)]
    prints = _Prints(cache_dir)
    verdicts = _pairs.PairSims(cache_dir, _PARAMS)
    info: dict[int, tuple[np.ndarray, int, int] | None] = {}
    keys: dict[int, str] = {}  # row -> content hash of the fingerprint it was given
    # 2. Candidates from the graph (for "exact" only where a hash is unknown).
    if kind != "exact" or not all(hashes):
        if graph is None:
            graph = knn_graph(ids, x, cache_dir=cache_dir, progress=progress)
        elif graph.ids != ids:
            raise InvalidArgument("graph was built for other ids (or another order) than ids.")
        pairs = _candidates(graph, threshold, hashes)
        if kind == "exact":
            known = _codes(hashes) >= 0
            pairs = pairs[~(known[pairs[:, 0]] & known[pairs[:, 1]])]
        if kind != "similar" and len(pairs):
            _read(np.unique(pairs), ids, hashes, paths, prints, info, keys, max_bytes, progress)
        if kind == "near" and len(pairs):
            ok = _confirmed(pairs, prints, keys, verdicts, progress)
        else:
            ok = np.full(len(pairs), kind == "similar")
        # Reading filled in the hashes the catalog did not know: byte copies join too.
        code = _codes(hashes)
        same = (code[pairs[:, 0]] >= 0) & (code[pairs[:, 0]] == code[pairs[:, 1]])
        edges.append(pairs[ok | same])
    roots = _roots(n, np.concatenate(edges))
    _, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    members = np.flatnonzero(counts[inverse] >= 2)
    if not len(members):
        prints.save()
        verdicts.save()
        return pd.DataFrame(columns=COLUMNS)
    _read(members, ids, hashes, paths, prints, info, keys, max_bytes, progress)
    prints.save()
    frame = pd.DataFrame({"row": members, "g": inverse[members], "id": [ids[i] for i in members]})
    frame["area"] = [info[i][1] * info[i][2] if info.get(i) else 0 for i in members]
    frame["link"] = False
    if stat_files or mtimes is None:
        stats = [_stat(p) for p in paths([ids[i] for i in members])]
        if stat_files:
            frame["link"] = [st[2] for st in stats]
            frame["file"] = [st[:2] if st[0] is not None else ("row", r) for st, r in
                             zip(stats, members, strict=True)]  # fmt: skip
            # One row per physical file: a link never stands beside its own target.
            frame = frame.sort_values(["link", "id"]).drop_duplicates(["g", "file"])
    if mtimes is not None:
        frame["mtime"] = np.asarray(mtimes, np.float64)[frame["row"].to_numpy()]
    else:
        at = {int(r): st[3] for r, st in zip(members, stats, strict=True)}
        frame["mtime"] = [at[int(r)] for r in frame["row"]]
    # Best first: not a symlink, largest resolution, oldest, then id (a stable tie-break).
    frame = frame.sort_values(
        ["g", "link", "area", "mtime", "id"], ascending=[True, True, False, True, True]
    )
    first = frame.groupby("g")["row"].transform("first").to_numpy()
    rows = frame["row"].to_numpy()
    code = _codes(hashes)
    same = (code[rows] >= 0) & (code[rows] == code[first])
    sim = np.where(same | (rows == first), 1.0, np.nan)
    readable = np.zeros(n, bool)
    readable[list(keys)] = True
    todo = np.flatnonzero(np.isnan(sim) & readable[rows] & readable[first])
    if len(todo):
        a, b = [keys[int(f)] for f in first[todo]], [keys[int(r)] for r in rows[todo]]
        sim[todo] = _similarities(a, b, prints, verdicts)
        aspect_ok = _same_aspects(a, b, prints)
        sim[todo] = np.where(aspect_ok, sim[todo], np.minimum(sim[todo], NEAR_MIN - 0.01))
    verdicts.save()
    near = sim >= NEAR_MIN - 1e-9
    frame["match"] = np.where(same | (rows == first), "exact", np.where(near, "near", "similar"))
    frame["pixel_similarity"] = sim
    if kind != "similar":
        # Every member is the same picture as the best copy itself, not via a chain.
        frame = frame[frame["match"] != "similar"]
    frame = frame[frame.groupby("g")["row"].transform("size") >= 2].copy()
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = frame["row"].to_numpy()
    first = frame.groupby("g")["row"].transform("first").to_numpy()
    frame["size"] = frame.groupby("g")["row"].transform("size")
    frame["score"] = np.einsum("ij,ij->i", x[rows], x[first]).clip(-1, 1).astype(float)
    frame["best"] = ~frame["g"].duplicated()
    frame["exact"] = frame["match"] == "exact"
    frame["width"] = [info[r][1] if info.get(r) else 0 for r in rows]
    frame["height"] = [info[r][2] if info.get(r) else 0 for r in rows]
    # Biggest group first; equal sizes by their best member's id.
    lead = frame[frame["best"]].sort_values(["size", "id"], ascending=[False, True])
    number = {g: k for k, g in enumerate(lead["g"])}
    frame["group"] = frame["g"].map(number)
    frame = frame.sort_values(["group"], kind="stable").reset_index(drop=True)
    return frame[COLUMNS]


def _codes(hashes: Sequence[str | None]) -> np.ndarray:
    """One integer per distinct hash (-1 where unknown): equal hashes, equal codes."""
    if not len(hashes):
        return np.zeros(0, np.int64)
    codes, _ = pd.factorize(np.asarray(hashes, dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64)


def _same_hash_edges(hashes: Sequence[str | None]) -> np.ndarray:
    """Pairs ``(first row of a hash, row)`` joining the rows of each known hash."""
    code = _codes(hashes)
    rows = np.flatnonzero(code >= 0)
    if not len(rows):
        return np.zeros((0, 2), np.int64)
    _, first = np.unique(code[rows], return_index=True)
    lead = np.full(int(code.max()) + 1, -1, np.int64)
    lead[np.unique(code[rows])] = rows[first]
    return np.stack([lead[code[rows]], rows], 1)


def _roots(n: int, edges: np.ndarray) -> np.ndarray:
    """Per row, the smallest row of its connected component under ``edges``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = edges.reshape(-1, 2).astype(np.int64)
    graph = coo_matrix((np.ones(len(e), np.int8), (e[:, 0], e[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    low = np.full(int(label.max()) + 1 if n else 0, n, np.int64)
    np.minimum.at(low, label, np.arange(n))
    return low[label]


def _candidates(graph: KnnGraph, threshold: float, hashes: list[str | None]) -> np.ndarray:
    """Pairs ``(i, j)``, i < j, of graph neighbours with cosine >= ``threshold`` that
    are not already known to be byte copies."""
    n = len(graph.ids)
    rows = np.repeat(np.arange(n), graph.k)
    cols = graph.indices.ravel().astype(np.int64)
    ok = (cols >= 0) & (graph.sims.ravel() >= threshold - 1e-6) & (cols != rows)
    a, b = np.minimum(rows[ok], cols[ok]), np.maximum(rows[ok], cols[ok])
    code = _codes(hashes)
    other = (code[a] < 0) | (code[a] != code[b])  # byte copies are grouped already
    key = np.sort(a[other] * n + b[other])  # one number per pair: sorted, then unique
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
    return np.stack([key // n, key % n], 1)


def _confirmed(
    pairs: np.ndarray,
    prints: _Prints,
    keys: dict[int, str],
    verdicts: _pairs.PairSims,
    progress: Progress,
) -> np.ndarray:
    """Whether each pair is the same picture by its pixels (False when unreadable).
    Each ordered pair of fingerprints (content hashes) is judged once: byte copies of
    two files share one comparison, and verdicts of earlier searches are reused."""
    ok = np.zeros(len(pairs), bool)
    rows = np.unique(pairs)
    names, code = pd.factorize(np.asarray([keys.get(int(r)) for r in rows], dtype=object))
    at = np.full(int(rows.max()) + 1, -1, np.int64)
    at[rows] = names
    ka, kb = at[pairs[:, 0]], at[pairs[:, 1]]
    both = (ka >= 0) & (kb >= 0)
    if not both.any():
        return ok
    width = len(code)
    uniq, inverse = np.unique(ka[both] * width + kb[both], return_inverse=True)
    a, b = code[uniq // width].tolist(), code[uniq % width].tolist()
    # A cheap gate first: whole images whose mean colours differ by more than
    # MEAN_GATE levels are not one picture (a crop of a few % moves the mean far
    # less); most look-alike candidates stop here.
    means = {k: prints.data[k][0].reshape(-1, 3).mean(0) for k in set(a) | set(b)}
    gate = [
        float(np.abs(means[i] - means[j]).max()) <= MEAN_GATE for i, j in zip(a, b, strict=True)
    ]
    verdict = np.zeros(len(uniq), bool)
    sel = np.flatnonzero(gate)
    if len(sel):
        sa, sb = [a[k] for k in sel], [b[k] for k in sel]
        sim = _similarities(sa, sb, prints, verdicts, lambda f: progress("compare", f))
        verdict[sel] = (sim >= NEAR_MIN - 1e-9) & _same_aspects(sa, sb, prints)
    ok[both] = verdict[inverse.ravel()]
    return ok


def _similarities(
    a: list[str],
    b: list[str],
    prints: _Prints,
    verdicts: _pairs.PairSims,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """:func:`pixel_similarity` of the fingerprints of each pair of content hashes
    ``(a[k], b[k])``, each distinct pair compared once (or found in ``verdicts``)."""
    uniq = list(dict.fromkeys(zip(a, b, strict=True)))
    got = verdicts.get(
        [p[0] for p in uniq],
        [p[1] for p in uniq],
        lambda ka, kb: _compare(
            np.stack([prints.data[k][0] for k in ka]), np.stack([prints.data[k][0] for k in kb])
        ),
        progress,
    )
    at = dict(zip(uniq, got.tolist(), strict=True))
    return np.array([at[p] for p in zip(a, b, strict=True)], np.float64)


def _same_aspects(a: list[str], b: list[str], prints: _Prints) -> np.ndarray:
    """Per pair of content hashes, whether the two images' aspect ratios differ by at
    most a crop (True where a size is unknown)."""
    wa = np.array([prints.data[k][1:] for k in a], np.float64).reshape(-1, 2)
    wb = np.array([prints.data[k][1:] for k in b], np.float64).reshape(-1, 2)
    known = np.minimum(wa.min(1), wb.min(1)) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.abs(np.log((wa[:, 0] / wa[:, 1]) / (wb[:, 0] / wb[:, 1])))
    return ~known | (gap <= ASPECT_MAX)


def _stat(path: Any) -> tuple[int | None, int | None, bool, float]:
    """``(st_dev, st_ino, is a symlink, mtime)`` of a file (Nones and inf if gone)."""
    if path is None:
        return None, None, False, np.inf
    try:
        st = os.lstat(path)  # one call for a plain file; a link is followed below
        link = stat.S_ISLNK(st.st_mode)
        if link:
            st = os.stat(path)
    except OSError:
        return None, None, False, np.inf
    if st.st_ino == 0:  # a filesystem without inode numbers: no identity to compare
        return None, None, link, st.st_mtime
    return st.st_dev, st.st_ino, link, st.st_mtime


def _header_size(data: bytes) -> tuple[int, int] | None:
    return _images.declared_size(data)


def _read(
    rows: np.ndarray,
    ids: list[str],
    hashes: list[str | None],
    paths: PathLookup,
    prints: _Prints,
    info: dict[int, Any],
    keys: dict[int, str],
    max_bytes: int | None,
    progress: Progress,
) -> None:
    """Fill ``info[row]`` with ``(fingerprint, width, height)`` and ``keys[row]`` with
    the content hash it is cached under: from the cache when the content hash is
    known, else by reading the file (``info[row]`` None when it cannot be read). Of
    byte copies (one content hash) one file is read."""
    todo = [int(r) for r in rows if int(r) not in info]
    need = []
    for r in todo:
        c = hashes[r]
        if c and c in prints.data:
            info[r], keys[r] = prints.data[c], c
        else:
            need.append(r)
    if not need:
        return
    where = paths([ids[r] for r in need])
    for k, (r, p) in enumerate(zip(need, where, strict=True)):
        c = hashes[r]
        if c and c in prints.data:  # a byte copy of a file read just before
            info[r], keys[r] = prints.data[c], c
            continue
        info[r] = None
        if p is not None:
            try:
                data = _images.read_bytes(p, max_bytes)
                # JPEGs are decoded at a reduced scale (draft mode): the file's own
                # size, from its header, is what "largest resolution" compares.
                size = _header_size(data)
                img = _images.decode(data, os.fspath(p), min_side=2 * PRINT_SIDE)
            except _images.DecodeFailure:
                continue
            digest = _images.content_hash(data)
            if hashes[r] is None:
                hashes[r] = digest
            if digest not in prints.data:
                prints.add(digest, img, size or img.size)
            info[r], keys[r] = prints.data[digest], digest
        if k % 256 == 0:
            progress("pixels", (k + 1) / len(need))
    progress("pixels", 1.0)
