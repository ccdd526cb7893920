"""The explore views of a project (map, duplicates, outliers, diverse samples, quality
issues, leaks between two sets): the vectors loaded once, a progress bar, the explore
cache of the current vectors, and the paths joined back from the catalog.
:class:`ExploreViews` gives ``Project`` these methods: each checks its arguments and
readiness, then hands to a function here."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._scope import WHOLE_PROJECT, QueryScope

if TYPE_CHECKING:
    from ..collection import Collection


def load_all(vectors: Any) -> tuple[list[str], np.ndarray]:
    """Every id and vector of the store."""
    from ..diverse import load_vectors

    store = vectors.store()
    ids, vecs, _, _ = load_vectors(store, max(1, store.count()))
    return ids, vecs


def kept_all(vectors: Any, catalog: Any) -> tuple[list[str], np.ndarray]:
    """Every id and vector (float32 unit rows) from the kept float16 copy of the
    vectors (``_matrix.stored_matrix``: found by the state of the vectors, read from
    the store and written on first use). At 100k the store's scroll takes ~3 s (each
    vector handed over as a list of floats), the kept copy ~0.1 s; float16 moves a
    cosine by ~1e-4."""
    from .._matrix import stored_matrix
    from ..embedder import bad_rows, describe_bad
    from ..search import corrupt_vectors

    ids, mat = stored_matrix(vectors, catalog, vectors.config.layout.folder)
    x = np.asarray(mat, dtype=np.float32)
    bad = np.flatnonzero(bad_rows(x)) if len(x) else []
    if len(bad):  # a NaN or zero vector: a damaged project, said as the store's read says it
        k = int(bad[0])
        raise corrupt_vectors(vectors.store(), len(bad), ids[k], describe_bad(x[k]))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return ids, x


#: From this many ids on, :func:`paths_of` reads the path of every row in one pass
#: (~0.1 s at 100k) instead of a record per id (~0.9 s at 100k).
_ALL_PATHS_FROM = 20_000


def paths_of(catalog: Any, ids: Sequence[str]) -> list[str | None]:
    """The path of each id (None for an id the catalog does not have)."""
    if len(ids) < _ALL_PATHS_FROM:
        recs = catalog.records(list(ids))
        return [recs[i].path if i in recs else None for i in ids]
    rows = catalog.query("SELECT id, path FROM files")
    pos = pd.Index([i for i, _ in rows], dtype=object).get_indexer(pd.Index(ids, dtype=object))
    paths = np.array([p for _, p in rows] + [None], dtype=object)
    out: list[str | None] = paths[pos].tolist()  # -1 (not a row): the None at the end
    missing = np.flatnonzero(pos < 0).tolist()
    if missing:  # a video's own id: its row is in the videos table
        recs = catalog.records([ids[k] for k in missing])
        for k in missing:
            out[k] = recs[ids[k]].path if ids[k] in recs else None
    return out


@contextlib.contextmanager
def progress_bar(desc: str, show: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    bar = tqdm(total=100, desc=desc, disable=not show, leave=False)

    def step(stage: str, fraction: float) -> None:
        bar.set_postfix_str(stage, refresh=False)
        bar.update(max(0, int(fraction * 100) - bar.n))

    try:
        yield step
    finally:
        bar.close()


def diverse_sample(
    vectors: Any,
    catalog: Any,
    n: int,
    method: str,
    clusters: int | None,
    seed: int,
    sample: int,
    scope: QueryScope = WHOLE_PROJECT,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows, query and info of a diverse sample (arguments checked), drawn from the
    scope's members only."""
    from ..diverse import load_vectors, sample_diverse

    only, ex = scope.resolve(catalog)
    ids, vecs, population, sampled = load_vectors(vectors.store(), sample, only, ex)
    items, sizes = sample_diverse(ids, vecs, n, method, clusters, seed)
    if sampled and ids:
        scale = population / len(ids)
        sizes = {c: round(s * scale) for c, s in sizes.items()}
    query = {"type": "diverse", "method": method, "n": n, "clusters": clusters, "seed": seed}
    query |= scope.describe()
    info = {"cluster_sizes": sizes, "population": population, "sampled": sampled}
    return items, query, info


def _cache_dir(vectors: Any) -> Path:
    """The explore cache of the current vectors (other vectors, other caches)."""
    return vectors.config.layout.explore(vectors.identity)


