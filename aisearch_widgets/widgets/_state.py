"""The search panel's state, kept per project for as long as the kernel runs.

Re-running ``%aisearch FOLDER`` (or choosing "AI Search…" again, which re-runs the
notebook's cell) makes a new :class:`SearchPanel`; it starts where the last panel of
the same project left off: the tab shown, every tab's result, score filter and
selection, the inputs (prompt, limits, example images), the threshold, the page and
whether the map was open. The registry holds the latest panel of each project (one
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
    from ._panel import SearchPanel

log = logging.getLogger(__name__)

#: The inputs of the Controls part that a new panel takes over.
_INPUTS = ("prompt", "limit", "method", "n", "clusters", "references")

_lock = threading.Lock()
_latest: dict[tuple[str, str], SearchPanel] = {}


@dataclass
class PanelState:
    """What a panel shows, enough to show it again."""

    mode: str = Mode.PROMPT.value
    tabs: dict[str, Tab] = field(default_factory=dict)  # every tab's view, by mode
    inputs: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    page: int = 0
    map_on: bool = False


def project_key(project: Any) -> tuple[str, str]:
    """The registry's key of a project: its home (resolved) and its name."""
    return (str(project.home.resolve()), str(project.name))


def snapshot(panel: SearchPanel) -> PanelState:
    """The state of ``panel`` as it is now."""
    tabs = {mode: replace(tab, selected=list(tab.selected)) for mode, tab in panel._tabs.items()}
    tabs[panel.mode] = panel._tab_state()
    return PanelState(
        mode=panel.mode,
        tabs=tabs,
        inputs={k: getattr(panel.controls, k) for k in _INPUTS},
        threshold=panel.threshold if panel.result is not None else None,
        page=int(panel.gallery.page),
        map_on=_map_on(panel),
    )


def _map_on(panel: SearchPanel) -> bool:
    """Whether the Map view is open (closing a panel closes its map, not its toggle)."""
    toggle = getattr(panel, "_map_toggle", None)
    return bool(toggle.value) if toggle is not None else panel.map_view is not None


def _rebind(res: Collection | None, project: Any) -> Collection | None:
    """``res`` as a collection of ``project``: the same object when it already is one;
    a project closed and opened again gets a copy of the rows still in its catalog."""
    if res is None or res._project is project:
        return res
    from ..collection import Collection

    known = project.catalog.records(res.ids)
    items = res._items[res._items["id"].isin(list(known))]
    return Collection(
        project, items, name=res.name, query=res.query, created_at=res.created_at, info=res.info
    )


def restore(panel: SearchPanel, state: PanelState) -> None:
    """Show ``state`` in ``panel`` (a new panel of the same project)."""
    project = panel.project
    tabs = {
        m: Tab(_rebind(t.result, project), t.title, t.filter, list(t.selected))
        for m, t in state.tabs.items()
    }
    c = panel.controls
    with c.hold_sync():
        for k, v in state.inputs.items():
            setattr(c, k, v)
    panel.mode = state.mode  # shows that tab's (still empty) view
    current = tabs.pop(state.mode, Tab())
    panel._tabs.update(tabs)
    panel._restore_tab(current)
    if state.threshold is not None and current.filter[0] not in ("above", "below"):
        panel.threshold = state.threshold  # the box; it filters nothing in this mode
    pages = -(-panel.gallery.total // max(1, panel.gallery.page_size))
    if 0 < state.page < pages:
        panel.gallery.page = state.page
    if state.map_on:
        panel.show_map(True)


def adopt(panel: SearchPanel) -> None:
    """Called by every new panel: take over the state of the project's last panel (if
    any), then become the panel whose state the next one takes."""
    key = project_key(panel.project)
    with _lock:
        last = _latest.get(key)
        _latest[key] = panel
    if last is None or last is panel:
        return
    try:
        restore(panel, snapshot(last))
    except Exception:  # a state that cannot be shown again is not worth a broken panel
        log.exception("could not restore the panel of %s", key[1])


def forget(project: Any = None) -> None:
    """Drop the kept state of ``project`` (default: of every project)."""
    with _lock:
        if project is None:
            _latest.clear()
        else:
            _latest.pop(project_key(project), None)
