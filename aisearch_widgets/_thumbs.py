"""The thumbnail cache of a project: one small JPEG per image under
``<project>/thumbs/<id[:2]>/<id>.jpg``, made by the indexer while it decodes an image
anyway, or on first request. Every write goes through :meth:`ThumbnailCache.put`:
one temporary file per writer (process, thread and a random part), renamed into
place, removed if anything fails, so readers never see half a thumbnail and two
writers never share a temporary file."""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .images import MAX_FILE_BYTES, DecodeFailure, load, thumbnail_jpeg

THUMB_SIZE = 192
_TMP_SUFFIX = ".tmp"


class ThumbnailCache:
    """Thumbnails of one project, by point id.

    >>> cache = ThumbnailCache("/tmp/p/thumbs")            # doctest: +SKIP
    >>> cache.make(pid, "/data/cat.jpg")                    # decodes, writes, returns bytes
    >>> cache.get(pid)                                      # the cached bytes, or None
    """

    def __init__(
        self, folder: str | os.PathLike[str], max_file_bytes: int = MAX_FILE_BYTES
    ) -> None:
        self.folder = Path(folder)
        self.max_file_bytes = max_file_bytes

    def path(self, pid: str) -> Path:
        return self.folder / pid[:2] / f"{pid}.jpg"

    def get(self, pid: str) -> bytes | None:
        try:
            with open(self.path(pid), "rb") as fh:
                return fh.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, pid: str, data: bytes) -> None:
        """Write ``data`` as the thumbnail of ``pid`` atomically."""
        target = self.path(pid)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(
            f"{target.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}"
            + _TMP_SUFFIX
        )
        try:
            with open(tmp, "xb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)  # a full disk must not leave half-written temp files
            raise

    def make(self, pid: str, path: str | os.PathLike[str]) -> bytes | None:
        """Decode the image at ``path`` (regular files only, at most
        ``max_file_bytes``), cache its thumbnail and return it; None if it cannot be
        decoded."""
        try:
            img, _ = load(path, THUMB_SIZE, self.max_file_bytes)
        except DecodeFailure:
            return None
        data = thumbnail_jpeg(img, THUMB_SIZE)
        self.put(pid, data)
        return data

    def copy(self, src_pid: str, dst_pid: str) -> bool:
        """Give ``dst_pid`` the thumbnail of ``src_pid`` (same image bytes); False when
        there is none to copy."""
        data = self.get(src_pid)
        if data is None:
            return False
        self.put(dst_pid, data)
        return True

    def remove(self, pid: str) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.remove(self.path(pid))

    def sweep(self) -> None:
        """Remove temporary files left by a process killed mid-write (not this one's:
        its writers may be running)."""
        if not self.folder.is_dir():
            return
        mine = str(os.getpid())
        for dirpath, _, names in os.walk(self.folder):
            for n in names:
                # <id>.jpg.<pid>.<thread>.<random>.tmp
                if n.endswith(_TMP_SUFFIX) and n.rsplit(".", 4)[1] != mine:
                    with contextlib.suppress(OSError):
                        os.remove(os.path.join(dirpath, n))


def thumbnail_of(thumbs: ThumbnailCache, rec: Any) -> bytes | None:
    """The thumbnail of a catalog record (made once, then cached): an image's from its
    file, a video frame's from its video; None for a video row or an undecodable file."""
    if rec is None or rec.kind == "video":
        return None
    if rec.kind == "frame":
        from .video import frame_at

        img = frame_at(rec.path, round((rec.t or 0.0) * 1000), THUMB_SIZE)
        if img is None:
            return None
        data = thumbnail_jpeg(img, THUMB_SIZE)
        thumbs.put(rec.id, data)
        return data
    return thumbs.make(rec.id, rec.path)


def thumbnails_of(
    thumbs: ThumbnailCache,
    catalog: Any,
    ids: Any,
    on_error: Callable[[str, Exception], None] | None = None,
) -> list[bytes | None]:
    """The thumbnail of each id, in order: the cached ones from the cache, the
    records of the others read in one catalog query. ``on_error(id, exc)``: a
    thumbnail that fails is None and reported there (None: raised)."""
    ids = list(ids)
    out: list[bytes | None] = [None] * len(ids)
    failed: set[int] = set()

    def attempt(n: int, make: Callable[[], bytes | None]) -> None:
        try:
            out[n] = make()
        except Exception as exc:
            if on_error is None:
                raise
            failed.add(n)
            on_error(ids[n], exc)

    for n, pid in enumerate(ids):
        attempt(n, lambda pid=pid: thumbs.get(pid))
    todo = [pid for n, pid in enumerate(ids) if out[n] is None and n not in failed]
    recs = catalog.records(todo) if todo else {}
    for n, pid in enumerate(ids):
        if out[n] is None and n not in failed and pid in recs:
            attempt(n, lambda pid=pid: thumbnail_of(thumbs, recs[pid]))
    return out
