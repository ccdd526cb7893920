"""A project's cached map (and kNN graph) checked against the state of its vectors
(``_matrix.state_stamp``: the count of the store's writes kept in the catalog, the
store's size, the catalog's embedded rows), not against the vectors themselves: an
unchanged project draws its map without reading a vector, and any write is a miss."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets.explore import _cache
from aisearch_widgets.explore.knn import knn_graph
from aisearch_widgets.explore.map import compute_map

from _helpers import draw, make_folder, unit


class ReadCounter:
    """Counts the store's reads of vectors (scroll pages with vectors)."""

    def __init__(self, store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pages = 0
        real = store._scroll

        def scroll(offset, limit, with_vectors):
            self.pages += bool(with_vectors)
            return real(offset, limit, with_vectors)

        monkeypatch.setattr(store, "_scroll", scroll)


@pytest.fixture
def mapped(project_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "imgs"
    make_folder(root, 12, sub=False)
    proj = project_factory("p", root)
    proj.update()
    return proj, root, ReadCounter(proj.store, monkeypatch)


def test_an_unchanged_project_draws_its_cached_map_without_reading_a_vector(mapped) -> None:
    proj, _, reads = mapped
    first = proj.map(method="pca", progress=False)
    assert reads.pages > 0  # computed from the vectors
    reads.pages = 0
    again = proj.map(method="pca", progress=False)
    assert reads.pages == 0
    assert again[["id", "x", "y", "cluster"]].equals(first[["id", "x", "y", "cluster"]])
    assert again["path"].tolist() == first["path"].tolist()
    assert again.attrs["stamp"] == first.attrs["stamp"] == proj.vectors_state()


def test_a_vector_added_changed_or_deleted_is_a_cache_miss(mapped) -> None:
    proj, root, reads = mapped
    before = proj.map(method="pca", progress=False)
    ids = before["id"].tolist()

    # One image re-embedded (its vector rewritten): read again.
    reads.pages = 0
    old = proj.store.retrieve([ids[0]])[ids[0]]
    proj.store.upsert([ids[0]], unit(old[::-1].copy())[None])
    changed = proj.map(method="pca", progress=False)
    assert reads.pages > 0 and changed.attrs["stamp"] != before.attrs["stamp"]

    # One image added: read again, and on the map.
    reads.pages = 0
    draw(root / "new_one.png", "red", seed=99)
    proj.update()
    added = proj.map(method="pca", progress=False)
    assert reads.pages > 0 and len(added) == 13
    new_id = (set(added["id"]) - set(ids)).pop()
    assert added.set_index("id").loc[new_id, "path"].endswith("new_one.png")

    # One image deleted: read again, and off the map.
    reads.pages = 0
    (root / "new_one.png").unlink()
    proj.update()
    gone = proj.map(method="pca", progress=False)
    assert reads.pages > 0 and set(gone["id"]) == set(ids)
    reads.pages = 0
    proj.map(method="pca", progress=False)
    assert reads.pages == 0  # and cached again


def test_duplicates_and_outliers_read_the_kept_copy_not_the_store(mapped) -> None:
    """Duplicates and outliers read the vectors from the kept float16 copy while the
    vectors are unchanged (the store's scroll is the slow read: ~3 s at 100k); a write
    makes them read the store again. The results are those of the store's vectors."""
    proj, _, reads = mapped
    dups = proj.duplicates(progress=False).df
    odd = proj.outliers(n=3, progress=False).df
    reads.pages = 0
    assert (
        proj.duplicates(progress=False)
        .df[["id", "group", "best"]]
        .equals(dups[["id", "group", "best"]])
    )
    assert proj.outliers(n=3, progress=False).ids == odd["id"].tolist()
    assert reads.pages == 0
    pid = odd["id"].iloc[0]
    vec = proj.store.retrieve([pid])[pid]
    proj.store.upsert([pid], vec[None])
    proj.outliers(n=3, progress=False)
    assert reads.pages > 0  # the copy no longer matches the vectors' state


def test_every_store_write_counts_twice_in_the_catalog(mapped) -> None:
    proj, _, _ = mapped
    gen = proj.catalog.vectors_generation()
    pid = proj.map(method="pca", progress=False)["id"].iloc[0]
    vec = proj.store.retrieve([pid])[pid]
    proj.store.upsert([pid], vec[None])
    assert proj.catalog.vectors_generation() == gen + 2  # before and after the write
    proj.store.delete([])  # nothing written: nothing counted
    assert proj.catalog.vectors_generation() == gen + 2


def test_the_write_count_is_shared_by_every_opening_of_the_catalog(tmp_path: Path) -> None:
    """The count lives in a file mapped by each opening (each process): a write counted
    by one is seen at once by another and by a read-only reader; a catalog of the
    version that kept it in the ``meta`` row goes on from that row's count."""
    from aisearch_widgets.catalog import GENERATION_SUFFIX, VECTORS_GENERATION, Catalog

    path = str(tmp_path / "catalog.sqlite")
    writer = Catalog(path)
    writer.set_meta(**{VECTORS_GENERATION: 41})  # counted the old way
    reader = Catalog(path)
    assert writer.vectors_generation() == reader.vectors_generation() == 41
    writer.bump_vectors_generation()
    assert Path(path + GENERATION_SUFFIX).stat().st_size == 8
    ro = Catalog(path, readonly=True)
    assert (
        writer.vectors_generation() == reader.vectors_generation() == ro.vectors_generation() == 42
    )
    reader.bump_vectors_generation()
    reader.bump_vectors_generation()
    assert writer.vectors_generation() == ro.vectors_generation() == 44
    for c in (writer, reader, ro):
        c.close()
    again = Catalog(path)
    assert again.vectors_generation() == 44  # kept across sessions
    again.close()


def _bump_many(path: str, n: int, start) -> None:
    from aisearch_widgets.catalog import Catalog

    cat = Catalog(path)
    cat.bump_vectors_generation()  # the file mapped before the race
    start.wait(30)
    for _ in range(n - 1):
        cat.bump_vectors_generation()
    cat.close()


def test_writes_counted_by_two_processes_at_once_are_all_counted(tmp_path: Path) -> None:
    """Several processes may write one Qdrant server's collection: each count is taken
    under a lock of the file, so none is lost (a lost one could leave the count where
    a reader saw it before a write)."""
    import multiprocessing

    from aisearch_widgets.catalog import Catalog

    path = str(tmp_path / "catalog.sqlite")
    Catalog(path).close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_bump_many, args=(path, 50_000, start)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    cat = Catalog(path)
    assert cat.vectors_generation() == 100_000
    cat.close()


def test_a_count_file_left_empty_is_filled_and_a_closed_catalog_counts_nothing(
    tmp_path: Path,
) -> None:
    import sqlite3

    from aisearch_widgets.catalog import GENERATION_SUFFIX, Catalog

    path = str(tmp_path / "catalog.sqlite")
    Path(path + GENERATION_SUFFIX).write_bytes(b"")  # a crash right after its creation
    cat = Catalog(path)
    cat.bump_vectors_generation()
    assert Path(path + GENERATION_SUFFIX).read_bytes() == (1).to_bytes(8, "little")
    assert cat.vectors_generation() == 1
    cat.close()
    with pytest.raises(sqlite3.ProgrammingError):
        cat.bump_vectors_generation()


def test_an_in_memory_catalog_counts_in_its_meta_row() -> None:
    from aisearch_widgets.catalog import Catalog

    cat = Catalog(":memory:")
    before = cat.vectors_generation()
    cat.bump_vectors_generation()
    assert cat.vectors_generation() == before + 1
    cat.close()


def test_a_write_while_the_map_reads_the_vectors_leaves_the_cache_stale(
    mapped, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state is taken before the vectors are read: a write in the middle (another
    thread indexing) makes the cached map older than its key, so the next look reads
    the vectors again instead of trusting a map that lacks the write."""
    proj, _, reads = mapped
    ids = sorted(proj.store.ids())
    store = proj.store
    real = store._scroll
    wrote = threading.Event()

    def scroll_then_write(offset, limit, with_vectors):
        page = real(offset, limit, with_vectors)
        if with_vectors and not wrote.is_set():
            wrote.set()
            t = threading.Thread(
                target=store.upsert, args=([ids[0]], unit(np.ones((1, store.dim))))
            )
            t.start()
            t.join()
        return page

    monkeypatch.setattr(store, "_scroll", scroll_then_write)
    proj.map(method="pca", progress=False)
    assert wrote.is_set()
    monkeypatch.setattr(store, "_scroll", real)
    reads = ReadCounter(store, monkeypatch)
    proj.map(method="pca", progress=False)
    assert reads.pages > 0
    reads.pages = 0
    proj.map(method="pca", progress=False)
    assert reads.pages == 0


def test_a_cache_written_before_stamps_is_found_by_its_fingerprint_once(mapped) -> None:
    """A map cached by an earlier version (no stamp in the file) is a stamp miss, not
    an error: read by the vectors' fingerprint once, then kept with the stamp."""
    from aisearch_widgets.explore.views import _cache_dir, load_all

    proj, _, reads = mapped
    ids, vecs = load_all(proj._vectors)
    old = compute_map(ids, vecs, method="pca", cache_dir=_cache_dir(proj._vectors))
    path = _cache_dir(proj._vectors) / "map-pca.npz"
    assert "_stamp" not in np.load(path).files
    reads.pages = 0
    df = proj.map(method="pca", progress=False)
    assert reads.pages > 0 and df.set_index("id")[["x", "y"]].sort_index().equals(
        old.set_index("id")[["x", "y"]].sort_index()
    )
    assert str(np.load(path)["_stamp"]) == proj.vectors_state()
    reads.pages = 0
    proj.map(method="pca", progress=False)
    assert reads.pages == 0


def test_the_knn_graph_is_found_by_stamp_without_a_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    x = unit(rng.normal(size=(40, 8)))
    ids = [f"{i:040x}" for i in range(40)]
    g = knn_graph(ids, x, k=5, cache_dir=tmp_path)  # an earlier version's: no stamp
    first = knn_graph(ids, x, k=5, cache_dir=tmp_path, stamp="state:a")  # by fingerprint
    assert (first.indices == g.indices).all()

    def no_fingerprint(*a, **k):
        raise AssertionError("fingerprinted although the stamp matches")

    monkeypatch.setattr(_cache, "fingerprint", no_fingerprint)
    again = knn_graph(ids, x, k=5, cache_dir=tmp_path, stamp="state:a")
    assert (again.indices == g.indices).all() and again.fingerprint == g.fingerprint
    with pytest.raises(AssertionError, match="fingerprinted"):
        knn_graph(ids, x, k=5, cache_dir=tmp_path, stamp="state:b")  # another state


def test_paths_of_many_ids_reads_every_row_once(mapped, monkeypatch: pytest.MonkeyPatch) -> None:
    from aisearch_widgets.explore import views

    proj, _, _ = mapped
    ids = [*proj.store.ids(), "not-an-id"]
    by_record = views.paths_of(proj.catalog, ids)
    monkeypatch.setattr(views, "_ALL_PATHS_FROM", 1)
    assert views.paths_of(proj.catalog, ids) == by_record
    assert by_record[-1] is None and all(p and Path(p).exists() for p in by_record[:-1])


def test_the_panel_keeps_a_hidden_map_while_the_vectors_stay(mapped) -> None:
    proj, root, reads = mapped
    panel = aw.SearchPanel(proj, page_size=8, poll_interval=0)
    try:
        panel.show_map()
        view = panel.map_view
        plot = view.plot
        panel.show_map(False)
        assert panel.map_view is None and panel.map_pane.children[1].layout.display == "none"
        assert plot.comm is not None  # kept in the page, hidden
        query = panel.search("a red disc", limit=5)  # while hidden: not drawn yet
        assert view.scatter.color()["by"] == "cluster"
        proj.catalog.add_tags([view.ids[0]], ["cat"])
        reads.pages = 0
        panel.show_map()
        assert panel.map_view is view and view.plot is plot and reads.pages == 0
        assert view.scatter.color()["by"] == "score" and query is panel._query
        assert "cat" in set(view._data["label"])  # tags given while hidden label it
        # The vectors changed while hidden: drawn again.
        panel.show_map(False)
        draw(root / "late.png", "blue", seed=7)
        proj.update()
        panel.show_map()
        assert panel.map_view is not view and len(panel.map_view.ids) == 13
        assert plot.comm is None  # the stale plot was closed
    finally:
        panel.close()
