"""The panel's "Search in:" and filter chips: searches run inside the scope (the same
as the public API's ``within=``/``where=``), the header says the scope, filters are
structured values checked one by one, and a hostile string stays a literal."""

from __future__ import annotations

from pathlib import Path

import pytest

import aisearch_widgets as aw
from aisearch_widgets._errors import InvalidArgument
from aisearch_widgets.widgets._scoped import check_filter, where_of

from _helpers import make_folder


@pytest.fixture
def panel(project_factory, tmp_path: Path):
    root = tmp_path / "imgs"
    make_folder(root, 24, sub=True)
    proj = project_factory("p", root)
    proj.update()
    panel = aw.SearchPanel(proj, page_size=8, poll_interval=0)
    yield panel
    panel.close()


def test_a_search_runs_in_the_chosen_collection_with_the_filters(panel) -> None:
    proj = panel.project
    reds = proj.search("red", limit=10)
    reds.save("reds")
    reds.select(reds.ids[:4]).tag("keep")
    panel.set_scope("reds", filters=[{"kind": "tag", "tag": "keep"}])
    assert panel.scope == "in 'reds' · tagged 'keep' (4 images)"
    got = panel.search("green", limit=50)
    want = proj.search("green", limit=50, within="reds", where="'keep' in tags")
    assert got.ids == want.ids and len(got) == 4
    assert panel.header == "Prompt 'green' · 4 · in 'reds' · tagged 'keep' (4 images)"
    # Outliers and duplicates in the scope too.
    out = panel.outliers(3)
    assert set(out.ids) <= set(reds.ids[:4])
    # The whole project again: the header of a new search says nothing of a scope.
    panel.set_scope(None)
    assert panel.scope == "in the whole project"
    assert len(panel.search("green", limit=50)) == 24
    assert panel.header == "Prompt 'green' · 24"


def test_folder_size_and_the_current_results(panel) -> None:
    proj = panel.project
    panel.set_scope(None, [{"kind": "folder", "folder": "sub"}, {"kind": "size", "min_width": 1}])
    got = panel.search("red", limit=100)
    assert len(got) == 6 and all("/sub/" in p for p in got.df["path"])
    first = panel.search("blue", limit=5)
    panel.set_scope(first)
    assert len(panel.search("red", limit=100)) == 5
    assert set(panel.result.ids) == set(first.ids)
    assert proj.search("red", limit=100, within=first).ids == panel.result.ids


def test_filters_are_checked_and_strings_stay_literals() -> None:
    evil = "x') or __import__('os').system('touch /tmp/p') or ('"
    f = check_filter({"kind": "tag", "tag": evil})
    expr = where_of([f])
    from aisearch_widgets._where import compile_where

    w = compile_where(expr, ["tags"])
    assert w.columns == {"tags"} or list(w.columns) == ["tags"]
    for bad in (
        {"kind": "exec", "tag": "x"},
        {"kind": "size", "min_width": "1024"},
        {"kind": "date", "from": "2024-13-01; drop", "to": ""},
        {"kind": "date", "from": "2024-06-02", "to": "2024-06-01"},
        {"kind": "quality", "issue": "ugly"},
        {"kind": "folder", "folder": ""},
    ):
        with pytest.raises(InvalidArgument):
            check_filter(bad)
    date = check_filter({"kind": "date", "from": "2024-06-01", "to": "2024-06-30"})
    assert where_of([date]) == "taken_at >= '2024-06-01' and taken_at < '2024-07-01'"


def test_a_new_panel_of_the_project_keeps_the_scope(panel) -> None:
    proj = panel.project
    proj.search("red", limit=6).save("six")
    panel.set_scope("six", [{"kind": "folder", "folder": "sub"}])
    text = panel.scope
    again = aw.SearchPanel(proj, page_size=8, poll_interval=0)
    try:
        assert again.scope == text and again.controls.scope["name"] == "six"
    finally:
        again.close()
