"""``engine="ray"``: the embedding step of a sync, run on a Ray cluster (Ray Data):
an :class:`~._engine.Engine`.

The driver (the process holding the :class:`~.project.Project`) plans the sync and
marks rows pending exactly as in process; only "turn these files into vectors"
moves to the cluster:

``from_items((key, id, path, prev))`` → ``map_batches(_prepare_batch)`` tasks (read
by path, content hash, decode, resize and crop, thumbnail: the one prepare step of
:mod:`._prepare`, so the same failure kinds and messages as in process; PIL and numpy only, no
torch) → the decoded blocks, by reference, to the engine's model actors
(:class:`_EmbedActor`, one GPU each when the cluster has GPUs), which normalise the
crops and embed them → vectors back to the driver, which writes store and catalog
batch by batch with the in-process crash-safety (:meth:`.indexer.Indexer._commit`).
Ids travel with their vectors, so batches may come back in any order. Video files
are not sent: the driver decodes and embeds their frames with the in-process video
path.

The model actors are started by the first sync and kept by the engine (so by the
project) for the next ones: a sync pays no model start-up after the first. They
tell the driver the model's preprocessing (size, mean, std), which the decode tasks
reproduce exactly (:func:`preprocess_params` checks it against the model's own
transform; a model it does not match has its transform built in the tasks).
``Project.close`` stops them.

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

import contextlib
import logging
import threading
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import numpy as np

from ._engine import Lenders
from ._errors import AISearchError
from ._sync_types import Prepared
from .sources import FileEntry

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


# A bare "host:port" address is a head's GCS port, which Ray retries for many minutes
# when nothing (or something else) answers there: the port is probed first, and the
# whole connection is bounded.
PROBE_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 60.0
_CONNECTING: dict[str, threading.Thread] = {}  # address -> a connection still trying


def _is_bare(address: str | None) -> bool:
    return address not in (None, "auto", "local") and "://" not in str(address)


def _what_to_do(address: str) -> str:
    port = address.rpartition(":")[2]
    return (
        f"Start the Ray head there (ray start --head --port={port or 6379}) or fix the "
        "address: a head's GCS port ('host:6379' by default), 'auto' for the cluster this "
        "machine belongs to, 'ray://host:10001' for Ray Client, or no address for a local "
        "Ray."
    )


def probe_address(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise :class:`RayUnavailable` unless something accepts TCP connections at the
    bare ``host:port`` Ray ``address`` within ``timeout`` seconds."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayUnavailable(
            f"ray_address={address!r} is not an address Ray can join: give 'host:port' "
            "(a head's GCS port), 'auto', or 'ray://host:port'."
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise RayUnavailable(
            f"nothing answers at the Ray address {address!r} ({why}, within {timeout:g} s). "
            + _what_to_do(address)
        ) from None


def _init_bounded(ray: Any, address: str, kw: dict[str, Any], timeout: float) -> None:
    """``ray.init`` in a helper thread, waited for at most ``timeout`` seconds."""
    got: dict[str, BaseException] = {}

    def connect() -> None:
        try:
            ray.init(address=address, **kw)
        except BaseException as exc:  # handed to the caller
            got["error"] = exc

    # Ray warns that a thread other than the main one cannot set its SIGTERM handler:
    # true, and nothing a user can act on (syncs join from the indexer's thread too).
    from ._quantize import DropRecords

    quiet = DropRecords("SIGTERM handler is not set")
    worker_log = logging.getLogger("ray._private.worker")
    worker_log.addFilter(quiet)
    t = threading.Thread(target=connect, name="aisearch-ray-connect", daemon=True)
    t.start()
    t.join(timeout)
    worker_log.removeFilter(quiet)
    if t.is_alive():
        _CONNECTING[address] = t
        raise RayUnavailable(
            f"Ray at {address!r} did not answer within {timeout:g} s although its port is "
            "open: is it a Ray head's GCS port? " + _what_to_do(address)
        )
    if "error" in got:
        raise got["error"]


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect this process to Ray once: ``address=None`` starts a local instance
    (quiet, no dashboard; ``num_cpus`` caps it), ``"auto"``, ``"host:port"`` or
    ``"ray://host:port"`` joins a running cluster. A process already connected keeps
    its connection. A ``"host:port"`` address is probed first (a few seconds) and
    joined within :data:`CONNECT_TIMEOUT_S`; otherwise :class:`RayUnavailable` says
    what to do."""
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
            pending = [a for a, t in _CONNECTING.items() if t.is_alive()]
            if pending:
                raise RayUnavailable(
                    f"this process is still trying to join Ray at {pending[0]!r} (an earlier "
                    "attempt that did not answer); restart the Python process (the kernel) "
                    "to use another address."
                )
            try:
                if address is not None and _is_bare(address):
                    probe_address(address)
                    _init_bounded(ray, address, kw, CONNECT_TIMEOUT_S)
                    return _configure(ray)
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
            except RayUnavailable:
                raise
            except Exception as exc:
                where = "a local Ray instance" if address is None else f"Ray at {address!r}"
                raise RayUnavailable(
                    f"could not start or join {where}: {exc}. Check the address "
                    "(ray_address='auto' joins the cluster this machine belongs to)."
                ) from exc
        return _configure(ray)


