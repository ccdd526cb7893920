"""``engine="ray"``: the embedding step of a sync, run on a Ray cluster (Ray Data).

The driver (the process holding the :class:`~.project.Project`) plans the sync and
marks rows pending exactly as in process; only "turn these files into vectors"
moves to the cluster:

``from_items((key, id, path, prev))`` → ``map_batches(_prepare_batch)`` tasks (read
by path, content hash, decode, preprocess, thumbnail: the same :mod:`.images` code
and the same failure kinds and messages as in process) → ``map_batches(_EmbedActor)``
(an actor pool holding the model, one GPU per actor when the cluster has GPUs) →
``iter_batches`` back to the driver, which writes store and catalog batch by batch
with the in-process crash-safety (:meth:`.indexer.Indexer._commit`). Ids travel with
their vectors, so batches may come back in any order. Video files are not sent: the
driver decodes and embeds their frames with the in-process video path.

Workers read files **by path**: every Ray worker must see the project's files at the
same absolute paths as the driver (a shared file system mounted at the same place).
Before the run one task stats the first file; a worker that cannot see a file the
driver sees stops the sync with :class:`WorkerCannotRead`.

Content-hash reuse: the task hashes the bytes it read; a file whose content equals
the content it had when last embedded, or equals that of a file this sync deletes
(a move or rename), borrows that vector without being decoded. A *copy* of a file
that stays in place is embedded again (in process it would borrow the vector): the
driver sends the tasks only the hashes the plan itself touches, not the catalog.

Nothing here imports Ray before a Ray sync runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ._errors import AISearchError

log = logging.getLogger(__name__)

_INIT_LOCK = threading.Lock()


class WorkerCannotRead(AISearchError):
    """A Ray worker cannot read a file the driver sees: the cluster does not share
    the project's file system at the same paths."""


