"""aisearch_widgets: semantic image search (CLIP + Qdrant) for JupyterLab.

>>> import aisearch_widgets as aw                                  # doctest: +SKIP
>>> proj = aw.Project("shapes", sources="data/shapes", model="demo")
>>> proj.enable(); proj.wait()
>>> proj.search("a red circle", limit=20).df
"""

from __future__ import annotations

from ._errors import (
    AISearchError,
    EmbeddingsNotReady,
    ModelLoadError,
    ModelMismatch,
    ProjectExists,
    ProjectLocked,
    ProjectNotFound,
    SourceError,
    UnsafePathError,
)
from .embedder import Embedder
from .project import Project, Status

__version__ = "0.1.0"

__all__ = [
    "AISearchError",
    "Embedder",
    "EmbeddingsNotReady",
    "ModelLoadError",
    "ModelMismatch",
    "Project",
    "ProjectExists",
    "ProjectLocked",
    "ProjectNotFound",
    "SourceError",
    "Status",
    "UnsafePathError",
    "__version__",
]