def _configure(ray: Any) -> Any:
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
    process: only for models whose transform :func:`pure_preprocess` does not match
    (both come from the model's config; the precision does not change them)."""
    got = _PARTS.get(spec)
    if got is None:
        from .embedder import Embedder

        emb = Embedder(spec, device="cpu", precision="fp32")
        got = _PARTS[spec] = (emb.preprocess, emb.image_size)
    return got


_PARTS: dict[str, tuple[Any, int]] = {}


def resize_crop(img: Any, size: int) -> np.ndarray:
    """The pixels open_clip's eval transform sees, as ``(size, size, 3)`` uint8, with
    PIL and numpy only: the shorter side resized to ``size`` (bicubic, the output size
    rounded as torchvision's ``Resize`` does), then a centre crop (torchvision's
    ``CenterCrop`` offsets)."""
    from PIL import Image

    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    new_w, new_h = (size, new_long) if w <= h else (new_long, size)
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
    top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)
    return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def normalize(crops: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 crops to the model's ``(N, 3, H, W)`` float32 input (the
    embedder's own numpy ``ToTensor`` + ``Normalize``; no torch)."""
    from .embedder import normalize as norm
    from .embedder import to_unit

    return norm(to_unit(crops), mean, std)


def pure_preprocess(img: Any, params: dict[str, Any]) -> np.ndarray:
    """One RGB image to the model's ``(3, H, W)`` input without torch."""
    return normalize(resize_crop(img, params["size"])[None], params["mean"], params["std"])[0]


def preprocess_params(emb: Any) -> dict[str, Any] | None:
    """``{"size", "mean", "std"}`` when :func:`pure_preprocess` gives exactly what
    ``emb.preprocess`` gives (checked on images of several shapes), else ``None``
    (a model with another resize mode: the workers then build its transform)."""
    from PIL import Image

    cfg = getattr(emb.model.visual, "preprocess_cfg", None) or {}
    if cfg.get("resize_mode", "shortest") != "shortest" or "mean" not in cfg:
        return None
    params = {
        "size": emb.image_size,
        "mean": [float(x) for x in cfg["mean"]],
        "std": [float(x) for x in cfg["std"]],
    }
    rng = np.random.default_rng(0)
    n = emb.image_size
    for w, h in ((n + 37, n + 11), (n, 2 * n + 1), (n, n), (n // 2 + 1, n + 5), (3 * n, n)):
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        want = np.asarray(emb.preprocess(img))
        got = pure_preprocess(img, params)
        if want.shape != got.shape or not np.allclose(want, got, rtol=0, atol=1e-6):
            return None
    return params


def _prepare_batch(
    batch: dict[str, np.ndarray],
    spec: str,
    params: dict[str, Any] | None,
    lenders: dict[str, str],
    thumbs: bool,
    max_bytes: int,
    metadata: bool = False,
) -> dict[str, np.ndarray]:
    """Prepare one batch of files with :func:`._prepare.prepare_file` (a Ray task;
    with ``params`` it never imports torch). Rows that borrow a vector or fail carry
    zero pixels and ``ok=False``. ``pixels``: uint8 crops (``params``), else the model
    transform's float32 output; ``meta``: the metadata as JSON ('' when none)."""
    import json

    from ._prepare import prepare_file

    n = len(batch["id"])
    if params is not None:
        size = int(params["size"])
        pixels = np.zeros((n, size, size, 3), dtype=np.uint8)

        def preprocess(img: Any) -> np.ndarray:
            return resize_crop(img, size)
    else:
        transform, size = _model_parts(spec)
        pixels = np.zeros((n, 3, size, size), dtype=np.float32)

        def preprocess(img: Any) -> np.ndarray:
            px = transform(img)
            return px.numpy() if hasattr(px, "numpy") else px

    ok = np.zeros(n, dtype=bool)
    content, reuse, kind, msg, thumb, meta = ([""] * n for _ in range(6))
    for i in range(n):
        prep = prepare_file(
            str(batch["path"][i]),
            min_side=size,
            preprocess=preprocess,
            max_bytes=max_bytes,
            pid=str(batch["id"][i]),
            prev=str(batch["prev"][i]) or None,
            lend=lenders.get,
            thumbs=thumbs,
            metadata=metadata,
        )
        content[i], reuse[i] = prep.content or "", prep.reuse or ""
        if prep.fail is not None:
            kind[i], msg[i] = prep.fail
        elif prep.pixels is not None:
            pixels[i], ok[i] = prep.pixels, True
            thumb[i] = prep.thumb or b""
            meta[i] = json.dumps(prep.meta) if prep.meta is not None else ""
    return {
        "key": batch["key"],
        "id": batch["id"],
        "content": np.array(content, dtype=object),
        "reuse": np.array(reuse, dtype=object),
        "kind": np.array(kind, dtype=object),
        "msg": np.array(msg, dtype=object),
        "thumb": np.array([t if t else b"" for t in thumb], dtype=object),
        "meta": np.array(meta, dtype=object),
        "ok": ok,
        "pixels": pixels,
    }


class _EmbedActor:
    """The model, held by one actor of the engine's pool across syncs."""

    def __init__(self, spec: str, precision: str, device: str, identity: str) -> None:
        from .embedder import Embedder

        self.emb = Embedder(spec, device=device, precision=precision)
        if self.emb.identity != identity:
            raise AISearchError(
                f"a Ray worker loaded {self.emb.identity}, the project holds vectors of "
                f"{identity}: every node must have the same model weights"
            )
        self.params = preprocess_params(self.emb)

    def info(self) -> dict[str, Any]:
        """What the driver ships to the decode tasks, and the model's thread count."""
        import torch

        return {"params": self.params, "threads": torch.get_num_threads()}

    def embed(self, *blocks: Any) -> dict[str, np.ndarray]:
        """Vectors of the decoded rows of some blocks of the decode stage; the other
        columns pass through, without the pixels."""
        import torch
        from ray.data.block import BlockAccessor

        parts = [BlockAccessor.for_block(b).to_numpy() for b in blocks]
        batch = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        ok = np.asarray(batch.pop("ok"), dtype=bool)
        pixels = batch.pop("pixels")
        vec = np.zeros((len(ok), self.emb.dim), dtype=np.float32)
        if ok.any():
            px = pixels[ok]
            if px.dtype == np.uint8:
                px = normalize(px, self.params["mean"], self.params["std"])  # type: ignore[index]
            vec[ok] = self.emb.encode_batch(torch.from_numpy(np.ascontiguousarray(px)))
        batch["ok"], batch["vector"] = ok, vec
        return batch


# -- the driver side ------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class RayEngine:
    """The embedding step of :class:`~.indexer.Indexer` on Ray Data.

    ``address``: ``None`` (a local Ray, ``num_cpus`` CPUs), ``"auto"`` or
    ``"ray://host:port"``. ``concurrency``: model actors (default: one per GPU of the
    cluster, else one per 4 CPUs, at least 1). ``batch_size``: images per model call
    (and per driver commit). A CPU actor's torch uses every core of its node (Ray's
    ``OMP_NUM_THREADS=1`` for a one-CPU actor is overridden, ``AISEARCH_THREADS``
    sets it)."""

    spec: str
    identity: str
    address: str | None = None
    _: KW_ONLY
    precision: str = "fp32"
    num_cpus: int | None = None
    concurrency: int | None = None
    batch_size: int = 32
    prepare_batch: int = 16
    _pool: _Pool | None = field(default=None, init=False)
    syncing: bool = field(default=False, init=False)  # while a sync of this engine runs

    def __post_init__(self) -> None:
        _ENGINES.add(self)

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

    def _actors(self, ray: Any) -> _Pool:
        """The model actors, started by the first sync and kept for the next ones (a
        sync then pays no model start-up); started again after a Ray restart or when
        one of them died."""
        session = ray.get_runtime_context().gcs_address
        pool = self._pool
        if pool is not None and pool.session == session:
            try:
                ray.get([a.info.remote() for a in pool.actors], timeout=60)
                return pool
            except Exception:  # an actor died (its node left): start a new pool
                log.warning("Ray model actors lost; starting new ones")
                self.stop_actors()
        for other in list(_ENGINES):
            if other is not self and not other.syncing:
                other.stop_actors()  # its idle actors would hold the CPUs this sync needs
        res = ray.cluster_resources()
        gpus, cpus = int(res.get("GPU", 0)), max(1, int(res.get("CPU", 1)))
        n = self.concurrency or (gpus if gpus else max(1, cpus // 4))
        opts: dict[str, Any] = {"num_gpus": 1} if gpus else {"num_cpus": 1}
        cls = ray.remote(_EmbedActor).options(max_restarts=2, max_task_retries=2, **opts)
        actors = [
            cls.remote(self.spec, self.precision, "cuda" if gpus else "cpu", self.identity)
            for _ in range(n)
        ]
        try:
            infos = ray.get([a.info.remote() for a in actors])
        except BaseException:
            for a in actors:
                ray.kill(a)
            raise
        self._pool = _Pool(session, actors, infos[0]["params"], infos[0]["threads"])
        log.info("%d Ray model actors, %s torch threads each", n, infos[0]["threads"])
        return self._pool

    def start(self) -> int:
        """Start (or join) Ray and the model actors now, as the first sync otherwise
        does; returns the torch threads of one actor."""
        return self._actors(ensure_ray(self.address, self.num_cpus)).threads

    def close(self) -> None:
        """Stop the model actors this engine holds; the project calls it on close."""
        _ENGINES.discard(self)
        self.stop_actors()

    def stop_actors(self) -> None:
        """Stop the model actors now (the next sync starts them again)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            import ray

            if ray.is_initialized():
                for a in pool.actors:
                    ray.kill(a)
        except Exception:  # Ray already shut down: its actors are gone with it
            pass

    @contextlib.contextmanager
    def _in_sync(self) -> Iterator[None]:
        """While a sync of this engine runs; after it, its actors are stopped if another
        project of this process also syncs on Ray (kept, they could leave that sync
        waiting for their CPUs for ever)."""
        self.syncing = True
        try:
            yield
        finally:
            self.syncing = False
            if any(e is not self for e in list(_ENGINES)):
                self.stop_actors()

    def embed_files(
        self,
        items: Sequence[tuple[FileEntry, str]],
        prev: dict[str, str | None],
        lend: Lenders,
        *,
        thumbs: bool,
        metadata: bool,
        max_bytes: int,
    ) -> Iterator[list[Prepared]]:
        """The :class:`~._engine.Engine` step on the cluster: one list per model
        batch. The tasks borrow from ``lend.moved`` only (they cannot ask the
        catalog). Stops the cluster work when the caller closes the generator
        (cancel, error)."""
        ray = ensure_ray(self.address, self.num_cpus)
        if not items:
            return
        entries = {e.key: e for e, _ in items}
        with self._in_sync():
            self._probe(ray, items[0][0].path)
            pool = self._actors(ray)
            rows = [
                {"key": e.key, "id": pid, "path": e.path, "prev": prev.get(e.key) or ""}
                for e, pid in items
            ]
            ds = ray.data.from_items(rows).map_batches(
                _prepare_batch,
                batch_size=self.prepare_batch,
                batch_format="numpy",
                fn_kwargs={
                    "spec": self.spec,
                    "params": pool.params,
                    "lenders": lend.moved,
                    "thumbs": thumbs,
                    "max_bytes": max_bytes,
                    "metadata": metadata,
                },
                # Decoding is partly I/O: two tasks per core.
                num_cpus=0.5,
            )
            # The decoded blocks go from the decode tasks to the actors through the object
            # store (the driver passes references); only vectors come back here.
            bundles = iter(ds.iter_internal_ref_bundles())
            free = deque(i for i in range(len(pool.actors)) for _ in range(2))  # 2 calls each
            running: dict[Any, int] = {}
            refs: list[Any] = []
            rows_in, more = 0, True
            try:
                while more or refs or running:
                    while free and (more or refs):
                        if more and rows_in < self.batch_size:
                            b = next(bundles, None)
                            if b is None:
                                more = False
                            else:
                                refs += list(b.block_refs)
                                rows_in += b.num_rows()
                            continue
                        a = free.popleft()
                        running[pool.actors[a].embed.remote(*refs)] = a
                        refs, rows_in = [], 0
                    if not running:
                        continue
                    done, _ = ray.wait(list(running), num_returns=1)
                    free.append(running.pop(done[0]))
                    got = _results(ray.get(done[0]), entries)
                    for i in range(0, len(got), self.batch_size):  # the driver's commit size
                        yield got[i : i + self.batch_size]
            finally:
                for ref in running:
                    ray.cancel(ref)
                close = getattr(bundles, "close", None)
                if close is not None:
                    close()


# The engines of this process: one starting its actors stops the idle actors of the
# others, and none keeps its actors between syncs while another exists.
_ENGINES: weakref.WeakSet[RayEngine] = weakref.WeakSet()


class _Pool:
    """Model actors held by a :class:`RayEngine`, with what they told the driver."""

    def __init__(
        self, session: str, actors: list[Any], params: dict[str, Any] | None, threads: int
    ) -> None:
        self.session = session
        self.actors = actors
        self.params = params
        self.threads = threads


def _results(b: dict[str, np.ndarray], entries: dict[str, FileEntry]) -> list[Prepared]:
    import json

    out = []
    for i in range(len(b["id"])):
        kind = str(b["kind"][i])
        p = Prepared(
            entries[str(b["key"][i])],
            str(b["id"][i]),
            str(b["content"][i]) or None,
            reuse=str(b["reuse"][i]) or None,
        )
        p.fail = (kind, str(b["msg"][i])) if kind else None
        p.thumb = bytes(b["thumb"][i]) or None
        p.meta = json.loads(str(b["meta"][i])) if str(b["meta"][i]) else None
        p.vector = b["vector"][i] if b["ok"][i] else None
        out.append(p)
    return out
