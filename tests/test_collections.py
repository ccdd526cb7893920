from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets.collections import safe_target

from _helpers import draw


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
        assert ready.catalog.records([pid])[pid][1] == target
    assert ready.search("x", limit=100, tags=["keep"]).ids == res.ids
    s = ready.update()  # the inventory followed: nothing to do
    assert (s["added"], s["deleted"], s["embedded"]) == (0, 0, 0)
    after = ready.store.retrieve(res.ids)
    for pid in res.ids:
        np.testing.assert_allclose(after[pid][0], vec_before[pid][0], atol=1e-6)
        assert after[pid][1]["path"].startswith(str(dest))
    assert ready.status.done == 12

    # Moving back inside a source folder works too.
    back = ready.search("x", limit=100, tags=["keep"])
    back.move_to(Path(ready.sources[0].root) / "returned")
    s = ready.update()
    assert (s["added"], s["deleted"]) == (0, 0)
    cfg = json.loads((ready.folder / "project.json").read_text())
    assert [src["kind"] for src in cfg["sources"]] == ["folder"]


def test_delete_needs_confirmation_and_updates_index(ready: aw.Project) -> None:
    res = ready.search("x", limit=3)
    with pytest.raises(aw.AISearchError, match="confirm=True"):
        res.delete()
    paths = res.paths
    rep = res.delete(confirm=True)
    assert list(rep["status"]) == ["deleted"] * 3
    assert not any(os.path.exists(p) for p in paths)
    assert ready.store.count() == 9 and ready.status.total == 9
    assert ready.update()["deleted"] == 0


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
