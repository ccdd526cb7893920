"""A large demo project built fast: ``FROM`` demo images indexed through the demo model,
then grown to ``n`` images without the model.

Growing: each further image is a byte copy of an indexed file (mtime kept) under a new
folder (``images/copy-CCC/part-XX/img_NNNNN.<ext>``), so the update check sees real
files of the stated size and mtime. Not a hard link: the scan takes one physical file
(``st_dev, st_ino``) as one record, so a sync would delete hard-linked copies. Its
thumbnail is a hard link of the original's cached thumbnail (the indexer caches one
per image; the cache is not scanned), its catalog rows (``files``,
``metadata``) the original's with the new key, id and path (same bytes: same size,
mtime and content hash), and its vector the original's plus Gaussian noise,
renormalised, written to the store directly, as ``bench_search.py`` writes its 1M
projects. The noise is set so that a copy's cosine to its original equals the median
cosine of an indexed image to its nearest indexed neighbour: a copy is as close to its
original as two different demo images usually are, so a prompt still finds the right
shapes but no copy is an exact twin of its original in the vector space.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np


def noise_sigma(vecs: np.ndarray) -> tuple[float, float]:
    """(sigma, target cosine): per-dimension noise giving E[cos(v, v + noise)] equal to
    the median nearest-neighbour cosine among ``vecs`` (rows unit length)."""
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    target = float(np.median(sims.max(axis=1)))
    target = min(max(target, 0.5), 0.999)
    d = vecs.shape[1]
    return float(np.sqrt((1.0 / target**2 - 1.0) / d)), target


def grow(proj: Any, images: Path, n: int, seed: int = 0) -> dict[str, float | int]:
    """Grow the indexed project ``proj`` (one folder source at ``images``) to ``n``
    images as the module docstring says; returns what it did and how long it took."""
    from aisearch_widgets.sources import point_id

    t0 = time.perf_counter()
    cat = proj.catalog
    cols = [r[1] for r in cat.query("PRAGMA table_info(files)")]
    rows = cat.query("SELECT * FROM files WHERE status = 'embedded' ORDER BY key")
    base = len(rows)
    if n <= base:
        return {"base": base, "added": 0, "grow_s": 0.0}
    meta_cols = [r[1] for r in cat.query("PRAGMA table_info(metadata)")]
    meta = {r[0]: r for r in cat.query("SELECT * FROM metadata")}
    ids = [r[cols.index("id")] for r in rows]
    got = proj.store.retrieve(ids)
    vecs = np.stack([got[i] for i in ids]).astype(np.float32)
    sigma, target = noise_sigma(vecs)
    rng = np.random.default_rng(seed)
    i_key, i_id, i_path = cols.index("key"), cols.index("id"), cols.index("path")
    root = str(images.resolve())
    new_files: list[tuple] = []
    new_meta: list[tuple] = []
    new_ids: list[str] = []
    src_of: list[int] = []
    c = 0
    while base + len(new_files) < n:
        c += 1
        for j, r in enumerate(rows):
            if base + len(new_files) >= n:
                break
            rel = os.path.relpath(r[i_path], root)
            new_rel = f"copy-{c:03d}/{rel}"
            key = r[i_key][: len(r[i_key]) - len(rel.replace(os.sep, "/"))] + new_rel
            pid = point_id(proj.name, key)
            path = os.path.join(root, new_rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copy2(r[i_path], path)
            thumb = proj.thumbs.path(r[i_id])
            if thumb.exists():
                dst = proj.thumbs.path(pid)
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.link(thumb, dst)
            row = list(r)
            row[i_key], row[i_id], row[i_path] = key, pid, path
            new_files.append(tuple(row))
            if r[i_id] in meta:
                new_meta.append((pid, *meta[r[i_id]][1:]))
            new_ids.append(pid)
            src_of.append(j)
    t_files = time.perf_counter() - t0
    with cat.transaction() as db:
        db.executemany(
            f"INSERT INTO files({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            new_files,
        )
        if new_meta:
            db.executemany(
                f"INSERT INTO metadata({', '.join(meta_cols)})"
                f" VALUES ({', '.join('?' * len(meta_cols))})",
                new_meta,
            )
    t_rows = time.perf_counter() - t0 - t_files
    src = np.asarray(src_of)
    for s in range(0, len(new_ids), 2000):
        v = vecs[src[s : s + 2000]]
        v = v + rng.normal(scale=sigma, size=v.shape).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        proj.store.upsert(new_ids[s : s + 2000], v)
    proj.store.flush()
    proj.store.maybe_optimize()  # what the indexer does at the end of a sync
    t_all = time.perf_counter() - t0
    return {
        "base": base,
        "added": len(new_ids),
        "copies_per_image": c,
        "noise_sigma": round(sigma, 5),
        "copy_cosine_target": round(target, 4),
        "copies_s": round(t_files, 1),
        "rows_s": round(t_rows, 1),
        "grow_s": round(t_all, 1),
    }
