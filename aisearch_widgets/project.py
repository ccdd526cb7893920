"""``Project``: the object a user holds. It opens or creates the project home, wires
the catalog, the store, the embedder and the background indexer together, and
offers enable/disable/update/status/wait and the searches."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import (
    AISearchError,
    EmbeddingsNotReady,
    ModelMismatch,
    ProjectExists,
    ProjectNotFound,
)
from ._home import (
    HomeLock,
    check_name,
    default_home,
    parse_interval,
    read_json,
    write_json_atomic,
)
from .catalog import Catalog
from .collections import Collection, SavedCollections
from .embedder import DEFAULT_MODEL, Embedder, model_identity, parse_model_spec
from .indexer import Indexer, Runner, SyncCancelled, SyncSummary, thumb_path
from .sources import Source, normalize_sources
from .status import format_time

_CONFIG = "project.json"
_OPEN: weakref.WeakSet[Project] = weakref.WeakSet()


@dataclass(frozen=True)
class Status:
    """A snapshot of a project's embedding state."""

    name: str
    enabled: bool
    state: str  # "disabled" | "indexing" | "ready"
    done: int
    total: int
    failed: int
    pending: int
    missing: int  # files whose folder vanished or emptied: kept until pruned
    updated_at: float | None
    model: str
    schedule: str | None
    first_pass_done: bool
    phase: str
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        when = format_time(self.updated_at)
        s = (
            f"{self.name}: {self.state} — {self.done}/{self.total} embedded, "
            f"{self.failed} failed"
            + (f", {self.missing} missing" if self.missing else "")
            + f"; model {self.model}; updated {when}"
        )
        return s + (f"; last error: {self.error}" if self.error else "")


def _slug(identity: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9]+", "-", identity).strip("-")[:40]
    return f"{readable}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"


