"""The explore views of a project (map, duplicates, outliers, diverse samples): the
vectors loaded once, a progress bar, the explore cache of the current vectors, and
the paths joined back from the catalog. ``Project`` checks readiness and arguments
and hands the results on as collections."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def load_all(vectors: Any) -> tuple[list[str], np.ndarray]:
    """Every id and vector of the store."""
    from ..diverse import load_vectors

    store = vectors.store()
    ids, vecs, _, _ = load_vectors(store, max(1, store.count()))
    return ids, vecs


def paths_of(catalog: Any, ids: Sequence[str]) -> list[str | None]:
    recs = catalog.records(list(ids))
    return [recs[i].path if i in recs else None for i in ids]


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
    tags: Any,
    exclude: Any,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows, query and info of a diverse sample (arguments checked)."""
    from ..diverse import load_vectors, sample_diverse
    from ..search import filters

    only, ex = filters(catalog, tags, exclude)
    ids, vecs, population, sampled = load_vectors(vectors.store(), sample, only, ex)
    items, sizes = sample_diverse(ids, vecs, n, method, clusters, seed)
    if sampled and ids:
        scale = population / len(ids)
        sizes = {c: round(s * scale) for c, s in sizes.items()}
    query = {"type": "diverse", "method": method, "n": n, "clusters": clusters, "seed": seed}
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
) -> pd.DataFrame:
    from .map import compute_map

    ids, vecs = load_all(vectors)
    with progress_bar(f"map of {vectors.name}", progress) as step:
        df = compute_map(
            ids,
            vecs,
            method,
            sample,
            clusters=clusters,
            seed=seed,
            cache_dir=_cache_dir(vectors),
            refit=refit,
            progress=step,
        )
    df.insert(1, "path", paths_of(catalog, df["id"].tolist()))
    return df


def duplicate_groups(
    vectors: Any,
    catalog: Any,
    threshold: float | None,
    kind: str,
    max_bytes: int,
    progress: bool,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows, query and info of the duplicate groups."""
    from .duplicates import find_duplicates

    ids, vecs = load_all(vectors)
    meta = catalog.content_and_mtime(vectors.identity)
    with progress_bar(f"duplicates of {vectors.name}", progress) as step:
        df = find_duplicates(
            ids,
            vecs,
            lambda some: paths_of(catalog, some),
            content=[meta.get(i, (None, 0))[0] for i in ids],
            mtimes=[meta.get(i, (None, 0))[1] / 1e9 for i in ids],
            threshold=threshold,
            kind=kind,
            stat_files=True,  # a link and its target are one file, never copies
            cache_dir=_cache_dir(vectors),
            max_bytes=max_bytes,
            progress=step,
        )
    groups = int(df["group"].nunique()) if len(df) else 0
    return df, {"type": "duplicates", "threshold": threshold, "kind": kind}, {"groups": groups}


def unusual(vectors: Any, n: int, k: int, progress: bool) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows and query of the outliers."""
    from .outliers import find_outliers

    ids, vecs = load_all(vectors)
    with progress_bar(f"outliers of {vectors.name}", progress) as step:
        df = find_outliers(ids, vecs, n=n, k=k, cache_dir=_cache_dir(vectors), progress=step)
    return df[["id", "score"]], {"type": "outliers", "n": n, "k": k}
