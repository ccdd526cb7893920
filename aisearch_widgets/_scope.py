"""The scope of a query: ``within=`` (which images) and ``where=`` (which metadata).

Both resolve to a set of point ids in the catalog; the vector store then searches
inside that set (a ``has_id`` filter the engine applies while it scans), so a
scoped search returns the best ``limit`` hits of the scope however small the scope
is, never "the best N of the project, then filtered".

``within`` is a :class:`~.collection.Collection` (anything with ``ids``), the name of
a saved collection, a point id, a path (a file; a video means its frames; a folder
means every file under it), or a list of those (their union). ``where`` is an
expression or a dict over the metadata columns and ``tags`` (:mod:`._where`).

The metadata come from :func:`frame_of`, kept per catalog while the catalog does not
change (:func:`catalog_state`), with text columns of few distinct values stored as
categories so that ``camera == 'X'`` compares codes, not strings.
"""

from __future__ import annotations

import os
import threading
import unicodedata
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._catalog_tables import METADATA_COLUMNS
from ._errors import AISearchError, InvalidArgument, show_value
from ._where import TAGS, Where, compile_where

if TYPE_CHECKING:
    from .catalog import Catalog

# What the files table itself tells about each point (before the metadata table).


def catalog_state(catalog: Catalog) -> tuple[int, int]:
    """A value that changes whenever the catalog does: rows changed through this
    connection (``total_changes()``) and commits by other ones (``data_version``)."""
    row = catalog.query("SELECT total_changes(), (SELECT data_version FROM pragma_data_version)")
    return int(row[0][0]), int(row[0][1])


def collection_name(name: object) -> str:
    """The one normal form of a collection name, used by every save and lookup:
    surrounding whitespace stripped, Unicode NFC. Raises AISearchError if invalid."""
    if not isinstance(name, str) or not name.strip():
        raise AISearchError(f"A collection name must be a non-empty string, not {name!r}.")
    clean = unicodedata.normalize("NFC", name.strip())
    if len(clean) > 200 or any(unicodedata.category(c) == "Cc" for c in clean):
        raise AISearchError(
            f"Invalid collection name {name!r}: at most 200 characters, no control characters."
        )
    return clean


# -- metadata ------------------------------------------------------------------------
def known_columns(catalog: Catalog) -> list[str]:
    """The columns ``where=`` may name, ``tags`` last."""
    return [*METADATA_COLUMNS, TAGS]


def frame_of(catalog: Catalog, columns: Iterable[str]) -> pd.DataFrame:
    """The metadata ``columns`` of every embedded file, indexed by point id: the
    catalog's :meth:`~aisearch_widgets.catalog.Catalog.metadata_frame`, the one
    place where metadata are read."""
    return catalog.metadata_frame([c for c in dict.fromkeys(columns) if c != TAGS])


def _tags_column(catalog: Catalog, index: pd.Index) -> pd.Series:
    rows = catalog.query("SELECT id, tag FROM tags ORDER BY id, tag")
    if not rows:
        return pd.Series([[]] * 0, dtype=object).reindex(index)
    df = pd.DataFrame(rows, columns=["id", "tag"])
    return df.groupby("id", sort=False)["tag"].agg(list).reindex(index)


def _compact(s: pd.Series) -> pd.Series:
    """Text columns of few distinct values become categories (compared as codes)."""
    if s.dtype == object and len(s) >= 1000 and s.nunique(dropna=True) <= len(s) // 10:
        return s.astype("category")
    return s


class _Kept:
    """What is kept of one catalog while it does not change: the metadata columns
    read so far and the ids of the latest ``where`` filters."""

    def __init__(self, state: tuple[int, int]) -> None:
        self.state = state
        self.frame: pd.DataFrame | None = None
        self.answers: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._ids: tuple[pd.Index, np.ndarray] | None = None

    def ids_of(self, frame: pd.DataFrame) -> np.ndarray:
        """The frame's ids as a numpy array, made once (from an Arrow-backed index it
        takes ~0.1 s at 1M rows)."""
        if self._ids is None or self._ids[0] is not frame.index:
            self._ids = (frame.index, np.asarray(frame.index, dtype=object))
        return self._ids[1]


_kept: weakref.WeakKeyDictionary[Any, _Kept] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()
ANSWERS_KEPT = 8


def _kept_of(catalog: Catalog) -> _Kept:
    state = catalog_state(catalog)
    with _kept_lock:
        kept = _kept.get(catalog)
        if kept is None or kept.state != state:
            kept = _kept[catalog] = _Kept(state)
        return kept


