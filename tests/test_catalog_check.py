"""When the owner checks its catalog: at once after a session that did not end in a
clean close, in the background after one, and never a write before that check."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

import aisearch_widgets as aw
import aisearch_widgets._catalog_check as check_mod
import aisearch_widgets.catalog as catalog_mod
from aisearch_widgets.catalog import open_catalog


def _rows(path: Path, n: int = 3000) -> None:
    """A catalog whose files table spans many pages, closed cleanly."""
    cat = open_catalog(path, "p")
    with cat.transaction() as db:
        db.executemany(
            "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status, model,"
            " updated_at) VALUES (?, ?, ?, 'src', 1, 1, ?, 'embedded', 'm', 0)",
            [(f"src/{i:06d}.jpg", f"id{i:06d}", f"/d/{i:06d}.jpg", f"c{i}") for i in range(n)],
        )
    cat.close(clean=True)


def _damage_last_leaf(path: Path) -> None:
    """Overwrite the last leaf page of the files table (the root's right-most child):
    ``SELECT 1 FROM files LIMIT 1`` still reads, quick_check does not."""
    with sqlite3.connect(path) as con:
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'files'").fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * size)
        page = fh.read(size)
        assert page[0] == 0x05  # an interior page of a table b-tree
        leaf = int.from_bytes(page[8:12], "big")
        fh.seek((leaf - 1) * size)
        fh.write(b"\xff" * size)


def _mark(path: Path) -> bool:
    with sqlite3.connect(path) as con:
        found = con.execute("SELECT 1 FROM meta WHERE k = ?", (check_mod.CLEAN_MARK,)).fetchone()
    con.close()
    return found is not None


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads that run quick_check, the open's own and the background one."""
    threads: list[str] = []
    real = check_mod.quick_check

    def spy(db: sqlite3.Connection) -> str | None:
        threads.append(threading.current_thread().name)
        return real(db)

    monkeypatch.setattr(catalog_mod, "quick_check", spy)
    monkeypatch.setattr(check_mod, "quick_check", spy)
    return threads


def test_after_a_clean_close_the_check_runs_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "catalog.sqlite"
    _rows(db)
    assert _mark(db)
    threads = _spy(monkeypatch)
    cat = open_catalog(db, "p", background=True)
    assert cat.was_clean and not _mark(
        db
    )  # taken: a session that ends without a clean close leaves none
    cat.set_meta(x=1)  # the first write waits for the check
    assert threads == ["aisearch-catalog-check"]
    cat.close(clean=True)
    assert _mark(db)


def test_a_session_without_a_clean_close_is_checked_before_the_open_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "catalog.sqlite"
    _rows(db)
    crashed = open_catalog(db, "p")  # never closed cleanly: as a killed kernel
    crashed.close()
    assert not _mark(db)
    _damage_last_leaf(db)
    threads = _spy(monkeypatch)
    with pytest.raises(aw.ProjectCorrupt, match=r"(?s)catalog\.sqlite is damaged.*repair p"):
        open_catalog(db, "p")
    assert threads == [threading.current_thread().name]


def test_a_background_check_after_an_unclean_close_is_waited_for(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite"
    _rows(db)
    open_catalog(db, "p").close()  # no clean close
    _damage_last_leaf(db)
    cat = open_catalog(db, "p", background=True)
    assert not cat.was_clean
    with pytest.raises(aw.ProjectCorrupt, match=r"(?s)damaged.*repair p"):
        cat.checked()  # what Project.open does before it returns
    cat.close()


def test_damage_after_a_clean_close_is_refused_before_any_write(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite"
    _rows(db)
    _damage_last_leaf(db)  # bytes rewritten in place: the mark is still there
    cat = open_catalog(db, "p", background=True)
    with pytest.raises(aw.ProjectCorrupt, match=r"(?s)damaged.*repair p"):
        cat.set_meta(x=1)
    with pytest.raises(aw.ProjectCorrupt, match=r"damaged"):
        cat.query("SELECT COUNT(*) FROM tags")  # reads, once the damage is known
    cat.close(clean=True)  # a damaged file is never marked clean
    assert not _mark(db)
    with pytest.raises(aw.ProjectCorrupt):
        open_catalog(db, "p")


def test_a_project_closed_cleanly_reopens_without_waiting_for_its_check(
    project_factory, images: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("p", images)
    proj.update()
    proj.close()
    threads = _spy(monkeypatch)
    with aw.Project.open("p", home=home) as again:
        assert again.status.done == 12
        again.search("x", limit=3).tag("keep")
    assert threads == ["aisearch-catalog-check"]
    assert _mark(home / "p" / "catalog.sqlite")


def test_a_project_whose_last_session_ended_uncleanly_is_refused_when_damaged(
    project_factory, images: Path, home: Path
) -> None:
    proj = project_factory("p", images)
    proj.update()
    proj.close()
    db = home / "p" / "catalog.sqlite"
    with sqlite3.connect(db) as con:  # rows enough for the files table to span pages
        con.executemany(
            "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status,"
            " updated_at) VALUES (?, ?, ?, 'src', 1, 1, ?, 'pending', 0)",
            [(f"x/{i:06d}.jpg", f"x{i:06d}", f"/x/{i:06d}.jpg", f"c{i}") for i in range(3000)],
        )
        con.execute("DELETE FROM meta WHERE k = ?", (check_mod.CLEAN_MARK,))  # a crash
    con.close()
    _damage_last_leaf(db)
    with pytest.raises(aw.ProjectCorrupt, match=r"(?s)catalog\.sqlite is damaged.*repair p"):
        aw.Project.open("p", home=home)
