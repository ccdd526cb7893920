from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets.widgets._parts import STATIC

from _helpers import make_folder


@pytest.fixture
def panel(project_factory, tmp_path: Path):
    root = tmp_path / "imgs"
    make_folder(root, 30, sub=False)
    proj = project_factory("p", root)
    panel = aw.SearchPanel(proj, page_size=8, poll_interval=0)
    sent: list[tuple[dict, list]] = []
    panel.gallery.send = lambda msg, buffers=None: sent.append((msg, buffers or []))  # type: ignore[method-assign]
    panel.sent = sent  # type: ignore[attr-defined]
    yield panel
    panel.close()


def _msg(widget, **content) -> None:
    widget._handle_custom_msg(content, [])


def test_bundle_ships_with_the_package() -> None:
    for f in ("controls.js", "gallery.js", "actions.js", "widgets.css"):
        assert (STATIC / f).stat().st_size > 500
    js = "".join((STATIC / f).read_text() for f in ("controls.js", "gallery.js", "actions.js"))
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js


def test_search_unavailable_until_first_pass(panel) -> None:
    assert panel.controls.ready is False
    _msg(panel.controls, type="search", mode="prompt", prompt="x", limit=5)
    assert "enable" in panel.controls.message and panel.controls.message_kind == "error"
    panel.project.update()
    panel._refresh_status()
    assert panel.controls.ready is True and panel.controls.done == 30


def test_prompt_search_fills_chart_and_gallery(panel) -> None:
    panel.project.update()
    _msg(panel.controls, type="search", mode="prompt", prompt="a red disc", limit=20)
    res = panel.result
    assert res is not None and len(res) == 20 and panel.project.last is res
    assert panel.gallery.total == 20 and len(panel.gallery.items) == 8
    scores = [it["score"] for it in panel.gallery.items]
    assert scores == sorted(scores, reverse=True)
    assert [it["id"] for it in panel.gallery.items] == res.ids[:8]
    assert int(np.sum(panel._bars.y)) == 20
    panel.gallery.page = 2
    assert [it["id"] for it in panel.gallery.items] == res.ids[16:20]


def test_brush_filters_gallery_on_release(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=30)
    lo, hi = float(np.quantile(res.scores, 0.25)), float(np.quantile(res.scores, 0.75))
    panel._brush.brushing = True
    panel._brush.selected = np.array([lo, hi])
    assert panel.gallery.total == 30  # nothing happens while the mouse moves
    panel._brush.brushing = False
    want = int(np.sum((res.scores >= lo) & (res.scores <= hi)))
    assert panel.score_range == (lo, hi) and panel.gallery.total == want
    assert all(lo <= it["score"] <= hi for it in panel.gallery.items)
    panel._brush.brushing = True
    panel._brush.selected = None  # a cleared brush means the full range
    panel._brush.brushing = False
    assert panel.score_range is None and panel.gallery.total == 30


def test_quick_buttons_above_below_full(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=30)
    t = float(np.median(res.scores))
    panel.above(t)
    assert panel.collection is not None and (panel.collection.scores >= t).all()
    assert panel.score_range == (t, float(res.scores.max()))
    n_above = panel.gallery.total
    panel.below()
    assert (panel.collection.scores < t).all() and panel.gallery.total == 30 - n_above
    panel.threshold = float(res.scores.max()) + 1
    assert panel.gallery.total == 30  # everything is below an impossible threshold
    panel.full_range()
    assert panel.score_range is None and panel._brush.selected is None


def test_thumbnails_travel_as_binary_buffers_a_page_at_a_time(panel) -> None:
    panel.project.update()
    panel.search("x", limit=20)
    ids = [it["id"] for it in panel.gallery.items]
    _msg(panel.gallery, type="thumbs", ids=ids, token=7)
    msg, buffers = panel.sent[-1]
    assert msg == {"type": "thumbs", "ids": ids, "token": 7}
    assert len(buffers) == 8 and all(b[:2] == b"\xff\xd8" for b in buffers)
    assert max(len(b) for b in buffers) <= 10_000
    # Ids that are not on screen are not served.
    _msg(panel.gallery, type="thumbs", ids=["../../etc/passwd"], token=8)
    assert panel.sent[-1][1] == [b""]


