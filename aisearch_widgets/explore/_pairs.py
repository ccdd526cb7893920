"""Pixel verdicts of duplicate candidates, per pair of content hashes.

Comparing two pixel fingerprints is the costly step of finding duplicates (about a
millisecond a pair). Its outcome depends on the two files' bytes alone, so it is
kept per ordered pair of content hashes: a second search compares nothing it compared
before, byte copies of one file share their verdicts, and a changed file (a new
content hash) is compared again. Stored next to the other explore caches
(``pixel_pairs.npz``, written atomically) and tagged with the comparison's
parameters: other limits or another fingerprint make the file a cache miss.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from . import _cache

KIND = "pixelpairs1"
#: Pairs compared per call of the comparison (bounds the fingerprints stacked at once).
BLOCK = 2048


class PairSims:
    """The pixel similarity of ordered pairs of content hashes ``(a, b)``: what
    ``compare(print of a, print of b)`` gave. ``params`` names the comparison (its
    limits); a cache written with other parameters is not read."""

    def __init__(self, cache_dir: str | os.PathLike[str] | None, params: str) -> None:
        self.path = _cache.cache_path(cache_dir, "pixel_pairs.npz")
        self.params = params
        self.sims: dict[tuple[str, str], float] = {}
        self.dirty = False
        hit = _cache.load(self.path, KIND, params)
        if hit is not None and hit["pairs"].ndim == 2 and len(hit["pairs"]) == len(hit["sim"]):
            keys = [k.decode() for k in hit["keys"].tolist()]
            a, b = hit["pairs"][:, 0].tolist(), hit["pairs"][:, 1].tolist()
            self.sims = {
                (keys[i], keys[j]): s for i, j, s in zip(a, b, hit["sim"].tolist(), strict=True)
            }

    def __len__(self) -> int:
        return len(self.sims)

    def get(
        self,
        a: Sequence[str],
        b: Sequence[str],
        compute: Callable[[list[str], list[str]], np.ndarray],
        progress: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        """Similarity of each pair ``(a[k], b[k])``: cached ones looked up, the others
        computed by ``compute(a_keys, b_keys)`` (in blocks) and kept."""
        out = np.array([self.sims.get(p, np.nan) for p in zip(a, b, strict=True)], np.float64)
        todo = np.flatnonzero(np.isnan(out))
        for start in range(0, len(todo), BLOCK):
            part = todo[start : start + BLOCK]
            ka, kb = [a[k] for k in part], [b[k] for k in part]
            got = np.asarray(compute(ka, kb), np.float64)
            out[part] = got
            self.sims.update(zip(zip(ka, kb, strict=True), got.tolist(), strict=True))
            self.dirty = True
            if progress is not None:
                progress(min(1.0, (start + len(part)) / len(todo)))
        return out

    def save(self) -> None:
        if not self.dirty or not self.sims:
            return
        pairs = list(self.sims)
        keys, codes = np.unique(np.asarray(pairs, dtype=str).ravel(), return_inverse=True)
        _cache.save(
            self.path,
            KIND,
            self.params,
            keys=np.asarray([k.encode() for k in keys.tolist()], dtype="S"),
            pairs=codes.reshape(-1, 2).astype(np.int32),
            sim=np.asarray([self.sims[p] for p in pairs], np.float64),
        )
        self.dirty = False
