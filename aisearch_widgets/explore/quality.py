"""Quality issues and train/test leaks of a project.

:func:`frame_for` gathers the quality signals of a project's images (the catalog's
metadata when it holds them); :func:`quality_rows` turns them into one row per image
with issues (rules in :func:`aisearch_widgets.quality.find_issues`); :func:`leaks`
finds copies of one picture across two sets of images with the duplicates
machinery, candidates taken only across the two sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import images as _images
from .._errors import InvalidArgument
from ..quality import ISSUES, SIGNALS, find_issues, image_signals
from .duplicates import DEFAULT_THRESHOLD, KINDS, find_duplicates
from .knn import KnnGraph

FRAME_COLUMNS = [*SIGNALS, "width", "height"]
LEAK_COLUMNS = ["a_id", "b_id", "similarity", "match", "a_path", "b_path"]


def frame_for(project: Any) -> pd.DataFrame:
    """The quality signals and size of every embedded image of ``project``, indexed by
    id (:data:`FRAME_COLUMNS`). From the catalog's metadata when it has them;
    otherwise (a catalog without that table) the fallback: each image file read and
    measured now, video frames left out."""
    catalog = project.catalog
    ids = sorted(catalog.embedded_ids(project.model_identity))
    meta = getattr(catalog, "metadata_frame", None)
    if meta is not None:
        frame = meta(columns=FRAME_COLUMNS)
        frame = frame.reindex(index=[i for i in ids if i in frame.index], columns=FRAME_COLUMNS)
        return frame.dropna(how="all", subset=list(SIGNALS))
    # Fallback: measure the files themselves (what indexing does while decoding).
    max_bytes = getattr(project.indexer, "max_file_bytes", None)
    recs = catalog.records(ids)
    rows: dict[str, dict[str, float]] = {}
    for pid in ids:
        rec = recs.get(pid)
        if rec is None or rec.kind != "image":
            continue
        try:
            data = _images.read_bytes(rec.path, max_bytes)
            img = _images.decode(data, rec.path)
        except (_images.DecodeFailure, OSError):
            continue
        w, h = _images.declared_size(data) or img.size
        rows[pid] = {**image_signals(img), "width": float(w), "height": float(h)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=FRAME_COLUMNS)


def check_issues(issues: str | Sequence[str] | None) -> list[str]:
    """``issues`` as a list of known issue names (all of them for None)."""
    if issues is None:
        return list(ISSUES)
    names = [issues] if isinstance(issues, str) else list(issues)
    bad = [n for n in names if n not in ISSUES]
    if bad or not names:
        raise InvalidArgument(
            f"issues: unknown {', '.join(map(repr, bad)) or 'empty list'}; "
            f"use some of {', '.join(ISSUES)}."
        )
    return names


def quality_rows(
    frame: pd.DataFrame, issues: list[str], thresholds: dict[str, float] | None
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows, query and info of the quality issues: one row per image with an issue,
    ``issue`` its most severe one, ``issues`` all of them (comma separated),
    ``severity`` (also the ``score``), ``value`` and the signals."""
    try:
        found = find_issues(frame, thresholds)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    found = found[found["issue"].isin(issues)]
    every = found.groupby("id", sort=False)["issue"].agg(",".join)
    top = found.drop_duplicates("id").set_index("id")  # most severe first
    items = top.assign(issues=every).reset_index()
    items["score"] = items["severity"]
    signals = frame.reindex(items["id"].tolist())[FRAME_COLUMNS].reset_index(drop=True)
    items = pd.concat([items, signals], axis=1)
    query = {"type": "quality", "issues": issues, "thresholds": dict(thresholds or {})}
    counts = found["issue"].value_counts()
    info = {"counts": {k: int(counts.get(k, 0)) for k in issues}, "measured": len(frame)}
    return items, query, info


def _ids_of(x: Any, name: str) -> list[str]:
    ids = x.ids if hasattr(x, "ids") else x
    if isinstance(ids, str) or not isinstance(ids, Sequence | set | pd.Index | np.ndarray):
        raise InvalidArgument(f"leaks(): {name} must be a Collection or a list of ids.")
    return list(dict.fromkeys(str(i) for i in ids))


