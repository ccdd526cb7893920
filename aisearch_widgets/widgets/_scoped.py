"""Where the panel searches, mixed into :class:`SearchPanel`: "Search in:" (the whole
project, a saved collection, or the results shown when it was chosen) and filter
chips (a tag, a folder, a date range, a least size, a quality issue). Prompt, Similar,
Diverse, Duplicates and Outliers run inside that scope, through the public API's
``within=`` and ``where=``; the result header says which scope a result was searched
in (``Prompt 'car' · 12 · in 'night' · width ≥ 1024 (340 images)``).

The browser sends filters as structured values (``{"kind": "size", "min_width":
1024}``), each checked here; the ``where=`` expression is built from them with every
string written as a Python literal (``repr``), and the backend parses it (it never
runs it). A quality issue is not a metadata column: its images
(``Project.quality_issues``) narrow ``within``.

>>> panel.set_scope("night", filters=[{"kind": "size", "min_width": 1024}])  # doctest: +SKIP
>>> panel.scope                                   # "in 'night' · width ≥ 1024 (340 images)"
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import AISearchError, InvalidArgument
from ..quality import ISSUES
from ._protocol import Reply

if TYPE_CHECKING:
    from ..collection import Collection

#: What "Search in:" may name.
WITHIN = ("project", "collection", "results")
FILTER_KINDS = ("tag", "folder", "date", "size", "quality")
MAX_FILTERS = 12
_TEXT = 200  # characters of a tag or folder
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Which date a date filter reads: the camera's (EXIF) or the file's.
DATE_COLUMNS = {"taken": "taken_at", "modified": "mtime"}
_FOLDERS_OFFERED = 300


def _text(f: dict[str, Any], key: str, what: str) -> str:
    v = f.get(key)
    if not isinstance(v, str) or not v.strip() or len(v) > _TEXT:
        raise InvalidArgument(f"A {what} filter needs a {what} of 1 to {_TEXT} characters.")
    return v.strip()


def _date(f: dict[str, Any], key: str) -> str:
    v = f.get(key) or ""
    if not isinstance(v, str) or (v and not _DATE.match(v)):
        raise InvalidArgument("A date filter takes dates as YYYY-MM-DD.")
    return v


def _size(f: dict[str, Any], key: str) -> int:
    v = f.get(key) or 0
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1_000_000:
        raise InvalidArgument("A size filter takes whole numbers of pixels from 0.")
    return v


def check_filter(f: Any) -> dict[str, Any]:
    """One filter as the browser (or Python) gives it, checked and normalised."""
    kind = f.get("kind") if isinstance(f, dict) else None
    if kind not in FILTER_KINDS:
        raise InvalidArgument(
            f"Unknown filter {str(kind)[:40]!r}; the filters are: {', '.join(FILTER_KINDS)}."
        )
    if kind == "tag":
        return {"kind": kind, "tag": _text(f, "tag", "tag")}
    if kind == "folder":
        folder = _text(f, "folder", "folder").replace("\\", "/").strip("/")
        return {"kind": kind, "folder": folder + "/"}
    if kind == "date":
        by = f.get("by") or "taken"
        if by not in DATE_COLUMNS:
            raise InvalidArgument("A date filter reads the date 'taken' or 'modified'.")
        lo, hi = _date(f, "from"), _date(f, "to")
        if not lo and not hi:
            raise InvalidArgument("A date filter needs a first or a last day.")
        if lo and hi and lo > hi:
            raise InvalidArgument(f"The date range ends ({hi}) before it starts ({lo}).")
        return {"kind": kind, "by": by, "from": lo, "to": hi}
    if kind == "size":
        w, h = _size(f, "min_width"), _size(f, "min_height")
        if not w and not h:
            raise InvalidArgument("A size filter needs a least width or height.")
        return {"kind": kind, "min_width": w, "min_height": h}
    issue = f.get("issue")
    if issue not in ISSUES:
        raise InvalidArgument(f"Unknown quality issue; the issues are: {', '.join(ISSUES)}.")
    return {"kind": kind, "issue": issue}


def check_filters(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_FILTERS:
        raise InvalidArgument(f"Filters are a list of at most {MAX_FILTERS}.")
    out: list[dict[str, Any]] = []
    for f in map(check_filter, raw):
        if f not in out:
            out.append(f)
    return out


def _next_day(day: str) -> str:
    return (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")


def where_of(filters: Sequence[dict[str, Any]]) -> str | None:
    """The ``where=`` expression of checked filters (None: no metadata filter). Every
    string enters as a literal written by ``repr``; the backend parses the result."""
    parts: list[str] = []
    for f in filters:
        kind = f["kind"]
        if kind == "tag":
            parts.append(f"{f['tag']!r} in tags")
        elif kind == "folder":
            parts.append(f"folder.startswith({f['folder']!r})")
        elif kind == "date":
            col = DATE_COLUMNS[f["by"]]
            if f["from"]:
                parts.append(f"{col} >= {f['from']!r}")
            if f["to"]:  # the whole last day
                parts.append(f"{col} < {_next_day(f['to'])!r}")
        elif kind == "size":
            if f["min_width"]:
                parts.append(f"width >= {int(f['min_width'])}")
            if f["min_height"]:
                parts.append(f"height >= {int(f['min_height'])}")
    return " and ".join(parts) if parts else None


def filter_label(f: dict[str, Any]) -> str:
    """A filter as its chip and the header say it."""
    kind = f["kind"]
    if kind == "tag":
        return f"tagged {f['tag']!r}"
    if kind == "folder":
        return f"in folder {f['folder']}"
    if kind == "date":
        what = "taken" if f["by"] == "taken" else "modified"
        if f["from"] and f["to"]:
            return f"{what} {f['from']} – {f['to']}"
        return f"{what} from {f['from']}" if f["from"] else f"{what} until {f['to']}"
    if kind == "size":
        w, h = f["min_width"], f["min_height"]
        both = [f"width ≥ {w}" if w else "", f"height ≥ {h}" if h else ""]
        return " · ".join(p for p in both if p)
    return f"quality: {f['issue'].replace('_', ' ')}"


@dataclass
class Scope:
    """What the panel searches in: ``within`` (``project``, ``collection`` named
    ``name``, or ``results``: the collection kept in ``results``) and the filters."""

    within: str = "project"
    name: str = ""
    results: Collection | None = None
    results_title: str = ""
    filters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def narrowed(self) -> bool:
        return self.within != "project" or bool(self.filters)

    def place(self) -> str:
        if self.within == "collection":
            return f"in {self.name!r}"
        if self.within == "results":
            return f"in the results of {self.results_title}"
        return "in the whole project"


class ScopedSearch:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``controls``,
    ``_result``, ``_title`` and ``_message``)."""

    _result: Collection | None
    _scope: Scope
    _scope_n: int | None

    def _init_scope(self) -> None:
        self._scope = Scope()
        self._scope_n = None
        self._scopes: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._show_scope()

    # -- public API ------------------------------------------------------------------------
    @property
    def scope(self) -> str:
        """Where the next search runs, as the panel says it (``in 'night' · width ≥
        1024 (340 images)``; ``in the whole project`` when not narrowed)."""
        return self._scope_text()

    def set_scope(self, within: Any = None, filters: Sequence[dict[str, Any]] = ()) -> None:
        """Search in ``within`` (None: the whole project; the name of a saved
        collection; or a Collection, e.g. ``panel.result``) with ``filters``
        (``[{"kind": "tag", "tag": "defect"}, {"kind": "size", "min_width": 1024},
        {"kind": "folder", "folder": "line3"}, {"kind": "date", "by": "taken", "from":
        "2024-06-01", "to": ""}, {"kind": "quality", "issue": "blurry"}]``)."""
        if within is None:
            self._apply_scope(Scope(filters=check_filters(list(filters))))
        elif isinstance(within, str):
            self._set_scope("collection", within, list(filters))
        else:
            title = getattr(within, "name", None) or f"{len(within)} images"
            scope = Scope("results", "", within, repr(title) if within.name else title)
            scope.filters = check_filters(list(filters))
            self._apply_scope(scope)

    # -- requests ---------------------------------------------------------------------------
    def _set_scope(self, within: str, name: str, filters: list) -> None:
        if within not in WITHIN:
            raise InvalidArgument(f"Search in: one of {', '.join(WITHIN)}.")
        scope = Scope(within=within, filters=check_filters(filters))
        if within == "collection":
            if name not in self.project.collections:  # type: ignore[attr-defined]
                raise AISearchError(f"There is no saved collection {name[:100]!r}.")
            scope.name = name
        elif within == "results":
            res = self._result
            if self._scope.within == "results" and name == "kept":  # filters changed only
                scope.results, scope.results_title = self._scope.results, self._scope.results_title
            elif res is None or not len(res):
                raise AISearchError("There are no results to search in: run a search first.")
            else:
                scope.results, scope.results_title = res, self._title  # type: ignore[attr-defined]
        self._apply_scope(scope)

    def _scope_options(self) -> Reply:
        """What the filter editor offers: the project's tags, folders and quality
        issues."""
        proj = self.project  # type: ignore[attr-defined]
        tags = sorted(proj.tags, key=str.lower)
        meta = proj.catalog.metadata_frame(["folder"])
        counts = meta["folder"].dropna().astype(str).value_counts()
        folders = sorted(f for f in counts.index[:_FOLDERS_OFFERED] if f)
        return Reply({"tags": tags[:1000], "folders": folders, "issues": list(ISSUES)})

    def quality_issues(self, issue: str = "") -> Collection | None:
        """Images with a quality issue (``issue``: one of them, "" for all) inside
        the scope, as if asked in the Outliers tab."""
        return self._shown(self._search_quality, issue)  # type: ignore[attr-defined]

    def _search_quality(self, issue: str) -> Any:
        if issue and issue not in ISSUES:
            raise InvalidArgument(f"Unknown quality issue; the issues are: {', '.join(ISSUES)}.")
        from ._protocol import Mode

        self.controls.mode = Mode.OUTLIERS.value  # type: ignore[attr-defined]
        kw = self._scope_kw()
        proj = self.project  # type: ignore[attr-defined]

        def search() -> Collection:
            res = proj.quality_issues(issue or None)
            if kw["within"] is None and kw["where"] is None:
                return res
            from .._scope import scope_ids

            ids = scope_ids(proj.catalog, kw["within"], kw["where"], proj.name) or set()
            return res.select([i for i in res.ids if i in ids])

        return self._run(search)  # type: ignore[attr-defined]

    # -- internals --------------------------------------------------------------------------
    def _apply_scope(self, scope: Scope) -> None:
        old = self._scope
        self._scope = scope
        try:
            self._scope_n = self._count_scope()
        except Exception:
            self._scope = old
            raise
        self._show_scope()

    def _quality_ids(self, issues: list[str]) -> set[str]:
        res = self.project.quality_issues()  # type: ignore[attr-defined]
        df = res.df
        col = df["issues"] if "issues" in df.columns else df["issue"].map(lambda i: [i])
        keep = [bool(set(v if isinstance(v, list) else [v]) & set(issues)) for v in col]
        return set(df.loc[np.asarray(keep, dtype=bool), "id"])

    def _scope_kw(self) -> dict[str, Any]:
        """``within=`` and ``where=`` of the scope, for the public API."""
        s = self._scope
        within: Any = None
        if s.within == "collection":
            within = s.name
        elif s.within == "results":
            within = s.results
        issues = [f["issue"] for f in s.filters if f["kind"] == "quality"]
        if issues:
            ids = self._quality_ids(issues)
            if within is not None:
                from .._scope import within_ids

                ids &= set(within_ids(self.project.catalog, within, self.project.name))  # type: ignore[attr-defined]
            within = self._ids_collection(sorted(ids))
        return {"within": within, "where": where_of(s.filters)}

    def _ids_collection(self, ids: list[str]) -> Collection:
        from ..collection import Collection

        items = pd.DataFrame({"id": pd.Series(ids, dtype=object), "score": np.nan})
        return Collection(self.project, items, query={"type": "scope"})  # type: ignore[attr-defined]

    def _count_scope(self) -> int | None:
        if not self._scope.narrowed:
            return None
        from .._scope import scope_ids

        kw = self._scope_kw()
        ids = scope_ids(self.project.catalog, kw["within"], kw["where"], self.project.name)  # type: ignore[attr-defined]
        return None if ids is None else len(ids)

    def _scope_text(self) -> str:
        s = self._scope
        if not s.narrowed:
            return s.place()
        parts = [s.place()] if s.within != "project" else []
        parts += [filter_label(f) for f in s.filters]
        n = self._scope_n
        count = f" ({n} {'image' if n == 1 else 'images'})" if n is not None else ""
        return " · ".join(parts) + count

    def _show_scope(self) -> None:
        s = self._scope
        c = self.controls  # type: ignore[attr-defined]
        with c.hold_sync():
            c.scope = {
                "within": s.within,
                "name": s.name,
                "results_title": s.results_title,
                "filters": [dict(f, label=filter_label(f)) for f in s.filters],
                "text": self._scope_text(),
                "n": self._scope_n,
            }

    def _scoped(self, res: Collection) -> Collection:
        """Note the scope ``res`` was searched in (the header says it)."""
        if self._scope.narrowed:
            self._scopes[res] = self._scope_text()
        return res

    def _scope_of(self, res: Collection | None) -> str:
        return self._scopes.get(res, "") if res is not None else ""
