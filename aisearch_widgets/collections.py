"""Collections: the results of a search, as a pandas DataFrame away.

Every search returns a :class:`Collection` and replaces the project's *temporary*
collection (``proj.last``). ``save(name)`` keeps it in the project home;
``proj.collections`` is the dict-like of saved ones. Collections hold point ids and
scores; paths and tags are looked up when asked for, so they follow moves and tags.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import AISearchError, UnsafePathError

if TYPE_CHECKING:
    from .project import Project


@dataclass(frozen=True)
class Item:
    """One image of a collection."""

    id: str
    path: str
    score: float
    rank: int


def _check_collection_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AISearchError("A collection name must be a non-empty string.")
    if len(name) > 200 or any(unicodedata.category(c) == "Cc" for c in name):
        raise AISearchError(
            f"Invalid collection name {name!r}: at most 200 characters, no control characters."
        )
    return name.strip()


def _check_tag(tag: str) -> str:
    if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
        raise AISearchError(f"Invalid tag {tag!r}: a non-empty string of at most 100 characters.")
    if any(unicodedata.category(c) == "Cc" for c in tag):
        raise AISearchError(f"Invalid tag {tag!r}: no control characters.")
    return tag.strip()


def safe_target(directory: str | os.PathLike[str], name: str) -> Path:
    """``directory/name`` if and only if it stays inside ``directory``.

    Refuses absolute names, ``..``, separators inside the name, NUL and names whose
    resolved location (symlinks followed) leaves the directory.
    """
    if not name or "\x00" in name or name in (".", ".."):
        raise UnsafePathError(f"Refusing file name {name!r}: empty, '.', '..' or contains NUL.")
    if os.path.isabs(name) or "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        raise UnsafePathError(
            f"Refusing file name {name!r}: it must be a plain name inside the target folder."
        )
    root = Path(directory).resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise UnsafePathError(f"Refusing {name!r}: it resolves to {target}, outside {root}.")
    return root / name


def _unique(directory: Path, name: str) -> str:
    stem, ext = os.path.splitext(name)
    n = 1
    while (directory / name).exists() or (directory / name).is_symlink():
        name = f"{stem} ({n}){ext}"
        n += 1
    return name


class Collection:
    """An ordered set of images with scores (best first).

    >>> res = proj.search("a red circle", limit=50)                  # doctest: +SKIP
    >>> res.df.head()            # id, path, score, rank, tags
    >>> res.filter(above=0.3).save("red circles")
    """

    def __init__(
        self,
        project: Project,
        items: pd.DataFrame,
        *,
        name: str | None = None,
        query: dict[str, Any] | None = None,
        created_at: float | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self._project = project
        items = items.copy()
        if "score" not in items:
            items["score"] = np.nan
        items = items.sort_values("score", ascending=False, kind="stable", na_position="last")
        items = items.drop_duplicates("id").reset_index(drop=True)
        items["rank"] = np.arange(1, len(items) + 1)
        self._items = items
        self.name = name
        self.query = dict(query or {})
        self.model = self.query.get("model", project.model_identity)
        self.created_at = created_at or time.time()
        self.info = dict(info or {})

    # -- views ------------------------------------------------------------------------
    @property
    def saved(self) -> bool:
        return self.name is not None

    @property
    def ids(self) -> list[str]:
        return self._items["id"].tolist()

    @property
    def scores(self) -> np.ndarray:
        return self._items["score"].to_numpy(dtype=float)

    @property
    def paths(self) -> list[str]:
        recs = self._project.catalog.records(self.ids)
        return [recs[i][1] for i in self.ids if i in recs]

    @property
    def cluster_sizes(self) -> dict[int, int] | None:
        """For diverse results: images per cluster in the clustered population."""
        sizes = self.info.get("cluster_sizes")
        return {int(k): int(v) for k, v in sizes.items()} if sizes else None

    @property
    def df(self) -> pd.DataFrame:
        """``id, path, score, rank`` (+ ``cluster``…) and ``tags`` per image.

        Images deleted from the project since the search are left out."""
        items = self._items
        recs = self._project.catalog.records(items["id"].tolist())
        tags = self._project.catalog.tags_of(items["id"].tolist())
        df = items[items["id"].isin(recs.keys())].copy()
        df.insert(1, "path", [recs[i][1] for i in df["id"]])
        extra = [c for c in df.columns if c not in ("id", "path", "score", "rank")]
        df = df[["id", "path", "score", "rank", *extra]]
        df["tags"] = [tags.get(i, []) for i in df["id"]]
        return df.reset_index(drop=True)

    def to_pandas(self) -> pd.DataFrame:
        return self.df

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        df = self.df
        for r in df.itertuples(index=False):
            yield Item(r.id, r.path, float(r.score), int(r.rank))

    def __repr__(self) -> str:
        what = f"saved {self.name!r}" if self.saved else "temporary"
        q = self.query.get("text") or self.query.get("type", "")
        return f"<Collection {what}: {len(self)} images{f' for {q!r}' if q else ''}>"

    def _derive(self, items: pd.DataFrame, **change: Any) -> Collection:
        query = {**self.query, **change}
        return Collection(self._project, items, query=query, info=self.info)

    # -- scores -----------------------------------------------------------------------
    def histogram(
        self, bins: int = 30, range: tuple[float, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(counts, edges)`` of the scores, for the score chart."""
        s = self.scores
        s = s[np.isfinite(s)]
        if range is None and len(s):
            lo, hi = float(s.min()), float(s.max())
            range = (lo, hi) if hi > lo else (lo - 0.01, hi + 0.01)
        counts, edges = np.histogram(s, bins=bins, range=range)
        return counts, edges

    def filter(
        self,
        above: float | None = None,
        below: float | None = None,
        between: tuple[float, float] | None = None,
    ) -> Collection:
        """Images whose score is ``>= above``, ``< below``, or within ``between``
        (inclusive). Still sorted by score."""
        s = self._items["score"]
        mask = pd.Series(True, index=s.index)
        if above is not None:
            mask &= s >= above
        if below is not None:
            mask &= s < below
        if between is not None:
            lo, hi = sorted(between)
            mask &= (s >= lo) & (s <= hi)
        flt = {
            k: v
            for k, v in (("above", above), ("below", below), ("between", between))
            if v is not None
        }
        return self._derive(self._items[mask], filter=flt)

    def head(self, n: int) -> Collection:
        return self._derive(self._items.head(n))

    def select(self, ids: Sequence[str]) -> Collection:
        """The images of this collection whose ids are given."""
        return self._derive(self._items[self._items["id"].isin(set(ids))])

    # -- saving -----------------------------------------------------------------------
    def save(self, name: str, overwrite: bool = False) -> Collection:
        """Keep this collection under ``name`` in the project (survives reopening)."""
        name = _check_collection_name(name)
        extra_cols = [c for c in self._items.columns if c not in ("id", "score", "rank")]
        rows = [
            (
                r["id"],
                None if pd.isna(r["score"]) else float(r["score"]),
                json.dumps({c: _jsonable(r[c]) for c in extra_cols}) if extra_cols else None,
            )
            for r in self._items.to_dict("records")
        ]
        info = {"query": self.query, "model": self.model, "info": self.info}
        if not self._project.catalog.save_collection(name, info, rows, overwrite):
            raise AISearchError(
                f"A collection named {name!r} already exists; pass overwrite=True to replace it "
                "or choose another name."
            )
        self.name = name
        return self

    # -- tags -------------------------------------------------------------------------
    def tag(self, *tags: str) -> Collection:
        """Add tags to every image (usable later as ``proj.search(..., tags=[...])``)."""
        clean = [_check_tag(t) for t in tags]
        self._project.catalog.add_tags(self.ids, clean)
        return self

    def untag(self, *tags: str) -> Collection:
        """Remove the given tags (all tags if none are given)."""
        clean = [_check_tag(t) for t in tags] if tags else None
        self._project.catalog.remove_tags(self.ids, clean)
        return self

    # -- file actions -----------------------------------------------------------------
    def _plan_targets(
        self,
        directory: str | os.PathLike[str],
        names: Mapping[str, str] | Callable[[str], str] | None,
        on_conflict: str,
    ) -> list[tuple[str, str, Path | None, str]]:
        if on_conflict not in ("skip", "rename", "overwrite"):
            raise AISearchError("on_conflict must be 'skip', 'rename' or 'overwrite'.")
        root = Path(directory).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        recs = self._project.catalog.records(self.ids)
        out: list[tuple[str, str, Path | None, str]] = []
        taken: set[str] = set()
        for pid in self.ids:
            if pid not in recs:
                out.append((pid, "", None, "not in the project any more"))
                continue
            src = recs[pid][1]
            if names is None:
                name = os.path.basename(src)
            elif callable(names):
                name = names(pid)
            else:
                name = names.get(pid, os.path.basename(src))
            try:
                target = safe_target(root, name)
            except UnsafePathError as exc:
                out.append((pid, src, None, str(exc)))
                continue
            if target.exists() or target.name in taken:
                if on_conflict == "skip":
                    out.append((pid, src, None, f"{target} exists (on_conflict='skip')"))
                    continue
                if on_conflict == "rename":
                    target = root / _unique(root, target.name)
                    while target.name in taken:
                        target = root / _unique(root, f"{target.stem}_{len(taken)}{target.suffix}")
            taken.add(target.name)
            out.append((pid, src, target, ""))
        return out

    def copy_to(
        self,
        directory: str | os.PathLike[str],
        on_conflict: str = "skip",
        names: Mapping[str, str] | Callable[[str], str] | None = None,
    ) -> pd.DataFrame:
        """Copy the files into ``directory``. Existing files are never overwritten
        silently: ``on_conflict`` is ``"skip"`` (default), ``"rename"`` or
        ``"overwrite"``. Returns one row per image: id, source, target, status, message.
        """
        report = []
        for pid, src, target, why in self._plan_targets(directory, names, on_conflict):
            if target is None:
                report.append((pid, src, None, "skipped" if "exists" in why else "error", why))
                continue
            try:
                shutil.copy2(src, target)
                report.append((pid, src, str(target), "copied", ""))
            except OSError as exc:
                report.append((pid, src, str(target), "error", f"{exc.strerror or exc}"))
        return _report(report)

    def move_to(
        self,
        directory: str | os.PathLike[str],
        on_conflict: str = "skip",
        names: Mapping[str, str] | Callable[[str], str] | None = None,
    ) -> pd.DataFrame:
        """Move the files into ``directory``. The project's inventory follows each
        move (same id, same vector, same tags; nothing is re-embedded)."""
        report = []
        proj = self._project
        with proj._file_action():
            for pid, src, target, why in self._plan_targets(directory, names, on_conflict):
                if target is None:
                    report.append((pid, src, None, "skipped" if "exists" in why else "error", why))
                    continue
                try:
                    shutil.move(src, target)
                except OSError as exc:
                    report.append((pid, src, str(target), "error", f"{exc.strerror or exc}"))
                    continue
                try:
                    proj._file_moved(pid, src, str(target))
                except Exception as exc:
                    shutil.move(target, src)  # keep disk and inventory in agreement
                    report.append((pid, src, str(target), "error", f"moved back: {exc}"))
                    continue
                report.append((pid, src, str(target), "moved", ""))
        return _report(report)

    def delete(self, confirm: bool = False) -> pd.DataFrame:
        """Delete the files from disk and from the index. Needs ``confirm=True``."""
        if not confirm:
            raise AISearchError(
                f"This deletes {len(self)} files from disk. Call delete(confirm=True) to proceed."
            )
        report = []
        proj = self._project
        recs = proj.catalog.records(self.ids)
        with proj._file_action():
            for pid in self.ids:
                if pid not in recs:
                    report.append((pid, "", None, "skipped", "not in the project any more"))
                    continue
                src = recs[pid][1]
                try:
                    os.remove(src)
                    status, msg = "deleted", ""
                except FileNotFoundError:
                    status, msg = "deleted", "the file was already gone; removed from the index"
                except OSError as exc:
                    report.append((pid, src, None, "error", f"{exc.strerror or exc}"))
                    continue
                proj._file_deleted(pid, src)
                report.append((pid, src, None, status, msg))
        return _report(report)

    def export(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write a manifest (``.csv``, ``.jsonl`` or ``.json``) for annotation jobs."""
        p = Path(path).expanduser()
        if p.exists() and not overwrite:
            raise AISearchError(f"{p} exists; pass overwrite=True to replace it.")
        df = self.df
        ext = p.suffix.lower()
        tmp = p.with_name(p.name + ".tmp")
        if ext == ".csv":
            out = df.copy()
            out["tags"] = [";".join(t) for t in out["tags"]]
            out.to_csv(tmp, index=False)
        elif ext == ".jsonl":
            df.to_json(tmp, orient="records", lines=True, force_ascii=False)
        elif ext == ".json":
            df.to_json(tmp, orient="records", force_ascii=False, indent=1)
        else:
            raise AISearchError(f"Unknown export format {ext!r}: use .csv, .jsonl or .json.")
        os.replace(tmp, p)
        return p

    # -- notebook display -------------------------------------------------------------
    def _repr_html_(self) -> str:
        df = self.df.head(24)
        cells = []
        for r in df.itertuples(index=False):
            data = self._project.thumbnail(r.id)
            src = "data:image/jpeg;base64," + base64.b64encode(data).decode() if data else ""
            name = html.escape(os.path.basename(r.path))
            cells.append(
                '<figure style="margin:2px;width:110px;display:inline-block;vertical-align:top">'
                f'<img src="{src}" style="width:110px;height:110px;object-fit:contain" alt="{name}">'
                f'<figcaption style="font-size:10px;overflow:hidden;text-overflow:ellipsis;'
                f'white-space:nowrap" title="{name}">{r.score:.3f} {name}</figcaption></figure>'
            )
        title = html.escape(repr(self))
        more = f"<div>… {len(self) - len(df)} more</div>" if len(self) > len(df) else ""
        return f"<div><div><b>{title}</b></div>{''.join(cells)}{more}</div>"


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _report(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "source", "target", "status", "message"])


class SavedCollections(MutableMapping[str, Collection]):
    """``proj.collections``: saved collections by name (dict-like)."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def __getitem__(self, name: str) -> Collection:
        got = self._project.catalog.load_collection(name)
        if got is None:
            names = self._project.catalog.collection_names()
            raise KeyError(
                f"No saved collection {name!r}"
                + (f"; saved: {', '.join(map(repr, names))}" if names else "")
            )
        info, created, rows = got
        items = pd.DataFrame(
            [{"id": i, "score": s, **(json.loads(e) if e else {})} for i, s, e in rows],
            columns=None,
        )
        if items.empty:
            items = pd.DataFrame({"id": pd.Series(dtype=str), "score": pd.Series(dtype=float)})
        return Collection(
            self._project,
            items,
            name=name,
            query=info.get("query"),
            created_at=created,
            info=info.get("info"),
        )

    def __setitem__(self, name: str, col: Collection) -> None:
        col.save(name, overwrite=True)

    def __delitem__(self, name: str) -> None:
        if not self._project.catalog.delete_collection(name):
            raise KeyError(f"No saved collection {name!r}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._project.catalog.collection_names())

    def __len__(self) -> int:
        return len(self._project.catalog.collection_names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._project.catalog.collection_names()

    def rename(self, old: str, new: str) -> None:
        new = _check_collection_name(new)
        if new in self:
            raise AISearchError(f"A collection named {new!r} already exists.")
        if old not in self:
            raise KeyError(f"No saved collection {old!r}")
        self._project.catalog.rename_collection(old, new)

    @property
    def df(self) -> pd.DataFrame:
        """One row per saved collection: name, size, query, created_at."""
        sizes = self._project.catalog.collection_sizes()
        rows = []
        for n in self:
            got = self._project.catalog.load_collection(n)
            q = got[0].get("query", {}) if got else {}
            rows.append(
                {
                    "name": n,
                    "size": sizes.get(n, 0),
                    "query": q.get("text") or q.get("type"),
                    "created_at": pd.Timestamp(got[1], unit="s") if got else None,
                }
            )
        return pd.DataFrame(rows, columns=["name", "size", "query", "created_at"])

    def __repr__(self) -> str:
        return f"<SavedCollections {list(self)}>"