def metadata(catalog: Catalog, columns: Iterable[str]) -> pd.DataFrame:
    """:func:`frame_of` for ``columns`` (and ``tags``), kept while the catalog does
    not change: a second query on the same columns reads nothing. The frame returned
    may hold more columns than asked."""
    kept = _kept_of(catalog)
    frame = kept.frame
    missing = [c for c in dict.fromkeys(columns) if frame is None or c not in frame.columns]
    if frame is not None and not missing:
        return frame
    part = frame_of(catalog, missing)
    if frame is None or not frame.index.equals(part.index):
        frame = pd.DataFrame(index=part.index)
    frame = frame.copy(deep=False)
    for c in part.columns:
        frame[c] = _compact(part[c])
    if TAGS in missing:
        frame[TAGS] = _tags_column(catalog, frame.index)
    kept.frame = frame
    return frame


def where_ids(catalog: Catalog, where: Any) -> frozenset[str]:
    """The ids whose metadata pass ``where`` (expression or dict); the answer is kept
    while the catalog does not change (a new prompt under the same filter)."""
    w: Where = compile_where(where, known_columns(catalog))
    kept = _kept_of(catalog)
    key = w.text
    with _kept_lock:
        if key in kept.answers:
            kept.answers.move_to_end(key)
            return kept.answers[key]
    frame = metadata(catalog, w.columns)
    ids = frozenset(kept.ids_of(frame)[w.mask(frame)].tolist())
    with _kept_lock:
        kept.answers[key] = ids
        while len(kept.answers) > ANSWERS_KEPT:
            kept.answers.popitem(last=False)
    return ids


# -- within ----------------------------------------------------------------------------
WITHIN_ACCEPTED = (
    "a Collection, the name of a saved collection, point ids, paths (files or folders), "
    "or a list of those"
)


def within_ids(catalog: Catalog, within: Any, project: str = "") -> frozenset[str]:
    """The ids of ``within`` (the union of its parts)."""
    items = within if isinstance(within, (list, tuple, set, frozenset)) else [within]
    names = set(catalog.collection_names())
    parts = [_item_ids(catalog, item, names, project) for item in items]
    if len(parts) == 1:
        return parts[0]
    return frozenset().union(*parts)


_members: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


def _has_ids(item: Any) -> bool:
    """Whether ``item`` is a Collection (or anything with ``ids``), asked of its class
    first: a Collection's ``ids`` is a property that builds a list (~20 ms for 100k
    members), not to be built only to learn that it exists."""
    if isinstance(item, (str, os.PathLike, pd.DataFrame)):
        return False
    return hasattr(type(item), "ids") or hasattr(item, "ids")


def _item_ids(catalog: Catalog, item: Any, names: set[str], project: str) -> frozenset[str]:
    if _has_ids(item):  # a Collection
        # A collection's members never change (filters make new ones): their set is
        # kept for the next query within it.
        try:
            got = _members.get(item)
            if got is None:
                got = _members[item] = frozenset(item.ids)
            return got
        except TypeError:  # not hashable or weak-referenceable
            return frozenset(item.ids)
    if isinstance(item, pd.DataFrame):
        if "id" not in item:
            raise InvalidArgument("within: the DataFrame has no 'id' column.")
        return frozenset(item["id"])
    if not isinstance(item, (str, os.PathLike)) or (isinstance(item, str) and not item.strip()):
        raise InvalidArgument(f"within: cannot use {show_value(item)}; give {WITHIN_ACCEPTED}.")
    if isinstance(item, str):
        try:
            key = collection_name(item)
        except AISearchError:
            key = None
        if key in names:
            got = catalog.load_collection(key)  # type: ignore[arg-type]
            return frozenset(r[0] for r in got[2]) if got else frozenset()
        if catalog.records([item]):
            return frozenset(catalog.expand_videos([item]))
    path = os.path.abspath(os.path.expanduser(os.fspath(item)))
    ids = {r[0] for r in catalog.query("SELECT id FROM files WHERE path = ?", (path,))}
    if not ids:
        # A folder: every file under it ('0' follows '/' in code point order).
        lo, hi = path.rstrip(os.sep) + "/", path.rstrip(os.sep) + "0"
        rows = catalog.query("SELECT id FROM files WHERE path >= ? AND path < ?", (lo, hi))
        ids = {r[0] for r in rows}
    if not ids:
        saved = sorted(names)
        raise InvalidArgument(
            f"within: {show_value(os.fspath(item))} is not a saved collection, an image id or "
            f"a path of project {project!r}"
            + (f" (saved collections: {', '.join(map(repr, saved[:20]))})." if saved else ".")
        )
    return frozenset(ids)


