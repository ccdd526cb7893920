"""End-to-end behaviour of a sync (scan, plan, decode, embed, commit) under the
faults real users meet: unmounted shares, full disks, FIFOs and devices, huge
files, corrupt overwrites, files moved inside the sources."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

import aisearch_widgets as aw
from aisearch_widgets import indexer
from aisearch_widgets.catalog import Catalog

import _integrity
from _helpers import draw, touch_later, wait_for


def _ids(proj: aw.Project) -> dict[str, str]:
    """path -> id of every row."""
    return dict(proj.catalog.query("SELECT path, id FROM files"))


def _statuses(proj: aw.Project) -> dict[str, str]:
    return dict(proj.catalog.query("SELECT path, status FROM files"))


def _tmp_files(proj: aw.Project) -> list[Path]:
    return [p for p in proj.folder.rglob("*") if p.name.endswith(".tmp")]


# -- a source that is suddenly empty or gone ---------------------------------------------
@pytest.mark.parametrize("how", ["emptied", "vanished"])
def test_unmounted_root_marks_missing_keeps_tags_and_comes_back(
    project_factory, images: Path, tmp_path: Path, how: str
) -> None:
    proj = project_factory("p", images)
    proj.update()
    ids = _ids(proj)
    proj.catalog.add_tags(list(ids.values()), ["labelled"])
    away = tmp_path / "unplugged"
    os.rename(images, away)
    if how == "emptied":
        images.mkdir()  # an empty mount point

    s = proj.update()
    assert s.deleted == 0 and s.missing == 12
    st = proj.status
    assert (st.missing, st.done, st.total) == (12, 0, 12)
    assert proj.tags == {"labelled": 12}
    assert proj.store.count() == 12  # vectors kept
    fails = proj.failures
    assert set(fails["kind"]) == {"missing"} and len(fails) == 12
    msg = fails["message"].iloc[0]
    assert "prune_missing=True" in msg and ("gone" in msg or "empty" in msg)
    assert _integrity.problems(proj) == []

    if how == "emptied":
        images.rmdir()
    os.rename(away, images)
    s = proj.update()
    assert s.embedded == 0 and s.reused == 0 and s.restored == 12
    st = proj.status
    assert (st.missing, st.done, st.failed) == (0, 12, 0)
    assert _ids(proj) == ids and proj.tags == {"labelled": 12}
    assert _integrity.problems(proj) == []


def test_subtree_gone_wholesale_is_missing_but_a_single_deletion_is_real(
    project_factory, images: Path, tmp_path: Path
) -> None:
    proj = project_factory("p", images)
    proj.update()
    in_sub = {p for p in _ids(proj) if "/sub/" in p}
    assert len(in_sub) == 3
    shutil.move(images / "sub", tmp_path / "sub-away")
    (images / "red_000.jpg").unlink()  # its folder still lists other images

    s = proj.update()
    assert s.deleted == 1 and s.missing == 3
    assert {p for p, st in _statuses(proj).items() if st == "missing"} == in_sub
    assert str(images / "red_000.jpg") not in _ids(proj)
    assert _integrity.problems(proj) == []


def test_a_file_gone_from_a_folder_that_holds_other_files_is_deleted(
    project_factory, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    draw(root / "keep" / "a.jpg")
    (root / "keep" / "notes.txt").write_text("not an image, but content")
    draw(root / "b.jpg", seed=1)
    proj = project_factory("p", root)
    proj.update()
    (root / "keep" / "a.jpg").unlink()
    s = proj.update()
    assert s.deleted == 1 and s.missing == 0


def test_prune_missing_is_explicit_and_a_schedule_never_prunes(
    project_factory, images: Path, tmp_path: Path
) -> None:
    proj = project_factory("p", images)
    proj.update()
    os.rename(images, tmp_path / "away")
    images.mkdir()

    # A scheduled run (no request) only marks them missing.
    proj.runner.last_summary = None
    proj.runner.set_schedule(0.05)  # due at once
    wait_for(lambda: proj.runner.last_summary is not None, 60, "the scheduled run")
    proj.runner.set_schedule(None)
    assert proj.status.missing == 12 and proj.store.count() == 12
    assert proj.update().deleted == 0

    s = proj.update(prune_missing=True)
    assert s.deleted == 12
    assert proj.status.total == 0 and proj.store.count() == 0
    assert _integrity.problems(proj) == []


# -- catalogs written by earlier versions -------------------------------------------------
_OLD_FILES_TABLE = """
CREATE TABLE files(
    key       TEXT PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    path      TEXT NOT NULL,
    source    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    content   TEXT,
    status    TEXT NOT NULL CHECK (status IN ('pending', 'embedded', 'failed')),
    model     TEXT,
    error_kind    TEXT,
    error_message TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX files_content ON files(content, model);
CREATE INDEX files_status ON files(status);
CREATE INDEX files_path ON files(path);
CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE tags(id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (id, tag));
"""


def test_catalog_of_the_previous_schema_opens_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    db = sqlite3.connect(path)
    db.executescript(_OLD_FILES_TABLE)
    db.execute(
        "INSERT INTO files VALUES ('d/a.jpg', 'id-a', '/d/a.jpg', 'd', 5, 7, 'c', 'embedded', "
        "'m', NULL, NULL, 1.0)"
    )
    db.execute("INSERT INTO tags VALUES ('id-a', 'keep')")
    db.commit()
    db.close()

    cat = Catalog(str(path))
    try:
        assert cat.query("PRAGMA user_version")[0][0] >= 1
        assert cat.known()["d/a.jpg"].status == "embedded"
        cat.mark_missing(["d/a.jpg"])  # the old CHECK would refuse this status
        assert cat.counts("m")["missing"] == 1
        assert cat.all_tags() == {"keep": 1}
        cat.restore(["d/a.jpg"])
        assert cat.counts("m")["embedded"] == 1
        names = {r[0] for r in cat.query("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"files_content", "files_path"} <= names
    finally:
        cat.close()
    Catalog(str(path)).close()  # opening a migrated catalog again changes nothing


# -- full disk ----------------------------------------------------------------------------
def test_full_disk_stops_cleanly_and_resumes(
    project_factory, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("p", images, batch_size=4)
    calls = {"n": 0}

    def little_space(path: str) -> int:
        calls["n"] += 1
        return 10 * 2**20 if calls["n"] > 2 else 2**40  # runs out after the first batch

    monkeypatch.setattr(indexer, "_free_bytes", little_space)
    with pytest.raises(aw.AISearchError, match=r"disk full at .*MB free, need ~\d+ MB"):
        proj.update()
    err = proj.status.error
    assert err is not None and "disk full at" in err and "proj.update()" in err
    with pytest.raises(aw.AISearchError, match="disk full"):
        proj.wait(progress=False)
    assert 0 < proj.status.done < 12
    assert _tmp_files(proj) == []
    assert _integrity.problems(proj) == []

    monkeypatch.setattr(indexer, "_free_bytes", lambda path: 2**40)
    proj.update()
    st = proj.status
    assert (st.done, st.total, st.failed, st.error) == (12, 12, 0, None)
    assert _integrity.problems(proj) == []


def test_disk_full_while_writing_a_thumbnail_leaves_no_tmp_file(
    project_factory, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("p", images)
    real_replace = os.replace

    def no_space(src, dst, *a, **kw):
        if str(src).endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(indexer.os, "replace", no_space)
    with pytest.raises(aw.AISearchError, match="disk full"):
        proj.update()
    assert _tmp_files(proj) == []
    assert proj.status.failed == 0  # a full disk is not the files' fault
    monkeypatch.setattr(indexer.os, "replace", real_replace)
    proj.update()
    assert proj.status.done == 12 and _integrity.problems(proj) == []


def test_temp_files_of_a_killed_run_are_swept(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    proj.update()
    stale = proj.folder / "thumbs" / "ab" / "abc.jpg.999999.1.tmp"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half a thumbnail")
    proj.catalog.set_meta(dirty=True)  # what a run killed mid-batch leaves
    draw(images / "late.jpg", "yellow", seed=40)
    proj.update()
    assert _tmp_files(proj) == [] and proj.status.done == 13


# -- files that are not regular files, or too large ---------------------------------------
def _update_within(proj: aw.Project, seconds: float = 120) -> dict:
    return proj.update_async().result(timeout=seconds).as_dict()


def test_fifo_named_png_is_not_a_file_and_does_not_hang(project_factory, images: Path) -> None:
    os.mkfifo(images / "x.png")
    proj = project_factory("p", images)
    _update_within(proj)
    fails = proj.failures.set_index("path")
    assert fails.loc[str(images / "x.png"), "kind"] == "not_a_file"
    assert proj.status.done == 12
    with pytest.raises(aw.AISearchError, match="not a regular file"):
        proj.similar(str(images / "x.png"))


def test_device_and_huge_sparse_file_fail_before_reading(project_factory, images: Path) -> None:
    os.symlink("/dev/zero", images / "zero.jpg")
    with open(images / "huge.jpg", "wb") as fh:
        fh.truncate(3 * 2**30)  # sparse: costs nothing on disk
    proj = project_factory("p", images)
    _update_within(proj)
    kinds = proj.failures.set_index("path")["kind"]
    assert kinds[str(images / "zero.jpg")] == "not_a_file"
    assert kinds[str(images / "huge.jpg")] == "too_large"
    assert proj.status.done == 12
    t0 = time.monotonic()
    with pytest.raises(aw.AISearchError):
        proj.similar("/dev/zero")
    assert time.monotonic() - t0 < 30  # generous: it used to read until out of memory


# -- stale vectors, moved files, retries -------------------------------------------------
def test_corrupt_overwrite_removes_the_old_vector_from_search(
    project_factory, images: Path
) -> None:
    proj = project_factory("p", images)
    proj.update()
    target = images / "red_000.jpg"
    pid = _ids(proj)[str(target)]
    assert pid in proj.search("a red circle", limit=100).ids
    target.write_bytes(b"\xff\xd8\xff\xe0 garbage, not a jpeg any more")
    touch_later(target)
    proj.update()
    fails = proj.failures.set_index("path")
    assert "removed from search" in fails.loc[str(target), "message"]
    assert pid not in proj.search("a red circle", limit=100).ids
    assert proj.store.count() == proj.status.done == 11
    assert _integrity.problems(proj) == []


def test_failed_file_fixed_in_place_is_embedded_by_a_plain_update(
    project_factory, images: Path
) -> None:
    target = images / "red_000.jpg"
    good = target.read_bytes()
    target.write_bytes(good[: len(good) // 3])  # a partial copy
    proj = project_factory("p", images)
    proj.update()
    assert proj.failures["path"].tolist() == [str(target)]
    target.write_bytes(good)
    touch_later(target)
    proj.update()
    assert proj.status.failed == 0 and proj.status.done == 12
    assert _integrity.problems(proj) == []


def test_moved_then_edited_file_keeps_one_id_and_one_vector(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    proj.update()
    old = images / "red_000.jpg"
    new = images / "sub" / "moved.jpg"
    pid = _ids(proj)[str(old)]
    os.rename(old, new)
    st = new.stat()
    label = proj.sources[0].label
    proj.catalog.move_file(pid, f"{label}/sub/moved.jpg", str(new), label, st.st_size,
                           st.st_mtime_ns)  # fmt: skip
    draw(new, "yellow", seed=77)  # edit the moved file
    touch_later(new)
    draw(old, "blue", seed=78)  # and a new file where the old one was: its id is taken

    proj.update()
    ids = _ids(proj)
    assert ids[str(new)] == pid
    assert ids[str(old)] != pid
    assert len(set(ids.values())) == len(ids) == 13
    assert proj.store.count() == proj.status.done == 13
    assert proj.catalog.records([pid])[pid].path == str(new)
    assert _integrity.problems(proj) == []


# -- query plans of the per-file lookups ---------------------------------------------------
def _plan(cat: Catalog, sql: str) -> str:
    return " | ".join(r[-1] for r in cat.query(f"EXPLAIN QUERY PLAN {sql}"))


def test_per_file_lookups_use_an_index(tmp_path: Path) -> None:
    cat = Catalog(str(tmp_path / "c.sqlite"))
    try:
        with cat.transaction() as db:
            db.executemany(
                "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status, "
                "model, updated_at) VALUES (?, ?, ?, 's', 1, 1, ?, 'embedded', 'm', 0)",
                [(f"s/{i}", f"id{i}", f"/p/{i}", f"c{i}") for i in range(2000)],
            )
        seen: list[str] = []
        cat._db.set_trace_callback(seen.append)  # the SQL as run, parameters bound
        cat.find_by_content("c5", "m")
        cat.ids_of_keys(["s/1", "s/2"])
        cat.ids_by_path(["/p/1"])
        cat.records(["id1", "id2"])
        cat._db.set_trace_callback(None)
        plans = {sql: _plan(cat, sql) for sql in seen if sql.lstrip().startswith("SELECT")}
        assert len(plans) == 5  # ids_of_keys looks in files and videos
        for sql, plan in plans.items():
            assert "USING" in plan and "SCAN files" not in plan, (sql, plan)
        content_plan = next(p for s, p in plans.items() if "content =" in s)
        assert "files_content" in content_plan, content_plan
    finally:
        cat.close()


def test_project_settings_reach_the_indexer(project_factory, images: Path) -> None:
    """``max_file_bytes`` given to the Project caps every read of its sync."""
    proj = project_factory("capped", images, max_file_bytes=100)
    proj.update()
    kinds = set(proj.failures["kind"])
    assert kinds == {"too_large"} and proj.status.done == 0


def test_a_sync_reads_the_settings_once(project_factory, images: Path, monkeypatch) -> None:
    """One snapshot of sources and frame rate per sync: a setting read twice could
    change between the reads."""
    from aisearch_widgets._config import ProjectConfig

    proj = project_factory("once", images)
    reads = {"snapshot": 0, "sources": 0, "video_fps": 0}
    snapshot, sources, fps = ProjectConfig.snapshot, ProjectConfig.sources, ProjectConfig.video_fps

    def counted(name: str, get):
        def read(cfg):
            reads[name] += 1
            return get(cfg)

        return read

    monkeypatch.setattr(ProjectConfig, "snapshot", counted("snapshot", snapshot))
    monkeypatch.setattr(ProjectConfig, "sources", property(counted("sources", sources.fget)))
    monkeypatch.setattr(ProjectConfig, "video_fps", property(counted("video_fps", fps.fget)))
    proj.update()
    assert reads == {"snapshot": 1, "sources": 1, "video_fps": 1}
    proj.update()
    assert reads == {"snapshot": 2, "sources": 2, "video_fps": 2}
