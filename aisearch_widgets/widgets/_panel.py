"""``SearchPanel``: the AI Search experience in one notebook cell.

An ipywidgets ``VBox`` of our anywidget parts (controls, score chart, result bar,
gallery) and the map, linked in Python. Every action goes through the same public
API a notebook user calls (``Project.search``, ``Collection.filter``,
``Collection.save`` …). The front end's requests follow ``_protocol.py``: each is
answered by one reply, ok or with the error, which the part that asked also shows.
Searches run on a worker thread (``_jobs.py``), so the kernel stays free meanwhile.

Around this module: ``_chart.py`` (the threshold), ``_actions.py`` (the "With N
selected" menu), ``_sendlab.py`` (its "Send to labelling…"), ``_curate.py``
(duplicates, outliers, map), ``_guard.py`` (what the browser may name), ``_media.py``
(thumbnails, preview), ``_results.py`` (per-tab views and the header).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
import pandas as pd

from .. import _estimate
from .._errors import AISearchError
from .._home import CATALOG_NAME
from ..collection import Collection
from ..project import Project
from . import _guard, _media, _results
from ._actions import SelectionActions
from ._chart import ScoreFilters
from ._curate import Curation
from ._dispatch import Requests
from ._feedback import Feedback
from ._gallery import GalleryRequests
from ._jobs import Jobs, Work
from ._labelled import GalleryLabels
from ._paging import Paging
from ._parts import Actions, Controls, Gallery, ScoreChart
from ._protocol import (
    Method,
    Mode,
    Part,
    Reply,
    Request,
    ScoreFilter,
)
from ._results import NO_FILTER, Filter, Tab
from ._scoped import ScopedSearch
from ._sendlab import SendToLabelling
from ._state import PanelMemory

log = logging.getLogger(__name__)

#: The status poll waits at least this many times as long as its last refresh took, so
#: that it holds the panel's lock a tenth of the time at most.
POLL_BUSY_FACTOR = 9.0

#: What the spinner says while a prompt waits for the model the panel is loading.
LOADING = "Loading the model"

#: What the spinner says while a job of each kind runs.
_LABELS = {
    Mode.PROMPT: "Searching",
    Mode.DIVERSE: "Sampling",
    Mode.SIMILAR: "Searching similar images",
    Mode.DUPLICATES: "Finding duplicates",
    Mode.OUTLIERS: "Finding outliers",
}


class SearchPanel(
    Requests,
    ScoreFilters,
    Curation,
    SelectionActions,
    SendToLabelling,
    GalleryRequests,
    GalleryLabels,
    Paging,
    Feedback,
    ScopedSearch,
    PanelMemory,
    W.VBox,
):
    """Search a project by prompt, diversity or example images; filter the result by
    one score threshold on its chart; select images and act on them with the "With N selected ▾" menu (save,
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

    One threshold filters the gallery (``panel.threshold``, ``above()``, ``below()``,
    ``score_range``): a line to drag on the score chart, a box to type in; the chart
    marks the suggested cut (``suggested_threshold``). Searches started in the panel
    run on a worker thread: the kernel stays free, and a newer search replaces an
    older one (calls from Python run here and now).

    Curation: the Duplicates and Outliers tabs (``panel.duplicates()``,
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
        self.allowed_dirs = _guard.resolve_allowed(project, allowed_dirs)
        self._lock = threading.RLock()
        self._jobs = Jobs(self._lock, self._show_busy)
        self.controls = Controls(
            project=project.name, model_name=project.model_identity, limit=limit
        )
        self.gallery = Gallery(page_size=page_size)
        self.actions = Actions()
        self._result: Collection | None = None
        self._marks_init()
        self._title = ""
        self._view: Collection | None = None
        self._view_df: pd.DataFrame = pd.DataFrame(columns=["id", "path", "score", "rank"])
        self._filter: Filter = NO_FILTER
        self._tabs: dict[str, Tab] = {}  # the other tabs' views (see _on_mode)
        self._undo: tuple[list[str], Tab] | None = None
        self._keepers: dict[int, str] = {}  # duplicates: the copy the user keeps per group
        self.chart = ScoreChart()  # empty until a result with a query's scores is shown
        self.map_pane = self._build_map()
        super().__init__(
            [self.controls, self.chart, self._beside_map(self.actions, self.gallery)],
            layout=W.Layout(width="100%"),
        )
        self.add_class("aisw-panel")
        self._parts = {Part.CONTROLS: self.controls, Part.GALLERY: self.gallery}
        self._parts[Part.ACTIONS] = self.actions
        self._parts[Part.CHART] = self.chart
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
            Request.PAGE_AHEAD: self._page_ahead,
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
            Request.CANCEL: self._cancel,
            Request.MARK: self._mark,
            Request.REFINE: self._refine,
            Request.SET_THRESHOLD: self._set_threshold,
            Request.SET_RANGE: self._set_range,
            Request.FULL_RANGE: self.full_range,
            Request.DETAILS: self._details,
            Request.TAG_IMAGES: self._tag_images,
            Request.UNTAG_IMAGES: self._untag_images,
            Request.SELECT_ALL: self._select_all,
            Request.SET_SCOPE: self._set_scope,
            Request.SCOPE_OPTIONS: self._scope_options,
            Request.SEARCH_QUALITY: self._search_quality,
            Request.EXPORT_AS: self._export_as,
            Request.LABELLING_FORM: self._labelling_form,
            Request.SEND_TO_LABELLING: self._send_to_labelling,
        }
        for part, widget in self._parts.items():
            widget.on_msg(lambda _w, msg, _bufs, part=part: self._dispatch(part, msg))
        # The traits the browser writes are handled under the lock, like its requests.
        self.gallery.observe(self._locked(lambda _: self._show_page()), "page")
        self.gallery.observe(self._locked(self._on_selected), "selected")
        self.gallery.observe(self._on_gallery_selected, "selected")
        self.gallery.observe(self._locked(self._on_tag_filter), "tag_filter")
        self.gallery.observe(self._locked(self._on_label_filter), ["label_filter", "label_set"])
        self.controls.observe(self._locked(self._on_mode), "mode")
        self._init_scope()
        self._update_counts()
        self._stop = threading.Event()
        self._refresh_status()
        self._refresh_collections()
        # Opening a project never loads the model; a panel is about to be asked for a
        # prompt, so load it now, in the background, not on the first Enter. A prompt
        # sent before it is loaded says so while it waits ("Loading the model").
        self._model_ready = threading.Event()
        self.controls.model_loading = True
        threading.Thread(target=self._warm_up, daemon=True, name="aisearch-warm-up").start()
        if poll_interval > 0:
            self._poller = threading.Thread(
                target=self._poll, args=(poll_interval,), daemon=True, name="aisearch-panel"
            )
            self._poller.start()
        self._remember()  # a panel of this project made before: show what it showed

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
        jobs = getattr(self, "_jobs", None)
        if jobs is not None:
            jobs.cancel()
        if getattr(self, "_map_toggle", None) is not None:
            self._close_map()
        for name in ("controls", "chart", "gallery", "actions"):
            part = getattr(self, name, None)
            if part is not None:
                part.close()
        super().close()

    # -- internals ----------------------------------------------------------------
    def _locked(self, fn: Callable[[dict], None]) -> Callable[[dict], None]:
        """``fn`` run under the panel's lock (a worker may be showing a result)."""

        def run(change: dict) -> None:
            with self._lock:
                fn(change)

        return run

    def _shown(self, fn: Callable[..., Any], *args: Any) -> Collection | None:
        """A call from Python: it runs here and now (a search running for the page is
        dropped, a map being built goes on); its error is shown in the panel and
        logged, not raised."""
        self._jobs.cancel(reason="Replaced by a call from Python.", shown_only=True, keep=("map",))
        try:
            with self._lock:
                out = fn(*args)
                return out.run() if isinstance(out, Work) else out
        except Exception as exc:
            self._report(exc, self.controls, getattr(fn, "__name__", "panel call").lstrip("_"))
            return None

    def _run(
        self,
        search: Callable[[], Collection],
        then: Callable[[], None] = lambda: None,
        label: str | None = None,
    ) -> Work:
        """A search of the current tab as :class:`Work`: ``search`` runs on a worker
        (or here, for a call from Python); its result is shown in the tab that asked,
        then ``then`` notes what ran."""
        mode = self.controls.mode
        self._message("")
        scope = self._scope_text() if self._scope.narrowed else ""

        def done(res: Collection) -> Collection:
            if scope:
                self._scopes[res] = scope
            if self.controls.mode == mode:
                self._set_result(res)
            else:  # the user went to another tab meanwhile: the result waits in its own
                self._tabs[mode] = Tab(res, _results.title(res))
                self._message(f"{_results.title(res)} is ready in its tab.")
            then()
            return res

        return Work(search, done, label=label or _LABELS.get(Mode(mode), "Working"))

    def _search_prompt(self, prompt: str, limit: int | None = None) -> Work:
        c = self.controls
        c.mode = Mode.PROMPT.value
        limit = c.limit if limit is None else limit

        def ran() -> None:
            with c.hold_sync():  # what ran: the view shows it (one way, Python to JS)
                c.prompt, c.limit = prompt, limit

        kw = self._scope_kw()
        label = None if self._model_ready.is_set() else LOADING
        return self._run(lambda: self.project.search(prompt, limit=limit, **kw), ran, label)

    def _search_diverse(
        self, n: int | None = None, method: str | None = None, clusters: int | None = None
    ) -> Work:
        c = self.controls
        c.mode = Mode.DIVERSE.value
        n = c.n if n is None else n
        method = c.method if method is None else str(method)
        clusters = c.clusters if clusters is None else clusters

        def ran() -> None:
            with c.hold_sync():
                c.n, c.method, c.clusters = n, Method(method).value, clusters

        kw = self._scope_kw()
        return self._run(
            lambda: self.project.diverse(n=n, method=method, clusters=clusters or None, **kw),
            ran,
        )

    def _similar_any(self, images: Any, limit: int | None) -> Work:
        if isinstance(images, (list, tuple)) and all(isinstance(r, str) for r in images):
            self._set_references(images)
        self.controls.mode = Mode.SIMILAR.value
        if isinstance(images, (list, tuple)) and not images:
            raise AISearchError("Select images in the gallery first.")
        limit = self.controls.limit if limit is None else limit
        kw = self._scope_kw()
        return self._run(
            lambda: self.project.similar(images, limit=limit, **kw),
            lambda: setattr(self.controls, "limit", limit),
        )

    def _similar_ids(self, ids: Any, limit: int | None = None) -> Work:
        """Similar search by ids from the front end: only ids of the project, checked
        against the catalog, reach ``Project.similar(ids=...)``; nothing is read as a
        path, and the error does not say whether a rejected string names anything."""
        self.controls.mode = Mode.SIMILAR.value
        refs = self._project_ids(ids)
        if len(refs) != (len(ids) if isinstance(ids, (list, tuple)) else -1):
            raise AISearchError(_guard.NOT_OURS)
        if not refs:
            raise AISearchError("Select images in the gallery first.")
        self._set_references(refs)
        limit = self.controls.limit if limit is None else limit
        kw = self._scope_kw()
        return self._run(
            lambda: self.project.similar(ids=refs, limit=limit, **kw),
            lambda: setattr(self.controls, "limit", limit),
        )

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
        if res is not None:
            self._note_query(res)
        kind, lo, hi = tab.filter
        self._filter = NO_FILTER
        # A result without a query's scores (diverse, outliers, a map selection) has no
        # chart; the tab's own threshold comes back with it.
        self._chart_for(res, lo if kind != ScoreFilter.BELOW else hi)
        with self.gallery.hold_sync():
            self._apply_filter(kind, lo, hi)
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
            a.header = _results.header(
                self.controls.mode,
                tab,
                self._view_df,
                tag=self.gallery.tag_filter,
                label=self.gallery.label_filter,
                scope=self._scope_of(self._result),
            )
            a.n_shown = len(self._view_df)
            a.n_selected = len(sel)
            a.n_hidden = sum(1 for i in sel if i not in shown)

    def _apply_filter(self, kind: str, lo: float | None, hi: float | None) -> None:
        kind = str(kind)
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
        self._view, self._view_df = self._narrow_to_tag(view, self._view_df.iloc[0:0])
        self._count_extra_copies()
        self._show_filter(kind, self.score_range)
        segments = _results.segments(view, self._view_df)
        n = len(self._view_df)
        self._new_view()
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

    def _project_ids(self, ids: Any) -> list[str]:
        return _guard.project_ids(self.project, ids)

    def _allowed_target(self, raw: Any, folder: bool) -> str:
        return _guard.allowed_target(self.allowed_dirs, raw, folder)

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

    def _toggle_enabled(self) -> Work:
        on = not self.project.enabled
        flip = self.project.enable if on else self.project.disable
        return Work(
            lambda: flip(),
            lambda _: self._refresh_status(),
            label="Enabling" if on else "Disabling",
            slot="enable",
        )

    def _update_now(self) -> None:
        self.project.update_async()
        self._message("Update started.")
        self._refresh_status()

    def _remove_reference(self, id: str) -> None:
        self.controls.references = [r for r in self.controls.references if r.get("id") != id]

    def _thumbs(self, ids: list) -> Reply:
        return _media.thumbs(self.project, self._view_df, ids)

    def _preview(self, id: str, size: int) -> Reply:
        return _media.preview(self._view_df, id, size)

    def _open(self, name: str) -> None:
        try:
            coll = self.project.collections[name]
        except KeyError as exc:
            raise AISearchError(str(exc.args[0] if exc.args else exc)) from exc
        self.show(coll)

    # -- status -------------------------------------------------------------------
    def _refresh_status(self) -> None:
        st = self.project.status
        c = self.controls
        indexing = st.state == "indexing"
        # The time left as the lab's status bar says it (one computation, from the catalog).
        db = self.project.folder / CATALOG_NAME
        eta = _estimate.time_left(db, st.done + st.failed, st.total) if indexing else -1.0
        new = {
            "enabled": st.enabled,
            "state": st.state,
            "done": st.done,
            "total": st.total,
            "failed": st.failed,
            "ready": st.first_pass_done,
            "eta": eta,
            "eta_text": _estimate.left_text(eta),
        }
        changed = {k: v for k, v in new.items() if getattr(c, k) != v}
        if changed:
            with c.hold_sync():
                for k, v in changed.items():
                    setattr(c, k, v)

    def _refresh_collections(self) -> None:
        names = list(self.project.collections)
        self.actions.collections = names
        self.controls.collections = names

    def _warm_up(self) -> None:
        try:
            self.project.embedder  # noqa: B018 - loads the model once
        except Exception:  # shown when a search needs it; nothing to say yet
            log.debug("model warm-up failed", exc_info=True)
        self._model_ready.set()
        try:
            with self._lock:
                self.controls.model_loading = False
        except Exception:  # the panel was closed meanwhile
            log.debug("panel closed before the model was loaded", exc_info=True)
        from ._map import preload

        preload()  # then the map's plotting library, for the first Map toggle

    def _poll(self, interval: float) -> None:
        wait = interval
        while not self._stop.wait(wait):
            if self.project.closed:
                return
            t0 = time.monotonic()
            try:
                with self._lock:  # a worker may be showing a result in the same parts
                    self._refresh_status()
                    self._refresh_collections()  # saved from Python: "Search in:" offers it
            except Exception:  # the project was closed, or the kernel is shutting down
                log.debug("status poll failed", exc_info=True)
                return
            # The status counts the catalog (about a second at 1M rows) under the lock
            # that searches and pages wait for: poll a big project less often.
            wait = max(interval, POLL_BUSY_FACTOR * (time.monotonic() - t0))
