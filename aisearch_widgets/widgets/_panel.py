"""``SearchPanel``: the AI Search experience in one notebook cell.

An ipywidgets ``VBox`` of our anywidget parts and a bqplot score histogram, linked
in Python. Every action goes through the same public API a notebook user calls
(``Project.search``, ``Collection.filter``, ``Collection.save`` …). The front end's
requests follow ``_protocol.py``: each is answered by one reply, ok or with the error,
which the part that asked also shows.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd

from .._errors import AISearchError
from ..collection import Collection
from ..project import Project
from . import _results
from ._actions import SelectionActions
from ._curate import Curation
from ._parts import Actions, Controls, Gallery
from ._protocol import REPLY, MessageKind, Method, Mode, Part, Reply, Request, parse, request_id
from ._results import NO_FILTER, Filter, Tab
from ._state import PanelMemory

log = logging.getLogger(__name__)

_QUICK = ("Above threshold", "Below threshold", "Full range")
# One reply for every id the front end names that is not an image of the project: a
# path, an id of another project, garbage. It must not tell which of those it was.
_NOT_OURS = "That image is not part of this project."


def _default_allowed(project: Project) -> list[str]:
    """The parent folders of the project's sources (of a listed file: its folder)."""
    out: dict[str, None] = {}
    for src in project.sources:
        if src.root is not None:
            out[os.path.dirname(os.path.abspath(src.root).rstrip(os.sep)) or os.sep] = None
        for p in src.paths:
            out[os.path.dirname(os.path.abspath(p))] = None
    return list(out)


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:
        return False


