from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets.collection import safe_target

from _helpers import draw
from _integrity import assert_consistent


@pytest.fixture
def ready(project_factory, images: Path) -> aw.Project:
    proj = project_factory("p", images)
    proj.update()
    return proj


def test_save_and_reload_after_reopening(ready: aw.Project, home: Path) -> None:
    res = ready.search("a red disc", limit=5)
    assert not res.saved
    res.save("Night")
    assert res.saved and "Night" in ready.collections
    with pytest.raises(aw.AISearchError, match="overwrite=True"):
        ready.search("x", limit=2).save("Night")
    ready.search("x", limit=2).save("Night", overwrite=True)
    res.save("Day")
    ready.close()

    proj = aw.Project.open("p", home=home)
    try:
        assert list(proj.collections) == ["Night", "Day"]
        day = proj.collections["Day"]
        assert day.ids == res.ids and list(day.scores) == pytest.approx(list(res.scores))
        assert day.query["text"] == "a red disc" and day.query["type"] == "prompt"
        assert day.model == proj.model_identity
        assert len(proj.collections["Night"]) == 2
        assert list(proj.collections.df["size"]) == [2, 5]
        proj.collections.rename("Day", "Daylight")
        del proj.collections["Night"]
        assert list(proj.collections) == ["Daylight"]
        with pytest.raises(KeyError, match="Daylight"):
            proj.collections["Nope"]
    finally:
        proj.close()


def test_diverse_clusters_survive_saving(ready: aw.Project) -> None:
    res = ready.diverse(n=4)
    res.save("div")
    back = ready.collections["div"]
    assert list(back.df["cluster"]) == list(res.df["cluster"])
    assert back.cluster_sizes == res.cluster_sizes


def test_copy_never_overwrites_silently(ready: aw.Project, tmp_path: Path) -> None:
    res = ready.search("x", limit=3)
    out = tmp_path / "out"
    rep = res.copy_to(out)
    assert list(rep["status"]) == ["copied"] * 3
    assert sorted(os.listdir(out)) == sorted(Path(p).name for p in res.paths)
    rep = res.copy_to(out)
    assert list(rep["status"]) == ["skipped"] * 3
    rep = res.copy_to(out, on_conflict="rename")
    assert list(rep["status"]) == ["copied"] * 3 and len(os.listdir(out)) == 6
    assert ready.status.done == 12  # copying does not touch the project
    assert_consistent(ready, check_files=True)


def test_file_actions_refuse_traversal(ready: aw.Project, tmp_path: Path) -> None:
    out = tmp_path / "safe"
    out.mkdir()
    os.symlink(tmp_path, out / "escape")
    for bad in ["../evil.jpg", "/etc/passwd", "a/b.jpg", "..", "x\x00.jpg", "escape"]:
        with pytest.raises(aw.UnsafePathError):
            safe_target(out, bad if bad != "escape" else "escape")
    res = ready.search("x", limit=2)
    rep = res.copy_to(out, names={res.ids[0]: "../evil.jpg", res.ids[1]: "fine.jpg"})
    assert list(rep["status"]) == ["error", "copied"]
    assert "outside" in rep["message"][0] or "plain name" in rep["message"][0]
    assert not (tmp_path / "evil.jpg").exists() and (out / "fine.jpg").exists()


def test_move_keeps_id_vector_and_tags(ready: aw.Project, tmp_path: Path) -> None:
    res = ready.search("x", limit=2).tag("keep")
    vec_before = ready.store.retrieve(res.ids)
    dest = tmp_path / "moved"
    rep = res.move_to(dest)
    assert list(rep["status"]) == ["moved", "moved"]
    for pid, target in zip(rep["id"], rep["target"], strict=True):
        assert os.path.exists(target)
        assert ready.catalog.records([pid])[pid].path == target
    assert ready.search("x", limit=100, tags=["keep"]).ids == res.ids
    s = ready.update()  # the inventory followed: nothing to do
    assert (s.added, s.deleted, s.embedded) == (0, 0, 0)
    after = ready.store.retrieve(res.ids)
    for pid in res.ids:
        np.testing.assert_allclose(after[pid], vec_before[pid], atol=1e-6)
        assert ready.catalog.records([pid])[pid].path.startswith(str(dest))
    assert ready.status.done == 12
    assert_consistent(ready, check_files=True)

    # Moving back inside a source folder works too.
    back = ready.search("x", limit=100, tags=["keep"])
    back.move_to(Path(ready.sources[0].root) / "returned")
    s = ready.update()
    assert (s.added, s.deleted) == (0, 0)
    cfg = json.loads((ready.folder / "project.json").read_text())
    assert [src["kind"] for src in cfg["sources"]] == ["folder"]
    assert_consistent(ready, check_files=True)


