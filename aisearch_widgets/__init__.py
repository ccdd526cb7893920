"""aisearch_widgets: semantic image search (CLIP + Qdrant) for JupyterLab.

>>> import aisearch_widgets as aw                                  # doctest: +SKIP
>>> proj = aw.Project("shapes", sources="data/shapes", model="demo")
>>> proj.enable(); proj.wait()
>>> proj.search("a red circle", limit=20).df
"""

from __future__ import annotations

from typing import Any

from ._annotate import LabelStudioJob
from ._errors import (
    AISearchError,
    EmbeddingsNotReady,
    InvalidArgument,
    LabellingServerError,
    ModelLoadError,
    ModelMismatch,
    ProjectClosed,
    ProjectCorrupt,
    ProjectExists,
    ProjectFormatTooNew,
    ProjectLocked,
    ProjectNotFound,
    SourceError,
    SourcesChanged,
    UnsafePathError,
)
from ._saved import SavedCollections
from ._version import __version__
from .collection import Collection
from .embedder import Embedder
from .indexer import SyncSummary
from .project import Project
from .status import Status, read_status


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext aisearch_widgets``: adds ``%aisearch`` and ``%aisearch_status``."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter Server extension behind the JupyterLab plugin (status, enable…)."""
    return [{"module": "aisearch_widgets.labserver"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (also installed as shared data by the wheel)."""
    return [{"src": "labextension", "dest": "aisearch-widgets"}]


def __getattr__(name: str) -> Any:  # widgets import ipywidgets/bqplot only when asked for
    if name == "SearchPanel":
        from .widgets import SearchPanel

        return SearchPanel
    if name == "demo":  # aw.demo.make_dataset(...) without an explicit import
        import importlib

        return importlib.import_module(".demo", __name__)
    raise AttributeError(f"module 'aisearch_widgets' has no attribute {name!r}")


__all__ = [
    "AISearchError",
    "Collection",
    "Embedder",
    "EmbeddingsNotReady",
    "InvalidArgument",
    "LabelStudioJob",
    "LabellingServerError",
    "ModelLoadError",
    "ModelMismatch",
    "Project",
    "ProjectClosed",
    "ProjectCorrupt",
    "ProjectExists",
    "ProjectFormatTooNew",
    "ProjectLocked",
    "ProjectNotFound",
    "SavedCollections",
    "SearchPanel",
    "SourceError",
    "SourcesChanged",
    "Status",
    "SyncSummary",
    "UnsafePathError",
    "__version__",
    "demo",
    "read_status",
]
