"""Collections: the results of a search, a pandas DataFrame away.

Every search returns a :class:`Collection` and replaces the project's *temporary*
collection (``proj.last``). ``save(name)`` keeps it in the project home;
``proj.collections`` is the dict-like of saved ones. Collections hold point ids and
scores; paths and tags are looked up when asked for, so they follow moves and tags.

A collection may hold frames of videos (``kind == "frame"``, ``t`` the time in
seconds, ``path`` the video file): :meth:`Collection.segments` merges consecutive
frames of a video into time ranges, :meth:`Collection.by_video` ranks the videos.
"""

from __future__ import annotations

import base64
import html
import json
import os
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from . import _fileops, _trash
from ._errors import AISearchError, InvalidArgument, check_real
from ._export_labels import csv_safe, write_csv  # noqa: F401  (public here since 0.1)
from ._fileops import safe_target  # noqa: F401  (public here since 0.1)
from ._labels import df_label_columns
from ._scope import catalog_state, collection_name

if TYPE_CHECKING:
    from ._annotate import LabelStudioJob
    from ._inventory import Inventory
    from .catalog import Catalog


class Host(Protocol):
    """What a collection uses of its project: the catalog, the file inventory (for
    file actions), the model identity and a page of thumbnails."""

    name: str
    folder: Path
    catalog: Catalog
    inventory: Inventory

    @property
    def model_identity(self) -> str: ...

    def thumbnails(
        self, ids: Sequence[str], on_error: Callable[[str, Exception], None] | None = None
    ) -> list[bytes | None]: ...

    def search(self, prompt: Any, *args: Any, **kwargs: Any) -> Collection: ...

    def similar(self, images: Any = None, *args: Any, **kwargs: Any) -> Collection: ...


@dataclass(frozen=True)
class Item:
    """One image of a collection."""

    id: str
    path: str
    score: float
    rank: int


def _check_tag(tag: str) -> str:
    if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
        raise AISearchError(f"Invalid tag {tag!r}: a non-empty string of at most 100 characters.")
    if any(unicodedata.category(c) == "Cc" for c in tag):
        raise AISearchError(f"Invalid tag {tag!r}: no control characters.")
    return tag.strip()


SCORE_TOLERANCE = 1e-6
"""Scores closer than this are equal for :meth:`Collection.filter` (float32 rounding:
0.6 is stored as 0.59999996 or 0.6000000238)."""


def _threshold(arg: str, v: object) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise AISearchError(
            f"filter({arg}={v!r}): a score threshold must be a finite number, e.g. {arg}=0.25."
        )
    f = float(v)
    if not np.isfinite(f):
        raise AISearchError(
            f"filter({arg}={v!r}): a score threshold must be a finite number, e.g. {arg}=0.25."
        )
    return f


def _score_range(v: object) -> tuple[float, float]:
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence | np.ndarray) or len(v) != 2:
        raise AISearchError(
            f"filter(between={v!r}): give two finite numbers (low, high), e.g. between=(0.2, 0.3)."
        )
    return _threshold("between", v[0]), _threshold("between", v[1])