def test_delete_needs_confirmation_and_updates_index(ready: aw.Project) -> None:
    res = ready.search("x", limit=3)
    with pytest.raises(aw.AISearchError, match="confirm=True"):
        res.delete()
    paths = res.paths
    rep = res.delete(confirm=True)
    assert list(rep["status"]) == ["trashed"] * 3
    assert not any(os.path.exists(p) for p in paths)
    assert ready.store.count() == 9 and ready.status.total == 9
    assert_consistent(ready, check_files=True)
    assert ready.update().deleted == 0
    assert sorted(ready.trash.df["path"]) == sorted(paths)


def test_permanent_delete_leaves_nothing_in_the_trash(ready: aw.Project) -> None:
    res = ready.search("x", limit=2)
    paths = res.paths
    with pytest.raises(aw.AISearchError, match="deletes 2 files for good"):
        res.delete(permanent=True)
    rep = res.delete(confirm=True, permanent=True)
    assert list(rep["status"]) == ["deleted"] * 2
    assert not any(os.path.exists(p) for p in paths)
    assert len(ready.trash) == 0 and ready.store.count() == 10
    assert_consistent(ready, check_files=True)


def test_export_manifests(ready: aw.Project, tmp_path: Path) -> None:
    res = ready.search("x", limit=4).tag("a", "b")
    csv = res.export(tmp_path / "m.csv")
    df = pd.read_csv(csv)
    assert list(df.columns[:4]) == ["id", "path", "score", "rank"] and df["tags"][0] == "a;b"
    jl = res.export(tmp_path / "m.jsonl")
    rows = [json.loads(x) for x in jl.read_text().splitlines()]
    assert len(rows) == 4 and rows[0]["tags"] == ["a", "b"]
    with pytest.raises(aw.AISearchError, match="exists"):
        res.export(csv)
    with pytest.raises(aw.AISearchError, match="format"):
        res.export(tmp_path / "m.xlsx")


def test_repr_html_escapes_file_names(project_factory, tmp_path: Path) -> None:
    root = tmp_path / "evil"
    draw(root / "<img src=x onerror=alert(1)>.png", fmt="PNG")
    proj = project_factory("evil", root)
    proj.update()
    page = proj.search("x")._repr_html_()
    assert "<img src=x onerror" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in page


