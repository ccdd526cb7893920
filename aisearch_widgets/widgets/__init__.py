"""Notebook widgets: :class:`SearchPanel` and its parts."""

from ._panel import SearchPanel

__all__ = ["SearchPanel"]
