"""The trash: ``delete()`` moves files there with their tags and vectors, ``restore()``
puts the same bytes back without embedding them again, ``empty_trash`` removes them
for good; destructive actions re-check every file on disk right before acting."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets.catalog import SCHEMA_VERSION, Catalog

from _helpers import damage_files_table, draw, touch_later
from _integrity import assert_consistent


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def ready(project_factory, images: Path) -> aw.Project:
    proj = project_factory("p", images)
    proj.update()
    return proj


def test_delete_then_restore_brings_back_bytes_tags_and_vectors(ready: aw.Project) -> None:
    res = ready.search("x", limit=3).tag("keep")
    paths = res.paths
    digests = {p: _digest(p) for p in paths}
    vectors = ready.store.retrieve(res.ids)
    rep = res.delete(confirm=True)
    assert rep["status"].tolist() == ["trashed"] * 3
    assert not any(os.path.exists(p) for p in paths)
    assert all(Path(t).is_relative_to(ready.folder / "trash") for t in rep["target"])

    trash = ready.trash
    assert len(trash) == 3
    df = trash.df
    assert {"path", "deleted_at", "trash_path", "tags"} <= set(df.columns)
    assert sorted(df["path"]) == sorted(paths) and all(t == ["keep"] for t in df["tags"])
    assert all(_digest(t) == digests[p] for p, t in zip(df["path"], df["trash_path"], strict=True))
    # Out of every search, and a sync does not bring them back nor forget them.
    assert not set(res.ids) & set(ready.search("x", limit=100).ids)
    assert ready.store.count() == 9 and "keep" not in ready.tags
    s = ready.update()
    assert (s.added, s.deleted) == (0, 0)
    assert_consistent(ready, check_files=True)
    assert len(ready.trash) == 3

    back = ready.trash.restore()
    assert back["status"].tolist() == ["restored"] * 3
    assert sorted(back["target"]) == sorted(paths)
    assert all(_digest(p) == d for p, d in digests.items())
    assert len(ready.trash) == 0 and ready.tags == {"keep": 3}
    after = ready.store.retrieve(res.ids)
    for pid, vec in vectors.items():
        np.testing.assert_allclose(after[pid], vec, atol=1e-6)
    s = ready.update()  # same stat as recorded: nothing is embedded again
    assert (s.added, s.deleted, s.embedded) == (0, 0, 0)
    assert set(res.ids) <= set(ready.search("x", limit=100).ids)
    assert_consistent(ready, check_files=True)
    assert not any((ready.folder / "trash").iterdir())


def test_restore_beside_a_file_that_took_the_name(ready: aw.Project) -> None:
    res = ready.search("x", limit=1)
    (path,) = res.paths
    before = _digest(path)
    res.delete(confirm=True)
    draw(Path(path), "blue", seed=99)  # a new picture under the old name
    newcomer = _digest(path)
    ready.update()
    rep = ready.restore(res.ids)
    assert rep["status"].tolist() == ["renamed"]
    stem, ext = os.path.splitext(path)
    assert rep["target"][0] == f"{stem} (1){ext}" and "restored as" in rep["message"][0]
    assert _digest(path) == newcomer and _digest(rep["target"][0]) == before
    # Both are in the project, each with its own id; nothing is embedded again.
    rows = dict(ready.catalog.query("SELECT path, id FROM files"))
    assert rows[path] != rows[rep["target"][0]]
    assert ready.update().embedded == 0
    assert_consistent(ready, check_files=True)


def test_trash_survives_reopening(project_factory, images: Path, home: Path) -> None:
    proj = project_factory("p", images)
    proj.update()
    res = proj.search("x", limit=2)
    paths = res.paths
    res.delete(confirm=True)
    proj.close()
    with aw.Project.open("p", home=home) as again:
        assert sorted(again.trash.df["path"]) == sorted(paths)
        assert again.trash.select(res.ids[:1]).restore()["status"].tolist() == ["restored"]
        assert os.path.exists(paths[0]) and len(again.trash) == 1
        assert_consistent(again, check_files=True)


def test_empty_trash_by_age(ready: aw.Project) -> None:
    res = ready.search("x", limit=2)
    rep = res.delete(confirm=True)
    assert ready.empty_trash() == 0  # "30d" by default: they are seconds old
    assert ready.empty_trash(older_than="0s") == 2
    assert len(ready.trash) == 0
    assert not any(os.path.exists(t) for t in rep["target"])
    assert ready.trash.restore().empty
    with pytest.raises(aw.AISearchError, match="older_than"):
        ready.empty_trash(older_than="soon")
    assert ready.empty_trash(None) == 0


def test_restore_refuses_vectors_of_another_model(ready: aw.Project) -> None:
    res = ready.search("x", limit=1)
    res.delete(confirm=True)
    with ready.catalog.transaction() as db:
        db.execute("UPDATE trash SET model = 'some-other-model'")
    rep = ready.trash.restore()
    assert rep["status"].tolist() == ["skipped"] and "some-other-model" in rep["message"][0]
    assert len(ready.trash) == 1 and not os.path.exists(ready.trash.df["path"][0])


def test_delete_skips_a_file_changed_since_the_sync(ready: aw.Project) -> None:
    res = ready.search("x", limit=2)
    changed, touched = res.paths
    draw(Path(changed), "green", size=(90, 70), seed=7)  # another picture, no sync
    touch_later(Path(touched))  # a newer date, the same bytes: the hash says so
    rep = res.delete(confirm=True).set_index("source")
    assert rep.loc[changed, "status"] == "skipped"
    assert "changed on disk since the last sync" in rep.loc[changed, "message"]
    assert "run update()" in rep.loc[changed, "message"]
    assert rep.loc[touched, "status"] == "trashed"
    assert os.path.exists(changed)


def test_move_skips_a_file_changed_since_the_sync(ready: aw.Project, tmp_path: Path) -> None:
    res = ready.search("x", limit=1)
    (path,) = res.paths
    draw(Path(path), "green", size=(90, 70), seed=7)
    rep = res.move_to(tmp_path / "out")
    assert rep["status"].tolist() == ["skipped"] and "changed on disk" in rep["message"][0]
    assert os.path.exists(path)


# -- duplicates clean-up (issue 20, data-loss items 1-3) ------------------------------
def test_stale_duplicate_group_never_deletes_the_last_copy(project_factory, tmp_path) -> None:
    """Two byte copies indexed; the one kept is overwritten with another picture and
    no sync runs: deleting the other would leave the picture nowhere."""
    root = tmp_path / "dups"
    a = draw(root / "a.png", "red", seed=1)
    shutil.copy2(a, root / "b.png")
    draw(root / "other.png", "blue", seed=5)
    proj = project_factory("dups", root)
    proj.update()
    dups = proj.duplicates(progress=False)
    assert len(dups) == 2
    picture = _digest(a)
    best = dups.df[dups.df["best"]]["path"].iloc[0]
    draw(Path(best), "green", size=(80, 60), seed=3)  # the kept copy is another picture now
    rest = dups.keep_best()
    rep = rest.delete(confirm=True)
    assert picture in {_digest(p) for p in root.iterdir() if p.is_file()}
    assert rep["status"].tolist() == ["skipped"]
    assert "the copy kept" in rep["message"][0] and "run update()" in rep["message"][0]
    assert rest.df["kept_id"].tolist() == dups.df[dups.df["best"]]["id"].tolist()


def test_symlinks_to_one_original_never_delete_the_original(project_factory, tmp_path) -> None:
    """A folder of links to one original: whichever is kept, the real file stays and
    every link still resolves."""
    root = tmp_path / "links"
    orig = draw(root / "original.png", "red", seed=1)
    for i in range(6):
        os.symlink(orig, root / f"link{i}.png")
    draw(root / "unrelated.png", "blue", seed=9)
    proj = project_factory("links", root)
    proj.update()
    data = orig.read_bytes()
    rest = proj.duplicates(progress=False).keep_best()
    rep = rest.delete(confirm=True)
    assert orig.is_file() and not orig.is_symlink() and orig.read_bytes() == data
    for i in range(6):
        link = root / f"link{i}.png"
        assert not link.exists() or link.read_bytes() == data  # trashed or still resolving
    for status, msg in zip(rep["status"], rep["message"], strict=True):
        assert status == "skipped" and "same file as the copy kept" in msg


def test_a_file_reached_twice_is_never_deleted_as_its_own_copy(project_factory, tmp_path) -> None:
    root = tmp_path / "d"
    files = [draw(root / "part-00" / f"{i}.png", "red", seed=i) for i in range(4)]
    try:
        proj = project_factory("twice", [root, root / "part-00"])
    except aw.AISearchError:
        return  # overlapping sources refused at open: nothing can be indexed twice
    proj.update()
    data = {p: p.read_bytes() for p in files}
    rep = proj.duplicates(progress=False).keep_best().delete(confirm=True)
    assert "trashed" not in rep["status"].tolist()
    assert all(p.read_bytes() == d for p, d in data.items())


# -- the catalog's trash table ----------------------------------------------------------
def test_a_catalog_of_version_2_gains_the_trash(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(str(path)).close()
    db = sqlite3.connect(path)
    db.executescript(
        """DROP TABLE trash; DROP TABLE file_journal;
           CREATE TABLE file_journal(seq INTEGER PRIMARY KEY AUTOINCREMENT,
               op TEXT NOT NULL CHECK (op IN ('copy', 'move', 'delete')), id TEXT,
               src TEXT NOT NULL, dst TEXT, tmp TEXT, overwrite INTEGER NOT NULL DEFAULT 0,
               created_at REAL NOT NULL);
           INSERT INTO file_journal(op, id, src, created_at) VALUES ('delete', 'x', '/a', 0);
           PRAGMA user_version = 2;"""
    )
    db.close()
    cat = Catalog(str(path))
    assert cat.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION >= 3
    assert [r[1:4] for r in cat.journal_pending()] == [("delete", "x", "/a")]
    jid = cat.journal_begin("trash", "y", "/b", "/t/b", None)  # the new ops are accepted
    cat.journal_end(jid)
    assert cat.trash_entries() == []
    cat.close()


def test_trash_and_restore_across_filesystems(ready: aw.Project, monkeypatch) -> None:
    """No rename between the folders: copy, fsync, rename into place, then remove."""
    import errno

    trash = str(ready.folder / "trash")

    def across(real):
        def call(src, dst, *a, **kw):
            if str(src).startswith(trash) != str(dst).startswith(trash):
                raise OSError(errno.EXDEV, "Invalid cross-device link", src)
            return real(src, dst, *a, **kw)

        return call

    monkeypatch.setattr(os, "link", across(os.link))
    monkeypatch.setattr(os, "rename", across(os.rename))
    res = ready.search("x", limit=2).tag("t")
    digests = {p: _digest(p) for p in res.paths}
    rep = res.delete(confirm=True)
    assert rep["status"].tolist() == ["trashed"] * 2
    assert not any(os.path.exists(p) for p in digests)
    assert sorted(_digest(t) for t in rep["target"]) == sorted(digests.values())
    back = ready.trash.restore()
    assert back["status"].tolist() == ["restored"] * 2
    assert all(_digest(p) == d for p, d in digests.items())
    assert not any(os.path.exists(t) for t in rep["target"]) and ready.tags == {"t": 2}
    assert not [p for p in (ready.folder / "trash").iterdir()]
    monkeypatch.undo()
    assert ready.update().embedded == 0
    assert_consistent(ready, check_files=True)


def test_loose_files_come_back_to_the_file_list(project_factory, tmp_path: Path) -> None:
    paths = [str(draw(tmp_path / "loose" / f"{i}.png", "red", seed=i)) for i in range(3)]
    proj = project_factory("loose", paths)
    proj.update()
    res = proj.search("x", limit=1)
    res.delete(confirm=True)
    s = proj.update()
    assert (s.added, s.deleted) == (0, 0) and proj.status.total == 2
    assert proj.trash.restore()["status"].tolist() == ["restored"]
    s = proj.update()
    assert (s.added, s.deleted, s.embedded) == (0, 0, 0) and proj.status.total == 3
    assert_consistent(proj, check_files=True)


def test_repairing_a_damaged_catalog_keeps_the_trash(project_factory, images, home) -> None:
    proj = project_factory("p", images)
    proj.update()
    res = proj.search("x", limit=2).tag("gone")
    paths, ids = res.paths, res.ids
    res.delete(confirm=True)
    proj.close()
    db = home / "p" / "catalog.sqlite"
    damage_files_table(db)
    with pytest.raises(aw.ProjectCorrupt):
        aw.Project.open("p", home=home)
    assert "catalog: salvaged 2 trash rows" in aw.Project.repair("p", home=home)
    with aw.Project.open("p", home=home) as again:
        assert sorted(again.trash.df["path"]) == sorted(paths)
        assert again.restore(ids)["status"].tolist() == ["restored", "restored"]
        assert again.tags == {"gone": 2} and all(os.path.exists(p) for p in paths)
        assert_consistent(again, check_files=True)
