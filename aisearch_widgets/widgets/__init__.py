"""Notebook widgets: :class:`SearchPanel` and its parts."""

from __future__ import annotations

from typing import Any

__all__ = ["SearchPanel"]


def __getattr__(name: str) -> Any:
    # Imported when asked for, so that ``python -m aisearch_widgets.widgets._protocol``
    # (which writes js/src/protocol.js) needs neither ipywidgets nor bqplot.
    if name == "SearchPanel":
        from ._warm import start_imports

        start_imports()  # in a kernel: the model's code, ahead of the first prompt
        from ._panel import SearchPanel

        return SearchPanel
    raise AttributeError(f"module 'aisearch_widgets.widgets' has no attribute {name!r}")
