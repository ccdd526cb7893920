"""The duplicates view's groups (``widgets/_results.py``): which copy each shown group
keeps, the copies proposed for the trash and each group's kind, on rows built here."""

from __future__ import annotations

import pandas as pd

from aisearch_widgets.widgets import _results


def _shown() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "b1", "b2", "c1", "c2"],
            "group": [0, 0, 0, 1, 1, 2, 2],
            "best": [True, False, False, False, False, True, False],
            "match": ["exact", "near", "exact", "exact", "similar", "exact", "exact"],
        }
    )


def test_keepers_are_the_users_choice_else_the_best_else_the_first_row() -> None:
    df = _shown()
    assert _results.keeper_ids(df, {}) == {"a1", "b1", "c1"}
    # A choice of a row not shown in that group (or of another group) is ignored.
    chosen = {0: "a3", 1: "zz", 2: "a2"}
    assert _results.keeper_ids(df, chosen) == {"a3", "b1", "c1"}
    assert _results.copies(df, chosen) == ["a1", "a2", "b2", "c2"]
    assert _results.copies(df, chosen, group=0) == ["a1", "a2"]
    assert _results.copies(df[df["group"] == 1], {}) == ["b2"]


def test_a_groups_kind_is_its_loosest_copy_in_the_order_groups_appear() -> None:
    df = _shown().iloc[[5, 6, 0, 1, 2, 3, 4]]
    kinds = _results.group_kinds(df)
    assert kinds == {2: "exact", 0: "near", 1: "similar"}
    assert list(kinds) == [2, 0, 1]


def test_a_result_with_a_best_column_but_no_groups_is_shown(panel) -> None:
    # Any collection may be shown; one with a column "best" of its own (not a
    # duplicates view: no groups) has no copies, as before the groups were memoised.
    from aisearch_widgets.collection import Collection

    panel.project.update()
    ids = panel.project.search("x", limit=5).ids
    coll = Collection(panel.project, pd.DataFrame({"id": ids, "best": [True] * 5}))
    panel.show(coll)
    assert panel.controls.message_kind != "error", panel.controls.message
    assert len(panel.gallery.items) == 5 and panel.actions.extra_copies == 0
