"""The panel's curation views, mixed into :class:`SearchPanel`: the suggested score
threshold on the histogram, the Duplicates and Outliers modes, and the Map view.

Each goes through the public API a notebook user calls (``Collection.suggest_threshold``,
``Project.duplicates``, ``Collection.keep_best``, ``Project.outliers``,
``Project.map``). The Map view is a jupyter-scatter plot (``_map.MapView``, WebGL,
points as binary buffers) in an ipywidgets box next to the gallery, linked in Python:
a lasso fills the gallery, the gallery's selection is highlighted on the map. It is
built only when asked for (the "Map" toggle), so a panel stays light.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import numpy as np
import pandas as pd

from .._errors import AISearchError
from ..collection import Collection
from ._protocol import Mode

if TYPE_CHECKING:
    from ._map import MapView

log = logging.getLogger(__name__)

#: Results whose scores are a query's: the map is coloured by them.
_SCORED = ("prompt", "similar", "outliers")
NO_CLEAR_CUT = "no clear cut"


class Curation:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``controls``,
    ``gallery``, ``actions``, ``_run``, ``_set_result``, ``_report`` …)."""

    map_method: str
    _result: Collection | None
    _view: Collection | None
    _view_df: pd.DataFrame

    # -- suggested threshold ---------------------------------------------------------
    def _build_suggested(self) -> W.Button:
        self._suggested: float | None = None
        b = W.Button(
            description="Suggested",
            disabled=True,
            tooltip=NO_CLEAR_CUT,
            layout=W.Layout(width="130px"),
        )
        b.on_click(lambda _b: self.above_suggested())
        self._suggested_btn = b
        return b

    def _update_suggested(self, res: Collection | None) -> None:
        t = res.suggest_threshold() if res is not None and len(res) else None
        self._suggested = t
        b = self._suggested_btn
        b.disabled = t is None
        b.tooltip = NO_CLEAR_CUT if t is None else f"Show results scoring ≥ {t:.3f}"

    def _suggested_marks(self, xs: Any, top: float) -> list:
        """A vertical line at the suggested threshold (none when there is none)."""
        from bqplot import LinearScale, Lines

        t = self._suggested
        if t is None:
            return []
        ys = LinearScale(min=0, max=1)
        self._suggested_line = Lines(
            x=[t, t],
            y=[0, 1],
            scales={"x": xs, "y": ys},
            colors=["#d32f2f"],
            line_style="dashed",
            stroke_width=2,
            labels=["suggested"],
        )
        return [self._suggested_line]

    @property
    def suggested_threshold(self) -> float | None:
        """The result's :meth:`Collection.suggest_threshold` (None: no clear cut)."""
        return self._suggested

    def above_suggested(self) -> None:
        """Show only results at or above the suggested threshold (the Suggested
        button)."""
        if self._suggested is None:
            self._message(  # type: ignore[attr-defined]
                "These scores show no clear cut: choose a threshold yourself."
            )
            return
        self.above(self._suggested)  # type: ignore[attr-defined]

    # -- duplicates and outliers -----------------------------------------------------
    def duplicates(self) -> Collection | None:
        """Groups of duplicate images, as if asked in the panel's Duplicates tab."""
        return self._shown(self._search_duplicates)  # type: ignore[attr-defined]

    def outliers(self, n: int | None = None) -> Collection | None:
        """The ``n`` most unusual images, as if asked in the Outliers tab."""
        return self._shown(self._search_outliers, n)  # type: ignore[attr-defined]

    def _search_duplicates(self) -> Collection:
        self.controls.mode = Mode.DUPLICATES.value  # type: ignore[attr-defined]
        return self._run(lambda: self.project.duplicates(progress=False))  # type: ignore

    def _search_outliers(self, n: int | None = None) -> Collection:
        c = self.controls  # type: ignore[attr-defined]
        c.mode = Mode.OUTLIERS.value
        n = c.limit if n is None else n
        res = self._run(lambda: self.project.outliers(n, progress=False))  # type: ignore
        c.limit = n
        return res

    def _all_but_best(self) -> Collection:
        """The shown duplicates that are not their group's best copy. Computed here
        from the result Python holds: the front end names no ids for this."""
        view = self._view
        if view is None or "best" not in view.df.columns:
            raise AISearchError("Find duplicates first (the Duplicates tab).")
        return view.keep_best()

    def _tag_all_but_best(self, tag: str) -> None:
        extra = self._all_but_best()
        extra.tag(tag)
        self._message(  # type: ignore[attr-defined]
            f"Tagged {len(extra)} copies {tag!r} (the best of each group is untagged).",
            where=self.actions,  # type: ignore[attr-defined]
        )
        self._view_df = self._view.df  # type: ignore[union-attr]

    def _delete_all_but_best(self, count: int) -> None:
        """Delete from disk every shown duplicate but each group's best. ``count`` is
        the number the user confirmed in the browser: if what would be deleted is not
        that many (the view changed meanwhile), nothing is deleted."""
        extra = self._all_but_best()
        if count != len(extra):
            raise AISearchError(
                f"Not deleted: you confirmed {count} files but {len(extra)} are shown now. "
                "Look at the groups again and confirm once more."
            )
        report = extra.delete(confirm=True)
        counts = report["status"].value_counts().to_dict()
        text = "Delete: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + "."
        res = self._run(lambda: self.project.duplicates(progress=False))  # type: ignore
        bad = report[report["status"] == "error"]
        if len(bad):
            raise AISearchError(f"{text} First error: {bad['message'].iloc[0]}")
        self._message(  # type: ignore[attr-defined]
            f"{text} {len(res)} duplicates remain.",
            where=self.actions,  # type: ignore
        )

    def _group_fields(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        """Per gallery item of a duplicates view: its group, the group's size and
        whether it is the best copy (empty dicts otherwise)."""
        if "group" not in rows.columns or "best" not in rows.columns:
            return [{} for _ in range(len(rows))]
        sizes = self._view_df["group"].value_counts()
        return [
            {"group": int(g), "group_size": int(sizes.get(g, 0)), "best": bool(b)}
            for g, b in zip(rows["group"], rows["best"], strict=True)
        ]

    def _count_extra_copies(self) -> None:
        df = self._view_df
        n = int((~df["best"].astype(bool)).sum()) if "best" in df.columns else 0
        self.actions.extra_copies = n  # type: ignore[attr-defined]

    # -- map -------------------------------------------------------------------------
    def _build_map(self) -> W.VBox:
        self._map_view: MapView | None = None
        self._query: Collection | None = None  # the latest result with a query's scores
        self._highlighted: list[str] = []
        self._map_toggle = W.ToggleButton(
            value=False,
            description="Map",
            tooltip=(
                "A 2-D map of every image: press and hold on the map, then drag around "
                "points to show them in the gallery"
            ),
            icon="map",
            layout=W.Layout(width="100px"),
        )
        self._map_toggle.observe(lambda ch: self.show_map(ch["new"]), "value")
        self._map_label = W.Label("")
        self._map_box = W.VBox([], layout=W.Layout(width="100%", display="none"))
        self._map_box.add_class("aisw-map")
        return W.VBox(
            [W.HBox([self._map_toggle, self._map_label]), self._map_box],
            layout=W.Layout(width="100%"),
        )

    @property
    def map_view(self) -> MapView | None:
        """The map's :class:`MapView` while the Map view is shown."""
        return self._map_view

    def show_map(self, on: bool = True) -> None:
        """Show (build from ``Project.map``) or hide the Map view."""
        if self._map_toggle.value != on:
            self._map_toggle.value = on  # the observer comes back here
            return
        if not on:
            self._map_box.layout.display = "none"
            self._close_map()
            self._map_label.value = ""
            return
        try:
            view = self._make_map()
        except Exception as exc:
            self._report(exc, self.controls, "map")  # type: ignore[attr-defined]
            self._map_toggle.value = False
            return
        self._map_box.children = (view.widget,)
        self._map_box.layout.display = "flex"

    def _make_map(self) -> MapView:
        from ._map import MapView

        self._close_map()
        df = self.project.map(method=self.map_method, progress=False)  # type: ignore
        view = MapView(df)
        view.widget.layout.width = "100%"  # in a flex box the plot would get no width
        self._map_view = view
        self._map_label.value = f"{len(df)} images, {self.map_method.upper()} map"
        self._color_map()
        self._highlight(self.gallery.selected)  # type: ignore[attr-defined]
        view.on_select(self._on_map_select)
        return view

    def _close_map(self) -> None:
        view, self._map_view = self._map_view, None
        if view is not None:
            self._map_box.children = ()
            view.widget.close()

    def _note_query(self, res: Collection) -> None:
        """Called for every result shown: remember it if its scores are a query's."""
        kind = res.query.get("type")
        if kind == "map":
            return  # a lasso selection keeps the query it is coloured by
        self._query = res if kind in _SCORED and np.isfinite(res.scores).any() else None
        self._color_map()

    def _color_map(self) -> None:
        if self._map_view is not None:
            self._map_view.color_by_score(self._query)

    def _on_map_select(self, ids: list[str]) -> None:
        if ids == self._highlighted:
            return  # the echo of a selection made in the gallery
        try:
            self._show_map_selection(ids)
        except Exception as exc:
            self._report(exc, self.controls, "map selection")  # type: ignore[attr-defined]

    def _show_map_selection(self, ids: list[str]) -> None:
        ids = self._project_ids(ids)  # type: ignore[attr-defined]
        if not ids:
            return
        scores = np.full(len(ids), np.nan)
        q = self._query
        if q is not None:
            known = dict(zip(q.ids, q.scores, strict=True))
            scores = np.array([known.get(i, np.nan) for i in ids], dtype=float)
        what = {"type": "map", "n": len(ids)}
        if q is not None:
            what["scored_by"] = q.query.get("text") or q.query.get("type")
        coll = Collection(self.project, pd.DataFrame({"id": ids, "score": scores}), query=what)  # type: ignore
        self._set_result(coll)  # type: ignore[attr-defined]
        self._message(f"{len(ids)} images selected on the map.")  # type: ignore[attr-defined]

    def _highlight(self, ids: list[str]) -> None:
        if self._map_view is None:
            return
        want = set(ids)
        self._highlighted = [i for i in self._map_view.ids if i in want]
        self._map_view.select_ids(self._highlighted)

    def _on_gallery_selected(self, change: dict) -> None:
        self._highlight(list(self.gallery.selected))  # type: ignore[attr-defined]