# -- file actions that must never lose a file -------------------------------------------
def _digest(path: str | Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _files_under(*roots: Path) -> list[Path]:
    return [p for r in roots if r.exists() for p in r.rglob("*") if p.is_file()]


def _assert_each_once(originals: dict[str, str], *roots: Path) -> None:
    """Every original file's bytes exist exactly once under ``roots``."""
    on_disk = [_digest(p) for p in _files_under(*roots)]
    for name, h in originals.items():
        assert on_disk.count(h) == 1, f"{name}: {on_disk.count(h)} copies on disk"


@pytest.fixture
def twins(project_factory, tmp_path: Path) -> aw.Project:
    """A project with cats/001.png and dogs/001.png (same name, different images)."""
    root = tmp_path / "pets"
    draw(root / "cats" / "001.png", "red", seed=1)
    draw(root / "dogs" / "001.png", "blue", seed=2)
    draw(root / "dogs" / "002.png", "green", seed=3)
    proj = project_factory("pets", root)
    proj.update()
    return proj


def test_move_overwrite_with_shared_names_keeps_every_file(twins: aw.Project, tmp_path: Path):
    root = Path(twins.sources[0].root)
    originals = {str(p): _digest(p) for p in _files_under(root)}
    bytes_of = {i: _digest(p) for i, p in twins.catalog.query("SELECT id, path FROM files")}
    everything = twins.search("x", limit=10)
    everything.tag("pet")
    dest = tmp_path / "dest"
    rep = everything.move_to(dest, on_conflict="overwrite")
    _assert_each_once(originals, root, dest)
    assert sorted(rep["status"]) == ["moved", "moved", "skipped"]
    skipped = rep[rep["status"] == "skipped"].iloc[0]
    assert "same name" in skipped["message"] and os.path.exists(skipped["source"])
    # The catalog points at files that hold the bytes each id had.
    for pid, path in twins.catalog.query("SELECT id, path FROM files"):
        assert _digest(path) == bytes_of[pid]
    assert len(os.listdir(dest)) == int((rep["status"] == "moved").sum())
    assert twins.tags == {"pet": 3}
    assert_consistent(twins, check_files=True)


def test_move_never_overwrites_another_file_of_the_batch(twins: aw.Project) -> None:
    root = Path(twins.sources[0].root)
    originals = {str(p): _digest(p) for p in _files_under(root)}
    res = twins.search("x", limit=10)
    # dogs/001.png is both a source of this batch and the target of cats/001.png.
    rep = res.move_to(root / "dogs", on_conflict="overwrite")
    _assert_each_once(originals, root)
    by_src = dict(zip(rep["source"], rep["status"], strict=True))
    assert by_src[str(root / "cats" / "001.png")] == "skipped"
    assert set(by_src.values()) == {"skipped"}
    assert_consistent(twins, check_files=True)


def test_failed_inventory_update_never_moves_back_over_a_file(
    twins: aw.Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """The old code moved the file back over its source path when recording failed:
    whatever sat there by then was destroyed."""
    src = str(Path(twins.sources[0].root) / "dogs" / "002.png")
    pid = twins.catalog.ids_by_path([src])[src]
    res = twins.search("x", limit=10).select([pid])
    moved_bytes = _digest(src)

    def failing(pid: str, old: str, new: str) -> None:
        Path(old).write_bytes(b"a new file written meanwhile")
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(twins.inventory, "moved", failing)
    rep = res.move_to(tmp_path / "dest")
    assert list(rep["status"]) == ["error"] and "now at" in rep["message"][0]
    assert Path(src).read_bytes() == b"a new file written meanwhile"
    assert _digest(tmp_path / "dest" / "002.png") == moved_bytes
    monkeypatch.undo()
    twins.close()
    proj = aw.Project.open("pets", home=home)  # the journal completes the move
    try:
        assert proj.catalog.records([pid])[pid].path == str(tmp_path / "dest" / "002.png")
        assert Path(src).read_bytes() == b"a new file written meanwhile"
        assert_consistent(proj, check_files=True)
    finally:
        proj.close()


def test_copy_overwrite_with_shared_names_reports_what_is_on_disk(
    twins: aw.Project, tmp_path: Path
) -> None:
    dest = tmp_path / "copies"
    rep = twins.search("x", limit=10).copy_to(dest, on_conflict="overwrite")
    assert int((rep["status"] == "copied").sum()) == len(os.listdir(dest)) == 2
    rep = twins.search("x", limit=10).copy_to(dest, on_conflict="overwrite")
    assert int((rep["status"] == "copied").sum()) == len(os.listdir(dest)) == 2
    assert not [n for n in os.listdir(dest) if n.endswith(".tmp")]
    assert_consistent(twins, check_files=True)


def test_move_across_filesystems(twins: aw.Project) -> None:
    """/dev/shm is a tmpfs: os.rename raises EXDEV there."""
    import shutil
    import uuid

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(twins.folder).st_dev:
        pytest.skip("needs /dev/shm on another filesystem")
    dest = shm / f"aisearch-test-{uuid.uuid4().hex[:8]}"
    try:
        root = Path(twins.sources[0].root)
        originals = {str(p): _digest(p) for p in _files_under(root)}
        res = twins.search("x", limit=10).tag("t")
        rep = res.move_to(dest, on_conflict="rename")
        assert list(rep["status"]) == ["moved"] * 3
        _assert_each_once(originals, root, dest)
        assert not _files_under(root)
        assert sorted(os.listdir(dest)) == ["001 (1).png", "001.png", "002.png"]
        for pid, target in zip(rep["id"], rep["target"], strict=True):
            assert twins.catalog.records([pid])[pid].path == target
        assert twins.tags == {"t": 3}
        assert_consistent(twins, check_files=True)
        assert twins.update().deleted == 0
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_move_interrupted_after_placing_is_completed_on_open(
    twins: aw.Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    """A process killed between putting the file in place and recording it: the
    journal rolls the move forward on open (the indexer would otherwise take the file
    for deleted and drop its row and tags)."""
    src = str(Path(twins.sources[0].root) / "dogs" / "002.png")
    pid = twins.catalog.ids_by_path([src])[src]
    twins.search("x", limit=10).select([pid]).tag("keep")

    class Killed(BaseException):
        pass

    def die(*a: object) -> None:
        raise Killed

    monkeypatch.setattr(twins.inventory, "moved", die)
    with pytest.raises(Killed):
        twins.search("x", limit=10).select([pid]).move_to(tmp_path / "out")
    monkeypatch.undo()
    twins.close()
    proj = aw.Project.open("pets", home=home)
    try:
        assert proj.catalog.records([pid])[pid].path == str(tmp_path / "out" / "002.png")
        assert proj.catalog.journal_pending() == []
        assert proj.update().deleted == 0
        assert proj.tags == {"keep": 1}
        assert_consistent(proj, check_files=True)
    finally:
        proj.close()


def test_unfinished_copy_leftover_is_removed_and_retry_moves(
    twins: aw.Project, tmp_path: Path, home: Path
) -> None:
    """A truncated temporary copy left by a kill is cleaned on open, and a retried
    move is never fooled by it (temporary names are never final names)."""
    src = str(Path(twins.sources[0].root) / "dogs" / "002.png")
    pid = twins.catalog.ids_by_path([src])[src]
    out = tmp_path / "out"
    out.mkdir()
    tmp = out / ".002.png.aisearch-0123456789ab.tmp"
    tmp.write_bytes(Path(src).read_bytes()[:10])
    twins.catalog.journal_begin("move", pid, src, str(out / "002.png"), str(tmp))
    twins.close()
    proj = aw.Project.open("pets", home=home)
    try:
        assert os.listdir(out) == [] and os.path.exists(src)
        assert proj.catalog.records([pid])[pid].path == src
        rep = proj.search("x", limit=10).select([pid]).move_to(out)
        assert list(rep["status"]) == ["moved"]
        assert os.listdir(out) == ["002.png"] and not os.path.exists(src)
        assert_consistent(proj, check_files=True)
    finally:
        proj.close()


# -- names, filters and exports -----------------------------------------------------------
def test_collection_names_are_normalised_for_every_lookup(ready: aw.Project) -> None:
    ready.search("x", limit=3).save("  padded  ")
    cols = ready.collections
    assert list(cols) == ["padded"]
    assert "  padded  " in cols and "padded" in cols and 5 not in cols  # type: ignore[operator]
    assert cols["  padded  "].name == "padded" and len(cols["\tpadded "]) == 3
    with pytest.raises(aw.AISearchError, match="exists"):
        ready.search("x", limit=2).save(" padded")
    cols.rename(" padded ", "  other ")
    assert list(cols) == ["other"]
    del cols["other  "]
    assert list(cols) == []
    with pytest.raises(KeyError):
        del cols["  "]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"above": "x"},
        {"below": float("nan")},
        {"above": float("inf")},
        {"above": True},
        {"between": (1,)},
        {"between": (0.1, None)},
        {"between": "ab"},
        {"between": (0.1, float("nan"))},
        {"between": 0.5},
    ],
)
def test_filter_rejects_bad_thresholds(ready: aw.Project, kwargs: dict) -> None:
    res = ready.search("x", limit=5)
    with pytest.raises(aw.AISearchError, match=r"finite number|two finite numbers"):
        res.filter(**kwargs)


