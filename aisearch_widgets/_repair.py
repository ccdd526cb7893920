"""Repair a damaged project home (``Project.repair`` / ``aisearch repair NAME``).

Damaged files are moved aside as ``<name>.corrupt-<time>``, never deleted; what
SQLite can still read from a damaged catalog (tags, saved collections, the copy of
``project.json``) is carried over; the rest is rebuilt by rescanning the sources and
re-embedding. Lines of the report that start with ``WARNING`` say what was lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from ._config import Layout, ProjectConfig
from ._errors import ProjectCorrupt
from ._home import config_problem, read_config
from .catalog import Catalog, open_catalog


def repair_files(folder: Path, name: str, model: str | None) -> list[str]:
    """Check and repair catalog, config and shard of the project in ``folder`` (whose
    lock the caller holds). Returns the report lines."""
    report: list[str] = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    cat_path = Layout(folder).catalog
    salvaged_cfg = None
    try:
        cat = open_catalog(cat_path, name)
    except ProjectCorrupt:
        cat, salvaged_cfg = _rebuild_catalog(cat_path, stamp, report)
    try:
        cfg = _repair_config(folder, name, model, cat, salvaged_cfg, stamp, report)
        cat.set_meta(config=cfg)
        if not cfg.get("qdrant_url"):
            _repair_shard(folder, name, cfg, stamp, report)
    finally:
        cat.close()
    if not report:
        report.append(f"{name}: project.json, catalog and vector shard are readable")
    return report


def _aside(path: Path, stamp: str) -> Path:
    dest = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, dest)
    return dest


def _rebuild_catalog(
    path: Path, stamp: str, report: list[str]
) -> tuple[Catalog, dict[str, Any] | None]:
    kept = _aside(path, stamp)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{kept}{suffix}"))
    report.append(f"catalog: damaged, moved aside to {kept}; rebuilt by rescanning the sources")
    got = _salvage(kept)
    cat = Catalog(str(path))
    with cat.transaction() as db:
        if got["tags"] is not None:
            db.executemany("INSERT OR IGNORE INTO tags(id, tag) VALUES (?, ?)", got["tags"])
        if got["labels"]:
            # With their sequence numbers: the order labels were written in, which a
            # prediction set's place (after_seq) refers to.
            db.executemany(
                "INSERT INTO labels(seq, id, label_set, label, x, y, w, h, confidence, source, "
                "author, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                got["labels"],
            )
        if got["prediction_sets"]:
            db.executemany(
                "INSERT OR IGNORE INTO prediction_sets(label_set, n, classes, id_width, ids, "
                "label, confidence, source, time, after_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                got["prediction_sets"],
            )
            # Labels written from now on come after every salvaged set.
            top = max(r[-1] or 0 for r in got["prediction_sets"])
            db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'labels'", (top,))
            db.execute(
                "INSERT INTO sqlite_sequence(name, seq) SELECT 'labels', ? WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = 'labels')",
                (top,),
            )
        if got["collections"] is not None:
            db.executemany(
                "INSERT OR IGNORE INTO collections(name, info, created_at) VALUES (?, ?, ?)",
                got["collections"],
            )
            names = {r[0] for r in got["collections"]}
            db.executemany(
                "INSERT OR IGNORE INTO collection_items(name, rank, id, score, extra) "
                "VALUES (?, ?, ?, ?, ?)",
                [r for r in (got["items"] or []) if r[0] in names],
            )
        # Trashed files keep their records here: without them no undo is possible.
        db.executemany(
            "INSERT OR IGNORE INTO trash(id, path, trash_path, deleted_at, kind, record, tags, "
            "model, vector_ids, vectors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            got["trash"] or [],
        )
    cat.set_meta(dirty=True)  # the next sync also drops vectors no row claims
    for what, rows in (("tags", got["tags"]), ("saved collections", got["collections"])):
        if rows is None:
            report.append(
                f"WARNING: the {what} could not be read from the damaged catalog and are "
                f"LOST in the rebuilt one; the old file is kept at {kept}"
            )
        else:
            report.append(f"catalog: salvaged {len(rows)} {what} rows")
    for what in ("labels", "prediction_sets", "trash"):
        if got[what]:
            report.append(f"catalog: salvaged {len(got[what])} {what} rows")
    cfg = got["config"]
    return cat, cfg if config_problem(cfg) is None else None


def _salvage(db_path: Path) -> dict[str, Any]:
    """Rows SQLite can still read from a damaged catalog, per table (None: unreadable).
    Read from a temporary copy, so the file kept aside stays as it was."""
    out: dict[str, Any] = {
        "tags": None,
        "collections": None,
        "items": None,
        "trash": None,
        "labels": None,
        "prediction_sets": None,
        "config": None,
    }
    with tempfile.TemporaryDirectory() as tmp:
        copy = Layout(Path(tmp)).catalog
        shutil.copyfile(db_path, copy)
        if Path(f"{db_path}-wal").exists():
            shutil.copyfile(f"{db_path}-wal", f"{copy}-wal")
        try:
            con = sqlite3.connect(copy)
        except sqlite3.Error:
            return out
        try:
            queries = {
                "tags": "SELECT id, tag FROM tags",
                "collections": "SELECT name, info, created_at FROM collections",
                "items": "SELECT name, rank, id, score, extra FROM collection_items",
                "trash": "SELECT id, path, trash_path, deleted_at, kind, record, tags, model, "
                "vector_ids, vectors FROM trash",
                "labels": "SELECT seq, id, label_set, label, x, y, w, h, confidence, source, "
                "author, time FROM labels ORDER BY seq",
                "prediction_sets": "SELECT label_set, n, classes, id_width, ids, label, "
                "confidence, source, time, after_seq FROM prediction_sets",
            }
            for key, sql in queries.items():
                with contextlib.suppress(sqlite3.Error):
                    out[key] = con.execute(sql).fetchall()
            with contextlib.suppress(sqlite3.Error, ValueError, TypeError):
                row = con.execute("SELECT v FROM meta WHERE k = 'config'").fetchone()
                out["config"] = json.loads(row[0]) if row else None
        finally:
            con.close()
    return out


def _repair_config(
    folder: Path,
    name: str,
    model: str | None,
    cat: Catalog,
    salvaged: dict[str, Any] | None,
    stamp: str,
    report: list[str],
) -> dict[str, Any]:
    path = Layout(folder).config
    try:
        cfg = read_config(path, name)
    except ProjectCorrupt:
        pass
    else:
        if model is not None and model != cfg["model"]:
            raise ProjectCorrupt(
                f"{path} is readable and names model {cfg['model']!r}; repair does not "
                "change a project's model.",
                str(path),
            )
        return cfg
    cfg = salvaged or cat.get_meta("config")
    how = "the copy kept in the catalog"
    if config_problem(cfg) is not None:
        cfg = ProjectConfig.skeleton(name, model, _sources_from_catalog(cat))
        how = "the sources the catalog lists"
        if model is None:
            models = [r[0] for r in cat.query("SELECT DISTINCT model FROM files") if r[0]]
            example = {**cfg, "model": "<the model spec the project was created with>"}
            raise ProjectCorrupt(
                f"{path} is damaged and the catalog keeps no copy of it. Pass the model it "
                f"was created with (Project.repair({name!r}, model=...) or `aisearch repair "
                f"{name} --model ...`; its vectors are of {', '.join(models) or 'no model yet'}), "
                f"or write the file yourself: {json.dumps(example)}",
                str(path),
            )
    elif model is not None:
        cfg["model"] = model
    if model is not None:
        cfg.pop("identity", None)  # recomputed below for the model given
    config = ProjectConfig(Layout(folder), name, cfg)
    config.upgrade()
    if path.exists():
        report.append(f"project.json: damaged, moved aside to {_aside(path, stamp)}")
    config.save()
    report.append(f"project.json: rebuilt from {how}")
    return cfg


def _sources_from_catalog(cat: Catalog) -> list[dict[str, Any]]:
    """Folder roots (and listed files) recovered from the inventory: a row's path is
    its source root joined with the key minus the source label."""
    roots: dict[str, str] = {}
    files: list[str] = []
    for label, key, path in cat.query(
        "SELECT source, key, path FROM files WHERE video_key IS NULL "
        "UNION ALL SELECT source, key, path FROM videos"  # a video once, not per frame
    ):
        if label == "files":
            files.append(path)
            continue
        rel = key[len(label) + 1 :]
        if label not in roots and path.endswith(rel):
            roots[label] = path[: len(path) - len(rel)].rstrip(os.sep) or os.sep
    out: list[dict[str, Any]] = [
        {"kind": "folder", "label": label, "root": root} for label, root in sorted(roots.items())
    ]
    if files:
        out.append({"kind": "files", "label": "files", "paths": sorted(files)})
    return out


def _repair_shard(
    folder: Path, name: str, cfg: dict[str, Any], stamp: str, report: list[str]
) -> None:
    from .store import open_store, shard_folder

    ProjectConfig(Layout(folder), name, cfg).upgrade()  # an older one: identity computed once
    path = shard_folder(folder, cfg["identity"])
    if not (path.is_dir() and any(path.iterdir())):
        return
    try:
        open_store(name, folder, cfg["identity"], None).close()
    except ProjectCorrupt:
        kept = _aside(path, stamp)
        report.append(
            f"vector shard: damaged, moved aside to {kept}; every image is re-embedded "
            "(tags and collections are kept)"
        )


def repair_project(opener: Any, home: Path, name: str, model: str | None, sync: bool) -> list[str]:
    """``Project.repair``: repair the files under the project's lock, then (``sync``)
    open it with ``opener(name, home=...)`` and update it."""
    from ._errors import ProjectNotFound
    from ._home import HomeLock

    folder = Layout.of(home, name).folder
    if not folder.is_dir():
        raise ProjectNotFound(f"No project {name!r} in {home}.")
    lock = HomeLock(folder, name)
    lock.acquire()
    try:
        report = repair_files(folder, name, model)
    finally:
        lock.release()
    if sync:
        with opener(name, home=home) as proj:
            summary = proj.update()
            st = proj.status
            report.append(
                f"synced: {st.done}/{st.total} embedded, {st.failed} failed "
                f"({summary.embedded} embedded now)"
            )
    return report
