"""The anywidget parts of the panel. They hold view state only; the panel
(``_panel.py``) answers their messages through the public Project API."""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets as t

STATIC = Path(__file__).resolve().parent.parent / "static"


class Controls(anywidget.AnyWidget):
    """Header (status, enable/disable, update now) and the search bar."""

    _esm = STATIC / "controls.js"
    _css = STATIC / "widgets.css"

    project = t.Unicode("").tag(sync=True)
    model_name = t.Unicode("").tag(sync=True)
    enabled = t.Bool(False).tag(sync=True)
    state = t.Unicode("disabled").tag(sync=True)
    done = t.Int(0).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    failed = t.Int(0).tag(sync=True)
    ready = t.Bool(False).tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    mode = t.Unicode("prompt").tag(sync=True)
    prompt = t.Unicode("").tag(sync=True)
    limit = t.Int(100).tag(sync=True)
    method = t.Unicode("centroids").tag(sync=True)
    n = t.Int(50).tag(sync=True)
    clusters = t.Int(0).tag(sync=True)
    references = t.List(t.Dict()).tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    message_kind = t.Unicode("info").tag(sync=True)


class Gallery(anywidget.AnyWidget):
    """Thumbnails of one page of results, with selection."""

    _esm = STATIC / "gallery.js"
    _css = STATIC / "widgets.css"

    items = t.List(t.Dict()).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    page = t.Int(0).tag(sync=True)
    page_size = t.Int(60).tag(sync=True)
    selected = t.List(t.Unicode()).tag(sync=True)
    empty_text = t.Unicode("No results yet.").tag(sync=True)


class Actions(anywidget.AnyWidget):
    """Save / tag / copy / export the collection the gallery shows."""

    _esm = STATIC / "actions.js"
    _css = STATIC / "widgets.css"

    collections = t.List(t.Unicode()).tag(sync=True)
    summary = t.Unicode("").tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    message_kind = t.Unicode("info").tag(sync=True)
