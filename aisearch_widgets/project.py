"""``Project``: the facade a user holds. It opens the project's parts (``_parts``) and
hands each call to the module owning the work: syncs to ``_runner``, searches to ``search``,
explore views to ``explore.views``, learning to ``_learning``, re-embedding to ``_reembed``."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd

from . import _annotate, _import_labels, _registry, _requests, _trash
from ._config import Layout, check_fps, require_project
from ._errors import InvalidArgument, ProjectExists
from ._home import check_name, parse_interval, project_names, resolve_home
from ._import_labels import LabelImport
from ._labels import check_name as check_label
from ._learning import LearningViews
from ._parts import closed_error, open_parts
from ._reembed import ReembedFuture
from ._runner import check_ready, status_of, wait_for
from ._saved import SavedCollections
from ._scope import QueryScope, check_tags
from ._thumbs import thumbnails_of
from .collection import Collection, trash_collection
from .embedder import Embedder
from .indexer import SyncSummary
from .sources import Source, normalize_sources
from .status import Status
from .store import VectorStore


class Project(LearningViews):
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
        self.home = resolve_home(home)
        self.layout = Layout.of(self.home, self.name)
        self.folder = self.layout.folder
        self._closed, self._lock_obj, self._last, self.device = True, None, None, device
        options = {k: v for k, v in locals().items() if k not in ("self", "name", "home")}
        self.config, self._lock_obj, self._parts = open_parts(self.layout, name, **options)
        self.catalog, self.thumbs = self._parts.catalog, self._parts.thumbs
        self._vectors, self.indexer = self._parts.vectors, self._parts.indexer
        self.runner, self.inventory = self._parts.runner, self._parts.inventory
        self._closed = False
        self._serial = _registry.register(self)
        _requests.watch()  # applies enable/disable/update requests of the JupyterLab plugin
        try:
            self._parts.start(f"Project {name!r}")
        except BaseException:
            self.close()
            raise

    # -- construction helpers ---------------------------------------------------------
    @classmethod
    def open(cls, name: str, home: str | os.PathLike[str] | None = None, **kwargs: Any) -> Project:
        """Reopen an existing project from its home."""
        return cls(name, home=require_project(resolve_home(home), check_name(name)), **kwargs)

    @classmethod
    def create(cls, name: str, sources: Any, **kwargs: Any) -> Project:
        """Create a new project; fails if one of that name exists."""
        h = resolve_home(kwargs.get("home"))
        if Layout.of(h, check_name(name)).exists():
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
        from ._repair import repair_project

        return repair_project(cls, resolve_home(home), check_name(name), model, sync)

    @staticmethod
    def names(home: str | os.PathLike[str] | None = None) -> list[str]:
        """Names of the projects in a home folder (default: ``$AISEARCH_HOME`` or the
        user data dir)."""
        return project_names(home)

    @classmethod
    def opened(cls) -> list[Project]:
        """The projects open in this process (not closed yet), oldest first."""
        return _registry.opened()

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
        return self.config.schedule

    @schedule.setter
    def schedule(self, schedule: str | float | None) -> None:
        self._check_open()
        interval = parse_interval(schedule)  # refused before anything is saved
        self.config.update(schedule=schedule if interval else None)
        if self.config.enabled:
            self.runner.set_schedule(interval)

    def _check_open(self) -> None:
        if self._closed:
            raise closed_error(self.name)

    @property
    def precision(self) -> str:
        """The precision of the project's image vectors: ``"fp32"``, ``"int8"`` (CPU),
        ``"fp16"`` or ``"bf16"`` (CUDA). Fixed unless :meth:`reembed` converts them."""
        return self.config.precision

    def set_sources(self, sources: Any, *, path_column: str | None = None) -> Project:
        """Point the project at other images. The next sync embeds the new files and
        drops the rows of files no longer in the sources (their embeddings, tags and
        collection memberships). Reopening with other ``sources=`` refuses to do this
        silently; this call (or ``replace_sources=True``) is how to mean it.

        >>> proj.set_sources(["~/data/line3", "~/data/line4"])    # doctest: +SKIP
        """
        self._check_open()
        given = [s.to_json() for s in normalize_sources(sources, path_column=path_column)]
        return self._reconfigure(sources=given)

    @property
    def video_fps(self) -> float:
        """Frames sampled per second of video (see :meth:`set_video_fps`)."""
        return self.config.video_fps

    def set_video_fps(self, fps: float) -> Project:
        """Sample videos at ``fps`` frames per second from now on. The next sync
        (at once if the project is enabled) samples every video again: frames at new
        times are embedded, frames at times no longer sampled are dropped (with their
        tags), frames at times both rates share keep their vectors.

        >>> proj.set_video_fps(0.5)       # one frame every 2 s     # doctest: +SKIP
        """
        self._check_open()
        fps = check_fps(fps)
        return self._reconfigure(video_fps=fps)

    def _reconfigure(self, **changes: Any) -> Project:
        """Change the config between syncs; an enabled project syncs at once."""
        with self.runner.paused():
            self.config.update(**changes)
        if self.enabled:
            self.runner.request()
        return self

    # -- public properties ------------------------------------------------------------
    @property
    def sources(self) -> list[Source]:
        return self.config.sources

    @property
    def model(self) -> str:
        """The model spec the project was created with."""
        return self.config.model

    @property
    def model_identity(self) -> str:
        return self._vectors.identity

    @property
    def embedder(self) -> Embedder:
        """The loaded model (loaded on first use)."""
        self._check_open()
        return self._vectors.embedder()

    @property
    def store(self) -> VectorStore:
        """The vector store (opened on first use)."""
        self._check_open()
        return self._vectors.store()

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def status(self) -> Status:
        """Embedding state: enabled, state, done/total, failed, updated_at, model…"""
        running = (not self._closed) and self.runner.busy
        return status_of(self.name, self.config, self.catalog, self.runner, running)

    @property
    def failures(self) -> pd.DataFrame:
        """Every file that could not be embedded: path, kind, message, id. Files whose
        folder vanished or emptied are listed with kind ``missing`` (see
        :meth:`update`)."""
        rows = self.catalog.failures()
        return pd.DataFrame(rows, columns=["path", "kind", "message", "id"])

    @property
    def metadata(self) -> pd.DataFrame:
        """Size, dates, EXIF and quality signals of every embedded image and frame, by
        id (columns: ``aisearch_widgets.catalog.METADATA_COLUMNS``)."""
        return self.catalog.metadata_frame()

    # -- lifecycle --------------------------------------------------------------------
    def enable(self, schedule: str | float | None = "10m") -> Project:
        """Turn AI search on: embed every image in the background (returns at once) and
        re-sync on ``schedule`` (e.g. ``"10m"``, ``"1h"``, between 1 s and 365 d; ``None``
        for manual only). An invalid schedule is refused before anything is saved."""
        self._check_open()
        interval = parse_interval(schedule)
        self.config.update(enabled=True, schedule=schedule if interval else None)
        self.runner.set_schedule(interval)
        self.runner.request()
        return self

    def disable(self) -> Project:
        """Stop updates (the running one stops at its next batch). Embeddings stay;
        ``enable()`` later reuses them."""
        self._check_open()
        self.config.update(enabled=False)
        self.runner.set_schedule(None)
        self.runner.cancel_current()
        return self

    def update(
        self, retry_failed: bool = False, prune_missing: bool = False, *, wait: bool | None = None
    ) -> SyncSummary:
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

        ``wait=`` (the first release's spelling) is deprecated: ``update(wait=True)``
        is ``update()``, ``update(wait=False)`` is ``update_async()``.
        """
        if wait is not None:
            use = "update()" if wait else "update_async()"
            warnings.warn(f"update(wait={wait!r}) is deprecated: use {use}.", DeprecationWarning, 2)
            if not wait:
                return self.update_async(retry_failed, prune_missing)  # type: ignore[return-value]
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
        self._check_open()
        return self._parts.reembedder.start(precision)

    def wait(self, timeout: float | None = None, progress: bool = True) -> Status:
        """Block until no sync is running, showing a progress bar (a widget in
        notebooks). Raises ``TimeoutError`` after ``timeout`` seconds and re-raises the
        error of a failed sync."""
        self._check_open()
        wait_for(self.runner, self.name, timeout, progress)
        return self.status

    # -- searches ---------------------------------------------------------------------
    def _check_ready(self, allow_partial: bool) -> None:
        self._check_open()
        check_ready(self.runner, self.catalog, self._vectors.identity, self.name, allow_partial)

    def _result(
        self, items: pd.DataFrame, query: dict[str, Any], info: dict | None = None
    ) -> Collection:
        query = {**query, "model": self._vectors.identity, "at": time.time()}
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
        within: Any = None,
        where: str | dict[str, Any] | None = None,
        allow_partial: bool = False,
    ) -> Collection:
        """Images that match a text prompt, best first.

        ``negative``: prompts and/or images to steer away from; ``tags``: only images
        with any of these tags; ``exclude``: ids, paths or a Collection to leave out.
        ``within``: only these images (a Collection, a saved collection's name, ids,
        paths, or a list of those: their union); ``where``: only images whose metadata
        pass a filter (``"width >= 1024 and 'defect' in tags"`` or a dict; see
        :mod:`aisearch_widgets._where`). The scope is searched, not the project then
        filtered: the best ``limit`` images of the scope come back.

        >>> proj.search("a scratch", within="line 3", where="'defect' in tags")  # doctest: +SKIP
        """
        from . import search as _s

        _s.check_prompt(prompt)
        limit, weight = _s.check_limit(limit), _s.check_weight(negative, negative_weight)
        self._check_ready(allow_partial)
        scope = QueryScope(within, where, self.name, tags, exclude)
        ask = _s.Ask(limit, negative, weight, scope)
        return self._result(*_s.prompt_search(self._vectors, self.catalog, prompt, ask))

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
        within: Any = None,
        where: str | dict[str, Any] | None = None,
        allow_partial: bool = False,
    ) -> Collection:
        """Images similar to one or several reference images (paths, point ids, PIL
        images, arrays or a Collection). Several references are fused: ``"max"`` (the
        best score over references), ``"mean"`` (the mean direction) or ``"rrf"``
        (reciprocal-rank fusion). Indexed references are left out unless
        ``include_references``.

        ``ids=[...]`` names references by point id only: nothing given that way is
        ever read as a path (what the search panel uses for ids from the browser).
        ``within`` and ``where`` limit the results to a scope, as in :meth:`search`.
        """
        from . import search as _s

        limit, _ = _s.check_limit(limit), _s.check_fusion(fusion)
        weight = _s.check_weight(negative, negative_weight)
        _s.check_similar_refs(images, ids)
        self._check_ready(allow_partial)
        ask = _s.Ask(limit, negative, weight, QueryScope(within, where, self.name, tags, exclude))
        kw = {"fusion": fusion, "include_references": include_references}
        return self._result(*_s.similar_search(self._vectors, self.catalog, images, ids, ask, **kw))

    def tagged(self, *tags: str) -> Collection:
        """Every image carrying any of the tags, as a collection (no scores). Not a
        search: it does not replace ``proj.last``."""
        self._check_open()
        if not tags:
            raise InvalidArgument("tagged(): name at least one tag.")
        ids = sorted(self.catalog.ids_with_tags(check_tags(list(tags), "tag")))
        items = pd.DataFrame({"id": ids, "score": np.nan})
        return Collection(self, items, query={"type": "tagged", "tags": list(tags)})

    def labelled(self, *labels: str, set: str | None = None) -> Collection:
        """Every image with any of these labels in the label set ``set`` (default:
        ``ground_truth`` or the only set), as a collection like :meth:`tagged`."""
        self._check_open()
        if not labels:
            raise InvalidArgument("labelled(): name at least one label.")
        set_ = set or self.catalog.default_label_set() or "ground_truth"
        ids = sorted(self.catalog.ids_with_label([check_label(x, "label") for x in labels], set_))
        items = pd.DataFrame({"id": pd.Series(ids, dtype=object), "score": np.nan})
        query = {"type": "labelled", "labels": list(labels), "set": set_}
        return Collection(self, items, query=query)

    def labels(self, set: str | None = None) -> pd.DataFrame:
        """The labels (of one set): ``id, path, set, label, x, y, w, h, confidence,
        source, author, time``; boxes in pixels (NaN: a class), confidence of predictions."""
        self._check_open()
        return self.catalog.labels_frame(None if set is None else check_label(set, "label set"))

    def import_labels(
        self,
        source: str | os.PathLike[str] | pd.DataFrame,
        set: str = "ground_truth",
        format: str | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        author: str | None = None,
    ) -> LabelImport:
        """Labels from a Label Studio JSON export, a COCO JSON file, a YOLO folder,
        CVAT XML or a DataFrame into the label set ``set`` (the set's labels of each
        matched image are replaced). Images match by path (under ``root`` or relative
        to the project's folders), then by content. The report lists the rows that
        matched nothing (``.unmatched``). See :mod:`aisearch_widgets._import_labels`."""
        self._check_open()
        return _import_labels.run(self.catalog, source, set, format, root, author)

    @property
    def jobs(self) -> list[_annotate.LabelStudioJob]:
        """Labelling jobs made by :meth:`Collection.annotate`, oldest first (kept in the home)."""
        return _annotate.jobs(self.folder, self.catalog)

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
            done = _trash.purge(self.inventory, older_than)
        return sum(o.status == "deleted" for o in done)

    @property
    def tags(self) -> dict[str, int]:
        """Every tag with its number of images."""
        return self.catalog.all_tags()

    def thumbnail(self, pid: str) -> bytes | None:
        """JPEG thumbnail bytes of an image (made once, cached in the project home);
        None for an id that is not an image of the project, or one that cannot be
        decoded."""
        return self.thumbnails([pid])[0]

    def thumbnails(
        self,
        ids: Sequence[str],
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> list[bytes | None]:
        """:meth:`thumbnail` of each id, in order, the records of the ones not cached
        yet read in one catalog query (a page of the panel). ``on_error(id, exc)``:
        a thumbnail that fails is None and reported there (default: raised)."""
        self._check_open()
        return thumbnails_of(self.thumbs, self.catalog, ids, on_error)

    def close(self) -> None:
        """Stop the background indexer, flush and release the project (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._parts.close(self.name)
        # Whatever still reaches for the catalog (status, tags, failures, a widget's
        # poller) gets a clear "closed" error, not sqlite's "closed database".
        self.catalog = self._parts.catalog  # type: ignore[assignment]
        if self._lock_obj is not None:
            self._lock_obj.release()
        _registry.unregister(self._serial)

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"<Project {self.name!r} (closed)>"
        return f"<Project {self.name!r} {self.status}>"
