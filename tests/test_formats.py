"""On-disk formats: a project written by the previous release opens (migrated in
place), one written by a newer release is refused with the version it needs.

The old project is built from literal files, as release 0.1 (format 1) writes them:
project.json without identity or dim, the catalog's schema 1, and an Edge shard
whose points carry a ``{path, source, key}`` payload."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw

from _helpers import make_folder
from _integrity import assert_consistent

# Catalog schema 1, as release 0.1 creates it.
V1_CATALOG = """
CREATE TABLE files(
    key       TEXT PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    content   TEXT,
    status    TEXT NOT NULL
              CHECK (status IN ('pending', 'embedded', 'failed', 'missing')),
    model     TEXT,
    error_kind    TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL,
    prior_status  TEXT
);
CREATE INDEX files_content ON files(content, model);
CREATE INDEX files_status ON files(status);
CREATE INDEX files_path ON files(path);
CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE tags(id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (id, tag));
CREATE INDEX tags_tag ON tags(tag);
CREATE TABLE collections(name TEXT PRIMARY KEY, info TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE collection_items(
    name  TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE ON UPDATE CASCADE,
    rank  INTEGER NOT NULL,
    id    TEXT NOT NULL,
    score REAL,
    extra TEXT,
    PRIMARY KEY (name, rank)
);
CREATE TABLE file_journal(
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    op         TEXT NOT NULL CHECK (op IN ('copy', 'move', 'delete')),
    id         TEXT,
    src        TEXT NOT NULL,
    dst        TEXT,
    tmp        TEXT,
    overwrite  INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
PRAGMA user_version = 1;
"""

_NAMESPACE = uuid.UUID("6f1c3c52-4f0e-4a8e-9a59-2f7c0f3e8d11")


def _identity(model_dir: str) -> str:
    """Release 0.1's identity of a model folder: name@sha256(weights)[:12]."""
    weights = sorted(f for f in os.listdir(model_dir) if f.endswith(".safetensors"))[0]
    digest = hashlib.sha256(Path(model_dir, weights).read_bytes()).hexdigest()[:12]
    return f"{os.path.basename(model_dir.rstrip(os.sep))}@{digest}"


def _slug(identity: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9]+", "-", identity).strip("-")[:40]
    return f"{readable}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"


def write_release_01_project(home: Path, name: str, model: str, images: Path) -> dict[str, str]:
    """A project as release 0.1 leaves it after indexing ``images``; returns key -> id."""
    import qdrant_edge as qe

    folder = home / name
    folder.mkdir(parents=True)
    cfg = {
        "version": 1,
        "name": name,
        "sources": [{"kind": "folder", "label": "images", "root": str(images)}],
        "model": model,
        "enabled": False,
        "schedule": None,
        "qdrant_url": None,
        "created_at": time.time(),
    }
    (folder / "project.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))
    identity = _identity(model)
    files = sorted(p for p in images.rglob("*") if p.is_file())
    keys = {f"images/{p.relative_to(images).as_posix()}": p for p in files}
    ids = {k: str(uuid.uuid5(_NAMESPACE, f"{name}\x00{k}")) for k in keys}
    db = sqlite3.connect(folder / "catalog.sqlite")
    db.executescript(V1_CATALOG)
    now = time.time()
    db.executemany(
        "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status, model,"
        " updated_at) VALUES (?, ?, ?, 'images', ?, ?, ?, 'embedded', ?, ?)",
        [
            (k, ids[k], str(p), p.stat().st_size, p.stat().st_mtime_ns, f"c{k}", identity, now)
            for k, p in keys.items()
        ],
    )
    meta = {"first_pass_done": True, "dirty": False, "last_sync": now, "config": cfg}
    db.executemany(
        "INSERT INTO meta(k, v) VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()]
    )
    db.commit()
    db.close()

    shard = folder / "vectors" / _slug(identity)
    shard.mkdir(parents=True)
    config = qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=32, distance=qe.Distance.Cosine),
        quantization_config=qe.ScalarQuantizationConfig(
            qe.ScalarType.Int8, quantile=0.99, always_ram=True
        ),
        hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000),
    )
    s = qe.EdgeShard.create(str(shard), config)
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(len(keys), 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    s.update(
        qe.UpdateOperation.upsert_points(
            [
                qe.Point(ids[k], v.tolist(), {"path": str(p), "source": "images", "key": k})
                for (k, p), v in zip(keys.items(), vecs, strict=True)
            ]
        )
    )
    s.flush()
    s.close()
    return ids


def test_a_release_01_project_opens_and_works_after_migration(
    home: Path, tmp_path: Path, tiny_model: str
) -> None:
    images = tmp_path / "images"
    make_folder(images, 8)
    ids = write_release_01_project(home, "old", tiny_model, images)

    # read_status reads it as it is, without migrating (it takes no lock).
    st = aw.read_status("old", home)
    assert (st.done, st.total, st.state) == (8, 8, "disabled")
    assert json.loads((home / "old" / "project.json").read_text())["version"] == 1

    with aw.Project.open("old", home=home) as proj:
        cfg = json.loads((proj.folder / "project.json").read_text())
        assert cfg["version"] == 3 and cfg["dim"] == 32 and cfg["video_fps"] == 1.0
        assert cfg["identity"] == _identity(tiny_model) == proj.model_identity
        assert proj.status.done == 8
        some = list(ids.values())[:2]
        sim = proj.similar(ids=some, limit=5)
        assert len(sim) == 5 and not set(sim.ids) & set(some)
        assert len(proj.diverse(n=4)) == 4
        sim.tag("kept").save("mine")
        # A move updates the catalog only: the stale payload in the shard is ignored.
        moved = proj.collections["mine"].head(1)
        pid = moved.ids[0]
        moved.move_to(tmp_path / "elsewhere")
        assert proj.catalog.records([pid])[pid].path.startswith(str(tmp_path / "elsewhere"))
        assert (
            proj.tagged("kept")
            .df.set_index("id")
            .loc[pid, "path"]
            .startswith(str(tmp_path / "elsewhere"))
        )
        s = proj.update()
        assert (s.added, s.deleted, s.embedded, s.changed) == (0, 0, 0, 0)
        assert_consistent(proj, check_files=True)
    with aw.Project.open("old", home=home) as proj:  # and it reopens as format 3
        assert proj.status.done == 8 and len(proj.collections["mine"]) == 5


def test_a_project_json_of_a_newer_release_is_refused(home: Path, project_factory, images) -> None:
    proj = project_factory("p", images)
    proj.close()
    path = home / "p" / "project.json"
    cfg = json.loads(path.read_text())
    cfg["version"] = 4
    path.write_text(json.dumps(cfg))
    before = path.read_bytes()
    with pytest.raises(aw.ProjectFormatTooNew, match="format version 4") as ei:
        aw.Project.open("p", home=home)
    assert aw.__version__ in str(ei.value) and "Upgrade" in str(ei.value)
    with pytest.raises(aw.ProjectFormatTooNew):
        aw.read_status("p", home)
    assert path.read_bytes() == before and not (home / "p" / "lock").read_text()


def test_a_catalog_of_a_newer_release_is_refused(home: Path, project_factory, images) -> None:
    proj = project_factory("p", images)
    proj.close()
    db = sqlite3.connect(home / "p" / "catalog.sqlite")
    db.execute("PRAGMA user_version = 9")
    db.close()
    with pytest.raises(aw.ProjectFormatTooNew, match="catalog of format version 9"):
        aw.Project.open("p", home=home)
    with pytest.raises(aw.ProjectFormatTooNew):
        aw.read_status("p", home)
    db = sqlite3.connect(home / "p" / "catalog.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 9  # untouched
    db.close()