def project_map(
    vectors: Any,
    catalog: Any,
    method: str,
    sample: int | None,
    *,
    clusters: int | None,
    seed: int,
    refit: bool,
    progress: bool,
    scope: set[str] | None = None,
) -> pd.DataFrame:
    """The map of the project; with a ``scope``, its rows of the scope's members (the
    same coordinates and clusters: a scoped map sits in the layout of the whole).
    A map cached for the current state of the vectors is read without reading them."""
    from .._matrix import state_stamp
    from .map import cached_map, compute_map

    stamp = state_stamp(vectors, catalog)  # before the vectors: see state_key
    cache, kw = _cache_dir(vectors), {"clusters": clusters, "seed": seed}
    df = None if refit else cached_map(cache, stamp, method, sample, **kw)
    if df is None:
        ids, vecs = load_all(vectors)
        with progress_bar(f"map of {vectors.config.name}", progress) as step:
            df = compute_map(
                ids, vecs, method, sample, **kw,
                cache_dir=cache, refit=refit, progress=step, stamp=stamp,
            )  # fmt: skip
    df.attrs["stamp"] = stamp
    if scope is not None:
        df = df[df["id"].isin(scope)].reset_index(drop=True)
    df.insert(1, "path", paths_of(catalog, df["id"].tolist()))
    return df


def _paths_known(
    catalog: Any, rows: dict[str, tuple[Any, ...]], ids: Sequence[str]
) -> list[str | None]:
    """Paths of ``ids`` from ``rows`` (id -> (..., path)), the catalog asked for the rest."""
    rest = [i for i in ids if i not in rows]
    found = dict(zip(rest, paths_of(catalog, rest), strict=True)) if rest else {}
    return [rows[i][-1] if i in rows else found[i] for i in ids]