def test_filter_keeps_float32_scores_at_the_boundary(ready: aw.Project) -> None:
    """Scores are float32: 0.6 comes back as 0.59999996 or 0.6000000238."""
    from aisearch_widgets.collection import Collection

    ids = ready.search("x", limit=4).ids
    scores = np.array([0.59999996, 0.6, 0.6000000238, 0.5999], dtype=np.float32)
    col = Collection(ready, pd.DataFrame({"id": ids, "score": scores.astype(float)}))
    assert len(col.filter(above=0.6)) == 3
    assert len(col.filter(between=(0.6, 0.7))) == 3
    assert len(col.filter(between=(0.5, 0.6))) == 4
    assert len(col.filter(below=0.6)) == 1  # strict: the three "0.6" are not below 0.6
    assert len(col.filter(above=0.6)) + len(col.filter(below=0.6)) == 4


def test_export_to_a_missing_folder_names_it(ready: aw.Project, tmp_path: Path) -> None:
    res = ready.search("x", limit=3)
    missing = tmp_path / "no" / "such"
    with pytest.raises(aw.AISearchError, match=re.escape(str(missing))):
        res.export(missing / "m.csv")
    (tmp_path / "adir.csv").mkdir()  # the final rename fails: no temporary file stays
    with pytest.raises(aw.AISearchError, match=r"adir\.csv"):
        res.export(tmp_path / "adir.csv", overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["adir.csv", "home", "images"]


def test_csv_cells_cannot_run_as_formulas(project_factory, tmp_path: Path, home: Path) -> None:
    """OWASP CSV injection: text cells starting with = + - @ tab CR get a quote, in
    Collection.export and in `aisearch search --csv`."""
    import csv

    from aisearch_widgets.cli import main

    root = tmp_path / "imgs"
    draw(root / "=cmd.png", "red", seed=50)
    draw(root / "plain.png", "blue", seed=51)
    proj = project_factory("inj", root)
    proj.update()
    evil = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "ok"]
    proj.search("x", limit=5).tag(*evil)
    exported = proj.search("x", limit=5).export(tmp_path / "m.csv")
    proj.close()
    main(["--home", str(home), "search", "inj", "x", "--csv", str(tmp_path / "c.csv")])
    for f in (exported, tmp_path / "c.csv"):
        rows = list(csv.DictReader(f.open(newline="")))
        assert len(rows) == 2
        # Text cells (numbers such as a negative score are data, not formulas).
        cells = [c for row in rows for k, c in row.items() if k in ("id", "path", "tags")]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], f
        assert rows[0]["tags"].startswith("'") and "=HYPERLINK" in rows[0]["tags"]