class SearchPanel(Curation, SelectionActions, PanelMemory, W.VBox):
    """Search a project by prompt, diversity or example images; brush the score
    histogram; select images and act on them with the "With N selected ▾" menu (save,
    tag, untag, copy, move, delete to the trash with Undo, export, search similar).

    Each mode tab keeps its own last result, filter and selection; the header above
    the gallery names what it shows (``panel.header``).

    >>> panel = aw.SearchPanel(proj)          # doctest: +SKIP
    >>> panel                                  # shows it in the notebook
    >>> panel.search("a red circle")           # the same as typing it
    >>> panel.score_range, panel.selected, panel.collection.df

    The browser side is not trusted (a shared Voila page, a hostile extension): it may
    name only ids of the project's images, never a path, and copy/export targets it
    sends must lie inside ``allowed_dirs`` (default: the parent folders of the
    project's sources); nothing is ever overwritten from there.

    Curation: the histogram marks the suggested threshold (``suggested_threshold``,
    the Suggested button); the Duplicates and Outliers tabs (``panel.duplicates()``,
    ``panel.outliers(n)``); and a Map view (``panel.show_map()``) drawn from
    ``project.map(method=map_method)``, PCA by default because it is ready in
    seconds at any size (``map_method="umap"`` for a finer map).
    """

    def __init__(
        self,
        project: Project,
        *,
        limit: int = 100,
        page_size: int = 60,
        bins: int = 30,
        poll_interval: float = 0.5,
        allowed_dirs: Sequence[str | os.PathLike[str]] | None = None,
        map_method: str = "pca",
    ) -> None:
        self.project = project
        self.map_method = map_method
        self.bins = bins
        self.allowed_dirs = [
            os.path.realpath(os.path.expanduser(os.fspath(d)))
            for d in (_default_allowed(project) if allowed_dirs is None else allowed_dirs)
        ]
        self.controls = Controls(
            project=project.name, model_name=project.model_identity, limit=limit
        )
        self.gallery = Gallery(page_size=page_size)
        self.actions = Actions()
        self._result: Collection | None = None
        self._title = ""
        self._view: Collection | None = None
        self._view_df: pd.DataFrame = pd.DataFrame(columns=["id", "path", "score", "rank"])
        self._filter: Filter = NO_FILTER
        self._tabs: dict[str, Tab] = {}  # the other tabs' views (see _on_mode)
        self._undo: tuple[list[str], Tab] | None = None
        self._keepers: dict[int, str] = {}  # duplicates: the copy the user keeps per group
        self._build_chart()
        self.map_pane = self._build_map()
        super().__init__(
            [self.controls, self.chart, self.map_pane, self.actions, self.gallery],
            layout=W.Layout(width="100%"),
        )
        self._parts = {Part.CONTROLS: self.controls, Part.GALLERY: self.gallery}
        self._parts[Part.ACTIONS] = self.actions
        # One handler per request type (``_protocol.SPECS``), called with its checked
        # fields; a Reply carries results, anything else answers a plain ok.
        self._handlers: dict[Request, Callable[..., Any]] = {
            Request.SEARCH_PROMPT: self._search_prompt,
            Request.SEARCH_DIVERSE: self._search_diverse,
            Request.SEARCH_SIMILAR: self._similar_ids,
            Request.TOGGLE_ENABLED: self._toggle_enabled,
            Request.UPDATE_NOW: self._update_now,
            Request.REMOVE_REFERENCE: self._remove_reference,
            Request.THUMBS: self._thumbs,
            Request.PREVIEW: self._preview,
            Request.SIMILAR_ONE: lambda id: self._similar_ids([id]),
            Request.SIMILAR_SELECTED: self._similar_selected,
            Request.OPEN: self._open,
            Request.SAVE: self._save,
            Request.TAG: self._tag,
            Request.UNTAG: self._untag,
            Request.COPY: self._copy,
            Request.MOVE: self._move,
            Request.DELETE: self._delete,
            Request.EXPORT: self._export,
            Request.UNDO_DELETE: self._undo_delete,
            Request.DROP_HIDDEN: self._drop_hidden,
            Request.SEARCH_DUPLICATES: self._search_duplicates,
            Request.SEARCH_OUTLIERS: self._search_outliers,
            Request.TAG_ALL_BUT_BEST: self._tag_all_but_best,
            Request.DELETE_ALL_BUT_BEST: self._delete_all_but_best,
            Request.COMPARE: self._compare_group,
            Request.SET_KEEPER: self._set_keeper,
            Request.TRASH_GROUP: self._trash_group,
        }
        for part, widget in self._parts.items():
            widget.on_msg(lambda _w, msg, _bufs, part=part: self._dispatch(part, msg))
        self.gallery.observe(lambda _: self._show_page(), "page")
        self.gallery.observe(self._on_selected, "selected")
        self.gallery.observe(self._on_gallery_selected, "selected")
        self.controls.observe(self._on_mode, "mode")
        self._update_counts()
        self._stop = threading.Event()
        self._refresh_status()
        self._refresh_collections()
        # Opening a project never loads the model; a panel is about to be asked for a
        # prompt, so load it now, in the background, not on the first Enter.
        threading.Thread(target=self._warm_up, daemon=True, name="aisearch-warm-up").start()
        if poll_interval > 0:
            self._poller = threading.Thread(
                target=self._poll, args=(poll_interval,), daemon=True, name="aisearch-panel"
            )
            self._poller.start()
        self._remember()  # a panel of this project made before: show what it showed

    # -- chart --------------------------------------------------------------------
    def _build_chart(self) -> None:
        self._quick = {}
        for label, kind in zip(_QUICK, ("above", "below", "all"), strict=True):
            b = W.Button(description=label, layout=W.Layout(width="130px"))
            b.on_click(lambda _b, k=kind: self._on_quick(k))
            self._quick[kind] = b
        suggested = self._build_suggested()
        self._threshold = W.FloatText(
            value=0.0, step=0.01, description="threshold", layout=W.Layout(width="170px")
        )
        self._threshold.observe(self._on_threshold, "value")
        self._range_label = W.Label("")
        self._make_figure(np.array([0.0, 1.0]), np.zeros(2, dtype=int))
        self._chart_row = W.HBox(
            [*self._quick.values(), suggested, self._threshold, self._range_label]
        )
        # Empty until a result with scores is shown (no axes before a search).
        self.chart = W.VBox([], layout=W.Layout(width="100%"))

    def _make_figure(self, centers: np.ndarray, counts: np.ndarray) -> None:
        """A new histogram figure for a new result. bqplot scales do not recompute their
        domain reliably when a rendered figure gets data of a very different range, so
        each result gets its own figure (a few KB) and the old one is closed."""
        from bqplot import Axis, Bars, Figure, LinearScale
        from bqplot.interacts import BrushIntervalSelector

        old = getattr(self, "figure", None)
        width = float(centers[1] - centers[0]) if len(centers) > 1 else 0.01
        self._xs = LinearScale(
            min=float(centers[0] - width / 2), max=float(centers[-1] + width / 2)
        )
        self._ys = LinearScale(min=0, max=float(max(1, counts.max())))
        self._bars = Bars(
            x=centers,
            y=counts,
            scales={"x": self._xs, "y": self._ys},
            colors=["#1976d2"],
            padding=0.05,
        )
        top = int(max(1, counts.max()))
        y_axis = Axis(
            scale=self._ys,
            side="left",
            label="images",
            tick_format="d",
            tick_values=np.unique(np.linspace(0, top, min(top, 4) + 1).round()),
        )
        self._brush = BrushIntervalSelector(scale=self._xs, marks=[self._bars], color="#ff9800")
        self._brush.observe(self._on_brushing, "brushing")
        self.figure = Figure(
            marks=[self._bars, *self._suggested_marks(self._xs, top)],
            axes=[Axis(scale=self._xs, label="similarity score", tick_format=".3f"), y_axis],
            interaction=self._brush,
            layout=W.Layout(height="190px", width="100%"),
            fig_margin={"top": 10, "bottom": 40, "left": 55, "right": 15},
            animation_duration=0,
        )
        if old is not None:
            if self.chart.children:
                self.chart.children = (self.figure, self._chart_row)
            parts = [*old.marks, *old.axes, old.interaction]
            parts += [sc for m in old.marks for sc in m.scales.values()]
            for w in [old, *parts]:
                if w is not None:
                    w.close()

    def _update_chart(self) -> None:
        res = self._result
        if res is None or not len(res):
            self._make_figure(np.array([0.0, 1.0]), np.zeros(2, dtype=int))
            return
        counts, edges = res.histogram(bins=self.bins)
        self._make_figure((edges[:-1] + edges[1:]) / 2, counts)

    # -- public API ---------------------------------------------------------------
    @property
    def result(self) -> Collection | None:
        """The full result shown (the latest search, or an opened saved collection)."""
        return self._result

    @property
    def collection(self) -> Collection | None:
        """What the gallery shows: the result filtered by the score range."""
        return self._view

    @property
    def score_range(self) -> tuple[float, float] | None:
        """The score range the gallery is filtered to, or None for the full range."""
        kind, lo, hi = self._filter
        if kind == "all" or self._result is None:
            return None
        s = self._result.scores
        s = s[np.isfinite(s)]
        smin, smax = (float(s.min()), float(s.max())) if len(s) else (0.0, 0.0)
        return (lo if lo is not None else smin, hi if hi is not None else smax)

    @score_range.setter
    def score_range(self, value: tuple[float, float] | None) -> None:
        if value is None:
            self.full_range()
        else:
            lo, hi = sorted(float(v) for v in value)
            self._apply_filter("between", lo, hi, sync_brush=True)

    @property
    def threshold(self) -> float:
        return float(self._threshold.value)

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold.value = float(value)

    def above(self, threshold: float | None = None) -> None:
        """Show only results scoring at or above the threshold."""
        if threshold is not None:
            self._threshold.value = float(threshold)
        self._apply_filter("above", self.threshold, None, sync_brush=True)

    def below(self, threshold: float | None = None) -> None:
        """Show only results scoring below the threshold (the edge cases)."""
        if threshold is not None:
            self._threshold.value = float(threshold)
        self._apply_filter("below", None, self.threshold, sync_brush=True)

    def full_range(self) -> None:
        self._apply_filter("all", None, None, sync_brush=True)

    @property
    def selected(self) -> list[str]:
        """Ids of the images selected in the gallery (images of the result only; a
        score filter may hide some of them: see ``hidden_selected``)."""
        return list(self.gallery.selected)

    @selected.setter
    def selected(self, ids: Sequence[str]) -> None:
        self.gallery.selected = list(dict.fromkeys(ids))

    @property
    def hidden_selected(self) -> list[str]:
        """Selected images that the score filter hides (acted on as part of the
        selection, and counted on the menu: "60 selected (44 hidden)")."""
        shown = set(self._view_df["id"])
        return [i for i in self.gallery.selected if i not in shown]

    @property
    def header(self) -> str:
        """What the gallery shows, as the header above it says."""
        return self.actions.header

    @property
    def mode(self) -> str:
        """The tab shown (``prompt``, ``diverse``, ``similar``, ``duplicates`` or
        ``outliers``); setting it shows that tab's own last result."""
        return self.controls.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.controls.mode = Mode(value).value

    def search(self, prompt: str, limit: int | None = None) -> Collection | None:
        """Run a prompt search as if typed in the panel. An error is shown in the
        panel (and logged), and None returned."""
        return self._shown(self._search_prompt, prompt, limit)

    def diverse(
        self, n: int | None = None, method: str | None = None, clusters: int | None = None
    ) -> Collection | None:
        """A diverse sample, as if asked in the panel's Diverse tab."""
        return self._shown(self._search_diverse, n, method, clusters)

    def similar(self, images: Any = None, limit: int | None = None) -> Collection | None:
        """Search similar to ``images`` (default: the selected images). From Python any
        reference ``Project.similar`` takes works; the selection is used by id only."""
        if images is None:
            return self._shown(self._similar_ids, self.selected, limit)
        return self._shown(self._similar_any, images, limit)

    def show(self, collection: Collection) -> None:
        """Show any collection (e.g. a saved one) in the chart and gallery."""
        self._set_result(collection)

    def close(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
        if getattr(self, "_map_toggle", None) is not None:
            self._close_map()
        for name in ("controls", "gallery", "actions"):
            part = getattr(self, name, None)
            if part is not None:
                part.close()
        super().close()

    # -- internals ----------------------------------------------------------------
    def _message(self, text: str, kind: str = MessageKind.INFO, where: Any = None) -> None:
        target = where or self.controls
        with target.hold_sync():
            target.message = text
            target.message_kind = str(kind)

    def _report(self, exc: BaseException, where: Any, what: str) -> str:
        """Show an error in the part ``where`` and log it; the text shown. Errors we
        raise on purpose say what to do; anything else is a bug or an OS failure and
        is logged with its traceback."""
        if isinstance(exc, AISearchError):
            text = str(exc)
            log.warning("%s: %s", what, text)
        else:
            text = f"{type(exc).__name__}: {exc}"
            log.error("%s failed", what, exc_info=exc)
        self._message(text, MessageKind.ERROR, where=where)
        return text

    def _shown(self, fn: Callable[..., Collection | None], *args: Any) -> Collection | None:
        """A call from Python: its error is shown in the panel and logged, not raised."""
        try:
            return fn(*args)
        except Exception as exc:
            self._report(exc, self.controls, getattr(fn, "__name__", "panel call").lstrip("_"))
            return None

    def _run(self, search: Callable[[], Collection]) -> Collection:
        self.controls.busy = True
        self._message("")
        try:
            res = search()
        finally:
            self.controls.busy = False
        self._set_result(res)
        return res

    def _search_prompt(self, prompt: str, limit: int | None = None) -> Collection:
        c = self.controls
        c.mode = Mode.PROMPT.value
        limit = c.limit if limit is None else limit
        res = self._run(lambda: self.project.search(prompt, limit=limit))
        with c.hold_sync():  # what ran: the view shows it (one way, Python to JS)
            c.prompt, c.limit = prompt, limit
        return res

    def _search_diverse(
        self, n: int | None = None, method: str | None = None, clusters: int | None = None
    ) -> Collection:
        c = self.controls
        c.mode = Mode.DIVERSE.value
        n = c.n if n is None else n
        method = c.method if method is None else str(method)
        clusters = c.clusters if clusters is None else clusters
        res = self._run(lambda: self.project.diverse(n=n, method=method, clusters=clusters or None))
        with c.hold_sync():
            c.n, c.method, c.clusters = n, Method(method).value, clusters
        return res

    def _similar_any(self, images: Any, limit: int | None) -> Collection:
        if isinstance(images, (list, tuple)) and all(isinstance(r, str) for r in images):
            self._set_references(images)
        self.controls.mode = Mode.SIMILAR.value
        if isinstance(images, (list, tuple)) and not images:
            raise AISearchError("Select images in the gallery first.")
        limit = self.controls.limit if limit is None else limit
        res = self._run(lambda: self.project.similar(images, limit=limit))
        self.controls.limit = limit
        return res

    def _similar_ids(self, ids: Any, limit: int | None = None) -> Collection:
        """Similar search by ids from the front end: only ids of the project, checked
        against the catalog, reach ``Project.similar(ids=...)``; nothing is read as a
        path, and the error does not say whether a rejected string names anything."""
        self.controls.mode = Mode.SIMILAR.value
        refs = self._project_ids(ids)
        if len(refs) != (len(ids) if isinstance(ids, (list, tuple)) else -1):
            raise AISearchError(_NOT_OURS)
        if not refs:
            raise AISearchError("Select images in the gallery first.")
        self._set_references(refs)
        limit = self.controls.limit if limit is None else limit
        res = self._run(lambda: self.project.similar(ids=refs, limit=limit))
        self.controls.limit = limit
        return res

    def _set_result(self, res: Collection, title: str | None = None) -> None:
        """Show a new result in the current tab (no filter, nothing selected). The
        tab's own inputs stop naming an older search when it is not theirs: opening
        a saved collection in the Similar tab clears its example chips."""
        c = self.controls
        if not _results.is_own(c.mode, res):
            with c.hold_sync():
                if c.mode == Mode.SIMILAR:
                    c.references = []
                if c.mode == Mode.PROMPT:
                    c.prompt = ""
        if res.query.get("type") == "duplicates":
            self._keepers = {}
        self._clear_undo()
        self._message("", where=self.actions)
        names = {r["id"]: r["name"] for r in c.references}
        self._show_tab(Tab(res, title or _results.title(res, names)))

    def _tab_state(self) -> Tab:
        """The current tab's view, to keep while another tab is shown."""
        return Tab(self._result, self._title, self._filter, list(self.gallery.selected))

    def _show_tab(self, tab: Tab) -> None:
        """Show a tab's view: its result in the chart and gallery, its filter and its
        selection."""
        res = self._result = tab.result
        self._title = tab.title
        self._update_suggested(res)
        if res is not None:
            self._note_query(res)
        scores = res.scores if res is not None else np.zeros(0)
        scores = scores[np.isfinite(scores)]
        kind, lo, hi = tab.filter
        self._filter = NO_FILTER  # the threshold below must not re-filter the old view
        value = lo if kind == "above" else hi if kind == "below" else None
        if value is None and len(scores):
            value = round(float(np.median(scores)), 4)
        if value is not None and np.isfinite(value):
            self._threshold.value = float(value)
        self._update_chart()
        # A result without scores (a map selection, a saved list) has no histogram. The
        # figure leaves the page (a hidden bqplot figure draws negative sizes).
        self.chart.children = (self.figure, self._chart_row) if len(scores) else ()
        with self.gallery.hold_sync():
            self._apply_filter(kind, lo, hi, sync_brush=True)
            self.gallery.selected = tab.selected
        self._update_counts()

    def _on_mode(self, change: dict) -> None:
        """A tab switch (a click, or a search from Python): keep the old tab's view,
        show the new tab's own last result (or none). Messages belong to what they
        answered and go."""
        self._tabs[change["old"]] = self._tab_state()
        for part in self._parts.values():
            self._message("", where=part)
        self._clear_undo()
        self._show_tab(self._tabs.pop(change["new"], Tab()))

    def _restore_tab(self, tab: Tab) -> None:
        self._show_tab(tab)

    def _drop_from_result(self, ids: list[str]) -> None:
        """Take ``ids`` (deleted files) out of the result shown, keeping its filter and
        the rest of the selection; a duplicate group left with one image goes too."""
        res = self._result
        if res is None or not ids:
            return
        gone = set(ids)
        df = res.df
        keep = df[~df["id"].isin(gone)]
        if "group" in keep.columns:
            sizes = keep["group"].value_counts()
            keep = keep[keep["group"].map(sizes) > 1]
        tab = self._tab_state()
        tab.result = res.select(list(keep["id"]))
        tab.selected = [i for i in tab.selected if i not in gone]
        self._show_tab(tab)

    def _clear_undo(self) -> None:
        self._undo = None
        self.actions.undo = ""

    def _update_counts(self) -> None:
        """The result bar: the header and the counts of the "With N selected" menu."""
        sel = self.gallery.selected
        shown = set(self._view_df["id"])
        tab = Tab(self._result, self._title, self._filter)
        a = self.actions
        with a.hold_sync():
            a.header = _results.header(self.controls.mode, tab, self._view_df)
            a.n_shown = len(self._view_df)
            a.n_selected = len(sel)
            a.n_hidden = sum(1 for i in sel if i not in shown)

    def _apply_filter(
        self, kind: str, lo: float | None, hi: float | None, sync_brush: bool = False
    ) -> None:
        self._filter = (kind, lo, hi)
        res = self._result
        if res is None:
            view = None
        elif kind == "above":
            view = res.filter(above=lo)
        elif kind == "below":
            view = res.filter(below=hi)
        elif kind == "between":
            view = res.filter(between=(lo, hi))  # type: ignore[arg-type]
        else:
            view = res
        self._view = view
        self._view_df = view.df if view is not None else self._view_df.iloc[0:0]
        self._count_extra_copies()
        rng = self.score_range
        if sync_brush:
            ok = rng is not None and bool(np.isfinite(rng).all())
            self._brush.selected = np.array(rng) if ok and kind != "all" else None
        for k, b in self._quick.items():
            b.button_style = "info" if k == kind else ""
        self._range_label.value = (
            "full range" if rng is None else f"score {rng[0]:.3f} – {rng[1]:.3f}"
        )
        segments = self._segments(view)
        n = len(self._view_df)
        with self.gallery.hold_sync():
            self.gallery.total = n
            self.gallery.empty_text = (
                "No results in this score range." if res is not None else "No results yet."
            )
            self.gallery.segments = segments
            if not segments:
                self.gallery.view = "grid"
            if self.gallery.page != 0:
                self.gallery.page = 0  # the observer shows the page
        self._show_page()
        self._update_counts()

    def _segments(self, view: Collection | None) -> list[dict[str, Any]]:
        """The time segments of the video frames shown (best first), each with the id
        of its best frame (what a click on the row previews)."""
        df = self._view_df
        if view is None or df.empty or not (df["kind"] == "frame").any():
            return []
        seg = view.segments()
        frames = df[df["kind"] == "frame"]
        best = {
            (p, t): i for i, p, t in zip(frames["id"], frames["path"], frames["t"], strict=True)
        }
        return [
            {
                "id": best.get((r.path, r.best_t), ""),
                "name": os.path.basename(r.path),
                "path": r.path,
                "start": _clock(r.start),
                "end": _clock(r.end),
                "frames": int(r.frames),
                "score": None if pd.isna(r.best_score) else float(r.best_score),
            }
            for r in seg.head(500).itertuples(index=False)
        ]

    def _show_page(self) -> None:
        ps, page = self.gallery.page_size, self.gallery.page
        rows = self._view_df.iloc[page * ps : (page + 1) * ps]
        self.gallery.items = [
            {
                "id": r.id,
                "name": os.path.basename(r.path),
                "path": r.path,
                "score": None if pd.isna(r.score) else float(r.score),
                "rank": int(r.rank),
                "time": "" if pd.isna(r.t) else _clock(r.t),  # a video frame's time
                **group,
            }
            for r, group in zip(rows.itertuples(index=False), self._group_fields(rows), strict=True)
        ]

    def _project_ids(self, ids: Any) -> list[str]:
        """The strings among ``ids`` that are ids of this project's images (one check
        for every id a message or a browser-set trait names)."""
        if not isinstance(ids, (list, tuple)):
            return []
        strs = [i for i in ids if isinstance(i, str) and len(i) <= 64][:10_000]
        known = self.project.catalog.records(strs) if strs else {}
        return [i for i in dict.fromkeys(strs) if i in known]

    def _on_selected(self, change: dict) -> None:
        new = list(change["new"])
        ok = self._project_ids(new)  # the browser may select images of the project only
        if self._result is not None:  # … and of the result shown
            ids = set(self._result.ids)
            ok = [i for i in ok if i in ids]
        else:
            ok = []
        if ok != new:
            self.gallery.selected = ok
            return
        self._update_counts()

    def _set_references(self, ids: Sequence[str]) -> None:
        recs = self.project.catalog.records(list(ids))
        self.controls.references = [
            {"id": i, "name": os.path.basename(recs[i].path)} for i in ids if i in recs
        ]

    def _on_brushing(self, change: dict) -> None:
        if change["new"]:
            return  # act when the brush is released, not on every mouse move
        sel = self._brush.selected
        if sel is None or len(sel) < 2 or not np.isfinite(sel).all() or sel[0] == sel[1]:
            self._apply_filter("all", None, None)
            return
        lo, hi = sorted(float(v) for v in sel)
        self._apply_filter("between", lo, hi)

    def _on_quick(self, kind: str) -> None:
        if kind == "above":
            self.above()
        elif kind == "below":
            self.below()
        else:
            self.full_range()

    def _on_threshold(self, change: dict) -> None:
        kind, _, _ = self._filter
        if kind == "above":
            self._apply_filter("above", self.threshold, None, sync_brush=True)
        elif kind == "below":
            self._apply_filter("below", None, self.threshold, sync_brush=True)

    # -- requests from the front end (see _protocol.py) ---------------------------
    def _dispatch(self, part: Part, msg: Any) -> None:
        """Answer one request: check it against the protocol, run its handler, reply
        ok or with the error. An error is also shown in the part that sent the request
        and logged. Whatever happens, exactly one reply goes back."""
        widget = self._parts[part]
        rid = request_id(msg)
        what = f"panel request {str(msg.get('type') if isinstance(msg, dict) else msg)[:40]!r}"
        try:
            if widget.message_kind == MessageKind.ERROR:
                self._message("", where=widget)  # a new request: the old error is done
            req, fields = parse(part, msg)
            out = self._handlers[req](**fields)
            reply = out if isinstance(out, Reply) else Reply()
            if reply.error is not None:
                self._message(reply.error, MessageKind.ERROR, where=widget)
        except Exception as exc:
            reply = Reply(error=self._report(exc, widget, what))
        content: dict[str, Any] = {"type": REPLY, "rid": rid, "ok": reply.error is None}
        content.update(reply.fields)
        if reply.error is not None:
            content["error"] = reply.error
        try:
            widget.send(content, reply.buffers or None)
        except Exception:  # the comm is gone (kernel shutting down, widget closed)
            log.exception("could not answer %s", what)

    def _toggle_enabled(self) -> None:
        if self.project.enabled:
            self.project.disable()
        else:
            self.project.enable()
        self._refresh_status()

    def _update_now(self) -> None:
        self.project.update_async()
        self._message("Update started.")
        self._refresh_status()

    def _remove_reference(self, id: str) -> None:
        self.controls.references = [r for r in self.controls.references if r.get("id") != id]

    def _thumbs(self, ids: list) -> Reply:
        """One JPEG buffer per id on screen; an empty one for ids not shown and for
        images whose thumbnail fails (the page still finishes; the error is shown)."""
        ids = [i for i in ids if isinstance(i, str)][:500]
        known = set(self._view_df["id"])
        bufs: list[bytes] = []
        broken: list[str] = []
        for i in ids:
            data = b""
            if i in known:
                try:
                    data = self.project.thumbnail(i) or b""
                except Exception as exc:
                    log.error("thumbnail of image %s failed", i, exc_info=exc)
                    broken.append(f"{type(exc).__name__}: {exc}")
            bufs.append(data)
        error = None
        if broken:
            error = (
                f"{len(broken)} thumbnail(s) could not be made, first: {broken[0]}. The "
                "images are listed without them; check the files and the project home."
            )
        return Reply({"ids": ids}, bufs, error)

    def _preview(self, id: str) -> Reply:
        from ..images import DecodeFailure, load, thumbnail_jpeg

        rows = self._view_df[self._view_df["id"] == id]
        if rows.empty:
            raise AISearchError(_NOT_OURS)
        r = rows.iloc[0]
        name = os.path.basename(r["path"])
        if r["kind"] == "frame":
            from ..video import frame_at

            img = frame_at(r["path"], round(float(r["t"]) * 1000), 768)
            if img is None:
                raise AISearchError(f"{r['path']}: the frame at {r['t']:g} s cannot be decoded")
            data = thumbnail_jpeg(img, size=768, quality=85)
        else:
            try:
                data = thumbnail_jpeg(load(r["path"], 768)[0], size=768, quality=85)
            except DecodeFailure as f:
                raise AISearchError(f.message) from f
        score = None if pd.isna(r["score"]) else float(r["score"])
        time = "" if pd.isna(r["t"]) else _clock(r["t"])
        return Reply({"name": name, "score": score, "time": time}, [data])

    def _open(self, name: str) -> None:
        try:
            coll = self.project.collections[name]
        except KeyError as exc:
            raise AISearchError(str(exc.args[0] if exc.args else exc)) from exc
        self.show(coll)

    def _allowed_target(self, raw: Any, folder: bool) -> str:
        """A copy/export target the browser sent, resolved (symlinks, ``..``) and
        checked to lie inside ``allowed_dirs``; an existing export file is refused.
        The refusal reads the same whether the path exists or not."""
        refuse = AISearchError(
            "Targets from the panel must be inside "
            + (", ".join(self.allowed_dirs) or "no folder (allowed_dirs is empty)")
            + " and must not replace a file. Pass allowed_dirs=[...] to SearchPanel, or "
            "call copy_to/export from Python."
        )
        if not isinstance(raw, str) or not raw.strip() or "\x00" in raw or len(raw) > 4096:
            raise refuse
        path = os.path.realpath(os.path.join(os.getcwd(), raw.strip()))
        if not any(_inside(path, d) for d in self.allowed_dirs):
            raise refuse
        if not folder and os.path.lexists(path):
            raise refuse
        return path

    # -- status -------------------------------------------------------------------
    def _refresh_status(self) -> None:
        st = self.project.status
        c = self.controls
        new = {
            "enabled": st.enabled,
            "state": st.state,
            "done": st.done,
            "total": st.total,
            "failed": st.failed,
            "ready": st.first_pass_done,
        }
        changed = {k: v for k, v in new.items() if getattr(c, k) != v}
        if changed:
            with c.hold_sync():
                for k, v in changed.items():
                    setattr(c, k, v)

    def _refresh_collections(self) -> None:
        self.actions.collections = list(self.project.collections)

    def _warm_up(self) -> None:
        try:
            self.project.embedder  # noqa: B018 - loads the model once
        except Exception:  # shown when a search needs it; nothing to say yet
            log.debug("model warm-up failed", exc_info=True)

    def _poll(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if self.project.closed:
                return
            try:
                self._refresh_status()
            except Exception:  # the project was closed, or the kernel is shutting down
                log.debug("status poll failed", exc_info=True)
                return


def _clock(seconds: float) -> str:
    """A video time as ``m:ss.s`` (``h:mm:ss.s`` past an hour)."""
    m, sec = divmod(max(0.0, float(seconds)), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{sec:04.1f}" if h else f"{m}:{sec:04.1f}"
