"""The catalog on its own: inventory states, failures, tags, saved collections, file
moves and deletions, meta, the file-action journal, read-only opening and the
schema version. Each test builds its rows by hand; no model, no store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from aisearch_widgets.catalog import SCHEMA_VERSION, Catalog
from aisearch_widgets.sources import FileEntry

M, OTHER = "model-a", "model-b"


@pytest.fixture
def cat(tmp_path: Path):
    c = Catalog(str(tmp_path / "catalog.sqlite"))
    yield c
    c.close()


def _entry(name: str, size: int = 10, folder: str = "/data/imgs") -> FileEntry:
    return FileEntry(
        key=f"src/{name}", path=f"{folder}/{name}", source="src", size=size, mtime_ns=7
    )


def _fill(cat: Catalog, *names: str) -> list[FileEntry]:
    entries = [_entry(n) for n in names]
    cat.mark_pending(entries, [f"id-{n}" for n in names])
    return entries


# -- inventory ---------------------------------------------------------------------------
def test_pending_then_commit_batch(cat: Catalog) -> None:
    a, b, c = _fill(cat, "a.jpg", "b.jpg", "c.jpg")
    known = cat.known()
    assert {k: v.status for k, v in known.items()} == dict.fromkeys(
        [a.key, b.key, c.key], "pending"
    )
    assert known[a.key].size == 10 and known[a.key].mtime_ns == 7
    assert cat.counts(M) == {"total": 3, "embedded": 0, "failed": 0, "pending": 3, "missing": 0}

    cat.commit_batch([(a.key, "hash-a", M), (b.key, "hash-b", M)], [(c.key, "corrupt", "bad")])
    known = cat.known()
    assert (known[a.key].status, known[a.key].content, known[a.key].model) == (
        "embedded",
        "hash-a",
        M,
    )
    assert known[c.key].status == "failed"
    assert cat.counts(M) == {"total": 3, "embedded": 2, "failed": 1, "pending": 0, "missing": 0}
    # Vectors of another model do not count as done for this one.
    assert cat.counts(OTHER) == {"total": 3, "embedded": 0, "failed": 1, "pending": 2, "missing": 0}
    assert cat.failures() == [(c.path, "corrupt", "bad", "id-c.jpg")]
    assert cat.embedded_ids(M) == {"id-a.jpg", "id-b.jpg"} and cat.embedded_ids(OTHER) == set()
    assert cat.find_by_content("hash-b", M) == "id-b.jpg"
    assert cat.find_by_content("hash-b", OTHER) is None
    assert cat.all_ids() == {"id-a.jpg", "id-b.jpg", "id-c.jpg"}


def test_lookups_by_key_id_and_path(cat: Catalog) -> None:
    a, b = _fill(cat, "a.jpg", "b.jpg")
    assert cat.ids_of_keys([a.key, "src/none.jpg"]) == {a.key: "id-a.jpg"}
    recs = cat.records(["id-b.jpg", "nope"])
    assert list(recs) == ["id-b.jpg"]
    r = recs["id-b.jpg"]
    assert (r.id, r.key, r.path, r.source, r.status) == (
        "id-b.jpg",
        b.key,
        b.path,
        "src",
        "pending",
    )
    assert cat.ids_by_path([a.path, "/elsewhere.jpg"]) == {a.path: "id-a.jpg"}
    many = [f"x{i}" for i in range(1200)]  # more than one chunk of parameters
    assert cat.records([*many, "id-a.jpg"]).keys() == {"id-a.jpg"}


def test_a_changed_file_is_pending_again_under_the_same_id(cat: Catalog) -> None:
    (a,) = _fill(cat, "a.jpg")
    cat.commit_batch([(a.key, "hash-a", M)], [])
    cat.mark_pending([_entry("a.jpg", size=99)], ["id-other"])
    known = cat.known()[a.key]
    assert (known.status, known.size) == ("pending", 99)
    assert cat.all_ids() == {"id-a.jpg"}  # one id per key


def test_failed_file_fixed_on_a_later_batch(cat: Catalog) -> None:
    (a,) = _fill(cat, "a.jpg")
    cat.commit_batch([], [(a.key, "unreadable", "permission denied")])
    cat.commit_batch([(a.key, "hash-a", M)], [])
    assert cat.failures() == [] and cat.counts(M)["embedded"] == 1


def test_missing_files_are_kept_and_restored(cat: Catalog) -> None:
    a, b = _fill(cat, "a.jpg", "b.jpg")
    cat.commit_batch([(a.key, "h", M)], [(b.key, "corrupt", "bad")])
    cat.mark_missing([a.key, b.key])
    cat.mark_missing([a.key])  # twice: the status before going missing is kept
    assert cat.counts(M) == {"total": 2, "embedded": 0, "failed": 0, "pending": 0, "missing": 2}
    fails = {f[0]: f for f in cat.failures()}
    assert fails[a.path][1] == "missing" and "/data/imgs is gone or empty" in fails[a.path][2]
    assert fails[a.path][3] == "id-a.jpg"
    assert cat.known()[a.key].prior == "embedded"
    cat.restore([a.key, b.key])
    assert {k: v.status for k, v in cat.known().items()} == {a.key: "embedded", b.key: "failed"}
    assert cat.known()[a.key].prior is None
    # A missing file that comes back changed is simply pending.
    cat.mark_missing([a.key])
    cat.mark_pending([_entry("a.jpg", size=11)], ["id-a.jpg"])
    assert (cat.known()[a.key].status, cat.known()[a.key].prior) == ("pending", None)


def test_delete_keys(cat: Catalog) -> None:
    a, b = _fill(cat, "a.jpg", "b.jpg")
    cat.delete_keys([a.key, "src/none.jpg"])
    assert set(cat.known()) == {b.key} and cat.counts(M)["total"] == 1


def test_move_file_keeps_the_id(cat: Catalog) -> None:
    (a,) = _fill(cat, "a.jpg")
    cat.commit_batch([(a.key, "h", M)], [])
    cat.add_tags(["id-a.jpg"], ["keep"])
    cat.move_file("id-a.jpg", "src/sub/z.jpg", "/data/imgs/sub/z.jpg", "src", 10, 8)
    assert set(cat.known()) == {"src/sub/z.jpg"}
    assert cat.known()["src/sub/z.jpg"].status == "embedded"
    r = cat.records(["id-a.jpg"])["id-a.jpg"]
    assert (r.key, r.path, r.source) == ("src/sub/z.jpg", "/data/imgs/sub/z.jpg", "src")
    assert cat.tags_of(["id-a.jpg"]) == {"id-a.jpg": ["keep"]}


def test_forget_ids_drops_rows_and_tags(cat: Catalog) -> None:
    _fill(cat, "a.jpg", "b.jpg")
    cat.add_tags(["id-a.jpg", "id-b.jpg"], ["t"])
    cat.forget_ids(["id-a.jpg"])
    assert cat.all_ids() == {"id-b.jpg"} and cat.all_tags() == {"t": 1}


# -- tags --------------------------------------------------------------------------------
def test_tags_add_remove_and_query(cat: Catalog) -> None:
    _fill(cat, "a.jpg", "b.jpg", "c.jpg")
    cat.add_tags(["id-a.jpg", "id-b.jpg"], ["red", "circle"])
    cat.add_tags(["id-a.jpg"], ["red"])  # again: no duplicate
    cat.add_tags(["id-c.jpg"], ["blue"])
    assert cat.all_tags() == {"blue": 1, "circle": 2, "red": 2}
    assert cat.tags_of(["id-a.jpg", "id-c.jpg", "nope"]) == {
        "id-a.jpg": ["circle", "red"],
        "id-c.jpg": ["blue"],
    }
    assert cat.ids_with_tags(["red", "blue"]) == {"id-a.jpg", "id-b.jpg", "id-c.jpg"}
    assert cat.ids_with_tags(["green"]) == set()
    cat.remove_tags(["id-a.jpg"], ["red"])
    assert cat.tags_of(["id-a.jpg"]) == {"id-a.jpg": ["circle"]}
    cat.remove_tags(["id-b.jpg"], None)  # None: every tag of these ids
    assert cat.all_tags() == {"blue": 1, "circle": 1}


def test_concurrent_writers_lose_nothing(cat: Catalog) -> None:
    _fill(cat, *[f"{i}.jpg" for i in range(8)])
    barrier = threading.Barrier(8)

    def tag(i: int) -> None:
        barrier.wait()
        for j in range(20):
            cat.add_tags([f"id-{i}.jpg"], [f"t{j}"])

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(cat.all_tags().values()) == 160


# -- saved collections -------------------------------------------------------------------
def test_collections_save_load_rename_delete(cat: Catalog) -> None:
    rows = [("id-c", 0.9, None), ("id-a", 0.5, '{"cluster": 1}'), ("id-b", None, None)]
    assert cat.save_collection("first", {"type": "prompt", "text": "x"}, rows, overwrite=False)
    assert cat.save_collection("second", {"type": "diverse"}, rows[:1], overwrite=False)
    info, created, loaded = cat.load_collection("first")
    assert info == {"type": "prompt", "text": "x"} and created > 0
    assert loaded == rows  # in the order saved, scores and extras as given
    assert cat.collection_names() == ["first", "second"]  # in the order created
    assert cat.collection_sizes() == {"first": 3, "second": 1}

    # An existing name is kept unless overwrite is asked for.
    assert not cat.save_collection("first", {}, rows[:1], overwrite=False)
    assert cat.load_collection("first")[2] == rows
    assert cat.save_collection("first", {"type": "tags"}, rows[::-1], overwrite=True)
    assert cat.load_collection("first")[2] == rows[::-1]

    cat.rename_collection("second", "renamed")  # its items follow
    assert cat.load_collection("second") is None
    assert cat.load_collection("renamed")[2] == rows[:1]
    assert set(cat.collection_names()) == {"first", "renamed"}

    assert cat.delete_collection("renamed") is True
    assert cat.delete_collection("renamed") is False
    assert cat.collection_sizes() == {"first": 3}  # the items went with it
    assert cat.query("SELECT COUNT(*) FROM collection_items")[0][0] == 3


# -- meta and journal --------------------------------------------------------------------
def test_meta_round_trips_json(cat: Catalog) -> None:
    assert cat.get_meta("last_sync") is None and cat.get_meta("x", 5) == 5
    cat.set_meta(last_sync=12.5, info={"a": [1, 2]}, name="p")
    cat.set_meta(name="q")
    assert cat.get_meta("last_sync") == 12.5 and cat.get_meta("info") == {"a": [1, 2]}
    assert cat.get_meta("name") == "q"


def test_file_journal(cat: Catalog) -> None:
    s1 = cat.journal_begin("move", "id-a", "/a.jpg", "/b.jpg", "/b.jpg.tmp", overwrite=True)
    s2 = cat.journal_begin("delete", "id-b", "/c.jpg", None, None)
    assert s2 > s1
    assert cat.journal_pending() == [
        (s1, "move", "id-a", "/a.jpg", "/b.jpg", "/b.jpg.tmp", 1),
        (s2, "delete", "id-b", "/c.jpg", None, None, 0),
    ]
    cat.journal_end(s1)
    assert [r[0] for r in cat.journal_pending()] == [s2]
    with pytest.raises(sqlite3.IntegrityError):
        cat.journal_begin("rename", None, "/a", "/b", None)
    assert [r[0] for r in cat.journal_pending()] == [s2]  # the refused row left nothing


# -- opening -----------------------------------------------------------------------------
def test_schema_version_is_recorded(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.sqlite")
    Catalog(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    c = Catalog(path)  # opening again changes nothing
    try:
        assert c.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    finally:
        c.close()


def test_readonly_catalog_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.sqlite")
    rw = Catalog(path)
    (a,) = _fill(rw, "a.jpg")
    rw.commit_batch([(a.key, "h", M)], [])
    rw.add_tags(["id-a.jpg"], ["t"])
    ro = Catalog(path, readonly=True)
    try:
        # A reader in another process sees committed state while the owner has it open.
        assert ro.counts(M)["embedded"] == 1 and ro.all_tags() == {"t": 1}
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.add_tags(["id-a.jpg"], ["u"])
        rw.add_tags(["id-a.jpg"], ["u"])
        assert ro.all_tags() == {"t": 1, "u": 1}
    finally:
        ro.close()
        rw.close()


def test_readonly_open_never_creates_a_catalog(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite"
    with pytest.raises(sqlite3.OperationalError):
        Catalog(str(path), readonly=True).query("SELECT 1 FROM files")
    assert not path.exists()


def test_counts_follow_every_change_and_are_not_counted_again_without_one(
    cat: Catalog, tmp_path: Path
) -> None:
    _fill(cat, "a.jpg", "b.jpg")
    assert cat.counts(None)["pending"] == 2
    passes: list[str] = []
    query = cat.query
    cat.query = lambda sql, params=(): (passes.append(sql), query(sql, params))[1]  # type: ignore[method-assign]
    assert cat.counts(None)["pending"] == 2
    assert not [s for s in passes if "GROUP BY" in s]  # nothing changed: not counted again
    other = Catalog(str(tmp_path / "catalog.sqlite"))  # a commit by another connection
    _fill(other, "c.jpg")
    other.close()
    assert cat.counts(None)["pending"] == 3
    _fill(cat, "d.jpg")  # and by this one
    assert cat.counts(None) == {"total": 4, "embedded": 0, "failed": 0, "pending": 4, "missing": 0}
    assert [s for s in passes if "GROUP BY" in s]


def test_records_of_most_rows_read_the_table_once_with_the_same_answer(
    cat: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aisearch_widgets.catalog as catalog_mod

    entries = _fill(cat, *(f"{i}.jpg" for i in range(8)))
    cat.commit_batch([(e.key, f"hash-{k}", M) for k, e in enumerate(entries[:5])], [])
    ids = [f"id-{i}.jpg" for i in range(6)] + ["nope"]
    looked_up = cat.records(ids)
    monkeypatch.setattr(catalog_mod, "SCAN_FROM", 2)  # 7 ids of 8 rows: one pass
    scanned = cat.records(ids)
    assert scanned == looked_up and set(scanned) == set(ids) - {"nope"}
    assert cat.embedded_files(M) == {
        f"id-{k}.jpg": (f"hash-{k}", 7, entries[k].path) for k in range(5)
    }
