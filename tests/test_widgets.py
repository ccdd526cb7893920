from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import traitlets

import aisearch_widgets as aw
from aisearch_widgets.widgets import _protocol as proto
from aisearch_widgets.widgets._parts import STATIC
from aisearch_widgets.widgets._protocol import Request

from _helpers import make_folder, record_sends

JS_SRC = Path(__file__).resolve().parents[1] / "js" / "src"
_rids = itertools.count(1)


def _send(widget, **content) -> str:
    """Send a request as the front end does (with a fresh request id); its id."""
    rid = f"t-{next(_rids)}"
    widget._handle_custom_msg({"rid": rid, **content}, [])
    return rid


def _replies(widget, rid: str) -> list[dict]:
    return [m for m, _ in widget.sent if m.get("rid") == rid]


def _wait_reply(widget, rid: str, timeout: float = 30.0) -> dict:
    """The one reply to ``rid`` (a search is answered from a worker thread)."""
    end = time.monotonic() + timeout
    while not _replies(widget, rid) and time.monotonic() < end:
        time.sleep(0.005)
    time.sleep(0.01)  # a second reply would be a bug: give it the chance to show
    replies = _replies(widget, rid)
    assert len(replies) == 1 and replies[0]["type"] == proto.REPLY, replies
    return replies[0]


def _msg(widget, **content) -> dict:
    """Send a request as the front end does; the one reply Python sent back to that
    part (waited for: searches run off the comm handler)."""
    return _wait_reply(widget, _send(widget, **content))


def test_bundle_ships_with_the_package() -> None:
    for f in ("controls.js", "gallery.js", "actions.js", "chart.js", "widgets.css"):
        assert (STATIC / f).stat().st_size > 500
    js = "".join(
        (STATIC / f).read_text() for f in ("controls.js", "gallery.js", "actions.js", "chart.js")
    )
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js


def test_search_unavailable_until_first_pass(panel) -> None:
    assert panel.controls.ready is False
    reply = _msg(panel.controls, type="search_prompt", prompt="x", limit=5)
    assert reply["ok"] is False and "enable" in reply["error"]
    assert panel.controls.message == reply["error"] and panel.controls.message_kind == "error"
    panel.project.update()
    panel._refresh_status()
    assert panel.controls.ready is True and panel.controls.done == 30


def test_prompt_search_fills_chart_and_gallery(panel) -> None:
    panel.project.update()
    assert _msg(panel.controls, type="search_prompt", prompt="a red disc", limit=20)["ok"]
    res = panel.result
    assert res is not None and len(res) == 20 and panel.project.last is res
    assert panel.gallery.total == 20 and len(panel.gallery.items) == 8
    scores = [it["score"] for it in panel.gallery.items]
    assert scores == sorted(scores, reverse=True)
    assert [it["id"] for it in panel.gallery.items] == res.ids[:8]
    assert sum(panel.chart.counts) == 20 and len(panel.chart.edges) == len(panel.chart.counts) + 1
    panel.gallery.page = 2
    assert [it["id"] for it in panel.gallery.items] == res.ids[16:20]


def test_brush_filters_gallery_on_release(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=30)
    lo, hi = float(np.quantile(res.scores, 0.25)), float(np.quantile(res.scores, 0.75))
    assert _msg(panel.chart, type="set_range", lo=lo, hi=hi)["ok"]
    want = int(np.sum((res.scores >= lo) & (res.scores <= hi)))
    assert panel.score_range == (lo, hi) and panel.gallery.total == want
    assert all(lo <= it["score"] <= hi for it in panel.gallery.items)
    # The chart shows the range, and the threshold is its left end (one value).
    c = panel.chart
    assert (c.filter, c.lo, c.hi, c.threshold) == ("between", lo, hi, lo)
    assert _msg(panel.chart, type="full_range")["ok"]
    assert panel.score_range is None and panel.gallery.total == 30 and c.filter == "all"


def test_a_brush_to_the_last_bar_keeps_the_top_hit(panel) -> None:
    """Issue 21: brushing to the right end of the last bar gave 0.610-0.731 and
    dropped the top hit at 0.732. The chart snaps a brush to bar edges; the last
    edge is the top score, and both ends are included."""
    panel.project.update()
    res = panel.search("x", limit=30)
    edges = panel.chart.edges
    assert edges[-1] == pytest.approx(float(res.scores.max()), abs=1e-9)
    assert _msg(panel.chart, type="set_range", lo=edges[-3], hi=edges[-1])["ok"]
    assert res.ids[0] in [it["id"] for it in panel.gallery.items]
    want = int(np.sum(panel.chart.counts[-2:]))
    assert panel.gallery.total == want


def test_one_threshold_typed_dragged_or_suggested(panel) -> None:
    """Issue 21: the box, the line and the brush are one value; typing a value and
    pressing Enter (a set_threshold request) applies it at once; the threshold does
    not default to the median."""
    panel.project.update()
    res = panel.search("x", limit=30)
    c = panel.chart
    t0 = c.threshold
    assert t0 == (panel.suggested_threshold or pytest.approx(round(float(res.scores.min()), 3)))
    assert c.filter == "all"  # a new search shows everything; the line waits
    t = round(float(np.quantile(res.scores, 0.6)), 3)
    assert _msg(c, type="set_threshold", side="above", value=t)["ok"]
    want = int(np.sum(res.scores >= t - 1e-6))
    assert panel.threshold == t and panel.gallery.total == want
    assert (c.filter, c.lo, c.threshold) == ("above", t, t)
    assert panel.header.endswith(f"above {t:.3f}")
    assert _msg(c, type="set_threshold", side="below", value=t)["ok"]
    assert panel.gallery.total == 30 - want and (c.filter, c.hi) == ("below", t)
    # Not a number: refused by the protocol, shown in the chart.
    for bad in ("0.5", None, float("nan")):
        reply = _msg(c, type="set_threshold", side="above", value=bad)
        assert reply["ok"] is False and "finite number" in reply["error"]
    assert panel.threshold == t and c.message_kind == "error"


def test_the_score_chart_is_for_query_scores_only(panel) -> None:
    """A diverse sample, outliers or a map selection has no similarity scores to
    chart: nothing is drawn (and nothing before a search)."""
    panel.project.update()
    assert panel.chart.counts == []
    panel.search("x", limit=10)
    assert sum(panel.chart.counts) == 10
    panel.diverse(n=4)
    assert panel.chart.counts == [] and panel.chart.suggested is None
    panel.outliers(3)
    assert panel.chart.counts == []
    panel.mode = "prompt"  # the prompt tab's own result, with its chart
    assert sum(panel.chart.counts) == 10


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
    assert panel.score_range is None and panel.chart.filter == "all"


def test_thumbnails_travel_as_binary_buffers_a_page_at_a_time(panel) -> None:
    panel.project.update()
    panel.search("x", limit=20)
    ids = [it["id"] for it in panel.gallery.items]
    reply = _msg(panel.gallery, type="thumbs", ids=ids)
    msg, buffers = panel.sent[-1]
    assert msg == {"type": "reply", "rid": reply["rid"], "ok": True, "ids": ids}
    assert len(buffers) == 8 and all(b[:2] == b"\xff\xd8" for b in buffers)
    assert max(len(b) for b in buffers) <= 10_000
    # Ids that are not on screen are not served.
    assert _msg(panel.gallery, type="thumbs", ids=["../../etc/passwd"])["ok"]
    assert panel.sent[-1][1] == [b""]


def test_selection_then_search_similar(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=10)
    panel.gallery.selected = res.ids[:2]
    assert panel.selected == res.ids[:2]
    _msg(panel.actions, type="similar_selected", count=2)
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
    n = len(panel.collection)
    assert panel.actions.n_shown == n and panel.actions.n_selected == 0
    _msg(panel.actions, type="save", name="best half", count=n)
    assert "best half" in panel.project.collections
    assert len(panel.project.collections["best half"]) == n
    assert panel.actions.collections == ["best half"]
    _msg(panel.actions, type="save", name="best half", count=n)
    assert panel.actions.message_kind == "error" and "overwrite" in panel.actions.message
    _msg(panel.actions, type="tag", tag="good", count=n)
    assert panel.project.tags == {"good": n}
    _msg(panel.actions, type="export", path=str(tmp_path / "m.csv"), count=n)
    assert (tmp_path / "m.csv").exists() and panel.actions.message_kind == "info"
    _msg(panel.actions, type="open", name="best half")
    assert panel.result.name == "best half"


