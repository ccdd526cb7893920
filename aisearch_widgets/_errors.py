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


class LabellingServerError(AISearchError):
    """A labelling server (Label Studio) could not be reached, refused the API key or
    a request; the message says what was left on the server."""


class InvalidArgument(AISearchError, ValueError):
    """An argument has a wrong type or value. The message names the argument, what
    was given and what is accepted. A ``ValueError`` too, so callers that catch
    ``ValueError`` keep working."""


class ProjectClosed(AISearchError):
    """The project was closed; reopen it with ``Project.open(name)``."""


class SourcesChanged(ProjectExists):
    """A project was opened with other sources than the ones it holds. Changing them
    must be explicit: ``proj.set_sources(...)`` or ``replace_sources=True``."""


class ProjectCorrupt(AISearchError):
    """A file of the project home cannot be read. ``path`` names it; the message says
    how to repair it (``aisearch repair NAME`` / ``Project.repair(name)``)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class ProjectFormatTooNew(AISearchError):
    """A project file was written by a newer version of this package. ``path`` names
    the file, ``found`` its format version, ``supported`` the newest this version
    reads."""

    def __init__(self, message: str, path: str = "", found: int = 0, supported: int = 0) -> None:
        super().__init__(message)
        self.path = path
        self.found = found
        self.supported = supported


def show_value(value: object) -> str:
    """A short repr of a user's value for an error message."""
    s = repr(value)
    return s if len(s) <= 80 else s[:77] + "..."


def check_int(name: str, value: object, minimum: int = 1, what: str = "") -> int:
    """``value`` as an int ``>= minimum``, or :class:`InvalidArgument` naming ``name``.

    Integers of any kind (numpy included) and integral floats (``4.0``) are accepted;
    bools, strings, NaN, infinities and fractions are not: a typo must not silently
    become a different number."""
    import math
    import numbers

    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and type(value).__name__ != "bool_"  # numpy's bool is a Real only sometimes
    if ok and not isinstance(value, numbers.Integral):
        f = float(value)  # type: ignore[arg-type]
        ok = math.isfinite(f) and f.is_integer()
    if ok and int(value) >= minimum:  # type: ignore[call-overload]
        return int(value)  # type: ignore[call-overload]
    raise InvalidArgument(
        f"{name} must be an integer >= {minimum}{what} (got {show_value(value)})."
    )


def check_real(name: str, value: object, minimum: float = 0.0) -> float:
    """``value`` as a finite float ``>= minimum``, or :class:`InvalidArgument`."""
    import math
    import numbers

    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))  # type: ignore[arg-type]
        and float(value) >= minimum  # type: ignore[arg-type]
    ):
        return float(value)  # type: ignore[arg-type]
    raise InvalidArgument(f"{name} must be a finite number >= {minimum} (got {show_value(value)}).")


# -- texts that several layers put in their messages -------------------------------------


def repair_hint(name: str) -> str:
    """The way out of a damaged project, as every message about one says it."""
    return f"Run `aisearch repair {name}` (or aw.Project.repair({name!r}))"


def check_not_newer(path: object, found: int, supported: int, what: str) -> None:
    """:class:`ProjectFormatTooNew` if ``found`` is above what this package reads."""
    if found <= supported:
        return
    from ._version import __version__

    raise ProjectFormatTooNew(
        f"{path} is a {what} of format version {found}, written by a newer "
        f"aisearch_widgets; this aisearch_widgets {__version__} reads versions up to "
        f"{supported}. Upgrade aisearch_widgets (pip install -U aisearch-widgets) to open "
        "this project; nothing was changed.",
        str(path),
        found,
        supported,
    )
