"""The gallery's own requests, mixed into :class:`SearchPanel`: what the preview says
of an image (:meth:`GalleryRequests._details`), tagging from the keyboard and the
preview (``tag_images`` / ``untag_images``), Ctrl+A (every image shown, all pages),
and the tag filter (the gallery shows only the results carrying one tag; the header
says so).

The browser names ids only, and only ids of the result shown are acted on: a path or
an id of another project gets the same refusal as garbage. Details name an image by
its name inside the project (``<source>/<path in the folder>``), never by a kernel
path the panel does not already show.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._errors import AISearchError
from ..sources import FILES_LABEL
from ._guard import NOT_OURS  # the panel's one refusal
from ._protocol import Reply

if TYPE_CHECKING:
    from ..catalog import FileRecord
    from ..collection import Collection

log = logging.getLogger(__name__)


def tag_counts(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The tags of the rows ``df`` (a ``Collection.df``), most used first: ``[{"tag",
    "n"}]``, what the tag filter offers."""
    counts: dict[str, int] = {}
    for tags in df["tags"] if "tags" in df.columns else []:
        for t in tags if isinstance(tags, list) else []:
            counts[t] = counts.get(t, 0) + 1
    return [{"tag": t, "n": n} for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def with_tag(df: pd.DataFrame, tag: str) -> pd.DataFrame:
    """The rows of ``df`` carrying ``tag`` (all rows for "")."""
    if not tag:
        return df
    keep = [isinstance(ts, list) and tag in ts for ts in df["tags"]]
    return df[keep]


def project_name(rec: FileRecord) -> str:
    """An image's name inside the project: ``<source>/<path in its folder>`` (a
    loose file: its file name; a video frame: its video's name)."""
    if rec.source == FILES_LABEL:
        return os.path.basename(rec.path)
    key = rec.key
    return key.split("#t=", 1)[0] if rec.kind == "frame" else key


def file_facts(rec: FileRecord) -> tuple[int | None, int | None, int | None]:
    """``(bytes, width, height)`` of an image's file (of a frame: its video's), each
    None when it cannot be read. Only regular files are opened."""
    from ..images import declared_size, read_bytes

    try:
        size: int | None = os.stat(rec.path).st_size
    except OSError:
        return None, None, None
    try:
        if rec.kind == "frame":
            w, h = _video_size(rec.path)
            return size, w, h
        dims = declared_size(read_bytes(rec.path))
    except Exception:  # a broken or vanished file: the size still says something
        log.debug("no dimensions for %s", rec.path, exc_info=True)
        return size, None, None
    return (size, *dims) if dims else (size, None, None)


def _video_size(path: str) -> tuple[int | None, int | None]:
    from ..video import check_regular, import_av

    check_regular(path)
    av = import_av()
    with av.open(path, metadata_errors="ignore") as container:
        cc = container.streams.video[0].codec_context
        return int(cc.width) or None, int(cc.height) or None


class GalleryRequests:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``gallery``,
    ``_result``, ``_view_df``, ``_filter``, ``_apply_filter``, ``_show_page``,
    ``_project_ids`` and ``_message``)."""

    _result: Collection | None
    _view_df: pd.DataFrame

    # -- the tag filter ----------------------------------------------------------------
    def _narrow_to_tag(self, view: Collection | None, empty: pd.DataFrame) -> tuple[Any, Any]:
        """The view the gallery shows, and its rows: ``view`` (the score filter's)
        narrowed to the chosen tag, then to the chosen label (``_labelled.py``). The
        filter offers the tags of ``view``."""
        gallery = self.gallery  # type: ignore[attr-defined]
        if view is None:
            gallery.tags = gallery.labels = []
            return None, empty
        df = view.df
        gallery.tags = tag_counts(df)
        tag = gallery.tag_filter
        if tag:
            kept = with_tag(df, tag)
            view, df = view.select(list(kept["id"])), kept.reset_index(drop=True)
        return self._narrow_to_label(view, df)  # type: ignore[attr-defined]

    def _on_tag_filter(self, change: dict) -> None:
        """A tag chosen in the gallery (or "" for all): show the view again through it."""
        new = change["new"]
        if not isinstance(new, str) or len(new) > 100:
            self.gallery.tag_filter = ""  # type: ignore[attr-defined]
            return
        self._apply_filter(*self._filter)  # type: ignore[attr-defined]

    def _tags_changed(self) -> None:
        """Tags were added or removed: the chips (and, with a tag filter, the images
        shown) follow, on the same page."""
        gallery = self.gallery  # type: ignore[attr-defined]
        page = gallery.page
        if gallery.tag_filter:
            self._apply_filter(*self._filter)  # type: ignore[attr-defined]
            pages = max(1, -(-int(gallery.total) // int(gallery.page_size)))
            gallery.page = min(page, pages - 1)
            return
        df = self._view_df
        if len(df):
            fresh = self.project.catalog.tags_of(list(df["id"]))  # type: ignore[attr-defined]
            df["tags"] = [fresh.get(i, []) for i in df["id"]]
        gallery.tags = tag_counts(df)
        self._show_page()  # type: ignore[attr-defined]

    def _page_tags(self, rows: pd.DataFrame) -> dict[str, list[str]]:
        """The tags of the images of a page, read now: a tag added from Python shows
        when the page is drawn again."""
        if rows.empty:
            return {}
        return self.project.catalog.tags_of(list(rows["id"]))  # type: ignore[attr-defined]

    # -- requests ------------------------------------------------------------------------
    def _shown_ids(self, ids: Any) -> list[str]:
        """``ids`` if every one is an image of the result shown (the selection may
        hold images a filter hides), else the panel's one refusal."""
        res = self._result
        ok = self._project_ids(ids)  # type: ignore[attr-defined]
        in_result = set(res.ids) if res is not None else set()
        if not isinstance(ids, list) or len(ok) != len(ids) or not set(ok) <= in_result:
            raise AISearchError(NOT_OURS)
        if not ok:
            raise AISearchError("Select images in the gallery first.")
        return ok

    def _tag_images(self, ids: list, tag: str) -> None:
        target = self._result.select(self._shown_ids(ids))  # type: ignore[union-attr]
        target.tag(tag)
        n = len(target)
        self._said(f"Tagged {n} {_images(n)} {tag.strip()!r}.")

    def _untag_images(self, ids: list, tag: str) -> None:
        target = self._result.select(self._shown_ids(ids))  # type: ignore[union-attr]
        target.untag(tag)
        n = len(target)
        self._said(f"Removed the tag {tag.strip()!r} from {n} {_images(n)}.")

    def _said(self, text: str) -> None:
        """A tagging done: say so in the gallery, and redraw the chips."""
        self._message(text, where=self.gallery)  # type: ignore[attr-defined]
        self._tags_changed()

    def _select_all(self) -> Reply:
        ids = list(self._view_df["id"])
        self.gallery.selected = ids  # type: ignore[attr-defined]
        return Reply({"count": len(ids)})

    def _details(self, id: str) -> Reply:
        rows = self._view_df[self._view_df["id"] == id]
        rec = self.project.catalog.records([id]).get(id) if len(rows) else None  # type: ignore[attr-defined]
        if rec is None:
            raise AISearchError(NOT_OURS)
        r = rows.iloc[0]
        size, width, height = file_facts(rec)
        tags = self.project.catalog.tags_of([id]).get(id, [])  # type: ignore[attr-defined]
        score = None if pd.isna(r["score"]) else float(r["score"])
        labels, boxes = self._boxes(id)  # type: ignore[attr-defined]
        return Reply(
            {
                "details": {
                    "id": id,
                    "name": project_name(rec),
                    "kind": rec.kind,
                    "bytes": size,
                    "width": width,
                    "height": height,
                    "score": score,
                    "rank": int(r["rank"]),
                    "t": None if rec.t is None else float(rec.t),
                    "tags": tags,
                    "labels": labels,  # of the label set shown
                    "boxes": boxes,  # {label, x, y, w, h, confidence}: original pixels
                }
            }
        )


def _images(n: int) -> str:
    return "image" if n == 1 else "images"