def test_diverse_from_the_controls(panel) -> None:
    panel.project.update()
    _msg(panel.controls, type="search_diverse", method="random", n=6, clusters=3)
    assert panel.result is not None and len(panel.result) == 6
    assert set(panel.result.df["cluster"]) <= {0, 1, 2}


class FakeTrash:
    """The trash API another part of the project provides, faked for the panel's tests:
    ``Collection.delete(confirm=True)`` moves each file into a folder and reports it
    ``trashed`` (or ``skipped`` with the reason in ``skip``); ``project.trash.select(ids)
    .restore()`` puts the files back and reports them ``restored``."""

    COLUMNS = ("id", "source", "target", "status", "message")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.held: dict[str, tuple[str, str]] = {}  # id -> (original path, trash path)
        self.skip: dict[str, str] = {}
        self.chosen: list[str] = []
        self.deletes: list[list[str]] = []

    def delete(self, col, confirm=False, *, videos=False, permanent=False):
        assert confirm and not permanent
        recs = col._project.catalog.records(col.ids)
        self.deletes.append(col.ids)
        rows = []
        for i in col.ids:
            src = recs[i].path
            if i in self.skip:
                rows.append((i, src, None, "skipped", self.skip[i]))
                continue
            target = str(self.folder / f"{i}{Path(src).suffix}")
            os.replace(src, target)
            self.held[i] = (src, target)
            rows.append((i, src, target, "trashed", ""))
        return pd.DataFrame(rows, columns=list(self.COLUMNS))

    def select(self, ids):
        self.chosen = list(ids)
        return self

    def restore(self):
        rows = []
        for i in self.chosen:
            src, target = self.held.pop(i)
            os.replace(target, src)
            rows.append((i, target, src, "restored", ""))
        return pd.DataFrame(rows, columns=list(self.COLUMNS))


@pytest.fixture
def fake_trash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeTrash:
    from aisearch_widgets.project import Project

    fake = FakeTrash(tmp_path / "fake-trash")
    monkeypatch.setattr(
        aw.Collection, "delete", lambda self, confirm=False, **k: fake.delete(self, confirm, **k)
    )
    monkeypatch.setattr(Project, "trash", property(lambda self: fake), raising=False)
    return fake


def _show_groups(panel, sizes: list[int], extra: dict | None = None, query: dict | None = None):
    """Show a designed duplicates result: groups of the project's images (the first
    of each group proposed as the best copy)."""
    recs = panel.project.catalog.records(sorted(panel.project.catalog.all_ids()))
    ids = [i for i, r in recs.items() if os.path.exists(r.path)][: sum(sizes)]
    groups = [g for g, n in enumerate(sizes) for _ in range(n)]
    best = [i == 0 or groups[i] != groups[i - 1] for i in range(len(ids))]
    items = pd.DataFrame({"id": ids, "score": 0.99, "group": groups, "best": best, **(extra or {})})
    coll = aw.Collection(panel.project, items, query={"type": "duplicates", **(query or {})})
    panel.show(coll)
    return coll


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
    replies, shown = set(), set()
    for bad in _hostile_ids(tmp_path, panel):
        panel.controls.references = [{"id": bad, "name": "x"}]  # what a comm message does
        for part, msg in [
            (panel.gallery, {"type": "similar_one", "id": bad}),
            (panel.controls, {"type": "search_similar", "ids": [bad], "limit": 5}),
            (panel.gallery, {"type": "preview", "id": bad, "size": 768}),
        ]:
            reply = _msg(part, **msg)
            if isinstance(bad, str) or msg["type"] == "search_similar":
                replies.add((reply["ok"], reply["error"]))
            else:  # not even a string: refused by the protocol, as an error too
                assert reply["ok"] is False and "must be a string" in reply["error"]
            shown.add((part.message, part.message_kind))
    # One generic reply whatever was named: no oracle for what exists.
    assert replies == {(False, "That image is not part of this project.")}
    assert ("That image is not part of this project.", "error") in shown
    assert {kind for _, kind in shown} == {"error"}
    assert panel.reads == [] and panel.calls == [] and panel.result is before
    assert all(bufs == [] for _, bufs in panel.gallery.sent)
    # Ids of the project still work, and go through ids= (never read as paths).
    pid = sorted(panel.project.catalog.all_ids())[0]
    _msg(panel.gallery, type="similar_one", id=pid)
    assert panel.calls == [(None, [pid])] and panel.result.query["type"] == "similar"
    assert panel.reads == []


def test_selection_from_the_browser_keeps_project_ids_only(spied, tmp_path: Path) -> None:
    panel = spied
    pid = panel.search("x", limit=30).ids[0]
    panel.calls.clear()
    hostile = [h for h in _hostile_ids(tmp_path, panel) if isinstance(h, str)]
    panel.gallery.set_state({"selected": [*hostile, pid]})  # what a comm message does
    assert panel.selected == [pid]
    _msg(panel.actions, type="similar_selected", count=1)
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
        "a\x00b.csv",
    ]
    assert "must be a string" in _msg(panel.actions, type="export", path=None, count=4)["error"]
    replies = set()
    for target in bad_exports:
        _msg(panel.actions, type="export", path=target, count=4)
        replies.add((panel.actions.message, panel.actions.message_kind))
    for target in [str(outside), str(allowed / ".." / "up"), str(allowed / "link"), "/tmp"]:
        reply = _msg(panel.actions, type="copy", dir=target, count=4)
        assert reply["ok"] is False and reply["error"] == panel.actions.message
        replies.add((panel.actions.message, panel.actions.message_kind))
    assert len(replies) == 1 and next(iter(replies))[1] == "error"
    assert "must be inside" in next(iter(replies))[0]
    assert not outside.exists() and not (tmp_path.parent / "escape.csv").exists()
    assert not (tmp_path.parent / "via-link.csv").exists() and not (tmp_path.parent / "up").exists()
    assert (allowed / "taken.csv").read_text() == "mine"
    # Inside the allowed folder both work; a second copy skips, never overwrites.
    _msg(panel.actions, type="export", path=str(allowed / "ok.csv"), count=4)
    assert (allowed / "ok.csv").exists() and panel.actions.message_kind == "info"
    _msg(panel.actions, type="copy", dir=str(allowed / "picked"), count=4)
    assert len(list((allowed / "picked").iterdir())) == 4
    _msg(panel.actions, type="copy", dir=str(allowed / "picked"), count=4)
    assert "4 skipped" in panel.actions.message
    assert panel.reads == []


