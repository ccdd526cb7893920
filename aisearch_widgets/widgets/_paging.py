"""The gallery's pages, mixed into :class:`SearchPanel`: the items of a page, the
thumbnails sent with a new view's first page, and the next page asked ahead.

A page used to take two round trips: Python sets the page's items, the browser
builds the cards and asks for their thumbnails, Python answers. Two shortcuts:

- a new view (a search, a filter) sends its first page's thumbnails unasked, just
  before the items (``THUMBS_SENT``), when every one is in the thumbnail cache (a
  cache read takes milliseconds; a thumbnail still to be made is left to the
  browser's request, so the cards never wait for it);
- once a page is painted, the browser asks for the next one (``PAGE_AHEAD``): its
  items and thumbnails. Next then draws that page at once and tells Python the page
  it shows; Python's items for it name the same images, and the cards stay.

Both send about a page of thumbnails (~1.2 KB each) per page turned, as before.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import _media
from ._protocol import THUMBS_SENT, Reply

if TYPE_CHECKING:
    from ..project import Project

log = logging.getLogger(__name__)


class Paging:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``gallery``,
    ``_view_df``, ``_page_tags``, ``_page_labels`` and ``_group_fields``)."""

    project: Project
    _view_df: pd.DataFrame
    _page_ids: tuple[str, ...] = ()  # the ids of the items last set
    _fresh_view = False  # the next page shown is a new view's first

    def _page_rows(self, page: int) -> pd.DataFrame:
        ps = int(self.gallery.page_size)  # type: ignore[attr-defined]
        return self._view_df.iloc[page * ps : (page + 1) * ps]

    def _page_items(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        """The gallery's items for ``rows`` (their tags and labels read now)."""
        tags, labels = self._page_tags(rows), self._page_labels(rows)  # type: ignore[attr-defined]
        groups = self._group_fields(rows)  # type: ignore[attr-defined]
        return [
            {
                "id": r.id,
                "name": os.path.basename(r.path),
                "path": r.path,
                "score": None if pd.isna(r.score) else float(r.score),
                "rank": int(r.rank),
                "time": "" if pd.isna(r.t) else _media.clock(r.t),  # a video frame's time
                "tags": tags.get(r.id, []),
                "labels": labels.get(r.id, []),
                **group,
            }
            for r, group in zip(rows.itertuples(index=False), groups, strict=True)
        ]

    def _new_view(self) -> None:
        """The images shown changed: pages asked ahead of the old view are void, and
        the next page shown sends its thumbnails with it."""
        self.gallery.view_id = int(self.gallery.view_id) + 1  # type: ignore[attr-defined]
        self._fresh_view = True

    def _show_page(self) -> None:
        """Set the gallery's items to its current page; a new view's first page sends
        its thumbnails first (when all are cached and the page is not already shown)."""
        rows = self._page_rows(int(self.gallery.page))  # type: ignore[attr-defined]
        ids = tuple(rows["id"])
        fresh, self._fresh_view = self._fresh_view, False
        if fresh and ids and ids != self._page_ids:
            self._send_cached_thumbs(list(ids))
        self._page_ids = ids
        self.gallery.items = self._page_items(rows)  # type: ignore[attr-defined]

    def _draw_first_page(self, ids: list[str], query: dict[str, Any]) -> None:
        """Draw the first page of a result of ``ids`` (a lasso of many images) from its
        own rows, before the full view (every row, the header, the tag filter) is
        built: that takes time in proportion to the number of images, this a page's.
        The full view's first page then names the same images, and the browser keeps
        its cards. Left to the full view while a tag or label filter or a later page
        is shown (its first page would be another)."""
        from ..collection import Collection

        g = self.gallery  # type: ignore[attr-defined]
        if int(g.page) != 0 or g.tag_filter or g.label_filter:
            return
        head = ids[: int(g.page_size)]
        rows = Collection(self.project, pd.DataFrame({"id": head}), query=query).df
        page = tuple(rows["id"])
        if not page or page == self._page_ids:
            return
        self._send_cached_thumbs(list(page))
        self._page_ids = page
        g.items = self._page_items(rows)

    def _send_cached_thumbs(self, ids: list[str]) -> bool:
        """Send the thumbnails of ``ids`` unasked if every one is cached (and they fit
        in one message: a bigger page is left to the browser's own requests)."""
        if len(ids) > _media.MAX_THUMBS:
            return False
        bufs = cached_thumbs(self.project, ids)
        if bufs is None:
            return False
        try:
            self.gallery.send({"type": THUMBS_SENT, "ids": ids}, bufs)  # type: ignore[attr-defined]
        except Exception:  # the comm is gone; the browser asks as before
            log.debug("could not send thumbnails", exc_info=True)
            return False
        return True

    def _page_ahead(self, page: int, view: int) -> Reply:
        """A page asked before it is shown: its items and thumbnails, or no items when
        the view changed since (the browser then waits for the new view's pages)."""
        current = int(self.gallery.view_id)  # type: ignore[attr-defined]
        empty = Reply({"page": page, "view": current, "items": [], "ids": []})
        rows = self._page_rows(page)
        if view != current or rows.empty:
            return empty
        items = self._page_items(rows)
        thumbs = _media.thumbs(self.project, self._view_df, [it["id"] for it in items])
        thumbs.fields.update(page=page, view=view, items=items)
        # A thumbnail that failed is said when its page is shown (the browser asks for
        # the missing one then), not over the page being looked at.
        thumbs.error = None
        return thumbs


def cached_thumbs(project: Project, ids: list[str]) -> list[bytes] | None:
    """The cached thumbnail of each id, or None if any is not cached (or unreadable)."""
    out: list[bytes] = []
    for i in ids:
        try:
            data = project.thumbs.get(i)
        except Exception:
            log.debug("thumbnail cache read failed for %s", i, exc_info=True)
            return None
        if not data:
            return None
        out.append(data)
    return out
