"""What a sync reports and passes between its steps: the summary a user gets, the
live progress, the errors that stop it, and the items between decode and commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import AISearchError
from .embedder import describe_bad
from .sources import FileEntry


class SyncCancelled(AISearchError):
    """The sync stopped at a batch boundary because it was cancelled (disable/close)."""


class DiskFull(AISearchError):
    """The project home's disk has too little free space; nothing was half-written."""


def bad_vector_message(p: Prepared, vector: np.ndarray) -> str:
    where = p.entry.path if p.t_ms is None else f"{p.entry.path} at t={p.t_ms / 1000:g} s"
    return (
        f"{where}: the model gave {describe_bad(vector)} instead of a vector; nothing was "
        "stored. If many files fail so, the model's weights or its cached int8 copy are "
        "damaged: reopen the project (the int8 copy is checked and rebuilt when loaded) or "
        "use precision='fp32', then run proj.update(retry_failed=True)."
    )


@dataclass
class Progress:
    """Live progress of the current sync; read by ``Project.status`` and progress bars."""

    phase: str = "idle"  # idle | scanning | embedding | deleting | optimizing
    done: int = 0
    total: int = 0
    failed: int = 0
    started_at: float | None = None


@dataclass
class Prepared:
    entry: FileEntry
    id: str
    content: str | None = None
    pixels: Any = None
    reuse: str | None = None
    fail: tuple[str, str] | None = None
    had_vector: bool = False  # an earlier version of the file is in the store
    t_ms: int | None = None  # a video frame: its time (``entry`` is the video)
    vector: Any = None  # embedded by the engine: written as it is
    thumb: bytes | None = None  # its thumbnail, written with its vector
    meta: dict[str, Any] | None = None  # its metadata row (see catalog.METADATA_COLUMNS)


@dataclass
class VideoDone:
    """The end of a video's frames, sent after its last frame."""

    entry: FileEntry
    seen: set[int]  # the t_ms of the frames this decode gave
    stopped: str | None = None  # where a partly decodable video stopped
    fail: tuple[str, str] | None = None  # no frame at all
    error: BaseException | None = None  # a disk error: stops the sync
    bad: str | None = None  # some frames gave unusable vectors (not stored)


END = object()


@dataclass
class SyncSummary:
    added: int = 0
    changed: int = 0
    retried: int = 0
    deleted: int = 0
    unchanged: int = 0
    missing: int = 0
    restored: int = 0
    embedded: int = 0
    reused: int = 0
    failed: int = 0
    scan_errors: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