def test_allowed_dirs_can_be_set(project_factory, tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    make_folder(root, 4, sub=False)
    proj = project_factory("q", root)
    proj.update()
    panel = aw.SearchPanel(proj, poll_interval=0, allowed_dirs=[tmp_path / "exports"])
    record_sends(panel)
    try:
        panel.search("x", limit=2)
        _msg(panel.actions, type="export", path=str(tmp_path / "m.csv"), count=2)
        assert panel.actions.message_kind == "error" and not (tmp_path / "m.csv").exists()
        (tmp_path / "exports").mkdir()
        _msg(panel.actions, type="export", path=str(tmp_path / "exports" / "m.csv"), count=2)
        assert (tmp_path / "exports" / "m.csv").exists()
    finally:
        panel.close()


# -- the protocol ------------------------------------------------------------------------
def test_protocol_js_is_generated_from_python() -> None:
    """js/src/protocol.js is what Python generates, and the shipped bundle carries it:
    the two sides cannot drift (regenerate, then `npm run build` in js/)."""
    assert (JS_SRC / "protocol.js").read_text() == proto.to_js(), (
        "js/src/protocol.js is stale: run `python -m aisearch_widgets.widgets._protocol "
        "> js/src/protocol.js` and `npm run build` in js/"
    )
    bundles = {p: (STATIC / f"{p.value}.js").read_text() for p in proto.Part}
    for req, spec in proto.SPECS.items():
        assert f'"{req.value}"' in bundles[spec.part], f"{req.value}: rebuild the bundle"
    # The front end sends requests only through the protocol's names.
    for f in ("controls.js", "gallery.js", "actions.js", "chart.js"):
        src = (JS_SRC / f).read_text()
        assert "model.send(" not in src and "requester(" in src
        assert not re.search(r"send\(\s*[\"'`]", src), f"{f}: a bare message type"


def test_the_front_end_writes_only_its_view_selections() -> None:
    """Each value travels one way: search parameters in requests, the traits of the
    same names from Python. The front end writes the tab, the page, the selection and
    the gallery's view (thumbnails or video segments)."""
    files = ("controls.js", "gallery.js", "lightbox.js", "actions.js", "chart.js")
    src = "".join((JS_SRC / f).read_text() for f in files)
    assert set(re.findall(r'model\.set\("(\w+)"', src)) == {
        "mode",
        "page",
        "selected",
        "view",
        "tag_filter",
    }


def test_closed_sets_are_enum_traits(panel) -> None:
    c = panel.controls
    for name, bad in [("mode", "sideways"), ("method", "fastest"), ("state", "sleepy")]:
        with pytest.raises(traitlets.TraitError):
            setattr(c, name, bad)
    for part in (panel.controls, panel.gallery, panel.actions):
        with pytest.raises(traitlets.TraitError):
            part.message_kind = "shouting"
    assert set(c.traits()["method"].values) == {m.value for m in proto.Method}


def test_every_request_type_is_dispatched_and_answered(panel, tmp_path: Path, fake_trash) -> None:
    """One valid request of every type: each gets exactly one ok reply with its id."""
    panel.project.update()
    c, g, a = panel.controls, panel.gallery, panel.actions
    seen: set[Request] = set()

    def ok(part, **content) -> dict:
        reply = _msg(part, **content)
        assert reply["ok"] is True and "error" not in reply, reply
        seen.add(Request(content["type"]))
        return reply

    ok(c, type="search_prompt", prompt="a red disc", limit=12)
    ok(c, type="cancel")  # nothing runs: answered all the same
    ok(panel.chart, type="set_threshold", side="above", value=float(panel.result.scores[5]))
    assert panel.gallery.total == 6
    ok(panel.chart, type="set_range", lo=0.0, hi=1.0)
    ok(panel.chart, type="full_range")
    ids = panel.result.ids
    assert len(ids) == 12 and (c.mode, c.prompt, c.limit) == ("prompt", "a red disc", 12)
    ok(c, type="search_diverse", n=5, method="random", clusters=2)
    assert len(panel.result) == 5 and (c.mode, c.n, c.method, c.clusters) == (
        "diverse",
        5,
        "random",
        2,
    )
    ok(c, type="search_similar", ids=ids[:2], limit=4)
    assert len(panel.result) == 4 and c.mode == "similar"
    assert [r["id"] for r in c.references] == ids[:2]
    ok(c, type="remove_reference", id=ids[0])
    assert [r["id"] for r in c.references] == [ids[1]]
    shown = [it["id"] for it in g.items]
    reply = ok(g, type="thumbs", ids=shown)
    assert reply["ids"] == shown and all(b[:2] == b"\xff\xd8" for b in g.sent[-1][1])
    reply = ok(g, type="page_ahead", page=0, view=g.view_id)
    assert [it["id"] for it in reply["items"]] == shown == reply["ids"]
    reply = ok(g, type="preview", id=shown[0], size=900)
    assert reply["name"].endswith((".png", ".jpg")) and g.sent[-1][1][0][:2] == b"\xff\xd8"
    details = ok(g, type="details", id=shown[0])["details"]
    assert details["name"] == f"imgs/{reply['name']}" and details["width"] > 0
    ok(g, type="tag_images", ids=shown[:2], tag="kb")
    assert sorted(panel.project.tagged("kb").ids) == sorted(shown[:2])
    ok(g, type="untag_images", ids=shown[:2], tag="kb")
    assert ok(g, type="select_all")["count"] == g.total == len(panel.selected)
    g.selected = []
    ok(g, type="similar_one", id=shown[0])
    assert shown[0] not in panel.result.ids
    g.selected = panel.result.ids[:2]
    ok(a, type="similar_selected", count=2)
    assert panel.selected == [] and panel.result.query["type"] == "similar"
    n = a.n_shown
    ok(a, type="save", name="kept", count=n)
    ok(a, type="tag", tag="good", count=n)
    ok(a, type="untag", tag="good", count=n)
    ok(a, type="copy", dir=str(tmp_path / "copied"), count=n)
    ok(a, type="export", path=str(tmp_path / "m.csv"), count=n)
    ok(a, type="open", name="kept")
    assert panel.result.name == "kept" and (tmp_path / "m.csv").exists()
    assert panel.project.tags == {}
    g.selected = panel.result.ids[:1]
    ok(a, type="move", dir=str(tmp_path / "moved"), count=1)
    assert len(list((tmp_path / "moved").iterdir())) == 1
    ok(a, type="delete", count=1)
    assert a.undo == "Undo" and len(panel.result) == 3
    ok(a, type="undo_delete")
    assert len(panel.result) == 4 and fake_trash.held == {}
    g.selected = panel.result.ids[:2]
    panel.above(float(panel.result.scores[0]))
    assert a.n_hidden == 1
    ok(a, type="drop_hidden")
    assert panel.selected == panel.result.ids[:1]
    was = panel.project.enabled
    ok(c, type="toggle_enabled")
    assert panel.project.enabled is (not was) and c.enabled is (not was)
    ok(c, type="toggle_enabled")
    assert panel.project.enabled is was and c.enabled is was
    ok(c, type="update_now")
    assert c.message == "Update started."
    panel.project.wait(progress=False)
    ok(c, type="search_outliers", n=3)
    assert len(panel.result) == 3 and c.mode == "outliers"
    ok(a, type="export_as", path=str(tmp_path / "coco.json"), format="coco", count=3)
    assert (tmp_path / "coco.json").exists()
    ok(c, type="scope_options")
    ok(c, type="set_scope", within="project", name="", filters=[{"kind": "size", "min_width": 1}])
    ok(c, type="search_quality", issue="")
    assert c.mode == "outliers" and panel.result.query["type"] == "quality"
    ok(c, type="set_scope", within="project", name="", filters=[])
    ok(c, type="search_duplicates")
    assert c.mode == "duplicates" and panel.result.query["type"] == "duplicates"
    ok(a, type="tag_all_but_best", tag="dup")
    ok(a, type="delete_all_but_best", count=a.extra_copies)
    _show_groups(panel, [3, 2])
    reply = ok(g, type="compare", group=0)
    assert len(reply["rows"]) == 3 and len(g.sent[-1][1]) == 3 + 2  # pictures, differences
    ok(g, type="set_keeper", id=panel.result.ids[1])
    ok(g, type="trash_group", group=0, count=2)
    assert ok(g, type="mark", id=panel.result.ids[0], mark="up")["positives"] != []
    ok(a, type="refine")
    assert panel.result.query["type"] == "refine"
    ok(g, type="mark", id=panel.result.ids[0], mark="none")
    assert ok(a, type="labelling_form")["url"]
    # send_to_labelling needs a Label Studio server: its ok reply is checked against a
    # real one in test_panel_sendlab.py.
    seen.add(Request.SEND_TO_LABELLING)

    assert seen == set(Request), f"untested request types: {set(Request) - seen}"


def test_malformed_requests_get_error_replies(panel, caplog) -> None:
    panel.project.update()
    cases = [
        (panel.controls, {"type": "launch_rockets"}, "unknown message type"),
        (panel.controls, {"type": "thumbs", "ids": []}, "unknown message type"),  # wrong part
        (panel.controls, {"type": "search_prompt", "prompt": "x"}, "'limit'"),  # missing
        (panel.controls, {"type": "search_prompt", "prompt": "x", "limit": "ten"}, "'limit'"),
        (panel.controls, {"type": "search_prompt", "prompt": "x", "limit": 2.5}, "'limit'"),
        (panel.controls, {"type": "search_prompt", "prompt": 3, "limit": 5}, "'prompt'"),
        (
            panel.controls,
            {"type": "search_diverse", "n": 3, "method": "fastest", "clusters": 0},
            "centroids, random",
        ),
        (panel.gallery, {"type": "thumbs", "ids": "abc"}, "must be a list"),
        (panel.actions, {"type": None}, "unknown message type"),
    ]
    for part, msg, words in cases:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="aisearch_widgets"):
            reply = _msg(part, **msg)
        assert reply["ok"] is False and words in reply["error"], (msg, reply)
        assert part.message == reply["error"] and part.message_kind == "error"
        assert any(reply["error"] in r.getMessage() for r in caplog.records)
    assert panel.result is None
    # A request without an id is still answered (with no id).
    panel.actions._handle_custom_msg({"type": "export"}, [])
    assert panel.actions.sent[-1][0] == {
        "type": "reply",
        "rid": None,
        "ok": False,
        "error": panel.actions.message,
    }
    # A good request clears the part's old error.
    assert _msg(panel.controls, type="search_prompt", prompt="x", limit=3)["ok"]
    assert panel.controls.message_kind == "info"