class Collection:
    """An ordered set of images with scores (best first).

    >>> res = proj.search("a red circle", limit=50)                  # doctest: +SKIP
    >>> res.df.head()            # id, path, score, rank, tags
    >>> res.filter(above=0.3).save("red circles")
    """

    def __init__(
        self,
        project: Host,
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
        if {"group", "best"} <= set(items.columns):
            # Duplicate groups stay together: biggest group first, best copy first.
            items = items.sort_values(
                ["group", "best", "score"], ascending=[True, False, False], kind="stable"
            )
        elif not items["score"].is_monotonic_decreasing:  # searches give them best first
            items = items.sort_values("score", ascending=False, kind="stable", na_position="last")
        if not items["id"].is_unique:
            items = items.drop_duplicates("id")
        items = items.reset_index(drop=True)
        items["rank"] = np.arange(1, len(items) + 1)
        self._items = items
        self.name = name
        self.query = dict(query or {})
        self.model = self.query.get("model", project.model_identity)
        self.created_at = created_at or time.time()
        self.info = dict(info or {})
        self._df_cache: tuple[tuple[int, int], pd.DataFrame] | None = None

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
        return [recs[i].path for i in self.ids if i in recs]

    @property
    def cluster_sizes(self) -> dict[int, int] | None:
        """For diverse results: images per cluster in the clustered population."""
        sizes = self.info.get("cluster_sizes")
        return {int(k): int(v) for k, v in sizes.items()} if sizes else None

    @property
    def df(self) -> pd.DataFrame:
        """``id, path, score, rank, kind, t`` (+ ``cluster``…) and ``tags`` per item;
        ``label`` (and ``labels``, when an image has several) once the project has
        labels (of its ``ground_truth`` or only set: see ``proj.labels()``).

        ``kind`` is ``"image"`` or ``"frame"`` (a sampled frame of a video: ``path``
        is the video file, ``t`` the frame's time in seconds; NaN for images).
        Items deleted from the project since the search are left out. For
        ``proj.trash``: ``path`` is where each file was, with ``deleted_at`` and
        ``trash_path``. Built once per state of the catalog (a copy each time)."""
        state = catalog_state(self._project.catalog)
        if self._df_cache is None or self._df_cache[0] != state:
            self._df_cache = (state, self._build_df())
        return self._df_cache[1].copy()

    def df_with(self, *columns: str) -> pd.DataFrame:
        """:attr:`df` joined by id with these columns of ``proj.metadata`` (``"blur"``…)."""
        df = self.df
        meta = self._project.catalog.metadata_frame(columns)
        return df.join(meta.drop(columns=[c for c in meta.columns if c in df.columns]), on="id")

    def _build_df(self) -> pd.DataFrame:
        items = self._items
        if self.query.get("type") == "trash":
            return self._trash_df()
        recs = self._project.catalog.records(items["id"].tolist())
        tags = self._project.catalog.tags_of(items["id"].tolist())
        # Lists and a dict, not Series.isin: ~1 s less at 100k string ids.
        df = items[np.array([i in recs for i in items["id"].tolist()], bool)].copy()
        got = [recs[i] for i in df["id"].tolist()]
        df.insert(1, "path", [r.path for r in got])
        df["kind"] = [r.kind for r in got]
        df["t"] = np.array([r.t for r in got], dtype=float)
        base = ("id", "path", "score", "rank", "kind", "t")
        extra = [c for c in df.columns if c not in base]
        df = df[[*base, *extra]]
        df["tags"] = [tags.get(i, []) for i in df["id"].tolist()]
        for col, values in df_label_columns(self._project.catalog, df["id"].tolist()).items():
            df[col] = values
        return df.reset_index(drop=True)

    def _trash_df(self) -> pd.DataFrame:
        entries = {e.id: e for e in self._project.catalog.trash_entries(self.ids, vectors=False)}
        df = self._items[self._items["id"].isin(entries.keys())].copy()
        got = [entries[i] for i in df["id"]]
        df.insert(1, "path", [e.path for e in got])
        df["kind"] = [e.kind for e in got]
        df["t"] = np.nan
        df["deleted_at"] = pd.to_datetime([e.deleted_at for e in got], unit="s")
        df["trash_path"] = [e.trash_path for e in got]
        df["tags"] = [sorted({t for ts in e.tags.values() for t in ts}) for e in got]
        return df.reset_index(drop=True)

    def to_pandas(self) -> pd.DataFrame:
        return self.df

    def segments(self, gap: float = 2.0) -> pd.DataFrame:
        """Frames of each video merged into time ranges, best first: ``path, start,
        end, frames, best_score, best_t`` (seconds). Frames of one video at most
        ``gap`` seconds apart are one segment: the answer to "when did it happen?".
        Filter first (``filter(above=…)``, ``head(n)``) to merge only the frames that
        match.

        >>> proj.search("a red heart", limit=50).filter(above=0.3).segments()  # doctest: +SKIP
        """
        gap = check_real("gap", gap)
        df = self.df
        rows = []
        for path, g in df[df["kind"] == "frame"].groupby("path", sort=False):
            g = g.sort_values("t", kind="stable")
            t = g["t"].to_numpy(dtype=float)
            sc = g["score"].to_numpy(dtype=float)
            cuts = np.flatnonzero(np.diff(t) > gap + 1e-6) + 1
            for idx in np.split(np.arange(len(t)), cuts):
                s = sc[idx]
                best = idx[int(np.nanargmax(s))] if np.isfinite(s).any() else idx[0]
                rows.append((path, t[idx[0]], t[idx[-1]], len(idx), sc[best], t[best]))
        cols = ["path", "start", "end", "frames", "best_score", "best_t"]
        return _best_first(pd.DataFrame(rows, columns=cols))

    def by_video(self) -> pd.DataFrame:
        """One row per video of this collection, best first: ``path, best_score,
        best_t, frames`` (its frames in this collection)."""
        df = self.df
        rows = []
        for path, g in df[df["kind"] == "frame"].groupby("path", sort=False):
            sc = g["score"].to_numpy(dtype=float)
            i = int(np.nanargmax(sc)) if np.isfinite(sc).any() else 0
            rows.append((path, sc[i], float(g["t"].iloc[i]), len(g)))
        cols = ["path", "best_score", "best_t", "frames"]
        return _best_first(pd.DataFrame(rows, columns=cols))

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

    def suggest_threshold(self) -> float | None:
        """A score cutoff that separates the results matching the query from the
        background, from this collection's own scores, or None when they show no clear
        cut (one mode, or too few results). A two-component 1-D Gaussian mixture must
        show a real valley; the cut goes into the widest gap between consecutive scores
        above the background (see :mod:`aisearch_widgets.explore.threshold`). Search
        with a limit large enough to include background images (e.g. ``limit=1000``).
        """
        from .explore import suggest_threshold

        return suggest_threshold(self.scores)

    def keep_best(self) -> Collection:
        """For a :meth:`Project.duplicates` result: every member that is not its
        group's best copy, ready to ``tag(...)`` or ``delete(confirm=True)``.
        ``kept_id`` names the copy each one's group keeps: ``delete`` and ``move_to``
        act on a row only if, right then, it is not the same file as that copy and
        the copy is still there with the content the grouping saw."""
        if "best" not in self._items:
            raise InvalidArgument(
                "keep_best() works on a duplicates() result (it needs the group and best columns)."
            )
        items = self._items
        best = items["best"].astype(bool)
        kept = items[best].drop_duplicates("group").set_index("group")["id"]
        rest = items[~best].copy()
        rest["kept_id"] = rest["group"].map(kept)
        return self._derive(rest, keep_best=True)

    def filter(
        self,
        above: float | str | None = None,
        below: float | None = None,
        between: tuple[float, float] | None = None,
    ) -> Collection:
        """Images whose score is ``>= above``, ``< below``, or within ``between``
        (inclusive). Still sorted by score. ``above="auto"`` uses
        :meth:`suggest_threshold` (an error when the scores show no clear cut).

        Scores are float32: a score shown as 0.6 may be stored as 0.59999996. Two
        scores closer than ``SCORE_TOLERANCE`` (1e-6) count as equal, so that score is
        kept by ``above=0.6`` and ``between=(0.6, …)``, and ``below=0.6`` (strict)
        leaves it out: ``above=t`` and ``below=t`` always split a collection in two.
        """
        auto = isinstance(above, str) and above == "auto"
        if auto:
            above = self.suggest_threshold()
            if above is None:
                raise AISearchError(
                    "filter(above='auto'): these scores show no clear cut (one mode, or too "
                    "few results). Pass a number, or search with a larger limit so that "
                    "background images are among the scores."
                )
        s = self._items["score"].to_numpy(dtype=float)
        mask = np.ones(len(s), dtype=bool)
        tol = SCORE_TOLERANCE
        if above is not None:
            mask &= s >= _threshold("above", above) - tol
        if below is not None:
            mask &= s < _threshold("below", below) - tol
        if between is not None:
            lo, hi = sorted(_score_range(between))
            mask &= (s >= lo - tol) & (s <= hi + tol)
        flt = {
            k: v
            for k, v in (("above", above), ("below", below), ("between", between))
            if v is not None
        }
        if auto:
            flt["auto"] = True
        return self._derive(self._items[mask], filter=flt)

    def head(self, n: int) -> Collection:
        return self._derive(self._items.head(n))

    def search(self, prompt: str | list[str], *args: Any, **kwargs: Any) -> Collection:
        """The best matches of ``prompt`` among these images: ``proj.search(prompt,
        ..., within=self)``, with every other option of :meth:`Project.search`."""
        return self._project.search(prompt, *args, within=self._within(kwargs), **kwargs)

    def similar(self, images: Any = None, *args: Any, **kwargs: Any) -> Collection:
        """The images of this collection most similar to the references:
        ``proj.similar(images, ..., within=self)``."""
        return self._project.similar(images, *args, within=self._within(kwargs), **kwargs)

    def _within(self, kwargs: dict[str, Any]) -> Collection:
        if "within" in kwargs:
            raise InvalidArgument(
                "A collection's search is within the collection: narrow it with where=, or "
                "call proj.search(..., within=[...]) for another scope."
            )
        return self

    def select(self, ids: Sequence[str]) -> Collection:
        """The images of this collection whose ids are given."""
        return self._derive(self._items[self._items["id"].isin(set(ids))])

    # -- saving -----------------------------------------------------------------------
    def refine(self, positives: Any = None, negatives: Any = None, **kw: Any) -> Collection:
        """Another round of :meth:`Project.refine` from this result (marks, prompt kept)."""
        from ._probes import continue_from

        return self._project.refine(**continue_from(self, positives, negatives) | kw)  # type: ignore[attr-defined]

    def save(self, name: str, overwrite: bool = False) -> Collection:
        """Keep this collection under ``name`` in the project (survives reopening)."""
        name = collection_name(name)
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
    def _targets(self, verb: str, videos: bool) -> list[str]:
        """The ids a file action acts on: images as they are; frames only through
        their whole video files (each once), and only with ``videos=True``."""
        ids = self.ids
        of = self._project.catalog.videos_of(ids)
        if not of:
            return ids
        if not videos:
            n = len(set(of.values()))
            raise AISearchError(
                f"This collection holds {len(of)} video frames: {verb} acts on files, and a "
                f"frame is part of a video file. Pass videos=True to {verb} the {n} whole "
                "video file(s) they come from, or use export_frames(directory) to write the "
                "frames as JPEG images."
            )
        return list(dict.fromkeys(of.get(i, i) for i in ids))

    def _plan(
        self,
        directory: str | os.PathLike[str],
        names: Mapping[str, str] | Callable[[str], str] | None,
        on_conflict: str,
        ids: list[str] | None = None,
    ) -> list[_fileops.Step]:
        ids = self.ids if ids is None else ids
        recs = self._project.catalog.records(ids)
        return _fileops.plan(recs, ids, directory, names, on_conflict)

    def copy_to(
        self,
        directory: str | os.PathLike[str],
        on_conflict: str = "skip",
        names: Mapping[str, str] | Callable[[str], str] | None = None,
        *,
        videos: bool = False,
    ) -> pd.DataFrame:
        """Copy the files into ``directory``. Frames of videos are copied as their
        whole video files (once each) only with ``videos=True``; otherwise a
        collection holding frames raises (see :meth:`export_frames`). Returns one row per image: id, source,
        target, status (``copied``, ``skipped`` or ``error``), message.

        Existing files are never overwritten silently: ``on_conflict`` is ``"skip"``
        (default), ``"rename"`` or ``"overwrite"``. Images of this collection that share
        a name are conflicts too: with ``"overwrite"`` the first keeps the name and the
        others are skipped (use ``names=`` or ``"rename"``). Every ``copied`` row is a
        file on disk; each copy is written under a temporary name and renamed into place.
        """
        ids = self._targets("copy_to", videos)  # a closed project says so here
        steps = self._plan(directory, names, on_conflict, ids)
        return _fileops.report(_fileops.copy(self._project.catalog, steps))

    def move_to(
        self,
        directory: str | os.PathLike[str],
        on_conflict: str = "skip",
        names: Mapping[str, str] | Callable[[str], str] | None = None,
        *,
        videos: bool = False,
    ) -> pd.DataFrame:
        """Move the files into ``directory``. The project's inventory follows each
        move (same id, same vector, same tags; nothing is re-embedded). Frames move
        only as their whole video files, with ``videos=True`` (all frames of a moved
        video follow it).

        Conflicts are handled as in :meth:`copy_to`; a file of this collection is never
        overwritten by another one. Each move is journalled: a crash or kill midway is
        completed or undone when the project is next opened, so every file ends up in
        exactly one place. Across filesystems the file is copied, fsynced, renamed into
        place, recorded, and only then removed from its old folder.
        """
        inventory = self._project.inventory
        ids = self._targets("move_to", videos)
        with inventory.action():
            steps = self._plan(directory, names, on_conflict, ids)
            guard = self._guard(ids)
            return _fileops.report(_fileops.move(inventory, steps, guard))

    def _guard(self, ids: list[str]) -> _fileops.Guard:
        """The on-disk re-check of each file right before a destructive action (with
        the copy each ``keep_best()`` row's group keeps)."""
        kept = None
        if "kept_id" in self._items:
            kept = dict(zip(self._items["id"], self._items["kept_id"], strict=True))
        return _fileops.Guard(self._project.catalog, ids, kept)

    def delete(
        self, confirm: bool = False, *, videos: bool = False, permanent: bool = False
    ) -> pd.DataFrame:
        """Move the files to the project's trash (``proj.trash``; undo with
        ``restore()``), or delete them for good with ``permanent=True``. Needs
        ``confirm=True``. Frames go only as their whole video files (every frame of
        them), with ``videos=True``.

        Right before acting on each file it is checked again: it must still be what
        the last sync recorded (size and mtime, or content hash), and for a
        ``keep_best()`` row not the same file as the copy kept, which must still be
        there unchanged. Otherwise the row is ``skipped`` with the reason. Returns
        one row per file: id, source, target (its place in the trash), status
        (``trashed``, ``deleted``, ``skipped`` or ``error``), message.

        >>> proj.duplicates().keep_best().delete(confirm=True)       # doctest: +SKIP
        >>> proj.trash.restore()                                        # doctest: +SKIP
        """
        ids = self._targets("delete", videos)
        if not confirm:
            what = (
                f"deletes {len(ids)} files for good"
                if permanent
                else f"moves {len(ids)} files to the project's trash (undo: proj.trash.restore())"
            )
            raise AISearchError(f"This {what}. Call delete(confirm=True) to proceed.")
        inventory = self._project.inventory
        with inventory.action():
            guard = self._guard(ids)
            act = _fileops.delete if permanent else _trash.trash
            return _fileops.report(act(inventory, ids, guard))

    def restore(self) -> pd.DataFrame:
        """Put trashed files of this collection (``proj.trash`` or a selection of it)
        back where they were: the same bytes, tags and vectors, nothing embedded
        again. A path taken since gets ``name (1).ext`` (status ``renamed``). Returns
        one row per file: id, source (in the trash), target, status (``restored``,
        ``renamed``, ``skipped`` or ``error``), message."""
        inventory = self._project.inventory
        with inventory.action():
            return _fileops.report(_trash.restore(inventory, self.ids))

    def export_frames(self, directory: str | os.PathLike[str], quality: int = 92) -> pd.DataFrame:
        """Write the video frames of this collection as JPEG files (full resolution)
        named ``<video stem>_t<seconds>.jpg``. Nothing is overwritten or followed: a
        name taken by a file, a folder or a symlink gets `` (1)``, `` (2)``… ``quality``:
        the JPEG quality, an integer from 1 to 100. Returns one row per item: id,
        source (the video), target, status (``exported``, ``skipped`` for images, or
        ``error``), message.
        """
        import io

        from ._errors import UnsafePathError, check_int, show_value
        from .video import frame_at, frame_name

        if check_int("quality", quality, 1, " and <= 100 (the JPEG quality)") > 100:
            raise InvalidArgument(
                f"quality must be an integer >= 1 and <= 100 (the JPEG quality) "
                f"(got {show_value(quality)})."
            )
        quality = int(quality)
        recs = self._project.catalog.records(self.ids)
        root = _fileops.target_folder(directory)
        taken: set[str] = set()
        out: list[_fileops.Outcome] = []
        for pid in self.ids:
            rec = recs.get(pid)
            if rec is None or rec.kind != "frame":
                why = "not in the project any more" if rec is None else "not a video frame"
                out.append(_fileops.Outcome(pid, rec.path if rec else "", None, "skipped", why))
                continue
            t_ms = round((rec.t or 0.0) * 1000)
            img = frame_at(rec.path, t_ms)
            if img is None:
                msg = f"the frame at {t_ms / 1000:g} s could not be decoded"
                out.append(_fileops.Outcome(pid, rec.path, None, "error", msg))
                continue
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=quality)
            # A name taken on disk (a symlink too, wherever it points) is never used:
            # the first free "name (n)" is, as for any taken name.
            stem, ext = os.path.splitext(frame_name(rec.path, t_ms))
            name, n = stem + ext, 0
            while name in taken or os.path.lexists(root / name):
                n += 1
                name = f"{stem} ({n}){ext}"
            try:
                target = _fileops.write_new(root, name, buf.getvalue(), taken)
            except UnsafePathError as exc:  # a link appeared under that name meanwhile
                out.append(_fileops.Outcome(pid, rec.path, None, "error", str(exc)))
                continue
            except OSError as exc:
                out.append(_fileops.Outcome(pid, rec.path, None, "error", str(exc.strerror or exc)))
                continue
            out.append(_fileops.Outcome(pid, rec.path, str(target), "exported"))
        return _fileops.report(out)

    def export(
        self,
        path: str | os.PathLike[str],
        overwrite: bool = False,
        *,
        format: str | None = None,
        set: str | None = None,
        tags: bool = False,
        root: str | os.PathLike[str] | None = None,
        copy: bool = False,
    ) -> Path:
        """Write a manifest (``.csv``, ``.jsonl`` or ``.json``: the ``df``) or, with
        ``format=``, a dataset for a labelling or training tool: ``"coco"``,
        ``"yolo"``, ``"cvat"``, ``"labelstudio"``, ``"imagefolder"`` (Hugging Face) or
        ``"fiftyone"``, with the labels of the label set ``set`` (default: the
        project's ``ground_truth`` or only set) or, with ``tags=True`` or no labels,
        the tags as classes. File names are relative to ``root`` (default: the folder
        holding every image) or, with ``copy=True``, the images are copied in.
        Nothing is replaced unless ``overwrite=True``; CSV cells that a spreadsheet
        would run as formulas are neutralised (:func:`csv_safe`). The export appears
        whole or not at all. See :mod:`aisearch_widgets._export_labels`.

        >>> proj.labelled("cat").export("cats.json", format="coco", root="/data")  # doctest: +SKIP
        """
        from . import _export_labels

        df = self.df
        return _export_labels.export(
            self._project.catalog,
            df,
            path,
            format=format,
            overwrite=overwrite,
            set_=set,
            tags=tags,
            root=root,
            copy=copy,
        )

    def annotate(self, backend: str = "labelstudio", **options: Any) -> LabelStudioJob:
        """A labelling job of these images on a Label Studio server (``url=``,
        ``project=`` title, ``labels=``, ``kind="choices"|"boxes"``, ``storage="local"``
        with ``root=`` or ``"upload"``, ``predictions=`` a label set, ``api_key=``);
        ``proj.jobs`` keeps it. See :mod:`aisearch_widgets._annotate`."""
        from ._annotate import annotate

        return annotate(self._project.catalog, self._project.folder, self.df, backend, **options)

    # -- notebook display -------------------------------------------------------------
    def _repr_html_(self) -> str:
        df = self.df.head(24)
        cells = []
        thumbs = self._project.thumbnails(df["id"].tolist())
        for r, data in zip(df.itertuples(index=False), thumbs, strict=True):
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


def _best_first(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(
        "best_score", ascending=False, kind="stable", na_position="last"
    ).reset_index(drop=True)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def trash_collection(project: Host) -> Collection:
    """``proj.trash``: the trashed files, newest first."""
    ids = [e.id for e in project.catalog.trash_entries(vectors=False)]
    items = pd.DataFrame({"id": pd.Series(ids, dtype=object), "score": np.nan})
    return Collection(project, items, query={"type": "trash"})
