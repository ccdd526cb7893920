"""Query building and result fusion for prompt and similar-image searches.

The functions here take what they use, not the project: the vector ``store``, the
``catalog`` (where ids and paths are resolved), and ``embedder``, a callable that
returns the loaded model, called only when something must be embedded now (a
prompt, an image that is not indexed), so searches by stored ids never load it.
Prompt vectors are kept in a small :class:`TextVectors` cache.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from collections.abc import Collection as AbstractCollection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ._errors import (
    AISearchError,
    InvalidArgument,
    ModelLoadError,
    ProjectCorrupt,
    check_int,
    check_real,
    show_value,
)
from ._scope import WHOLE_PROJECT, QueryScope
from .embedder import bad_rows, describe_bad
from .store import as_matrix

if TYPE_CHECKING:
    from .catalog import Catalog
    from .embedder import Embedder
    from .store import VectorStore

    EmbedderFn = Callable[[], Embedder]

    class HasEmbedder(Protocol):
        def embedder(self) -> Embedder: ...


FUSIONS = ("max", "mean", "rrf")
RRF_K = 60  # the usual reciprocal-rank-fusion constant
COUNT_ABOVE_LIMIT = 10_000  # limits above this are capped at the number of points


def _is_uuid(s: str) -> bool:
    import uuid

    try:
        uuid.UUID(s)
    except ValueError:
        return False
    return len(s) == 36


IMAGES_ACCEPTED = (
    "a path, a point id, a PIL image, an HxWx3 or HxW uint8 array, a Collection, or a "
    "non-empty list of those"
)


def check_array_image(a: np.ndarray) -> np.ndarray:
    """An array reference must be an image: HxW or HxWx(1|3|4), uint8, not empty."""
    ok = (
        a.dtype == np.uint8
        and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (1, 3, 4)))
        and a.size > 0
    )
    if not ok:
        raise InvalidArgument(
            f"A reference array must be an image: HxWx3 (or HxW, HxWx4) of uint8 "
            f"(got an array of shape {a.shape} and dtype {a.dtype}). Convert float images "
            "with (a * 255).clip(0, 255).astype('uint8'); pass stored images by id."
        )
    return a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a


@runtime_checkable
class HasIds(Protocol):
    """Stored images given as a set: what :class:`~.collection.Collection` offers as
    references (its ``ids``), without this module importing the collections."""

    @property
    def ids(self) -> list[str]: ...


def _check_refs(refs: Any, arg: str = "images") -> list[Any]:
    """A non-empty list of usable references, or InvalidArgument saying what is accepted."""
    from PIL import Image

    if isinstance(refs, HasIds):  # a Collection (or anything that lists stored ids)
        refs = refs.ids
    if isinstance(refs, (str, os.PathLike, Image.Image, np.ndarray)):
        refs = [refs]
    elif not isinstance(refs, (list, tuple)):
        raise InvalidArgument(f"{arg}: cannot use {show_value(refs)}; give {IMAGES_ACCEPTED}.")
    refs = list(refs)
    if not refs:
        raise InvalidArgument(f"{arg} is empty: give {IMAGES_ACCEPTED}.")
    out = []
    for r in refs:
        if isinstance(r, np.ndarray):
            r = check_array_image(r)
        elif isinstance(r, str) and not r.strip():
            raise InvalidArgument(
                f"{arg}: an empty string is not an image; give {IMAGES_ACCEPTED}."
            )
        elif not isinstance(r, (str, os.PathLike, Image.Image)):
            raise InvalidArgument(
                f"{arg}: cannot use {type(r).__name__} {show_value(r)} as a reference image; "
                f"give {IMAGES_ACCEPTED}."
            )
        out.append(r)
    return out


def check_ids(catalog: Catalog, ids: Any, project: str) -> list[str]:
    """Point ids of this project, or InvalidArgument. The message never says which of
    the given strings exist elsewhere (the panel passes ids from a browser)."""
    if isinstance(ids, str) or not isinstance(ids, (list, tuple)):
        raise InvalidArgument(f"ids must be a list of point ids (got {type(ids).__name__}).")
    if not ids:
        raise InvalidArgument("ids is empty: give at least one point id of the project.")
    strs = [i for i in ids if isinstance(i, str)]
    known = catalog.records(strs) if len(strs) == len(ids) else {}
    bad = sum(1 for i in ids if i not in known)
    if bad:
        raise InvalidArgument(
            f"ids: {bad} of the {len(ids)} given are not images of project {project!r}."
        )
    return list(dict.fromkeys(ids))


# -- vectors that cannot be searched with ---------------------------------------------
def corrupt_vectors(store: VectorStore, count: int, example: str, what: str) -> ProjectCorrupt:
    """The error for ``count`` stored vectors that hold NaN, infinity or zeros (written
    by an older version from a damaged model); ``what`` is one of them, described."""
    return ProjectCorrupt(
        f"{count} stored vector{'s' if count != 1 else ''} of this project cannot be "
        f"searched (e.g. id {example}: {what}); they were written from a damaged model. "
        "Embed those files again: touch or re-save them and run proj.update(), or "
        "re-embed everything with proj.reembed(precision='fp32').",
        path=str(getattr(store, "path", "") or ""),
    )


def check_stored(store: VectorStore, vectors: dict[str, np.ndarray]) -> None:
    """Raise :func:`corrupt_vectors` when any of the stored ``vectors`` is unusable."""
    if not vectors:
        return
    ids = list(vectors)
    bad = np.flatnonzero(bad_rows(np.stack([vectors[i] for i in ids])))
    if len(bad):
        first = ids[int(bad[0])]
        raise corrupt_vectors(store, len(bad), first, describe_bad(vectors[first]))


def scan_stored(
    store: VectorStore,
    only: AbstractCollection[str] | None = None,
    exclude: AbstractCollection[str] | None = None,
) -> None:
    """Check every stored vector (or those of ``only``), leaving out ``exclude``; a
    pass over the store, run only when a search gave fewer results than it should."""
    excl = exclude or ()
    if only is not None:
        wanted = [i for i in only if i not in excl]
        for start in range(0, len(wanted), 4096):
            check_stored(store, store.retrieve(wanted[start : start + 4096]))
        return
    count, first, what = 0, "", ""
    for ids, vecs in store.iter_vectors():
        bad = np.flatnonzero(bad_rows(vecs))
        bad = [k for k in bad if ids[k] not in excl]
        if bad and not count:
            first, what = ids[int(bad[0])], describe_bad(vecs[int(bad[0])])
        count += len(bad)
    if count:
        raise corrupt_vectors(store, count, first, what)


def check_query(vectors: np.ndarray, what: str = "the query") -> np.ndarray:
    """Query vectors as a matrix, or InvalidArgument when one has no direction (NaN,
    infinity, or zero: e.g. a negative that cancels its prompt)."""
    q = np.asarray(vectors, dtype=np.float32)
    bad = bad_rows(q)
    if bad.any():
        row = q[int(np.flatnonzero(bad)[0])] if q.ndim == 2 else q
        raise InvalidArgument(
            f"{what} has no direction ({describe_bad(row)}): there is nothing to compare "
            "with. A negative that equals the prompt or reference cancels it; lower "
            "negative_weight or change the negative."
        )
    return as_matrix(q)


def vectors_of_ids(store: VectorStore, ids: list[str]) -> np.ndarray:
    """The stored vectors of ids of the project (already checked with check_ids)."""
    stored = store.retrieve(ids)
    missing = [i for i in ids if i not in stored]
    if missing:
        raise AISearchError(
            f"{len(missing)} of the reference images have no embedding yet (e.g. "
            f"{missing[0]}); run proj.update() and try again."
        )
    check_stored(store, stored)
    return as_matrix(np.stack([stored[i] for i in ids]))


def _model_gave_bad(vectors: np.ndarray, what: str) -> None:
    bad = bad_rows(vectors)
    if bad.any():
        raise ModelLoadError(
            f"the model gave {describe_bad(vectors[int(np.flatnonzero(bad)[0])])} for {what}: "
            "its weights or its cached int8 copy are damaged. Reopen the project (the "
            "int8 copy is checked and built again when loaded) or use precision='fp32'."
        )


def resolve_images(
    refs: Any, catalog: Catalog, store: VectorStore, embedder: EmbedderFn
) -> tuple[np.ndarray, list[str]]:
    """Vectors for reference images given as paths, point ids, PIL images, arrays or a
    Collection. Indexed images reuse their stored vector; others are embedded now.
    Returns ``(vectors, ids_of_indexed_references)``."""
    refs = _check_refs(refs)
    vectors: list[np.ndarray | None] = [None] * len(refs)
    ids: list[str | None] = [None] * len(refs)
    paths = {
        i: os.path.abspath(os.path.expanduser(os.fspath(r)))
        for i, r in enumerate(refs)
        if isinstance(r, (str, os.PathLike)) and not (isinstance(r, str) and _is_uuid(r))
    }
    by_path = catalog.ids_by_path(list(paths.values()))
    for i, r in enumerate(refs):
        if isinstance(r, str) and _is_uuid(r):
            ids[i] = r
        elif i in paths and paths[i] in by_path:
            ids[i] = by_path[paths[i]]
    known = [i for i in ids if i is not None]
    stored = store.retrieve(known) if known else {}
    check_stored(store, stored)
    to_embed: list[tuple[int, Any]] = []
    for i, r in enumerate(refs):
        pid = ids[i]
        if pid is not None and pid in stored:
            vectors[i] = stored[pid]
        elif pid is not None and i not in paths:
            raise AISearchError(f"No image with id {pid} in this project.")
        elif i in paths:
            to_embed.append((i, Path(paths[i])))
        else:  # a PIL image or an image array (checked by _check_refs)
            to_embed.append((i, r))
    if to_embed:
        from .images import DecodeFailure, load

        emb = embedder()
        imgs = []
        for _, r in to_embed:
            if isinstance(r, Path):
                try:
                    imgs.append(load(r, emb.image_size)[0])
                except DecodeFailure as f:
                    raise AISearchError(f"Reference image {f.message}") from None
            else:
                imgs.append(r)
        fresh = emb.encode_images(imgs)
        _model_gave_bad(fresh, "a reference image")
        for (i, _), v in zip(to_embed, fresh, strict=True):
            vectors[i] = v
    return as_matrix(np.stack(vectors)), [i for i in ids if i is not None and i in stored]


def check_prompt(prompt: Any, arg: str = "prompt") -> list[str]:
    """The non-blank prompts of a text or a list of texts, or InvalidArgument."""
    items = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(items, (list, tuple)) or not all(isinstance(p, str) for p in items):
        raise InvalidArgument(
            f"{arg} must be a text or a list of texts (got {show_value(prompt)})."
        )
    prompts = [p for p in items if p.strip()]
    if not prompts:
        raise InvalidArgument(f"Empty {arg}: type what the images should show.")
    return [str(p) for p in prompts]


class TextVectors:
    """Prompt vectors, cached: a prompt re-run with another limit or filter does not
    run the text tower again. Several prompts are averaged (a prompt ensemble).
    ``model.embedder()`` (the project's :class:`~._vectors.Vectors`) is called only on
    a cache miss."""

    def __init__(self, model: HasEmbedder, size: int = 256) -> None:
        self.model = model
        self.size = size
        self._cache: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, prompt: str | Sequence[str]) -> np.ndarray:
        """The vector of a prompt checked by ``check_prompt`` (blank ones dropped)."""
        key = tuple(str(p) for p in ([prompt] if isinstance(prompt, str) else prompt) if p.strip())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        raw = self.model.embedder().encode_text(list(key))
        _model_gave_bad(raw, f"the prompt {show_value(key[0])}")
        v = as_matrix(raw.mean(axis=0))[0]
        v.setflags(write=False)
        with self._lock:
            self._cache[key] = v
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return v

    def encode(self, prompts: Sequence[str]) -> np.ndarray:
        """One vector per prompt (not cached; for negatives)."""
        out = self.model.embedder().encode_text(list(prompts))
        _model_gave_bad(out, "a negative prompt")
        return out


def negative_vector(
    negative: Any, texts: TextVectors, catalog: Catalog, store: VectorStore
) -> np.ndarray | None:
    """The mean direction of negative prompts and/or images, or None."""
    from PIL import Image

    if negative is None:
        return None
    single = isinstance(negative, (str, os.PathLike, Image.Image, np.ndarray))
    items = [negative] if single else negative
    if not isinstance(items, (list, tuple)) or not items:
        raise InvalidArgument(
            f"negative must be None, a prompt, an image reference or a non-empty list of "
            f"those (got {show_value(negative)})."
        )
    words = [n for n in items if isinstance(n, str) and not _looks_like_image_ref(n)]
    images = [n for n in items if not (isinstance(n, str) and n in words)]
    parts = []
    if words:
        parts.append(texts.encode(check_prompt(words, "negative")))
    if images:
        refs = _check_refs(images, "negative")
        parts.append(resolve_images(refs, catalog, store, texts.embedder)[0])
    return as_matrix(np.concatenate(parts).mean(axis=0))[0]


def _looks_like_image_ref(s: str) -> bool:
    return _is_uuid(s) or os.path.isfile(os.path.expanduser(s))


def apply_negative(q: np.ndarray, neg: np.ndarray | None, weight: float) -> np.ndarray:
    if neg is None:
        return as_matrix(q)
    return as_matrix(as_matrix(q) - weight * neg[None, :])


def check_limit(limit: Any) -> int:
    return check_int("limit", limit, 1, " (the number of results)")


def check_fusion(fusion: Any) -> str:
    if fusion not in FUSIONS:
        raise InvalidArgument(
            f"Unknown fusion {show_value(fusion)}: use one of {', '.join(FUSIONS)}."
        )
    return fusion


def nearest(
    store: VectorStore,
    vectors: np.ndarray,
    limit: int,
    fusion: str = "max",
    only: AbstractCollection[str] | None = None,
    exclude: AbstractCollection[str] | None = None,
) -> pd.DataFrame:
    """Search the store with one or several query vectors and fuse the results into
    ``id, score`` sorted best first, at most ``limit`` rows. ``limit`` and ``fusion``
    are checked by the public methods (``check_limit``, ``check_fusion``)."""
    # A limit above the number of stored points asks for nothing more: cap it, so
    # that limit=10**12 does not ask the store to allocate for it. Counting is a pass
    # over the shard (~10 ms at 100k points): only large limits pay for it.
    if limit > COUNT_ABOVE_LIMIT:
        limit = min(limit, max(1, store.count()))
    q = check_query(vectors)
    if fusion == "mean" or len(q) == 1:
        q = check_query(q.mean(axis=0), "the mean of the references") if len(q) > 1 else q
        hits = store.query(q, limit, only=only, exclude=exclude)[0]
        _check_complete(store, len(hits), limit, only, exclude)
        df = pd.DataFrame(
            {"id": [h.id for h in hits], "score": np.array([h.score for h in hits], dtype=float)}
        )
        return _best_first(df)
    if fusion == "max":
        # The fused top-k is contained in the union of each query's top-k.
        per = store.query(q, limit, only=only, exclude=exclude)
        _check_complete(store, max(map(len, per)), limit, only, exclude)
        best: dict[str, float] = {}
        for hits in per:
            for h in hits:
                if h.score > best.get(h.id, -np.inf):
                    best[h.id] = h.score
    else:
        depth = max(2 * limit, 100)
        per = store.query(q, depth, only=only, exclude=exclude)
        _check_complete(store, max(map(len, per)), depth, only, exclude)
        best = {}
        for hits in per:
            for rank, h in enumerate(hits, start=1):
                best[h.id] = best.get(h.id, 0.0) + 1.0 / (RRF_K + rank)
    df = pd.DataFrame({"id": list(best), "score": np.array(list(best.values()), dtype=float)})
    return _best_first(df).head(limit)


def _best_first(df: pd.DataFrame) -> pd.DataFrame:
    """Best score first; equal scores (copies of one image) by id, so that the order
    does not depend on how the store was asked (a scoped and an unscoped search list
    the same images in the same order)."""
    s = df["score"].to_numpy()
    if len(s) < 2 or bool((s[1:] < s[:-1]).all()):  # as the store gave them: no ties
        return df
    return df.sort_values(["score", "id"], ascending=[False, True], kind="stable")


def _check_complete(
    store: VectorStore,
    got: int,
    limit: int,
    only: AbstractCollection[str] | None,
    exclude: AbstractCollection[str] | None,
) -> None:
    """A search that gave fewer than ``limit`` results while more points qualify: the
    store leaves out points it cannot score (NaN vectors) without a word. Find them
    and say so rather than return a silently short result."""
    if got >= limit:
        return
    if only is not None:
        eligible = len(set(only) - set(exclude or ()))
        if got < eligible:
            scan_stored(store, only, exclude)
    elif got < store.count() - len(set(exclude or ())):
        scan_stored(store, None, exclude)


# -- the searches a project runs (its public methods check the arguments) -----------
def describe(x: Any) -> Any:
    """A JSON-friendly description of a query argument."""
    if x is None or isinstance(x, (str, int, float)):
        return x
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    if isinstance(x, (list, tuple)):
        return [describe(i) for i in x]
    return type(x).__name__


def check_weight(negative: Any, negative_weight: Any) -> float:
    return negative_weight if negative is None else check_real("negative_weight", negative_weight)


def check_similar_refs(images: Any, ids: Any) -> None:
    if ids is not None and images is not None:
        raise InvalidArgument("Give reference images or ids=, not both.")
    if ids is None and images is None:
        raise InvalidArgument(f"No reference images: give images ({IMAGES_ACCEPTED}) or ids=[...].")


@dataclass(frozen=True)
class Ask:
    """What a search takes besides what it searches for: how many results, a
    negative (text or images) with its weight, and the scope."""

    limit: int
    negative: Any = None
    negative_weight: float = 0.5
    scope: QueryScope = WHOLE_PROJECT

    def run(
        self, vectors: Any, catalog: Catalog, q: np.ndarray, query: dict[str, Any], **kw: Any
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The best rows for query vectors ``q`` (the negative applied, inside the
        scope, leaving out ``kw["refs"]`` too) and ``query`` with the scope."""
        only, ex = self.scope.resolve(catalog)
        store = vectors.store()
        neg = negative_vector(self.negative, vectors.text, catalog, store)
        q = apply_negative(q, neg, self.negative_weight)
        ex = ex | set(kw.get("refs", ()))
        found = nearest(store, q, self.limit, kw.get("fusion", "max"), only, ex)
        return found, query | {"limit": self.limit} | self.scope.describe()


def prompt_search(
    vectors: Any, catalog: Catalog, prompt: str | list[str], ask: Ask
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and the query of a prompt search (arguments checked by the caller)."""
    query = {"type": "prompt", "text": prompt, "negative": describe(ask.negative)}
    return ask.run(vectors, catalog, vectors.text.vector(prompt), query)


def similar_search(
    vectors: Any, catalog: Catalog, images: Any, ids: Sequence[str] | None, ask: Ask, **kw: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and the query of a search by reference images (arguments checked;
    ``kw``: ``fusion`` and ``include_references``)."""
    store = vectors.store()
    if ids is not None:
        ref_ids = check_ids(catalog, ids, ask.scope.project)
        vecs = vectors_of_ids(store, ref_ids)
        images = ref_ids
    else:
        vecs, ref_ids = resolve_images(images, catalog, store, vectors.embedder)
    refs = images.ids if hasattr(images, "ids") and hasattr(images, "df") else images
    fusion = kw["fusion"]
    query = {"type": "similar", "references": describe(refs), "fusion": fusion}
    skip = () if kw["include_references"] else ref_ids
    return ask.run(vectors, catalog, vecs, query, fusion=fusion, refs=skip)
