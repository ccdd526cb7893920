"""Pictures the gallery asks for: a page of thumbnails and a large preview, of the
images shown only (the browser names ids; nothing else is read)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import pandas as pd

from .._errors import AISearchError
from ._guard import NOT_OURS
from ._protocol import Reply

if TYPE_CHECKING:
    from ..project import Project

log = logging.getLogger(__name__)

#: The preview's longest side in pixels, whatever the front end asks: a 4K screen's
#: lightbox is about 2,000 device pixels wide, and a JPEG this size is ~0.5-1 MB.
MAX_PREVIEW = 2048
MIN_PREVIEW = 64
#: The most thumbnails one message carries (a page bigger than this asks in parts).
MAX_THUMBS = 500


def thumbs(project: Project, shown: pd.DataFrame, ids: list) -> Reply:
    """One JPEG buffer per id on screen; an empty one for ids not shown and for
    images whose thumbnail fails (the page still finishes; the error is shown)."""
    ids = [i for i in ids if isinstance(i, str)][:MAX_THUMBS]
    known = set(shown["id"])
    broken: list[str] = []

    def failed(i: str, exc: Exception) -> None:
        log.error("thumbnail of image %s failed", i, exc_info=exc)
        broken.append(f"{type(exc).__name__}: {exc}")

    on_page = [i for i in ids if i in known]  # their records: one catalog query
    got = dict(zip(on_page, project.thumbnails(on_page, on_error=failed), strict=True))
    bufs = [got.get(i) or b"" for i in ids]
    error = None
    if broken:
        error = (
            f"{len(broken)} thumbnail(s) could not be made, first: {broken[0]}. The "
            "images are listed without them; check the files and the project home."
        )
    return Reply({"ids": ids}, bufs, error)


def preview(shown: pd.DataFrame, id: str, size: int = 768) -> Reply:
    """A JPEG of one image shown (of a video frame: the frame at its time) whose
    longest side is ``size`` px, the box the browser will show it in (kept between
    64 and :data:`MAX_PREVIEW`), or the original's when that is smaller: the browser
    scales a small image up itself."""
    from ..images import DecodeFailure, load, thumbnail_jpeg

    size = max(MIN_PREVIEW, min(int(size), MAX_PREVIEW))
    rows = shown[shown["id"] == id]
    if rows.empty:
        raise AISearchError(NOT_OURS)
    r = rows.iloc[0]
    name = os.path.basename(r["path"])
    if r["kind"] == "frame":
        from ..video import frame_at

        img = frame_at(r["path"], round(float(r["t"]) * 1000), size)
        if img is None:
            raise AISearchError(f"{r['path']}: the frame at {r['t']:g} s cannot be decoded")
        data = thumbnail_jpeg(img, size=size, quality=85)
    else:
        try:
            data = thumbnail_jpeg(load(r["path"], size)[0], size=size, quality=85)
        except DecodeFailure as f:
            raise AISearchError(f.message) from f
    score = None if pd.isna(r["score"]) else float(r["score"])
    time = "" if pd.isna(r["t"]) else clock(r["t"])
    return Reply({"name": name, "score": score, "time": time}, [data])


def clock(seconds: float) -> str:
    """A video time as ``m:ss.s`` (``h:mm:ss.s`` past an hour)."""
    m, sec = divmod(max(0.0, float(seconds)), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{sec:04.1f}" if h else f"{m}:{sec:04.1f}"
