"""The working parts of an open project, built from its config and wired by
passing objects in: the catalog, thumbnails, :class:`~._vectors.Vectors`, the indexer
and its runner, the file inventory and the re-embedder. No part calls back into
``Project``."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from dataclasses import dataclass
from typing import Any

from ._config import Layout, ProjectConfig, check_fps, check_server_options, skipped_folders
from ._errors import InvalidArgument, ProjectClosed
from ._home import HomeLock, stored_interval
from ._inventory import Inventory
from ._recovery import recover
from ._reembed import Reembedder
from ._runner import Runner, resume
from ._thumbs import ThumbnailCache
from ._vectors import Vectors, ray_engine
from .catalog import Catalog, open_catalog
from .embedder import DEFAULT_MODEL
from .images import MAX_FILE_BYTES
from .indexer import Indexer
from .store import ShardPreload


@dataclass
class Parts:
    catalog: Catalog
    thumbs: ThumbnailCache
    vectors: Vectors
    indexer: Indexer
    runner: Runner
    inventory: Inventory
    reembedder: Reembedder

    def start(self, where: str) -> None:
        """First finish or undo file actions a crash interrupted, before any sync
        runs (a sync would take a half-moved file for a deleted one); then an enabled
        project keeps itself current (a schedule saved out of range is clamped, with a
        warning naming ``where``)."""
        if self.catalog.journal_pending():
            with self.runner.paused():
                recover(self.inventory)
        config = self.vectors.config
        if config.enabled:
            resume(self.runner, self.catalog, stored_interval(config.schedule, where))

    def close(self, name: str) -> None:
        """Stop the work in flight and close store and catalog; the catalog is then a
        stand-in whose every use says the project is closed."""
        self.reembedder.stop()  # it reads the catalog: let it stop first
        self.runner.stop()
        if self.indexer.engine is not None:
            self.indexer.engine.close()  # the model actors it keeps between syncs
        self.vectors.close()
        self.catalog.close(clean=True)  # the next open may check it in the background
        self.catalog = _ClosedCatalog(name)  # type: ignore[assignment]
        self.inventory.catalog = self.catalog


def closed_error(name: str) -> ProjectClosed:
    return ProjectClosed(f"Project {name!r} is closed; reopen it with Project.open({name!r}).")


class _ClosedCatalog:
    """Stands in for the catalog of a closed project: any use says so."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise closed_error(self._name)


@dataclass(frozen=True)
class Runtime:
    """How an open project's parts run: options of ``Project`` that its config does
    not keep."""

    device: str
    batch_size: int
    workers: int | None
    thumbnails: bool
    engine: str
    ray_address: str | None
    min_free_mb: int | None
    max_file_bytes: int | None
    server_options: dict[str, Any] | None
    qdrant_api_key: str | None


def open_parts(
    layout: Layout,
    name: str,
    *,
    sources: Any,
    model: str | None,
    qdrant_url: Any,
    path_column: str | None,
    replace_sources: bool,
    precision: str,
    video_fps: float | None,
    **runtime: Any,
) -> tuple[ProjectConfig, HomeLock | None, Parts]:
    """Open (or create) the project at ``layout`` with the options of ``Project``
    (``runtime``: the fields of :class:`Runtime`): its config checked against them,
    its lock taken when the vectors live in the home (the caller releases it), its
    parts built."""
    rt = Runtime(**runtime)
    if rt.engine not in ("local", "ray"):
        raise InvalidArgument(f"engine={rt.engine!r}: use 'local' (default) or 'ray'.")
    rt = dataclasses.replace(rt, server_options=check_server_options(rt.server_options))
    config, qdrant, write = ProjectConfig.open_or_create(
        layout,
        name,
        sources=sources,
        model=model,
        precision=precision,
        device=rt.device,
        path_column=path_column,
        replace_sources=replace_sources,
        video_fps=None if video_fps is None else check_fps(video_fps),
        qdrant_url=qdrant_url,
        default_model=DEFAULT_MODEL,
        server_options=rt.server_options,
    )
    layout.folder.mkdir(parents=True, exist_ok=True)
    lock = None
    if qdrant is None:
        lock = HomeLock(layout.folder, name)
        lock.acquire()
    try:
        parts = assemble(config, write, rt, qdrant=qdrant)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return config, lock, parts


def assemble(config: ProjectConfig, write: bool, rt: Runtime, *, qdrant: Any) -> Parts:
    """Open the catalog (saving the config when ``write`` or when it is of an older
    format: under the lock the caller holds) and build the parts on it."""
    name, layout = config.name, config.layout
    # The catalog's check first, on its thread inside SQLite, then the shard's load,
    # which holds the GIL throughout: the two run side by side.
    catalog = open_catalog(layout.catalog, name, background=True)
    preload = _preload(config) if qdrant is None else None
    vectors = None
    try:
        config.attach_catalog(lambda data: catalog.set_meta(config=data))
        if config.upgrade() or write:
            config.save()
        thumbs = ThumbnailCache(layout.thumbs, rt.max_file_bytes or MAX_FILE_BYTES)
        vectors = Vectors(
            config,
            catalog,
            device=rt.device,
            qdrant=qdrant,
            api_key=rt.qdrant_api_key or os.environ.get("QDRANT_API_KEY") or None,
            server_options=rt.server_options,
            thumbs=thumbs,
        )
        limits = {"min_free_mb": rt.min_free_mb, "max_file_bytes": rt.max_file_bytes}
        ray = ray_engine(vectors, rt.ray_address, rt.batch_size) if rt.engine == "ray" else None
        indexer = Indexer(
            name,
            catalog,
            config,
            vectors,
            skip=functools.partial(skipped_folders, layout),
            thumbs=thumbs if rt.thumbnails else None,
            batch_size=rt.batch_size,
            workers=rt.workers or 0,
            engine=ray,
            **{k: v for k, v in limits.items() if v is not None},
        )
        runner = Runner(indexer, name=f"aisearch-{name}")
        inventory = Inventory(
            name, catalog, vectors, thumbs, config, pause=runner.paused, trash_dir=layout.trash
        )
        reembedder = Reembedder(
            vectors,
            runner,
            batch_size=indexer.batch_size,
            max_file_bytes=indexer.max_file_bytes,
        )
        if qdrant is None:
            vectors.check_edge_store(preload)
        if not catalog.was_clean:  # a session ended without a clean close: checked now
            catalog.checked()
    except BaseException:
        if preload is not None:
            preload.discard()
        with contextlib.suppress(Exception):
            if vectors is not None:
                vectors.close()
            catalog.close()
        raise
    return Parts(catalog, thumbs, vectors, indexer, runner, inventory, reembedder)


def _preload(config: ProjectConfig) -> ShardPreload | None:
    """The project's Edge shard, loading while the catalog opens (None when there is
    nothing to load or the config names no identity yet: opening then goes as
    before, the shard after the catalog)."""
    try:
        return ShardPreload(config.name, config.layout.folder, config.identity)
    except Exception:
        return None
