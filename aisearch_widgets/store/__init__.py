"""Vector stores: where embeddings live.

:class:`VectorStore` is the contract the rest of the package uses; two adapters
implement it on a shared base (:mod:`.base`): :class:`~.edge.EdgeStore` (Qdrant Edge,
embedded, the default) and :class:`~.server.ServerStore` (a Qdrant server or cluster
through ``qdrant-client``). :func:`open_store` picks and opens one. One store holds the
vectors of exactly one model, and only vectors: paths and everything else about an
image live in the catalog.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .base import Hit, as_matrix


@runtime_checkable
class VectorStore(Protocol):
    """What the engine needs from a vector database. Vectors are L2-normalised
    float32 rows; scores are cosine similarities (higher is closer)."""

    dim: int

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Insert or replace points; durable when the call returns."""

    def delete(self, ids: Sequence[str]) -> None:
        """Remove points; unknown ids are ignored."""

    def query(
        self,
        vectors: np.ndarray,
        limit: int,
        only: Collection[str] | None = None,
        exclude: Collection[str] | None = None,
    ) -> list[list[Hit]]:
        """Nearest points for each query row, best first, equal to exact search."""

    def retrieve(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of the given ids that exist."""

    def count(self) -> int:
        """Number of points."""

    def iter_vectors(self, batch: int = 4096) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every point id with its vector, in batches."""

    def ids(self) -> set[str]:
        """Every point id (no vectors)."""

    def flush(self) -> None:
        """Make acknowledged writes durable on disk."""

    def maybe_optimize(self) -> bool:
        """Housekeeping after a sync (may take a while); True if anything changed."""

    def close(self) -> None:
        """Release files and connections."""


def slug(identity: str) -> str:
    """A file- and collection-name-safe form of a model identity, unique per identity."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", identity).strip("-")[:40]
    return f"{readable}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"


def shard_folder(project_folder: str | os.PathLike[str], identity: str) -> Path:
    """Where a project keeps the Edge shard of one model's vectors."""
    return Path(project_folder) / "vectors" / slug(identity)


def edge_shard_dim(path: str | os.PathLike[str]) -> int | None:
    """The vector size an Edge shard was created with (from its config file, without
    loading it), or None when there is no readable shard at ``path``."""
    try:
        with open(os.path.join(path, "edge_config.json"), encoding="utf-8") as fh:
            return int(json.load(fh)["vectors"][""]["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def open_store(
    project: str,
    folder: str | os.PathLike[str],
    identity: str,
    dim: int | None,
    qdrant: Any = None,
    api_key: str | None = None,
    server_options: dict[str, Any] | None = None,
) -> VectorStore:
    """The vector store of project ``project`` (home folder ``folder``) for the model
    ``identity``: an Edge shard in the project folder, or with ``qdrant`` (a URL or a
    ``QdrantClient``) a collection on that server. ``dim=None`` reads the size from an
    existing shard. ``server_options``: keyword options of
    :class:`~.server.ServerStore` (shards, replicas, on-disk vectors, quantization,
    graph, upsert chunks). A shard Qdrant cannot load is :class:`ProjectCorrupt`, with
    the way out. Opening a store never loads a model."""
    from .._errors import ProjectCorrupt, ProjectLocked, repair_hint

    if qdrant is not None:
        from .server import ServerStore

        if dim is None:
            raise ValueError("a server store needs the vector size")
        return ServerStore(
            qdrant,
            f"aisearch-{project}-{slug(identity)}",
            dim,
            api_key=api_key,
            **(server_options or {}),
        )
    from .edge import EdgeStore

    path = shard_folder(folder, identity)
    try:
        return EdgeStore(path, dim)
    except ProjectLocked:
        raise
    except Exception as exc:
        raise ProjectCorrupt(
            f"The vector shard {path} cannot be loaded ({str(exc)[:200]}). "
            f"{repair_hint(project)}: it moves the shard aside and re-embeds the images "
            "(tags and collections are kept).",
            str(path),
        ) from None


class ShardPreload:
    """The Edge shard of ``identity`` loaded in a background thread while the project's
    catalog is checked: at 1M points both take about a second of CPU (paging in the
    int8 copy; ``PRAGMA quick_check``). The load holds the GIL from start to end, so
    only work already inside SQLite (which releases it) runs alongside: the opener
    starts the catalog's check first (``open_catalog(background=True)``), then this.
    :meth:`take` hands the store (or its load error) to whoever opens that shard."""

    def __init__(self, project: str, folder: str | os.PathLike[str], identity: str) -> None:
        self.identity = identity
        self._result: tuple[VectorStore | None, BaseException | None] = (None, None)
        path = shard_folder(folder, identity)
        self._thread: threading.Thread | None = None
        if path.is_dir() and any(path.iterdir()):
            self._thread = threading.Thread(
                target=self._load, args=(project, folder), name="aisearch-shard-load", daemon=True
            )
            self._thread.start()

    def _load(self, project: str, folder: str | os.PathLike[str]) -> None:
        try:
            self._result = (open_store(project, folder, self.identity, None), None)
        except BaseException as exc:  # handed to take(), in the opening thread
            self._result = (None, exc)

    def take(self, identity: str) -> VectorStore | None:
        """The loaded store when it is the shard of ``identity``, else None (what was
        loaded is closed); raises what loading it raised. Once: later calls give None."""
        if self._thread is None:
            return None
        self._thread.join()
        self._thread = None
        (store, error), self._result = self._result, (None, None)
        if identity != self.identity:
            if store is not None:
                store.close()
            return None
        if error is not None:
            raise error
        return store

    def discard(self) -> None:
        """Close whatever was loaded (the opening failed, or nobody needs it)."""
        try:
            store = self.take(self.identity)
        except Exception:
            return
        if store is not None:
            store.close()


__all__ = [
    "Hit",
    "ShardPreload",
    "VectorStore",
    "as_matrix",
    "edge_shard_dim",
    "open_store",
    "shard_folder",
    "slug",
]
