"""The anywidget parts of the panel. They hold view state only; the panel
(``_panel.py``) answers their requests (``_protocol.py``) through the public Project
API. Traits are set by Python and displayed by the front end, except the view's
selections the front end writes: ``Controls.mode``, ``Gallery.page``,
``Gallery.selected`` and ``Gallery.tag_filter``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from ._protocol import MessageKind, Method, Mode, ScoreFilter, State, View

STATIC = Path(__file__).resolve().parent.parent / "static"


def _enum(e: type, default: str) -> t.Enum:
    return t.Enum([m.value for m in e], default_value=e(default).value)


class _Part(anywidget.AnyWidget):
    """A part with a message line: the outcome of its last request, or of a call
    from Python (``message_kind`` error or info)."""

    _css = STATIC / "widgets.css"

    message = t.Unicode("").tag(sync=True)
    message_kind = _enum(MessageKind, "info").tag(sync=True)

    # Every message of a part leaves through these two: its state (at open and on each
    # trait change) and its replies. JSON has no NaN or Infinity, and a message holding
    # one is dropped on its way to the browser ("Out of range float values are not
    # JSON compliant"): such a number travels as null.
    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict:
        return finite(super().get_state(key, drop_defaults))

    def send(self, content: Any, buffers: Any = None) -> None:
        super().send(finite(content), buffers)


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (also inside dicts, lists and tuples)
    replaced by None: what JSON can carry."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class Controls(_Part):
    """Header (status, enable/disable, update now) and the search bar."""

    _esm = STATIC / "controls.js"
    project = t.Unicode("").tag(sync=True)
    model_name = t.Unicode("").tag(sync=True)
    enabled = t.Bool(False).tag(sync=True)
    state = _enum(State, "disabled").tag(sync=True)
    done = t.Int(0).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    failed = t.Int(0).tag(sync=True)
    ready = t.Bool(False).tag(sync=True)
    # Seconds the sync still needs at its measured rate (-1: not known yet).
    eta = t.Float(-1.0).tag(sync=True)
    # The same for people ("about 3 min left"; "" when not known), as the status bar says it.
    eta_text = t.Unicode("").tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    # What runs meanwhile ("Searching", "Enabling" …): the spinner's text.
    busy_label = t.Unicode("").tag(sync=True)
    # The panel is still loading the model: a prompt sent now waits for it, and the
    # spinner says so from the moment Enter is pressed.
    model_loading = t.Bool(False).tag(sync=True)
    mode = _enum(Mode, "prompt").tag(sync=True)
    prompt = t.Unicode("").tag(sync=True)
    limit = t.Int(100).tag(sync=True)
    method = _enum(Method, "centroids").tag(sync=True)
    n = t.Int(50).tag(sync=True)
    clusters = t.Int(0).tag(sync=True)
    references = t.List(t.Dict()).tag(sync=True)
    # Where searches run ("Search in:" and the filter chips): {within, name,
    # results_title, filters: [{kind, ..., label}], text}; set by Python.
    scope = t.Dict().tag(sync=True)
    collections = t.List(t.Unicode()).tag(sync=True)  # saved collections to search in


class Gallery(_Part):
    """Thumbnails of one page of results, with selection."""

    _esm = STATIC / "gallery.js"
    items = t.List(t.Dict()).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    page = t.Int(0).tag(sync=True)
    page_size = t.Int(60).tag(sync=True)
    # Which view the pages belong to: Python counts up whenever the images shown change
    # (a new result, a filter), so a page the browser asked ahead of a newer view is
    # never drawn (``_paging.py``).
    view_id = t.Int(0).tag(sync=True)
    selected = t.List(t.Unicode()).tag(sync=True)
    marks = t.Dict().tag(sync=True)  # id -> "up" | "down": the marks for Refine
    empty_text = t.Unicode("No results yet.").tag(sync=True)
    # Video frames among the results, merged into time ranges (Collection.segments):
    # rows {name, path, start, end, frames, score, id (the best frame)}.
    segments = t.List(t.Dict()).tag(sync=True)
    view = _enum(View, "grid").tag(sync=True)
    # The tag filter: the tags of the images the score filter lets through, {tag, n}
    # (set by Python), and the one chosen (written by the front end; "" for none).
    tags = t.List(t.Dict()).tag(sync=True)
    tag_filter = t.Unicode("").tag(sync=True)
    # Labels (Project.labels): the label sets, the one shown (written by the front end;
    # "" for the project's default), the labels of the images the filters let through,
    # {label, n}, and the one chosen (written by the front end; "" for none).
    label_sets = t.List(t.Unicode()).tag(sync=True)
    label_set = t.Unicode("").tag(sync=True)
    labels = t.List(t.Dict()).tag(sync=True)
    label_filter = t.Unicode("").tag(sync=True)


class Actions(_Part):
    """The result bar above the gallery: a header naming what the gallery shows, and
    the "With N selected ▾" menu (save, tag, untag, copy, move, delete to the trash,
    export, search similar) acting on the selection, or on every image shown when
    nothing is selected; reopening a saved collection."""

    _esm = STATIC / "actions.js"
    collections = t.List(t.Unicode()).tag(sync=True)
    # What the gallery shows, e.g. "Prompt 'a red circle' · 120 of 500 · above 0.410".
    header = t.Unicode("").tag(sync=True)
    n_shown = t.Int(0).tag(sync=True)  # images the score filter lets through
    n_selected = t.Int(0).tag(sync=True)  # selected images of the result (shown or not)
    n_up = t.Int(0).tag(sync=True)  # 👍 marks for Refine
    n_down = t.Int(0).tag(sync=True)  # 👎 marks
    n_hidden = t.Int(0).tag(sync=True)  # of those, the ones the filter hides
    # Set while the last delete can be undone (the label of the Undo button).
    undo = t.Unicode("").tag(sync=True)
    # Shown duplicates that are not their group's keeper (0: not a duplicates view;
    # the "all but the best" buttons are hidden).
    extra_copies = t.Int(0).tag(sync=True)


class ScoreChart(_Part):
    """The score histogram of a result that has a query's scores, with one threshold:
    a line to drag, a box to type in (Enter applies), the side shown (above, below),
    or a brushed range (``lo``–``hi``, both ends included). The suggested cut is
    drawn and labelled. Empty ``counts``: nothing is drawn (no axes before a search,
    none for unscored results)."""

    _esm = STATIC / "chart.js"
    counts = t.List(t.Int()).tag(sync=True)
    edges = t.List(t.Float()).tag(sync=True)  # len(counts) + 1
    threshold = t.Float(0.0).tag(sync=True)
    suggested = t.Float(None, allow_none=True).tag(sync=True)
    filter = _enum(ScoreFilter, "all").tag(sync=True)
    lo = t.Float(None, allow_none=True).tag(sync=True)  # the range shown (None: open)
    hi = t.Float(None, allow_none=True).tag(sync=True)
