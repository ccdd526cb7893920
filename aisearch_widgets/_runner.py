"""The background runner of a project's syncs: one thread, requests answered by
futures, a schedule, pauses for file actions, and :func:`wait_for` with its progress
bar."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ._errors import AISearchError
from .indexer import Indexer, SyncCancelled, SyncSummary

log = logging.getLogger(__name__)


@dataclass
class SyncRequest:
    """A request for a sync, answered through ``future``. Only a user's explicit
    request sets ``prune_missing``: scheduled runs never prune."""

    retry_failed: bool = False
    prune_missing: bool = False
    future: Future[SyncSummary] = field(default_factory=Future)


class Runner:
    """Runs :meth:`Indexer.sync` in one background thread: on request and on a
    schedule. At most one sync runs at a time; requests made while one runs are
    served by the next run."""

    def __init__(self, indexer: Indexer, name: str = "aisearch-indexer") -> None:
        self.indexer = indexer
        self.name = name
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._cancel = threading.Event()
        self._requests: list[SyncRequest] = []
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()
        self._pause_depth = 0
        self._stopping = False
        self.interval: float | None = None
        self.next_due: float | None = None
        self.running = False
        self.last_error: BaseException | None = None
        self.last_summary: SyncSummary | None = None

    @property
    def busy(self) -> bool:
        with self._lock:
            return self.running or bool(self._requests)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def request(
        self, retry_failed: bool = False, prune_missing: bool = False
    ) -> Future[SyncSummary]:
        """Ask for a sync. Only such a request can prune missing files: scheduled runs
        never do."""
        req = SyncRequest(retry_failed, prune_missing)
        with self._lock:
            self._requests.append(req)
            self._ensure_thread()
        self._wake.set()
        return req.future

    def set_schedule(self, interval: float | None) -> None:
        with self._lock:
            self.interval = interval
            self.next_due = time.time() + interval if interval else None
            if interval:
                self._ensure_thread()
        self._wake.set()

    def cancel_current(self) -> None:
        self._cancel.set()

    def stop(self, timeout: float | None = 30) -> None:
        self._stopping = True
        self._cancel.set()
        self._wake.set()
        with self._lock:  # a thread being started (under the lock) is started by now
            t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hold syncs off while the caller changes files and inventory together. A
        running sync stops at its next batch and runs again afterwards."""
        with self._lock:
            self._pause_depth += 1
        self._cancel.set()
        self._run_lock.acquire()
        try:
            yield
        finally:
            self._run_lock.release()
            with self._lock:
                self._pause_depth -= 1
            self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            nd = self.next_due
            self._wake.wait(None if nd is None else max(0.0, nd - time.time()))
            self._wake.clear()
            if self._stopping:
                break
            with self._run_lock:
                with self._lock:
                    due = self.next_due is not None and time.time() >= self.next_due
                    if self._pause_depth or (not self._requests and not due):
                        continue
                    reqs, self._requests = self._requests, []
                    self.running = True
                    self._cancel.clear()
                self._run(reqs)
        with self._lock:
            pending, self._requests = self._requests, []
        for r in pending:
            r.future.set_exception(SyncCancelled("the project was closed before this update ran"))

    def _run(self, reqs: list[SyncRequest]) -> None:
        retry = any(r.retry_failed for r in reqs)
        prune = any(r.prune_missing for r in reqs)
        try:
            summary = self.indexer.sync(
                cancel=self._cancel, retry_failed=retry, prune_missing=prune
            )
        except BaseException as exc:
            with self._lock:
                requeue = (
                    isinstance(exc, SyncCancelled) and self._pause_depth and not self._stopping
                )
                if requeue:  # paused for a file action: run again afterwards
                    self._requests = reqs + self._requests
                    self.next_due = time.time()
            if requeue:
                return
            self.last_error = exc
            if not isinstance(exc, SyncCancelled):
                log.exception("sync failed")
            for r in reqs:
                r.future.set_exception(exc)
        else:
            self.last_error = None
            self.last_summary = summary
            for r in reqs:
                r.future.set_result(summary)
        finally:
            with self._lock:
                self.running = False
                if not self.interval:
                    self.next_due = None  # requeued requests wait in _requests, not on a due time
                elif self.next_due is None or self.next_due <= time.time():
                    self.next_due = time.time() + self.interval


def wait_for(runner: Runner, name: str, timeout: float | None, progress: bool) -> None:
    """Block until ``runner`` has no sync running, with a progress bar; ``TimeoutError``
    after ``timeout`` seconds, and the error of a failed sync re-raised."""
    indexer = runner.indexer
    deadline = None if timeout is None else time.monotonic() + timeout
    bar = None
    try:
        while runner.busy:
            prog = indexer.progress
            if progress and prog.phase == "embedding" and prog.total:
                if bar is None:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=prog.total, desc=f"Embedding {name}", unit="img")
                if bar.total != prog.total:
                    bar.reset(total=prog.total)
                done = min(prog.done, prog.total)
                if done != bar.n:  # redraw on progress only (logs stay short)
                    bar.set_postfix(failed=prog.failed, refresh=False)
                    bar.update(done - bar.n)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"Project {name!r} is still indexing after {timeout} s "
                    f"({prog.done}/{prog.total})."
                )
            time.sleep(0.1)
        if bar is not None:
            bar.n = bar.total
            bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    err = runner.last_error
    if err is not None and not isinstance(err, SyncCancelled):
        raise AISearchError(f"The last sync of {name!r} failed: {err}") from err


def resume(runner: Runner, catalog: Any, interval: float | None) -> None:
    """An enabled project keeps itself current: resume the schedule, and catch up at
    once if the last sync is older than one interval or unfinished."""
    runner.set_schedule(interval)
    last = catalog.get_meta("last_sync")
    dirty = catalog.get_meta("dirty", False)
    if dirty or last is None or (interval and time.time() - last > interval):
        runner.request()


def check_ready(
    runner: Runner, catalog: Any, identity: str, name: str, allow_partial: bool
) -> None:
    """:class:`EmbeddingsNotReady` unless the first sync finished (or
    ``allow_partial``): searches would miss images not embedded yet."""
    from ._errors import EmbeddingsNotReady

    if allow_partial or catalog.get_meta("first_pass_done", False):
        return
    c = catalog.counts(identity)
    if runner.busy:
        msg = (
            f"Search is unavailable while the embeddings of {name!r} are being "
            f"prepared ({c['embedded']}/{c['total']} done). Wait with proj.wait(), or pass "
            "allow_partial=True to search what is embedded so far."
        )
    else:
        msg = (
            f"Project {name!r} has no embeddings yet: call proj.enable() (or proj.update()) first."
        )
    raise EmbeddingsNotReady(msg, c["embedded"], c["total"])


def status_of(name: str, config: Any, catalog: Any, runner: Runner, running: bool) -> Any:
    """The :class:`~.status.Status` of an open project (``running``: a sync runs)."""
    from .status import Status, project_state

    identity = config.identity
    c = catalog.counts(identity)
    state = project_state(config.enabled, running)
    err = runner.last_error
    return Status(
        name=name,
        enabled=config.enabled,
        state=state,
        done=c["embedded"],
        total=c["total"],
        failed=c["failed"],
        pending=c["pending"],
        missing=c["missing"],
        updated_at=catalog.get_meta("last_sync"),
        model=identity,
        schedule=config.schedule,
        first_pass_done=bool(catalog.get_meta("first_pass_done", False)),
        phase=runner.indexer.progress.phase if running else "idle",
        error=None if err is None or isinstance(err, SyncCancelled) else str(err),
    )