def test_df_is_built_once_per_catalog_state(ready: aw.Project, monkeypatch) -> None:
    from aisearch_widgets.catalog import Catalog

    res = ready.search("a red disc", limit=5)
    calls: list[int] = []
    records = Catalog.records
    monkeypatch.setattr(Catalog, "records", lambda cat, ids: calls.append(1) or records(cat, ids))
    first, again = res.df, res.df
    assert len(calls) == 1 and first.equals(again)
    first.loc[0, "path"] = "changed by the caller"  # a copy: the cached frame stays
    assert res.df.loc[0, "path"] != "changed by the caller" and len(calls) == 1
    res.tag("picked")  # the catalog changed: built again, with the new tag
    assert list(res.df["tags"]) == [["picked"]] * 5 and len(calls) == 2


def test_rows_are_ranked_best_first_once_whatever_order_they_come_in() -> None:
    """Rows already best first and unique are kept as given (ties in their order);
    others are sorted (no score last) and an id given twice keeps its best row."""
    from types import SimpleNamespace

    from aisearch_widgets.collection import Collection

    host = SimpleNamespace(model_identity="m")

    def ranked(ids, scores) -> tuple[list, list]:
        col = Collection(host, pd.DataFrame({"id": ids, "score": scores}, index=[7, 3, 5, 1]))
        return col.ids, list(col._items["rank"])

    assert ranked(["a", "c", "b", "d"], [0.9, 0.5, 0.5, 0.1]) == (
        ["a", "c", "b", "d"],
        [1, 2, 3, 4],
    )
    assert ranked(["a", "b", "c", "d"], [0.1, np.nan, 0.9, 0.5])[0] == ["c", "d", "a", "b"]
    assert ranked(["a", "b", "a", "c"], [0.2, 0.9, 0.7, 0.1]) == (["b", "a", "c"], [1, 2, 3])
    assert ranked(["a", "b", "a", "c"], [0.9, 0.8, 0.7, 0.1]) == (["a", "b", "c"], [1, 2, 3])