def scope_ids(catalog: Catalog, within: Any, where: Any, project: str = "") -> set[str] | None:
    """The ids a query may return under ``within`` and ``where`` (their
    intersection), or None when neither is given (the whole project)."""
    out: frozenset[str] | None = None
    if within is not None:
        out = within_ids(catalog, within, project)
    if where is not None:
        ids = where_ids(catalog, where)
        out = ids if out is None else out & ids
    return out


def describe_scope(within: Any, where: Any) -> dict[str, Any]:
    """What a result's ``query`` records of its scope (JSON-friendly, short: a long
    list of ids is recorded as its length)."""
    out: dict[str, Any] = {}
    if within is not None:
        items = within if isinstance(within, (list, tuple, set, frozenset)) else [within]
        if len(items) > 20:
            out["within"] = [f"{len(items)} items"]
        else:
            out["within"] = [_describe_item(i) for i in items]
    if where is not None:
        out["where"] = (
            where if isinstance(where, str) else {str(k): repr(v) for k, v in where.items()}
        )
    return out


def check_tags(tags: Any, arg: str) -> list[str]:
    items = [tags] if isinstance(tags, str) else tags
    if not isinstance(items, (list, tuple, set, frozenset)) or not all(
        isinstance(t, str) and t.strip() for t in items
    ):
        raise InvalidArgument(f"{arg} must be a tag or a list of tags (got {show_value(tags)}).")
    return list(items)


@dataclass(frozen=True)
class QueryScope:
    """What a query may return, as the user gave it: images of ``within`` that pass
    ``where`` (see :func:`scope_ids`; ``project`` is named in messages), carrying
    any of ``tags``, and not in ``exclude`` (ids, paths, a Collection or a
    DataFrame with an ``id`` column)."""

    within: Any = None
    where: Any = None
    project: str = ""
    tags: Any = None
    exclude: Any = None

    def ids(self, catalog: Catalog) -> set[str] | None:
        return scope_ids(catalog, self.within, self.where, self.project)

    def resolve(self, catalog: Catalog) -> tuple[frozenset[str] | set[str] | None, set[str]]:
        """The ids a query may return (None: any) and the ids it leaves out: the
        store then searches inside the scope."""
        tags, exclude = self.tags, self.exclude
        only = scope_ids(catalog, self.within, self.where, self.project)
        if tags is not None and not (isinstance(tags, (list, tuple, set)) and not tags):
            tagged = catalog.ids_with_tags(check_tags(tags, "tags"))
            only = tagged if only is None else only & tagged
        if exclude is None:
            return only, set()
        if isinstance(exclude, pd.DataFrame):
            if "id" not in exclude:
                raise InvalidArgument("exclude: the DataFrame has no 'id' column.")
            return only, set(exclude["id"])
        if hasattr(exclude, "ids") and hasattr(exclude, "df"):  # a Collection
            return only, set(exclude.ids)
        items = [exclude] if isinstance(exclude, (str, os.PathLike)) else exclude
        if not isinstance(items, (list, tuple, set, frozenset)) or not all(
            isinstance(i, (str, os.PathLike)) for i in items
        ):
            raise InvalidArgument(
                "exclude must be ids, paths, a Collection or a DataFrame with an "
                f"'id' column (got {show_value(exclude)})."
            )
        strs = [os.fspath(i) for i in items]
        by_path = catalog.ids_by_path([os.path.abspath(p) for p in strs])
        return only, {by_path.get(os.path.abspath(p), p) for p in strs}

    def describe(self) -> dict[str, Any]:
        """What a result's ``query`` records of the scope (tags, within, where)."""
        out: dict[str, Any] = {"tags": self.tags} if self.tags else {}
        return out | describe_scope(self.within, self.where)


WHOLE_PROJECT = QueryScope()


def _describe_item(item: Any) -> str:
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    if getattr(item, "name", None):
        return str(item.name)
    # len() of a Collection counts its rows; its ``ids`` would build a list.
    size = len(item) if hasattr(type(item), "__len__") else len(getattr(item, "ids", []))
    return f"{size} ids"