class Project:
    """A set of images made searchable with CLIP.

    >>> import aisearch_widgets as aw                                    # doctest: +SKIP
    >>> proj = aw.Project("line-3", sources="~/data/line3", model="demo")
    >>> proj.enable(schedule="10m")      # embeds in the background
    >>> proj.wait()                       # progress bar until ready
    >>> proj.search("a red circle", limit=20).df

    Parameters
    ----------
    name:
        Project name (letters, digits, ``._-``); its folder is ``home/name``.
    sources:
        A folder, a list of folders and/or image files, or a pandas DataFrame with a
        path column (``path_column=``). Required to create a project; optional when
        reopening one (given, it replaces the stored sources).
    model:
        open_clip ``"ARCH:pretrained"``, ``"ARCH:/path/to/checkpoint"``, a model folder,
        or ``"demo"``. Fixed when the project is created.
    home:
        Folder holding all projects; default ``$AISEARCH_HOME`` or the user data dir.
    qdrant_url:
        ``None`` keeps vectors in an embedded Qdrant Edge shard in the project home;
        a URL (or a ``QdrantClient``) keeps them on a Qdrant server.
    """

    def __init__(
        self,
        name: str,
        sources: Any = None,
        model: str | None = None,
        home: str | os.PathLike[str] | None = None,
        qdrant_url: Any = None,
        *,
        path_column: str | None = None,
        qdrant_api_key: str | None = None,
        device: str = "auto",
        batch_size: int = 32,
        workers: int | None = None,
        thumbnails: bool = True,
    ) -> None:
        self.name = check_name(name)
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.folder = self.home / self.name
        cfg_path = self.folder / _CONFIG
        self._closed = True
        self._lock_obj: HomeLock | None = None
        self._store: Any = None
        self._embedder: Embedder | None = None
        self._init_lock = threading.RLock()
        self._last: Any = None
        self._text_cache: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self.device = device

        if cfg_path.exists():
            cfg = read_json(cfg_path)
            if model is not None and parse_model_spec(model) != parse_model_spec(cfg["model"]):
                stored = cfg["model"]
                raise ModelMismatch(
                    f"Project {name!r} was created with model {stored!r}; its vectors cannot "
                    f"be mixed with {model!r}. Open it without model=, or create a new project "
                    "for the other model."
                )
            if sources is not None:
                cfg["sources"] = [
                    s.to_json() for s in normalize_sources(sources, path_column=path_column)
                ]
            if qdrant_url is not None and isinstance(qdrant_url, str):
                cfg["qdrant_url"] = qdrant_url
            created = False
        else:
            if sources is None:
                raise ProjectNotFound(
                    f"No project {name!r} in {self.home}. Pass sources= to create it"
                    + (
                        f"; existing projects: {', '.join(self.list(self.home))}"
                        if self.list(self.home)
                        else ""
                    )
                    + "."
                )
            spec = model or DEFAULT_MODEL
            parse_model_spec(spec)  # fail early on a typo, before anything is written
            cfg = {
                "version": 1,
                "name": name,
                "sources": [
                    s.to_json() for s in normalize_sources(sources, path_column=path_column)
                ],
                "model": spec,
                "enabled": False,
                "schedule": None,
                "qdrant_url": qdrant_url if isinstance(qdrant_url, str) else None,
                "created_at": time.time(),
            }
            created = True
        self._cfg = cfg
        self._qdrant = qdrant_url if qdrant_url is not None else cfg.get("qdrant_url")
        self._qdrant_api_key = qdrant_api_key

        self.folder.mkdir(parents=True, exist_ok=True)
        if self._qdrant is None:
            self._lock_obj = HomeLock(self.folder, name)
            self._lock_obj.acquire()
        try:
            self._write_config() if created or sources is not None else None
            self.catalog = Catalog(str(self.folder / "catalog.sqlite"))
            self._identity = model_identity(parse_model_spec(cfg["model"]))
            self.indexer = Indexer(
                name,
                self.catalog,
                sources=lambda: self.sources,
                model_identity=lambda: self._identity,
                embedder=self._get_embedder,
                store=self._get_store,
                skip=self._project_folders,
                thumbs_dir=str(self.folder / "thumbs") if thumbnails else None,
                batch_size=batch_size,
                workers=workers,
            )
            self.runner = Runner(self.indexer, name=f"aisearch-{name}")
        except BaseException:
            if self._lock_obj is not None:
                self._lock_obj.release()
            raise
        self._closed = False
        _OPEN.add(self)
        if cfg.get("enabled"):
            # An enabled project keeps itself current: resume the schedule, and catch
            # up at once if the last sync is older than one interval or unfinished.
            interval = parse_interval(cfg.get("schedule"))
            self.runner.set_schedule(interval)
            last = self.catalog.get_meta("last_sync")
            dirty = self.catalog.get_meta("dirty", False)
            if dirty or last is None or (interval and time.time() - last > interval):
                self.runner.request()

    # -- construction helpers ---------------------------------------------------------
    @classmethod
    def open(cls, name: str, home: str | os.PathLike[str] | None = None, **kwargs: Any) -> Project:
        """Reopen an existing project from its home."""
        h = Path(home).expanduser() if home is not None else default_home()
        if not (h / check_name(name) / _CONFIG).exists():
            names = cls.list(h)
            raise ProjectNotFound(
                f"No project {name!r} in {h}."
                + (
                    f" Existing projects: {', '.join(names)}."
                    if names
                    else " It holds no projects."
                )
            )
        return cls(name, home=h, **kwargs)

    @classmethod
    def create(cls, name: str, sources: Any, **kwargs: Any) -> Project:
        """Create a new project; fails if one of that name exists."""
        h = Path(kwargs.get("home") or default_home()).expanduser()
        if (h / check_name(name) / _CONFIG).exists():
            raise ProjectExists(f"Project {name!r} already exists in {h}; use Project.open().")
        return cls(name, sources=sources, **kwargs)

    @staticmethod
    def list(home: str | os.PathLike[str] | None = None) -> list[str]:
        """Names of the projects in a home folder."""
        h = Path(home).expanduser() if home is not None else default_home()
        if not h.is_dir():
            return []
        return sorted(p.name for p in h.iterdir() if (p / _CONFIG).is_file())

    def _project_folders(self) -> list[str]:
        """Folders never scanned for images: every project's own folder in the home
        (thumbnails live there), but not other data kept beside them."""
        return [str(self.home / n) for n in self.list(self.home)] + [str(self.folder)]

    def _write_config(self) -> None:
        write_json_atomic(self.folder / _CONFIG, self._cfg)

    def _check_open(self) -> None:
        if self._closed:
            raise AISearchError(f"Project {self.name!r} is closed; reopen it with Project.open().")

    def _get_embedder(self) -> Embedder:
        with self._init_lock:
            if self._embedder is None:
                emb = Embedder(self._cfg["model"], device=self.device)
                if emb.identity != self._identity:
                    raise ModelMismatch(
                        f"The weights of {self._cfg['model']!r} changed on disk "
                        f"({self._identity} → {emb.identity})."
                    )
                self._embedder = emb
            return self._embedder

    def _get_store(self) -> Any:
        with self._init_lock:
            if self._store is None:
                dim = self._get_embedder().dim
                slug = _slug(self._identity)
                if self._qdrant is None:
                    from .store.edge import EdgeStore

                    self._store = EdgeStore(self.folder / "vectors" / slug, dim)
                else:
                    from .store.server import ServerStore

                    self._store = ServerStore(
                        self._qdrant,
                        f"aisearch-{self.name}-{slug}",
                        dim,
                        api_key=self._qdrant_api_key,
                    )
            return self._store

    # -- public properties ------------------------------------------------------------
    @property
    def sources(self) -> list[Source]:
        return [Source.from_json(d) for d in self._cfg["sources"]]

    @property
    def model(self) -> str:
        """The model spec the project was created with."""
        return self._cfg["model"]

    @property
    def model_identity(self) -> str:
        return self._identity

    @property
    def embedder(self) -> Embedder:
        """The loaded model (loaded on first use)."""
        self._check_open()
        return self._get_embedder()

    @property
    def store(self) -> Any:
        """The vector store (opened on first use)."""
        self._check_open()
        return self._get_store()

    @property
    def enabled(self) -> bool:
        return bool(self._cfg.get("enabled"))

    @property
    def status(self) -> Status:
        """Embedding state: enabled, state, done/total, failed, updated_at, model…"""
        c = self.catalog.counts(self._identity)
        running = (not self._closed) and self.runner.busy
        prog = self.indexer.progress
        state = "indexing" if running else ("ready" if self.enabled else "disabled")
        err = self.runner.last_error
        return Status(
            name=self.name,
            enabled=self.enabled,
            state=state,
            done=c["embedded"],
            total=c["total"],
            failed=c["failed"],
            pending=c["pending"],
            missing=c["missing"],
            updated_at=self.catalog.get_meta("last_sync"),
            model=self._identity,
            schedule=self._cfg.get("schedule"),
            first_pass_done=bool(self.catalog.get_meta("first_pass_done", False)),
            phase=prog.phase if running else "idle",
            error=None if err is None or isinstance(err, SyncCancelled) else str(err),
        )

    @property
    def failures(self) -> pd.DataFrame:
        """Every file that could not be embedded: path, kind, message, id. Files whose
        folder vanished or emptied are listed with kind ``missing`` (see
        :meth:`update`)."""
        rows = self.catalog.failures()
        return pd.DataFrame(rows, columns=["path", "kind", "message", "id"])

    # -- lifecycle --------------------------------------------------------------------
    def enable(self, schedule: str | float | None = "10m") -> Project:
        """Turn AI search on: embed every image in the background (returns at once) and
        re-sync on ``schedule`` (e.g. ``"10m"``, ``"1h"``; ``None`` for manual only)."""
        self._check_open()
        interval = parse_interval(schedule)
        self._cfg["enabled"] = True
        self._cfg["schedule"] = schedule if interval else None
        self._write_config()
        self.runner.set_schedule(interval)
        self.runner.request()
        return self

    def disable(self) -> Project:
        """Stop updates (the running one stops at its next batch). Embeddings stay;
        ``enable()`` later reuses them."""
        self._check_open()
        self._cfg["enabled"] = False
        self._write_config()
        self.runner.set_schedule(None)
        self.runner.cancel_current()
        return self

    def update(
        self, wait: bool = True, retry_failed: bool = False, prune_missing: bool = False
    ) -> dict[str, Any] | Any:
        """Sync now: embed new and changed files, drop deleted ones. With ``wait`` it
        returns a summary dict; otherwise a ``concurrent.futures.Future``.

        Failed files are retried when their size or mtime changes (``retry_failed``
        retries them all). A file counts as deleted only when it is gone while its
        folder still lists other content. Files whose folder vanished or is suddenly
        empty (an unmounted share, a detached disk) are kept as ``missing``: their
        vectors, tags and collection entries stay (searches may still return them; the
        panel shows them as missing), ``status.missing`` counts them and
        ``failures`` lists them. They are back as they were, without re-embedding,
        when the files return; ``prune_missing=True`` forgets them for good. A
        scheduled sync never prunes.
        """
        self._check_open()
        fut = self.runner.request(retry_failed=retry_failed, prune_missing=prune_missing)
        if not wait:
            return fut
        summary: SyncSummary = fut.result()
        return summary.as_dict()

    def wait(self, timeout: float | None = None, progress: bool = True) -> Status:
        """Block until no sync is running, showing a progress bar (a widget in
        notebooks). Raises ``TimeoutError`` after ``timeout`` seconds and re-raises the
        error of a failed sync."""
        self._check_open()
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = None
        try:
            while self.runner.busy:
                prog = self.indexer.progress
                if progress and prog.phase == "embedding" and prog.total:
                    if bar is None:
                        from tqdm.auto import tqdm

                        bar = tqdm(total=prog.total, desc=f"Embedding {self.name}", unit="img")
                    if bar.total != prog.total:
                        bar.reset(total=prog.total)
                    done = min(prog.done, prog.total)
                    if done != bar.n:  # redraw on progress only (logs stay short)
                        bar.set_postfix(failed=prog.failed, refresh=False)
                        bar.update(done - bar.n)
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Project {self.name!r} is still indexing after {timeout} s "
                        f"({prog.done}/{prog.total})."
                    )
                time.sleep(0.1)
            if bar is not None:
                bar.n = bar.total
                bar.refresh()
        finally:
            if bar is not None:
                bar.close()
        err = self.runner.last_error
        if err is not None and not isinstance(err, SyncCancelled):
            raise AISearchError(f"The last sync of {self.name!r} failed: {err}") from err
        return self.status

    # -- searches ---------------------------------------------------------------------
    def _check_ready(self, allow_partial: bool) -> None:
        self._check_open()
        if allow_partial or self.catalog.get_meta("first_pass_done", False):
            return
        c = self.catalog.counts(self._identity)
        if self.runner.busy:
            msg = (
                f"Search is unavailable while the embeddings of {self.name!r} are being "
                f"prepared ({c['embedded']}/{c['total']} done). Wait with proj.wait(), or pass "
                "allow_partial=True to search what is embedded so far."
            )
        else:
            msg = (
                f"Project {self.name!r} has no embeddings yet: call proj.enable() (or "
                "proj.update()) first."
            )
        raise EmbeddingsNotReady(msg, c["embedded"], c["total"])

    def _filters(self, tags: Any, exclude: Any) -> tuple[set[str] | None, set[str]]:
        only = None
        if tags:
            tags = [tags] if isinstance(tags, str) else list(tags)
            only = self.catalog.ids_with_tags(tags)
        ex: set[str] = set()
        if exclude is not None:
            if isinstance(exclude, Collection):
                ex = set(exclude.ids)
            elif isinstance(exclude, pd.DataFrame):
                ex = set(exclude["id"])
            else:
                items = [exclude] if isinstance(exclude, (str, os.PathLike)) else list(exclude)
                strs = [os.fspath(i) for i in items]
                by_path = self.catalog.ids_by_path([os.path.abspath(p) for p in strs])
                ex = {by_path.get(os.path.abspath(p), p) for p in strs}
        return only, ex

    def _result(
        self, items: pd.DataFrame, query: dict[str, Any], info: dict | None = None
    ) -> Collection:
        query = {**query, "model": self._identity, "at": time.time()}
        col = Collection(self, items, query=query, info=info)
        self._last = col
        return col

    def search(
        self,
        prompt: str | list[str],
        limit: int = 100,
        *,
        negative: Any = None,
        negative_weight: float = 0.5,
        tags: str | list[str] | None = None,
        exclude: Any = None,
        allow_partial: bool = False,
    ) -> Collection:
        """Images that match a text prompt, best first.

        ``negative``: prompts and/or images to steer away from; ``tags``: only images
        with any of these tags; ``exclude``: ids, paths or a Collection to leave out.
        """
        from . import search as _s

        self._check_ready(allow_partial)
        only, ex = self._filters(tags, exclude)
        q = _s.apply_negative(
            _s.text_vector(self, prompt), _s.negative_vector(self, negative), negative_weight
        )
        items = _s.run(self, q, limit, only=only, exclude=ex)
        query = {"type": "prompt", "text": prompt, "negative": _describe(negative), "limit": limit}
        if tags:
            query["tags"] = tags
        return self._result(items, query)

    def similar(
        self,
        images: Any,
        limit: int = 100,
        *,
        fusion: str = "max",
        negative: Any = None,
        negative_weight: float = 0.5,
        tags: str | list[str] | None = None,
        exclude: Any = None,
        include_references: bool = False,
        allow_partial: bool = False,
    ) -> Collection:
        """Images similar to one or several reference images (paths, point ids, PIL
        images, arrays or a Collection). Several references are fused: ``"max"`` (the
        best score over references), ``"mean"`` (the mean direction) or ``"rrf"``
        (reciprocal-rank fusion). Indexed references are left out unless
        ``include_references``."""
        from . import search as _s

        self._check_ready(allow_partial)
        only, ex = self._filters(tags, exclude)
        vecs, ref_ids = _s.resolve_images(self, images)
        if not include_references:
            ex |= set(ref_ids)
        q = _s.apply_negative(vecs, _s.negative_vector(self, negative), negative_weight)
        items = _s.run(self, q, limit, fusion=fusion, only=only, exclude=ex)
        query = {
            "type": "similar",
            "references": _describe(images.ids if isinstance(images, Collection) else images),
            "fusion": fusion,
            "limit": limit,
        }
        return self._result(items, query)

    def diverse(
        self,
        n: int = 100,
        method: str = "centroids",
        clusters: int | None = None,
        exclude: Any = None,
        seed: int = 0,
        *,
        tags: str | list[str] | None = None,
        sample: int = 10_000,
        allow_partial: bool = False,
    ) -> Collection:
        """``n`` images spread over the dataset: k-means into ``clusters`` (default
        ``n``) groups, then round-robin across groups, either the members nearest each
        centre first (``"centroids"``) or random members (``"random"``). ``exclude``
        (e.g. already-labelled images) is never returned. The result has a ``cluster``
        column and ``cluster_sizes``."""
        from . import diverse as _d

        self._check_ready(allow_partial)
        only, ex = self._filters(tags, exclude)
        ids, vecs, population, sampled = _d.load_vectors(self.store, sample, only, ex)
        items, sizes = _d.sample_diverse(ids, vecs, n, method, clusters, seed)
        if sampled and ids:
            scale = population / len(ids)
            sizes = {c: round(s * scale) for c, s in sizes.items()}
        query = {"type": "diverse", "method": method, "n": n, "clusters": clusters, "seed": seed}
        info = {"cluster_sizes": sizes, "population": population, "sampled": sampled}
        return self._result(items, query, info)

    def tagged(self, *tags: str) -> Collection:
        """Every image carrying any of the tags, as a collection (no scores). Not a
        search: it does not replace ``proj.last``."""
        self._check_open()
        if not tags:
            raise AISearchError("Name at least one tag.")
        ids = sorted(self.catalog.ids_with_tags(list(tags)))
        items = pd.DataFrame({"id": ids, "score": np.nan})
        return Collection(self, items, query={"type": "tagged", "tags": list(tags)})

    @property
    def last(self) -> Collection | None:
        """The temporary collection: the result of the latest search."""
        return self._last

    @property
    def collections(self) -> SavedCollections:
        """Saved collections by name (dict-like; survive reopening)."""
        self._check_open()
        return SavedCollections(self)

    @property
    def tags(self) -> dict[str, int]:
        """Every tag with its number of images."""
        return self.catalog.all_tags()

    def thumbnail(self, pid: str) -> bytes | None:
        """JPEG thumbnail bytes of an image (made once, cached in the project home)."""
        from .images import DecodeFailure, load, thumbnail_jpeg

        tp = thumb_path(str(self.folder / "thumbs"), pid)
        try:
            with open(tp, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            pass
        rec = self.catalog.records([pid]).get(pid)
        if rec is None:
            return None
        try:
            data = thumbnail_jpeg(load(rec[1], 192)[0])
        except DecodeFailure:
            return None
        os.makedirs(os.path.dirname(tp), exist_ok=True)
        tmp = f"{tp}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, tp)
        return data

    # -- file actions (used by Collection) ------------------------------------------
    @contextlib.contextmanager
    def _file_action(self) -> Iterator[None]:
        self._check_open()
        with self.runner.paused():
            yield

    def _key_for(self, path: str) -> tuple[str, str]:
        """(key, source label) a file at ``path`` has in this project."""
        for src in self.sources:
            if src.kind == "folder" and src.root is not None:
                rel = os.path.relpath(path, src.root)
                if not rel.startswith(".." + os.sep) and rel != ".." and not os.path.isabs(rel):
                    return f"{src.label}/{Path(rel).as_posix()}", src.label
        return f"files/{path}", "files"

    def _set_loose_files(self, add: list[str], remove: list[str]) -> None:
        srcs = self._cfg["sources"]
        files = next((s for s in srcs if s["kind"] == "files"), None)
        if files is None:
            if not add:
                return
            files = {"kind": "files", "label": "files", "paths": []}
            srcs.append(files)
        paths = [p for p in files.get("paths", []) if p not in set(remove)]
        paths += [p for p in add if p not in paths]
        files["paths"] = paths
        if not paths:
            srcs.remove(files)
        self._write_config()

    def _file_moved(self, pid: str, old: str, new: str) -> None:
        new = os.path.abspath(new)
        key, label = self._key_for(new)
        st = os.stat(new)
        self._set_loose_files([new] if label == "files" else [], [old])
        got = self.store.retrieve([pid])
        if pid in got:
            self.store.upsert(
                [pid], got[pid][0][None, :], [{"path": new, "source": label, "key": key}]
            )
        self.catalog.move_file(pid, key, new, label, st.st_size, st.st_mtime_ns)

    def _file_deleted(self, pid: str, path: str) -> None:
        self.store.delete([pid])
        self.catalog.forget_ids([pid])
        self._set_loose_files([], [path])
        with contextlib.suppress(FileNotFoundError):
            os.remove(thumb_path(str(self.folder / "thumbs"), pid))

    def close(self) -> None:
        """Stop the background indexer, flush and release the project (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.runner.stop()
        with self._init_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
        self.catalog.close()
        if self._lock_obj is not None:
            self._lock_obj.release()
        _OPEN.discard(self)

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"<Project {self.name!r} (closed)>"
        return f"<Project {self.name!r} {self.status}>"


def _describe(x: Any) -> Any:
    """A JSON-friendly description of a query argument."""
    if x is None or isinstance(x, (str, int, float)):
        return x
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    if isinstance(x, (list, tuple)):
        return [_describe(i) for i in x]
    return type(x).__name__


@atexit.register
def _close_all() -> None:
    for p in list(_OPEN):
        with contextlib.suppress(Exception):
            p.close()
