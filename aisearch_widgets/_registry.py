"""The projects open in this process, oldest first: what ``Project.opened()`` lists,
what the request watcher serves, and what is closed when the process exits."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import weakref
from typing import Any, Protocol


class _Closable(Protocol):
    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...


_OPEN: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_SERIAL = itertools.count()


def register(project: _Closable) -> int:
    """Record an open project; returns its ticket for :func:`unregister`."""
    serial = next(_SERIAL)
    _OPEN[serial] = project
    return serial


def unregister(serial: int) -> None:
    _OPEN.pop(serial, None)


def opened() -> list[Any]:
    """The projects open in this process (not closed yet), oldest first."""
    return [p for _, p in sorted(_OPEN.items()) if not p.closed]


@atexit.register
def _close_all() -> None:
    for p in list(_OPEN.values()):
        with contextlib.suppress(Exception):
            p.close()