def test_an_unexpected_handler_error_is_shown_answered_and_logged(
    panel, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    from aisearch_widgets.project import Project

    panel.project.update()

    def broken(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Project, "disable", broken)
    monkeypatch.setattr(Project, "enable", broken)
    with caplog.at_level(logging.ERROR, logger="aisearch_widgets"):
        reply = _msg(panel.controls, type="toggle_enabled")
    assert reply["ok"] is False and "OSError" in reply["error"] and "No space" in reply["error"]
    assert panel.controls.message == reply["error"] and panel.controls.message_kind == "error"
    (rec,) = [r for r in caplog.records if r.exc_info]
    assert isinstance(rec.exc_info[1], OSError) and "toggle_enabled" in rec.getMessage()


def test_a_broken_thumbnail_does_not_stop_the_page(
    panel, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    from aisearch_widgets._thumbs import ThumbnailCache

    panel.project.update()
    panel.search("x", limit=8)
    ids = [it["id"] for it in panel.gallery.items]
    real = ThumbnailCache.get

    def get(self, pid):  # the disk fails on one thumbnail file
        if pid == ids[2]:
            raise OSError(5, "Input/output error")
        return real(self, pid)

    monkeypatch.setattr(ThumbnailCache, "get", get)
    with caplog.at_level(logging.ERROR, logger="aisearch_widgets"):
        reply = _msg(panel.gallery, type="thumbs", ids=ids)
    buffers = panel.gallery.sent[-1][1]
    # Every id is answered: the broken one with an empty buffer, the others drawn.
    assert reply["ids"] == ids and len(buffers) == len(ids) and buffers[2] == b""
    assert all(b[:2] == b"\xff\xd8" for i, b in enumerate(buffers) if i != 2)
    # And the failure is visible and logged.
    assert reply["ok"] is False and "OSError" in reply["error"]
    assert panel.gallery.message == reply["error"] and panel.gallery.message_kind == "error"
    assert [r.exc_info[1].errno for r in caplog.records if r.exc_info] == [5]


# -- curation: suggested threshold, duplicates, outliers, map --------------------------
def _show_scores(panel, scores: list[float]):
    """Show a collection of the project's images with designed scores."""
    import pandas as pd

    ids = sorted(panel.project.catalog.all_ids())[: len(scores)]
    items = pd.DataFrame({"id": ids, "score": scores})
    coll = aw.Collection(panel.project, items, query={"type": "prompt", "text": "designed"})
    panel.show(coll)
    return coll


def test_suggested_threshold_marker_and_button(panel) -> None:
    panel.project.update()
    rng = np.random.default_rng(0)
    head = list(0.80 + 0.04 * rng.random(10))
    _show_scores(panel, head + list(0.20 + 0.08 * rng.random(20)))
    t = panel.suggested_threshold
    assert t is not None and 0.28 < t < 0.80
    assert panel.chart.suggested == t and panel.chart.threshold == t  # drawn, and the line
    assert _msg(panel.chart, type="set_threshold", side="above", value=t)["ok"]
    assert panel.gallery.total == 10 and panel.score_range == (t, max(head))
    # One mode, no cut: no marker (the front end says why the button is off).
    _show_scores(panel, list(rng.normal(0.5, 0.02, 30)))
    assert panel.suggested_threshold is None and panel.chart.suggested is None
    panel.above_suggested()
    assert "no clear cut" in panel.chart.message


@pytest.fixture
def dup_panel(project_factory, tmp_path: Path):
    """A panel over 3 distinct images plus exact copies: red_000 twice, green_001 once."""
    import shutil

    from _helpers import touch_later

    root = tmp_path / "imgs"
    files = make_folder(root, 3, sub=False)
    copies = [root / "copy_a.jpg", root / "copy_b.jpg", root / "copy_c.png"]
    for src, dst in zip([files[0], files[0], files[1]], copies, strict=True):
        shutil.copyfile(src, dst)
        touch_later(dst, 60)  # the originals are the oldest: the best copies
    proj = project_factory("d", root)
    proj.update()
    panel = aw.SearchPanel(proj, page_size=8, poll_interval=0)
    record_sends(panel)
    panel.originals, panel.copies = files[:2], copies  # type: ignore[attr-defined]
    yield panel
    panel.close()


def test_duplicates_mode_groups_and_acts_on_all_but_the_best(dup_panel) -> None:
    from _integrity import assert_consistent

    panel = dup_panel
    assert _msg(panel.controls, type="search_duplicates")["ok"]
    assert panel.controls.mode == "duplicates"
    items = panel.gallery.items
    assert [(it["group"], it["group_size"], it["best"]) for it in items] == [
        (0, 3, True),
        (0, 3, False),
        (0, 3, False),
        (1, 2, True),
        (1, 2, False),
    ]
    names = [it["name"] for it in items]
    assert names[0] == panel.originals[0].name and names[3] == panel.originals[1].name
    assert panel.actions.extra_copies == 3
    # Tag all but the best: exactly the copies.
    assert _msg(panel.actions, type="tag_all_but_best", tag="dup")["ok"]
    tagged = panel.project.tagged("dup")
    assert sorted(Path(p).name for p in tagged.paths) == sorted(c.name for c in panel.copies)
    # Delete all but the best: only what the user confirmed, only the copies.
    reply = _msg(panel.actions, type="delete_all_but_best", count=2)
    assert reply["ok"] is False and "confirmed 2" in reply["error"]
    assert all(c.exists() for c in panel.copies)
    assert _msg(panel.actions, type="delete_all_but_best", count=3)["ok"]
    assert not any(c.exists() for c in panel.copies)
    assert all(o.exists() for o in panel.originals)
    assert panel.actions.message == "Moved 3 to trash", panel.actions.message
    assert len(panel.result) == 0 and panel.actions.extra_copies == 0
    assert_consistent(panel.project)
    # Not a duplicates view: nothing to act on.
    panel.search("x", limit=5)
    reply = _msg(panel.actions, type="delete_all_but_best", count=0)
    assert reply["ok"] is False and "Find duplicates first" in reply["error"]


def test_outliers_mode_ranks_the_most_unusual(panel) -> None:
    panel.project.update()
    assert _msg(panel.controls, type="search_outliers", n=5)["ok"]
    res = panel.result
    assert panel.controls.mode == "outliers" and panel.controls.limit == 5
    assert res.query["type"] == "outliers" and len(res) == 5
    assert [it["id"] for it in panel.gallery.items] == res.ids
    scores = [it["score"] for it in panel.gallery.items]
    assert scores == sorted(scores, reverse=True)


def test_map_lasso_fills_the_gallery_and_gallery_selection_highlights(panel) -> None:
    panel.project.update()
    assert panel.map_view is None and panel.map_pane.children[1].layout.display == "none"
    query = panel.search("a red disc", limit=10)
    panel.show_map()
    view = panel.map_view
    widget = view.scatter.widget
    assert len(view.ids) == 30 and panel.map_pane.children[1].children == (view.widget,)
    # Points travel as binary arrays (jupyter-scatter's ndarray serialisation).
    assert isinstance(widget.points, np.ndarray) and widget.points.shape[0] == 30
    assert view.scatter.color()["by"] == "score"  # coloured by the query
    # A lasso (what the browser writes): the gallery shows those images, query score first.
    in_query = [view.ids.index(i) for i in query.ids[:3]]
    others = [r for r in range(30) if view.ids[r] not in query.ids][:4]
    widget.selection = np.array(sorted(in_query + others), dtype=np.uint32)
    res = panel.result
    assert res.query["type"] == "map" and set(res.ids) == {view.ids[r] for r in in_query + others}
    assert res.ids == [view.ids[r] for r in sorted(in_query + others)]  # in map order
    assert panel.gallery.total == 7 and panel.project.last is query
    # No stale scores: the query's scores are not this selection's.
    assert all(it["score"] is None for it in panel.gallery.items)
    assert panel.header == "Map selection · 7" and panel.chart.counts == []
    # Selecting in the gallery highlights on the map, and does not refill the gallery.
    panel.gallery.selected = res.ids[:2]
    assert sorted(view.ids[r] for r in widget.selection) == sorted(res.ids[:2])
    assert panel.result is res
    # Rows that name no point are ignored.
    widget.selection = np.array([10_000], dtype=np.uint32)
    assert panel.result is res
    # Without a query the map is coloured by cluster; hiding it keeps the scatter in
    # the page, hidden (shown again as it is while the vectors stay the same).
    panel.diverse(n=4)
    assert view.scatter.color()["by"] == "cluster"
    panel.show_map(False)
    assert panel.map_view is None and panel.map_pane.children[1].layout.display == "none"
    panel.show_map()
    assert panel.map_view is view


def _gated_map(panel, monkeypatch):
    """The Map button and an Event that ``project.map`` waits for (set: it goes on)."""
    import threading

    panel.project.update()
    real, gate = panel.project.map, threading.Event()

    def slow_map(*a, **k):
        gate.wait(10)
        return real(*a, **k)

    monkeypatch.setattr(panel.project, "map", slow_map)
    return panel.map_pane.children[0].children[0], gate


def test_the_map_button_builds_the_map_in_the_background_and_cancel_stops_it(
    panel, monkeypatch
) -> None:
    """The Map button (the toggle's value written by the page) returns at once: the
    spinner says what runs, the kernel is free, Cancel turns the button back off and
    shows no map; left alone, the map appears and the spinner goes."""
    toggle, gate = _gated_map(panel, monkeypatch)
    toggle.value = True  # what a click in the page does
    assert panel.controls.busy and panel.controls.busy_label == "Building the map"
    assert panel.map_view is None
    assert _msg(panel.controls, type="cancel")["ok"]
    gate.set()
    panel._jobs.join()
    assert toggle.value is False and panel.map_view is None and not panel.controls.busy
    assert panel.map_pane.children[1].layout.display == "none"

    assert panel.controls.message == "Cancelled."
    gate.clear()
    toggle.value = True
    assert panel.map_view is None and panel.controls.busy
    assert panel.controls.message == ""  # the older "Cancelled." is gone
    gate.set()
    panel._jobs.join()
    view = panel.map_view
    assert view is not None and len(view.ids) == 30 and not panel.controls.busy
    assert panel.map_pane.children[1].children == (view.widget,) and toggle.value is True


def test_a_map_being_built_for_the_page_and_calls_from_python(panel, monkeypatch) -> None:
    """While the page's map is built: a search from Python leaves it going; show_map()
    from Python draws the map itself, returns with it shown and the button on."""
    import threading

    toggle, gate = _gated_map(panel, monkeypatch)
    toggle.value = True  # the page's button
    assert panel.search("a red disc", limit=5) is not None
    assert "map" in panel._jobs.running  # still being built
    gate.set()
    panel._jobs.join()
    assert panel.map_view is not None and toggle.value is True

    panel.show_map(False)
    gate.clear()
    panel.project.catalog.bump_vectors_generation()  # the kept map no longer matches
    toggle.value = True
    assert panel.map_view is None and "map" in panel._jobs.running
    threading.Timer(0.3, gate.set).start()
    panel.show_map(True)  # from Python: drawn here and now
    assert panel.map_view is not None and toggle.value is True
    panel._jobs.join()
    assert panel.map_view is not None and toggle.value is True and not panel._jobs.running


# -- selection semantics, the result header, tabs -------------------------------------------
def test_save_stores_the_selection_not_every_result(panel) -> None:
    """Issue 20 item 6: with some thumbnails selected, Save stored all results."""
    panel.project.update()
    res = panel.search("x", limit=30)
    picked = [res.ids[i] for i in (1, 4, 7, 11, 20)]
    panel.gallery.selected = picked  # what a click on five checkboxes does
    a = panel.actions
    assert (a.n_selected, a.n_hidden, a.n_shown) == (5, 0, 30)
    assert _msg(a, type="save", name="five", count=5)["ok"]
    assert sorted(panel.project.collections["five"].ids) == sorted(picked)
    assert a.message == "Saved 5 images as 'five'."
    # The count the menu showed is the count acted on: another number does nothing.
    reply = _msg(a, type="save", name="thirty", count=30)
    assert reply["ok"] is False and "the menu said 30" in reply["error"]
    assert "thirty" not in panel.project.collections
    # Without a selection the menu acts on every image shown.
    panel.selected = []
    assert _msg(a, type="save", name="all", count=30)["ok"]
    assert len(panel.project.collections["all"]) == 30


def test_selected_images_hidden_by_a_filter_are_counted_never_acted_on_silently(panel) -> None:
    """Issue 20 item 6: after a filter narrowed the view, Tag acted on the shown images
    while the menu still said "60 selected"."""
    panel.project.update()
    res = panel.search("x", limit=30)
    t = float(np.median(res.scores))
    high = [i for i, s in zip(res.ids, res.scores, strict=True) if s >= t][:3]
    low = [i for i, s in zip(res.ids, res.scores, strict=True) if s < t][:4]
    panel.selected = high + low
    panel.above(t)
    a = panel.actions
    assert (a.n_selected, a.n_hidden) == (7, 4) and sorted(panel.hidden_selected) == sorted(low)
    assert panel.header.startswith("Prompt 'x' · ") and f"above {t:.3f}" in panel.header
    # The menu says 7 (4 hidden): acting on the 3 shown only is refused, nothing tagged.
    reply = _msg(a, type="tag", tag="seen", count=3)
    assert reply["ok"] is False and panel.project.tags == {}
    # Acting on the 7 the menu named tags all 7, hidden ones included.
    assert _msg(a, type="tag", tag="seen", count=7)["ok"]
    assert sorted(panel.project.tagged("seen").ids) == sorted(high + low)
    # Or drop the hidden ones from the selection first.
    assert _msg(a, type="drop_hidden")["ok"]
    assert panel.selected == high and (a.n_selected, a.n_hidden) == (3, 0)
    assert _msg(a, type="untag", tag="seen", count=3)["ok"]
    assert sorted(panel.project.tagged("seen").ids) == sorted(low)


def test_each_tab_shows_its_own_result_and_header(panel) -> None:
    """Issue 20 item 7: back on the Prompt tab the box said "a red circle…" while the
    gallery and histogram showed the Similar results."""
    panel.project.update()
    c, g, a = panel.controls, panel.gallery, panel.actions
    prompt = panel.search("a red disc", limit=10)
    assert panel.header == "Prompt 'a red disc' · 10"
    panel.selected = prompt.ids[:2]
    assert _msg(a, type="similar_selected", count=2)["ok"]
    similar = panel.result
    assert c.mode == "similar" and panel.header == "Similar to 2 images · 10"
    assert panel.selected == []
    _msg(a, type="export", path="/nonexistent/x.csv", count=10)
    assert a.message_kind == "error"
    # Back to the Prompt tab (a click on it writes the trait): its own result.
    c.mode = "prompt"
    assert panel.result is prompt and c.prompt == "a red disc"
    assert [it["id"] for it in g.items] == prompt.ids[:8]
    assert panel.header == "Prompt 'a red disc' · 10" and panel.selected == prompt.ids[:2]
    assert sum(panel.chart.counts) == 10
    assert a.message == "" and c.message == ""  # messages belong to what they answered
    # A tab that never ran shows nothing, and says so.
    c.mode = "diverse"
    assert panel.result is None and g.items == [] and g.total == 0
    assert panel.header == "Diverse: no results yet" and a.n_shown == 0
    c.mode = "similar"
    assert panel.result is similar and [r["id"] for r in c.references] == prompt.ids[:2]
    assert panel.header == "Similar to 2 images · 10"


def test_opening_a_collection_names_it_and_clears_the_similar_chips(panel) -> None:
    panel.project.update()
    res = panel.search("a red disc", limit=6)
    res.save("red-discs")  # saved from Python: the panel opens it by name
    panel.similar(res.ids[:1])
    assert panel.controls.references and panel.header.startswith("Similar to ")
    assert _msg(panel.actions, type="open", name="red-discs")["ok"]
    assert panel.controls.mode == "similar" and panel.controls.references == []
    assert panel.header == "Collection red-discs · 6"
    panel.controls.mode = "prompt"
    assert _msg(panel.actions, type="open", name="red-discs")["ok"]
    assert panel.controls.prompt == "" and panel.header == "Collection red-discs · 6"


def test_no_message_the_panel_sends_holds_a_non_finite_number(
    panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20 item 8: a lasso sent NaN over the comm ("Out of range float values are
    not JSON compliant"). Every message of every widget of the panel, in a scenario of
    searches, unscored results and a map selection, must be JSON without NaN."""
    import json

    import comm

    sent: list = []
    real = comm.DummyComm.publish_msg

    def publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append((msg_type, data))
        return real(self, msg_type, data, metadata, buffers, **keys)

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish)
    panel.project.update()
    for part in (panel.controls, panel.gallery, panel.actions, panel.chart):
        del part.send  # the real send: through the comm
    res = panel.search("a red disc", limit=10)
    panel.show_map()
    widget = panel.map_view.scatter.widget
    widget.selection = np.array([0, 3, 5], dtype=np.uint32)  # a lasso
    assert panel.result.query["type"] == "map"
    panel.gallery._handle_custom_msg({"rid": "t", "type": "thumbs", "ids": res.ids[:2]}, [])
    unscored = aw.Collection(panel.project, pd.DataFrame({"id": res.ids[:4]}))
    panel.show(unscored)
    panel.above(0.5)
    panel.diverse(n=4)
    panel.show_map(False)
    assert len(sent) > 50
    for _type, data in sent:
        json.dumps(data, allow_nan=False)  # raises on NaN or Infinity


def test_delete_moves_to_the_trash_and_undo_restores(panel, fake_trash) -> None:
    panel.project.update()
    res = panel.search("x", limit=10)
    paths = dict(zip(res.ids, panel.result.df["path"], strict=True))
    doomed = res.ids[2:5]
    panel.selected = doomed
    fake_trash.skip = {doomed[2]: "changed on disk since the last sync"}
    assert _msg(panel.actions, type="delete", count=3)["ok"]
    a = panel.actions
    name = os.path.basename(paths[doomed[2]])
    assert a.message == (
        f"Moved 2 to trash · 1 skipped ({name}: changed on disk since the last sync)"
    )
    assert a.undo == "Undo" and fake_trash.deletes == [doomed]
    assert not any(os.path.exists(paths[i]) for i in doomed[:2])
    assert panel.result.ids == [i for i in res.ids if i not in doomed[:2]]
    assert panel.selected == [doomed[2]] and panel.header == "Prompt 'x' · 8"
    assert _msg(a, type="undo_delete")["ok"]
    assert a.message == "Restored 2." and a.undo == ""
    assert all(os.path.exists(paths[i]) for i in doomed) and fake_trash.chosen == doomed[:2]
    assert panel.result.ids == res.ids and panel.selected == doomed
    # Undo is for the delete just made: a new result or another tab ends it.
    assert _msg(a, type="delete", count=3)["ok"] and a.undo == "Undo"
    panel.controls.mode = "diverse"
    assert a.undo == "" and a.message == ""
    assert _msg(a, type="undo_delete")["ok"] is False


def test_duplicates_keep_best_only_proposes_and_each_group_is_confirmed(dup_panel) -> None:
    panel = dup_panel
    panel.duplicates()
    g = panel.gallery
    ids = [it["id"] for it in g.items]  # group 0: red_000 + 2 copies; group 1: 1 copy
    # (Said as "Duplicates (near) · … (2 exact)" where duplicates() says its kinds.)
    dup = r"^Duplicates( \(near\))? · {} · {}( \({}\))?$"
    assert re.match(dup.format("2 groups", "5 images", "2 exact"), panel.header), panel.header
    # Compare: the kept copy first, facts per file, a difference image per copy.
    reply = _msg(g, type="compare", group=0)
    rows, bufs = reply["rows"], g.sent[-1][1]
    assert [r["id"] for r in rows] == ids[:3] and [r["keep"] for r in rows] == [1, 0, 0]
    assert all(r["format"] in ("JPEG", "PNG") and r["width"] > 0 < r["height"] for r in rows)
    assert [r["bytes"] for r in rows] == [os.path.getsize(r["path"]) for r in rows]
    assert [r["pic"] for r in rows] == [0, 1, 2] and [r["diff"] for r in rows] == [-1, 3, 4]
    assert all(b[:2] == b"\xff\xd8" for b in bufs) and len(bufs) == 5
    assert [r["diff_pct"] for r in rows[1:]] == [0.0, 0.0]  # byte copies: the same pixels
    # The user keeps a copy instead of the proposed original, then confirms group 0.
    assert _msg(g, type="set_keeper", id=ids[2])["ok"]
    assert [it["best"] for it in g.items][:3] == [False, False, True]
    reply = _msg(g, type="trash_group", group=0, count=3)
    assert reply["ok"] is False and "confirmed 3" in reply["error"]
    assert _msg(g, type="trash_group", group=0, count=2)["ok"]
    kept = panel.project.catalog.records([ids[2]])[ids[2]].path
    assert os.path.exists(kept) and not panel.originals[0].exists()
    assert panel.copies[2].exists() and panel.originals[1].exists()  # group 1 untouched
    assert [it["id"] for it in g.items] == ids[3:] and panel.actions.extra_copies == 1
    assert re.match(dup.format("1 group", "2 images", "1 exact"), panel.header), panel.header


def test_a_duplicates_kind_column_is_shown(panel) -> None:
    panel.project.update()
    # ``match``: how each row matches its group's best copy (the best itself: exact).
    match = ["exact", "exact", "exact", "exact", "near"]
    _show_groups(panel, [2, 3], {"match": match, "pixel_similarity": [1, 1, 1, 1, 0.93]})
    assert panel.header == "Duplicates · 2 groups · 5 images (1 exact, 1 near)"
    _show_groups(panel, [2], {"match": ["exact", "similar"]}, query={"kind": "similar"})
    assert panel.header == "Duplicates (similar) · 1 group · 2 images (1 similar)"
    _show_groups(panel, [2, 3], {"match": match, "pixel_similarity": [1, 1, 1, 1, 0.93]})
    items = panel.gallery.items
    assert [it["group_kind"] for it in items] == ["exact", "exact", "near", "near", "near"]
    assert [it.get("match") for it in items] == [None, "exact", None, "exact", "near"]
    reply = _msg(panel.gallery, type="compare", group=1)
    facts = [r["facts"] for r in reply["rows"]]
    assert [f["match"] for f in facts] == ["exact", "exact", "near"]
    assert [f["pixel_similarity"] for f in facts] == ["1.0", "1.0", "0.93"]


def test_delete_and_undo_with_the_project_trash(panel) -> None:
    """The same as above through the project's own trash (``Collection.delete`` into
    ``proj.trash``, ``proj.trash.select(ids).restore()``), where the project has one."""
    from aisearch_widgets.project import Project

    if not hasattr(Project, "trash"):
        pytest.skip("this checkout has no project trash yet (Project.trash)")
    panel.project.update()
    res = panel.search("x", limit=10)
    paths = dict(zip(res.ids, panel.result.df["path"], strict=True))
    doomed = res.ids[1:4]
    panel.selected = doomed
    assert _msg(panel.actions, type="delete", count=3)["ok"]
    a = panel.actions
    assert a.message == "Moved 3 to trash" and a.undo == "Undo"
    assert not any(os.path.exists(paths[i]) for i in doomed)
    assert sorted(panel.project.trash.ids) == sorted(doomed)
    assert panel.result.ids == [i for i in res.ids if i not in doomed]
    assert _msg(a, type="undo_delete")["ok"] and a.message == "Restored 3."
    assert all(os.path.exists(paths[i]) for i in doomed) and len(panel.project.trash) == 0
    assert panel.result.ids == res.ids and panel.selected == doomed
    assert panel.project.search("x", limit=10).ids == res.ids  # vectors back, not re-embedded


# -- searches run off the comm handler (issue 22 item 6) ---------------------------------
@pytest.fixture
def slow(panel, monkeypatch: pytest.MonkeyPatch):
    """Project.diverse and Project.similar wait for ``panel.release`` (at most 3 s)."""
    from aisearch_widgets.project import Project

    panel.project.update()
    panel.release = threading.Event()  # type: ignore[attr-defined]
    for name in ("diverse", "similar"):
        real = getattr(Project, name)

        def wait(self, *a, real=real, **k):
            panel.release.wait(3)
            return real(self, *a, **k)

        monkeypatch.setattr(Project, name, wait)
    yield panel
    panel.release.set()
    panel._jobs.join()


def test_a_search_from_the_panel_leaves_the_kernel_free_and_a_newer_one_wins(slow) -> None:
    """The comm handler returns at once (the kernel answers other cells and requests
    while a diverse() runs); a newer search replaces the running one, whose reply says
    cancelled; the late result is never shown. Fails where searches ran inside the
    handler (it blocked for the whole call)."""
    panel, c = slow, slow.controls
    t0 = time.monotonic()
    rid1 = _send(c, type="search_diverse", n=4, method="random", clusters=0)
    assert time.monotonic() - t0 < 1.0, "the comm handler waited for the search"
    assert _replies(c, rid1) == [] and c.busy and c.busy_label == "Sampling"
    assert "aisw-working" in panel._dom_classes  # the results shown are the old ones
    # Meanwhile the kernel answers: another cell, and quick requests of the page.
    assert panel.project.status.done == 30
    assert _msg(panel.chart, type="full_range")["ok"]
    rid2 = _send(c, type="search_prompt", prompt="a red disc", limit=5)
    first = _wait_reply(c, rid1, timeout=2)
    assert first["ok"] is False and first["cancelled"] is True
    assert _wait_reply(c, rid2)["ok"] and len(panel.result) == 5
    panel.release.set()
    panel._jobs.join()
    assert panel.result.query["type"] == "prompt" and c.mode == "prompt"  # dropped
    assert c.busy is False and c.message_kind == "info"
    assert "aisw-working" not in panel._dom_classes
    assert len(_replies(c, rid1)) == 1  # answered once, never again


def test_cancel_and_the_reply_goes_to_the_part_that_asked(slow) -> None:
    panel, c, g = slow, slow.controls, slow.gallery
    res = panel.search("a red disc", limit=6)
    rid = _send(g, type="similar_one", id=res.ids[0])
    assert _replies(g, rid) == [] and c.busy
    assert _msg(c, type="cancel")["ok"]
    reply = _wait_reply(g, rid, timeout=2)  # answered in the gallery, at once
    assert reply["cancelled"] is True and reply["ok"] is False
    assert c.busy is False and c.message == "Cancelled." and panel.result is None
    c.mode = "prompt"
    assert panel.result is res
    assert g.message_kind == "info"  # a cancel is not an error to show
    # Not cancelled: the result comes back to the gallery's request.
    rid = _send(g, type="similar_one", id=res.ids[0])
    panel.release.set()
    assert _wait_reply(g, rid)["ok"] and panel.result.query["type"] == "similar"


def test_a_result_that_ends_in_another_tab_waits_in_its_own(slow) -> None:
    panel, c = slow, slow.controls
    rid = _send(c, type="search_diverse", n=4, method="random", clusters=0)
    c.mode = "prompt"  # the user looks elsewhere meanwhile
    panel.release.set()
    assert _wait_reply(c, rid)["ok"]
    assert panel.result is None and c.mode == "prompt"
    c.mode = "diverse"
    assert panel.result is not None and len(panel.result) == 4


def test_the_panel_and_the_status_bar_say_the_same_time_left(
    panel, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mid-sync, the panel's header and the lab's status row read the same counts and
    the same time left, computed once (``_estimate.time_left``) from the catalog."""
    import dataclasses
    import sqlite3

    from aisearch_widgets import _estimate, status
    from aisearch_widgets.labserver import project_row

    proj = panel.project
    proj.update()
    # A sync under way: 24 files embedded one every 0.5 s (2 a second), 6 left.
    db = proj.folder / "catalog.sqlite"
    with sqlite3.connect(db, timeout=10) as con:
        rows = [r for (r,) in con.execute("SELECT rowid FROM files ORDER BY rowid")]
        t0 = time.time() - 60
        for i, r in enumerate(rows[:24]):
            con.execute("UPDATE files SET updated_at = ? WHERE rowid = ?", (t0 + i * 0.5, r))
        con.executemany(
            "UPDATE files SET status = 'pending' WHERE rowid = ?", [(r,) for r in rows[24:]]
        )
    con.close()
    # "indexing" needs a live sync: both readers are told so, the counts are the catalog's.
    real_read, real_prop = status.read_status, type(proj).status
    monkeypatch.setattr(
        status,
        "read_status",
        lambda *a, **k: dataclasses.replace(real_read(*a, **k), state="indexing"),
    )
    monkeypatch.setattr(
        type(proj),
        "status",
        property(lambda self: dataclasses.replace(real_prop.fget(self), state="indexing")),
    )
    panel._refresh_status()
    row = project_row(home, str(tmp_path), proj.name)
    c = panel.controls
    assert (
        (row["state"], row["done"], row["total"])
        == (c.state, c.done, c.total)
        == ("indexing", 24, 30)
    )
    # 23 files in 11.5 s (the first batch was embedded before the span): 2 a second.
    assert row["eta"] == c.eta == 3.0
    assert row["eta_text"] == c.eta_text == "about 3 s left"
    assert _estimate.left_text(-1.0) == "" and _estimate.time_left(db, 30, 30) == -1.0
    # Not known before a run has 20 files: neither says a time.
    with sqlite3.connect(db, timeout=10) as con:
        con.execute(
            "UPDATE files SET updated_at = ? WHERE rowid > ?", (time.time() - 3600, rows[5])
        )
        con.execute("UPDATE files SET status = 'pending' WHERE rowid > ?", (rows[5],))
    con.close()
    panel._refresh_status()
    row = project_row(home, str(tmp_path), proj.name)
    assert row["eta"] == c.eta == -1.0 and row["eta_text"] == c.eta_text == ""
    assert row["done"] == c.done == 6


# -- the gallery's own requests: preview details, tags from the keyboard, Ctrl+A ------------
def test_tags_show_on_cards_and_the_tag_filter_narrows_the_gallery(panel) -> None:
    panel.project.update()
    panel._refresh_status()
    res = panel.search("a red disc", limit=20)
    g = panel.gallery
    assert all(it["tags"] == [] for it in g.items) and g.tags == []
    picked = [res.ids[1], res.ids[9], res.ids[17]]  # on pages 0, 1 and 2
    reply = _msg(g, type="tag_images", ids=picked, tag=" seen ")
    assert reply["ok"] and g.message == "Tagged 3 images 'seen'."
    assert sorted(panel.project.tagged("seen").ids) == sorted(picked)
    # The chips follow at once, on the same page; the filter offers the tag.
    g.page = 1
    _msg(g, type="tag_images", ids=[res.ids[9], res.ids[10]], tag="blue")
    assert g.page == 1
    chips = {it["id"]: it["tags"] for it in g.items}
    assert chips[res.ids[9]] == ["blue", "seen"] and chips[res.ids[10]] == ["blue"]
    assert g.tags == [{"tag": "seen", "n": 3}, {"tag": "blue", "n": 2}]
    # Choosing a tag shows only its images; the header says so; actions act on them.
    g.tag_filter = "seen"
    assert g.total == 3 and [it["id"] for it in g.items] == picked
    assert panel.header == "Prompt 'a red disc' · 3 of 20 · tagged 'seen'"
    assert panel.collection is not None and sorted(panel.collection.ids) == sorted(picked)
    assert panel.actions.n_shown == 3
    # The score filter and the tag filter combine.
    panel.above(float(res.scores[9]))
    assert [it["id"] for it in g.items] == picked[:2]
    assert panel.header.endswith(f"· above {float(res.scores[9]):.3f} · tagged 'seen'")
    # Untagged from the preview with the filter on: the image leaves the view.
    _msg(g, type="untag_images", ids=[picked[0]], tag="seen")
    assert [it["id"] for it in g.items] == picked[1:2]
    g.tag_filter = ""
    panel.full_range()
    assert g.total == 20 and panel.header == "Prompt 'a red disc' · 20"
    # Tagging from the "With N selected" menu shows its chips too.
    g.page = 0
    g.selected = res.ids[:2]
    _msg(panel.actions, type="tag", tag="menu", count=2)
    assert [it["tags"] for it in g.items[:3]] == [["menu"], ["menu"], []]  # 1: untagged above


def test_gallery_requests_act_on_images_of_the_result_only(spied, tmp_path: Path) -> None:
    panel = spied
    g = panel.gallery
    res = panel.search("x", limit=10)
    other = next(i for i in panel.project.catalog.all_ids() if i not in set(res.ids))
    bads = [*(h for h in _hostile_ids(tmp_path, panel) if isinstance(h, str)), other]
    for bad in bads:
        for msg in (
            {"type": "tag_images", "ids": [res.ids[0], bad], "tag": "x"},
            {"type": "untag_images", "ids": [bad], "tag": "x"},
            {"type": "details", "id": bad},
        ):
            reply = _msg(g, **msg)
            assert (reply["ok"], reply["error"]) == (
                False,
                "That image is not part of this project.",
            )
    assert panel.project.tags == {} and panel.reads == []
    assert _msg(g, type="tag_images", ids=[], tag="x")["error"].startswith("Select images")
    bad_tag = _msg(g, type="tag_images", ids=res.ids[:1], tag="")
    assert bad_tag["ok"] is False and "Invalid tag" in bad_tag["error"]


def test_details_name_the_image_inside_the_project(panel, tmp_path: Path) -> None:
    """The preview's facts: the name inside the project (never the kernel's path),
    file size, dimensions, score and rank, tags."""
    import json

    from PIL import Image

    panel.project.update()
    panel._refresh_status()
    res = panel.search("a red disc", limit=5)
    pid = res.ids[2]
    res.select([pid]).tag("b", "a")
    path = res.df.set_index("id").loc[pid, "path"]
    reply = _msg(panel.gallery, type="details", id=pid)
    d = reply["details"]
    with Image.open(path) as im:
        assert (d["width"], d["height"]) == im.size
    assert d["name"] == "imgs/" + os.path.basename(path)
    assert d["bytes"] == os.path.getsize(path) and d["rank"] == 3 and d["kind"] == "image"
    assert d["score"] == pytest.approx(float(res.scores[2])) and d["tags"] == ["a", "b"]
    assert str(tmp_path) not in json.dumps(reply)


def test_the_preview_is_drawn_at_the_size_asked_never_above_the_original(
    panel, tmp_path: Path
) -> None:
    """The lightbox asks for the size of its box (device pixels): the JPEG's longest
    side is that, or the original's when smaller, and never above 2,048 px."""
    import io

    from PIL import Image

    from aisearch_widgets.widgets._media import MAX_PREVIEW

    root = tmp_path / "imgs"  # the panel's folder
    sizes = {"big.png": (1600, 1200), "wide.png": (2600, 650), "tiny.png": (100, 80)}
    for name, wh in sizes.items():
        Image.new("RGB", wh, (200, 40, 40)).save(root / name)
    panel.project.update()
    panel._refresh_status()
    res = panel.search("a red disc", limit=100)
    by_name = {os.path.basename(p): i for i, p in zip(res.ids, res.df["path"], strict=True)}

    def drawn(name: str, size: int) -> tuple[int, int]:
        reply = _msg(panel.gallery, type="preview", id=by_name[name], size=size)
        assert reply["ok"] is True, reply
        with Image.open(io.BytesIO(panel.gallery.sent[-1][1][0])) as im:
            return im.size

    assert drawn("big.png", 1000) == (1000, 750)  # the box asked for
    assert drawn("big.png", 1900) == (1600, 1200)  # the original is smaller: as it is
    assert drawn("wide.png", 5000) == (MAX_PREVIEW, 512)  # capped
    assert drawn("tiny.png", 2048) == (100, 80)  # the browser scales it up, pixelated
    assert drawn("big.png", 0) == (64, 48)  # a nonsense box still gets a picture


def test_select_all_takes_every_page_shown(panel) -> None:
    panel.project.update()
    panel._refresh_status()
    res = panel.search("a red disc", limit=20)
    assert len(panel.gallery.items) == 8
    assert _msg(panel.gallery, type="select_all")["count"] == 20
    assert panel.selected == res.ids and panel.actions.n_selected == 20
    panel.above(float(res.scores[4]))  # a filter: all *shown*
    assert _msg(panel.gallery, type="select_all")["count"] == 5
    assert panel.selected == res.ids[:5]


def test_the_enable_prompt_offers_the_known_models_and_an_estimate(
    project_factory, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``%aisearch``'s prompt: a dropdown of the models the lab plugin offers (the
    setting's default first) and what enabling takes, priced for the model chosen."""
    from aisearch_widgets import _estimate
    from aisearch_widgets.widgets._enable import EnablePrompt

    make_folder(tmp_path / "old", 2)
    project_factory("shapes", tmp_path / "old", model="demo")
    rates = {"shapes": 12.5}
    monkeypatch.setattr(_estimate, "measured_rate", lambda db: rates.get(db.parent.name))
    folder = tmp_path / "new"
    make_folder(folder, 6)
    prompt = EnablePrompt(str(folder), name="new", home=home, model="ViT-B-32:openai")
    ids = [v for _, v in prompt.model.options]
    assert ids == [r["id"] for r in _estimate.model_choices(home, "ViT-B-32:openai")]
    assert ids[0] == prompt.model.value == "ViT-B-32:openai" and "demo" in ids
    assert dict(prompt.model.options)["demo (used by 1 project)"] == "demo"
    lines = [w.value for w in prompt.estimate.children]
    size = sum(p.stat().st_size for p in folder.rglob("*.*"))
    assert lines[0] == f"6 images found ({_estimate.fmt_bytes(size)})"
    assert lines[1].startswith("Time: not known yet")  # no project here uses that model
    prompt.model.value = "demo"  # priced again at the rate measured for the demo model
    lines = [w.value for w in prompt.estimate.children]
    assert lines[1] == (
        "Time: about 1 s at 12.5 images/s, the rate measured on this machine (project shapes)"
    )
    dim = _estimate._model_dim("demo", [])
    per = dim * 4 + _estimate.THUMB_BYTES + _estimate.ROW_BYTES
    assert lines[2] == f"Disk: about {_estimate.fmt_bytes(6 * per)} (vectors, thumbnails, catalog)"
    # The lab's estimate is the same computation: the same numbers for the same folder.
    assert _estimate.estimate(home, str(tmp_path), "new", "demo")["lines"] == lines
    assert prompt.message.value == "" and not prompt.model.disabled
