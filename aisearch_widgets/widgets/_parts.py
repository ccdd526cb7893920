"""The anywidget parts of the panel. They hold view state only; the panel
(``_panel.py``) answers their requests (``_protocol.py``) through the public Project
API. Traits are set by Python and displayed by the front end, except the view's
selections the front end writes: ``Controls.mode``, ``Gallery.page`` and
``Gallery.selected``."""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets as t

from ._protocol import MessageKind, Method, Mode, State, View

STATIC = Path(__file__).resolve().parent.parent / "static"


def _enum(e: type, default: str) -> t.Enum:
    return t.Enum([m.value for m in e], default_value=e(default).value)


class _Part(anywidget.AnyWidget):
    """A part with a message line: the outcome of its last request, or of a call
    from Python (``message_kind`` error or info)."""

    _css = STATIC / "widgets.css"

    message = t.Unicode("").tag(sync=True)
    message_kind = _enum(MessageKind, "info").tag(sync=True)


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
    busy = t.Bool(False).tag(sync=True)
    mode = _enum(Mode, "prompt").tag(sync=True)
    prompt = t.Unicode("").tag(sync=True)
    limit = t.Int(100).tag(sync=True)
    method = _enum(Method, "centroids").tag(sync=True)
    n = t.Int(50).tag(sync=True)
    clusters = t.Int(0).tag(sync=True)
    references = t.List(t.Dict()).tag(sync=True)


class Gallery(_Part):
    """Thumbnails of one page of results, with selection."""

    _esm = STATIC / "gallery.js"
    items = t.List(t.Dict()).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    page = t.Int(0).tag(sync=True)
    page_size = t.Int(60).tag(sync=True)
    selected = t.List(t.Unicode()).tag(sync=True)
    empty_text = t.Unicode("No results yet.").tag(sync=True)
    # Video frames among the results, merged into time ranges (Collection.segments):
    # rows {name, path, start, end, frames, score, id (the best frame)}.
    segments = t.List(t.Dict()).tag(sync=True)
    view = _enum(View, "grid").tag(sync=True)


class Actions(_Part):
    """Save / tag / copy / export the collection the gallery shows."""

    _esm = STATIC / "actions.js"
    collections = t.List(t.Unicode()).tag(sync=True)
    summary = t.Unicode("").tag(sync=True)
    # Shown duplicates that are not their group's best copy (0: not a duplicates view;
    # the "all but the best" buttons are hidden).
    extra_copies = t.Int(0).tag(sync=True)
