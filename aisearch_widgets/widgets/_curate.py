"""The panel's curation views, mixed into :class:`SearchPanel`: the Duplicates and
Outliers modes, and the Map view.

Each goes through the public API a notebook user calls (``Project.duplicates``, ``Collection.keep_best``, ``Project.outliers``,
``Project.map``). The Map view is a jupyter-scatter plot (``_map.MapView``, WebGL,
points as binary buffers) in an ipywidgets box next to the gallery, linked in Python:
a lasso fills the gallery, the gallery's selection is highlighted on the map. It is
built only when asked for (the "Map" toggle), so a panel stays light.
"""

from __future__ import annotations

import io
import logging
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import numpy as np
import pandas as pd

from .._errors import AISearchError
from ..collection import Collection
from . import _guard, _results
from ._jobs import CANCELLED
from ._protocol import Mode, Reply

if TYPE_CHECKING:
    from ._jobs import Work
    from ._map import MapView

#: Why a map being built for the page was dropped (the button is left as it is).
_MAP_HIDDEN = "The map was hidden."
_MAP_BY_PYTHON = "Drawn by a call from Python."

log = logging.getLogger(__name__)

#: Results whose scores are a query's: the map is coloured by them.
_SCORED = ("prompt", "similar", "outliers")


class Curation:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``controls``,
    ``gallery``, ``actions``, ``_run``, ``_set_result``, ``_report`` …)."""

    map_method: str
    _result: Collection | None
    _view: Collection | None
    _view_df: pd.DataFrame

    # -- duplicates and outliers -----------------------------------------------------
    def duplicates(self) -> Collection | None:
        """Groups of duplicate images, as if asked in the panel's Duplicates tab."""
        return self._shown(self._search_duplicates)  # type: ignore[attr-defined]

    def outliers(self, n: int | None = None) -> Collection | None:
        """The ``n`` most unusual images, as if asked in the Outliers tab."""
        return self._shown(self._search_outliers, n)  # type: ignore[attr-defined]

    def _search_duplicates(self) -> Work:
        self.controls.mode = Mode.DUPLICATES.value  # type: ignore[attr-defined]
        kw = self._scope_kw()  # type: ignore[attr-defined]
        return self._run(lambda: self.project.duplicates(progress=False, **kw))  # type: ignore

    def _search_outliers(self, n: int | None = None) -> Work:
        c = self.controls  # type: ignore[attr-defined]
        c.mode = Mode.OUTLIERS.value
        n = c.limit if n is None else n
        kw = self._scope_kw()  # type: ignore[attr-defined]
        return self._run(  # type: ignore[attr-defined, no-any-return]
            lambda: self.project.outliers(n, progress=False, **kw),  # type: ignore[attr-defined]
            lambda: setattr(c, "limit", n),
        )

    def _copies(self, group: int | None = None) -> Collection:
        """The shown duplicates that are not their group's keeper (of one group, or of
        all). Computed here from the result Python holds: the front end names no ids
        for this."""
        res = self._result
        if res is None or "best" not in self._view_df.columns:
            raise AISearchError("Find duplicates first (the Duplicates tab).")
        ids = _results.copies(self._view_df, self._keepers, group)
        if group is not None and not ids:
            raise AISearchError(f"Group {group + 1} is not shown any more: find duplicates again.")
        return res.select(ids)

    def _tag_all_but_best(self, tag: str) -> None:
        extra = self._copies()
        extra.tag(tag)
        self._message(  # type: ignore[attr-defined]
            f"Tagged {len(extra)} copies {tag!r} (the copy kept of each group is untagged).",
            where=self.actions,  # type: ignore[attr-defined]
        )

    def _delete_all_but_best(self, count: int) -> None:
        """Move to the trash every shown duplicate but each group's keeper. ``count``
        is the number the user confirmed in the browser: if what would be trashed is
        not that many (the view changed meanwhile), nothing is done."""
        self._trash(self._confirmed(self._copies(), count))  # type: ignore[attr-defined]

    def _trash_group(self, group: int, count: int) -> None:
        """One group confirmed: trash its copies, keep its keeper."""
        self._trash(self._confirmed(self._copies(group), count))  # type: ignore[attr-defined]

    @staticmethod
    def _confirmed(extra: Collection, count: int) -> Collection:
        if count != len(extra):
            raise AISearchError(
                f"Nothing was moved to the trash: you confirmed {count} files but {len(extra)} "
                "are proposed now. Look at the groups again and confirm once more."
            )
        return extra

    def _set_keeper(self, id: str) -> None:
        """Keep this copy of its group instead of the proposed one."""
        rows = self._view_df[self._view_df["id"] == id] if "group" in self._view_df else None
        if rows is None or rows.empty:
            raise AISearchError(_guard.NOT_OURS)
        self._keepers[int(rows["group"].iloc[0])] = id
        self._count_extra_copies()
        # A page asked ahead says which copy was kept: void it (the browser keeps the
        # cards of a page whose images are the same, badges included).
        self._new_view()  # type: ignore[attr-defined]
        self._show_page()  # type: ignore[attr-defined]

    def _compare_group(self, group: int) -> Reply:
        """A group side by side: per member its facts (format, dimensions, file size,
        the duplicates columns such as ``kind``) and a picture; per copy a difference
        image against the keeper."""
        df = self._view_df
        if "group" not in df.columns or not (df["group"] == group).any():
            raise AISearchError("Find duplicates first (the Duplicates tab).")
        rows = df[df["group"] == group]
        keep = _results.keeper_ids(rows, self._keepers)
        rows = pd.concat([rows[rows["id"].isin(keep)], rows[~rows["id"].isin(keep)]])
        return compare_group(rows, keep, self.project.indexer.max_file_bytes)  # type: ignore

    def _group_fields(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        """Per gallery item of a duplicates view: its group, the group's size, whether
        it is the copy kept and the group's kind; of a quality view: its worst issue
        (empty dicts otherwise)."""
        if "issue" in rows.columns and "group" not in rows.columns:
            return [{"issue": v} if isinstance(v, str) else {} for v in rows["issue"]]
        if "group" not in rows.columns or "best" not in rows.columns:
            return [{} for _ in range(len(rows))]
        sizes, keep, kinds = self._groups_shown()
        col = _results.dup_kind_column(self._view_df)
        match = rows[col].astype(str).tolist() if col is not None else [""] * len(rows)
        return [
            {
                "group": int(g),
                "group_size": int(sizes.get(g, 0)),
                "best": i in keep,
                **({"group_kind": kinds[int(g)]} if int(g) in kinds else {}),
                **({"match": m} if m and i not in keep else {}),
            }
            for g, i, m in zip(rows["group"], rows["id"], match, strict=True)
        ]

    def _count_extra_copies(self) -> None:
        df = self._view_df
        grouped = {"group", "best"} <= set(df.columns)  # a duplicates view, not any "best"
        n = int((~df["id"].isin(self._groups_shown()[1])).sum()) if grouped else 0
        self.actions.extra_copies = n  # type: ignore[attr-defined]

    def _groups_shown(self) -> tuple[pd.Series, set[str], dict[int, str]]:
        """Of the duplicates view shown: the size of each group, the ids kept and each
        group's kind. Worked out once per view and choice of keepers: the page, the
        counts and the header all ask (each a pass over every row shown)."""
        df, chosen = self._view_df, tuple(sorted(self._keepers.items()))
        memo = getattr(self, "_groups_memo", None)
        if memo is not None and memo[0] is df and memo[1] == chosen:
            return memo[2]
        got = (
            df["group"].value_counts(),
            _results.keeper_ids(df, self._keepers),
            _results.group_kinds(df),
        )
        self._groups_memo = (df, chosen, got)
        return got

    # -- map -------------------------------------------------------------------------
    def _build_map(self) -> W.VBox:
        self._map_view: MapView | None = None
        # A map hidden, kept in the page with the method it was asked with: shown again
        # as it is while the vectors are as they were when it was drawn.
        self._kept_map: tuple[MapView, str] | None = None
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
        self._map_toggle.observe(lambda ch: self._toggled(ch["new"]), "value")
        self._map_label = W.Label("")
        self._map_box = W.VBox([], layout=W.Layout(width="100%", display="none"))
        self._map_box.add_class("aisw-map")
        pane = W.VBox(
            [W.HBox([self._map_toggle, self._map_label]), self._map_box],
            layout=W.Layout(width="100%"),
        )
        pane.add_class("aisw-map-pane")
        return pane

    def _beside_map(self, *results: W.DOMWidget) -> W.Box:
        """The map pane and the results (actions bar, gallery): stacked, or while the
        map is shown on a panel 1,600 px wide or more, side by side (map left; the
        CSS container query on ``.aisw-split.aisw-map-on`` in widgets.css)."""
        box = W.VBox(list(results), layout=W.Layout(width="100%"))
        box.add_class("aisw-results")
        self._split = W.Box([self.map_pane, box], layout=W.Layout(width="100%"))  # type: ignore[attr-defined]
        self._split.add_class("aisw-split")
        return self._split

    @property
    def map_view(self) -> MapView | None:
        """The map's :class:`MapView` while the Map view is shown."""
        return self._map_view

    def show_map(self, on: bool = True) -> None:
        """Show (build from ``Project.map``) or hide the Map view, here and now: the
        call returns with the map shown (a map the page asked for and that is still
        being built is dropped for it). A hidden map stays in the page: shown again
        while the vectors are unchanged, it is not rebuilt.

        Asked from the page (the Map button), a map still to be built is built in the
        background: the spinner says "Building the map" at once, the kernel stays free
        and the spinner's Cancel stops it (the button goes back off)."""
        if self._map_toggle.value != on:
            self._map_syncing = True
            try:
                self._map_toggle.value = on  # the page's button follows; no job
            finally:
                self._map_syncing = False
        self._apply_map(on, here=True)

    def _toggled(self, on: bool) -> None:
        """The Map button, pressed in the page (not set by :meth:`show_map`)."""
        if not getattr(self, "_map_syncing", False):
            self._apply_map(on, here=False)

    def _apply_map(self, on: bool, here: bool) -> None:
        jobs = self._jobs  # type: ignore[attr-defined]
        if not on:
            jobs.cancel("map", reason=_MAP_HIDDEN)  # one being built
            self._split.remove_class("aisw-map-on")
            self._map_box.layout.display = "none"
            if self._map_view is not None:
                self._kept_map = (self._map_view, self.map_method)
            self._map_view = None
            self._map_label.value = ""
            return
        if here:
            jobs.cancel("map", reason=_MAP_BY_PYTHON)  # this call draws it instead
        try:
            if here:
                self._show_busy("Drawing the map")  # type: ignore[attr-defined]
            view = self._shown_again()
            if view is None and not here:
                self._message("")  # type: ignore[attr-defined]  # an older "Cancelled."
                jobs.start(self._map_work(), self._map_answer)
                return
            view = view or self._new_map(*self._map_data())
        except Exception as exc:
            self._report(exc, self.controls, "map")  # type: ignore[attr-defined]
            self._map_toggle.value = False
            return
        finally:
            if here:
                self._show_busy("")  # type: ignore[attr-defined]
        self._put_map(view)

    def _put_map(self, view: MapView) -> None:
        self._map_box.children = (view.widget,)
        self._map_box.layout.display = "flex"
        self._split.add_class("aisw-map-on")

    def _map_work(self) -> Work:
        """The map built in the background: its rows and tags on the job's thread, the
        widget made once they are there (under the panel's lock)."""
        from ._jobs import Work

        def done(got: tuple[pd.DataFrame, dict[str, list[str]]]) -> MapView | None:
            if not self._map_toggle.value:
                return None  # hidden meanwhile
            view = self._new_map(*got)
            self._put_map(view)
            return view

        return Work(self._map_data, done, label="Building the map", slot="map")

    def _map_answer(self, view: Any, error: BaseException | None, cancelled: str | None) -> None:
        """The background map's end: failed or cancelled by the user, the Map button
        goes back off (dropped for a call from Python or hidden, it is left as is)."""
        if error is not None:
            self._report(error, self.controls, "map")  # type: ignore[attr-defined]
        stopped = error is not None or cancelled == CANCELLED
        if stopped and self._map_view is None:
            self._map_toggle.value = False

    def _shown_again(self) -> MapView | None:
        """The kept map, brought up to date (colours, highlight, cluster labels), if it
        was drawn from the vectors as they are and with the method asked now."""
        kept, self._kept_map = self._kept_map, None
        if kept is None:
            return None
        view, method = kept
        state = self.project.vectors_state  # type: ignore[attr-defined]
        if view.stamp is None or method != self.map_method or view.stamp != state():
            view.close()
            return None
        self._show_map_view(view)
        return view

    def _map_data(self) -> tuple[pd.DataFrame, dict[str, list[str]]]:
        """The map's rows (``Project.map``, cached per state of the vectors) and the
        tags of its images: the slow part."""
        df = self.project.map(method=self.map_method, progress=False)  # type: ignore
        return df, self.project.catalog.tags_of(df["id"].tolist())  # type: ignore[attr-defined]

    def _new_map(self, df: pd.DataFrame, tags: dict[str, list[str]]) -> MapView:
        from ._map import MapView

        self._close_map()
        # Clusters labelled by their most common tag; a thumbnail beside the cursor;
        # coloured by the query's scores from the start (the points are sent once).
        view = MapView(df, labels=tags, thumbnail=self._map_thumbnail, scores=self._query)
        self._show_map_view(view, relabel=False)
        view.on_select(self._on_map_select)
        return view

    def _show_map_view(self, view: MapView, relabel: bool = True) -> None:
        self._map_view = view
        if relabel:  # tags may have changed while it was hidden
            view.set_labels(self.project.catalog.tags_of(view.ids))  # type: ignore[attr-defined]
        method = (view.method or self.map_method).upper()
        self._map_label.value = f"{len(view.ids)} images, {method} map"
        self._color_map()
        self._highlight(self.gallery.selected)  # type: ignore[attr-defined]

    def _map_thumbnail(self, id: str) -> tuple[bytes | None, str]:
        """The thumbnail and name (inside the project) of a point of the map."""
        from ._gallery import project_name

        rec = self.project.catalog.records([id]).get(id)  # type: ignore[attr-defined]
        jpeg = self.project.thumbnails([id])[0] if rec is not None else None  # type: ignore[attr-defined]
        return jpeg, project_name(rec) if rec is not None else ""

    def _close_map(self) -> None:
        kept, self._kept_map = self._kept_map, None
        for view in (self._map_view, kept[0] if kept else None):
            if view is not None:
                self._map_box.children = ()
                view.close()
        self._map_view = None

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
        """The lassoed images, in map order. They carry no scores: the scores of the
        query the map is coloured by belong to that query's result, not to this one.
        The ids are the map's own (the browser sends row numbers), so they are not
        checked against the catalog one by one; images deleted since the map was made
        are left out by the collection. The first page is drawn before the full view
        is built (``_paging.py``)."""
        ids = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
        if not ids:
            return
        what: dict[str, Any] = {"type": "map", "n": len(ids)}
        coll = Collection(self.project, pd.DataFrame({"id": ids}), query=what)  # type: ignore
        with self._lock:  # type: ignore[attr-defined]
            self._draw_first_page(ids, what)  # type: ignore[attr-defined]
            self._set_result(coll)  # type: ignore[attr-defined]

    def _highlight(self, ids: list[str]) -> None:
        if self._map_view is None:
            return
        want = set(ids)
        self._highlighted = [i for i in self._map_view.ids if i in want]
        self._map_view.select_ids(self._highlighted)

    def _on_gallery_selected(self, change: dict) -> None:
        self._highlight(list(self.gallery.selected))  # type: ignore[attr-defined]


_COMPARE_SIDE = 320  # px: the pictures of a compared group
_DIFF_SIDE = 256
#: Collection columns that every result has; the others of a duplicates view (kind,
#: pixel evidence…) are shown in the compare view as they are.
_PLAIN = {"id", "path", "score", "rank", "kind", "t", "tags", "group", "best", "width", "height"}


def compare_group(rows: pd.DataFrame, keep: set[str], max_bytes: int | None) -> Reply:
    """A duplicate group side by side (the keeper first): per member its file facts
    and a JPEG; per copy a difference image against the keeper (pixels scaled to the
    keeper's size, differences brightened 4x) and the mean difference in percent."""
    from PIL import Image

    from ..images import DecodeFailure, decode, read_bytes, thumbnail_jpeg

    out: list[dict[str, Any]] = []
    buffers: list[bytes] = []
    pictures: dict[str, Image.Image] = {}
    for r in rows.to_dict("records"):
        row: dict[str, Any] = {
            "id": r["id"],
            "name": os.path.basename(r["path"]),
            "path": r["path"],
            "keep": r["id"] in keep,
            "score": None if pd.isna(r["score"]) else float(r["score"]),
            "format": "",
            "width": None,
            "height": None,
            "bytes": None,
            "error": "",
            "facts": {
                k: str(v)
                for k, v in r.items()
                if k not in _PLAIN and not (isinstance(v, float) and np.isnan(v))
            },
            "pic": -1,
            "diff": -1,
            "diff_pct": None,
        }
        try:
            if r.get("kind") == "frame":
                raise DecodeFailure("frame", "a video frame: open the video to compare")
            data = read_bytes(r["path"], max_bytes)
            row["bytes"] = len(data)
            with Image.open(io.BytesIO(data)) as im:
                row["format"], (row["width"], row["height"]) = im.format or "", im.size
            img = decode(data, r["path"], _COMPARE_SIDE)
            pictures[r["id"]] = img
            row["pic"] = len(buffers)
            buffers.append(thumbnail_jpeg(img, size=_COMPARE_SIDE, quality=85))
        except (DecodeFailure, OSError, ValueError) as exc:
            row["error"] = getattr(exc, "message", None) or str(exc)
        out.append(row)
    kept = next((pictures.get(r["id"]) for r in out if r["keep"]), None)
    for row in out:
        img = pictures.get(row["id"])
        if row["keep"] or kept is None or img is None:
            continue
        diff, pct = _difference(kept, img)
        row["diff"], row["diff_pct"] = len(buffers), pct
        buffers.append(diff)
    return Reply({"rows": out}, buffers)


def _difference(a: Any, b: Any) -> tuple[bytes, float]:
    """|a - b| with ``b`` scaled to ``a``'s shape (at most ``_DIFF_SIDE`` px), as a
    JPEG, and the mean absolute difference in percent of full scale."""
    from PIL import Image

    small = a.copy()
    small.thumbnail((_DIFF_SIDE, _DIFF_SIDE))
    size = small.size
    x = np.asarray(small.convert("RGB"), dtype=np.int16)
    y = np.asarray(b.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.int16)
    d = np.abs(x - y)
    pct = round(float(d.mean()) / 255 * 100, 2)
    img = Image.fromarray(np.clip(d * 4, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue(), pct