class RayUnavailable(AISearchError):
    """``engine="ray"`` was asked for and Ray is not installed or cannot start."""


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RayUnavailable(
            "engine='ray' needs Ray Data: pip install 'aisearch-widgets[ray]' "
            f"(import failed: {exc})"
        ) from None
    return ray


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect this process to Ray once: ``address=None`` starts a local instance
    (quiet, no dashboard; ``num_cpus`` caps it), ``"auto"`` or ``"ray://host:port"``
    joins a running cluster. A process already connected keeps its connection."""
    ray = _import_ray()
    with _INIT_LOCK:
        if not ray.is_initialized():
            kw: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
                "configure_logging": False,
            }
            if address is None:
                kw["num_cpus"] = num_cpus
            try:
                try:
                    ray.init(address=address, **kw)
                except Exception:
                    if address is not None:
                        raise
                    # A local start on a loaded machine can time out waiting for its
                    # agents (raylet "timed out during startup"): once more.
                    log.warning("local Ray did not start; trying once more")
                    ray.shutdown()
                    ray.init(address=address, **kw)
            except Exception as exc:
                where = "a local Ray instance" if address is None else f"Ray at {address!r}"
                raise RayUnavailable(
                    f"could not start or join {where}: {exc}. Check the address "
                    "(ray_address='auto' joins the cluster this machine belongs to)."
                ) from exc
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the project's own progress shows the rate
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


# -- what runs on the workers --------------------------------------------------------
def _stat_on_worker(path: str) -> tuple[str, str] | None:
    """``None`` when this worker can open ``path``, else ``(host, reason)``."""
    import socket

    try:
        with open(path, "rb", buffering=0) as fh:  # noqa: F841 - opening is the probe
            pass
    except OSError as exc:
        return socket.gethostname(), exc.strerror or str(exc)
    return None


def _model_parts(spec: str) -> tuple[Any, int]:
    """``(preprocess transform, image size)`` of a model spec, built once per worker
    process (both come from the model's config; the precision does not change them)."""
    got = _PARTS.get(spec)
    if got is None:
        from .embedder import Embedder

        emb = Embedder(spec, device="cpu", precision="fp32")
        got = _PARTS[spec] = (emb.preprocess, emb.image_size)
    return got


_PARTS: dict[str, tuple[Any, int]] = {}


def _prepare_batch(
    batch: dict[str, np.ndarray],
    spec: str,
    lenders: dict[str, str],
    thumbs: bool,
    max_bytes: int,
) -> dict[str, np.ndarray]:
    """Read, hash, decode and preprocess one batch of files (a Ray task). Rows that
    borrow a vector or fail carry zero pixels and ``ok=False``."""
    from .images import DecodeFailure, content_hash, decode, read_bytes, thumbnail_jpeg

    transform, size = _model_parts(spec)
    n = len(batch["id"])
    pixels = np.zeros((n, 3, size, size), dtype=np.float32)
    ok = np.zeros(n, dtype=bool)
    content, reuse, kind, msg, thumb = ([""] * n for _ in range(5))
    for i in range(n):
        path, pid, prev = str(batch["path"][i]), str(batch["id"][i]), str(batch["prev"][i])
        try:
            data = read_bytes(path, max_bytes)
            content[i] = content_hash(data)
            src = pid if prev and prev == content[i] else lenders.get(content[i])
            if src is not None:
                reuse[i] = src
                continue
            img = decode(data, path, size)
            px = transform(img)
            pixels[i] = px.numpy() if hasattr(px, "numpy") else px
            ok[i] = True
            if thumbs:
                thumb[i] = thumbnail_jpeg(img)
        except DecodeFailure as f:
            content[i], kind[i], msg[i] = "", f.kind, f.message
        except OSError as exc:
            content[i], kind[i], msg[i] = "", "error", f"{path}: {exc}"
        except Exception as exc:  # a bug or an exotic file must not stop the run
            content[i], kind[i], msg[i] = "", "error", f"{path}: {type(exc).__name__}: {exc}"
    return {
        "key": batch["key"],
        "id": batch["id"],
        "content": np.array(content, dtype=object),
        "reuse": np.array(reuse, dtype=object),
        "kind": np.array(kind, dtype=object),
        "msg": np.array(msg, dtype=object),
        "thumb": np.array([t if t else b"" for t in thumb], dtype=object),
        "ok": ok,
        "pixels": pixels,
    }


class _EmbedActor:
    """The model, held by one actor of the pool."""

    def __init__(self, spec: str, precision: str, device: str, identity: str) -> None:
        from .embedder import Embedder

        self.emb = Embedder(spec, device=device, precision=precision)
        if self.emb.identity != identity:
            raise AISearchError(
                f"a Ray worker loaded {self.emb.identity}, the project holds vectors of "
                f"{identity}: every node must have the same model weights"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        ok = np.asarray(batch["ok"], dtype=bool)
        vec = np.zeros((len(ok), self.emb.dim), dtype=np.float32)
        if ok.any():
            vec[ok] = self.emb.encode_batch(
                torch.from_numpy(np.ascontiguousarray(batch["pixels"][ok]))
            )
        out = {k: v for k, v in batch.items() if k != "pixels"}
        out["vector"] = vec
        return out


# -- the driver side ------------------------------------------------------------------
class RayEngine:
    """The embedding step of :class:`~.indexer.Indexer` on Ray Data.

    ``address``: ``None`` (a local Ray, ``num_cpus`` CPUs), ``"auto"`` or
    ``"ray://host:port"``. ``concurrency``: model actors (default: one per GPU of the
    cluster, else one per 4 CPUs, at least 1). ``batch_size``: images per model call
    (and per driver commit). ``actor_threads``: torch threads of a CPU actor (default
    the CPUs the cluster has per actor)."""

    def __init__(
        self,
        spec: str,
        identity: str,
        address: str | None = None,
        *,
        precision: str = "fp32",
        num_cpus: int | None = None,
        concurrency: int | None = None,
        batch_size: int = 32,
        prepare_batch: int = 16,
    ) -> None:
        self.spec = spec
        self.identity = identity
        self.address = address
        self.precision = precision
        self.num_cpus = num_cpus
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.prepare_batch = prepare_batch

    def __repr__(self) -> str:
        return f"RayEngine(address={self.address!r}, concurrency={self.concurrency})"

    def _probe(self, ray: Any, path: str) -> None:
        """Fail early when a worker cannot open a file this process can."""
        try:
            with open(path, "rb", buffering=0):
                pass
        except OSError:
            return  # the driver cannot read it either: a per-file failure, not a cluster one
        got = ray.get(ray.remote(num_cpus=0.1)(_stat_on_worker).remote(path))
        if got is not None:
            host, reason = got
            raise WorkerCannotRead(
                f"a Ray worker on {host} cannot read {path} ({reason}), which this process "
                "reads: with engine='ray' every worker reads the images by path, so every "
                "node must see the project's files at the same paths (mount the shared file "
                "system at the same place on every node), or index with engine='local'."
            )

    def prepared_batches(
        self,
        items: Sequence[tuple[Any, str]],
        prev: dict[str, str | None],
        lenders: dict[str, str],
        thumbs: bool,
        max_bytes: int,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of results, one list per model batch, each result a dict with
        ``key, id, content, reuse, fail, thumb, vector``. Stops the cluster work
        when the caller closes the generator (cancel, error)."""
        ray = ensure_ray(self.address, self.num_cpus)
        if not items:
            return
        self._probe(ray, items[0][0].path)
        res = ray.cluster_resources()
        gpus, cpus = int(res.get("GPU", 0)), max(1, int(res.get("CPU", 1)))
        actors = self.concurrency or (gpus if gpus else max(1, cpus // 4))
        rows = [
            {"key": e.key, "id": pid, "path": e.path, "prev": prev.get(e.key) or ""}
            for e, pid in items
        ]
        ds = ray.data.from_items(rows)
        ds = ds.map_batches(
            _prepare_batch,
            batch_size=self.prepare_batch,
            batch_format="numpy",
            fn_kwargs={
                "spec": self.spec,
                "lenders": lenders,
                "thumbs": thumbs,
                "max_bytes": max_bytes,
            },
            # Decoding is partly I/O: two tasks per core. Resources unlike the actor's
            # also keep Ray from fusing this stage into the model actors, which would
            # leave the model idle while its actor decodes.
            num_cpus=0.5,
        )
        actor_opts: dict[str, Any] = {"num_gpus": 1} if gpus else {"num_cpus": 1}
        ds = ds.map_batches(
            _EmbedActor,
            batch_size=self.batch_size,
            batch_format="numpy",
            fn_constructor_kwargs={
                "spec": self.spec,
                "precision": self.precision,
                "device": "cuda" if gpus else "cpu",
                "identity": self.identity,
            },
            compute=ray.data.ActorPoolStrategy(size=actors),
            **actor_opts,
        )
        it = iter(ds.iter_batches(batch_size=self.batch_size, batch_format="numpy"))
        try:
            for b in it:
                out = []
                for i in range(len(b["id"])):
                    kind = str(b["kind"][i])
                    out.append(
                        {
                            "key": str(b["key"][i]),
                            "id": str(b["id"][i]),
                            "content": str(b["content"][i]) or None,
                            "reuse": str(b["reuse"][i]) or None,
                            "fail": (kind, str(b["msg"][i])) if kind else None,
                            "thumb": bytes(b["thumb"][i]) or None,
                            "vector": b["vector"][i] if b["ok"][i] else None,
                        }
                    )
                yield out
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