def _paths(catalog: Any, ids: Sequence[str]) -> list[str | None]:
    recs = catalog.records(list(ids))
    return [recs[i].path if i in recs else None for i in ids]


def _cross_graph(
    ids: list[str], x: np.ndarray, in_a: np.ndarray, in_b: np.ndarray, k: int
) -> KnnGraph:
    """Per row, its ``k`` nearest rows *of the other set* (an id in both sets is its own
    pair and needs no candidate)."""
    n = len(x)
    k = max(1, min(k, n - 1))
    idx = np.full((n, k), -1, np.int32)
    sims = np.full((n, k), -np.inf, np.float32)
    step = max(1, (1 << 24) // max(n, 1))  # rows per block: a block is at most 64 MB
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        s = x[rows] @ x.T
        other = (in_a[rows, None] & in_b[None, :]) | (in_b[rows, None] & in_a[None, :])
        other[np.arange(s.shape[0]), np.arange(start, rows.stop)] = False
        s = np.where(other, s, -np.inf)
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, part, 1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, 1)
        got = np.take_along_axis(s, top, 1)
        idx[rows] = np.where(np.isfinite(got), top, -1)
        sims[rows] = got
    return KnnGraph(ids=ids, indices=idx, sims=sims, exact=True, fingerprint="")


def leaks(
    vectors: Any,
    catalog: Any,
    a: Any,
    b: Any,
    threshold: float | None,
    kind: str,
    max_bytes: int | None,
    cache_dir: Any,
) -> pd.DataFrame:
    """Pairs ``(a_id, b_id)`` of one picture found in both ``a`` and ``b``
    (:data:`LEAK_COLUMNS`), most similar first. See ``Project.leaks``."""
    if kind not in KINDS:
        raise InvalidArgument(f"kind must be one of {', '.join(KINDS)} (got {kind!r}).")
    ids_a, ids_b = _ids_of(a, "a"), _ids_of(b, "b")
    union = list(dict.fromkeys([*ids_a, *ids_b]))
    got = vectors.store().retrieve(union)
    ids = [i for i in union if i in got]
    if not ids:
        return pd.DataFrame(columns=LEAK_COLUMNS)
    x = np.stack([got[i] for i in ids]).astype(np.float32)
    sa, sb = set(ids_a), set(ids_b)
    in_a = np.array([i in sa for i in ids])
    in_b = np.array([i in sb for i in ids])
    graph = _cross_graph(ids, x, in_a, in_b, k=10)
    meta = catalog.content_and_mtime(vectors.identity)
    groups = find_duplicates(
        ids,
        x,
        lambda some: _paths(catalog, some),
        content=[meta.get(i, (None, 0))[0] for i in ids],
        mtimes=[meta.get(i, (None, 0))[1] / 1e9 for i in ids],
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        kind=kind,
        stat_files=False,  # a link in one set to a file of the other is a leak too
        graph=graph,
        cache_dir=cache_dir,
        max_bytes=max_bytes,
    )
    row = {i: r for r, i in enumerate(ids)}
    content = {i: meta.get(i, (None, 0))[0] for i in ids}
    pairs = [(i, i) for i in ids if i in sa and i in sb]
    for _, g in groups.groupby("group"):
        members = g["id"].tolist()
        pairs += [(p, q) for p in members if p in sa for q in members if q in sb and q != p]
    out = pd.DataFrame(pairs, columns=["a_id", "b_id"])
    if out.empty:
        return pd.DataFrame(columns=LEAK_COLUMNS)
    ra, rb = out["a_id"].map(row).to_numpy(), out["b_id"].map(row).to_numpy()
    out["similarity"] = np.einsum("ij,ij->i", x[ra], x[rb]).clip(-1, 1).astype(float)
    same = [p == q or (content[p] and content[p] == content[q]) for p, q in pairs]
    out["match"] = np.where(same, "exact", "near" if kind != "similar" else "similar")
    out["a_path"] = _paths(catalog, out["a_id"].tolist())
    out["b_path"] = _paths(catalog, out["b_id"].tolist())
    out = out.sort_values(["similarity", "a_id", "b_id"], ascending=[False, True, True])
    return out.reset_index(drop=True)[LEAK_COLUMNS]