def duplicate_groups(
    vectors: Any,
    catalog: Any,
    threshold: float | None,
    kind: str,
    max_bytes: int,
    progress: bool,
    scope: set[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows, query and info of the duplicate groups. With a ``scope``, the groups
    among the scope's members only: a copy outside the scope joins no group (its
    kNN graph is the scope's own, not cached: the project's cache stays whole)."""
    from .duplicates import find_duplicates
    from .knn import knn_graph

    ids, vecs = kept_all(vectors, catalog)
    meta = catalog.embedded_files(vectors.identity)
    graph = None
    if scope is not None:
        keep = [k for k, i in enumerate(ids) if i in scope]
        ids, vecs = [ids[k] for k in keep], vecs[keep]
        if len(ids) >= 2 and (kind != "exact" or not all(meta.get(i, (None,))[0] for i in ids)):
            graph = knn_graph(ids, vecs)
    with progress_bar(f"duplicates of {vectors.config.name}", progress) as step:
        df = find_duplicates(
            ids,
            vecs,
            lambda some: _paths_known(catalog, meta, some),
            content=[meta.get(i, (None, 0))[0] for i in ids],
            mtimes=[meta.get(i, (None, 0))[1] / 1e9 for i in ids],
            threshold=threshold,
            kind=kind,
            graph=graph,
            stat_files=True,  # a link and its target are one file, never copies
            cache_dir=_cache_dir(vectors),
            max_bytes=max_bytes,
            progress=step,
        )
    groups = int(df["group"].nunique()) if len(df) else 0
    return df, {"type": "duplicates", "threshold": threshold, "kind": kind}, {"groups": groups}


def unusual(
    vectors: Any,
    catalog: Any,
    n: int,
    k: int,
    progress: bool,
    scope: set[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows and query of the outliers. With a ``scope``: the ``n`` most unusual of the
    scope's members, each judged against the whole project (the unscoped ranking
    cut down to the scope, in the same order)."""
    from .outliers import find_outliers

    ids, vecs = kept_all(vectors, catalog)
    top = n if scope is None else len(ids)
    with progress_bar(f"outliers of {vectors.config.name}", progress) as step:
        df = find_outliers(
            ids, vecs, n=max(1, top), k=k, cache_dir=_cache_dir(vectors), progress=step
        )
    if scope is not None:
        df = df[df["id"].isin(scope)].head(n)
    return df[["id", "score"]], {"type": "outliers", "n": n, "k": k}


def _deprecated_confirm(confirm: bool | None, kind: str) -> str:
    if confirm is None:
        return kind
    warnings.warn(
        "duplicates(confirm=...) is deprecated: use kind='near' or kind='similar'.",
        DeprecationWarning,
        stacklevel=3,
    )
    return "near" if confirm else "similar"


class ExploreViews:
    """The explore methods of ``Project`` (one kNN graph, cached per state of the
    vectors). They use what the project holds: ``_vectors``, ``catalog``,
    ``indexer.max_file_bytes``, ``_check_ready`` and ``_result``."""

    _vectors: Any
    catalog: Any
    indexer: Any
    name: str

    def _check_ready(self, allow_partial: bool) -> None:
        raise NotImplementedError

    def _check_open(self) -> None:
        raise NotImplementedError

    def _result(self, items: pd.DataFrame, query: dict[str, Any], info: dict | None = None) -> Any:
        raise NotImplementedError

    def _scope(self, within: Any, where: Any) -> tuple[set[str] | None, dict[str, Any]]:
        """The ids of ``within`` and ``where`` (None: no scope) and how the query
        records them."""
        scope = QueryScope(within, where, self.name)
        return scope.ids(self.catalog), scope.describe()

    def diverse(
        self,
        n: int = 100,
        method: str = "centroids",
        clusters: int | None = None,
        exclude: Any = None,
        seed: int = 0,
        *,
        tags: str | list[str] | None = None,
        within: Any = None,
        where: str | dict[str, Any] | None = None,
        sample: int = 10_000,
        allow_partial: bool = False,
    ) -> Collection:
        """``n`` images spread over the dataset: k-means into ``clusters`` (default
        ``n``) groups, then round-robin across groups, either the members nearest each
        centre first (``"centroids"``) or random members (``"random"``). ``exclude``
        (e.g. already-labelled images) is never returned. The result has a ``cluster``
        column and ``cluster_sizes``. ``within``/``where`` (as in ``search``): drawn
        from the scope's members only."""
        from .. import diverse as _d

        n, method, clusters, sample, seed = _d.check_args(n, method, clusters, sample, seed)
        self._check_ready(allow_partial)
        scope = QueryScope(within, where, self.name, tags, exclude)
        args = (n, method, clusters, seed, sample, scope)
        return self._result(*diverse_sample(self._vectors, self.catalog, *args))

    def vectors_state(self) -> str:
        """A short string that changes whenever the stored vectors do (any write or
        delete, by any process), read in milliseconds without reading a vector: the
        key the explore caches are checked against. A map's ``df.attrs["stamp"]`` is
        the state it was drawn from.

        >>> df = proj.map(); proj.vectors_state() == df.attrs["stamp"]   # doctest: +SKIP
        True
        """
        from .._matrix import state_stamp

        self._check_open()
        return state_stamp(self._vectors, self.catalog)

    def map(
        self,
        method: str = "umap",
        sample: int | None = None,
        *,
        clusters: int | None = 20,
        seed: int = 0,
        refit: bool = False,
        progress: bool = True,
        within: Any = None,
        where: str | dict[str, Any] | None = None,
        allow_partial: bool = False,
    ) -> pd.DataFrame:
        """A 2-D map of every embedded image: DataFrame ``id, path, x, y, cluster``.

        ``method="umap"`` (the ``explore`` extra; fitted on up to ``sample`` images,
        the others placed through the kNN graph) or ``"pca"`` (fast, approximate).
        Cached in the project home per state of the vectors; after an update the new
        images are placed with the fitted map, and a full refit happens when more than
        a fifth of the images changed (or with ``refit=True``). ``within``/``where``
        (as in ``search``): the rows of the scope's members, placed as in the map of
        the whole project. ``df.attrs["stamp"]``: the :meth:`vectors_state` it was
        drawn from."""
        self._check_ready(allow_partial)
        scope, _ = self._scope(within, where)
        kw = {"clusters": clusters, "seed": seed, "refit": refit, "progress": progress}
        return project_map(self._vectors, self.catalog, method, sample, **kw, scope=scope)

    def duplicates(
        self,
        threshold: float | None = None,
        *,
        kind: str = "near",
        confirm: bool | None = None,
        progress: bool = True,
        within: Any = None,
        where: str | dict[str, Any] | None = None,
        allow_partial: bool = False,
    ) -> Collection:
        """Groups of copies of one picture. ``kind="near"`` (default): byte copies and
        the same picture re-encoded, resized, lightly cropped or recompressed
        (candidates above the embedding ``threshold``, default 0.9, confirmed by
        aligned pixels: another tint, position, size or blur is a look-alike, not a
        copy); ``"exact"``: byte copies only; ``"similar"``: every candidate pair,
        look-alikes too (a wider search, on purpose). Columns: ``group`` (biggest
        first), ``best`` (never a symlink, then the largest, then oldest copy, first),
        ``score`` (similarity to the best), ``match`` (how the row matches the best:
        exact, near or similar) and ``pixel_similarity`` (the pixel evidence: 1.0 the
        same pixels, >= 0.9 the same picture). ``.keep_best()`` gives the others.
        ``confirm=False`` is the old spelling of ``kind="similar"`` (deprecated).
        ``within``/``where`` (as in ``search``): the groups among the scope's members
        only (a copy outside the scope joins no group)."""
        kind = _deprecated_confirm(confirm, kind)
        self._check_ready(allow_partial)
        scope, shown = self._scope(within, where)
        limit = self.indexer.max_file_bytes
        args = (self._vectors, self.catalog, threshold, kind, limit, progress, scope)
        rows, query, info = duplicate_groups(*args)
        return self._result(rows, query | shown, info)

    def outliers(
        self,
        n: int = 100,
        *,
        k: int = 10,
        progress: bool = True,
        within: Any = None,
        where: str | dict[str, Any] | None = None,
        allow_partial: bool = False,
    ) -> Collection:
        """The ``n`` most unusual images (broken, off-domain, rare), most unusual first:
        ``score`` is the cosine distance to the ``k``-th nearest neighbour.
        ``within``/``where`` (as in ``search``): the most unusual members of the scope,
        each judged against the whole project (the unscoped ranking cut to the scope)."""
        self._check_ready(allow_partial)
        scope, shown = self._scope(within, where)
        rows, query = unusual(self._vectors, self.catalog, n, k, progress, scope)
        return self._result(rows, query | shown)

    def quality_issues(
        self,
        issues: str | Sequence[str] | None = None,
        thresholds: dict[str, float] | None = None,
        *,
        allow_partial: bool = False,
    ) -> Collection:
        """Images with a quality issue, most severe first: ``blurry``, ``dark``,
        ``bright``, ``low_information`` (nearly flat), ``grayscale``, ``odd_size``,
        ``odd_aspect`` (``issues=`` keeps some). Columns: ``issue`` (the image's most
        severe), ``issues`` (all of them), ``severity`` (also ``score``: robust
        z-score, MADs beyond the project's median), ``value`` (the signal compared)
        and the signals ``blur, brightness, contrast, colorfulness, entropy, width,
        height``.

        Thresholds are chosen per project: an image is flagged when it is an outlier
        of this project (robust z >= 3) and beyond an absolute guard, so a project of
        good pictures raises nothing. ``thresholds={"blurry": 50}`` flags every image
        whose ``blur`` is below 50 instead; ``{"z": 2.5}`` changes the z cutoff (see
        :func:`aisearch_widgets.quality.find_issues`).

        >>> proj.quality_issues("blurry").df.head()                  # doctest: +SKIP
        """
        from .quality import check_issues, frame_for, quality_rows

        wanted = check_issues(issues)
        self._check_ready(allow_partial)
        return self._result(*quality_rows(frame_for(self), wanted, thresholds))

    def leaks(
        self,
        a: Any,
        b: Any,
        threshold: float | None = None,
        *,
        kind: str = "near",
        allow_partial: bool = False,
    ) -> pd.DataFrame:
        """Copies of one picture found in both ``a`` and ``b`` (Collections or lists of
        ids; e.g. a train and a test split), as :meth:`duplicates` finds them but only
        across the two sets: DataFrame ``a_id, b_id, similarity, match, a_path,
        b_path``, most similar first. An image in both sets is a pair with itself.
        ``threshold`` and ``kind`` as in :meth:`duplicates`.

        >>> proj.leaks(proj.tagged("train"), proj.tagged("test"))  # doctest: +SKIP
        """
        from .quality import leaks

        self._check_ready(allow_partial)
        limit = self.indexer.max_file_bytes
        cache = _cache_dir(self._vectors)
        return leaks(self._vectors, self.catalog, a, b, threshold, kind, limit, cache)
