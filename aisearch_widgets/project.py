"""``Project``: the object a user holds. It opens or creates the project home, wires
the catalog, the store, the embedder and the background indexer together, and
offers enable/disable/update/status/wait and the searches."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import shutil
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _fileops, _requests
from ._errors import (
    AISearchError,
    EmbeddingsNotReady,
    InvalidArgument,
    ModelMismatch,
    ProjectClosed,
    ProjectExists,
    ProjectNotFound,
    SourcesChanged,
    check_real,
    show_value,
)
from ._home import (
    CONFIG_NAME,
    CONFIG_VERSION,
    HomeLock,
    check_name,
    parse_interval,
    project_names,
    read_config,
    resolve_home,
    stored_interval,
    write_json_atomic,
)
from ._inventory import Inventory
from ._reembed import ReembedFuture, ReembedSummary, embed_into
from ._thumbs import THUMB_SIZE, ThumbnailCache
from ._upgrade import upgrade_config
from .catalog import open_catalog
from .collection import Collection, SavedCollections, trash_collection
from .embedder import DEFAULT_MODEL, Embedder
from .images import MAX_FILE_BYTES
from .indexer import Indexer, Runner, SyncCancelled, SyncSummary
from .search import TextVectors
from .sources import Source, normalize_sources, same_sources
from .status import Status, project_state
from .store import VectorStore, open_store, shard_folder, slug
from .video import DEFAULT_FPS

log = logging.getLogger(__name__)

# The projects open in this process, by the order they were opened in.
_OPEN: weakref.WeakValueDictionary[int, Project] = weakref.WeakValueDictionary()
_SERIAL = itertools.count()


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
        reopening one. Given for an existing project, it must name the same sources:
        other sources raise :class:`SourcesChanged` unless ``replace_sources=True``
        (or call :meth:`set_sources`), so a project is never re-targeted by accident.
    model:
        open_clip ``"ARCH:pretrained"``, ``"ARCH:/path/to/checkpoint"``, a model folder,
        or ``"demo"``. Fixed when the project is created.
    home:
        Folder holding all projects; default ``$AISEARCH_HOME`` or the user data dir.
    qdrant_url:
        ``None`` keeps vectors in an embedded Qdrant Edge shard in the project home;
        a URL (or a ``QdrantClient``) keeps them on a Qdrant server. Credentials in the
        URL and ``qdrant_api_key`` (default ``$QDRANT_API_KEY``) are never written to disk.
    server_options:
        With ``qdrant_url`` only: the layout of a new collection and how upserts are
        sent, as keyword options of :class:`~.store.server.ServerStore`
        (``shard_number``, ``replication_factor``, ``on_disk``, ``quantization``,
        ``oversampling``, ``hnsw_m``, ``hnsw_ef``, ``upsert_batch``, ``upsert_threads``;
        README "Scaling out"). An existing collection keeps the layout it was created
        with. Not saved in project.json.
    engine, ray_address:
        ``engine="local"`` (default) embeds in this process; ``engine="ray"`` runs the
        embedding on Ray Data (extra ``ray``): ``ray_address=None`` starts a local Ray,
        ``"auto"`` or ``"ray://host:port"`` joins a cluster whose workers all see the
        images at the same paths. This process still writes store and catalog. Neither
        is saved in project.json: like ``device``, they are a choice of this session.
    min_free_mb, max_file_bytes:
        Indexing stops cleanly (``status.error``) when the home's disk would have less
        than ``min_free_mb`` free (default 256); images larger than ``max_file_bytes``
        (default 512 MB) fail as ``too_large`` before they are read (videos are
        streamed, never read whole).
    video_fps:
        Frames sampled per second from each video file (``.mp4 .mov .mkv .webm .avi
        .m4v``, read with the optional PyAV: ``pip install 'aisearch-widgets[video]'``).
        Stored in ``project.json``; :meth:`set_video_fps` changes it. Default 1.0 for a
        new project, the stored rate when reopening.
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
        replace_sources: bool = False,
        min_free_mb: int | None = None,
        max_file_bytes: int | None = None,
        precision: str = "auto",
        video_fps: float | None = None,
        engine: str = "local",
        ray_address: str | None = None,
        server_options: dict[str, Any] | None = None,
    ) -> None:
        self.name = check_name(name)
        if engine not in ("local", "ray"):
            raise InvalidArgument(f"engine={engine!r}: use 'local' (default) or 'ray'.")
        self._server_options = _check_server_options(server_options)
        if video_fps is not None:
            video_fps = _check_fps(video_fps)
        self.home = resolve_home(home)
        self.folder = self.home / self.name
        cfg_path = self.folder / CONFIG_NAME
        self._closed = True
        self._lock_obj: HomeLock | None = None
        self._store: VectorStore | None = None
        self._embedder: Embedder | None = None
        self._init_lock = threading.RLock()
        self._reembed_job: tuple[ReembedFuture, threading.Thread] | None = None
        self._last: Any = None
        self._text = TextVectors(self._get_embedder)
        self.device = device

        write = False
        if cfg_path.exists():
            cfg = read_config(cfg_path, name)
            if model is not None and not _same_model(model, cfg["model"]):
                stored = cfg["model"]
                raise ModelMismatch(
                    f"Project {name!r} was created with model {stored!r}; its vectors cannot "
                    f"be mixed with {model!r}. Open it without model=, or create a new project "
                    "for the other model."
                )
            stored_prec = cfg.get("precision", "fp32")
            if precision not in ("auto", stored_prec):
                raise ModelMismatch(
                    f"Project {name!r} holds {stored_prec} vectors; they cannot be mixed with "
                    f"{precision} ones. Open it without precision=, or convert it in the "
                    f"background with proj.reembed(precision={precision!r})."
                )
            if sources is not None:
                given = [s.to_json() for s in normalize_sources(sources, path_column=path_column)]
                if not same_sources(cfg["sources"], given):
                    if not replace_sources:
                        raise SourcesChanged(
                            f"Project {name!r} in {self.home} indexes "
                            f"{_describe_sources(cfg['sources'])}, not "
                            f"{_describe_sources(given)}. Changing its sources drops the "
                            "embeddings, tags and collection members of the files left out: "
                            "to do it, call proj.set_sources(...) or pass replace_sources=True; "
                            "to keep both, give the other folder a project of its own name."
                        )
                    cfg["sources"] = given
                    write = True
            if video_fps is not None and video_fps != cfg.get("video_fps", DEFAULT_FPS):
                cfg["video_fps"] = video_fps  # the next sync samples its videos again
                write = True
            if isinstance(qdrant_url, str) and qdrant_url != cfg.get("qdrant_url"):
                cfg["qdrant_url"] = _strip_credentials(qdrant_url)
                write = True
            if cfg.get("qdrant_url") and cfg["qdrant_url"] != _strip_credentials(cfg["qdrant_url"]):
                # Written by an older version: keep the credentials for this session only.
                qdrant_url = qdrant_url if qdrant_url is not None else cfg["qdrant_url"]
                cfg["qdrant_url"] = _strip_credentials(cfg["qdrant_url"])
                write = True
        else:
            if sources is None:
                raise ProjectNotFound(
                    f"No project {name!r} in {self.home}. Pass sources= to create it"
                    + (
                        f"; existing projects: {', '.join(project_names(self.home))}"
                        if project_names(self.home)
                        else ""
                    )
                    + "."
                )
            from .embedder import (
                model_dim,
                model_identity,
                parse_model_spec,
                pick_device,
                resolve_precision,
                with_precision,
            )

            spec = model or DEFAULT_MODEL
            parsed = parse_model_spec(spec)  # fail early on a typo, before anything is written
            prec = resolve_precision(parsed, pick_device(device), precision)
            cfg = {
                "version": CONFIG_VERSION,
                "identity": with_precision(model_identity(parsed), prec),
                "precision": prec,
                # "auto" may still fall back to fp32 if the int8 check fails on first use.
                "precision_auto": precision == "auto",
                "dim": model_dim(parsed),
                "name": name,
                "sources": [
                    s.to_json() for s in normalize_sources(sources, path_column=path_column)
                ],
                "model": spec,
                "enabled": False,
                "schedule": None,
                "qdrant_url": (
                    _strip_credentials(qdrant_url) if isinstance(qdrant_url, str) else None
                ),
                "created_at": time.time(),
                "video_fps": video_fps or DEFAULT_FPS,
            }
            write = True
        self._cfg = cfg
        # The URL as given (credentials included) lives in memory only, like the key.
        self._qdrant = qdrant_url if qdrant_url is not None else cfg.get("qdrant_url")
        self._qdrant_api_key = qdrant_api_key or os.environ.get("QDRANT_API_KEY") or None
        if self._server_options and self._qdrant is None:
            raise InvalidArgument(
                f"server_options={self._server_options!r} apply to a Qdrant server "
                f"collection, and project {name!r} keeps its vectors in an embedded shard: "
                "pass qdrant_url= (a URL or a QdrantClient) too, or drop server_options."
            )

        self.folder.mkdir(parents=True, exist_ok=True)
        if self._qdrant is None:
            self._lock_obj = HomeLock(self.folder, name)
            self._lock_obj.acquire()
        try:
            self.catalog = open_catalog(self.folder / "catalog.sqlite", name)
            # An older project.json is brought up to date in place (under the lock).
            write = upgrade_config(cfg, self.folder) or write
            if write:
                self._write_config()
            self._identity: str = cfg["identity"]
            self.thumbs = ThumbnailCache(self.folder / "thumbs", max_file_bytes or MAX_FILE_BYTES)
            self.inventory = Inventory(
                name,
                self.catalog,
                self._get_store,
                self.thumbs,
                cfg,
                save_config=self._write_config,
                pause=self._file_action_guard,
                trash_dir=self.folder / "trash",
                identity=lambda: self._identity,
            )
            self.indexer = Indexer(
                name,
                self.catalog,
                sources=lambda: self.sources,
                model_identity=self._settled_identity,
                embedder=self._get_embedder,
                store=self._get_store,
                skip=self._project_folders,
                thumbs=self.thumbs if thumbnails else None,
                batch_size=batch_size,
                workers=workers,
                video_fps=lambda: float(self._cfg.get("video_fps", DEFAULT_FPS)),
                engine=self._ray_engine(ray_address, batch_size) if engine == "ray" else None,
                **{
                    k: v
                    for k, v in (("min_free_mb", min_free_mb), ("max_file_bytes", max_file_bytes))
                    if v is not None
                },
            )
            self.runner = Runner(self.indexer, name=f"aisearch-{name}")
            if self._qdrant is None:
                self._check_edge_store()
        except BaseException:
            with contextlib.suppress(Exception):
                if self._store is not None:
                    self._store.close()
                    self._store = None
                if getattr(self, "catalog", None) is not None:
                    self.catalog.close()
            if self._lock_obj is not None:
                self._lock_obj.release()
            raise
        self._closed = False
        self._serial = next(_SERIAL)
        _OPEN[self._serial] = self
        _requests.watch()  # applies enable/disable/update requests of the JupyterLab plugin
        if self.catalog.journal_pending():
            # Finish or undo file actions a crash interrupted, before any sync runs (a
            # sync would take a half-moved file for a deleted one).
            try:
                with self.runner.paused():
                    _fileops.recover(self.inventory)
            except BaseException:
                self.close()
                raise
        if cfg.get("enabled"):
            # An enabled project keeps itself current: resume the schedule, and catch
            # up at once if the last sync is older than one interval or unfinished.
            # A schedule an older version saved out of range is clamped, with a warning.
            interval = stored_interval(cfg.get("schedule"), f"Project {name!r}")
            self.runner.set_schedule(interval)
            last = self.catalog.get_meta("last_sync")
            dirty = self.catalog.get_meta("dirty", False)
            if dirty or last is None or (interval and time.time() - last > interval):
                self.runner.request()

    def _ray_engine(self, address: str | None, batch_size: int) -> Any:
        from ._ray import RayEngine  # Ray itself is imported when a sync first runs

        return RayEngine(
            self._cfg["model"],
            self._identity,
            address,
            precision=self.precision,
            batch_size=batch_size,
        )

    # -- store vs catalog -------------------------------------------------------------
    def _shard_path(self) -> Path:
        return shard_folder(self.folder, self._identity)

    def _check_edge_store(self) -> None:
        """On open, without loading the model: if the catalog says vectors exist, the
        shard must hold them. A deleted or emptied vectors folder (or one that lost
        points) turns the rows concerned back to pending, so the next sync re-embeds
        them and status does not claim N/N embedded while searches find nothing."""
        if not self.catalog.counts(self._identity)["embedded"]:
            return
        path = self._shard_path()
        if path.is_dir() and any(path.iterdir()):
            self._store = open_store(self.name, self.folder, self._identity, None)
        self._reconcile_store(self._store)

    def _reconcile_store(self, store: VectorStore | None) -> None:
        embedded = self.catalog.embedded_ids(self._identity)
        if not embedded:
            return
        if store is None:
            missing = embedded
        elif store.count() >= len(embedded):
            return
        else:
            missing = embedded - store.ids()
        if not missing:
            return
        where = self._shard_path() if self._qdrant is None else "the Qdrant collection"
        log.warning(
            "Project %r: %d of %d embedded images have no vector in %s (deleted or damaged); "
            "they are marked pending and re-embedded by the next update().",
            self.name,
            len(missing),
            len(embedded),
            where,
        )
        self.catalog.reset_to_pending(sorted(missing))
        meta: dict[str, Any] = {"dirty": True}
        if len(missing) == len(embedded):
            meta["first_pass_done"] = False  # searches say "update first", not "0 results"
        self.catalog.set_meta(**meta)

    # -- construction helpers ---------------------------------------------------------
    @classmethod
    def open(cls, name: str, home: str | os.PathLike[str] | None = None, **kwargs: Any) -> Project:
        """Reopen an existing project from its home."""
        h = resolve_home(home)
        if not (h / check_name(name) / CONFIG_NAME).exists():
            names = project_names(h)
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
        h = resolve_home(kwargs.get("home"))
        if (h / check_name(name) / CONFIG_NAME).exists():
            raise ProjectExists(f"Project {name!r} already exists in {h}; use Project.open().")
        return cls(name, sources=sources, **kwargs)

    @classmethod
    def repair(
        cls,
        name: str,
        home: str | os.PathLike[str] | None = None,
        *,
        model: str | None = None,
        sync: bool = True,
    ) -> list[str]:
        """Repair a project whose files are damaged, keeping whatever survives; returns
        what was done, one line each (also ``aisearch repair NAME``). Damaged files are
        moved aside (``*.corrupt-<time>``), never deleted.

        - ``project.json``: rebuilt from the copy kept in the catalog, or from the
          sources the catalog lists and ``model=``;
        - the catalog: rebuilt by rescanning the sources, with the tags and saved
          collections SQLite can still read from the damaged file;
        - the vector shard: rebuilt by re-embedding every image.

        ``sync=False`` skips the final update (which re-embeds what is pending).
        """
        from . import _repair

        h = resolve_home(home)
        folder = h / check_name(name)
        if not folder.is_dir():
            raise ProjectNotFound(f"No project {name!r} in {h}.")
        lock = HomeLock(folder, name)
        lock.acquire()
        try:
            report = _repair.repair_files(folder, name, model)
        finally:
            lock.release()
        if sync:
            with cls(name, home=h) as proj:
                summary = proj.update()
                st = proj.status
                report.append(
                    f"synced: {st.done}/{st.total} embedded, {st.failed} failed "
                    f"({summary.embedded} embedded now)"
                )
        return report

    @staticmethod
    def names(home: str | os.PathLike[str] | None = None) -> list[str]:
        """Names of the projects in a home folder (default: ``$AISEARCH_HOME`` or the
        user data dir)."""
        return project_names(home)

    @classmethod
    def opened(cls) -> list[Project]:
        """The projects open in this process (not closed yet), oldest first."""
        return [p for _, p in sorted(_OPEN.items()) if not p.closed]

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def embedded(self) -> bool:
        """True when the vectors live in the project home (Qdrant Edge): this process
        then holds the project's lock and is the one that may write it."""
        return self._lock_obj is not None

    @property
    def schedule(self) -> str | None:
        """The update schedule (``"10m"``…) or None for manual updates only. Setting it
        (``proj.schedule = "1h"``) checks it (1 s … 365 d), saves it, and applies it at
        once when the project is enabled; :meth:`enable` sets it too."""
        return self._cfg.get("schedule")

    @schedule.setter
    def schedule(self, schedule: str | float | None) -> None:
        self._check_open()
        interval = parse_interval(schedule)  # refused before anything is saved
        self._cfg["schedule"] = schedule if interval else None
        self._write_config()
        if self._cfg.get("enabled"):
            self.runner.set_schedule(interval)

    def _project_folders(self) -> list[str]:
        """Folders never scanned for images: every project's own folder in the home
        (thumbnails live there), but not other data kept beside them."""
        return [str(self.home / n) for n in project_names(self.home)] + [str(self.folder)]

    def _write_config(self) -> None:
        write_json_atomic(self.folder / CONFIG_NAME, self._cfg)
        # A copy in the catalog lets `aisearch repair` rebuild a damaged project.json.
        self.catalog.set_meta(config=self._cfg)

    def _check_open(self) -> None:
        if self._closed:
            raise _closed_error(self.name)

    def _get_embedder(self) -> Embedder:
        """The model, loaded on first use: only prompts, new reference images and
        indexing need it."""
        with self._init_lock:
            if self._embedder is None:
                emb = self._load_embedder()
                if emb.identity != self._identity:
                    raise ModelMismatch(
                        f"The weights of {self._cfg['model']!r} changed on disk "
                        f"({self._identity} → {emb.identity}). Restore them, or create a "
                        "new project for the new weights."
                    )
                if self._cfg.get("dim") != emb.dim:
                    # Not known from the model's config when the project was created.
                    self._cfg["dim"] = emb.dim
                    self._write_config()
                self._embedder = emb
            return self._embedder

    def _load_embedder(self, precision: str | None = None) -> Embedder:
        """The model at the project's precision (int8 runs on the CPU whatever the
        device). An int8 tower that fails its quality check falls back to fp32 when the
        precision was chosen by ``"auto"`` and no vector was written yet."""
        from ._errors import ModelLoadError

        prec = precision or self.precision
        device = "cpu" if prec == "int8" else self.device
        try:
            emb = Embedder(self._cfg["model"], device=device, precision=prec)
        except ModelLoadError as exc:
            auto = precision is None and self._cfg.get("precision_auto")
            if not (
                auto and prec == "int8" and not self.catalog.counts(self._identity)["embedded"]
            ):
                raise
            log.warning("Project %r: %s; embedding in fp32 instead.", self.name, exc)
            emb = Embedder(self._cfg["model"], device=self.device, precision="fp32")
            self._cfg.update(precision="fp32", identity=emb.identity)
            self._identity = self._cfg["identity"]
        else:
            if precision is not None or not self._cfg.get("precision_auto"):
                return emb
        self._cfg["precision_auto"] = False  # settled: the int8 check ran once
        self._write_config()
        return emb

    def _settled_identity(self) -> str:
        """The identity a sync writes under: an ``"auto"`` int8 choice is settled first
        (its check may fall back to fp32, which is another identity)."""
        if self._cfg.get("precision_auto") and self.precision == "int8":
            self._get_embedder()
        return self._identity

    @property
    def precision(self) -> str:
        """The precision of the project's image vectors: ``"fp32"``, ``"int8"`` (CPU),
        ``"fp16"`` or ``"bf16"`` (CUDA). Fixed unless :meth:`reembed` converts them."""
        return str(self._cfg.get("precision", "fp32"))

    def _get_store(self) -> VectorStore:
        """The vector store, opened on first use. Its size comes from project.json
        (or the shard itself), so opening it never loads the model."""
        with self._init_lock:
            if self._store is None:
                self._settled_identity()  # before the shard (named by identity) is made
                dim = self._cfg.get("dim")
                if dim is None and not (self._qdrant is None and self._shard_path().is_dir()):
                    dim = self._get_embedder().dim
                store = open_store(
                    self.name,
                    self.folder,
                    self._identity,
                    dim,
                    qdrant=self._qdrant,
                    api_key=self._qdrant_api_key,
                    server_options=self._server_options,
                )
                if self._qdrant is not None:
                    self._reconcile_store(store)
                self._store = store
            return self._store

    def set_sources(self, sources: Any, *, path_column: str | None = None) -> Project:
        """Point the project at other images. The next sync embeds the new files and
        drops the rows of files no longer in the sources (their embeddings, tags and
        collection memberships). Reopening with other ``sources=`` refuses to do this
        silently; this call (or ``replace_sources=True``) is how to mean it.

        >>> proj.set_sources(["~/data/line3", "~/data/line4"])    # doctest: +SKIP
        """
        self._check_open()
        given = [s.to_json() for s in normalize_sources(sources, path_column=path_column)]
        with self.runner.paused():
            self._cfg["sources"] = given
            self._write_config()
        if self.enabled:
            self.runner.request()
        return self

    @property
    def video_fps(self) -> float:
        """Frames sampled per second of video (see :meth:`set_video_fps`)."""
        return float(self._cfg.get("video_fps", DEFAULT_FPS))

    def set_video_fps(self, fps: float) -> Project:
        """Sample videos at ``fps`` frames per second from now on. The next sync
        (at once if the project is enabled) samples every video again: frames at new
        times are embedded, frames at times no longer sampled are dropped (with their
        tags), frames at times both rates share keep their vectors.

        >>> proj.set_video_fps(0.5)       # one frame every 2 s     # doctest: +SKIP
        """
        self._check_open()
        fps = _check_fps(fps)
        with self.runner.paused():
            self._cfg["video_fps"] = fps
            self._write_config()
        if self.enabled:
            self.runner.request()
        return self

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
    def store(self) -> VectorStore:
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
        state = project_state(self.enabled, running)
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
        re-sync on ``schedule`` (e.g. ``"10m"``, ``"1h"``, between 1 s and 365 d; ``None``
        for manual only). An invalid schedule is refused before anything is saved."""
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

    def update(self, retry_failed: bool = False, prune_missing: bool = False) -> SyncSummary:
        """Sync now and wait for it: embed new and changed files, drop deleted ones.
        Returns what the sync did (:class:`SyncSummary`); :meth:`update_async` returns
        at once with a future of it.

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
        return self.update_async(retry_failed, prune_missing).result()

    def update_async(
        self, retry_failed: bool = False, prune_missing: bool = False
    ) -> Future[SyncSummary]:
        """:meth:`update` in the background: returns a ``concurrent.futures.Future``
        of its :class:`SyncSummary` at once (``proj.wait()`` shows the progress)."""
        self._check_open()
        return self.runner.request(retry_failed=retry_failed, prune_missing=prune_missing)

    def reembed(self, precision: str = "auto") -> ReembedFuture:
        """Embed every image and video frame again at another ``precision``
        (``"fp32"``, ``"int8"``…) in the background and switch the project to it when
        done. Searches keep using the current vectors meanwhile; vectors of two
        precisions are never mixed. Frames are decoded again from their videos.

        Returns a ``Future`` of a :class:`ReembedSummary` whose ``progress`` is (items
        done, items in all); ``cancel()`` on it stops the run and keeps the current
        vectors. A file or video that changed or failed meanwhile is left to the next
        sync.

        >>> fut = proj.reembed("int8")   # doctest: +SKIP
        >>> fut.progress                 # doctest: +SKIP
        (320, 1250)
        >>> fut.result().embedded        # doctest: +SKIP
        1250
        """
        from .embedder import (
            model_identity,
            parse_model_spec,
            pick_device,
            resolve_precision,
            with_precision,
        )

        self._check_open()
        spec = parse_model_spec(self.model)
        device = pick_device("cpu" if precision == "int8" else self.device)
        prec = resolve_precision(spec, device, precision)
        running = self._reembed_job
        if running is not None and running[1].is_alive() and not running[0].stop.is_set():
            if running[0].precision == prec:
                return running[0]
            raise InvalidArgument(
                f"Project {self.name!r} is already re-embedding to "
                f"precision={running[0].precision!r}. Wait for it (.result()) or cancel "
                "it (.cancel()) before asking for another precision."
            )
        fut = ReembedFuture(prec)
        if prec == self.precision:
            fut.set_result(ReembedSummary(prec))
            return fut
        new_id = with_precision(model_identity(spec), prec)
        before = running[1] if running is not None else None

        def progress(done: int, total: int) -> None:
            fut.progress = (done, total)

        def run() -> None:
            if before is not None:
                before.join()  # a cancelled run still cleaning up its store
            store = None
            try:
                emb = self._load_embedder(prec)
                store = open_store(
                    self.name,
                    self.folder,
                    new_id,
                    emb.dim,
                    qdrant=self._qdrant,
                    api_key=self._qdrant_api_key,
                    server_options=self._server_options,
                )
                summary = embed_into(
                    self.catalog,
                    self._identity,
                    emb,
                    store,
                    max_file_bytes=self.indexer.max_file_bytes,
                    batch_size=self.indexer.batch_size,
                    cancel=fut.stop,
                    progress=progress,
                )
                # Vectors an earlier, interrupted run left in that store for items
                # gone since would be orphans after the swap.
                if extra := store.ids() - set(summary.made_from):
                    store.delete(sorted(extra))
                if not fut.set_running_or_notify_cancel():
                    raise InterruptedError("re-embedding cancelled")
                self._swap_vectors(new_id, prec, emb, store, summary.made_from)
            except BaseException as exc:
                if store is not None and store is not self._store:
                    store.close()
                    if self._qdrant is None:
                        shutil.rmtree(shard_folder(self.folder, new_id), ignore_errors=True)
                if not fut.cancelled():
                    fut.set_exception(exc)
            else:
                fut.set_result(summary)

        thread = threading.Thread(target=run, name=f"aisearch-reembed-{self.name}", daemon=True)
        self._reembed_job = (fut, thread)
        thread.start()
        return fut

    def _swap_vectors(
        self,
        new_id: str,
        prec: str,
        emb: Embedder,
        store: VectorStore,
        made_from: dict[str, str],
    ) -> None:
        """Switch to the re-embedded vectors in one step, syncs held off: rows whose
        content is what was re-embedded move to the new identity; the others (changed
        or failed meanwhile) become pending for the next sync, and so does the video
        of any such frame (its other frames keep their new vectors)."""
        with self.runner.paused(), self._init_lock:
            old_id, old_store = self._identity, self._store
            rows = self.catalog.query(
                "SELECT id, content, video_key FROM files WHERE status = 'embedded' AND model = ?",
                (old_id,),
            )
            keep = [pid for pid, content, _ in rows if made_from.get(pid) == content]
            stale = [pid for pid, content, _ in rows if made_from.get(pid) != content]
            stale_videos = {vk for pid, c, vk in rows if vk is not None and made_from.get(pid) != c}
            with self.catalog.transaction() as db:
                db.executemany(
                    "UPDATE files SET model = ? WHERE id = ?", [(new_id, pid) for pid in keep]
                )
                db.execute(
                    "UPDATE videos SET model = ? WHERE model = ? AND status = 'embedded'",
                    (new_id, old_id),
                )
                db.executemany(
                    "UPDATE videos SET status = 'pending' WHERE key = ? AND status = 'embedded'",
                    [(vk,) for vk in sorted(stale_videos)],
                )
            if stale:
                store.delete(stale)
                self.catalog.reset_to_pending(stale)
                self.catalog.set_meta(dirty=True)
            self._cfg.update(precision=prec, identity=new_id, precision_auto=False, dim=emb.dim)
            self._write_config()
            self._identity, self._store, self._embedder = new_id, store, emb
            self._text = TextVectors(self._get_embedder)
        if old_store is not None:
            old_store.close()
        if self._qdrant is None:
            shutil.rmtree(shard_folder(self.folder, old_id), ignore_errors=True)
        if stale and self.enabled:
            self.runner.request()

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
        if tags is not None and not (isinstance(tags, (list, tuple, set)) and not tags):
            only = self.catalog.ids_with_tags(_check_tags(tags, "tags"))
        ex: set[str] = set()
        if exclude is not None:
            if isinstance(exclude, Collection):
                ex = set(exclude.ids)
            elif isinstance(exclude, pd.DataFrame):
                if "id" not in exclude:
                    raise InvalidArgument("exclude: the DataFrame has no 'id' column.")
                ex = set(exclude["id"])
            else:
                single = isinstance(exclude, (str, os.PathLike))
                items = [exclude] if single else exclude
                if not isinstance(items, (list, tuple, set, frozenset)) or not all(
                    isinstance(i, (str, os.PathLike)) for i in items
                ):
                    raise InvalidArgument(
                        "exclude must be ids, paths, a Collection or a DataFrame with an "
                        f"'id' column (got {show_value(exclude)})."
                    )
                strs = [os.fspath(i) for i in items]
                by_path = self.catalog.ids_by_path([os.path.abspath(p) for p in strs])
                ex = {by_path.get(os.path.abspath(p), p) for p in strs}
        return only, ex

    def _negative(self, negative: Any) -> np.ndarray | None:
        from .search import negative_vector

        return negative_vector(negative, self._text, self.catalog, self.store)

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

        _s.check_prompt(prompt)
        limit = _s.check_limit(limit)
        if negative is not None:
            negative_weight = check_real("negative_weight", negative_weight)
        self._check_ready(allow_partial)
        only, ex = self._filters(tags, exclude)
        q = _s.apply_negative(self._text.vector(prompt), self._negative(negative), negative_weight)
        items = _s.nearest(self.store, q, limit, only=only, exclude=ex)
        query = {"type": "prompt", "text": prompt, "negative": _describe(negative), "limit": limit}
        if tags:
            query["tags"] = tags
        return self._result(items, query)

    def similar(
        self,
        images: Any = None,
        limit: int = 100,
        *,
        ids: Sequence[str] | None = None,
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
        ``include_references``.

        ``ids=[...]`` names references by point id only: nothing given that way is
        ever read as a path (what the search panel uses for ids from the browser).
        """
        from . import search as _s

        limit = _s.check_limit(limit)
        _s.check_fusion(fusion)
        if negative is not None:
            negative_weight = check_real("negative_weight", negative_weight)
        if ids is not None and images is not None:
            raise InvalidArgument("Give reference images or ids=, not both.")
        if ids is None and images is None:
            raise InvalidArgument(
                f"No reference images: give images ({_s.IMAGES_ACCEPTED}) or ids=[...]."
            )
        self._check_ready(allow_partial)
        only, ex = self._filters(tags, exclude)
        if ids is not None:
            ref_ids = _s.check_ids(self.catalog, ids, self.name)
            vecs = _s.vectors_of_ids(self.store, ref_ids)
            images = ref_ids
        else:
            vecs, ref_ids = _s.resolve_images(images, self.catalog, self.store, self._get_embedder)
        if not include_references:
            ex |= set(ref_ids)
        q = _s.apply_negative(vecs, self._negative(negative), negative_weight)
        items = _s.nearest(self.store, q, limit, fusion=fusion, only=only, exclude=ex)
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

        n, method, clusters, sample, seed = _d.check_args(n, method, clusters, sample, seed)
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

    # -- explore and curate (one kNN graph, cached per state of the vectors) --------
    def _explore_inputs(self, allow_partial: bool) -> tuple[list[str], np.ndarray]:
        from .diverse import load_vectors

        self._check_ready(allow_partial)
        store = self.store
        ids, vecs, _, _ = load_vectors(store, max(1, store.count()))
        return ids, vecs

    @property
    def _explore_dir(self) -> Path:  # per model: other vectors, other caches
        return self.folder / "explore" / slug(self._identity)

    def _paths_of(self, ids: Sequence[str]) -> list[str | None]:
        recs = self.catalog.records(list(ids))
        return [recs[i].path if i in recs else None for i in ids]

    @contextlib.contextmanager
    def _explore_progress(self, desc: str, show: bool) -> Iterator[Any]:
        from tqdm.auto import tqdm

        bar = tqdm(total=100, desc=f"{desc} of {self.name}", disable=not show, leave=False)

        def step(stage: str, fraction: float) -> None:
            bar.set_postfix_str(stage, refresh=False)
            bar.update(max(0, int(fraction * 100) - bar.n))

        try:
            yield step
        finally:
            bar.close()

    def map(
        self,
        method: str = "umap",
        sample: int | None = None,
        *,
        clusters: int | None = 20,
        seed: int = 0,
        refit: bool = False,
        progress: bool = True,
        allow_partial: bool = False,
    ) -> pd.DataFrame:
        """A 2-D map of every embedded image: DataFrame ``id, path, x, y, cluster``.

        ``method="umap"`` (the ``explore`` extra; fitted on up to ``sample`` images,
        the others placed through the kNN graph) or ``"pca"`` (fast, approximate).
        Cached in the project home per state of the vectors; after an update the new
        images are placed with the fitted map, and a full refit happens when more than
        a fifth of the images changed (or with ``refit=True``)."""
        from .explore import compute_map

        ids, vecs = self._explore_inputs(allow_partial)
        with self._explore_progress("map", progress) as step:
            df = compute_map(
                ids,
                vecs,
                method,
                sample,
                clusters=clusters,
                seed=seed,
                cache_dir=self._explore_dir,
                refit=refit,
                progress=step,
            )
        df.insert(1, "path", self._paths_of(df["id"].tolist()))
        return df

    def duplicates(
        self,
        threshold: float | None = None,
        *,
        kind: str = "near",
        confirm: bool | None = None,
        progress: bool = True,
        allow_partial: bool = False,
    ) -> Collection:
        """Groups of copies of one picture. ``kind="near"`` (default): byte copies and
        the same picture re-encoded, resized, lightly cropped or recompressed
        (candidates above the embedding ``threshold``, default 0.9, confirmed by
        aligned pixels: another tint, position, size or blur is a look-alike, not a
        copy); ``"exact"``: byte copies only; ``"similar"``: every candidate pair,
        look-alikes too (a wider search, on purpose). Columns: ``group`` (biggest
        first), ``best`` (never a symlink, then the largest, then oldest copy, first),
        ``score`` (similarity to the best), ``match`` (how the row matches the best:
        exact, near or similar) and ``pixel_similarity`` (the pixel evidence: 1.0 the
        same pixels, >= 0.9 the same picture). ``.keep_best()`` gives the others.
        ``confirm=False`` is the old spelling of ``kind="similar"`` (deprecated)."""
        from .explore import find_duplicates

        if confirm is not None:
            warnings.warn(
                "duplicates(confirm=...) is deprecated: use kind='near' or kind='similar'.",
                DeprecationWarning,
                stacklevel=2,
            )
            kind = "near" if confirm else "similar"
        ids, vecs = self._explore_inputs(allow_partial)
        meta = self.catalog.content_and_mtime(self._identity)
        with self._explore_progress("duplicates", progress) as step:
            df = find_duplicates(
                ids,
                vecs,
                self._paths_of,
                content=[meta.get(i, (None, 0))[0] for i in ids],
                mtimes=[meta.get(i, (None, 0))[1] / 1e9 for i in ids],
                threshold=threshold,
                kind=kind,
                stat_files=True,  # a link and its target are one file, never copies
                cache_dir=self._explore_dir,
                max_bytes=self.indexer.max_file_bytes,
                progress=step,
            )
        groups = int(df["group"].nunique()) if len(df) else 0
        query = {"type": "duplicates", "threshold": threshold, "kind": kind}
        return self._result(df, query, {"groups": groups})

    def outliers(
        self, n: int = 100, *, k: int = 10, progress: bool = True, allow_partial: bool = False
    ) -> Collection:
        """The ``n`` most unusual images (broken, off-domain, rare), most unusual first:
        ``score`` is the cosine distance to the ``k``-th nearest neighbour."""
        from .explore import find_outliers

        ids, vecs = self._explore_inputs(allow_partial)
        with self._explore_progress("outliers", progress) as step:
            df = find_outliers(ids, vecs, n=n, k=k, cache_dir=self._explore_dir, progress=step)
        return self._result(df[["id", "score"]], {"type": "outliers", "n": n, "k": k})

    def tagged(self, *tags: str) -> Collection:
        """Every image carrying any of the tags, as a collection (no scores). Not a
        search: it does not replace ``proj.last``."""
        self._check_open()
        if not tags:
            raise InvalidArgument("tagged(): name at least one tag.")
        ids = sorted(self.catalog.ids_with_tags(_check_tags(list(tags), "tag")))
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
    def trash(self) -> Collection:
        """Files that ``delete()`` moved to the project's trash, newest first: ``path``
        (where each was), ``deleted_at``, ``trash_path``, ``tags``. ``.restore()`` puts
        them back (``proj.trash.select(ids).restore()`` for some)."""
        self._check_open()
        return trash_collection(self)

    def restore(self, ids: Sequence[str]) -> pd.DataFrame:
        """Restore these trashed files (see :meth:`Collection.restore`)."""
        return self.trash.select(list(ids)).restore()

    def empty_trash(self, older_than: str | float | None = "30d") -> int:
        """Delete for good the trashed files older than ``older_than`` (``"30d"``,
        ``"12h"``, seconds; None: all of them). Returns how many were removed."""
        self._check_open()
        with self.inventory.action():
            done = _fileops.purge(self.inventory, older_than)
        return sum(o.status == "deleted" for o in done)

    @property
    def tags(self) -> dict[str, int]:
        """Every tag with its number of images."""
        return self.catalog.all_tags()

    def thumbnail(self, pid: str) -> bytes | None:
        """JPEG thumbnail bytes of an image (made once, cached in the project home);
        None for an id that is not an image of the project, or one that cannot be
        decoded."""
        self._check_open()
        data = self.thumbs.get(pid)
        if data is not None:
            return data
        rec = self.catalog.records([pid]).get(pid)
        if rec is None or rec.kind == "video":
            return None
        if rec.kind == "frame":
            from .images import thumbnail_jpeg
            from .video import frame_at

            img = frame_at(rec.path, round((rec.t or 0.0) * 1000), THUMB_SIZE)
            if img is None:
                return None
            data = thumbnail_jpeg(img, THUMB_SIZE)
            self.thumbs.put(pid, data)
            return data
        return self.thumbs.make(pid, rec.path)

    def _file_action_guard(self) -> contextlib.AbstractContextManager[None]:
        self._check_open()
        return self.runner.paused()

    def close(self) -> None:
        """Stop the background indexer, flush and release the project (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._reembed_job is not None:  # it reads the catalog: let it stop first
            self._reembed_job[0].cancel()
            self._reembed_job[1].join()
        self.runner.stop()
        if self.indexer.engine is not None:
            self.indexer.engine.close()  # the model actors it keeps between syncs
        with self._init_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
        self.catalog.close()
        # Whatever still reaches for the catalog (status, tags, failures, a widget's
        # poller) gets a clear "closed" error, not sqlite's "closed database".
        self.catalog = _ClosedCatalog(self.name)  # type: ignore[assignment]
        self.inventory.catalog = self.catalog
        if self._lock_obj is not None:
            self._lock_obj.release()
        _OPEN.pop(self._serial, None)

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"<Project {self.name!r} (closed)>"
        return f"<Project {self.name!r} {self.status}>"


def _same_model(given: str, stored: str) -> bool:
    """Whether ``given`` names the model ``stored`` names (parsed only when the two
    texts differ: parsing imports open_clip)."""
    if given == stored:
        return True
    from .embedder import parse_model_spec

    return parse_model_spec(given) == parse_model_spec(stored)


def _check_server_options(options: Any) -> dict[str, Any] | None:
    """``server_options`` as a dict of :class:`~.store.server.ServerStore` keyword
    options, or :class:`InvalidArgument` naming what is wrong."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise InvalidArgument(
            f"server_options must be a dict of Qdrant collection options, not {show_value(options)}."
        )
    import inspect

    from .store.server import ServerStore

    known = [
        p.name
        for p in inspect.signature(ServerStore.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        raise InvalidArgument(
            f"server_options: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(known)}."
        )
    return dict(options)


def _describe_sources(srcs: list[dict]) -> str:
    parts = [
        s["root"] if s["kind"] == "folder" else f"{len(s.get('paths', []))} listed files"
        for s in srcs
    ]
    return ", ".join(parts) if parts else "no sources"


def _strip_credentials(url: str) -> str:
    """``url`` without ``user:password@``: credentials are never written to disk."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _closed_error(name: str) -> ProjectClosed:
    return ProjectClosed(f"Project {name!r} is closed; reopen it with Project.open({name!r}).")


class _ClosedCatalog:
    """Stands in for the catalog of a closed project: any use says so."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise _closed_error(self._name)


def _check_fps(fps: Any) -> float:
    v = check_real("video_fps", fps, 0.0)
    if not 0 < v <= 1000:
        raise InvalidArgument(
            f"video_fps must be a number of frames per second in (0, 1000], e.g. 1.0 or 0.2 "
            f"(got {show_value(fps)})."
        )
    return v


def _check_tags(tags: Any, arg: str) -> list[str]:
    items = [tags] if isinstance(tags, str) else tags
    if not isinstance(items, (list, tuple, set, frozenset)) or not all(
        isinstance(t, str) and t.strip() for t in items
    ):
        raise InvalidArgument(f"{arg} must be a tag or a list of tags (got {show_value(tags)}).")
    return list(items)


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
    for p in list(_OPEN.values()):
        with contextlib.suppress(Exception):
            p.close()
