"""A project's vectors: the model (its spec, precision and identity, read from the
config, never copied), the embedder loaded on first use with its int8 → fp32
fallback, the store opened on first use, its one reconciliation with the catalog,
forgetting ids everywhere, and the swap to re-embedded vectors."""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from ._config import ProjectConfig
from ._errors import ModelMismatch
from ._thumbs import ThumbnailCache
from .catalog import Catalog
from .embedder import Embedder
from .search import TextVectors
from .store import ShardPreload, VectorStore, open_store

log = logging.getLogger(__name__)

_DELETE_CHUNK = 1000


@dataclass(eq=False, repr=False)
class Vectors:
    """The model and the vector store of one project.

    ``qdrant``/``api_key``/``server_options``: where the vectors live (None: an Edge
    shard in the project home); the URL as given, credentials included, lives here in
    memory only."""

    config: ProjectConfig
    catalog: Catalog
    _: KW_ONLY
    device: str = "auto"
    qdrant: Any = None
    api_key: str | None = None
    server_options: dict[str, Any] | None = None
    thumbs: ThumbnailCache | None = None

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._store: VectorStore | None = None
        self._embedder: Embedder | None = None
        self.text = TextVectors(self)

    @property
    def identity(self) -> str:
        """The identity of the weights (and precision) the vectors come from."""
        return self.config.identity

    @property
    def opened_store(self) -> VectorStore | None:
        """The store if it is open, without opening it."""
        return self._store

    # -- the model --------------------------------------------------------------------
    def embedder(self) -> Embedder:
        """The model, loaded on first use: only prompts, new reference images and
        indexing need it."""
        with self.lock:
            if self._embedder is None:
                emb = self.load_embedder()
                if emb.identity != self.identity:
                    raise ModelMismatch(
                        f"The weights of {self.config.model!r} changed on disk "
                        f"({self.identity} → {emb.identity}). Restore them, or create a "
                        "new project for the new weights."
                    )
                if self.config.dim != emb.dim:
                    # Not known from the model's config when the project was created.
                    self.config.update(dim=emb.dim)
                self._embedder = emb
            return self._embedder

    def load_embedder(self, precision: str | None = None) -> Embedder:
        """The model at the project's precision (int8 runs on the CPU whatever the
        device). An int8 tower that fails its quality check falls back to fp32 when the
        precision was chosen by ``"auto"`` and no vector was written yet."""
        from ._errors import ModelLoadError

        cfg = self.config
        prec = precision or self.config.precision
        device = "cpu" if prec == "int8" else self.device
        try:
            emb = Embedder(cfg.model, device=device, precision=prec)
        except ModelLoadError as exc:
            auto = precision is None and cfg.precision_auto
            if not (auto and prec == "int8" and not self.catalog.counts(self.identity)["embedded"]):
                raise
            log.warning("Project %r: %s; embedding in fp32 instead.", self.config.name, exc)
            emb = Embedder(cfg.model, device=self.device, precision="fp32")
            cfg.update(precision="fp32", identity=emb.identity, precision_auto=False)
            return emb
        if precision is None and cfg.precision_auto:
            cfg.update(precision_auto=False)  # settled: the int8 check ran once
        return emb

    def settled_identity(self) -> str:
        """The identity a sync writes under: an ``"auto"`` int8 choice is settled first
        (its check may fall back to fp32, which is another identity)."""
        if self.config.precision_auto and self.config.precision == "int8":
            self.embedder()
        return self.identity

    # -- the store --------------------------------------------------------------------
    def open_store(self, identity: str, dim: int | None) -> VectorStore:
        """A store for the vectors of ``identity`` (the current one, or a re-embedding's)."""
        store = open_store(
            self.config.name,
            self.config.layout.folder,
            identity,
            dim,
            qdrant=self.qdrant,
            api_key=self.api_key,
            server_options=self.server_options,
        )
        return self._counted(store)

    def _counted(self, store: VectorStore) -> VectorStore:
        """``store`` with every write counted in the catalog (the vectors' generation,
        what the caches derived from them are checked against: ``_matrix.state_key``)."""
        store.on_write = self.catalog.bump_vectors_generation  # type: ignore[attr-defined]
        return store

    def store(self) -> VectorStore:
        """The vector store, opened on first use. Its size comes from project.json
        (or the shard itself), so opening it never loads the model."""
        with self.lock:
            if self._store is None:
                self.settled_identity()  # before the shard (named by identity) is made
                dim = self.config.dim
                if dim is None and not (self.qdrant is None and self.shard_path().is_dir()):
                    dim = self.embedder().dim
                store = self.open_store(self.identity, dim)
                if self.qdrant is not None:
                    self.reconcile(store)
                self._store = store
            return self._store

    def shard_path(self, identity: str | None = None) -> Any:
        return self.config.layout.shard(identity or self.identity)

    def check_edge_store(self, preload: ShardPreload | None = None) -> None:
        """On open, without loading the model: if the catalog says vectors exist, the
        shard must hold them. A deleted or emptied vectors folder (or one that lost
        points) turns the rows concerned back to pending, so the next sync re-embeds
        them and status does not claim N/N embedded while searches find nothing.
        ``preload``: the shard as loaded meanwhile (used when it is this identity's)."""
        if not self.catalog.has_embedded(self.identity):
            if preload is not None:
                preload.discard()
            return
        path = self.shard_path()
        loaded = preload.take(self.identity) if preload is not None else None
        if loaded is not None:
            self._store = self._counted(loaded)
        elif path.is_dir() and any(path.iterdir()):
            self._store = self.open_store(self.identity, None)
        self.reconcile(self._store)

    def drop_orphans(self, store: VectorStore) -> None:
        """After an interrupted sync: drop vectors whose rows are gone."""
        orphans = store.ids() - self.catalog.all_ids()
        if orphans:
            log.info("removing %d orphan vectors left by an interrupted run", len(orphans))
            store.delete(sorted(orphans))

    def reconcile(self, store: VectorStore | None) -> None:
        """Rows the catalog calls embedded whose vector is missing from ``store`` (None:
        no store at all) turn back to pending, for the next sync to re-embed."""
        if store is not None and _holds_every_row(store, self.catalog):
            return
        embedded = self.catalog.embedded_ids(self.identity)
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
        where = self.shard_path() if self.qdrant is None else "the Qdrant collection"
        log.warning(
            "Project %r: %d of %d embedded images have no vector in %s (deleted or damaged); "
            "they are marked pending and re-embedded by the next update().",
            self.config.name,
            len(missing),
            len(embedded),
            where,
        )
        self.catalog.reset_to_pending(sorted(missing))
        meta: dict[str, Any] = {"dirty": True}
        if len(missing) == len(embedded):
            meta["first_pass_done"] = False  # searches say "update first", not "0 results"
        self.catalog.set_meta(**meta)

    def forget(self, ids: Iterable[str], *, keys: list[str] | None = None) -> list[str]:
        """Forget these ids everywhere (a video: its frames too): vectors first (a row
        left over is retried), then rows (and the rows of ``keys``), tags and
        thumbnails. Returns the ids forgotten."""
        pids = self.catalog.expand_videos(list(ids))
        if pids:
            store = self.store()
            for i in range(0, len(pids), _DELETE_CHUNK):
                store.delete(pids[i : i + _DELETE_CHUNK])
        if keys:
            self.catalog.delete_keys(keys)
        self.catalog.forget_ids(pids)
        if self.thumbs is not None:
            for pid in pids:
                self.thumbs.remove(pid)
        return pids

    # -- re-embedding -----------------------------------------------------------------
    def discard(self, store: VectorStore, identity: str) -> None:
        """Close and remove a store that did not become the project's."""
        if store is self._store:
            return
        store.close()
        if self.qdrant is None:
            shutil.rmtree(self.shard_path(identity), ignore_errors=True)

    def swap(
        self,
        new_id: str,
        prec: str,
        emb: Embedder,
        store: VectorStore,
        made_from: dict[str, str],
        pause: contextlib.AbstractContextManager[Any],
    ) -> bool:
        """Switch to re-embedded vectors in one step, syncs held off by ``pause``: rows
        whose content is what was re-embedded move to the new identity; the others
        (changed or failed meanwhile) become pending for the next sync, and so does the
        video of any such frame (its other frames keep their new vectors). Returns
        whether anything was left pending."""
        with pause, self.lock:
            old_id, old_store = self.identity, self._store
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
            self.config.update(precision=prec, identity=new_id, precision_auto=False, dim=emb.dim)
            self._store, self._embedder = store, emb
            self.text = TextVectors(self)
        if old_store is not None:
            old_store.close()
        if self.qdrant is None:
            shutil.rmtree(self.shard_path(old_id), ignore_errors=True)
        return bool(stale)

    def close(self) -> None:
        with self.lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def ray_engine(vectors: Vectors, address: str | None, batch_size: int) -> Any:
    """The Ray embedding engine for these vectors' model (Ray itself is imported when
    a sync first runs)."""
    from ._ray import RayEngine

    return RayEngine(
        vectors.config.model,
        vectors.identity,
        address,
        precision=vectors.config.precision,
        batch_size=batch_size,
    )


def _holds_every_row(store: VectorStore, catalog: Catalog) -> bool:
    """Whether ``store`` has at least as many points as the catalog has rows (of any
    status), so no embedded row can lack its vector: the common case on opening,
    decided without reading a million ids (1.0-3.7 s at 1M rows), and from the store's
    statistics where they are exact (an exact count is a pass over the points)."""
    size = store.approx_count() if getattr(store, "size_is_exact", False) else store.count()
    return size >= catalog.row_count()
