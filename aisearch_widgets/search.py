"""Query building and result fusion for prompt and similar-image searches."""

from __future__ import annotations

import os
from collections.abc import Collection as AbstractCollection
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import AISearchError
from .store import as_matrix

if TYPE_CHECKING:
    from .project import Project

FUSIONS = ("max", "mean", "rrf")
RRF_K = 60  # the usual reciprocal-rank-fusion constant


def _is_uuid(s: str) -> bool:
    import uuid

    try:
        uuid.UUID(s)
    except ValueError:
        return False
    return len(s) == 36


def resolve_images(proj: Project, refs: Any) -> tuple[np.ndarray, list[str]]:
    """Vectors for reference images given as paths, point ids, PIL images, arrays or a
    Collection. Indexed images reuse their stored vector; others are embedded now.
    Returns ``(vectors, ids_of_indexed_references)``."""
    from PIL import Image

    from .collections import Collection

    if isinstance(refs, Collection):
        refs = refs.ids
    if isinstance(refs, (str, os.PathLike, Image.Image, np.ndarray)):
        refs = [refs]
    refs = list(refs)
    if not refs:
        raise AISearchError("No reference images given.")

    vectors: list[np.ndarray | None] = [None] * len(refs)
    ids: list[str | None] = [None] * len(refs)
    paths = {
        i: os.path.abspath(os.path.expanduser(os.fspath(r)))
        for i, r in enumerate(refs)
        if isinstance(r, (str, os.PathLike)) and not (isinstance(r, str) and _is_uuid(r))
    }
    by_path = proj.catalog.ids_by_path(list(paths.values()))
    for i, r in enumerate(refs):
        if isinstance(r, str) and _is_uuid(r):
            ids[i] = r
        elif i in paths and paths[i] in by_path:
            ids[i] = by_path[paths[i]]
    known = [i for i in ids if i is not None]
    stored = proj.store.retrieve(known) if known else {}
    to_embed: list[tuple[int, Any]] = []
    for i, r in enumerate(refs):
        pid = ids[i]
        if pid is not None and pid in stored:
            vectors[i] = stored[pid][0]
        elif pid is not None and i not in paths:
            raise AISearchError(f"No image with id {pid} in project {proj.name!r}.")
        elif i in paths:
            to_embed.append((i, Path(paths[i])))
        elif isinstance(r, (Image.Image, np.ndarray)):
            to_embed.append((i, r))
        else:
            raise AISearchError(
                f"Cannot use {type(r).__name__} as a reference image: give a path, a point id, "
                "a PIL image or an HxWx3 array."
            )
    if to_embed:
        from .images import DecodeFailure, load

        imgs = []
        for _, r in to_embed:
            if isinstance(r, Path):
                try:
                    imgs.append(load(r, proj.embedder.image_size)[0])
                except DecodeFailure as f:
                    raise AISearchError(f"Reference image {f.message}") from None
            else:
                imgs.append(r)
        for (i, _), v in zip(to_embed, proj.embedder.encode_images(imgs), strict=True):
            vectors[i] = v
    return as_matrix(np.stack(vectors)), [i for i in ids if i is not None and i in stored]


def text_vector(proj: Project, prompt: str | Sequence[str]) -> np.ndarray:
    """A prompt's vector; several prompts are averaged (a prompt ensemble)."""
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    prompts = [p for p in prompts if isinstance(p, str) and p.strip()]
    if not prompts:
        raise AISearchError("Empty prompt: type what the images should show.")
    key = tuple(prompts)
    cache = proj._text_cache
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    v = as_matrix(proj.embedder.encode_text(prompts).mean(axis=0))[0]
    v.setflags(write=False)
    cache[key] = v
    if len(cache) > 256:  # a prompt re-run with another limit or filter costs nothing
        cache.popitem(last=False)
    return v


def negative_vector(proj: Project, negative: Any) -> np.ndarray | None:
    """The mean direction of negative prompts and/or images, or None."""
    if negative is None:
        return None
    items = [negative] if isinstance(negative, (str, os.PathLike)) else list(negative)
    texts = [n for n in items if isinstance(n, str) and not _looks_like_image_ref(proj, n)]
    images = [n for n in items if n not in texts]
    parts = []
    if texts:
        parts.append(proj.embedder.encode_text(texts))
    if images:
        parts.append(resolve_images(proj, images)[0])
    return as_matrix(np.concatenate(parts).mean(axis=0))[0]


def _looks_like_image_ref(proj: Project, s: str) -> bool:
    return _is_uuid(s) or os.path.isfile(os.path.expanduser(s))


def apply_negative(q: np.ndarray, neg: np.ndarray | None, weight: float) -> np.ndarray:
    if neg is None:
        return as_matrix(q)
    return as_matrix(as_matrix(q) - weight * neg[None, :])


def run(
    proj: Project,
    vectors: np.ndarray,
    limit: int,
    fusion: str = "max",
    only: AbstractCollection[str] | None = None,
    exclude: AbstractCollection[str] | None = None,
) -> pd.DataFrame:
    """Search the store with one or several query vectors and fuse the results into
    ``id, score`` sorted best first, at most ``limit`` rows."""
    if fusion not in FUSIONS:
        raise AISearchError(f"Unknown fusion {fusion!r}: use one of {', '.join(FUSIONS)}.")
    limit = int(limit)
    if limit < 1:
        raise AISearchError(f"limit must be at least 1 (got {limit}).")
    q = as_matrix(vectors)
    if fusion == "mean" or len(q) == 1:
        q = as_matrix(q.mean(axis=0)) if len(q) > 1 else q
        hits = proj.store.query(q, limit, only=only, exclude=exclude)[0]
        return pd.DataFrame(
            {"id": [h.id for h in hits], "score": np.array([h.score for h in hits], dtype=float)}
        )
    if fusion == "max":
        # The fused top-k is contained in the union of each query's top-k.
        per = proj.store.query(q, limit, only=only, exclude=exclude)
        best: dict[str, float] = {}
        for hits in per:
            for h in hits:
                if h.score > best.get(h.id, -np.inf):
                    best[h.id] = h.score
    else:
        depth = max(2 * limit, 100)
        per = proj.store.query(q, depth, only=only, exclude=exclude)
        best = {}
        for hits in per:
            for rank, h in enumerate(hits, start=1):
                best[h.id] = best.get(h.id, 0.0) + 1.0 / (RRF_K + rank)
    df = pd.DataFrame({"id": list(best), "score": np.array(list(best.values()), dtype=float)})
    return df.sort_values("score", ascending=False, kind="stable").head(limit)
