"""Exceptions raised by aisearch_widgets.

Every message says what happened, to which project, file or id, and what to do next.
"""

from __future__ import annotations


class AISearchError(Exception):
    """Base class of every error this package raises on purpose."""


class ProjectNotFound(AISearchError):
    """No project of that name exists in the home folder."""


class ProjectExists(AISearchError):
    """A project of that name already exists and the call would change it."""


class ProjectLocked(AISearchError):
    """Another process holds the embedded project open."""

    def __init__(self, message: str, holder: dict | None = None) -> None:
        super().__init__(message)
        self.holder = holder or {}


class ModelMismatch(AISearchError):
    """Vectors of one model were about to be mixed with vectors of another."""


class ModelLoadError(AISearchError):
    """A model spec could not be turned into a working model."""


class SourceError(AISearchError):
    """The image sources given to a project are not usable."""


class EmbeddingsNotReady(AISearchError):
    """A search ran before the first embedding pass finished.

    ``done`` and ``total`` carry the progress; pass ``allow_partial=True`` to search
    what is already embedded.
    """

    def __init__(self, message: str, done: int = 0, total: int = 0) -> None:
        super().__init__(message)
        self.done = done
        self.total = total


class UnsafePathError(AISearchError):
    """A file operation would write outside the directory the user named."""
