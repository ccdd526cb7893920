"""Relevance feedback in the panel: 👍/👎 marks sent as the front end sends them, and
Refine run off the comm handler like the other searches."""

from __future__ import annotations

from test_widgets import _msg


def test_marks_then_refine_equals_project_refine(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=12)
    ids = res.ids
    g, a = panel.gallery, panel.actions
    for i in ids[:3]:
        assert _msg(g, type="mark", id=i, mark="up")["ok"]
    assert _msg(g, type="mark", id=ids[5], mark="down")["ok"]
    reply = _msg(g, type="mark", id=ids[2], mark="none")  # pressed again: cleared
    assert reply["ok"] and reply["positives"] == ids[:2] and reply["negatives"] == [ids[5]]
    assert panel.marks == {"positives": ids[:2], "negatives": [ids[5]]}
    assert _msg(a, type="refine")["ok"]
    got = panel.result
    assert got is not None and got.query["type"] == "refine"
    want = panel.project.refine(positives=ids[:2], negatives=[ids[5]], prompt="x", limit=12)
    assert got.ids == want.ids
    assert list(got.df["score"].round(6)) == list(want.df["score"].round(6))
    # The marks are kept for the next round; a mark on a refined result moves.
    assert panel.marks == {"positives": ids[:2], "negatives": [ids[5]]}
    assert _msg(g, type="mark", id=ids[5], mark="up")["ok"]
    assert panel.refine() is not None
    again = panel.project.refine(positives=[*ids[:2], ids[5]], negatives=[], prompt="x", limit=12)
    assert panel.result.ids == again.ids


def test_refine_needs_a_positive_and_project_ids(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=8)
    g, a = panel.gallery, panel.actions
    reply = _msg(a, type="refine")
    assert reply["ok"] is False and "👍" in reply["error"]
    for bad in ["/etc/passwd", "../x", "nope"]:
        reply = _msg(g, type="mark", id=bad, mark="up")
        assert reply["ok"] is False and reply["error"] == "That image is not part of this project."
    reply = _msg(g, type="mark", id=res.ids[0], mark="sideways")
    assert reply["ok"] is False
    assert panel.marks == {"positives": [], "negatives": []}
    assert panel.result is res


def test_a_refined_result_says_so_in_the_header(panel) -> None:
    panel.project.update()
    res = panel.search("x", limit=8)
    _msg(panel.gallery, type="mark", id=res.ids[1], mark="up")
    _msg(panel.gallery, type="mark", id=res.ids[2], mark="down")
    _msg(panel.actions, type="refine")
    assert panel.actions.header.startswith("Refined (1👍 1👎)")
