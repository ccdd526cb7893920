"""The search panel's state, kept per project for as long as the kernel runs.

Re-running ``%aisearch FOLDER`` (or choosing "AI Search…" again, which re-runs the
notebook's cell) makes a new :class:`SearchPanel`; it starts where the last panel of
the same project left off: the tab shown, every tab's result, score filter and
selection, the inputs (prompt, limits, example images), the threshold, the page,
whether the map was open and where searches run ("Search in:" and its filters). The registry holds the latest panel of each project (one
per project, keyed by its home and name) and reads its state when the next one is
made, so it is always the state the user last saw.

>>> panel = SearchPanel(proj); panel.search("a red circle")      # doctest: +SKIP
>>> again = SearchPanel(proj)        # same tab, prompt, results, selection, page
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._protocol import Mode
from ._results import Tab

if TYPE_CHECKING:
    from ..collection import Collection

log = logging.getLogger(__name__)

#: The inputs of the Controls part that a new panel takes over.
_INPUTS = ("prompt", "limit", "method", "n", "clusters", "references")

_lock = threading.Lock()
_latest: dict[tuple[str, str], PanelMemory] = {}


@dataclass
class PanelState:
    """What a panel shows, enough to show it again."""

    mode: str = Mode.PROMPT.value
    tabs: dict[str, Tab] = field(default_factory=dict)  # every tab's view, by mode
    inputs: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    page: int = 0
    map_on: bool = False
    project: Any = None  # the Project object its results belong to
    scope: Any = None  # where searches run (``_scoped.Scope``)


def project_key(project: Any) -> tuple[str, str]:
    """The registry's key of a project: its home (resolved) and its name."""
    return (str(project.home.resolve()), str(project.name))


def _rebind(res: Collection | None, project: Any, same: bool) -> Collection | None:
    """``res`` as a collection of ``project``: the same object when the project is the
    same; a project closed and opened again gets a copy made of the ids and scores
    still in its catalog (a duplicates result, whose groups those do not carry, is
    not kept)."""
    if res is None or same:
        return res
    if res.query.get("type") == "duplicates":
        return None
    import pandas as pd

    from ..collection import Collection

    known = project.catalog.records(res.ids)
    items = pd.DataFrame({"id": res.ids, "score": res.scores})
    return Collection(
        project,
        items[items["id"].isin(list(known))],
        name=res.name,
        query=res.query,
        created_at=res.created_at,
        info=res.info,
    )


class PanelMemory:
    """Mixin of :class:`SearchPanel`: its state kept per project (see the module)."""

    def _remember(self) -> None:
        """Called by every new panel: take over the state of the project's last panel
        (if any), then become the panel whose state the next one takes."""
        key = project_key(self.project)  # type: ignore[attr-defined]
        with _lock:
            last = _latest.get(key)
            _latest[key] = self
        if last is None or last is self:
            return
        try:
            self.show_view_state(last.view_state())
        except Exception:  # a state that cannot be shown again is not worth a broken panel
            log.exception("could not restore the panel of %s", key[1])

    def view_state(self) -> PanelState:
        """What this panel shows now: every tab's result, filter and selection, the
        inputs, threshold, page and map (what a new panel of the project starts from)."""
        p: Any = self
        kept = self._tabs.items()  # type: ignore[attr-defined]
        tabs = {m: replace(t, selected=list(t.selected)) for m, t in kept}
        tabs[p.mode] = self._tab_state()  # type: ignore[attr-defined]
        # Closing a panel closes its map, not its toggle.
        toggle = getattr(p, "_map_toggle", None)
        return PanelState(
            mode=p.mode,
            tabs=tabs,
            inputs={k: getattr(p.controls, k) for k in _INPUTS},
            threshold=p.threshold if p.result is not None else None,
            page=int(p.gallery.page),
            map_on=bool(toggle.value) if toggle is not None else p.map_view is not None,
            project=p.project,
            scope=getattr(p, "_scope", None),
        )

    def show_view_state(self, state: PanelState) -> None:
        """Show ``state`` (:meth:`view_state` of a panel of the same project)."""
        p: Any = self
        same = state.project is p.project
        tabs = {
            m: Tab(_rebind(t.result, p.project, same), t.title, t.filter, list(t.selected))
            for m, t in state.tabs.items()
        }
        tabs = {m: t if t.result is not None else Tab() for m, t in tabs.items()}
        c = p.controls
        with c.hold_sync():
            for k, v in state.inputs.items():
                setattr(c, k, v)
        p.mode = state.mode  # shows that tab's (still empty) view
        current = tabs.pop(state.mode, Tab())
        self._tabs.update(tabs)  # type: ignore[attr-defined]
        self._restore_tab(current)  # type: ignore[attr-defined]
        if state.threshold is not None and current.filter[0] not in ("above", "below"):
            p.threshold = state.threshold  # the box; it filters nothing in this mode
        pages = -(-p.gallery.total // max(1, p.gallery.page_size))
        if 0 < state.page < pages:
            p.gallery.page = state.page
        if state.map_on:
            p.show_map(True)
        if state.scope is not None and (same or state.scope.within != "results"):
            try:
                p._apply_scope(state.scope)  # a collection deleted since: the whole project
            except Exception:
                log.info("the panel's scope could not be kept", exc_info=True)


def forget(project: Any = None) -> None:
    """Drop the kept state of ``project`` (default: of every project)."""
    with _lock:
        if project is None:
            _latest.clear()
        else:
            _latest.pop(project_key(project), None)