def test_selection_then_search_similar(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=10)
    panel.gallery.selected = res.ids[:2]
    assert panel.selected == res.ids[:2]
    _msg(panel.gallery, type="similar_selected")
    assert panel.controls.mode == "similar"
    assert [r["id"] for r in panel.controls.references] == res.ids[:2]
    assert panel.result is not None and panel.result.query["type"] == "similar"
    assert not set(res.ids[:2]) & set(panel.result.ids)
    assert panel.selected == []
    _msg(panel.gallery, type="similar_one", id=res.ids[3])
    assert res.ids[3] not in panel.result.ids


def test_save_tag_export_from_the_actions_bar(panel, tmp_path: Path) -> None:
    panel.project.update()
    panel.search("x", limit=10)
    panel.above(float(np.median(panel.result.scores)))
    _msg(panel.actions, type="save", name="best half")
    assert "best half" in panel.project.collections
    assert len(panel.project.collections["best half"]) == len(panel.collection)
    assert panel.actions.collections == ["best half"]
    _msg(panel.actions, type="save", name="best half")
    assert panel.actions.message_kind == "error" and "overwrite" in panel.actions.message
    _msg(panel.actions, type="tag", tag="good")
    assert panel.project.tags == {"good": len(panel.collection)}
    _msg(panel.actions, type="export", path=str(tmp_path / "m.csv"))
    assert (tmp_path / "m.csv").exists() and panel.actions.message_kind == "info"
    _msg(panel.actions, type="open", name="best half")
    assert panel.result.name == "best half"


def test_diverse_from_the_controls(panel) -> None:
    panel.project.update()
    _msg(panel.controls, type="search", mode="diverse", method="random", n=6, clusters=3)
    assert panel.result is not None and len(panel.result) == 6
    assert set(panel.result.df["cluster"]) <= {0, 1, 2}


# -- a hostile front end -------------------------------------------------------------------
@pytest.fixture
def spied(panel, monkeypatch: pytest.MonkeyPatch):
    """The panel of a ready project, recording every image read and every similar call."""
    import aisearch_widgets.images as images_mod
    from aisearch_widgets.project import Project

    panel.project.update()
    reads: list = []
    calls: list = []
    real_load, real_similar = images_mod.load, Project.similar

    def load(path, *a, **k):
        reads.append(str(path))
        return real_load(path, *a, **k)

    def similar(self, images=None, *a, **k):
        calls.append((images, k.get("ids")))
        return real_similar(self, images, *a, **k)

    monkeypatch.setattr(images_mod, "load", load)
    monkeypatch.setattr(Project, "similar", similar)
    panel.reads, panel.calls = reads, calls  # type: ignore[attr-defined]
    return panel


def _hostile_ids(tmp_path: Path, panel) -> list:
    from aisearch_widgets.sources import point_id

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    real = next(iter(Path(panel.project.sources[0].root).glob("*.png")))
    return [
        str(real),  # a real image of the project, named by path
        "/etc/passwd",
        "/dev/zero",
        str(fifo),
        str(tmp_path / "no-such.png"),
        "../../../../etc/shadow",
        point_id("another-project", "imgs/red_000.jpg"),  # an id, not of this project
        "x" * 5000,
        None,
        5,
        {"id": "x"},
    ]


def test_similar_messages_name_ids_of_the_project_only(spied, tmp_path: Path) -> None:
    panel = spied
    before = panel.result
    replies = set()
    for bad in _hostile_ids(tmp_path, panel):
        _msg(panel.gallery, type="similar_one", id=bad)
        replies.add((panel.controls.message, panel.controls.message_kind))
        panel.controls.references = [{"id": bad, "name": "x"}]
        _msg(panel.controls, type="search", mode="similar", limit=5)
        replies.add((panel.controls.message, panel.controls.message_kind))
        _msg(panel.gallery, type="preview", id=bad)
    # One generic reply whatever was named: no oracle for what exists.
    assert replies == {("That image is not part of this project.", "error")}
    assert panel.reads == [] and panel.calls == [] and panel.result is before
    assert not [m for m, _ in panel.sent if m.get("type") == "preview"]
    # Ids of the project still work, and go through ids= (never read as paths).
    pid = sorted(panel.project.catalog.all_ids())[0]
    _msg(panel.gallery, type="similar_one", id=pid)
    assert panel.calls == [(None, [pid])] and panel.result.query["type"] == "similar"
    assert panel.reads == []


def test_selection_from_the_browser_keeps_project_ids_only(spied, tmp_path: Path) -> None:
    panel = spied
    pid = sorted(panel.project.catalog.all_ids())[0]
    hostile = [h for h in _hostile_ids(tmp_path, panel) if isinstance(h, str)]
    panel.gallery.set_state({"selected": [*hostile, pid]})  # what a comm message does
    assert panel.selected == [pid]
    _msg(panel.gallery, type="similar_selected")
    assert panel.calls == [(None, [pid])] and panel.reads == []


def test_copy_and_export_targets_from_the_browser(spied, tmp_path: Path) -> None:
    panel = spied
    panel.search("x", limit=4)
    allowed = tmp_path  # the parent folder of the project's source folder
    assert panel.allowed_dirs == [str(tmp_path.resolve())]
    outside = tmp_path.parent / "outside-target"
    (allowed / "link").symlink_to(tmp_path.parent)
    (allowed / "taken.csv").write_text("mine")
    bad_exports = [
        str(outside / "m.csv"),
        str(allowed / ".." / "escape.csv"),
        str(allowed / "link" / "via-link.csv"),
        str(allowed / "taken.csv"),  # never overwritten
        "/dev/zero",
        "/etc/passwd",
        "",
        None,
        "a\x00b.csv",
    ]
    replies = set()
    for target in bad_exports:
        _msg(panel.actions, type="export", path=target)
        replies.add((panel.actions.message, panel.actions.message_kind))
    for target in [str(outside), str(allowed / ".." / "up"), str(allowed / "link"), "/tmp"]:
        _msg(panel.actions, type="copy", dir=target)
        replies.add((panel.actions.message, panel.actions.message_kind))
    assert len(replies) == 1 and next(iter(replies))[1] == "error"
    assert "must be inside" in next(iter(replies))[0]
    assert not outside.exists() and not (tmp_path.parent / "escape.csv").exists()
    assert not (tmp_path.parent / "via-link.csv").exists() and not (tmp_path.parent / "up").exists()
    assert (allowed / "taken.csv").read_text() == "mine"
    # Inside the allowed folder both work; a second copy skips, never overwrites.
    _msg(panel.actions, type="export", path=str(allowed / "ok.csv"))
    assert (allowed / "ok.csv").exists() and panel.actions.message_kind == "info"
    _msg(panel.actions, type="copy", dir=str(allowed / "picked"))
    assert len(list((allowed / "picked").iterdir())) == 4
    _msg(panel.actions, type="copy", dir=str(allowed / "picked"))
    assert "4 skipped" in panel.actions.message
    assert panel.reads == []


def test_allowed_dirs_can_be_set(project_factory, tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    make_folder(root, 4, sub=False)
    proj = project_factory("q", root)
    proj.update()
    panel = aw.SearchPanel(proj, poll_interval=0, allowed_dirs=[tmp_path / "exports"])
    try:
        panel.search("x", limit=2)
        _msg(panel.actions, type="export", path=str(tmp_path / "m.csv"))
        assert panel.actions.message_kind == "error" and not (tmp_path / "m.csv").exists()
        (tmp_path / "exports").mkdir()
        _msg(panel.actions, type="export", path=str(tmp_path / "exports" / "m.csv"))
        assert (tmp_path / "exports" / "m.csv").exists()
    finally:
        panel.close()
